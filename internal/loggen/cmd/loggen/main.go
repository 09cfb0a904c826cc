// Command loggen writes synthetic service log messages, one a line, for scripts/bench-logs.sh:
// go run ./internal/loggen/cmd/loggen -n 1000000 > lines.txt
package main

import (
	"bufio"
	"flag"
	"os"

	"github.com/dbgtool/dbg/internal/loggen"
)

func main() {
	n := flag.Int("n", 1000000, "lines to write")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	loggen.LinesTo(*n, *seed, func(s string) {
		w.WriteString(s)
		w.WriteByte('\n')
	})
}
