package checklist

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// logsStep: the log lines of the sampled failing traces (one query for all their trace IDs), and the
// error templates (Drain) that are new or surging in the window against the baseline, across the
// service and the services it calls. Each finding carries the query that finds its lines, in dbg's
// syntax and compiled for the backend.
type logsStep struct{}

func (logsStep) Number() StepID { return StepLogs }
func (logsStep) Name() string   { return "Correlate logs" }

// maxCorrelatedTraces caps the trace IDs of the one correlation query.
const maxCorrelatedTraces = 100

func (logsStep) Run(ctx context.Context, inv *Investigation, _ map[StepID]*StepResult) StepResult {
	lev, err := inv.Logs(ctx)
	if err != nil {
		return sourceFailure(err)
	}
	res := StepResult{Queries: lev.Queries}
	pm := investigate.NewPatternMiner(inv.Window, investigate.DefaultDrainConfig())
	for i := range lev.Baseline {
		pm.Add(&lev.Baseline[i], true)
	}
	for i := range lev.Window {
		pm.Add(&lev.Window[i], false)
	}
	mined := pm.Result(investigate.DefaultPatternOptions())
	patterns := mined.Patterns
	res.Findings = mined.Findings
	// The query that finds each template's lines, in the backend's own language (LogQL, query DSL, LogsQL).
	for i := range res.Findings {
		f := &res.Findings[i]
		expr, err := investigate.ParseLogQuery(fmt.Sprint(f.Evidence["query"]))
		if err != nil || expr == nil {
			continue
		}
		if bq, err := inv.explainLogs(ctx, investigate.LogQuery{Expr: expr, Start: inv.Window.Start, End: inv.Window.End}); err == nil {
			f.Evidence["backend_query"] = bq
		}
	}
	notes := []string{fmt.Sprintf("%d log lines in the window, %d in the baseline, %d templates", len(lev.Window), len(lev.Baseline), mined.Templates)}
	// Lines of the failing traces: what the code said when those requests failed, in one query (when
	// the trace source answers in time: the log step is not failed by another backend's silence).
	if tev, err, ok := inv.tracesWithin(ctx); ok && err == nil {
		var ids []string
		for _, r := range tev.Window {
			if r.RequestFailed() && r.TraceID != "" && !slices.Contains(ids, r.TraceID) {
				ids = append(ids, r.TraceID)
			}
		}
		slices.Sort(ids)
		if len(ids) > maxCorrelatedTraces {
			ids = ids[:maxCorrelatedTraces]
		}
		if len(ids) > 0 {
			alts := make([]*investigate.LogExpr, len(ids))
			for i, id := range ids {
				alts[i] = investigate.FieldEq(investigate.FieldTraceID, id)
			}
			q := investigate.LogQuery{Expr: investigate.Or(alts...), Start: inv.Window.Start, End: inv.Window.End, Limit: inv.Options.LogLimit}
			recs, qs, err := inv.readLogs(ctx, q)
			res.Queries = append(res.Queries, qs...)
			if err != nil {
				notes = append(notes, "the failing traces' lines could not be read: "+err.Error())
			} else {
				notes = append(notes, fmt.Sprintf("%d lines belong to the %d failing traces sampled", len(recs), len(ids)))
			}
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
