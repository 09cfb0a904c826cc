package checklist

import (
	"github.com/dbgtool/dbg/investigate"
)

// Exemplar is one trace that shows the top hypothesis, flattened for the HTML waterfall.
type Exemplar struct {
	TraceID    string         `json:"trace_id"`
	DurationMs float64        `json:"duration_ms"`
	Spans      []ExemplarSpan `json:"spans"`
	Truncated  int            `json:"truncated,omitempty"`
}

// ExemplarSpan is a span of the exemplar, in tree pre-order.
type ExemplarSpan struct {
	SpanID     string  `json:"span_id"`
	Depth      int     `json:"depth"`
	Service    string  `json:"service"`
	Operation  string  `json:"operation"`
	StartMs    float64 `json:"start_ms"` // from the trace's start
	DurationMs float64 `json:"duration_ms"`
	OnPath     bool    `json:"on_path"`
	Error      bool    `json:"error"`
}

const maxExemplarSpans = 400

// pickExemplar takes a trace named by the top hypothesis, else the slowest failing trace, else the
// slowest trace of the window.
func pickExemplar(ranked []investigate.Finding, window []*investigate.TraceReport) *Exemplar {
	if len(window) == 0 {
		return nil
	}
	byID := map[string]*investigate.TraceReport{}
	for _, r := range window {
		byID[r.TraceID] = r
	}
	var pick *investigate.TraceReport
	for _, f := range ranked {
		if f.Tier == TierSymptom {
			continue
		}
		for _, id := range f.TraceIDs {
			if r, ok := byID[id]; ok {
				pick = r
				break
			}
		}
		if pick != nil {
			break
		}
	}
	if pick == nil {
		for _, r := range window {
			if pick == nil || r.RequestFailed() && !pick.RequestFailed() || r.RequestFailed() == pick.RequestFailed() && r.DurationMs > pick.DurationMs {
				pick = r
			}
		}
	}
	t := pick.Tree
	ex := &Exemplar{TraceID: pick.TraceID, DurationMs: pick.DurationMs, Spans: []ExemplarSpan{}}
	if t.Root() < 0 {
		return ex
	}
	t0 := t.Span(t.Order[0]).Start
	for _, i := range t.Order {
		if s := t.Span(i); s.Start.Before(t0) {
			t0 = s.Start
		}
	}
	for _, i := range t.Order {
		if len(ex.Spans) >= maxExemplarSpans {
			ex.Truncated = len(t.Order) - maxExemplarSpans
			break
		}
		s := t.Span(i)
		ex.Spans = append(ex.Spans, ExemplarSpan{SpanID: s.SpanID, Depth: int(t.Depth[i]), Service: s.Service, Operation: s.Operation,
			StartMs: investigate.Ms(s.Start.Sub(t0)), DurationMs: investigate.Ms(s.Duration), OnPath: pick.OnPath[i], Error: pick.IsError[i]})
	}
	return ex
}
