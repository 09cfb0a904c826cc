package checklist

import (
	"context"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// TestRankMarginAndTies: the report carries the margin between the top two hypotheses; within
// TieMargin the answer names both and what would separate them; an answer that does not hold on most
// resamples is a likely cause, not the root cause.
func TestRankMarginAndTies(t *testing.T) {
	cases := []struct {
		name      string
		in        []investigate.Finding
		stability float64
		tier      string
		margin    float64
		tied      int
		answer    string
	}{
		{"a clear winner is the root cause",
			[]investigate.Finding{f("slow_query", "db", "SELECT a", 0.8), f("slow_query", "db", "SELECT b", 0.4)},
			1, TierRootCause, 0.4, 0, "Most likely cause: slow_query db"},
		{"two within the margin are both named",
			[]investigate.Finding{f("slow_query", "db", "SELECT a", 0.76), f("cpu_hotspot", "api", "encode", 0.75)},
			1, TierLikelyCause, 0.01, 2, "slow_query db or cpu_hotspot api; the evidence does not separate them"},
		{"unstable under resampling is a likely cause",
			[]investigate.Finding{f("slow_query", "db", "SELECT a", 0.8), f("slow_query", "db", "SELECT b", 0.4)},
			0.6, TierLikelyCause, 0.4, 0, "Likely cause: slow_query db"},
		{"alone, the margin is its score",
			[]investigate.Finding{f("slow_query", "db", "SELECT a", 0.7)},
			-1, TierRootCause, 0.7, 0, "Most likely cause"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ranked := Rank(c.in, nil)
			rk := decide(ranked, c.stability, 10)
			if rk == nil {
				t.Fatal("no ranking summary")
			}
			if ranked[0].Tier != c.tier {
				t.Errorf("tier %s, want %s", ranked[0].Tier, c.tier)
			}
			if d := rk.Margin - c.margin; d > 1e-6 || d < -1e-6 {
				t.Errorf("margin %.3f, want %.3f", rk.Margin, c.margin)
			}
			if len(rk.Tied) != c.tied {
				t.Errorf("tied %v, want %d", rk.Tied, c.tied)
			}
			rep := &Report{Service: "api", Findings: ranked, Ranking: rk}
			if a := answer(rep); !strings.Contains(a, c.answer) {
				t.Errorf("answer %q, want it to contain %q", a, c.answer)
			}
		})
	}
}

// TestRankStabilityOnResamples: a cause present in every slow trace holds on every resample, and the
// resampling is deterministic.
func TestRankStabilityOnResamples(t *testing.T) {
	tev, err := newInv(Sources{Traces: fakeTraces{}}).Traces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	win, base := tev.Window, tev.Baseline
	attr, _ := investigate.AttributeLatency(win, base)
	step4 := append(attr, investigate.RecurringProblems(win, base)...)
	ranked := Rank(step4, win)
	if ranked[0].Tier != TierRootCause {
		t.Fatalf("no root cause: %+v", ranked[0])
	}
	s1, n := stability(&ranked[0], nil, step4, win, base)
	s2, _ := stability(&ranked[0], nil, step4, win, base)
	if n != resamples || s1 != s2 {
		t.Fatalf("stability %v/%v over %d resamples: not deterministic", s1, s2, n)
	}
	if s1 < StableShare {
		t.Errorf("the planted cause holds in only %.0f%% of resamples", 100*s1)
	}
	if s, n := stability(&ranked[0], nil, step4, win[:3], base); s != -1 || n != 0 {
		t.Errorf("3 traces resampled: %v %d, want not measured", s, n)
	}
}
