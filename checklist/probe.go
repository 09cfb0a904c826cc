package checklist

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbgtool/dbg/chaos"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/probe"
)

// Prober sends controlled traffic to the service (--probe URL, through the probe engine that `dbg probe`
// uses): every request carries a fresh X-Correlation-ID and traceparent.
type Prober interface {
	Probe(ctx context.Context) (*probe.Result, error)
}

// ProbeReport is what step 7 learned from the probe: the traffic's summary, the traces and log lines
// found by its correlation IDs, and whether they went through the top hypothesis.
type ProbeReport struct {
	Result   *probe.Result `json:"result"`
	Traces   []string      `json:"traces"`
	LogLines int           `json:"log_lines"`
	Verdict  string        `json:"verdict"`
}

// probeLookups bounds the correlation IDs looked up in traces and logs: a few requests show whether
// the probe's traffic goes through the hypothesis; looking up every one would be a query per request.
const probeLookups = 5

// probeWait is how long telemetry takes to arrive after a request (exporter batches, log shipping).
var probeWait = 5 * time.Second

// runProbe sends the probe, waits for its telemetry, and tests the top hypothesis on the probe's own
// requests: a cause on the request path should show up in them.
func runProbe(ctx context.Context, inv *Investigation, top *investigate.Finding) (*ProbeReport, []string) {
	res, err := inv.Sources.Prober.Probe(ctx)
	rep := &ProbeReport{Result: res, Traces: []string{}}
	queries := []string{}
	if err != nil {
		rep.Verdict = "probe failed: " + err.Error()
		return rep, queries
	}
	select {
	case <-time.After(probeWait):
	case <-ctx.Done():
		rep.Verdict = "probe sent; the deadline ran out before its telemetry arrived"
		return rep, queries
	}
	ids := make([]string, 0, probeLookups)
	for i := 0; i < min(res.Requests, probeLookups); i++ {
		ids = append(ids, res.CorrelationPrefix+strconv.Itoa(i))
	}
	summary := fmt.Sprintf("%d probe requests: p50 %.0fms, p99 %.0fms, success %.0f%%", res.Requests, res.Latency.P50Ms, res.Latency.P99Ms, res.SuccessRatio*100)
	if inv.Sources.Logs != nil {
		// One query for every probe's correlation ID.
		alts := make([]*investigate.LogExpr, len(ids))
		for i, id := range ids {
			alts[i] = investigate.FieldEq(investigate.FieldCorrelationID, id)
		}
		if len(alts) > 0 {
			recs, q, err := inv.readLogs(ctx, investigate.LogQuery{Expr: investigate.Or(alts...), Start: inv.Window.Start, End: inv.Now().Add(time.Minute), Limit: 1000 * len(alts)})
			queries = append(queries, q...)
			if err == nil {
				rep.LogLines += len(recs)
			}
		}
		summary += fmt.Sprintf("; %d log lines carry the correlation IDs of %d of them", rep.LogLines, len(ids))
	}
	through := 0
	if inv.Sources.Traces != nil {
		for _, id := range ids {
			q := investigate.TraceQuery{Service: inv.Service, Start: inv.Now().Add(-10 * time.Minute), End: inv.Now().Add(time.Minute), Limit: 5,
				Tags: map[string]string{"correlation_id": id}}
			ts, err := inv.Sources.Traces.SearchTraces(ctx, q)
			queries = append(queries, describeTraceQuery(q)+" tag correlation_id="+id)
			if err != nil {
				continue
			}
			for _, t := range ts {
				rep.Traces = append(rep.Traces, t.ID)
				if top != nil && traceHas(t, top.Service, top.Operation) {
					through++
				}
			}
		}
	}
	switch {
	case top == nil:
		rep.Verdict = summary
	case len(rep.Traces) == 0:
		rep.Verdict = summary + "; no probe trace found to test the hypothesis on"
	case through > 0:
		rep.Verdict = fmt.Sprintf("%s; %d of %d probe traces go through %s %s: consistent with the hypothesis", summary, through, len(rep.Traces), top.Service, top.Operation)
	default:
		rep.Verdict = fmt.Sprintf("%s; none of the %d probe traces goes through %s %s: the hypothesis does not explain these requests", summary, len(rep.Traces), top.Service, top.Operation)
	}
	return rep, queries
}

func traceHas(t *investigate.Trace, service, op string) bool {
	for i := range t.Spans {
		s := &t.Spans[i]
		if s.Service == service && (op == "" || s.Operation == op || strings.HasPrefix(op, "service.version")) {
			return true
		}
	}
	return false
}

// ProbeEvidence is step 9's traffic evidence (--verify-probe): a `dbg probe -o json` result taken after
// the fix and, when given, one taken during the incident (--verify-probe-before).
type ProbeEvidence struct {
	After, Before *probe.Result
}

// ProbeVerification is what step 9 concluded from the probes.
type ProbeVerification struct {
	After    *probe.Result  `json:"after"`
	Before   *probe.Result  `json:"before,omitempty"`
	Gate     *probe.Verdict `json:"gate,omitempty"` // the after-probe's own --expect, or the comparison
	Resolved bool           `json:"resolved"`
	Summary  string         `json:"summary"`
}

// verifyByProbe judges a fix by traffic. The after-probe's own --expect verdict, when it has one, is
// the user's SLO and decides. With a before-probe the fix must be no worse on any gate measure (the
// same rule as `dbg probe --compare`) and better beyond noise on one of them: p99 down by more than
// the compare tolerance, or the error ratio down by more than a point. Without either, a probe with no
// failures is evidence of health but not of a fix, and says so.
func verifyByProbe(pe *ProbeEvidence) *ProbeVerification {
	if pe == nil || pe.After == nil {
		return nil
	}
	a := pe.After
	pv := &ProbeVerification{After: a, Before: pe.Before}
	figures := func(r *probe.Result) string {
		return fmt.Sprintf("p99 %.0fms, errors %.1f%% over %d requests", r.Latency.P99Ms, (1-r.SuccessRatio)*100, r.Requests)
	}
	switch {
	case a.Verdict != nil:
		pv.Gate, pv.Resolved = a.Verdict, a.Verdict.Pass
		pv.Summary = fmt.Sprintf("probe after the fix (%s) %s its own gate", figures(a), map[bool]string{true: "passes", false: "fails"}[a.Verdict.Pass])
	case pe.Before != nil:
		b := pe.Before
		pv.Gate = probe.CompareTo(a, b)
		faster := a.Latency.P99Ms < b.Latency.P99Ms/(1+probe.CompareLatencyShare)-probe.CompareLatencySlack
		fewerErrors := (1 - a.SuccessRatio) < (1-b.SuccessRatio)-probe.CompareErrorPoints
		pv.Resolved = pv.Gate.Pass && (faster || fewerErrors)
		verdict := "better beyond noise: the fix shows in the traffic"
		switch {
		case !pv.Gate.Pass:
			verdict = "worse than before the fix"
		case !pv.Resolved:
			verdict = "no measurable change: the fix does not show in the traffic"
		}
		pv.Summary = fmt.Sprintf("probe before (%s) → after (%s): %s", figures(b), figures(a), verdict)
	default:
		pv.Resolved = a.SuccessRatio == 1
		pv.Summary = fmt.Sprintf("probe after the fix: %s (no gate and no earlier probe: evidence of health, not of a fix)", figures(a))
	}
	return pv
}

// addProbeVerification puts the probe's judgement into step 9's result.
func addProbeVerification(res *StepResult, pv *ProbeVerification) {
	res.Outcome.ProbeVerification = pv
	if res.Summary == "" {
		res.Summary = pv.Summary
	} else {
		res.Summary += "; " + pv.Summary
	}
	if res.Status == "" || res.Status == StatusSkipped {
		res.Status = StatusOK
	}
	if !pv.Resolved {
		res.Status = StatusWarn
	}
}

// experiments plans the fault-injection experiment that would confirm each top hypothesis (the
// `dbg chaos plan` entry), and notes it in the hypothesis's evidence next to its refutation check.
func experiments(inv *Investigation, top []investigate.Finding) *chaos.Plan {
	if len(top) == 0 {
		return nil
	}
	o := chaos.DefaultPlanOptions()
	o.Service, o.Top, o.ProbeURL = inv.Service, len(top), inv.Options.ProbeURL
	plan := chaos.NewPlan(top, o)
	same := func(h chaos.Hypothesis, f *investigate.Finding) bool {
		return h.Kind == f.Kind && h.Service == f.Service && h.Operation == f.Operation
	}
	for i := range top {
		f := &top[i]
		if f.Evidence == nil {
			f.Evidence = map[string]any{}
		}
		for _, e := range plan.Experiments {
			if same(e.Hypothesis, f) {
				f.Evidence["experiment"] = fmt.Sprintf("%s: %s; expect %s (dbg chaos plan, %s %s)", e.ID, e.Inject, e.Observe[0], e.Manifest.Kind, e.Manifest.Metadata.Name)
			}
		}
		for _, s := range plan.Skipped {
			if same(s.Hypothesis, f) {
				f.Evidence["experiment"] = "none by fault injection: " + s.Reason
			}
		}
	}
	return plan
}
