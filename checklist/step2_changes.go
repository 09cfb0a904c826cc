package checklist

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// changesStep: what changed. New service.version values in the traces of the window against the
// baseline, and deploy markers from --changes, each lined up against the first bad request.
type changesStep struct{}

func (changesStep) Number() StepID { return StepChanges }
func (changesStep) Name() string   { return "Check recent changes" }

func (changesStep) Run(ctx context.Context, inv *Investigation, _ map[StepID]*StepResult) StepResult {
	var res StepResult
	var notes []string
	tev, terr := inv.Traces(ctx)
	if terr == nil {
		res.Queries = append(res.Queries, tev.Queries...)
		res.Findings = append(res.Findings, investigate.VersionChanges(tev.Window, tev.Baseline)...)
	}
	for _, c := range inv.Sources.Changes {
		if c.At.Before(inv.Window.BaselineStart) || c.At.After(inv.Window.End) {
			continue
		}
		score := 0.35
		if !c.At.Before(inv.Window.Start) {
			score = 0.45 // deployed inside the incident window
		}
		res.Findings = append(res.Findings, investigate.Finding{
			Kind: investigate.KindRecentChange, Service: c.Service, Operation: c.What, Score: score,
			Title:          fmt.Sprintf("change at %s: %s %s %s → %s", c.At.UTC().Format(time.RFC3339), c.Service, c.What, orDash(c.From), orDash(c.To)),
			Evidence:       map[string]any{"what": c.What, "from": c.From, "to": c.To, "at": c.At.UTC().Format(time.RFC3339), "source": "--changes"},
			Recommendation: "If the symptom started after this change, roll it back first and investigate after.",
		})
	}
	if terr != nil && len(inv.Sources.Changes) == 0 {
		return sourceFailure(terr)
	}
	if terr != nil {
		notes = append(notes, "traces unavailable: "+terr.Error())
	}
	if len(res.Findings) == 0 {
		notes = append([]string{"no version change or deploy marker in the window or its baseline"}, notes...)
	} else {
		for _, f := range investigate.RankFindings(res.Findings) {
			notes = append(notes, f.Title)
		}
	}
	res.Summary = strings.Join(notes, "; ")
	return res
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
