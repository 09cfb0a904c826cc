// Command pcapgen writes the synthetic incident capture of package pcapgen: the test fixtures and the
// benchmark's large capture (go run ./internal/pcapgen/cmd/pcapgen -rounds 200000 -o big.pcap).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/dbgtool/dbg/internal/pcapgen"
)

func main() {
	rounds := flag.Int("rounds", 12, "rounds of the incident (each writes about 200 packets)")
	out := flag.String("o", "incident.pcap", "output file")
	ng := flag.Bool("ng", false, "write pcapng instead of pcap")
	flag.Parse()
	if err := run(*out, *rounds, *ng); err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
}

func run(path string, rounds int, ng bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := pcapgen.NewWriter(bw, ng)
	if err != nil {
		return err
	}
	if err := pcapgen.Incident(w, rounds); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}
