// Command profgen writes a large generated pprof profile for the profile benchmark (scripts/bench-profile.sh).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dbgtool/dbg/internal/profgen"
)

func main() {
	out := flag.String("o", "large.pb.gz", "output file")
	samples := flag.Int("samples", 400000, "distinct stacks")
	funcs := flag.Int("functions", 20000, "distinct functions")
	kind := flag.String("kind", "cpu", "cpu or heap")
	flag.Parse()
	p := profgen.Generate(profgen.Config{Seed: 1, Functions: *funcs, Samples: *samples, Kind: *kind})
	f, err := os.Create(*out)
	if err == nil {
		err = p.Write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "profgen:", err)
		os.Exit(1)
	}
}
