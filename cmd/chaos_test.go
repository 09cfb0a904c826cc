package cmd

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/chaos"
)

// TestChaosPlanFromAReport: a real checklist report of the slow-dependency incident becomes a plan whose
// first experiment delays fraud-check, the report's root cause, by about the latency it gained.
func TestChaosPlanFromAReport(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/slow-dependency", "-o", "json")
	if code != 0 {
		t.Fatalf("checklist: %d %s", code, errOut)
	}
	report := filepath.Join(t.TempDir(), "report.json")
	os.WriteFile(report, []byte(out), 0o644)

	code, out, errOut = runDbg(t, nil, "chaos", "plan", "--from", report, "--namespace", "staging", "-o", "json")
	if code != 0 {
		t.Fatalf("chaos plan: %d %s", code, errOut)
	}
	plan, err := chaos.DecodePlan([]byte(out))
	if err != nil || len(plan.Experiments) == 0 {
		t.Fatalf("plan %v: %s", err, out)
	}
	e := plan.Experiments[0]
	if e.Hypothesis.Service != "fraud-check" || e.Fault.LatencyMs < 500 || e.Fault.LatencyMs > 700 || e.Manifest.Metadata.Namespace != "staging" || e.Proxy == nil {
		t.Errorf("first experiment %+v", e)
	}
	code, out, _ = runDbg(t, nil, "chaos", "plan", "--from", report, "-o", "yaml")
	if code != 0 || strings.Count(out, "apiVersion: chaos-mesh.org/v1alpha1") != len(plan.Experiments) || !strings.Contains(out, "duration: 5m0s") {
		t.Errorf("yaml: %d\n%s", code, out)
	}
	if code, out, _ = runDbg(t, nil, "chaos", "plan", "--from", report); code != 0 || !strings.Contains(out, "e1  inject") {
		t.Errorf("table: %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"chaos", "plan"},
		{"chaos", "plan", "--from", report, "--duration", "2h"},
		{"chaos", "plan", "--from", report, "--namespace", "Bad_NS"},
		{"chaos", "plan", "--from", report, "-o", "html"},
		{"chaos"},
		{"chaos", "proxy"},
		{"chaos", "proxy", "--upstream", "127.0.0.1:1", "--duration", "0s"},
		{"chaos", "proxy", "--upstream", "127.0.0.1:1", "--error-rate", "2"},
		{"chaos", "run", "--plan", report},
	} {
		if code, _, errOut := runDbg(t, nil, bad...); code != ExitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d %q", bad, code, errOut)
		}
	}
	if code, _, errOut := runDbg(t, nil, "chaos", "plan", "--from", "../go.mod"); code != ExitFailed || !strings.Contains(errOut, "not a dbg checklist JSON report") {
		t.Errorf("not a report: %d %q", code, errOut)
	}
}

// TestChaosProxyAndRunCommands runs `dbg chaos proxy` in front of a real server and `dbg chaos run`
// through it: a delay on the path the probe takes is confirmed.
func TestChaosProxyAndRunCommands(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	io, _, out, errOut := TestStreams()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *chaos.Proxy, 1)
	done := make(chan error, 1)
	go func() {
		done <- chaosProxyRun(ctx, &ChaosProxyOptions{IO: io, Format: "json", ready: func(p *chaos.Proxy) { ready <- p },
			Config: chaos.ProxyConfig{Listen: "127.0.0.1:0", Upstream: up.URL, HTTP: true, Duration: time.Minute}})
	}()
	var p *chaos.Proxy
	select {
	case p = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), p.AdminURL()+"/faults") {
		t.Errorf("startup line %q does not name the admin URL", errOut.String())
	}
	plan := chaos.Plan{Experiments: []chaos.Experiment{{ID: "e1", Fault: chaos.Fault{Type: chaos.FaultNetworkDelay, LatencyMs: 300},
		Proxy: &chaos.ProxyFaults{LatencyMs: 300}, Expect: []chaos.Expectation{{Metric: "p50_ms", Delta: 300}}}}}
	data, _ := json.Marshal(plan)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(planFile, data, 0o644)
	code, runOut, runErr := runDbg(t, nil, "chaos", "run", "--plan", planFile, "--probe", "http://"+p.Addr()+"/", "--proxy-admin", p.AdminURL(),
		"--requests", "20", "--rate", "40/s", "--settle", "100ms")
	if code != 0 || !strings.Contains(runOut, "verdict: CONFIRMED") {
		t.Errorf("chaos run: exit %d %s\n%s", code, runErr, runOut)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var st chaos.ProxyState
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.Stats.Delayed < 20 || st.Faults.Active() {
		t.Errorf("final state %+v %v\n%s", st, err, out)
	}
}
