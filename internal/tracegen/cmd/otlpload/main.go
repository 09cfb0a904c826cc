// Command otlpload posts a generated workload of checkout traces to an OTLP/HTTP receiver and prints
// their trace IDs, one a line, for benchmarks against a live backend:
//
//	go run ./internal/tracegen/cmd/otlpload -url http://127.0.0.1:4318 -traces 1000 > ids.txt
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/dbgtool/dbg/internal/tracegen"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:4318", "OTLP/HTTP receiver base URL")
	n := flag.Int("traces", 1000, "how many traces")
	seed := flag.Uint64("seed", 1, "seed of the trace IDs")
	ago := flag.Duration("ago", 10*time.Minute, "how long ago the first trace starts")
	flag.Parse()
	td, ids := tracegen.Workload(*seed, *n, time.Now().Add(-*ago))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := tracegen.PostOTLPBatched(ctx, *url, td, 300); err != nil {
		fmt.Fprintln(os.Stderr, "otlpload:", err)
		os.Exit(1)
	}
	for _, id := range ids {
		fmt.Println(id.String())
	}
}
