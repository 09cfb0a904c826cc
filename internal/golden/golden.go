// Package golden compares a test's output with a file under testdata, and rewrites the file instead
// when the test binary runs with -update. Test helpers only: nothing the dbg binary links imports it.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Update is the -update flag of every test binary that compares golden files.
var Update = flag.Bool("update", false, "rewrite golden files from the current output")

// Check compares got with the file at path (or writes it with -update). On a difference it reports the
// differing lines, numbered, and how to accept the new output (rerun with -update).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun the test with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (rerun the test with -update to accept):\n%s", filepath.Base(path), Diff(string(want), string(got)))
	}
}

// Diff lists the lines that differ, "-" wanted and "+" got, up to 20 of them.
func Diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(wl), len(gl)) && n < 20; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, w, g)
			n++
		}
	}
	return b.String()
}
