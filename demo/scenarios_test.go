package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/internal/demo"
	"github.com/dbgtool/dbg/investigate"
)

// TestMain lets this test binary be a demo service: demo.Start runs it again with EnvService set.
func TestMain(m *testing.M) {
	if os.Getenv(demo.EnvService) != "" {
		if err := demo.ServeFromEnv(context.Background(), os.Stderr); err != nil {
			os.Stderr.WriteString("demo service: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDemoScenariosFast runs the fast tier against real Jaeger, VictoriaLogs and Prometheus: every
// fault's truth must be the top root cause, and the no-fault scenario must raise no cause above low.
func TestDemoScenariosFast(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers and a live demo: run without -short")
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DBG_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	list, err := selectScenarios("fast", nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &DemoScenariosOptions{Tier: "fast", Baseline: 20 * time.Second, Incident: 20 * time.Second, Rate: 30,
		Rows: demo.DefaultRows, Command: func() *exec.Cmd { return exec.Command(os.Args[0]) }}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	start := time.Now()
	results, err := runScenarios(ctx, o, t.TempDir(), list, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fast tier in %s:\n%s", time.Since(start).Round(time.Second), scenarioTable(results))
	for _, r := range results {
		if r.Error != "" {
			t.Errorf("%s: %s", r.Name, r.Error)
			continue
		}
		if !r.Pass {
			t.Errorf("%s: truth %s at rank %d; top %s; report:\n%s", r.Name, r.Truth, r.Rank, topText(r.Top), r.ReportJSON)
		}
	}
	sum := summarize(results)
	if sum.AC1 != 1 || !strings.HasPrefix(sum.NoFault, "highest cause severity") {
		t.Errorf("AC@1 %s, no-fault %s", pct(sum.AC1), sum.NoFault)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestScenarioTruthTable: at least ten fault kinds, each scenario's fault valid on its service, and the
// fast tier a subset with the no-fault scenario.
func TestScenarioTruthTable(t *testing.T) {
	kinds := map[demo.Kind]bool{}
	for _, sc := range scenarios {
		if sc.Fault.Kind == "" {
			continue
		}
		kinds[sc.Fault.Kind] = true
		if _, err := sc.Fault.Resolve(sc.Service); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
		if len(sc.Accept) == 0 || sc.Why == "" {
			t.Errorf("%s: no accepted answer or no reason", sc.Name)
		}
	}
	if len(kinds) < 10 {
		t.Errorf("%d fault kinds, want at least 10", len(kinds))
	}
	fast, _ := selectScenarios("fast", nil)
	if len(fast) < 4 || fast[0].Fault.Kind != "" {
		t.Errorf("fast tier %v", fast)
	}
	if _, err := selectScenarios("full", []string{"n-plus-one", "meteor"}); err == nil {
		t.Error("unknown scenario name accepted")
	}
}

// TestJudge: the rank counts causes only, the top must be an accepted answer, and the no-fault
// scenario fails on a medium cause but not on a medium symptom.
func TestJudge(t *testing.T) {
	f := func(tier, kind, svc, op string, sev investigate.Severity, ev map[string]any) investigate.Finding {
		return investigate.Finding{Tier: tier, Kind: kind, Service: svc, Operation: op, Severity: sev, Evidence: ev}
	}
	sc := func(name string) scenario {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.Name == name })
		return scenarios[i]
	}
	tests := []struct {
		name     string
		sc       scenario
		findings []investigate.Finding
		wantRank int
		wantPass bool
	}{
		{"top is truth", sc("n-plus-one"), []investigate.Finding{
			f(checklist.TierSymptom, "latency_hotspot", "frontend", "GET /", "high", nil),
			f(checklist.TierRootCause, "n_plus_one", "inventory", "SELECT items", "high", nil)}, 1, true},
		{"truth second", sc("slow-downstream"), []investigate.Finding{
			f(checklist.TierRootCause, "dependency", "payment", "POST /score", "high", map[string]any{"peer": "fraud-check"}),
			f(checklist.TierContributing, "slow_span", "fraud-check", "score", "medium", nil)}, 2, false},
		{"right kind wrong service", sc("deploy"), []investigate.Finding{
			f(checklist.TierRootCause, "recent_change", "payment", "", "high", nil)}, 0, false},
		{"edge naming the peer", sc("error-burst"), []investigate.Finding{
			f(checklist.TierRootCause, "dependency", "frontend", "GET inventory", "high", map[string]any{"peer": "inventory"})}, 1, true},
		{"saturation needs its resource", sc("goroutine-leak"), []investigate.Finding{
			f(checklist.TierRootCause, "saturation", "payment", "", "high", map[string]any{"resource": "heap"}),
			f(checklist.TierContributing, "saturation", "payment", "", "medium", map[string]any{"resource": "goroutines"})}, 2, false},
		{"truth only contributing", sc("n-plus-one"), []investigate.Finding{
			f(checklist.TierContributing, "n_plus_one", "inventory", "SELECT items", "low", nil)}, 1, false},
		{"no fault, medium symptom", sc("no-fault"), []investigate.Finding{
			f(checklist.TierSymptom, "latency_hotspot", "frontend", "GET /", "medium", nil),
			f(checklist.TierContributing, "slow_query", "inventory", "SELECT items", "low", nil)}, 0, true},
		{"no fault, medium cause", sc("no-fault"), []investigate.Finding{
			f(checklist.TierContributing, "slow_query", "inventory", "SELECT items", "medium", nil)}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r scenarioResult
			judge(&r, tt.sc, &checklist.Report{Findings: tt.findings})
			if r.Rank != tt.wantRank || r.Pass != tt.wantPass {
				t.Errorf("rank %d pass %v, want %d %v", r.Rank, r.Pass, tt.wantRank, tt.wantPass)
			}
		})
	}
}

// TestAccuracyDoc: the scoreboard has the figures, one row per scenario, and escapes table cells.
func TestAccuracyDoc(t *testing.T) {
	rs := []scenarioResult{
		{Name: "no-fault", Truth: truthText(scenarios[0]), Pass: true, MaxCause: "low", Seconds: 50},
		{Name: "n-plus-one", Fault: "n-plus-one", Service: "inventory", Rank: 1, Pass: true, Seconds: 55,
			Top: &investigate.Finding{Kind: "n_plus_one", Service: "inventory", Operation: "SELECT a|b", Severity: "high", Score: 0.9}},
		{Name: "deploy", Fault: "deploy", Service: "checkout", Rank: 3, Seconds: 60,
			Top: &investigate.Finding{Kind: "slow_span", Service: "checkout", Severity: "high", Score: 0.8}},
	}
	o := &DemoScenariosOptions{Tier: "full", Baseline: 30 * time.Second, Incident: 30 * time.Second, Rate: 30, Rows: 1000, Argv: "go run ./demo scenarios"}
	doc := accuracyDoc(o, rs, time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC), 3*time.Minute)
	for _, want := range []string{"AC@1 50%, AC@3 100%", "over 2 fault scenarios (1 failing)", "highest cause severity low",
		"2026-11-25 14:00 UTC", "tier **full**", `SELECT a\|b`, "| deploy | deploy in checkout |", "| 3 | no |", "## Acceptance rule per fault"} {
		if !strings.Contains(doc, want) {
			t.Errorf("doc lacks %q:\n%s", want, doc)
		}
	}
}
