package chaos

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/probe"
)

// upstream is a real loopback HTTP server: 2 ms of work, or a 64 KiB body on /big.
func upstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(bytes.Repeat([]byte("x"), 64<<10))
			return
		}
		time.Sleep(2 * time.Millisecond)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func startProxy(t *testing.T, cfg ProxyConfig) *Proxy {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Duration == 0 {
		cfg.Duration = time.Minute
	}
	p, err := StartProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func probeThrough(t *testing.T, url string, n int, timeout time.Duration) *probe.Result {
	t.Helper()
	r, err := probe.Run(context.Background(), probe.Options{URL: url, Rate: probe.PerSecond(50), Requests: n, Timeout: timeout, Concurrency: 20})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProxyLatency(t *testing.T) {
	up := upstream(t)
	for _, mode := range []struct {
		name string
		cfg  ProxyConfig
	}{
		{"http", ProxyConfig{HTTP: true, Upstream: up.URL}},
		{"tcp", ProxyConfig{Upstream: strings.TrimPrefix(up.URL, "http://")}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			p := startProxy(t, mode.cfg)
			url := "http://" + p.Addr() + "/"
			direct := probeThrough(t, up.URL, 20, 0)
			clean := probeThrough(t, url, 20, 0)
			if clean.SuccessRatio != 1 || clean.Latency.P50Ms > direct.Latency.P50Ms+50 {
				t.Fatalf("a clean proxy: success %.2f, p50 %.1f ms against %.1f ms direct", clean.SuccessRatio, clean.Latency.P50Ms, direct.Latency.P50Ms)
			}
			// Switched at runtime through the admin endpoint, as dbg chaos run does.
			admin := AdminClient{URL: p.AdminURL()}
			if err := admin.Inject(context.Background(), ProxyFaults{LatencyMs: 100, JitterMs: 10}); err != nil {
				t.Fatal(err)
			}
			slow := probeThrough(t, url, 20, 0)
			if slow.Latency.P50Ms < 90 || slow.Latency.P50Ms > direct.Latency.P50Ms+400 {
				t.Errorf("100±10 ms injected: p50 %.1f ms, direct %.1f ms", slow.Latency.P50Ms, direct.Latency.P50Ms)
			}
			if err := admin.Clear(context.Background()); err != nil {
				t.Fatal(err)
			}
			if again := probeThrough(t, url, 20, 0); again.Latency.P50Ms > direct.Latency.P50Ms+50 {
				t.Errorf("after clearing: p50 %.1f ms", again.Latency.P50Ms)
			}
			st, err := admin.Stats(context.Background())
			if err != nil || st.Delayed < 20 {
				t.Errorf("stats %+v %v", st, err)
			}
		})
	}
}

func TestProxyErrors(t *testing.T) {
	up := upstream(t)
	p := startProxy(t, ProxyConfig{HTTP: true, Upstream: up.URL, Faults: ProxyFaults{ErrorRate: 1, ErrorStatus: 503}})
	url := "http://" + p.Addr() + "/"
	r := probeThrough(t, url, 20, 0)
	if r.StatusCodes["503"] != 20 || r.Errors[probe.ClassHTTP5xx] != 20 {
		t.Errorf("error rate 1 with 503: %v %v", r.StatusCodes, r.Errors)
	}
	// Half the requests: the share lands near 0.5 (binomial, 200 requests: 0.4..0.6 is > 99.5%).
	if err := p.Set(ProxyFaults{ErrorRate: 0.5, ErrorStatus: 500}); err != nil {
		t.Fatal(err)
	}
	r = probeThrough(t, url, 200, 0)
	if share := float64(r.StatusCodes["500"]) / 200; share < 0.4 || share > 0.6 {
		t.Errorf("error rate 0.5: %v", r.StatusCodes)
	}
	// No status: the connection is reset, in HTTP and TCP mode alike.
	p.Set(ProxyFaults{ErrorRate: 1})
	if r = probeThrough(t, url, 10, 0); r.Errors[probe.ClassReset]+r.Errors[probe.ClassEOF] != 10 {
		t.Errorf("HTTP reset: %v %q", r.Errors, r.ErrorSamples)
	}
	tp := startProxy(t, ProxyConfig{Upstream: strings.TrimPrefix(up.URL, "http://"), Faults: ProxyFaults{ErrorRate: 1}})
	if r = probeThrough(t, "http://"+tp.Addr()+"/", 10, 0); r.Errors[probe.ClassReset] != 10 {
		t.Errorf("TCP reset: %v %q", r.Errors, r.ErrorSamples)
	}
}

func TestProxyBlackhole(t *testing.T) {
	up := upstream(t)
	for _, cfg := range []ProxyConfig{
		{HTTP: true, Upstream: up.URL, Faults: ProxyFaults{Blackhole: true}},
		{Upstream: strings.TrimPrefix(up.URL, "http://"), Faults: ProxyFaults{Blackhole: true}},
	} {
		p := startProxy(t, cfg)
		r := probeThrough(t, "http://"+p.Addr()+"/", 5, 300*time.Millisecond)
		if r.Errors[probe.ClassTimeout] != 5 {
			t.Errorf("http=%v blackhole: %v %q", cfg.HTTP, r.Errors, r.ErrorSamples)
		}
		p.Set(ProxyFaults{})
		if r := probeThrough(t, "http://"+p.Addr()+"/", 5, time.Second); r.SuccessRatio != 1 {
			t.Errorf("http=%v after the blackhole: %v %q", cfg.HTTP, r.Errors, r.ErrorSamples)
		}
	}
}

func TestProxyBandwidth(t *testing.T) {
	up := upstream(t)
	for _, cfg := range []ProxyConfig{
		{HTTP: true, Upstream: up.URL, Faults: ProxyFaults{BandwidthBps: 128 << 10}},
		{Upstream: strings.TrimPrefix(up.URL, "http://"), Faults: ProxyFaults{BandwidthBps: 128 << 10}},
	} {
		p := startProxy(t, cfg)
		start := time.Now()
		resp, err := http.Get("http://" + p.Addr() + "/big")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		// 64 KiB at 128 KiB/s is half a second; unthrottled it is well under 10 ms.
		if n != 64<<10 || took < 400*time.Millisecond || took > 10*time.Second {
			t.Errorf("http=%v: %d bytes in %v at 128 KiB/s, want ~0.5 s", cfg.HTTP, n, took)
		}
	}
}

func TestProxyBounds(t *testing.T) {
	up := upstream(t)
	if _, err := StartProxy(ProxyConfig{Listen: "127.0.0.1:0", Upstream: up.URL, HTTP: true}); err == nil || !strings.Contains(err.Error(), "--duration") {
		t.Errorf("no duration: %v", err)
	}
	if _, err := StartProxy(ProxyConfig{Listen: "127.0.0.1:0", Upstream: up.URL, HTTP: true, Duration: time.Minute, Admin: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("remote admin: %v", err)
	}
	p := startProxy(t, ProxyConfig{HTTP: true, Upstream: up.URL, Duration: 300 * time.Millisecond, Faults: ProxyFaults{ErrorRate: 1, ErrorStatus: 503}})
	url := "http://" + p.Addr() + "/"
	if r := probeThrough(t, url, 3, 0); r.StatusCodes["503"] != 3 {
		t.Fatalf("before the bound: %v", r.StatusCodes)
	}
	time.Sleep(500 * time.Millisecond)
	if r := probeThrough(t, url, 3, 0); r.StatusCodes["200"] != 3 {
		t.Errorf("after --duration the faults must be gone: %v", r.StatusCodes)
	}
	if err := (AdminClient{URL: p.AdminURL()}).Inject(context.Background(), ProxyFaults{LatencyMs: 10}); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("a fault after the bound was accepted: %v", err)
	}
	for _, bad := range []ProxyFaults{{ErrorRate: 2}, {LatencyMs: -1}, {LatencyMs: 10, JitterMs: 20}, {ErrorStatus: 200, ErrorRate: 1}, {LatencyMs: 1e6}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	// The admin endpoint rejects what it does not understand, with a JSON error.
	resp, err := http.Post(p.AdminURL()+"/faults", "application/json", strings.NewReader(`{"latency":5}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown field: %s", resp.Status)
	}
}

func TestProxyClosesCleanly(t *testing.T) {
	up := upstream(t)
	p, err := StartProxy(ProxyConfig{Listen: "127.0.0.1:0", Upstream: strings.TrimPrefix(up.URL, "http://"), Duration: time.Minute, Faults: ProxyFaults{Blackhole: true}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a blackholed connection")
	}
}
