package cmd

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/dbgtool/dbg/investigate"
)

// TestProfileDefaultSampleFollowsTheKind: docs/profile.md's table decides what a kind ranks by, whatever
// default the file carries (Go's /allocs and /heap serve one profile with different defaults).
func TestProfileDefaultSampleFollowsTheKind(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(profileFixture("allocs.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.ParseData(b)
	if err != nil {
		t.Fatal(err)
	}
	for kind, fileDefault := range map[string]string{"heap": "alloc_space", "allocs": "inuse_space"} {
		p.DefaultSampleType = fileDefault
		path := filepath.Join(dir, kind+".pb.gz")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		code, out, errOut := runDbg(t, nil, "profile", kind, "--file", path, "-o", "json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, errOut)
		}
		var rep investigate.ProfileReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if want := investigate.DefaultSampleTypes[kind]; rep.SampleType != want {
			t.Errorf("dbg profile %s on a file defaulting to %s ranks by %s, want %s", kind, fileDefault, rep.SampleType, want)
		}
	}
}

// TestProfileGzippedGoroutineDump: a debug=2 dump saved through gzip reads as the dump it is.
func TestProfileGzippedGoroutineDump(t *testing.T) {
	raw, err := os.ReadFile(profileFixture("goroutine-debug2.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	path := filepath.Join(t.TempDir(), "goroutine.txt.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, plain, _ := runDbg(t, nil, "profile", "goroutine", "--file", profileFixture("goroutine-debug2.txt"), "-o", "json")
	code, out, errOut := runDbg(t, nil, "profile", "goroutine", "--file", path, "-o", "json")
	if code != 0 || strings.Contains(errOut, "corrupt") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var a, b investigate.ProfileReport
	json.Unmarshal([]byte(plain), &a)
	json.Unmarshal([]byte(out), &b)
	if a.Total == 0 || a.Total != b.Total || len(a.Top) != len(b.Top) {
		t.Errorf("gzipped dump: total %d top %d, plain: total %d top %d", b.Total, len(b.Top), a.Total, len(a.Top))
	}
}
