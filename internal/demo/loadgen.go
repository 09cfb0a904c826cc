package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Load limits: the generator never exceeds these, whatever it is asked.
const (
	MaxRate        = 200.0 // requests per second, traffic spikes included
	MaxLoadTime    = 24 * time.Hour
	maxInFlight    = 128
	DefaultRate    = 20.0
	requestTimeout = 15 * time.Second
)

// LoadStats counts what the generator sent and how it was answered.
type LoadStats struct {
	Sent    int64 `json:"sent"`
	OK      int64 `json:"ok"`      // 2xx
	Client  int64 `json:"client"`  // 4xx
	Server  int64 `json:"server"`  // 5xx
	Failed  int64 `json:"failed"`  // no answer
	Skipped int64 `json:"skipped"` // not sent: too many in flight
}

// Generator sends steady, mixed traffic to the frontend: home page, product pages (popular items more
// often) and checkouts of a few items. Open loop: requests go out at the rate whatever the answers,
// as users do; at most maxInFlight at once.
type Generator struct {
	frontend string
	rate     float64
	rows     int
	client   *http.Client
	factor   atomic.Uint64 // float64 bits: the traffic-spike multiplier
	faults   *faultSet

	sent, ok, client4, server5, failed, skipped atomic.Int64
}

// NewGenerator makes a generator for the frontend at base (a loopback URL) over an inventory of rows
// items. rate is requests per second, capped at MaxRate.
func NewGenerator(base string, rate float64, rows int) (*Generator, error) {
	if err := loopbackURL(base); err != nil {
		return nil, err
	}
	if rate <= 0 || rate > MaxRate {
		return nil, fmt.Errorf("load rate %g: want 0 < rate <= %g requests/s", rate, MaxRate)
	}
	if rows <= 0 {
		rows = DefaultRows
	}
	g := &Generator{frontend: base, rate: rate, rows: rows,
		client: &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: maxInFlight}}}
	g.factor.Store(floatBits(1))
	g.faults = newFaultSet(time.Now, func(k Kind) {
		if k == KindTrafficSpike {
			g.factor.Store(floatBits(1))
		}
	})
	return g, nil
}

// loopbackURL accepts only http URLs on a loopback address: the generator never sends traffic elsewhere.
func loopbackURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("load target %q: want http://127.0.0.1:PORT", base)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load target %q: the load generator only sends to loopback addresses", base)
	}
	return nil
}

// Run sends traffic until ctx ends or d passes (d is capped at MaxLoadTime), waits for the requests in
// flight, and returns what this run sent.
func (g *Generator) Run(ctx context.Context, d time.Duration) LoadStats {
	before := g.Stats()
	return g.run(ctx, d).minus(before)
}

func (s LoadStats) minus(o LoadStats) LoadStats {
	return LoadStats{Sent: s.Sent - o.Sent, OK: s.OK - o.OK, Client: s.Client - o.Client, Server: s.Server - o.Server,
		Failed: s.Failed - o.Failed, Skipped: s.Skipped - o.Skipped}
}

func (g *Generator) run(ctx context.Context, d time.Duration) LoadStats {
	if d <= 0 || d > MaxLoadTime {
		d = MaxLoadTime
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	zipf := mrand.NewZipf(mrand.New(mrand.NewPCG(mrand.Uint64(), 1)), 1.1, 4, uint64(g.rows-1))
	var zmu sync.Mutex
	sku := func() string {
		zmu.Lock()
		defer zmu.Unlock()
		return SKU(int(zipf.Uint64()))
	}
	next := time.Now()
	for {
		g.faults.get(KindTrafficSpike) // a spike with a duration ends here: nothing else polls
		rate := min(g.rate*floatFrom(g.factor.Load()), MaxRate)
		// Poisson arrivals: exponential gaps around the rate.
		next = next.Add(time.Duration(mrand.ExpFloat64() / rate * float64(time.Second)))
		if wait := time.Until(next); wait > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return g.Stats()
			case <-time.After(wait):
			}
		} else if ctx.Err() != nil {
			wg.Wait()
			return g.Stats()
		}
		select {
		case sem <- struct{}{}:
		default:
			g.skipped.Add(1)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			g.one(ctx, sku)
		}()
	}
}

func (g *Generator) one(ctx context.Context, sku func() string) {
	var req *http.Request
	var err error
	switch x := mrand.IntN(100); {
	case x < 10:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, g.frontend+"/", nil)
	case x < 65:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, g.frontend+"/products/"+sku(), nil)
	default:
		o := Order{Customer: fmt.Sprintf("c-%d", mrand.IntN(5000))}
		for range 5 + mrand.IntN(16) { // carts of 5 to 20 items
			o.SKUs = append(o.SKUs, sku())
		}
		body, _ := json.Marshal(o)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, g.frontend+"/checkout", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		g.failed.Add(1)
		return
	}
	g.sent.Add(1)
	resp, err := g.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			g.failed.Add(1)
		}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch resp.StatusCode / 100 {
	case 2:
		g.ok.Add(1)
	case 4:
		g.client4.Add(1)
	default:
		g.server5.Add(1)
	}
}

// Stats returns the counts since the generator was made.
func (g *Generator) Stats() LoadStats {
	return LoadStats{Sent: g.sent.Load(), OK: g.ok.Load(), Client: g.client4.Load(), Server: g.server5.Load(),
		Failed: g.failed.Load(), Skipped: g.skipped.Load()}
}

// AdminHandler serves /admin/fault for the generator (traffic-spike only) and /stats.
func (g *Generator) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/fault", func(w http.ResponseWriter, r *http.Request) {
		serveAdmin(w, r, LoadGen, func(_ context.Context, f Fault) (Active, error) {
			a := Active{Fault: f, Service: LoadGen, Since: time.Now()}
			if d, _ := time.ParseDuration(f.Params.Duration); d > 0 {
				a.Until = a.Since.Add(d)
			}
			g.factor.Store(floatBits(f.Params.Factor))
			g.faults.set(a)
			return a, nil
		}, g.faults.clear, g.faults.list)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = writeJSON(w, http.StatusOK, g.Stats())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func floatBits(f float64) uint64 { return math.Float64bits(f) }
func floatFrom(b uint64) float64 { return math.Float64frombits(b) }
