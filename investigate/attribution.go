package investigate

import (
	"fmt"
	"sort"
)

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
func AttributeLatency(window, baseline []*TraceReport) ([]Finding, []AttributionRow) {
	type acc struct {
		self     float64
		traces   int
		peer     string
		spanIDs  []string
		traceIDs []string
	}
	collect := func(reps []*TraceReport) (map[[2]string]*acc, float64) {
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
							if s := r.Tree.Span(i); s.Kind == KindClient {
								a.peer = Peer(s)
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
		row := AttributionRow{Service: k[0], Operation: k[1], WindowMs: round3(a.self / nw), Presence: round3(float64(a.traces) / nw), Peer: a.peer}
		if nb > 0 {
			if b, ok := bm[k]; ok {
				row.BaselineMs = round3(b.self / nb)
			}
		}
		row.DeltaMs = round3(row.WindowMs - row.BaselineMs)
		rows = append(rows, row)
	}
	var out []Finding
	emit := func(row AttributionRow, score float64, title string, ev map[string]any) {
		a := wm[[2]string{row.Service, row.Operation}]
		ev["self_ms"], ev["duration_ms"], ev["peer"] = row.WindowMs, round3(meanW), row.Peer
		ev["span_ids"], ev["presence"] = a.spanIDs, row.Presence
		rec := "Look at what this operation does on its own (no child span covers the time): profile it or add spans."
		if row.Peer != "" {
			rec = fmt.Sprintf("The time is spent waiting on %s: check its latency and saturation; set a timeout and a circuit breaker on the call.", row.Peer)
		}
		out = append(out, Finding{Kind: KindSlowSpan, Service: row.Service, Operation: row.Operation,
			Score: clamp01(score), Title: title, Evidence: ev, TraceIDs: a.traceIDs, Recommendation: rec})
	}
	if nb > 0 {
		meanB := bTotal / nb
		delta := meanW - meanB
		for i := range rows {
			if delta > 0 {
				rows[i].ShareOfDelta = round3(rows[i].DeltaMs / delta)
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
					"share": round3(share), "baseline_self_ms": row.BaselineMs, "delta_ms": row.DeltaMs,
					"mean_request_ms": round3(meanW), "baseline_mean_request_ms": round3(meanB)})
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
			emit(row, 0.15+0.3*share, title, map[string]any{"share": round3(share)})
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
