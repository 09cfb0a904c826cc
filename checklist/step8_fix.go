package checklist

import (
	"context"
	"fmt"
	"strings"
)

// fixStep turns the top hypotheses into concrete recommendations. dbg never changes anything itself.
type fixStep struct{}

func (fixStep) Number() StepID { return StepFix }
func (fixStep) Name() string   { return "Implement fix" }

func (fixStep) Run(_ context.Context, _ *Investigation, prior map[StepID]*StepResult) StepResult {
	h, ok := prior[StepHypothesis]
	if !ok || len(h.Findings) == 0 {
		return StepResult{Status: StatusOK, Summary: "nothing to fix: no hypothesis"}
	}
	var recs []string
	for i, f := range h.Findings {
		if f.Recommendation == "" {
			continue
		}
		recs = append(recs, fmt.Sprintf("%d. %s: %s", i+1, f.Title, f.Recommendation))
	}
	return StepResult{Status: StatusOK, Summary: strings.Join(recs, "; "), Outcome: Outcome{Recommendations: nonNil(recs)}}
}
