package checklist

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// tracesStep: sample slow and failing traces of the service in the window and the baseline; attribute
// the latency increase to the operations whose critical-path time grew; find N+1 calls, fan-outs, error
// origins and slow queries that recur, weighing each by whether it is new since the baseline.
type tracesStep struct{}

func (tracesStep) Number() StepID { return StepTraces }
func (tracesStep) Name() string   { return "Examine traces" }

func (tracesStep) Run(ctx context.Context, inv *Investigation, _ map[StepID]*StepResult) StepResult {
	tev, err := inv.Traces(ctx)
	if err != nil {
		return sourceFailure(err)
	}
	res := StepResult{Queries: tev.Queries}
	if len(tev.Window) == 0 {
		res.Status = StatusWarn
		res.Summary = fmt.Sprintf("no traces of %s in the window; is the service name right and is it traced?", inv.Service)
		return res
	}
	attr, table := investigate.AttributeLatency(tev.Window, tev.Baseline)
	res.Findings = append(res.Findings, attr...)
	res.Findings = append(res.Findings, investigate.RecurringProblems(tev.Window, tev.Baseline)...)
	res.Findings = append(res.Findings, investigate.ContentionFindings(tev.Window, tev.Baseline)...)
	sq, notes := slowQueries(ctx, inv, tev)
	res.Findings = append(res.Findings, sq...)
	res.Outcome.Sample = &TraceSample{Attribution: table, WindowTraces: len(tev.Window), BaselineTraces: len(tev.Baseline)}
	notes = append([]string{fmt.Sprintf("%d window and %d baseline traces analysed", len(tev.Window), len(tev.Baseline))}, notes...)
	notes = append(notes, tev.Warnings...)
	for i, f := range investigate.RankFindings(res.Findings) {
		if i == 3 {
			break
		}
		notes = append(notes, f.Title)
	}
	res.Summary = strings.Join(notes, "; ")
	return res
}

// slowQueries ranks statement fingerprints over the window and baseline traces (the `dbg db` analysis)
// and keeps the slow_query findings; N+1 loops are already reported from the traces' structure. With a
// database configured, the slow statements' plans are read and their issues and index suggestions added
// to the evidence.
func slowQueries(ctx context.Context, inv *Investigation, tev traceEvidence) ([]investigate.Finding, []string) {
	all := make([]*investigate.Trace, 0, len(tev.Window)+len(tev.Baseline))
	for _, r := range append(append([]*investigate.TraceReport{}, tev.Window...), tev.Baseline...) {
		all = append(all, r.Tree.Trace)
	}
	opts := investigate.DefaultQueryOptions()
	opts.Window = inv.Window
	rep := investigate.AnalyzeQueries(all, opts)
	var out []investigate.Finding
	for _, f := range rep.Findings {
		if f.Kind != investigate.KindSlowQuery {
			continue
		}
		if !investigate.MaterialQueryChange(f.Evidence) {
			f.Score *= 0.5 // as slow as it always was: a standing problem, not this incident's cause
		}
		out = append(out, f)
	}
	var notes []string
	if inv.Sources.Database != nil && len(out) > 0 {
		var qs []investigate.QueryStat
		for _, q := range rep.Queries {
			for _, f := range out {
				if f.Evidence["statement"] == q.Statement {
					qs = append(qs, q)
					break
				}
			}
		}
		ex, err := inv.Sources.Database.ExplainQueries(ctx, qs, 3)
		if err != nil {
			notes = append(notes, "plans: "+err.Error())
			return out, notes
		}
		for _, r := range ex.Results {
			for i := range out {
				if out[i].Evidence["statement"] != r.Statement {
					continue
				}
				if r.Plan == nil {
					out[i].Evidence["plan"] = r.Status + ": " + r.Reason
					continue
				}
				var issues []string
				for _, is := range r.Plan.Issues {
					issues = append(issues, is.Node+": "+is.Detail)
				}
				out[i].Evidence["plan"] = r.Plan.Top
				out[i].Evidence["plan_issues"] = issues
				if len(r.Plan.Indexes) > 0 {
					out[i].Evidence["index_suggestion"] = r.Plan.Indexes
					out[i].Recommendation = "Add the index the plan is missing (dbg never runs it): " + strings.Join(r.Plan.Indexes, "; ")
					out[i].Score = investigate.Clamp01(out[i].Score + 0.1) // the database confirms why it is slow
				}
			}
		}
		notes = append(notes, fmt.Sprintf("explained %d statements on %s", len(ex.Results), ex.Server))
	}
	return out, notes
}
