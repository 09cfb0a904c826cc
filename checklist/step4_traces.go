package checklist

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// tracesStep: sample slow and failing traces of the service in the window and the baseline; attribute
// the latency increase to the operations whose critical-path time grew; find N+1 calls, fan-outs, error
// origins and slow queries that recur, weighing each by whether it is new since the baseline.
type tracesStep struct{}

func (tracesStep) Number() int  { return 4 }
func (tracesStep) Name() string { return "Examine traces" }

func (tracesStep) Run(ctx context.Context, inv *Investigation, _ map[int]*StepResult) StepResult {
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
	attr, table := AttributeLatency(tev.Window, tev.Baseline)
	res.Findings = append(res.Findings, attr...)
	res.Findings = append(res.Findings, RecurringProblems(tev.Window, tev.Baseline)...)
	sq, notes := slowQueries(ctx, inv, tev)
	res.Findings = append(res.Findings, sq...)
	res.Details = map[string]any{"latency_attribution": table, "window_traces": len(tev.Window), "baseline_traces": len(tev.Baseline)}
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

// AttributionRow is one operation's critical-path time per request in the window and the baseline.
type AttributionRow struct {
	Service      string  `json:"service"`
	Operation    string  `json:"operation"`
	WindowMs     float64 `json:"window_ms"`   // mean critical-path self time per request
	BaselineMs   float64 `json:"baseline_ms"` // the same in the baseline
	DeltaMs      float64 `json:"delta_ms"`
	ShareOfDelta float64 `json:"share_of_delta"`
	Presence     float64 `json:"presence"` // share of window traces with it on the critical path
	Peer         string  `json:"peer,omitempty"`
}

// AttributeLatency explains the change in mean request duration between baseline and window by the
// change in each operation's mean critical-path self time. Operations that explain a large share of a
// real increase become slow_span findings. Without a baseline it ranks operations by their share of the
// window's critical path instead, with lower confidence.
func AttributeLatency(window, baseline []*investigate.TraceReport) ([]investigate.Finding, []AttributionRow) {
	type acc struct {
		self     float64
		traces   int
		peer     string
		spanIDs  []string
		traceIDs []string
	}
	collect := func(reps []*investigate.TraceReport) (map[[2]string]*acc, float64) {
		m := map[[2]string]*acc{}
		total := 0.0
		for _, r := range reps {
			total += r.DurationMs
			seen := map[[2]string]bool{}
			for _, p := range r.CriticalPath {
				k := [2]string{p.Service, p.Operation}
				a := m[k]
				if a == nil {
					a = &acc{}
					m[k] = a
				}
				a.self += p.SelfMs
				if !seen[k] {
					seen[k] = true
					a.traces++
					if len(a.traceIDs) < 5 {
						a.traceIDs = append(a.traceIDs, r.TraceID)
						a.spanIDs = append(a.spanIDs, p.SpanID)
					}
					if a.peer == "" {
						if i, ok := r.Tree.Lookup(p.SpanID); ok {
							if s := r.Tree.Span(i); s.Kind == investigate.KindClient {
								a.peer = investigate.Peer(s)
							}
						}
					}
				}
			}
		}
		return m, total
	}
	wm, wTotal := collect(window)
	bm, bTotal := collect(baseline)
	nw, nb := float64(len(window)), float64(len(baseline))
	meanW := wTotal / nw
	var rows []AttributionRow
	for k, a := range wm {
		row := AttributionRow{Service: k[0], Operation: k[1], WindowMs: round(a.self / nw), Presence: round(float64(a.traces) / nw), Peer: a.peer}
		if nb > 0 {
			if b, ok := bm[k]; ok {
				row.BaselineMs = round(b.self / nb)
			}
		}
		row.DeltaMs = round(row.WindowMs - row.BaselineMs)
		rows = append(rows, row)
	}
	var out []investigate.Finding
	emit := func(row AttributionRow, score float64, title string, ev map[string]any) {
		a := wm[[2]string{row.Service, row.Operation}]
		ev["self_ms"], ev["duration_ms"], ev["peer"] = row.WindowMs, round(meanW), row.Peer
		ev["span_ids"], ev["presence"] = a.spanIDs, row.Presence
		rec := "Look at what this operation does on its own (no child span covers the time): profile it or add spans."
		if row.Peer != "" {
			rec = fmt.Sprintf("The time is spent waiting on %s: check its latency and saturation; set a timeout and a circuit breaker on the call.", row.Peer)
		}
		out = append(out, investigate.Finding{Kind: investigate.KindSlowSpan, Service: row.Service, Operation: row.Operation,
			Score: clamp(score), Title: title, Evidence: ev, TraceIDs: a.traceIDs, Recommendation: rec})
	}
	if nb > 0 {
		meanB := bTotal / nb
		delta := meanW - meanB
		for i := range rows {
			if delta > 0 {
				rows[i].ShareOfDelta = round(rows[i].DeltaMs / delta)
			}
		}
		sort.Slice(rows, func(i, j int) bool {
			return rows[i].DeltaMs > rows[j].DeltaMs || rows[i].DeltaMs == rows[j].DeltaMs && rows[i].Service+rows[i].Operation < rows[j].Service+rows[j].Operation
		})
		if delta >= 5 && meanW >= 1.2*meanB {
			for _, row := range rows {
				if row.ShareOfDelta < 0.15 || row.DeltaMs < 5 {
					continue
				}
				share := min(row.ShareOfDelta, 1)
				title := fmt.Sprintf("%s %s explains %.0f%% of the latency increase: %.0fms per request on the critical path, was %.0fms",
					row.Service, row.Operation, share*100, row.WindowMs, row.BaselineMs)
				emit(row, 0.25+0.6*share*row.Presence, title, map[string]any{
					"share": round(share), "baseline_self_ms": row.BaselineMs, "delta_ms": row.DeltaMs,
					"mean_request_ms": round(meanW), "baseline_mean_request_ms": round(meanB)})
			}
		}
	} else {
		sort.Slice(rows, func(i, j int) bool {
			return rows[i].WindowMs > rows[j].WindowMs || rows[i].WindowMs == rows[j].WindowMs && rows[i].Service+rows[i].Operation < rows[j].Service+rows[j].Operation
		})
		for _, row := range rows {
			share := row.WindowMs / max(meanW, 1e-9)
			if share < 0.3 || len(out) >= 3 {
				continue
			}
			title := fmt.Sprintf("%s %s takes %.0f%% of request time on the critical path (no baseline to compare)", row.Service, row.Operation, share*100)
			emit(row, 0.15+0.3*share, title, map[string]any{"share": round(share)})
		}
	}
	if len(rows) > 15 {
		rows = rows[:15]
	}
	if rows == nil {
		rows = []AttributionRow{}
	}
	return out, rows
}

// RecurringProblems aggregates N+1s, fan-outs and error origins across the window's traces and weighs
// each by novelty: one that recurs as often in the baseline is a standing problem, not this incident.
func RecurringProblems(window, baseline []*investigate.TraceReport) []investigate.Finding {
	aw := investigate.AggregateReports(window, investigate.AggregateOptions{})
	ab := investigate.AggregateReports(baseline, investigate.AggregateOptions{})
	key := func(f investigate.Finding) string {
		k := f.Kind + "\x00" + f.Service + "\x00" + f.Operation
		for _, e := range []string{"statement", "route", "exception_type"} {
			if v, ok := f.Evidence[e].(string); ok {
				k += "\x00" + v
			}
		}
		return k
	}
	baseShare := map[string]float64{}
	for _, f := range ab.Findings {
		baseShare[key(f)] = num(f.Evidence["trace_share"])
	}
	var out []investigate.Finding
	for _, f := range aw.Findings {
		switch f.Kind {
		case investigate.KindNPlusOne, investigate.KindFanout, investigate.KindErrorOrigin:
		default:
			continue
		}
		ws := num(f.Evidence["trace_share"])
		bs, inBase := baseShare[key(f)]
		novelty := 1.0
		if len(baseline) > 0 && ws > 0 {
			novelty = clamp(1 - bs/ws)
		} else if len(baseline) == 0 {
			novelty = 0.5 // unknown
		}
		f.Evidence["baseline_trace_share"] = round(bs)
		f.Evidence["new"] = len(baseline) > 0 && !inBase
		f.Score = clamp(f.Score * (0.35 + 0.65*novelty))
		if f.Kind == investigate.KindErrorOrigin && f.Evidence["new"] == true {
			f.Title += " (new since the baseline)"
		}
		out = append(out, f)
	}
	return out
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// materialQueryChange reports whether a slow statement changed against the baseline enough to be this
// incident's: new, run more often per request, or slower at p99 by 1.5x AND by at least 20 ms (the
// threshold of a slower dependency edge). A few milliseconds more at p99 over a few dozen calls is the
// noise of a small sample, not a change.
func materialQueryChange(ev map[string]any) bool {
	switch c, _ := ev["change"].(string); c {
	case investigate.ChangeNew, investigate.ChangeMoreCalls:
		return true
	case investigate.ChangeSlower:
		return num(ev["p99_ms"])-num(ev["baseline_p99_ms"]) >= 20
	}
	return false
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
		if !materialQueryChange(f.Evidence) {
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
					out[i].Score = clamp(out[i].Score + 0.1) // the database confirms why it is slow
				}
			}
		}
		notes = append(notes, fmt.Sprintf("explained %d statements on %s", len(ex.Results), ex.Server))
	}
	return out, notes
}
