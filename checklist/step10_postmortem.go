package checklist

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// postmortemStep gathers the timeline (changes, first bad request, first sign of each cause) for the
// postmortem draft that `--postmortem FILE.md` writes from the report.
type postmortemStep struct{}

func (postmortemStep) Number() StepID { return StepPostmortem }
func (postmortemStep) Name() string   { return "Document learnings" }

func (postmortemStep) Run(ctx context.Context, inv *Investigation, prior map[StepID]*StepResult) StepResult {
	var tl []TimelineEntry
	tl = append(tl, TimelineEntry{At: inv.Window.Start, What: "start of the investigated window"})
	for _, c := range inv.Sources.Changes {
		if !c.At.Before(inv.Window.BaselineStart) && !c.At.After(inv.Window.End) {
			tl = append(tl, TimelineEntry{At: c.At, What: fmt.Sprintf("change: %s %s %s → %s", c.Service, c.What, orDash(c.From), orDash(c.To))})
		}
	}
	if h, ok := prior[StepHypothesis]; ok {
		for _, f := range h.Outcome.Ranked {
			if f.Kind == investigate.KindRecentChange {
				if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(f.Evidence["at"])); err == nil {
					tl = append(tl, TimelineEntry{At: at, What: f.Title})
				}
			}
		}
	}
	if tev, err := inv.Traces(ctx); err == nil {
		var first *investigate.TraceReport
		for _, r := range tev.Window {
			if r.RequestFailed() && (first == nil || r.Start.Before(first.Start)) {
				first = r
			}
		}
		if first != nil {
			tl = append(tl, TimelineEntry{At: first.Start, What: "first failing request sampled: trace " + first.TraceID})
		}
	}
	tl = append(tl, TimelineEntry{At: inv.Window.End, What: "end of the investigated window"})
	sort.SliceStable(tl, func(i, j int) bool { return tl[i].At.Before(tl[j].At) })
	return StepResult{Status: StatusOK, Summary: fmt.Sprintf("timeline of %d events; write the draft with --postmortem FILE.md", len(tl)),
		Outcome: Outcome{Timeline: tl}}
}
