// Command leaky is the program dbg's profile tests build and start: net/http/pprof on a loopback port,
// one function that leaks heap steadily, one that leaks goroutines blocked on channels nobody sends to,
// one CPU-heavy function, and a steady allocator whose memory is churned but never grows (it must not be
// reported as a leak). It prints "listening on http://ADDR" once it serves.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"time"
)

var (
	retained [][]byte // what leakHeap never lets go of
	sink     uint64   // keeps burnCPU's work observable
)

// leakHeap keeps every chunk it allocates.
//
//go:noinline
func leakHeap(chunk int, every time.Duration) {
	for range time.Tick(every) {
		b := make([]byte, chunk)
		b[0] = 1
		retained = append(retained, b)
	}
}

// leakGoroutines starts goroutines that wait forever on channels only they can see.
//
//go:noinline
func leakGoroutines(n int, every time.Duration) {
	for range time.Tick(every) {
		for i := 0; i < n; i++ {
			ch := make(chan int)
			go func() { <-ch }()
		}
	}
}

// burnCPU spins on arithmetic half of the time.
//
//go:noinline
func burnCPU() {
	x := uint64(1)
	for {
		end := time.Now().Add(10 * time.Millisecond)
		for time.Now().Before(end) {
			for i := 0; i < 2000; i++ {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
		}
		sink += x
		time.Sleep(10 * time.Millisecond)
	}
}

// steadyAlloc allocates all the time but keeps a fixed-size ring: legitimate churn, not a leak.
//
//go:noinline
func steadyAlloc(slots, size int, every time.Duration) {
	ring := make([][]byte, slots)
	i := 0
	for range time.Tick(every) {
		ring[i%slots] = make([]byte, size)
		i++
	}
}

func main() {
	// Record every allocation: in-use figures are then exact, so the steady allocator's stay flat and the
	// tests never flake on sampling noise (with the default rate its churn looks like a random walk).
	runtime.MemProfileRate = 1
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	chunk := flag.Int("leak-chunk", 64<<10, "bytes leakHeap keeps each tick")
	leakEvery := flag.Duration("leak-every", 20*time.Millisecond, "leakHeap tick")
	goroutines := flag.Int("leak-goroutines", 5, "goroutines leaked each tick")
	gEvery := flag.Duration("leak-goroutines-every", 50*time.Millisecond, "leakGoroutines tick")
	cpu := flag.Bool("cpu", true, "run burnCPU")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leaky:", err)
		os.Exit(1)
	}
	go leakHeap(*chunk, *leakEvery)
	go leakGoroutines(*goroutines, *gEvery)
	go steadyAlloc(64, 16<<10, 2*time.Millisecond)
	if *cpu {
		go burnCPU()
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "<html><body>leaky: not a profile</body></html>")
	})
	fmt.Printf("listening on http://%s\n", ln.Addr())
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "leaky:", err)
		os.Exit(1)
	}
}
