// Command hostileserver serves one hostile fault on a loopback port, or writes a hostile file, for the
// peak-memory measurements in docs/security.md (scripts/hostile-memory.sh runs it).
//
//	hostileserver -fault oversized -addr 127.0.0.1:18080 -size 1073741824
//	hostileserver -gen gzip -size 2147483648 -out /tmp/bomb.pb.gz
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/dbgtool/dbg/internal/hostile"
)

func main() {
	fault := flag.String("fault", "", "fault to serve on every path (see internal/hostile)")
	addr := flag.String("addr", "127.0.0.1:18080", "loopback address to listen on")
	size := flag.Int64("size", 2<<30, "bytes of the bomb or oversized body")
	gen := flag.String("gen", "", "write a file instead: gzip (zeros), nesting (OTLP), tar (bundle), bytes (one byte repeated)")
	out := flag.String("out", "", "file for -gen")
	flag.Parse()
	if *gen != "" {
		if err := generate(*gen, *out, *size); err != nil {
			fmt.Fprintln(os.Stderr, "hostileserver:", err)
			os.Exit(1)
		}
		return
	}
	if !strings.HasPrefix(*addr, "127.0.0.1:") && !strings.HasPrefix(*addr, "localhost:") {
		fmt.Fprintln(os.Stderr, "hostileserver: loopback addresses only")
		os.Exit(2)
	}
	o := hostile.Options{Size: *size}
	err := http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hostile.Serve(w, r, hostile.Fault(*fault), o)
	}))
	fmt.Fprintln(os.Stderr, "hostileserver:", err)
	os.Exit(1)
}

func generate(kind, path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	switch kind {
	case "gzip":
		err = hostile.GzipRepeat(w, 0, size)
	case "nesting":
		err = hostile.OTLPNestingBomb(w, size)
	case "tar":
		err = hostile.TarBomb(w, []string{"a.bin", "b.bin", "c.bin", "traces.json"}, size/4)
	case "bytes":
		err = hostile.Repeat(w, '[', size)
	default:
		err = fmt.Errorf("unknown -gen %q", kind)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
