// Package loggen makes synthetic service log messages with known templates, for the log-pattern
// benchmarks and scripts/bench-logs.sh (go run ./internal/loggen/cmd/loggen). Like the other
// generators in internal/, it is test data, not analysis.
package loggen

import (
	"fmt"
	"math/rand/v2"
)

// Lines makes n synthetic service log messages from a few dozen templates whose variable
// parts are numbers, IDs, UUIDs, IPs and durations, for benchmarks and the bench-logs script. The same
// seed gives the same lines.
func Lines(n int, seed uint64) []string {
	out := make([]string, 0, n)
	LinesTo(n, seed, func(s string) { out = append(out, s) })
	return out
}

// LinesTo is Lines without holding the lines.
func LinesTo(n int, seed uint64, emit func(string)) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	services := []string{"checkout", "payment", "inventory", "shipping", "frontend", "auth"}
	tmpl := []func() string{
		func() string { return fmt.Sprintf("GET /api/orders/%d 200 in %dms", r.IntN(1e6), r.IntN(900)) },
		func() string { return fmt.Sprintf("POST /api/cart/%d/items 201 in %dms", r.IntN(1e5), r.IntN(300)) },
		func() string {
			return fmt.Sprintf("user %08x-%04x-%04x-%04x-%012x logged in from 10.%d.%d.%d", r.Uint32(), r.IntN(65536), r.IntN(65536), r.IntN(65536), r.Uint64()&0xffffffffffff, r.IntN(256), r.IntN(256), r.IntN(256))
		},
		func() string { return fmt.Sprintf("cache refreshed %d keys in %.1fs", r.IntN(10000), r.Float64()*5) },
		func() string {
			return fmt.Sprintf("timeout calling %s after %dms (attempt %d)", services[r.IntN(len(services))], 500+r.IntN(5000), 1+r.IntN(3))
		},
		func() string {
			return fmt.Sprintf("charge failed for order ord-%d: card declined code=%d", r.IntN(1e7), 50+r.IntN(10))
		},
		func() string { return fmt.Sprintf("span %016x finished with status OK", r.Uint64()) },
		func() string {
			return fmt.Sprintf("connected to db primary at 10.0.%d.%d:5432 pool=%d", r.IntN(256), r.IntN(256), r.IntN(64))
		},
		func() string {
			return fmt.Sprintf("worker %d processed batch %d with %d items", r.IntN(32), r.IntN(1e6), r.IntN(500))
		},
		func() string {
			return fmt.Sprintf("retrying request to %s: connection reset by peer", services[r.IntN(len(services))])
		},
		func() string {
			return fmt.Sprintf("slow query took %dms: SELECT * FROM items WHERE id = %d", 100+r.IntN(4000), r.IntN(1e6))
		},
		func() string {
			return fmt.Sprintf("shipment %d dispatched via carrier %d eta %dh", r.IntN(1e7), r.IntN(12), r.IntN(96))
		},
	}
	for i := 0; i < n; i++ {
		emit(tmpl[r.IntN(len(tmpl))]())
	}
}
