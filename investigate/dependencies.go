package investigate

import (
	"fmt"
	"sort"
	"strings"
)

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
func Dependencies(window, baseline []*TraceReport) ([]Edge, []Finding) {
	collect := func(reps []*TraceReport) map[[2]string]*edgeAcc {
		m := map[[2]string]*edgeAcc{}
		for _, r := range reps {
			t := r.Tree
			for _, i := range t.Order {
				s := t.Span(i)
				if s.Kind != KindClient && s.Kind != KindProducer {
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
					peer = Peer(s)
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
	var out []Finding
	keys := make([][2]string, 0, len(wm))
	for k := range wm {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		a := wm[k]
		sort.Float64s(a.durs)
		e := Edge{Caller: k[0], Peer: k[1], Calls: a.calls, ErrorRatio: round3(float64(a.errs) / float64(a.calls)), P99Ms: round3(Quantile(a.durs, 0.99))}
		if b, ok := bm[k]; ok {
			sort.Float64s(b.durs)
			e.BaselineCalls = b.calls
			e.BaselineErrorRatio = round3(float64(b.errs) / float64(b.calls))
			e.BaselineP99Ms = round3(Quantile(b.durs, 0.99))
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
		out = append(out, Finding{
			Kind: KindDependency, Service: e.Caller, Operation: a.op, Score: clamp01(score),
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
