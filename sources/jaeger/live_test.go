package jaeger

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/otlp"
)

// liveAPIs are the three ways dbg reads a real Jaeger.
func liveAPIs(t *testing.T, j *testserver.JaegerServer) map[string]*Client {
	t.Helper()
	mk := func(u string) *Client {
		c, err := New(httpx.Endpoint{URL: u, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	classic := mk(j.QueryHTTP)
	classic.b.(*httpBackend).api.Store(apiClassic)
	return map[string]*Client{"http-v3": mk(j.QueryHTTP), "http-classic": classic, "grpc": mk("grpc://" + j.QueryGRPC)}
}

// findingsJSON is the analysis of tr as its findings' JSON, the thing that must not depend on the API.
func findingsJSON(t *testing.T, tr *investigate.Trace) string {
	t.Helper()
	rep := investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
	b, err := json.MarshalIndent(struct {
		Findings []investigate.Finding
		Path     []investigate.PathEntry
		Spans    int
	}{rep.Findings, rep.CriticalPath, rep.SpanCount}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLiveJaeger(t *testing.T) {
	j := testserver.Jaeger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The bundled checkout trace, sent over OTLP/HTTP, must read back with the findings the file gives.
	f, err := os.Open("../../testdata/traces/checkout.json")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := DecodeClassic(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := tracegen.PostOTLP(ctx, j.OTLPHTTP, otlp.FromTraces(fromFile)); err != nil {
		t.Fatal(err)
	}
	// A workload in the last minutes, and an older batch for the time-window search.
	now := time.Now().UTC().Truncate(time.Millisecond)
	recent := now.Add(-5 * time.Minute)
	const n = 40
	td, ids := tracegen.Workload(0xfeed, n, recent)
	if err := tracegen.PostOTLPBatched(ctx, j.OTLPHTTP, td, 60); err != nil {
		t.Fatal(err)
	}
	old, oldIDs := tracegen.Workload(0xdead, 5, now.Add(-3*time.Hour))
	if err := tracegen.PostOTLP(ctx, j.OTLPHTTP, old); err != nil {
		t.Fatal(err)
	}
	local := map[string]*investigate.Trace{}
	for _, tr := range otlp.Convert(td) {
		local[tr.ID] = tr
	}
	want := findingsJSON(t, fromFile[0])

	for name, c := range liveAPIs(t, j) {
		t.Run(name, func(t *testing.T) {
			tr, err := c.Trace(ctx, fromFile[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := findingsJSON(t, tr); got != want {
				t.Errorf("findings over %s differ from the file's:\n got %s\nwant %s", name, got, want)
			}

			// Several at once, in order.
			some := []string{ids[3].String(), ids[0].String(), ids[17].String()}
			ts, err := c.Traces(ctx, some)
			if err != nil {
				t.Fatal(err)
			}
			for i, tr := range ts {
				if tr.ID != some[i] || len(tr.Spans) != len(local[some[i]].Spans) {
					t.Errorf("trace %d: %s with %d spans, want %s with %d", i, tr.ID, len(tr.Spans), some[i], len(local[some[i]].Spans))
				}
			}

			if gb, ok := c.b.(*grpcBackend); ok && gb.v2only.Load() {
				t.Error("Jaeger v2 answers api_v3 over gRPC, but the client fell back to api_v2")
			}
			_, err = c.Trace(ctx, "0123456789abcdef0123456789abcdef")
			if err == nil || err.Error() != "trace 0123456789abcdef0123456789abcdef not found in Jaeger at "+c.URL()+" (check the ID and that the trace is still retained)" {
				t.Errorf("not found: %v", err)
			}

			svcs, err := c.Services(ctx)
			if err != nil || !strings.Contains(","+strings.Join(svcs, ",")+",", ",checkout,") {
				t.Errorf("services: %v %v", svcs, err)
			}
			ops, err := c.Operations(ctx, "payment")
			if err != nil || !strings.Contains(strings.Join(ops, ","), "payment.Payment/Charge") {
				t.Errorf("operations: %v %v", ops, err)
			}

			window := investigate.TraceQuery{Service: "checkout", Start: recent.Add(-time.Minute), End: now.Add(time.Minute), Limit: 1000}
			search := func(mod func(q *investigate.TraceQuery)) map[string]bool {
				t.Helper()
				q := window
				mod(&q)
				ts, err := c.Search(ctx, q)
				if err != nil {
					t.Fatalf("search %+v: %v", q, err)
				}
				got := map[string]bool{}
				for _, tr := range ts {
					got[tr.ID] = true
				}
				return got
			}
			expect := func(label string, got map[string]bool, keep func(i int, tr *investigate.Trace) bool) {
				t.Helper()
				wantN := 0
				for i, id := range ids {
					if keep(i, local[id.String()]) {
						wantN++
						if !got[id.String()] {
							t.Errorf("%s: trace %d (%s) missing", label, i, id)
						}
					}
				}
				if len(got) != wantN {
					t.Errorf("%s: %d traces, want %d", label, len(got), wantN)
				}
			}
			expect("service", search(func(*investigate.TraceQuery) {}), func(int, *investigate.Trace) bool { return true })
			expect("operation", search(func(q *investigate.TraceQuery) { q.Service, q.Operation = "payment", "payment.Payment/Charge" }),
				func(int, *investigate.Trace) bool { return true })
			if got := search(func(q *investigate.TraceQuery) { q.Operation = "no such operation" }); len(got) != 0 {
				t.Errorf("unknown operation: %d traces", len(got))
			}
			expect("tag", search(func(q *investigate.TraceQuery) {
				q.Service, q.Tags = "frontend", map[string]string{"customer.tier": "gold"}
			}),
				func(i int, _ *investigate.Trace) bool { return i%3 == 0 })
			expect("errors", search(func(q *investigate.TraceQuery) { q.Errors = true }), func(i int, _ *investigate.Trace) bool { return i%10 == 9 })
			const minDur = 120 * time.Millisecond
			expect("min duration", search(func(q *investigate.TraceQuery) { q.MinDuration = minDur }), func(_ int, tr *investigate.Trace) bool {
				for _, s := range tr.Spans {
					if s.Service == "checkout" && s.Duration >= minDur {
						return true
					}
				}
				return false
			})
			gotOld := search(func(q *investigate.TraceQuery) {
				q.Start, q.End = now.Add(-3*time.Hour-time.Minute), now.Add(-2*time.Hour)
			})
			if len(gotOld) != len(oldIDs) || !gotOld[oldIDs[0].String()] {
				t.Errorf("time window: %d traces, want the %d old ones", len(gotOld), len(oldIDs))
			}
			if got := search(func(q *investigate.TraceQuery) { q.Limit = 7 }); len(got) != 7 {
				t.Errorf("limit 7: %d traces", len(got))
			}

			// Too slow: one clear line naming the URL and the limit.
			slow, err := New(httpx.Endpoint{URL: c.URL(), Timeout: time.Microsecond, Retries: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Close()
			_, err = slow.Search(ctx, window)
			if err == nil || !strings.Contains(err.Error(), "Jaeger at "+c.URL()) || !strings.Contains(err.Error(), "no answer within 1µs") {
				t.Errorf("timeout: %v", err)
			}
		})
	}
}

// liveSpanCount is used by the benchmark to check what Jaeger returned.
func liveSpanCount(ts []*investigate.Trace) int {
	n := 0
	for _, t := range ts {
		n += len(t.Spans)
	}
	return n
}

// BenchmarkLiveSearchAnalyze measures search + analysis of 1,000 traces from a real Jaeger, per API.
func BenchmarkLiveSearchAnalyze(b *testing.B) {
	j := testserver.Jaeger(b)
	ctx := context.Background()
	now := time.Now().UTC()
	td, _ := tracegen.Workload(0xbe4c, 1000, now.Add(-10*time.Minute))
	if err := tracegen.PostOTLPBatched(ctx, j.OTLPHTTP, td, 300); err != nil {
		b.Fatal(err)
	}
	q := investigate.TraceQuery{Service: "checkout", Start: now.Add(-time.Hour), End: now.Add(time.Minute), Limit: 1000}
	for _, api := range []struct{ name, url string }{{"http", j.QueryHTTP}, {"grpc", "grpc://" + j.QueryGRPC}} {
		b.Run(api.name, func(b *testing.B) {
			c, err := New(httpx.Endpoint{URL: api.url})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for b.Loop() {
				ts, err := c.Search(ctx, q)
				if err != nil || len(ts) != 1000 {
					b.Fatalf("%d traces, %v", len(ts), err)
				}
				for _, tr := range ts {
					investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
				}
				b.ReportMetric(float64(liveSpanCount(ts)), "spans/op")
			}
		})
	}
}
