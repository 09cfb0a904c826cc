package tracegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbgtool/dbg/sources/jaeger"
)

// TestDBFixture keeps testdata/traces/db-incident.json what DBWorkload writes (-update rewrites it).
func TestDBFixture(t *testing.T) {
	var b bytes.Buffer
	if err := jaeger.EncodeClassic(&b, DBWorkload(1)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "testdata", "traces", "db-incident.json")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/tracegen -run DBFixture -update)", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("%s differs from DBWorkload's output; run go test ./internal/tracegen -run DBFixture -update", path)
	}
}
