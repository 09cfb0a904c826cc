package incidentgen

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbgtool/dbg/sources/bundle"
)

var update = flag.Bool("update", false, "rewrite the bundles in testdata/incidents")

// TestBundles keeps testdata/incidents/<scenario> what the generator writes (-update rewrites them).
func TestBundles(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "incidents")
	for _, s := range Scenarios {
		c, err := Generate(s.Name, Options{Traces: 120, Logs: 300, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, s.Name)
		if *update {
			os.RemoveAll(dir)
			if err := bundle.Write(dir, c); err != nil {
				t.Fatal(err)
			}
			continue
		}
		tmp := filepath.Join(t.TempDir(), s.Name)
		if err := bundle.Write(tmp, c); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{bundle.ManifestFile, bundle.TracesFile, bundle.MetricsFile, bundle.LogsFile, bundle.ProfileFile} {
			want, werr := os.ReadFile(filepath.Join(tmp, name))
			got, gerr := os.ReadFile(filepath.Join(dir, name))
			if os.IsNotExist(werr) && os.IsNotExist(gerr) {
				continue
			}
			if werr != nil || gerr != nil || string(want) != string(got) {
				t.Errorf("%s/%s differs from the generator's output (go test ./internal/incidentgen -update)", s.Name, name)
			}
		}
	}
}
