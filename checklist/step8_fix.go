package checklist

import (
	"context"
	"fmt"
	"strings"
)

// fixStep turns the top hypotheses into concrete recommendations. dbg never changes anything itself.
type fixStep struct{}

func (fixStep) Number() int  { return 8 }
func (fixStep) Name() string { return "Implement fix" }

func (fixStep) Run(_ context.Context, _ *Investigation, prior map[int]*StepResult) StepResult {
	h, ok := prior[7]
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
	res := StepResult{Status: StatusOK, Summary: strings.Join(recs, "; ")}
	res.Details = map[string]any{"recommendations": recs}
	return res
}
