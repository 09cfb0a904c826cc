package render

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/internal/golden"
	"github.com/dbgtool/dbg/investigate"
)

// t0 is the fixed clock of every golden report.
var t0 = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// goldenFile compares got with testdata/golden/name (go test ./render -run Golden -update rewrites it).
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), got)
}

// piped is a name with the markdown table separator in it: every markdown table must escape it.
const piped = "GET /a|b"

func goldenFindings() []investigate.Finding {
	return []investigate.Finding{
		{Kind: investigate.KindMemoryLeak, Severity: investigate.SeverityHigh, Score: 0.82, Tier: checklist.TierRootCause,
			Service: "checkout", Operation: "cache.Put", Title: "checkout heap grows 51.5 MiB/min in cache.Put",
			Evidence: map[string]any{"function": "cache.Put", "growth_bytes_per_min": int64(54_000_000), "fit": 0.97,
				"memory_limit_bytes": int64(1 << 30), "inuse_bytes": 3.2e8, "max_score": 0.91, "mean_score": 0.64},
			TraceIDs: []string{"4bf92f3577b34da6a3ce929d0e0e4736"}, Links: []string{"http://prom:9090/graph?g0.expr=heap"},
			Recommendation: "Bound the cache | evict entries."},
		{Kind: investigate.KindSaturation, Severity: investigate.SeverityMedium, Score: 0.55, Tier: checklist.TierContributing,
			Service: "checkout", Operation: piped, Title: "checkout memory at 92% of its limit",
			Evidence: map[string]any{"resource": "memory", "value": 9.9e8, "limit": 0.0, "baseline": 4.1e8, "unit": "bytes", "query": "container_memory_working_set_bytes"}},
		{Kind: investigate.KindSlowSpan, Severity: investigate.SeverityMedium, Score: 0.5, Tier: checklist.TierContributing,
			Service: "payment", Operation: "POST /charge", Title: "payment POST /charge waits on fraud-check",
			Evidence: map[string]any{"self_ms": 0.42, "duration_ms": 1234.5, "share": 0.61, "peer": "fraud-check", "delta_ms": -12.3, "window_s": 30.0}},
		{Kind: investigate.KindLatencyHotspot, Severity: investigate.SeverityCritical, Score: 0.9, Tier: checklist.TierSymptom,
			Service: "frontend", Operation: "POST /checkout", Title: "frontend POST /checkout p99 800ms vs 40ms",
			Evidence: map[string]any{"p99_ms": 800.0, "baseline_p99_ms": 40.0, "ratio": 20.0, "query": "histogram_quantile(0.99, …)"}},
	}
}

func goldenTables() investigate.HotspotTables {
	return investigate.HotspotTables{Convention: "OpenTelemetry http.server.request.duration",
		Latency: investigate.LatencyTable{Rows: []investigate.LatencyRow{
			{Service: "frontend", Operation: piped, P99Ms: 800, BaselineP99Ms: 40, Ratio: 20, Regression: true, Sparkline: []float64{1, 2, 4, 8}}}}}
}

func goldenChecklist() *checklist.Report {
	tables := goldenTables()
	steps := []checklist.StepResult{}
	for id := checklist.StepSymptom; id <= checklist.StepPostmortem; id++ {
		s := checklist.StepResult{Number: id, Name: fmt.Sprintf("step %d", id), Status: checklist.StatusOK, Summary: "checked",
			DurationMs: 12, Queries: []string{}, Findings: []investigate.Finding{}}
		switch id {
		case checklist.StepMetrics:
			s.Status, s.Outcome.Tables = checklist.StatusWarn, &tables
		case checklist.StepDependencies:
			s.Outcome.Edges = []investigate.Edge{{Caller: "payment", Peer: "fraud-check", Calls: 120, ErrorRatio: 0.1, P99Ms: 420}}
		case checklist.StepLogs:
			s.Status, s.Summary = checklist.StatusSkipped, "skipped: no log source configured"
		}
		steps = append(steps, s)
	}
	fs := goldenFindings()
	return &checklist.Report{Service: "checkout", GeneratedAt: t0,
		Window:   investigate.TimeRange{Start: t0.Add(-30 * time.Minute), End: t0},
		Baseline: investigate.TimeRange{Start: t0.Add(-60 * time.Minute), End: t0.Add(-30 * time.Minute)},
		Answer:   "Most likely cause: checkout heap grows.", Steps: steps, Findings: fs,
		Sources:  []checklist.SourceStatus{{Kind: "metrics", Name: "Prometheus at http://prom:9090", Status: "ok"}},
		Timeline: []checklist.TimelineEntry{{At: t0.Add(-20 * time.Minute), What: "first failing request"}},
		Exemplar: &checklist.Exemplar{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", DurationMs: 100, Spans: []checklist.ExemplarSpan{
			{SpanID: "a", Service: "frontend", Operation: piped, DurationMs: 100, OnPath: true},
			{SpanID: "b", Depth: 1, Service: "checkout", Operation: "cache.Put", StartMs: 10, DurationMs: 80, OnPath: true, Error: true}}},
	}
}

func goldenTrace() *investigate.TraceReport {
	span := func(id, parent, svc, op string, start, dur time.Duration, kind investigate.SpanKind) investigate.Span {
		return investigate.Span{TraceID: "t1", SpanID: id, ParentID: parent, Service: svc, Operation: op, Kind: kind,
			Start: t0.Add(start), Duration: dur}
	}
	tr := &investigate.Trace{ID: "t1", Spans: []investigate.Span{
		span("r", "", "frontend", piped, 0, 120*time.Millisecond, investigate.KindServer),
		span("c", "r", "frontend", "POST /charge", 5*time.Millisecond, 100*time.Millisecond, investigate.KindClient),
		span("s", "c", "payment", "POST /charge", 6*time.Millisecond, 98*time.Millisecond, investigate.KindServer),
		span("q", "s", "payment", "cache get", 7*time.Millisecond, 40*time.Microsecond, investigate.KindInternal),
	}}
	tr.Spans[2].Status = investigate.StatusError
	return investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
}

// TestGoldenPrinters: every printer's output for fixed reports, one golden file per report and format.
func TestGoldenPrinters(t *testing.T) {
	o := Options{JaegerUI: "http://jaeger:16686"}
	hot := &investigate.HotspotReport{Window: investigate.TimeRange{Start: t0.Add(-30 * time.Minute), End: t0},
		Baseline: investigate.TimeRange{Start: t0.Add(-60 * time.Minute), End: t0.Add(-30 * time.Minute)},
		Findings: goldenFindings()[1:2], Tables: goldenTables(), Warnings: []string{"one | warning"}}
	hot.Tables.Saturation = investigate.SaturationTable{Rows: []investigate.SaturationRow{
		{Resource: "memory", Service: "checkout", Operation: "container", Value: 9.9e8, Limit: 1 << 30, Baseline: 4.1e8, Unit: "bytes", Saturated: true}}}
	prof := &investigate.ProfileReport{Kind: "heap", Target: "http://checkout:6060", SampleType: "inuse_space", Unit: "bytes",
		Total: 3 << 28, Samples: 4, WindowS: 30, Findings: goldenFindings()[:1], Warnings: []string{"one sample failed"},
		Top: []investigate.TopEntry{{Function: "cache.Put", File: "/src/app/cache/cache.go", Line: 42, Flat: 1 << 28, Cum: 3 << 27}}}
	db := &investigate.QueryReport{Service: "payment", Requests: 10, Statements: 1, Findings: []investigate.Finding{},
		Queries: []investigate.QueryStat{{Statement: "SELECT * FROM t WHERE a = ? OR b | c", Count: 40, TotalMs: 80, P50Ms: 2, P99Ms: 0.5,
			CallsPerRequest: 4, NPlusOne: true, Services: []string{"payment"}, Endpoints: []string{piped}}}}
	search := &TraceSearch{Service: "frontend", Start: t0.Add(-time.Hour), End: t0, Limit: 20,
		Traces: []investigate.TraceSummary{{TraceID: "t1", Start: t0.Add(-time.Minute), DurationMs: 120, SpanCount: 4, Error: true,
			Services: []string{"frontend", "payment"}, Link: "http://jaeger:16686/trace/t1"}}}
	explain := &investigate.ExplainReport{Server: "db:5432/shop", Warnings: []string{"one statement | skipped"},
		Indexes: []string{"CREATE INDEX ON orders (customer_id)"}, Results: []investigate.ExplainResult{
			{Statement: "SELECT * FROM orders WHERE customer_id = $1", TotalMs: 3612, Count: 8, P99Ms: 497, Status: "explained",
				Plan: &investigate.PlanAnalysis{Top: "Seq Scan on orders", TotalCost: 1234, PlanRows: 120000, Issues: []investigate.PlanIssue{
					{Kind: "seq_scan", Severity: investigate.SeverityHigh, Node: "Seq Scan on orders", Detail: "filters 99% | of 120k rows",
						Index: "CREATE INDEX ON orders (customer_id)"}}}},
			{Statement: "UPDATE t SET a = ?", Status: investigate.ExplainSkipped, Reason: "not a SELECT"}}}
	patterns := &PatternsReport{Service: "checkout", Lines: 1020, BaselineLines: 990, Findings: []investigate.Finding{},
		Window: investigate.Window{Start: t0.Add(-30 * time.Minute), End: t0, BaselineStart: t0.Add(-time.Hour), BaselineEnd: t0.Add(-30 * time.Minute)},
		Patterns: []investigate.Pattern{{Template: "charge failed for <_> | retry", Level: "error", ErrorType: "CardError", Service: "payment",
			Count: 52, Status: investigate.PatternNew, Sample: "charge failed for ord-1 | retry", TraceIDs: []string{"t1", "t2"}}}}
	doctor := &DoctorReport{ConfigFile: "/etc/dbg/config.yaml", Context: "prod", Checks: []DoctorCheck{
		{Source: "jaeger", URL: "http://jaeger:16686", Status: "ok", Detail: "reachable and answering", Took: "12ms"},
		{Source: "prometheus", URL: "http://prom:9090", Status: "ok", Detail: "request metrics:", Metrics: []string{"http_server_request_duration_seconds: frontend"}},
		{Source: "loki", Status: "not_configured", Detail: "not set"}}}
	type printerCase struct {
		name  string
		write func(*bytes.Buffer, Format) error
	}
	cases := []printerCase{
		{"checklist", func(b *bytes.Buffer, f Format) error { return Checklist(b, goldenChecklist(), f, o) }},
		{"trace", func(b *bytes.Buffer, f Format) error { return Trace(b, goldenTrace(), f, o) }},
		{"hotspots", func(b *bytes.Buffer, f Format) error {
			return Hotspots(b, hot, f, o, []string{"query at 2026-11-25T14:00:00Z: up"})
		}},
		{"profile", func(b *bytes.Buffer, f Format) error { return Profile(b, prof, f, o) }},
		{"db", func(b *bytes.Buffer, f Format) error { return DB(b, db, f, DBOptions{Options: o}) }},
		{"tracesearch", func(b *bytes.Buffer, f Format) error { return TraceSearchResult(b, search, f, o) }},
		{"explain", func(b *bytes.Buffer, f Format) error { return Explain(b, explain, f, o) }},
		{"patterns", func(b *bytes.Buffer, f Format) error {
			if f == FormatJSON {
				return JSON(b, patterns.Patterns)
			}
			return Patterns(b, patterns, f == FormatMarkdown, o)
		}},
		{"doctor", func(b *bytes.Buffer, f Format) error { return Doctor(b, doctor, f) }},
	}
	for _, c := range cases {
		for _, f := range []Format{FormatTable, FormatMarkdown, FormatJSON} {
			t.Run(c.name+"/"+string(f), func(t *testing.T) {
				var b bytes.Buffer
				if err := c.write(&b, f); err != nil {
					t.Fatal(err)
				}
				goldenFile(t, c.name+"."+map[Format]string{FormatTable: "txt", FormatMarkdown: "md", FormatJSON: "json"}[f], b.Bytes())
			})
		}
	}
	t.Run("checklist/html", func(t *testing.T) {
		var b bytes.Buffer
		if err := Checklist(&b, goldenChecklist(), FormatHTML, o); err != nil {
			t.Fatal(err)
		}
		goldenFile(t, "checklist.html", b.Bytes())
	})
	t.Run("postmortem", func(t *testing.T) {
		var b bytes.Buffer
		if err := Postmortem(&b, goldenChecklist()); err != nil {
			t.Fatal(err)
		}
		goldenFile(t, "postmortem.md", b.Bytes())
	})
}

// TestEvidenceInHumanUnits: people read bytes, rates and durations in their units, never a bare limit
// of 0 or the internal scoring figures; the JSON keeps every key as the contract has it.
func TestEvidenceInHumanUnits(t *testing.T) {
	for _, f := range []Format{FormatTable, FormatMarkdown, FormatHTML} {
		var b bytes.Buffer
		if err := Checklist(&b, goldenChecklist(), f, Options{}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"51.5 MiB/min", "1.0 GiB", "944.1 MiB", "1.23s", "420µs", "-12ms", "30.00s"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q in the evidence", f, want)
			}
		}
		for _, bad := range []string{"max_score", "mean_score", "e+0", "limit: 0", ">limit<"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: evidence shows %q", f, bad)
			}
		}
	}
	var b bytes.Buffer
	if err := Checklist(&b, goldenChecklist(), FormatJSON, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"max_score": 0.91`, `"growth_bytes_per_min": 54000000`, `"limit": 0`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

// TestMarkdownTablesEscapePipes: a "|" in any cell of any markdown table stays inside its cell.
func TestMarkdownTablesEscapePipes(t *testing.T) {
	var b bytes.Buffer
	if err := Checklist(&b, goldenChecklist(), FormatMarkdown, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "|") {
			continue
		}
		if strings.Contains(l, "a|b") {
			t.Errorf("unescaped | in a table row: %s", l)
		}
	}
	if !strings.Contains(b.String(), `a\|b`) {
		t.Error("the piped name is not in any table")
	}
}
