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

// TestEdgeChainsRankDeepestFirst: along frontend → checkout → payment → fraud-check, each edge stays
// below what explains it, so a modest slow span at the end of the chain is the root cause.
func TestEdgeChainsRankDeepestFirst(t *testing.T) {
	in := []investigate.Finding{
		f("dependency", "frontend", "POST /orders", 0.8, "peer", "checkout"),
		f("dependency", "checkout", "POST /charge", 0.75, "peer", "payment"),
		f("dependency", "payment", "POST /score", 0.75, "peer", "fraud"),
		f("slow_span", "fraud", "score model", 0.45),
	}
	out := Rank(in, nil)
	want := []string{"fraud", "payment", "checkout", "frontend"}
	for i, w := range want {
		if out[i].Service != w {
			t.Fatalf("rank %d is %s %s (%.2f), want %s; all %+v", i+1, out[i].Kind, out[i].Service, out[i].Score, w, out)
		}
	}
	if out[0].Tier != TierRootCause {
		t.Errorf("top tier %s", out[0].Tier)
	}
}

// TestRareErrorsApart: an error origin in 4 of 120 calls stays apart from the slow edge on the same
// operation (and the slow callee is the root cause); one in 52 of 120 is folded with it (the failing
// calls are the slow ones) and names it.
func TestRareErrorsApart(t *testing.T) {
	cases := []struct {
		name     string
		traces   int
		folded   bool
		rootKind string
	}{
		{"rare: kept apart, the slow callee is the cause", 4, false, "slow_span"},
		{"common: one hypothesis with the slow edge", 52, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []investigate.Finding{
				f("error_origin", "payment", "POST /score", 0.45, "traces", c.traces),
				f("dependency", "payment", "POST /score", 0.75, "peer", "fraud", "calls", 120),
				f("slow_span", "fraud", "score model", 0.55),
			}
			out := Rank(in, nil)
			for _, g := range out {
				if g.Kind != "error_origin" {
					continue
				}
				_, has := g.Evidence["also_seen_as"]
				if has != c.folded {
					t.Errorf("error origin folded=%v, want %v: %+v", has, c.folded, g)
				}
			}
			if c.rootKind != "" && out[0].Kind != c.rootKind {
				t.Errorf("root %s %s (%.2f); all %+v", out[0].Kind, out[0].Service, out[0].Score, out)
			}
		})
	}
}
