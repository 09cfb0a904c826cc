package checklist

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// dependenciesStep: the downstream graph from client spans, each edge's error ratio and latency in the
// window against the baseline; plus circuit-breaker and bulkhead saturation from the metrics.
type dependenciesStep struct{}

func (dependenciesStep) Number() int  { return 6 }
func (dependenciesStep) Name() string { return "Inspect dependencies" }

func (dependenciesStep) Run(ctx context.Context, inv *Investigation, _ map[int]*StepResult) StepResult {
	tev, err := inv.Traces(ctx)
	if err != nil {
		return sourceFailure(err)
	}
	res := StepResult{Queries: tev.Queries}
	edges, findings := Dependencies(tev.Window, tev.Baseline)
	res.Findings = findings
	if mev, err := inv.Metrics(ctx); err == nil {
		for _, f := range mev.Report.Findings {
			r, _ := f.Evidence["resource"].(string)
			if f.Kind == investigate.KindSaturation && (strings.Contains(r, "circuit") || strings.Contains(r, "bulkhead") || strings.Contains(r, "pool")) {
				res.Findings = append(res.Findings, f)
			}
		}
	}
	res.Details = map[string]any{"edges": edges}
	notes := []string{fmt.Sprintf("%d downstream edges seen in the traces", len(edges))}
	for i, f := range investigate.RankFindings(res.Findings) {
		if i == 3 {
			break
		}
		notes = append(notes, f.Title)
	}
	res.Summary = strings.Join(notes, "; ")
	return res
}

// Edge is one caller → downstream pair and its figures.
type Edge struct {
	Caller             string  `json:"caller"`
	Peer               string  `json:"peer"`
	Calls              int     `json:"calls"`
	ErrorRatio         float64 `json:"error_ratio"`
	P99Ms              float64 `json:"p99_ms"`
	BaselineCalls      int     `json:"baseline_calls"`
	BaselineErrorRatio float64 `json:"baseline_error_ratio"`
	BaselineP99Ms      float64 `json:"baseline_p99_ms"`
}

type edgeAcc struct {
	calls, errs int
	durs        []float64
	traceIDs    []string
	op          string
}

// Dependencies builds the service graph from client spans (the peer is the called span's service when
// it is traced, else the peer attributes) and reports edges that fail or slow down against the baseline.
func Dependencies(window, baseline []*investigate.TraceReport) ([]Edge, []investigate.Finding) {
	collect := func(reps []*investigate.TraceReport) map[[2]string]*edgeAcc {
		m := map[[2]string]*edgeAcc{}
		for _, r := range reps {
			t := r.Tree
			for _, i := range t.Order {
				s := t.Span(i)
				if s.Kind != investigate.KindClient && s.Kind != investigate.KindProducer {
					continue
				}
				peer := ""
				isErr := r.IsError[i]
				for _, c := range t.Children(i) {
					if cs := t.Span(c); cs.Service != s.Service {
						peer = cs.Service
						isErr = isErr || r.IsError[c]
						break
					}
				}
				if peer == "" {
					peer = investigate.Peer(s)
				}
				if peer == "" || peer == s.Service {
					continue
				}
				k := [2]string{s.Service, peer}
				a := m[k]
				if a == nil {
					a = &edgeAcc{op: s.Operation}
					m[k] = a
				}
				a.calls++
				if isErr {
					a.errs++
					if len(a.traceIDs) < 5 && (len(a.traceIDs) == 0 || a.traceIDs[len(a.traceIDs)-1] != r.TraceID) {
						a.traceIDs = append(a.traceIDs, r.TraceID)
					}
				}
				a.durs = append(a.durs, float64(s.Duration.Microseconds())/1000)
			}
		}
		return m
	}
	wm, bm := collect(window), collect(baseline)
	var edges []Edge
	var out []investigate.Finding
	keys := make([][2]string, 0, len(wm))
	for k := range wm {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		a := wm[k]
		sort.Float64s(a.durs)
		e := Edge{Caller: k[0], Peer: k[1], Calls: a.calls, ErrorRatio: round(float64(a.errs) / float64(a.calls)), P99Ms: round(quantile(a.durs, 0.99))}
		if b, ok := bm[k]; ok {
			sort.Float64s(b.durs)
			e.BaselineCalls = b.calls
			e.BaselineErrorRatio = round(float64(b.errs) / float64(b.calls))
			e.BaselineP99Ms = round(quantile(b.durs, 0.99))
		}
		edges = append(edges, e)
		hasBase := e.BaselineCalls > 0
		errUp := e.ErrorRatio >= 0.05 && (!hasBase || e.ErrorRatio >= 2*e.BaselineErrorRatio+0.01)
		slowUp := hasBase && e.BaselineP99Ms > 0 && e.P99Ms >= 1.5*e.BaselineP99Ms && e.P99Ms-e.BaselineP99Ms >= 20
		if !errUp && !slowUp {
			continue
		}
		score := 0.0
		var what []string
		if errUp {
			score = max(score, 0.35+0.55*e.ErrorRatio)
			what = append(what, fmt.Sprintf("%.0f%% of calls fail (baseline %.0f%%)", e.ErrorRatio*100, e.BaselineErrorRatio*100))
		}
		if slowUp {
			ratio := e.P99Ms / e.BaselineP99Ms
			score = max(score, 0.3+0.1*min(ratio, 5))
			what = append(what, fmt.Sprintf("p99 %.0fms vs %.0fms in the baseline", e.P99Ms, e.BaselineP99Ms))
		}
		if !hasBase {
			score *= 0.7 // a new edge or no baseline: less sure it changed
		}
		out = append(out, investigate.Finding{
			Kind: investigate.KindDependency, Service: e.Caller, Operation: a.op, Score: clamp(score),
			Title: fmt.Sprintf("%s → %s: %s", e.Caller, e.Peer, strings.Join(what, "; ")),
			Evidence: map[string]any{"peer": e.Peer, "error_ratio": e.ErrorRatio, "p99_ms": e.P99Ms, "calls": e.Calls,
				"baseline_error_ratio": e.BaselineErrorRatio, "baseline_p99_ms": e.BaselineP99Ms, "baseline_calls": e.BaselineCalls},
			TraceIDs:       a.traceIDs,
			Recommendation: fmt.Sprintf("Check %s's own health (its dbg checklist); protect %s with a timeout, retries with backoff and a circuit breaker on this call.", e.Peer, e.Caller),
		})
	}
	if edges == nil {
		edges = []Edge{}
	}
	return edges, out
}
