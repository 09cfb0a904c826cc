package checklist

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// ProbeResult is one request `--probe URL` sent.
type ProbeResult struct {
	CorrelationID string  `json:"correlation_id"`
	Status        int     `json:"status"`
	LatencyMs     float64 `json:"latency_ms"`
	Error         string  `json:"error,omitempty"`
}

// Prober sends a few requests to the service with fresh X-Correlation-ID headers (--probe URL).
type Prober interface {
	Probe(ctx context.Context) ([]ProbeResult, error)
}

// ProbeReport is what step 7 learned from the probe: the requests, their traces and log lines, and
// whether they went through the top hypothesis.
type ProbeReport struct {
	Requests []ProbeResult `json:"requests"`
	Traces   []string      `json:"traces"`
	LogLines int           `json:"log_lines"`
	Verdict  string        `json:"verdict"`
}

// probeWait is how long telemetry takes to arrive after a request (exporter batches, log shipping).
var probeWait = 5 * time.Second

// runProbe sends the probe, waits for its telemetry, and tests the top hypothesis on the probe's own
// requests: a cause on the request path should show up in them.
func runProbe(ctx context.Context, inv *Investigation, top *investigate.Finding) (*ProbeReport, []string) {
	res, err := inv.Sources.Prober.Probe(ctx)
	rep := &ProbeReport{Requests: res, Traces: []string{}}
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
	var lat []float64
	failedN := 0
	ids := map[string]bool{}
	for _, r := range res {
		lat = append(lat, r.LatencyMs)
		if r.Status >= 500 || r.Error != "" {
			failedN++
		}
		ids[r.CorrelationID] = true
	}
	sort.Float64s(lat)
	summary := fmt.Sprintf("%d probe requests: p50 %.0fms, %d failed", len(res), quantile(lat, 0.5), failedN)
	if inv.Sources.Logs != nil {
		for _, r := range res {
			recs, q, err := inv.Sources.Logs.Logs(ctx, investigate.LogQuery{CorrelationID: r.CorrelationID, Start: inv.Window.Start, End: inv.Now().Add(time.Minute), Limit: 1000})
			queries = append(queries, q...)
			if err == nil {
				rep.LogLines += len(recs)
			}
		}
		summary += fmt.Sprintf("; %d log lines carry their correlation IDs", rep.LogLines)
	}
	through := 0
	if inv.Sources.Traces != nil {
		for _, r := range res {
			q := TraceQuery{Service: inv.Service, Start: inv.Now().Add(-10 * time.Minute), End: inv.Now().Add(time.Minute), Limit: 5,
				Tags: map[string]string{"correlation_id": r.CorrelationID}}
			ts, err := inv.Sources.Traces.SearchTraces(ctx, q)
			queries = append(queries, describeTraceQuery(q)+" tag correlation_id="+r.CorrelationID)
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
