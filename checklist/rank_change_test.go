package checklist

import (
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// TestRankMergeKeyIncludesPeer: findings on one operation name fold into one hypothesis only when they
// describe the same downstream; a folded finding keeps its own score.
func TestRankMergeKeyIncludesPeer(t *testing.T) {
	cases := []struct {
		name     string
		in       []investigate.Finding
		rootKind string
		rootPeer string
		maxScore map[string]float64 // kind → the highest score it may have after ranking
	}{
		{"two client spans of one name to different downstreams never merge",
			[]investigate.Finding{
				f("dependency", "web", "HTTP GET", 0.8, "peer", "accounts"),
				f("fanout", "web", "HTTP GET", 0.09, "peer", "routes", "new", false, "baseline_trace_share", 0.67, "trace_share", 0.7),
			},
			"dependency", "accounts", map[string]float64{"fanout": 0.09 + 0.07}}, // + corroboration by one other kind
		{"a finding without a peer does not join when the operation has several downstreams",
			[]investigate.Finding{
				f("dependency", "web", "HTTP GET", 0.8, "peer", "accounts"),
				f("slow_span", "web", "HTTP GET", 0.5, "peer", "routes"),
				f("fanout", "web", "HTTP GET", 0.09),
			},
			"dependency", "accounts", map[string]float64{"fanout": 0.09 + 0.14}}, // + two other kinds
		{"the same downstream folds, the specific kind keeps its own score",
			[]investigate.Finding{
				f("slow_span", "inv", "SELECT items", 0.9, "peer", "postgresql"),
				f("n_plus_one", "inv", "SELECT items", 0.7, "peer", "postgresql"),
			},
			"n_plus_one", "postgresql", map[string]float64{"n_plus_one": 0.7 + 0.07, "slow_span": (0.9 + 0.07) * 0.6}}, // + corroboration by the other kind
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Rank(c.in, nil)
			if out[0].Tier != TierRootCause || out[0].Kind != c.rootKind || peerOf(&out[0]) != c.rootPeer {
				t.Fatalf("first %s %s peer %q (%s), want root cause %s peer %q", out[0].Kind, out[0].Operation, peerOf(&out[0]), out[0].Tier, c.rootKind, c.rootPeer)
			}
			for _, g := range out {
				if lim, ok := c.maxScore[g.Kind]; ok && g.Score > lim+1e-9 {
					t.Errorf("%s scored %.3f, above its own %.3f", g.Kind, g.Score, lim)
				}
			}
		})
	}
}

// TestRankChangeOutranksPresence: what explains the change against the baseline ranks above what was
// there before as much as now.
func TestRankChangeOutranksPresence(t *testing.T) {
	cases := []struct {
		name     string
		in       []investigate.Finding
		rootKind string
		rootSvc  string
	}{
		{"latency increase explained beats a standing fan-out",
			[]investigate.Finding{
				f("fanout", "web", "GET /x", 0.8, "new", false, "baseline_trace_share", 0.67, "trace_share", 0.7),
				f("slow_span", "accounts", "SELECT", 0.7, "share", 0.96, "delta_ms", 2400.0),
			},
			"slow_span", "accounts"},
		{"a new error origin beats a standing N+1",
			[]investigate.Finding{
				f("n_plus_one", "drivers", "GET", 0.9, "new", false, "baseline_trace_share", 0.9, "trace_share", 0.95),
				f("error_origin", "pay", "POST", 0.5, "new", true, "baseline_trace_share", 0.0, "trace_share", 0.4),
			},
			"error_origin", "pay"},
		{"a pattern that grew since the baseline is not standing",
			[]investigate.Finding{
				f("n_plus_one", "drivers", "GET", 0.9, "new", false, "baseline_trace_share", 0.3, "trace_share", 0.95),
				f("slow_span", "accounts", "SELECT", 0.7, "share", 0.5, "delta_ms", 50.0),
			},
			"n_plus_one", "drivers"},
		{"with nothing changed, the standing finding stays first",
			[]investigate.Finding{
				f("n_plus_one", "drivers", "GET", 0.4, "new", false, "baseline_trace_share", 0.9, "trace_share", 0.9),
			},
			"n_plus_one", "drivers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Rank(c.in, nil)
			if out[0].Kind != c.rootKind || out[0].Service != c.rootSvc {
				t.Fatalf("first %s %s (%.2f), want %s %s", out[0].Kind, out[0].Service, out[0].Score, c.rootKind, c.rootSvc)
			}
		})
	}
}

// TestRankContentionIsTheMechanism: a wait for a lock or a pool on the operation a slow span and an
// edge describe is their mechanism.
func TestRankContentionIsTheMechanism(t *testing.T) {
	out := Rank([]investigate.Finding{
		f("slow_span", "store", "SQL SELECT", 0.85, "peer", "mysql", "delta_ms", 2400.0),
		f("dependency", "web", "HTTP GET", 0.8, "peer", "store"),
		f("contention", "store", "SQL SELECT", 0.75, "resource", "lock", "wait_ms", 2450.0),
	}, nil)
	if out[0].Kind != "contention" || out[0].Tier != TierRootCause {
		t.Fatalf("first %s %s (%s %.2f), want the contention as root cause", out[0].Kind, out[0].Service, out[0].Tier, out[0].Score)
	}
}

// TestRankSurgeNormalisedByTraffic: a log template that grew by the traffic ratio is load, not a surge;
// one that grew far more, or a new one, keeps its score.
func TestRankSurgeNormalisedByTraffic(t *testing.T) {
	cases := []struct {
		name        string
		count, base float64
		traffic     float64
		lowered     bool
	}{
		{"grew by the traffic ratio", 330, 100, 3.3, true},
		{"grew ten times with traffic 3.3x", 1000, 100, 3.3, false},
		{"new pattern", 50, 0, 3.3, false},
		{"no traffic change", 330, 100, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []investigate.Finding{f("log_pattern", "web", "", 0.5, "count", c.count, "baseline_count", c.base, "template", "served <_>")}
			if c.traffic > 0 {
				in = append(in, f("traffic_spike", "web", "GET /", 0.4, "ratio", c.traffic))
			}
			var lp investigate.Finding
			for _, g := range Rank(in, nil) {
				if g.Kind == "log_pattern" {
					lp = g
				}
			}
			if got := lp.Evidence["tracks_traffic"] != nil; got != c.lowered {
				t.Fatalf("tracks_traffic %v (score %.2f), want %v", lp.Evidence["tracks_traffic"], lp.Score, c.lowered)
			}
			if c.lowered && lp.Score > 0.5*0.6 {
				t.Errorf("score %.2f not lowered", lp.Score)
			}
		})
	}
}

// TestRankInFlightGrowthYieldsToTheSlowCallBelow: goroutines that grow while a call below got slower
// are the waiting (Little's law), not its cause.
func TestRankInFlightGrowthYieldsToTheSlowCallBelow(t *testing.T) {
	out := Rank([]investigate.Finding{
		f("saturation", "web", "", 0.55, "resource", "goroutines"),
		f("dependency", "web", "POST /orders", 0.47, "peer", "orders"),
		f("dependency", "orders", "POST /score", 0.49, "peer", "scoring"),
		f("slow_span", "scoring", "score model", 0.548, "delta_ms", 116.0),
		f("latency_hotspot", "web", "/checkout", 0.78),
	}, nil)
	if out[0].Kind != "slow_span" || out[0].Service != "scoring" {
		t.Fatalf("first %s %s (%.2f), want the slow span below", out[0].Kind, out[0].Service, out[0].Score)
	}
	heap := Rank([]investigate.Finding{
		f("saturation", "web", "", 0.7, "resource", "heap"),
		f("slow_span", "web", "GET /", 0.4, "delta_ms", 10.0),
	}, nil)
	if heap[0].Kind != "saturation" {
		t.Errorf("a heap near its limit yielded: first %s", heap[0].Kind)
	}
}
