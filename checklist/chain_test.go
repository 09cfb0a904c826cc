package checklist

import (
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// TestRankCausalChain: the root cause carries a chain, trigger first; without a state change the
// trigger says none was found rather than inventing one.
func TestRankCausalChain(t *testing.T) {
	cases := []struct {
		name  string
		in    []investigate.Finding
		roles []string
		kinds []string
	}{
		{"traffic → contention → latency",
			[]investigate.Finding{
				f("traffic_spike", "web", "GET /d", 0.5, "ratio", 3.3),
				f("contention", "store", "SQL SELECT", 0.8, "resource", "lock"),
				f("latency_hotspot", "web", "GET /d", 0.9),
			},
			[]string{"trigger", "mechanism", "symptom"}, []string{"traffic_spike", "contention", "latency_hotspot"}},
		{"a change on the mechanism's service is preferred",
			[]investigate.Finding{
				f("recent_change", "other", "service.version", 0.45, "from", "1", "to", "2"),
				f("recent_change", "store", "service.version", 0.42, "from", "3", "to", "4"),
				f("n_plus_one", "store", "SELECT", 0.9),
				f("error_hotspot", "web", "GET /d", 0.9),
			},
			[]string{"trigger", "mechanism", "symptom"}, []string{"recent_change", "n_plus_one", "error_hotspot"}},
		{"no trigger is said, not invented",
			[]investigate.Finding{f("n_plus_one", "store", "SELECT", 0.9), f("latency_hotspot", "web", "GET /d", 0.9)},
			[]string{"trigger", "mechanism", "symptom"}, []string{"", "n_plus_one", "latency_hotspot"}},
		{"a trigger that is the cause heads its own chain",
			[]investigate.Finding{f("traffic_spike", "web", "GET /d", 0.7, "ratio", 5.0)},
			[]string{"trigger"}, []string{"traffic_spike"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Rank(c.in, nil)
			decide(out, -1, 0)
			attachChain(out)
			top := out[0]
			if len(top.Chain) != len(c.roles) {
				t.Fatalf("chain %+v, want roles %v", top.Chain, c.roles)
			}
			for i, l := range top.Chain {
				if l.Role != c.roles[i] || l.Kind != c.kinds[i] {
					t.Errorf("link %d: %s %s, want %s %s", i, l.Role, l.Kind, c.roles[i], c.kinds[i])
				}
			}
			if c.kinds[0] == "" && top.Chain[0].Title != NoTrigger {
				t.Errorf("trigger title %q", top.Chain[0].Title)
			}
			if c.name == "a change on the mechanism's service is preferred" && top.Chain[0].Service != "store" {
				t.Errorf("trigger on %s, want the mechanism's service", top.Chain[0].Service)
			}
			for _, g := range out[1:] {
				if g.Chain != nil {
					t.Errorf("%s has a chain; only the top hypothesis does", g.Kind)
				}
			}
			if line := ChainLine(top.Chain); strings.Count(line, " → ") != len(c.roles)-1 {
				t.Errorf("line %q", line)
			}
		})
	}
}
