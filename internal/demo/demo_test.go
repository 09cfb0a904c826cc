package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets this test binary be a demo service: Start runs it again with EnvService set.
func TestMain(m *testing.M) {
	if os.Getenv(EnvService) != "" {
		if err := ServeFromEnv(context.Background(), os.Stderr); err != nil {
			os.Stderr.WriteString("demo service: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// selfCommand starts this test binary as a child service.
func selfCommand() *exec.Cmd { return exec.Command(os.Args[0]) }

func startSystem(t *testing.T, cfg SystemConfig) *System {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Rows == 0 {
		cfg.Rows = 5000
	}
	cfg.Command = selfCommand
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sys, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start demo: %v", err)
	}
	t.Cleanup(func() {
		sys.Stop()
		if t.Failed() {
			for _, name := range Services {
				data, _ := os.ReadFile(cfg.Dir + "/" + name + ".log")
				if len(data) > 4000 {
					data = data[len(data)-4000:]
				}
				t.Logf("--- %s log (tail) ---\n%s", name, data)
			}
		}
	})
	return sys
}

func TestFaultResolve(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		service string
		wantErr string
		check   func(Params) bool
	}{
		{"defaults filled", Fault{Kind: KindLatency}, Checkout, "", func(p Params) bool { return p.MS == 250 }},
		{"explicit kept", Fault{Kind: KindLatency, Params: Params{MS: 40}}, Frontend, "", func(p Params) bool { return p.MS == 40 }},
		{"burst clears itself", Fault{Kind: KindErrorBurst}, Inventory, "", func(p Params) bool { return p.Duration == "90s" && p.Rate == 1 }},
		{"unknown kind", Fault{Kind: "meteor"}, Checkout, "unknown fault kind", nil},
		{"wrong service", Fault{Kind: KindNPlusOne}, Payment, "applies only to inventory", nil},
		{"spike only on loadgen", Fault{Kind: KindTrafficSpike}, Frontend, "applies only to loadgen", nil},
		{"ms bound", Fault{Kind: KindLatency, Params: Params{MS: 60_000}}, Checkout, "out of range", nil},
		{"rate bound", Fault{Kind: KindErrorRate, Params: Params{Rate: 2}}, Checkout, "out of range", nil},
		{"leak bound", Fault{Kind: KindMemoryLeak, Params: Params{MaxMB: 1 << 20}}, Checkout, "out of range", nil},
		{"factor bound", Fault{Kind: KindTrafficSpike, Params: Params{Factor: 100}}, LoadGen, "out of range", nil},
		{"hostile version", Fault{Kind: KindDeploy, Params: Params{Version: "1.0\n$(x)"}}, Checkout, "version", nil},
		{"bad duration", Fault{Kind: KindLatency, Params: Params{Duration: "forever"}}, Checkout, "duration", nil},
		{"duration too long", Fault{Kind: KindLatency, Params: Params{Duration: "48h"}}, Checkout, "duration", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fault.Resolve(tt.service)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !tt.check(got.Params) {
				t.Errorf("params %+v", got.Params)
			}
		})
	}
}

func TestDecodeFaultRejectsUnknownFields(t *testing.T) {
	if _, err := DecodeFault([]byte(`{"kind":"latency","params":{"msec":5}}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
	f, err := DecodeFault([]byte(`{"kind":"latency","params":{"ms":5,"route":"POST /orders"}}`))
	if err != nil || f.Params.MS != 5 || !f.Params.matchesRoute("POST", "/orders") || f.Params.matchesRoute("GET", "/orders") {
		t.Fatalf("DecodeFault = %+v, %v", f, err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:80", "http://example.com", "https://127.0.0.1:1", "ftp://127.0.0.1"} {
		if _, err := NewGenerator(u, 1, 10); err == nil {
			t.Errorf("NewGenerator(%q) accepted a non-loopback target", u)
		}
	}
	if _, err := NewGenerator("http://127.0.0.1:1", MaxRate+1, 10); err == nil {
		t.Error("rate above MaxRate accepted")
	}
	if _, err := NewGenerator("http://[::1]:1", 5, 10); err != nil {
		t.Errorf("::1 refused: %v", err)
	}
}

func get(t *testing.T, url string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func postOrder(t *testing.T, base string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Post(base+"/checkout", "application/json", strings.NewReader(`{"customer":"c-1","skus":["SKU-000001","SKU-000002","SKU-000003"]}`))
	if err != nil {
		t.Fatalf("POST /checkout: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestSystemLocal runs the services without telemetry backends: requests flow through all six, the
// admin endpoints change behaviour, /metrics and /debug/pprof answer.
func TestSystemLocal(t *testing.T) {
	sys := startSystem(t, SystemConfig{})
	fe := sys.Services[Frontend]
	ctx := context.Background()

	code, hdr, body := get(t, fe+"/products/SKU-000042", map[string]string{CorrelationHeader: "abc-123"})
	if code != 200 || !strings.Contains(body, `"sku":"SKU-000042"`) || hdr.Get(CorrelationHeader) != "abc-123" {
		t.Fatalf("product page: %d %q correlation %q", code, body, hdr.Get(CorrelationHeader))
	}
	if _, hdr, _ := get(t, fe+"/", nil); len(hdr.Get(CorrelationHeader)) != 16 {
		t.Errorf("no correlation ID generated: %q", hdr.Get(CorrelationHeader))
	}
	if code, _ := postOrder(t, fe); code != http.StatusCreated {
		t.Fatalf("checkout: %d", code)
	}

	t.Run("latency", func(t *testing.T) {
		if _, err := Inject(ctx, sys.Services[Checkout], Fault{Kind: KindLatency, Params: Params{MS: 300}}); err != nil {
			t.Fatal(err)
		}
		_, d := postOrder(t, fe)
		if d < 240*time.Millisecond {
			t.Errorf("checkout took %s with 300ms latency injected", d)
		}
		if _, err := Clear(ctx, sys.Services[Checkout], ""); err != nil {
			t.Fatal(err)
		}
		fastest := time.Hour
		for range 3 {
			_, d := postOrder(t, fe)
			fastest = min(fastest, d)
		}
		if fastest > 240*time.Millisecond {
			t.Errorf("the fastest of 3 checkouts took %s after clearing", fastest)
		}
	})
	t.Run("error-burst", func(t *testing.T) {
		if _, err := Inject(ctx, sys.Services[Inventory], Fault{Kind: KindErrorBurst, Params: Params{Duration: "1s"}}); err != nil {
			t.Fatal(err)
		}
		if code, _ := postOrder(t, fe); code != http.StatusBadGateway {
			t.Errorf("checkout with inventory failing: %d, want 502", code)
		}
		time.Sleep(1100 * time.Millisecond)
		if code, _ := postOrder(t, fe); code != http.StatusCreated {
			t.Errorf("burst did not clear itself: %d", code)
		}
	})
	t.Run("load", func(t *testing.T) {
		if err := sys.SetRate(40); err != nil {
			t.Fatal(err)
		}
		st := sys.Load.Run(ctx, 2*time.Second)
		if st.Sent < 40 || st.OK < st.Sent*9/10 || st.Server > 0 {
			t.Errorf("load stats %+v", st)
		}
		var got State
		data, err := os.ReadFile(sys.dir + "/" + StateFile)
		if err != nil || json.Unmarshal(data, &got) != nil || got.Services[Frontend] != fe {
			t.Errorf("state file: %s %v", data, err)
		}
	})
	t.Run("circuit-open", func(t *testing.T) {
		if _, err := Inject(ctx, sys.Services[Gateway], Fault{Kind: KindCircuitOpen}); err != nil {
			t.Fatal(err)
		}
		defer Clear(ctx, sys.Services[Gateway], "")
		for range 8 {
			postOrder(t, fe)
		}
		_, _, metrics := get(t, sys.Services[Payment]+"/metrics", nil)
		if !strings.Contains(metrics, `circuit_breaker_state{name="gateway",service="payment"} 2`) {
			t.Errorf("breaker not open after gateway failures:\n%s", grepLines(metrics, "circuit_breaker"))
		}
		if strings.Contains(metrics, `circuit_breaker_rejections_total{name="gateway",service="payment"} 0`) {
			t.Errorf("no rejections counted:\n%s", grepLines(metrics, "circuit_breaker"))
		}
	})
	t.Run("admin rejects", func(t *testing.T) {
		if _, err := Inject(ctx, sys.Services[Payment], Fault{Kind: KindNPlusOne}); err == nil || !strings.Contains(err.Error(), "only to inventory") {
			t.Errorf("n-plus-one on payment: %v", err)
		}
		list, err := List(ctx, sys.Services[Checkout])
		if err != nil || len(list) != 0 {
			t.Errorf("faults left on checkout: %v %v", list, err)
		}
	})
	t.Run("metrics and pprof", func(t *testing.T) {
		_, _, m := get(t, sys.Services[Checkout]+"/metrics", nil)
		for _, want := range []string{`http_request_duration_seconds_bucket{code="201",handler="/orders",method="POST",service="checkout"`,
			`http_requests_total{code="201",handler="/orders",method="POST",service="checkout"}`, "go_goroutines", "demo_build_info{service=\"checkout\",version=\"1.4.2\"} 1"} {
			if !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if code, _, body := get(t, sys.Services[Inventory]+"/debug/pprof/goroutine?debug=1", nil); code != 200 || !strings.Contains(body, "goroutine profile") {
			t.Errorf("pprof: %d", code)
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// FuzzDecodeFault: the admin endpoint's body is untrusted; decoding and resolving never panic, and what
// resolves stays inside the bounds.
func FuzzDecodeFault(f *testing.F) {
	f.Add([]byte(`{"kind":"latency","params":{"ms":250,"route":"POST /orders"}}`), "checkout")
	f.Add([]byte(`{"kind":"memory-leak","params":{"kb":4096,"max_mb":1024}}`), "payment")
	f.Add([]byte(`{"kind":"deploy","params":{"version":"2.0.0","duration":"1m"}}`), "checkout")
	f.Add([]byte(`{"kind":"traffic-spike","params":{"factor":1e308}}`), "loadgen")
	f.Add([]byte(`{"kind":"error-rate","params":{"rate":-0}}`), "x")
	f.Fuzz(func(t *testing.T, data []byte, service string) {
		flt, err := DecodeFault(data)
		if err != nil {
			return
		}
		r, err := flt.Resolve(service)
		if err != nil {
			return
		}
		p := r.Params
		if p.MS > maxFaultMS || p.KB > maxLeakKB || p.MaxMB > maxLeakMB || p.Max > maxLeakGoroutine ||
			p.Limit > maxBulkhead || p.Factor > maxFactor || p.Rate > 1 || p.Rate < 0 || p.MS < 0 {
			t.Fatalf("resolved out of bounds: %+v", p)
		}
		if p.Duration != "" {
			if d, err := time.ParseDuration(p.Duration); err != nil || d > maxFaultDuration || d < 0 {
				t.Fatalf("duration %q resolved", p.Duration)
			}
		}
	})
}

func TestErrorTypeIsTheInnermostName(t *testing.T) {
	if got := errorType(&httpError{status: 503, err: &namedError{typ: "UnavailableError", msg: "x"}}); got != "UnavailableError" {
		t.Errorf("errorType = %q", got)
	}
}
