package investigate

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func findingsOfKind(fs []Finding, kind string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func httpGet(url string) func(*Span) {
	return withAttrs("http.request.method", "GET", "url.full", url)
}

func TestNPlusOneAPICalls(t *testing.T) {
	build := func(n int, each float64, gap float64) *Trace {
		spans := []Span{sp("r", "", 0, 5000, svcOp("web", "GET /orders"), kind(KindServer))}
		at := 1.0
		for i := 0; i < n; i++ {
			spans = append(spans, sp(fmt.Sprintf("c%d", i), "r", at, each, svcOp("web", "GET"), kind(KindClient), httpGet(fmt.Sprintf("http://users/api/users/%d", i))))
			at += each + gap // a loop: each call starts gap after the previous one's end
		}
		return trace(spans...)
	}
	rep := AnalyzeTrace(build(12, 40, 2), DefaultTraceOptions())
	fs := findingsOfKind(rep.Findings, KindNPlusOneAPI)
	if len(fs) != 1 {
		t.Fatalf("%d N+1 API findings: %+v", len(fs), rep.Findings)
	}
	f := fs[0]
	if f.Evidence["count"] != 12 || f.Evidence["route"] != "GET /api/users/{id}" || f.Evidence["total_ms"] != 480.0 {
		t.Errorf("evidence %v", f.Evidence)
	}
	// 12 calls back to back take 12×40 + 11×2 = 502 ms; one batched call about 40: saves 462 ms.
	if f.Evidence["saved_ms"] != 462.0 || !strings.Contains(f.Title, "save about 462ms") {
		t.Errorf("saved %v, title %q", f.Evidence["saved_ms"], f.Title)
	}
	for _, g := range rep.Findings {
		if g.Kind == KindNPlusOne && g.Evidence["route"] == "GET /api/users/{id}" {
			t.Errorf("the same calls also reported as a generic N+1: %s", g.Title)
		}
	}
	// Below Sentry's thresholds: 9 calls; or 12 calls of 10 ms (120 ms < 300 ms); or 50 ms between calls.
	for name, tr := range map[string]*Trace{"9 calls": build(9, 40, 2), "short": build(12, 10, 2), "spread out": build(12, 40, 50)} {
		if fs := findingsOfKind(AnalyzeTrace(tr, DefaultTraceOptions()).Findings, KindNPlusOneAPI); len(fs) != 0 {
			t.Errorf("%s: %s", name, fs[0].Title)
		}
	}
	// A concurrent burst counts too: starts within 5 ms of each other.
	spans := []Span{sp("r", "", 0, 1000, svcOp("web", "GET /orders"), kind(KindServer))}
	for i := 0; i < 10; i++ {
		spans = append(spans, sp(fmt.Sprintf("c%d", i), "r", 1+float64(i), 60, svcOp("web", "GET"), kind(KindClient), httpGet(fmt.Sprintf("http://users/api/users/%d", i))))
	}
	if fs := findingsOfKind(AnalyzeTrace(trace(spans...), DefaultTraceOptions()).Findings, KindNPlusOneAPI); len(fs) != 1 || fs[0].Evidence["concurrency"] != 10 {
		t.Errorf("burst: %+v", fs)
	}
}

func TestConsecutiveDB(t *testing.T) {
	q := func(id string, start, dur float64, stmt string) Span {
		return sp(id, "r", start, dur, svcOp("shop", "query"), kind(KindClient), withAttrs("db.system", "postgresql", "db.statement", stmt))
	}
	tr := trace(
		sp("r", "", 0, 600, svcOp("shop", "GET /home"), kind(KindServer)),
		q("a", 0, 100, "SELECT * FROM users WHERE id = 7"),
		q("b", 100, 150, "SELECT * FROM categories"),
		q("c", 250, 200, "SELECT count(*) FROM products"),
	)
	fs := findingsOfKind(AnalyzeTrace(tr, DefaultTraceOptions()).Findings, KindConsecutiveDB)
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	// Sequence 450 ms; running the two independent queries alongside the first: max(100, 200) = 200 → saves 250.
	if f := fs[0]; f.Evidence["parallelizable"] != 2 || f.Evidence["saved_ms"] != 250.0 || f.Evidence["sequence_ms"] != 450.0 {
		t.Errorf("evidence %v", f.Evidence)
	}
	// Every query filtered by the previous one's answer: nothing to parallelise.
	dep := trace(sp("r", "", 0, 600, svcOp("shop", "GET /home"), kind(KindServer)),
		q("a", 0, 100, "SELECT * FROM users WHERE id = 7"), q("b", 100, 150, "SELECT * FROM orders WHERE user_id = 7"))
	if fs := findingsOfKind(AnalyzeTrace(dep, DefaultTraceOptions()).Findings, KindConsecutiveDB); len(fs) != 0 {
		t.Errorf("dependent queries: %s", fs[0].Title)
	}
}

func TestConsecutiveHTTP(t *testing.T) {
	call := func(id string, start, dur float64, peer string) Span {
		return sp(id, "r", start, dur, svcOp("bff", "POST"), kind(KindClient),
			withAttrs("http.request.method", "POST", "url.full", "http://"+peer+"/api", "peer.service", peer))
	}
	tr := trace(
		sp("r", "", 0, 4000, svcOp("bff", "GET /dashboard"), kind(KindServer)),
		call("a", 0, 1000, "profile"), call("b", 1100, 1200, "billing"), call("c", 2400, 1100, "usage"),
	)
	fs := findingsOfKind(AnalyzeTrace(tr, DefaultTraceOptions()).Findings, KindConsecutiveHTTP)
	if len(fs) != 1 {
		t.Fatalf("findings %+v", AnalyzeTrace(tr, DefaultTraceOptions()).Findings)
	}
	// 3300 ms of calls, the longest 1200: parallel would save 2100 ms (≥ Sentry's 2000).
	if f := fs[0]; f.Evidence["saved_ms"] != 2100.0 || f.Evidence["count"] != 3 {
		t.Errorf("evidence %v", f.Evidence)
	}
	// Calls of 600 ms save only 1200 ms: under the threshold.
	short := trace(sp("r", "", 0, 4000, svcOp("bff", "GET /dashboard"), kind(KindServer)),
		call("a", 0, 600, "profile"), call("b", 700, 600, "billing"), call("c", 1400, 600, "usage"))
	if fs := findingsOfKind(AnalyzeTrace(short, DefaultTraceOptions()).Findings, KindConsecutiveHTTP); len(fs) != 0 {
		t.Errorf("short calls: %s", fs[0].Title)
	}
	o := DefaultTraceOptions()
	if err := o.Detectors.Set("consecutive_http.min_saved", "1s"); err != nil {
		t.Fatal(err)
	}
	if fs := findingsOfKind(AnalyzeTrace(short, o).Findings, KindConsecutiveHTTP); len(fs) != 1 {
		t.Errorf("with min_saved 1s: %+v", fs)
	}
	if err := o.Detectors.Set("consecutive_http.nope", "1s"); err == nil {
		t.Error("an unknown threshold was accepted")
	}
}

func TestSlowDBQueryAndLargePayload(t *testing.T) {
	tr := trace(
		sp("r", "", 0, 1500, svcOp("api", "GET /report"), kind(KindServer)),
		sp("q", "r", 0, 800, svcOp("api", "SELECT"), kind(KindClient), withAttrs("db.system", "postgresql", "db.query.text", "SELECT * FROM events WHERE day = '2026-01-01'")),
		sp("u", "r", 800, 100, svcOp("api", "UPDATE"), kind(KindClient), withAttrs("db.system", "postgresql", "db.query.text", "UPDATE events SET seen = true")),
		sp("h", "r", 900, 500, svcOp("api", "GET"), kind(KindClient), withAttrs("http.request.method", "GET", "url.full", "http://export/api/all", "http.response.body.size", "1200000")),
	)
	fs := AnalyzeTrace(tr, DefaultTraceOptions()).Findings
	slow := findingsOfKind(fs, KindSlowQuery)
	if len(slow) != 1 || slow[0].Evidence["statement"] != "SELECT * FROM events WHERE day = ?" || slow[0].Evidence["saved_ms"] != 300.0 {
		t.Errorf("slow query %+v", slow)
	}
	big := findingsOfKind(fs, KindLargePayload)
	// 1.2 MB in 500 ms: at 300 kB it would take a quarter of that, saving 375 ms.
	if len(big) != 1 || big[0].Evidence["bytes"] != int64(1200000) || big[0].Evidence["saved_ms"] != 375.0 {
		t.Errorf("large payload %+v", big)
	}
}

func TestMNPlusOne(t *testing.T) {
	spans := []Span{sp("r", "", 0, 2000, svcOp("shop", "GET /orders"), kind(KindServer))}
	at := 0.0
	for i := 0; i < 4; i++ {
		for _, q := range []string{"SELECT * FROM orders WHERE id = %d", "SELECT * FROM customers WHERE id = %d"} {
			spans = append(spans, sp(fmt.Sprintf("s%d-%d", i, len(spans)), "r", at, 20, svcOp("shop", "query"), kind(KindClient),
				withAttrs("db.system", "mysql", "db.statement", fmt.Sprintf(q, i))))
			at += 21
		}
	}
	fs := findingsOfKind(AnalyzeTrace(trace(spans...), DefaultTraceOptions()).Findings, KindMNPlusOne)
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	// 8 queries of 20 ms; batched, one pair remains: saves 120 ms.
	if f := fs[0]; f.Evidence["count"] != 4 || f.Evidence["saved_ms"] != 120.0 || len(f.Evidence["pattern"].([]string)) != 2 {
		t.Errorf("evidence %v", f.Evidence)
	}
}

// TestAsyncOffTheCriticalPath: a consumer waits on the queue; that is neither the producer's latency
// nor the request's, and the lag between the producer's end and the consumer's start is reported.
func TestAsyncOffTheCriticalPath(t *testing.T) {
	tr := trace(
		sp("r", "", 0, 100, svcOp("orders", "POST /orders"), kind(KindServer)),
		sp("p", "r", 10, 5, svcOp("orders", "orders publish"), kind(KindProducer), withAttrs("messaging.system", "kafka", "messaging.destination.name", "orders")),
		sp("c", "p", 2015, 300, svcOp("billing", "orders process"), kind(KindConsumer), withAttrs("messaging.system", "kafka", "messaging.destination.name", "orders")),
		// A consumer that starts while its producer still waits for the broker's acknowledgement.
		sp("p2", "r", 30, 50, svcOp("orders", "events publish"), kind(KindProducer), withAttrs("messaging.destination.name", "events")),
		sp("c3", "p2", 40, 200, svcOp("search", "events process"), kind(KindConsumer)),
		// A batch consumer in another tree of the trace, linked to the producer.
		Span{TraceID: "t1", SpanID: "c2", Service: "audit", Operation: "orders receive", Kind: KindConsumer,
			Start: t0.Add(1015 * time.Millisecond), Duration: 20 * time.Millisecond, Links: []Link{{SpanID: "p", Type: RefFollowsFrom}}},
	)
	rep := AnalyzeTrace(tr, DefaultTraceOptions())
	for _, p := range rep.CriticalPath {
		if p.SpanID == "c" || p.SpanID == "c3" {
			t.Errorf("the consumer is on the critical path: %+v", rep.CriticalPath)
		}
	}
	if rep.DurationMs != 100 {
		t.Errorf("duration %v", rep.DurationMs)
	}
	if hasWarning(rep.Warnings, "clock skew") {
		t.Errorf("an async consumer read as clock skew: %v", rep.Warnings)
	}
	lags := findingsOfKind(rep.Findings, KindQueueLag)
	if len(lags) != 3 {
		t.Fatalf("queue lags %+v", lags)
	}
	byService := map[string]Finding{}
	for _, f := range lags {
		byService[f.Service] = f
	}
	if f := byService["billing"]; f.Evidence["lag_ms"] != 2000.0 || f.Evidence["destination"] != "orders" || f.Severity.Rank() < SeverityMedium.Rank() {
		t.Errorf("billing lag %+v", f)
	}
	if f := byService["audit"]; f.Evidence["lag_ms"] != 1000.0 {
		t.Errorf("audit lag (by link) %+v", f)
	}
	for _, f := range rep.Findings {
		if f.Kind == KindSlowSpan && f.Service == "billing" {
			t.Errorf("the consumer's work is charged to the request: %s", f.Title)
		}
	}
}
