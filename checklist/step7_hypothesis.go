package checklist

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// hypothesisStep ranks every finding of steps 1-6 into root cause, contributing factors and symptoms,
// and tests each candidate against the trace sample (see Rank).
type hypothesisStep struct{}

func (hypothesisStep) Number() StepID { return StepHypothesis }
func (hypothesisStep) Name() string   { return "Test hypothesis" }

func (hypothesisStep) Run(ctx context.Context, inv *Investigation, prior map[StepID]*StepResult) StepResult {
	var all, others, step4 []investigate.Finding
	for n := StepSymptom; n <= StepDependencies; n++ {
		if r, ok := prior[n]; ok {
			all = append(all, r.Findings...)
			if n == StepTraces {
				step4 = r.Findings
			} else {
				others = append(others, r.Findings...)
			}
		}
	}
	var window, baseline []*investigate.TraceReport
	if tev, err := inv.Traces(ctx); err == nil {
		window, baseline = tev.Window, tev.Baseline
	}
	ranked := Rank(all, window)
	var first *investigate.Finding
	if len(ranked) > 0 && ranked[0].Tier == TierRootCause {
		first = &ranked[0]
	}
	st, n := stability(first, others, step4, window, baseline)
	res := StepResult{Outcome: Outcome{Ranked: ranked, Ranking: decide(ranked, st, n)}}
	attachChain(ranked)
	var top []investigate.Finding
	for _, f := range ranked {
		if f.Tier != TierSymptom && len(top) < 3 {
			top = append(top, f)
		}
	}
	res.Findings = top
	res.Outcome.Experiments = experiments(inv, top)
	switch {
	case len(top) == 0:
		res.Summary = "no hypothesis: nothing in the evidence stands out against the baseline"
	default:
		var parts []string
		for i, f := range top {
			p := fmt.Sprintf("%d. [%s %.2f] %s", i+1, f.Tier, f.Score, f.Title)
			if c, ok := f.Evidence["check"].(string); ok {
				p += " (" + c + ")"
			}
			parts = append(parts, p)
		}
		res.Summary = strings.Join(parts, "; ")
	}
	if inv.Sources.Prober != nil {
		var first *investigate.Finding
		if len(top) > 0 {
			first = &top[0]
		}
		pr, queries := runProbe(ctx, inv, first)
		res.Queries = append(res.Queries, queries...)
		res.Outcome.Probe = pr
		res.Summary += "; probe: " + pr.Verdict
	}
	if len(top) > 0 && top[0].Severity.Rank() >= investigate.SeverityLow.Rank() {
		res.Status = StatusOK
	}
	return res
}
