package demo

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// metric returns the sum of the samples of name (any labels) in a /metrics page.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	_, _, body := get(t, base+"/metrics", nil)
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`)
	sum := 0.0
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		sum += v
	}
	return sum
}

// leaked counts the goroutines blocked in waitForReply, from the goroutine profile.
func leaked(t *testing.T, base string) int {
	t.Helper()
	_, _, body := get(t, base+"/debug/pprof/goroutine?debug=1", nil)
	n := 0
	for _, block := range strings.Split(body, "\n\n") {
		if !strings.Contains(block, "waitForReply") {
			continue
		}
		if m := regexp.MustCompile(`(?m)^(\d+) @`).FindStringSubmatch(block); m != nil {
			c, _ := strconv.Atoi(m[1])
			n += c
		}
	}
	return n
}

// orders sends n checkouts, conc at a time, and returns the status counts and the slowest duration.
func orders(t *testing.T, fe string, n, conc int) (map[int]int, time.Duration) {
	t.Helper()
	var mu sync.Mutex
	codes := map[int]int{}
	var slowest time.Duration
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, d := postOrder(t, fe)
			mu.Lock()
			codes[code]++
			slowest = max(slowest, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes, slowest
}

// TestEveryFaultActs injects each kind on its default service and checks the effect a person (or
// dbg) would see from outside: status codes, latency, /metrics.
func TestEveryFaultActs(t *testing.T) {
	sys := startSystem(t, SystemConfig{Rows: DefaultRows})
	fe := sys.Services[Frontend]
	ctx := context.Background()
	tests := []struct {
		fault Fault
		check func(t *testing.T)
	}{
		{Fault{Kind: KindLatency, Params: Params{MS: 200}}, func(t *testing.T) {
			if _, d := orders(t, fe, 3, 1); d < 160*time.Millisecond {
				t.Errorf("slowest checkout %s", d)
			}
		}},
		{Fault{Kind: KindErrorRate, Params: Params{Rate: 1}}, func(t *testing.T) {
			if codes, _ := orders(t, fe, 5, 2); codes[http.StatusBadGateway] != 5 {
				t.Errorf("codes %v, want 5 × 502", codes)
			}
		}},
		{Fault{Kind: KindSlowDownstream, Params: Params{MS: 200}}, func(t *testing.T) {
			if _, d := orders(t, fe, 3, 1); d < 200*time.Millisecond {
				t.Errorf("slowest checkout %s", d)
			}
		}},
		{Fault{Kind: KindNPlusOne}, func(t *testing.T) {
			before := metric(t, sys.Services[Inventory], "db_query_duration_seconds_count")
			orders(t, fe, 4, 2) // 3 SKUs each
			if n := metric(t, sys.Services[Inventory], "db_query_duration_seconds_count") - before; n != 12 {
				t.Errorf("%g queries for 4 orders of 3 items, want 12", n)
			}
		}},
		{Fault{Kind: KindSlowQuery}, func(t *testing.T) {
			// With the index a lookup costs the simulated round trip (3-5ms); without it, a scan of 50k rows.
			n0 := metric(t, sys.Services[Inventory], "db_query_duration_seconds_count")
			s0 := metric(t, sys.Services[Inventory], "db_query_duration_seconds_sum")
			for i := range 4 {
				get(t, fe+"/products/"+SKU(40000+i), nil)
			}
			n1 := metric(t, sys.Services[Inventory], "db_query_duration_seconds_count")
			s1 := metric(t, sys.Services[Inventory], "db_query_duration_seconds_sum")
			if avg := (s1 - s0) / (n1 - n0); n1-n0 != 4 || avg < 0.020 {
				t.Errorf("%g queries averaging %.1fms without the index, want 4 of 20ms or more", n1-n0, avg*1000)
			}
		}},
		{Fault{Kind: KindMemoryLeak, Params: Params{KB: 1024, MaxMB: 64}}, func(t *testing.T) {
			before := metric(t, sys.Services[Checkout], "go_memstats_heap_inuse_bytes")
			orders(t, fe, 20, 4)
			if grew := metric(t, sys.Services[Checkout], "go_memstats_heap_inuse_bytes") - before; grew < 15<<20 {
				t.Errorf("checkout heap grew %.0f bytes after 20 requests keeping 1 MiB each", grew)
			}
		}},
		{Fault{Kind: KindGoroutineLeak}, func(t *testing.T) {
			orders(t, fe, 20, 4)
			if n := leaked(t, sys.Services[Payment]); n != 20 {
				_, _, body := get(t, sys.Services[Payment]+"/debug/pprof/goroutine?debug=1", nil)
				t.Errorf("%d goroutines in waitForReply after 20 requests:\n%s", n, body)
			}
		}},
		{Fault{Kind: KindCPUHog, Params: Params{MS: 60}}, func(t *testing.T) {
			before := metric(t, sys.Services[Fraud], "process_cpu_seconds_total")
			_, d := orders(t, fe, 5, 1)
			if used := metric(t, sys.Services[Fraud], "process_cpu_seconds_total") - before; used < 0.2 || d < 60*time.Millisecond {
				t.Errorf("fraud-check used %.2fs CPU for 5 requests burning 60ms each; slowest %s", used, d)
			}
		}},
		{Fault{Kind: KindDeploy, Params: Params{Version: "2.0.0", MS: 150}}, func(t *testing.T) {
			if v := metric(t, sys.Services[Checkout], `demo_build_info{service="checkout",version="2.0.0"}`); v != 1 {
				_, _, body := get(t, sys.Services[Checkout]+"/metrics", nil)
				t.Errorf("build info: %s", grepLines(body, "demo_build_info"))
			}
			if _, d := orders(t, fe, 2, 1); d < 150*time.Millisecond {
				t.Errorf("slowest checkout %s", d)
			}
		}},
		{Fault{Kind: KindCircuitOpen}, func(t *testing.T) {
			orders(t, fe, 8, 1)
			if st := metric(t, sys.Services[Payment], "circuit_breaker_state"); st != 2 {
				t.Errorf("breaker state %g, want 2 (open)", st)
			}
		}},
		{Fault{Kind: KindBulkheadSaturation, Params: Params{Limit: 1}}, func(t *testing.T) {
			before := metric(t, sys.Services[Payment], "bulkhead_rejections_total")
			codes, _ := orders(t, fe, 12, 6)
			if rej := metric(t, sys.Services[Payment], "bulkhead_rejections_total") - before; rej == 0 || codes[http.StatusBadGateway] == 0 {
				t.Errorf("%g rejections, codes %v", rej, codes)
			}
		}},
		{Fault{Kind: KindTrafficSpike, Params: Params{Factor: 5}}, func(t *testing.T) {
			if err := sys.SetRate(10); err != nil {
				t.Fatal(err)
			}
			if st := sys.Load.Run(ctx, 2*time.Second); st.Sent < 60 {
				t.Errorf("sent %d in 2s at 10/s × 5", st.Sent)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault.Kind), func(t *testing.T) {
			sp, _ := SpecFor(tt.fault.Kind)
			target := sys.LoadGen
			if sp.Service != LoadGen {
				target = sys.Services[sp.Service]
			}
			if _, err := Inject(ctx, target, tt.fault); err != nil {
				t.Fatal(err)
			}
			tt.check(t)
			if _, err := Clear(ctx, target, ""); err != nil {
				t.Fatal(err)
			}
			if tt.fault.Kind == KindCircuitOpen {
				time.Sleep(5500 * time.Millisecond) // the breaker's open timeout, then a good probe closes it
				orders(t, fe, 1, 1)
			}
			if codes, _ := orders(t, fe, 2, 1); codes[http.StatusCreated] != 2 {
				t.Errorf("after clearing %s: %v", tt.fault.Kind, codes)
			}
		})
	}
	if !strings.HasPrefix(fe, "http://127.0.0.1:") {
		t.Errorf("frontend not on loopback: %s", fe)
	}
}
