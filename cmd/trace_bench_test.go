package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/jaeger"
)

// BenchmarkTraceFileLarge is `dbg trace --file F -o json` end to end on a generated Jaeger export of
// DBG_BENCH_SPANS spans (default 200,000, about 100 MB), in two traces. scripts/bench-trace.sh runs the
// same on the binary beside Python's json.load.
func BenchmarkTraceFileLarge(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("DBG_BENCH_SPANS")); err == nil && v > 0 {
		n = v
	}
	path := filepath.Join(b.TempDir(), "large.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	ts := []*investigate.Trace{
		tracegen.Large(n/2, 1, fmt.Sprintf("%032x", 1)),
		tracegen.Large(n-n/2, 2, fmt.Sprintf("%032x", 2)),
	}
	if err := jaeger.EncodeClassic(w, ts); err != nil {
		b.Fatal(err)
	}
	w.Flush()
	f.Close()
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ios := &IOStreams{In: nil, Out: io.Discard, ErrOut: io.Discard}
		err := traceRun(context.Background(), &TraceOptions{
			IO: ios, File: path, Format: render.FormatJSON, Analysis: investigate.DefaultTraceOptions(),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
