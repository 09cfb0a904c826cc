package tracegen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/otlp"
)

var update = flag.Bool("update", false, "rewrite the bundled fixtures in testdata/traces")

// TestFixtures keeps the bundled traces in testdata/traces exactly what this generator writes: run with
// -update after changing the generator.
func TestFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "traces")
	checkout := []*investigate.Trace{Checkout(1)}
	var jb bytes.Buffer
	if err := jaeger.EncodeClassic(&jb, checkout); err != nil {
		t.Fatal(err)
	}
	ob, err := otlp.EncodeJSON([]*investigate.Trace{Checkout(1)})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"checkout.json": jb.Bytes(), "checkout.otlp.json": append(ob, '\n')} {
		path := filepath.Join(dir, name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/tracegen -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output; run go test ./internal/tracegen -update", path)
		}
	}
}

func TestLargeSize(t *testing.T) {
	tr := Large(5000, 7, "00000000000000000000000000000abc")
	if len(tr.Spans) != 5000 {
		t.Fatalf("Large(5000) made %d spans", len(tr.Spans))
	}
	var b bytes.Buffer
	if err := jaeger.EncodeClassic(&b, []*investigate.Trace{tr}); err != nil {
		t.Fatal(err)
	}
	per := b.Len() / len(tr.Spans)
	if per < 350 || per > 800 {
		t.Errorf("Jaeger JSON is %d bytes a span; the benchmark assumes ~500", per)
	}
}
