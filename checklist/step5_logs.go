package checklist

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// logsStep: the log lines of the sampled failing traces, and the error templates (Drain) that are new
// or surging in the window against the baseline, across the service and the services it calls.
type logsStep struct{}

func (logsStep) Number() StepID { return StepLogs }
func (logsStep) Name() string   { return "Correlate logs" }

func (logsStep) Run(ctx context.Context, inv *Investigation, _ map[StepID]*StepResult) StepResult {
	lev, err := inv.Logs(ctx)
	if err != nil {
		return sourceFailure(err)
	}
	res := StepResult{Queries: lev.Queries}
	m := investigate.NewMiner(investigate.DefaultDrainConfig())
	for i := range lev.Baseline {
		m.AddRecord(&lev.Baseline[i], true)
	}
	for i := range lev.Window {
		m.AddRecord(&lev.Window[i], false)
	}
	patterns := investigate.ComparePatterns(m, inv.Window, investigate.DefaultPatternOptions())
	res.Findings = investigate.PatternFindings(patterns)
	notes := []string{fmt.Sprintf("%d log lines in the window, %d in the baseline, %d templates", len(lev.Window), len(lev.Baseline), m.Len())}
	// Lines of the failing traces: what the code said when those requests failed.
	if tev, err := inv.Traces(ctx); err == nil {
		failing := map[string]bool{}
		for _, r := range tev.Window {
			if r.RequestFailed() {
				failing[strings.ToLower(strings.TrimLeft(r.TraceID, "0"))] = true
			}
		}
		n := 0
		for _, r := range lev.Window {
			if r.TraceID != "" && failing[strings.ToLower(strings.TrimLeft(r.TraceID, "0"))] {
				n++
			}
		}
		if len(failing) > 0 {
			notes = append(notes, fmt.Sprintf("%d lines belong to the %d failing traces sampled", n, len(failing)))
		}
	}
	top := patterns
	if len(top) > 10 {
		top = top[:10]
	}
	res.Outcome.Patterns = nonNil(top)
	for i, f := range investigate.RankFindings(res.Findings) {
		if i == 3 {
			break
		}
		notes = append(notes, f.Title)
	}
	res.Summary = strings.Join(notes, "; ")
	return res
}
