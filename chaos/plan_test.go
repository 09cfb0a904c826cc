package chaos

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

func TestPlanRules(t *testing.T) {
	fs := []investigate.Finding{
		{Kind: "latency_hotspot", Tier: "symptom", Service: "frontend", Operation: "POST /checkout", Evidence: map[string]any{"p99_ms": 900.0, "baseline_p99_ms": 100.0}},
		{Kind: "n_plus_one", Tier: "root_cause", Service: "inventory", Operation: "SELECT items", Title: "N+1",
			Evidence: map[string]any{"count": 15.0, "peer": "postgresql", "statement": "SELECT ... WHERE id = ?"}},
		{Kind: "recent_change", Tier: "contributing", Service: "inventory", Operation: "service.version", Evidence: map[string]any{"what": "service.version", "to": "1.15.0"}},
		{Kind: "traffic_spike", Tier: "contributing", Service: "frontend", Evidence: map[string]any{"rate": 3.3, "ratio": 5.0}},
		{Kind: "slow_span", Tier: "contributing", Service: "checkout", Operation: "GET /stock", Evidence: map[string]any{"peer": "inventory", "delta_ms": 8000.0}},
	}
	p := NewPlan(fs, PlanOptions{Service: "frontend", Top: 3, Duration: 2 * time.Minute, ProbeURL: "http://frontend.staging/checkout"})
	if len(p.Experiments) != 1 || len(p.Skipped) != 2 {
		t.Fatalf("experiments %+v skipped %+v", p.Experiments, p.Skipped)
	}
	e := p.Experiments[0]
	// N+1: a 10 ms delay per call is expected to cost 15 × 10 ms, not 10 ms.
	if e.Fault.Type != FaultNetworkDelay || e.Fault.Peer != "postgresql" || e.Fault.LatencyMs != 10 || e.Expect[0].Delta != 150 {
		t.Errorf("n+1 experiment %+v", e)
	}
	if !strings.Contains(e.Probe, "http://frontend.staging/checkout") || e.Duration != "2m0s" || !strings.Contains(e.Inject, "inventory→postgresql") {
		t.Errorf("probe %q duration %q inject %q", e.Probe, e.Duration, e.Inject)
	}
	if !strings.Contains(p.Skipped[0].Reason, "rolling it back") || !strings.Contains(p.Skipped[1].Reason, "--rate 4/s") {
		t.Errorf("skipped %+v", p.Skipped)
	}
	// Top counts hypotheses, symptoms never: with Top 4 the slow span is planned too, its delay capped.
	p = NewPlan(fs, PlanOptions{Top: 4})
	last := p.Experiments[len(p.Experiments)-1]
	if last.Hypothesis.Kind != "slow_span" || last.Fault.LatencyMs != maxLatencyMs || last.Manifest.Metadata.Namespace != "default" || last.Duration != "5m0s" {
		t.Errorf("capped slow span %+v", last)
	}
	if p := NewPlan(fs, PlanOptions{Duration: 48 * time.Hour}); p.Experiments[0].Duration != "1h0m0s" {
		t.Errorf("duration not capped: %s", p.Experiments[0].Duration)
	}
	if got := objectName("dbg", "e1", "network-delay", "Payment_Svc", strings.Repeat("x", 80)); len(got) > 63 || strings.ContainsAny(got, "_P") {
		t.Errorf("object name %q", got)
	}
}

// TestPlanRoundTrip: a plan read back (dbg chaos run --plan) is the same plan, manifests typed.
func TestPlanRoundTrip(t *testing.T) {
	p := NewPlan(findingsForEveryFault(), PlanOptions{Top: 100})
	a, _ := json.Marshal(p)
	q, err := DecodePlan(a)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(q)
	if string(a) != string(b) {
		t.Errorf("differs after a round trip:\n%s\n%s", a, b)
	}
	if _, ok := q.Experiments[0].Manifest.Spec.(*NetworkChaosSpec); !ok {
		t.Errorf("spec not typed: %T", q.Experiments[0].Manifest.Spec)
	}
}
