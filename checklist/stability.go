package checklist

import (
	"fmt"
	"math/rand/v2"

	"github.com/dbgtool/dbg/investigate"
)

// TierLikelyCause is the top hypothesis when the evidence does not settle it: another is within the
// margin, or it does not hold on most resamples of the trace sample.
const TierLikelyCause = investigate.TierLikelyCause

// Ranking says how firmly the evidence picks the top hypothesis (the report's "ranking" object).
type Ranking struct {
	// Margin is the top candidate's score minus the second's (the top's own score when it is alone).
	Margin float64 `json:"margin"`
	// Tied are the candidates within TieMargin of the top, the top first; empty when it stands alone.
	Tied []FindingRef `json:"tied"`
	// Check is what would separate the tied candidates.
	Check string `json:"check,omitempty"`
	// Stability is the share of resamples of the trace sample whose top hypothesis is the same; Resamples
	// is how many were ranked (0: no trace sample to resample).
	Stability float64 `json:"stability"`
	Resamples int     `json:"resamples"`
}

// TieMargin is the score difference under which two hypotheses are not told apart: one more
// corroborating kind is worth 0.07 and a refutation check 40%, so a gap of a few hundredths is what adding
// a source or resampling the traces moves (0.76 against 0.75 flipped with the logs source).
const TieMargin = 0.05

// StableShare is the share of resamples on which the top hypothesis must hold to be called the root cause.
const StableShare = 0.8

// resamples is how many bootstrap resamples of the trace sample are ranked.
const resamples = 10

// decide fills the ranking summary from a ranked list and marks the top candidate a likely cause when
// another is within the margin or it is unstable. stability < 0 means it was not measured.
func decide(ranked []investigate.Finding, stability float64, n int) *Ranking {
	var cands []*investigate.Finding
	for i := range ranked {
		if ranked[i].Tier != TierSymptom {
			cands = append(cands, &ranked[i])
		}
	}
	if len(cands) == 0 || cands[0].Tier != TierRootCause {
		return nil
	}
	top := cands[0]
	rk := &Ranking{Margin: top.Score, Tied: []FindingRef{}, Stability: 1, Resamples: n}
	if len(cands) > 1 {
		rk.Margin = top.Score - cands[1].Score
	}
	rk.Margin = float64(int64(rk.Margin*1000+0.5)) / 1000
	for _, c := range cands[1:] {
		if top.Score-c.Score < TieMargin {
			if len(rk.Tied) == 0 {
				rk.Tied = append(rk.Tied, refOf(top))
			}
			rk.Tied = append(rk.Tied, refOf(c))
		}
	}
	if len(rk.Tied) > 0 {
		rk.Check = separate(top, cands[1])
	}
	if stability >= 0 {
		rk.Stability = float64(int64(stability*1000+0.5)) / 1000
	}
	if len(rk.Tied) > 0 || stability >= 0 && stability < StableShare {
		top.Tier = TierLikelyCause
	}
	return rk
}

func refOf(f *investigate.Finding) FindingRef {
	return FindingRef{Kind: f.Kind, Service: f.Service, Operation: f.Operation, Title: f.Title, Severity: f.Severity}
}

// separate says what evidence would tell two hypotheses apart.
func separate(a, b *investigate.Finding) string {
	if a.Service != b.Service {
		return fmt.Sprintf("compare %s and %s on their own (dbg checklist --service for each) and look at a slow trace through both", a.Service, b.Service)
	}
	return fmt.Sprintf("look at a slow trace of %s: which of %s and %s holds the time, or profile it", a.Service, a.Operation, b.Operation)
}

// stability ranks the findings again on deterministic bootstrap resamples of the trace sample (window
// and baseline drawn with replacement, a fixed seed): the trace step's latency attribution and recurring
// problems are recomputed on each, every other finding is kept. It returns the share of resamples whose
// top candidate is the same hypothesis as the full sample's, and how many were ranked; (-1, 0) when
// there is no sample to resample.
func stability(top *investigate.Finding, others []investigate.Finding, step4 []investigate.Finding, window, baseline []*investigate.TraceReport) (float64, int) {
	if top == nil || len(window) < 5 {
		return -1, 0
	}
	var kept []investigate.Finding // step 4's findings that are not recomputed (slow statements)
	for _, f := range step4 {
		if f.Kind == investigate.KindSlowQuery {
			kept = append(kept, f)
		}
	}
	want := findingKey(top)
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(xs []*investigate.TraceReport) []*investigate.TraceReport {
		out := make([]*investigate.TraceReport, len(xs))
		for i := range out {
			out[i] = xs[rng.IntN(len(xs))]
		}
		return out
	}
	holds := 0
	for range resamples {
		w, b := draw(window), baseline
		if len(baseline) > 0 {
			b = draw(baseline)
		}
		attr, _ := investigate.AttributeLatency(w, b)
		all := append(append(append(append([]investigate.Finding{}, others...), kept...), attr...), investigate.RecurringProblems(w, b)...)
		all = append(all, investigate.ContentionFindings(w, b)...)
		for _, f := range Rank(all, w) {
			if f.Tier != TierSymptom {
				if findingKey(&f) == want {
					holds++
				}
				break
			}
		}
	}
	return float64(holds) / resamples, resamples
}
