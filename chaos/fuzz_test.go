package chaos

import (
	"encoding/json"
	"testing"
)

// FuzzPlanAndFaults: a plan file (dbg chaos run --plan) and the proxy admin's JSON body come from
// outside; neither may panic, a decoded plan must pick or refuse cleanly, a fault set that validates
// must be within bounds.
func FuzzPlanAndFaults(f *testing.F) {
	p := NewPlan(findingsForEveryFault(), PlanOptions{Top: 100})
	good, _ := json.Marshal(p)
	f.Add(good, []byte(`{"latency_ms":300,"jitter_ms":30}`))
	f.Add([]byte(`{"experiments":[{"id":"e1","manifest":{"kind":"NetworkChaos","spec":[]}}]}`), []byte(`{"error_rate":1e308}`))
	f.Fuzz(func(t *testing.T, plan, faults []byte) {
		if pl, err := DecodePlan(plan); err == nil {
			_, _ = pl.Pick("")
			_, _ = pl.Pick("e1")
		}
		var pf ProxyFaults
		if json.Unmarshal(faults, &pf) == nil && pf.Validate() == nil {
			if pf.ErrorRate < 0 || pf.ErrorRate > 1 || pf.LatencyMs > maxFaultLatencyMs || pf.JitterMs > pf.LatencyMs {
				t.Fatalf("out of bounds but valid: %+v", pf)
			}
			_ = pf.String()
		}
	})
}
