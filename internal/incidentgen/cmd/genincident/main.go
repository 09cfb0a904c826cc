// Command genincident writes a generated incident bundle:
//
//	go run ./internal/incidentgen/cmd/genincident -scenario slow-dependency -traces 1000 -logs 50000 -out /tmp/b
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dbgtool/dbg/internal/incidentgen"
	"github.com/dbgtool/dbg/sources/bundle"
)

func main() {
	scenario := flag.String("scenario", incidentgen.SlowDependency, "scenario to plant")
	traces := flag.Int("traces", 200, "traces per window")
	logs := flag.Int("logs", 1000, "extra log lines per window")
	endpoints := flag.Int("endpoints", 0, "extra idle endpoints in the metrics (5 series each)")
	out := flag.String("out", "", "bundle directory or .tar.gz (required)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genincident: -out is required")
		os.Exit(2)
	}
	c, err := incidentgen.Generate(*scenario, incidentgen.Options{Traces: *traces, Logs: *logs, Seed: 11, ExtraEndpoints: *endpoints})
	if err == nil {
		err = bundle.Write(*out, c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genincident:", err)
		os.Exit(1)
	}
}
