package checklist

import (
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// TestLogsYieldToMechanisms: an error log pattern in a caller yields to the mechanism the traces locate
// on a service it calls (directly or through others), but not to one on a service it does not call.
func TestLogsYieldToMechanisms(t *testing.T) {
	log := func(svc string) investigate.Finding {
		return f("log_pattern", svc, "", 1.0, "template", "[DownstreamError] request failed")
	}
	cases := []struct {
		name     string
		in       []investigate.Finding
		rootKind string
		rootSvc  string
		yielded  bool
	}{
		{"a caller's log yields to the origin two hops down",
			[]investigate.Finding{log("web"), f("dependency", "web", "POST /orders", 0.6, "peer", "orders"),
				f("dependency", "orders", "GET /stock", 0.6, "peer", "stock"), f("error_origin", "stock", "check", 0.75)},
			"error_origin", "stock", true},
		{"a log on the failing service yields to its origin",
			[]investigate.Finding{log("stock"), f("error_origin", "stock", "check", 0.75)},
			"error_origin", "stock", true},
		{"a mechanism on a service the logger does not call explains nothing",
			[]investigate.Finding{log("web"), f("n_plus_one", "batch", "SELECT", 0.75)},
			"log_pattern", "web", false},
		{"a weak mechanism does not take over",
			[]investigate.Finding{log("stock"), f("slow_span", "stock", "check", 0.3)},
			"log_pattern", "stock", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Rank(c.in, nil)
			if out[0].Tier != TierRootCause || out[0].Kind != c.rootKind || out[0].Service != c.rootSvc {
				t.Fatalf("root %s %s %s, want %s %s; all %+v", out[0].Tier, out[0].Kind, out[0].Service, c.rootKind, c.rootSvc, out)
			}
			for _, g := range out {
				if g.Kind != "log_pattern" {
					continue
				}
				_, has := g.Evidence["explained_by"]
				if has != c.yielded {
					t.Errorf("log pattern explained_by %v, want yielded=%v", g.Evidence["explained_by"], c.yielded)
				}
			}
		})
	}
}

// TestMaterialQueryChange: a statement is this incident's only when new, called more, or slower at p99 by
// a material margin — a few milliseconds over a small sample is noise.
func TestMaterialQueryChange(t *testing.T) {
	cases := []struct {
		ev   map[string]any
		want bool
	}{
		{map[string]any{"change": "new"}, true},
		{map[string]any{"change": "more_calls"}, true},
		{map[string]any{"change": "slower", "p99_ms": 15.7, "baseline_p99_ms": 10.2}, false},
		{map[string]any{"change": "slower", "p99_ms": 480.0, "baseline_p99_ms": 6.0}, true},
		{map[string]any{"change": "faster", "p99_ms": 4.0, "baseline_p99_ms": 40.0}, false},
		{map[string]any{"change": ""}, false},
		{map[string]any{}, false},
	}
	for _, c := range cases {
		if got := materialQueryChange(c.ev); got != c.want {
			t.Errorf("%v: %v, want %v", c.ev, got, c.want)
		}
	}
}
