package investigate

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// TraceSummary is one line of a trace search: what a person scans to pick the trace to open.
type TraceSummary struct {
	TraceID    string    `json:"trace_id"`
	Start      time.Time `json:"start"`
	DurationMs float64   `json:"duration_ms"`
	SpanCount  int       `json:"span_count"`
	Services   []string  `json:"services"`
	Error      bool      `json:"error"`
	// Worst is the trace's top-ranked finding, nil when it has none.
	Worst *Finding `json:"worst_finding"`
	Link  string   `json:"link,omitempty"`
}

// Summarize condenses one analysed trace into a search result line.
func Summarize(rep *TraceReport) TraceSummary {
	s := TraceSummary{
		TraceID: rep.TraceID, Start: rep.Start, DurationMs: rep.DurationMs, SpanCount: rep.SpanCount,
		Services: rep.Services,
	}
	if s.Services == nil {
		s.Services = []string{}
	}
	for _, e := range rep.IsError {
		if e {
			s.Error = true
			break
		}
	}
	if len(rep.Findings) > 0 {
		f := rep.Findings[0]
		s.Worst = &f
	}
	return s
}

// SortSlowestFirst orders summaries by duration, longest first; ties by start time, then ID, so the
// order is reproducible.
func SortSlowestFirst(ss []TraceSummary) {
	slices.SortStableFunc(ss, func(a, b TraceSummary) int {
		if c := cmp.Compare(b.DurationMs, a.DurationMs); c != 0 {
			return c
		}
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.TraceID, b.TraceID)
	})
}

// PathCost is what one (service, operation) costs on the critical paths of a set of traces: the time
// the requests actually waited on it, summed across traces.
type PathCost struct {
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	SelfMs    float64 `json:"self_ms"`
	// Share is SelfMs over the summed duration of all the traces.
	Share float64 `json:"share"`
	// Traces is how many traces have it on their critical path.
	Traces int     `json:"traces"`
	MaxMs  float64 `json:"max_ms"`
}

// Aggregate is the cross-trace view `dbg trace --service S --analyze` prints.
type Aggregate struct {
	TraceCount int        `json:"trace_count"`
	ErrorCount int        `json:"error_count"`
	TotalMs    float64    `json:"total_ms"`
	P50Ms      float64    `json:"p50_ms"`
	P99Ms      float64    `json:"p99_ms"`
	PathCosts  []PathCost `json:"critical_path"`
	Findings   []Finding  `json:"findings"`
}

// AggregateOptions bound the aggregate's lists.
type AggregateOptions struct {
	// MaxPathCosts caps PathCosts; 0 means 20.
	MaxPathCosts int
	// MaxTraceIDs caps the example trace IDs kept per finding; 0 means 10.
	MaxTraceIDs int
}

// AggregateReports folds the analyses of many traces into recurring findings and critical-path costs.
// Each finding's first trace ID is the trace of its worst instance, whose span IDs its evidence carries.
// A finding that recurs is keyed by what makes it the same problem: the kind, the service and operation,
// and the repeated statement or route (N+1, fan-out) or the exception type (error origin).
func AggregateReports(reps []*TraceReport, opts AggregateOptions) *Aggregate {
	if opts.MaxPathCosts <= 0 {
		opts.MaxPathCosts = 20
	}
	if opts.MaxTraceIDs <= 0 {
		opts.MaxTraceIDs = 10
	}
	agg := &Aggregate{TraceCount: len(reps), PathCosts: []PathCost{}}
	durs := make([]float64, 0, len(reps))
	type costKey struct{ svc, op string }
	costs := map[costKey]*PathCost{}
	var costOrder []*PathCost
	type group struct {
		kind, svc, op, key string
		traces             int
		lastTrace          string
		occurrences        int
		maxScore           float64
		sumScore           float64
		ids                []string
		best               Finding // the highest-scoring instance, for its evidence
		bestTrace          string  // the trace best comes from, listed first so links find its spans
		sumSelf, sumDur    float64
		sumTotal           float64
		maxCount, sumCount int
	}
	groups := map[string]*group{}
	var order []*group
	for _, r := range reps {
		durs = append(durs, r.DurationMs)
		agg.TotalMs += r.DurationMs
		for _, e := range r.IsError {
			if e {
				agg.ErrorCount++
				break
			}
		}
		seenOnPath := map[costKey]bool{}
		for _, p := range r.CriticalPath {
			k := costKey{p.Service, p.Operation}
			c := costs[k]
			if c == nil {
				c = &PathCost{Service: p.Service, Operation: p.Operation}
				costs[k] = c
				costOrder = append(costOrder, c)
			}
			c.SelfMs += p.SelfMs
			c.MaxMs = max(c.MaxMs, p.SelfMs)
			if !seenOnPath[k] {
				seenOnPath[k] = true
				c.Traces++
			}
		}
		for _, f := range r.Findings {
			k := f.Kind + "\x00" + f.Service + "\x00" + f.Operation + "\x00" + recurrenceKey(f)
			g := groups[k]
			if g == nil {
				g = &group{kind: f.Kind, svc: f.Service, op: f.Operation, key: recurrenceKey(f), best: f}
				groups[k] = g
				order = append(order, g)
			}
			g.occurrences++
			if g.lastTrace != r.TraceID || g.traces == 0 {
				g.traces++
				g.lastTrace = r.TraceID
				if len(g.ids) < opts.MaxTraceIDs && r.TraceID != "" {
					g.ids = append(g.ids, r.TraceID)
				}
			}
			if g.occurrences == 1 || f.Score > g.best.Score {
				g.best, g.bestTrace = f, r.TraceID
			}
			g.maxScore = max(g.maxScore, f.Score)
			g.sumScore += f.Score
			g.sumSelf += num(f.Evidence["self_ms"])
			g.sumDur += num(f.Evidence["duration_ms"])
			g.sumTotal += num(f.Evidence["total_ms"])
			n := int(num(f.Evidence["count"]))
			g.maxCount = max(g.maxCount, n)
			g.sumCount += n
		}
	}
	agg.TotalMs = round3(agg.TotalMs)
	if len(durs) > 0 {
		slices.Sort(durs)
		agg.P50Ms = durs[quantileIndex(len(durs), 0.5)]
		agg.P99Ms = durs[quantileIndex(len(durs), 0.99)]
	}
	for _, c := range costOrder {
		c.SelfMs = round3(c.SelfMs)
		if agg.TotalMs > 0 {
			c.Share = round3(c.SelfMs / agg.TotalMs)
		}
		agg.PathCosts = append(agg.PathCosts, *c)
	}
	slices.SortStableFunc(agg.PathCosts, func(a, b PathCost) int {
		if c := cmp.Compare(b.SelfMs, a.SelfMs); c != 0 {
			return c
		}
		return cmp.Compare(a.Service+"\x00"+a.Operation, b.Service+"\x00"+b.Operation)
	})
	if len(agg.PathCosts) > opts.MaxPathCosts {
		agg.PathCosts = agg.PathCosts[:opts.MaxPathCosts]
	}
	n := float64(max(len(reps), 1))
	fs := make([]Finding, 0, len(order))
	for _, g := range order {
		if i := slices.Index(g.ids, g.bestTrace); i > 0 {
			g.ids[0], g.ids[i] = g.ids[i], g.ids[0]
		} else if i < 0 && g.bestTrace != "" && len(g.ids) > 0 {
			g.ids[0] = g.bestTrace
		}
		frac := float64(g.traces) / n
		f := Finding{
			Kind: g.kind, Service: g.svc, Operation: g.op, TraceIDs: g.ids,
			Recommendation: g.best.Recommendation,
			// A problem in most of the traces outranks an equally bad one seen once.
			Score: g.maxScore * (0.5 + 0.5*frac),
		}
		ev := map[string]any{
			"traces": g.traces, "trace_share": round3(frac), "occurrences": g.occurrences,
			"max_score": round3(g.maxScore), "mean_score": round3(g.sumScore / float64(g.occurrences)),
		}
		in := fmt.Sprintf("in %d of %d traces", g.traces, len(reps))
		switch g.kind {
		case KindSlowSpan:
			peer, _ := g.best.Evidence["peer"].(string)
			ev["self_ms"] = round3(g.sumSelf)
			ev["duration_ms"] = round3(g.sumDur)
			ev["peer"] = peer
			ev["span_id"] = g.best.Evidence["span_id"]
			share := 0.0
			if agg.TotalMs > 0 {
				share = g.sumSelf / agg.TotalMs
			}
			ev["share"] = round3(share)
			f.Title = fmt.Sprintf("%s %s holds requests %s: %s on the critical path in total (%.0f%% of all request time)",
				g.svc, g.op, in, fmtDur(msDur(g.sumSelf)), share*100)
		case KindNPlusOne, KindFanout:
			ev["count"] = g.maxCount
			ev["mean_count"] = round3(float64(g.sumCount) / float64(g.occurrences))
			ev["total_ms"] = round3(g.sumTotal)
			ev["parent_operation"] = g.best.Evidence["parent_operation"]
			ev["parent_span_id"] = g.best.Evidence["parent_span_id"]
			for _, k := range []string{"statement", "route"} {
				if v, ok := g.best.Evidence[k]; ok {
					ev[k] = v
				}
			}
			if c, ok := g.best.Evidence["concurrency"]; ok && g.kind == KindFanout {
				ev["concurrency"] = c
			}
			label := "N+1"
			if g.kind == KindFanout {
				label = "fan-out"
			}
			f.Title = fmt.Sprintf("%s recurs %s: %s calls %q up to %d times per request under %v (%s in total)",
				label, in, g.svc, g.key, g.maxCount, g.best.Evidence["parent_operation"], fmtDur(msDur(g.sumTotal)))
		case KindErrorOrigin:
			for _, k := range []string{"span_id", "exception_type", "message", "peer"} {
				if v, ok := g.best.Evidence[k]; ok {
					ev[k] = v
				}
			}
			msg, _ := g.best.Evidence["message"].(string)
			f.Title = fmt.Sprintf("error starts %s in %s %s: %s", in, g.svc, g.op, oneLine(g.key, msg))
		default:
			for k, v := range g.best.Evidence {
				if _, ok := ev[k]; !ok {
					ev[k] = v
				}
			}
			f.Title = fmt.Sprintf("%s (%s)", g.best.Title, in)
		}
		f.Evidence = ev
		fs = append(fs, f)
	}
	agg.Findings = RankFindings(fs)
	return agg
}

// recurrenceKey is what makes two findings of one kind at one operation the same problem.
func recurrenceKey(f Finding) string {
	switch f.Kind {
	case KindNPlusOne, KindFanout:
		if s, ok := f.Evidence["statement"].(string); ok {
			return s
		}
		if s, ok := f.Evidence["route"].(string); ok {
			return s
		}
	case KindErrorOrigin:
		if s, ok := f.Evidence["exception_type"].(string); ok {
			return s
		}
	}
	return ""
}

// num reads a numeric evidence value of any of the types the analyses store.
func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	}
	return 0
}

func msDur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// quantileIndex is the nearest-rank index of quantile q in n sorted values.
func quantileIndex(n int, q float64) int {
	i := int(q*float64(n)+0.999999) - 1
	return min(max(i, 0), n-1)
}
