package investigate_test

import (
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// TestCompare: an earlier root cause that is gone is resolved, one still ranked is persisting, a new
// cause is new; an earlier low-severity contributor and a symptom decide nothing.
func TestCompare(t *testing.T) {
	before := []investigate.Finding{
		{Kind: "slow_span", Service: "a", Operation: "x", Tier: investigate.TierRootCause, Severity: "critical"},
		{Kind: "dependency", Service: "b", Operation: "y", Tier: investigate.TierContributing, Severity: "high"},
		{Kind: "slow_query", Service: "c", Operation: "z", Tier: investigate.TierContributing, Severity: "low"},
		{Kind: "latency_hotspot", Service: "a", Operation: "GET", Tier: investigate.TierSymptom, Severity: "critical"},
	}
	now := []investigate.Finding{
		{Kind: "dependency", Service: "b", Operation: "y", Tier: investigate.TierRootCause, Severity: "medium"},
		{Kind: "error_origin", Service: "d", Operation: "w", Tier: investigate.TierContributing, Severity: "high"},
	}
	v := investigate.Compare(before, now)
	if len(v.Resolved) != 1 || v.Resolved[0].Service != "a" || len(v.Persisting) != 1 || v.Persisting[0].Service != "b" ||
		len(v.New) != 1 || v.New[0].Service != "d" || v.Done() {
		t.Fatalf("%+v", v)
	}
}
