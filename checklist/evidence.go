package checklist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// errNotConfigured marks a step input whose source is missing: the step is skipped, not failed.
var errNotConfigured = errors.New("not configured")

// notConfigured says which source is missing and how to add it.
func notConfigured(what, flag string) error {
	return fmt.Errorf("no %s source configured (set %s or use --from BUNDLE): %w", what, flag, errNotConfigured)
}

// Traces returns the analysed trace sample: the window (all recent traces plus the failing ones) and the
// baseline.
func (inv *Investigation) Traces(ctx context.Context) (traceEvidence, error) {
	return inv.traces.get(inv.traceFetch(ctx))
}

func (inv *Investigation) traceFetch(ctx context.Context) func() (traceEvidence, error) {
	return func() (traceEvidence, error) {
		var ev traceEvidence
		src := inv.Sources.Traces
		if src == nil {
			return ev, notConfigured("trace", "--jaeger-url")
		}
		limit := inv.Options.TraceLimit
		w := inv.Window
		q := investigate.TraceQuery{Service: inv.Service, Start: w.Start, End: w.End, Limit: limit}
		qe := q
		qe.Errors = true
		// The failing-trace search first: a source that over-fetches for it (Jaeger) can answer the
		// window search from the same download.
		failing, ferr := src.SearchTraces(ctx, qe)
		win, err := src.SearchTraces(ctx, q)
		if err != nil {
			return ev, blame(inv.Sources.TracesName, err)
		}
		ev.Queries = append(ev.Queries, describeTraceQuery(q))
		if ferr != nil {
			ev.Warnings = append(ev.Warnings, "failing-trace search: "+ferr.Error())
		} else {
			ev.Queries = append(ev.Queries, describeTraceQuery(qe))
		}
		qb := investigate.TraceQuery{Service: inv.Service, Start: w.BaselineStart, End: w.BaselineEnd, Limit: limit}
		base, err := src.SearchTraces(ctx, qb)
		if err != nil {
			ev.Warnings = append(ev.Warnings, "baseline trace search: "+err.Error())
		} else {
			ev.Queries = append(ev.Queries, describeTraceQuery(qb))
		}
		wt, nw := investigate.WithoutHousekeeping(dedupeTraces(append(win, failing...)), inv.Options.ExcludeRoutes)
		bt, nb := investigate.WithoutHousekeeping(dedupeTraces(base), inv.Options.ExcludeRoutes)
		if nw+nb > 0 {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("excluded %d window and %d baseline traces of health, readiness and metrics endpoints from the sample", nw, nb))
		}
		ev.Window = analyzeAll(wt, inv.Options.Trace)
		ev.Baseline = analyzeAll(bt, inv.Options.Trace)
		return ev, nil
	}
}

func describeTraceQuery(q investigate.TraceQuery) string {
	s := fmt.Sprintf("traces service=%q start=%s end=%s limit=%d", q.Service, q.Start.UTC().Format("2006-01-02T15:04:05Z"), q.End.UTC().Format("2006-01-02T15:04:05Z"), q.Limit)
	if q.Errors {
		s += " errors=true"
	}
	return s
}

func dedupeTraces(ts []*investigate.Trace) []*investigate.Trace {
	seen := map[string]bool{}
	out := ts[:0:0]
	for _, t := range ts {
		if t == nil || seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		out = append(out, t)
	}
	return out
}

// analyzeAll is investigate.AnalyzeTraces in trace ID order (a stable order for the report).
func analyzeAll(ts []*investigate.Trace, o investigate.TraceOptions) []*investigate.TraceReport {
	out := investigate.AnalyzeTraces(ts, o)
	sort.SliceStable(out, func(i, j int) bool { return out[i].TraceID < out[j].TraceID })
	return out
}

// Metrics returns the service's hotspot report.
func (inv *Investigation) Metrics(ctx context.Context) (metricEvidence, error) {
	return inv.metrics.get(func() (metricEvidence, error) {
		var ev metricEvidence
		if inv.Sources.Metrics == nil {
			return ev, notConfigured("metric", "--prometheus-url")
		}
		in, queries, err := inv.Sources.Metrics.Hotspots(ctx, inv.Service, inv.Window)
		if err != nil {
			return ev, blame(inv.Sources.MetricsName, err)
		}
		ev.Input, ev.Queries = in, queries
		ev.Report = investigate.AnalyzeHotspots(in, inv.Options.Hotspot)
		return ev, nil
	})
}

// Logs returns log records of the service and of the services its traces call, for the window and the
// baseline.
func (inv *Investigation) Logs(ctx context.Context) (logEvidence, error) {
	return inv.logs.get(func() (logEvidence, error) {
		var ev logEvidence
		if inv.Sources.Logs == nil {
			return ev, notConfigured("log", "--victorialogs-url, --loki-url or --elasticsearch-url")
		}
		services := []string{inv.Service}
		// The called services come from the traces; a trace source that does not answer must not hold
		// the logs back (one hung Jaeger marked a healthy log store failed): wait for it at most half the
		// time left, then read the service's own logs.
		var relatedNote []string
		if tev, err, ok := inv.tracesWithin(ctx); ok && err == nil {
			services = relatedServices(inv.Service, tev.Window, 8)
		} else if !ok {
			relatedNote = append(relatedNote, "warning: the trace source had not answered; logs read for "+inv.Service+" only, not the services it calls")
		}
		w := inv.Window
		for _, svc := range services {
			win, q1, err := inv.readLogs(ctx, investigate.LogQuery{Service: svc, Start: w.Start, End: w.End, Limit: inv.Options.LogLimit})
			if err != nil {
				return ev, blame(inv.Sources.LogsName, err)
			}
			base, q2, err := inv.readLogs(ctx, investigate.LogQuery{Service: svc, Start: w.BaselineStart, End: w.BaselineEnd, Limit: inv.Options.LogLimit})
			if err != nil {
				return ev, blame(inv.Sources.LogsName, err)
			}
			ev.Window = append(ev.Window, win...)
			ev.Baseline = append(ev.Baseline, base...)
			ev.Queries = append(ev.Queries, q1...)
			ev.Queries = append(ev.Queries, q2...)
		}
		ev.Queries = append(ev.Queries, relatedNote...)
		return ev, nil
	})
}

// tracesWithin is Traces for a step that can do without them: it waits at most half the time left,
// and ok says whether the traces arrived.
func (inv *Investigation) tracesWithin(ctx context.Context) (tev traceEvidence, err error, ok bool) {
	return inv.traces.within(ctx, halfTimeLeft(ctx), inv.traceFetch(ctx))
}

// blame makes a source's deadline error name the source: a step cut by the deadline must say which
// backend did not answer, whatever error text the source itself gave.
func blame(name string, err error) error {
	if err == nil || name == "" || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s did not answer before the deadline (--timeout): %w", name, err)
}

// halfTimeLeft is half the time to ctx's deadline (a minute without one).
func halfTimeLeft(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(0, time.Until(dl)/2)
	}
	return time.Minute
}

// readLogs collects the records matching q, with the query as the backend runs it and the source's
// warnings (as "warning: ..." lines) for the step's queries.
func (inv *Investigation) readLogs(ctx context.Context, q investigate.LogQuery) ([]investigate.LogRecord, []string, error) {
	var out []investigate.LogRecord
	warns, err := inv.Sources.Logs.Logs(ctx, q, func(r investigate.LogRecord) error {
		out = append(out, r)
		return nil
	})
	queries := []string{}
	if bq, err := inv.explainLogs(ctx, q); err == nil {
		queries = append(queries, bq)
	}
	for _, w := range warns {
		queries = append(queries, "warning: "+w)
	}
	return out, queries, err
}

// explainLogs is q compiled for the log store, on one line: the request line, then the query (a _search
// body compacted). A source that cannot say (a bundle) returns an error.
func (inv *Investigation) explainLogs(ctx context.Context, q investigate.LogQuery) (string, error) {
	r, err := inv.Sources.Logs.Explain(ctx, q)
	if err != nil {
		return "", err
	}
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(r.Query)) == nil {
		r.Query = compact.String()
	}
	return strings.Replace(strings.TrimPrefix(r.String(), "# "), "\n", ": ", 1), nil
}

// relatedServices is the service and the services that appear in its traces, most frequent first.
func relatedServices(service string, reps []*investigate.TraceReport, max int) []string {
	count := map[string]int{}
	for _, r := range reps {
		for _, s := range r.Services {
			count[s]++
		}
	}
	delete(count, service)
	others := make([]string, 0, len(count))
	for s := range count {
		others = append(others, s)
	}
	sort.Slice(others, func(i, j int) bool {
		if count[others[i]] != count[others[j]] {
			return count[others[i]] > count[others[j]]
		}
		return others[i] < others[j]
	})
	out := []string{service}
	for _, s := range others {
		if len(out) >= max {
			break
		}
		out = append(out, s)
	}
	return out
}

// Profiles returns the profile source's findings (leaks, CPU hotspots).
func (inv *Investigation) Profiles(ctx context.Context) (profileEvidence, error) {
	return inv.profiles.get(func() (profileEvidence, error) {
		var ev profileEvidence
		if inv.Sources.Profiles == nil {
			return ev, notConfigured("profile", "--target")
		}
		fs, q, err := inv.Sources.Profiles.ProfileFindings(ctx)
		ev.Findings, ev.Queries = fs, q
		return ev, blame(inv.Sources.ProfileName, err)
	})
}
