// Command probebench is the target of scripts/bench-probe.sh: an HTTP server on a loopback address that
// answers every request with "ok", after --delay when set, so the benchmark measures the client and the
// proxy rather than the server.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	delay := flag.Duration("delay", 0, "time to wait before answering")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probebench:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String()) // the script reads the address from the first line
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *delay > 0 {
			time.Sleep(*delay)
		}
		_, _ = io.WriteString(w, "ok\n")
	})}
	if err := srv.Serve(l); err != nil {
		fmt.Fprintln(os.Stderr, "probebench:", err)
		os.Exit(1)
	}
}
