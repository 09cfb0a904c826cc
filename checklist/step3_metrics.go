package checklist

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// metricsStep: the golden signals (latency, traffic, errors, saturation) of the service and its
// endpoints against the baseline — the same analysis as `dbg hotspots` — plus resource findings from
// profiles (leaks, CPU) when a profile source is configured.
type metricsStep struct{}

func (metricsStep) Number() StepID { return StepMetrics }
func (metricsStep) Name() string   { return "Review metrics" }

func (metricsStep) Run(ctx context.Context, inv *Investigation, _ map[StepID]*StepResult) StepResult {
	var res StepResult
	var notes []string
	mev, merr := inv.Metrics(ctx)
	pev, perr := inv.Profiles(ctx)
	if merr != nil && perr != nil {
		r := sourceFailure(merr)
		if !isNotConfigured(perr) {
			r = sourceFailure(perr)
			r.Summary = "metrics: " + sourceFailure(merr).Summary + "; profiles: " + r.Summary
		}
		return r
	}
	if merr == nil {
		rep := mev.Report
		res.Findings = append(res.Findings, rep.Findings...)
		res.Queries = append(res.Queries, mev.Queries...)
		res.Outcome.Tables = &rep.Tables
		for _, w := range rep.Warnings {
			notes = append(notes, w)
		}
		notes = append([]string{fmt.Sprintf("%d metric findings (convention: %s)", len(rep.Findings), orDash(rep.Tables.Convention))}, notes...)
	} else {
		notes = append(notes, "metrics: "+sourceFailure(merr).Summary)
	}
	if perr == nil {
		res.Findings = append(res.Findings, pev.Findings...)
		res.Queries = append(res.Queries, pev.Queries...)
		notes = append(notes, fmt.Sprintf("%d profile findings", len(pev.Findings)))
	} else if !isNotConfigured(perr) {
		notes = append(notes, "profiles: "+sourceFailure(perr).Summary)
		res.Status = StatusWarn
	}
	if merr != nil && !isNotConfigured(merr) {
		res.Status = StatusFail
	}
	res.Summary = strings.Join(notes, "; ")
	return res
}

func isNotConfigured(err error) bool { return errors.Is(err, errNotConfigured) }
