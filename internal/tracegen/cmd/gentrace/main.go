// Command gentrace writes generated traces for benchmarks and demos:
//
//	go run ./internal/tracegen/cmd/gentrace -spans 200000 -traces 2 -format jaeger -out /tmp/big.json
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/otlp"
)

func main() {
	spans := flag.Int("spans", 200000, "spans in total")
	traces := flag.Int("traces", 2, "traces to split them over")
	format := flag.String("format", "jaeger", "jaeger or otlp")
	out := flag.String("out", "", "output file (required)")
	flag.Parse()
	if *out == "" || *traces < 1 || *spans < *traces {
		fmt.Fprintln(os.Stderr, "gentrace: -out is required, and -spans must be at least -traces")
		os.Exit(2)
	}
	var ts []*investigate.Trace
	for i := 0; i < *traces; i++ {
		ts = append(ts, tracegen.Large(*spans / *traces, uint64(i+1), fmt.Sprintf("%032x", 0xbeef0000+i)))
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentrace:", err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if *format == "otlp" {
		var b []byte
		if b, err = otlp.EncodeJSON(ts); err == nil {
			_, err = w.Write(b)
		}
	} else {
		err = jaeger.EncodeClassic(w, ts)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentrace:", err)
		os.Exit(1)
	}
}
