package investigate

// RecurringProblems aggregates N+1s, fan-outs and error origins across the window's traces and weighs
// each by novelty: one that recurs as often in the baseline is a standing problem, not this incident.
func RecurringProblems(window, baseline []*TraceReport) []Finding {
	aw := AggregateReports(window, AggregateOptions{})
	ab := AggregateReports(baseline, AggregateOptions{})
	key := func(f Finding) string {
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
	var out []Finding
	for _, f := range aw.Findings {
		switch f.Kind {
		case KindNPlusOne, KindFanout, KindErrorOrigin:
		default:
			continue
		}
		ws := num(f.Evidence["trace_share"])
		bs, inBase := baseShare[key(f)]
		novelty := 1.0
		if len(baseline) > 0 && ws > 0 {
			novelty = clamp01(1 - bs/ws)
		} else if len(baseline) == 0 {
			novelty = 0.5 // unknown
		}
		f.Evidence["baseline_trace_share"] = round3(bs)
		f.Evidence["new"] = len(baseline) > 0 && !inBase
		f.Score = clamp01(f.Score * (0.35 + 0.65*novelty))
		if f.Kind == KindErrorOrigin && f.Evidence["new"] == true {
			f.Title += " (new since the baseline)"
		}
		out = append(out, f)
	}
	return out
}

// MaterialQueryChange reports whether a slow statement changed against the baseline enough to be this
// incident's: new, run more often per request, or slower at p99 by 1.5x AND by at least 20 ms (the
// threshold of a slower dependency edge). A few milliseconds more at p99 over a few dozen calls is the
// noise of a small sample, not a change.
func MaterialQueryChange(ev map[string]any) bool {
	switch c, _ := ev["change"].(string); c {
	case ChangeNew, ChangeMoreCalls:
		return true
	case ChangeSlower:
		return num(ev["p99_ms"])-num(ev["baseline_p99_ms"]) >= 20
	}
	return false
}
