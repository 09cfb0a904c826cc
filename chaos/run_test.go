package chaos

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/probe"
)

func result(p50, errRatio float64) *probe.Result {
	return &probe.Result{Requests: 100, SuccessRatio: 1 - errRatio, Latency: probe.Latency{P50Ms: p50, P99Ms: p50 * 2}}
}

func TestJudge(t *testing.T) {
	delay := Experiment{ID: "e1", Expect: []Expectation{{Metric: "p50_ms", Delta: 300}}}
	for _, tc := range []struct {
		name              string
		base, in, cleared *probe.Result
		want              string
	}{
		{"reproduced and recovered", result(40, 0), result(330, 0), result(45, 0), Confirmed},
		{"did not move", result(40, 0), result(60, 0), result(41, 0), Refuted},
		{"half-way", result(40, 0), result(140, 0), result(40, 0), Inconclusive},
		{"no recovery", result(40, 0), result(340, 0), result(340, 0), Inconclusive},
		{"failing baseline", result(40, 0.9), result(340, 0.9), result(40, 0.9), Inconclusive},
	} {
		res := &RunResult{Baseline: tc.base, Injected: tc.in, Cleared: tc.cleared, ProxyRequests: -1}
		judge(res, delay)
		if res.Verdict != tc.want {
			t.Errorf("%s: %s, want %s (%q)", tc.name, res.Verdict, tc.want, res.Evidence)
		}
	}
	errs := Experiment{ID: "e2", Expect: []Expectation{{Metric: "error_ratio", Delta: 0.15}}}
	res := &RunResult{Baseline: result(40, 0), Injected: result(40, 0.3), Cleared: result(40, 0.01), ProxyRequests: 100}
	if judge(res, errs); res.Verdict != Confirmed {
		t.Errorf("errors: %s %q", res.Verdict, res.Evidence)
	}
	res = &RunResult{Baseline: result(40, 0), Injected: result(40, 0), Cleared: result(40, 0), ProxyRequests: 0}
	if judge(res, errs); res.Verdict != Refuted || !strings.Contains(strings.Join(res.Evidence, " "), "no probe traffic passed the proxy") {
		t.Errorf("off the path: %s %q", res.Verdict, res.Evidence)
	}
}

// TestRunRefutesAnEdgeOffThePath: the proxy sits in front of a server the probed service never calls;
// a delay there does not reach the probe, and the run says so. The fault is cleared afterwards.
func TestRunRefutesAnEdgeOffThePath(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	p := startProxy(t, ProxyConfig{HTTP: true, Upstream: other.URL})
	e := Experiment{ID: "e1", Fault: Fault{Type: FaultNetworkDelay, LatencyMs: 500}, Proxy: &ProxyFaults{LatencyMs: 500},
		Expect: []Expectation{{Metric: "p50_ms", Delta: 500}}}
	res, err := Run(context.Background(), RunOptions{Experiment: e, Injector: AdminClient{URL: p.AdminURL()}, Settle: 50 * time.Millisecond,
		Probe: probe.Options{URL: target.URL, Rate: probe.PerSecond(50), Requests: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Refuted || res.ProxyRequests != 0 {
		t.Errorf("verdict %s, proxy saw %d: %q", res.Verdict, res.ProxyRequests, res.Evidence)
	}
	if p.Faults().Active() {
		t.Errorf("the fault was left on: %+v", p.Faults())
	}
	if _, err := Run(context.Background(), RunOptions{Experiment: Experiment{ID: "e9", Fault: Fault{Type: FaultStressCPU}}}); err == nil {
		t.Error("a CPU stress experiment ran through the proxy")
	}
}
