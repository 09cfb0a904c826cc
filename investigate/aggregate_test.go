package investigate_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
)

// withID copies the bundled checkout trace under another ID, optionally without its N+1.
func withID(id string, nPlusOne bool) *investigate.Trace {
	tr := tracegen.Checkout(1)
	tr.ID = id
	spans := tr.Spans[:0]
	for _, s := range tr.Spans {
		if !nPlusOne && s.Operation == "SELECT items" {
			continue
		}
		s.TraceID = id
		spans = append(spans, s)
	}
	tr.Spans = spans
	return tr
}

func TestAggregateReports(t *testing.T) {
	opts := investigate.DefaultTraceOptions()
	var reps []*investigate.TraceReport
	for i, id := range []string{"a1", "a2", "a3", "a4"} {
		reps = append(reps, investigate.AnalyzeTrace(withID(id, i < 3), opts))
	}
	agg := investigate.AggregateReports(reps, investigate.AggregateOptions{MaxTraceIDs: 2})
	if agg.TraceCount != 4 || agg.ErrorCount != 4 {
		t.Fatalf("counts: %d traces, %d errors", agg.TraceCount, agg.ErrorCount)
	}
	byKind := map[string]investigate.Finding{}
	for _, f := range agg.Findings {
		if _, ok := byKind[f.Kind]; !ok {
			byKind[f.Kind] = f
		}
	}
	n1, ok := byKind[investigate.KindNPlusOne]
	if !ok {
		t.Fatalf("no aggregated N+1 in %+v", agg.Findings)
	}
	if n1.Evidence["traces"] != 3 || n1.Evidence["count"] != 12 || n1.Service != "inventory" ||
		n1.Evidence["statement"] != "SELECT id, name, price FROM items WHERE id = ?" || len(n1.TraceIDs) != 2 {
		t.Errorf("N+1: %+v", n1)
	}
	if n1.Title != `N+1 recurs in 3 of 4 traces: inventory calls "SELECT id, name, price FROM items WHERE id = ?" up to 12 times per request under GET /api/cart/{id}/items (297ms in total)` {
		t.Errorf("title: %s", n1.Title)
	}
	eo := byKind[investigate.KindErrorOrigin]
	if eo.Evidence["traces"] != 4 || eo.Evidence["exception_type"] != "redis.PoolTimeoutError" || eo.Service != "shipping" {
		t.Errorf("error origin: %+v", eo)
	}
	// The top critical-path cost is fraud-check's own time, in every trace.
	if len(agg.PathCosts) == 0 || agg.PathCosts[0].Service != "fraud-check" || agg.PathCosts[0].Traces != 4 {
		t.Fatalf("path costs: %+v", agg.PathCosts)
	}
	one := investigate.AnalyzeTrace(withID("x", true), opts)
	var single float64
	for _, p := range one.CriticalPath {
		if p.Service == "fraud-check" && p.Operation == agg.PathCosts[0].Operation {
			single += p.SelfMs
		}
	}
	if got := agg.PathCosts[0].SelfMs; got < 3.99*single || got > 4.01*single {
		t.Errorf("fraud-check self time %v, want 4 × %v", got, single)
	}
	// Recurring in every trace outranks the same problem in fewer.
	for i := 1; i < len(agg.Findings); i++ {
		if agg.Findings[i].Score > agg.Findings[i-1].Score {
			t.Fatalf("not ranked: %v before %v", agg.Findings[i-1].Score, agg.Findings[i].Score)
		}
	}
	if agg.P50Ms != 1180 || agg.P99Ms != 1180 {
		t.Errorf("p50 %v p99 %v", agg.P50Ms, agg.P99Ms)
	}
}

func TestAggregateEmptyAndSummaries(t *testing.T) {
	agg := investigate.AggregateReports(nil, investigate.AggregateOptions{})
	if agg.TraceCount != 0 || agg.Findings == nil || agg.PathCosts == nil {
		t.Fatalf("empty aggregate: %+v", agg)
	}
	opts := investigate.DefaultTraceOptions()
	fast := tracegen.Checkout(1)
	fast.ID = "fast"
	for i := range fast.Spans {
		fast.Spans[i].Duration /= 2
	}
	ss := []investigate.TraceSummary{
		investigate.Summarize(investigate.AnalyzeTrace(fast, opts)),
		investigate.Summarize(investigate.AnalyzeTrace(withID("slow", true), opts)),
	}
	investigate.SortSlowestFirst(ss)
	if ss[0].TraceID != "slow" || !ss[0].Error || ss[0].Worst == nil || ss[0].SpanCount == 0 || len(ss[0].Services) != 6 {
		t.Fatalf("summaries: %+v", ss)
	}
	if ss[1].DurationMs != 590 || ss[0].Start.IsZero() || ss[0].Start.Sub(tracegen.Epoch) != time.Duration(0) {
		t.Errorf("summary figures: %+v", ss[1])
	}
}

// BenchmarkAnalyzeAndAggregate is the CPU side of `dbg trace --service S --analyze` over 1,000 traces of
// the bundled checkout shape (35 spans each).
func BenchmarkAnalyzeAndAggregate(b *testing.B) {
	traces := make([]*investigate.Trace, 1000)
	for i := range traces {
		traces[i] = withID(strings.Repeat("0", 28)+strconv.FormatInt(int64(0x1000+i), 16), i%4 == 0)
	}
	opts := investigate.DefaultTraceOptions()
	for b.Loop() {
		reps := make([]*investigate.TraceReport, len(traces))
		for i, tr := range traces {
			reps[i] = investigate.AnalyzeTrace(tr, opts)
		}
		if agg := investigate.AggregateReports(reps, investigate.AggregateOptions{}); agg.TraceCount != 1000 {
			b.Fatal(agg.TraceCount)
		}
	}
}
