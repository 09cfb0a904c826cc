package investigate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
)

func findingsOf(fs []investigate.Finding, kind string) []investigate.Finding {
	var out []investigate.Finding
	for _, f := range fs {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func queryByStatement(rep *investigate.QueryReport, st string) *investigate.QueryStat {
	for i := range rep.Queries {
		if rep.Queries[i].Statement == st {
			return &rep.Queries[i]
		}
	}
	return nil
}

// TestAnalyzeQueriesPlanted checks the bundled database incident: the planted slow query and the planted
// N+1 each rank first in their kind, with the figures and baseline change the generator put there.
func TestAnalyzeQueriesPlanted(t *testing.T) {
	opts := investigate.DefaultQueryOptions()
	opts.Window = tracegen.DBWindow
	rep := investigate.AnalyzeQueries(tracegen.DBWorkload(1), opts)

	if rep.Requests != 26 || rep.BaselineRequests != 26 {
		t.Errorf("requests %d, baseline %d; want 26 and 26", rep.Requests, rep.BaselineRequests)
	}
	if len(rep.Queries) == 0 || rep.Queries[0].Statement != tracegen.DBSlowQuery {
		t.Fatalf("first by total time: %+v, want the slow query", rep.Queries[0].Statement)
	}
	slow := findingsOf(rep.Findings, investigate.KindSlowQuery)
	loops := findingsOf(rep.Findings, investigate.KindNPlusOne)
	if len(slow) < 2 || slow[0].Evidence["statement"] != tracegen.DBSlowQuery {
		t.Fatalf("slow_query findings %v: want the planted one first and the search second", slow)
	}
	if slow[1].Evidence["statement"] != tracegen.DBSearch {
		t.Errorf("second slow_query %v, want the product search", slow[1].Evidence["statement"])
	}
	if len(loops) != 2 || loops[0].Evidence["statement"] != tracegen.DBNPlusOne || loops[1].Evidence["statement"] != tracegen.DBOldLoop {
		t.Fatalf("n_plus_one findings %v: want the planted one, then the feature-flag loop", loops)
	}
	for _, f := range rep.Findings {
		for _, k := range []string{"statement", "count", "total_ms", "p99_ms"} {
			if _, ok := f.Evidence[k]; !ok {
				t.Errorf("%s finding lacks evidence %q", f.Kind, k)
			}
		}
	}
	if _, ok := slow[0].Evidence["value"]; !ok {
		t.Error("slow_query lacks evidence value")
	}
	if loops[0].Evidence["parent_operation"] != "GET /api/orders/{id}" || loops[0].Evidence["count"] != 30 {
		t.Errorf("N+1 evidence %v: want 30 calls under GET /api/orders/{id}", loops[0].Evidence)
	}

	sq := queryByStatement(rep, tracegen.DBSlowQuery)
	if sq.Change != investigate.ChangeSlower || sq.Baseline == nil || sq.Baseline.P99Ms > 5 || sq.P99Ms < 350 {
		t.Errorf("slow query: change %q, p99 %v, baseline %+v; want slower, ~450ms against ~3ms", sq.Change, sq.P99Ms, sq.Baseline)
	}
	if sq.Count != 8 || sq.Requests != 8 || sq.CallsPerRequest != 1 {
		t.Errorf("slow query count %d requests %d calls/request %v; want 8, 8, 1", sq.Count, sq.Requests, sq.CallsPerRequest)
	}
	if len(sq.Endpoints) != 1 || sq.Endpoints[0] != "GET /api/customers/{id}/orders" || sq.Services[0] != "orders" {
		t.Errorf("slow query endpoints %v services %v", sq.Endpoints, sq.Services)
	}
	if len(sq.Samples) == 0 || investigate.HasPlaceholders(sq.Samples[0]) {
		t.Errorf("slow query samples %q: want a statement with values", sq.Samples)
	}
	np := queryByStatement(rep, tracegen.DBNPlusOne)
	if !np.NPlusOne || np.Change != investigate.ChangeNew || np.CallsPerRequest != 30 || np.Baseline != nil {
		t.Errorf("N+1: %+v; want marked, new, 30 calls a request", np)
	}
	old := queryByStatement(rep, tracegen.DBOldLoop)
	if !old.NPlusOne || old.Change != "" {
		t.Errorf("flag loop: n+1 %v change %q; want marked and unchanged", old.NPlusOne, old.Change)
	}
	users := queryByStatement(rep, "SELECT id, email, name FROM users WHERE id = ?")
	if users == nil || users.NPlusOne || !investigate.HasPlaceholders(users.Samples[0]) {
		t.Errorf("users query %+v: want present, not N+1, sample with a placeholder", users)
	}
	// The IN-list of the baseline is a different fingerprint from the per-id query.
	if in := queryByStatement(rep, "SELECT id, name, price FROM products WHERE id IN (?)"); in != nil {
		t.Errorf("the baseline's IN query shows in the window: %+v", in)
	}
}

func TestAnalyzeQueriesServiceAndWindow(t *testing.T) {
	opts := investigate.DefaultQueryOptions()
	opts.Service = "catalog"
	rep := investigate.AnalyzeQueries(tracegen.DBWorkload(1), opts)
	if rep.Requests != 12 && rep.Requests != 52 {
		t.Logf("requests %d", rep.Requests)
	}
	for _, q := range rep.Queries {
		if len(q.Services) != 1 || q.Services[0] != "catalog" {
			t.Errorf("--service catalog reported %v for %q", q.Services, q.Statement)
		}
	}
	if rep.Baseline != nil || rep.Window != nil {
		t.Error("no window given, yet the report has one")
	}
	// A window with no traces at all: empty lists, not nil, and a warning.
	opts = investigate.DefaultQueryOptions()
	opts.Window = investigate.Window{Start: tracegen.Epoch.Add(24 * time.Hour), End: tracegen.Epoch.Add(25 * time.Hour)}
	rep = investigate.AnalyzeQueries(tracegen.DBWorkload(1), opts)
	if len(rep.Queries) != 0 || rep.Findings == nil || len(rep.Warnings) != 1 {
		t.Errorf("empty window: %d queries, findings %v, warnings %v", len(rep.Queries), rep.Findings, rep.Warnings)
	}
	if r := investigate.AnalyzeQueries(nil, investigate.DefaultQueryOptions()); r.Queries == nil || r.Findings == nil {
		t.Error("nil traces: nil slices in the report")
	}
}

func TestIsStatementSpan(t *testing.T) {
	cases := []struct {
		attrs investigate.Attrs
		op    string
		ok    bool
		fp    string
	}{
		{investigate.Attrs{{Key: "db.query.text", Value: "select 1"}}, "q", true, "SELECT ?"},
		{investigate.Attrs{{Key: "db.system", Value: "redis"}}, "GET", true, "GET"},
		{investigate.Attrs{{Key: "db.system.name", Value: "mongodb"}, {Key: "db.operation.name", Value: "find"}, {Key: "db.collection.name", Value: "users"}}, "x", true, "FIND users"},
		{investigate.Attrs{{Key: "db.system", Value: "postgresql"}, {Key: "db.query.summary", Value: "SELECT orders"}}, "x", true, "SELECT orders"},
		{investigate.Attrs{{Key: "http.route", Value: "/x"}}, "GET /x", false, ""},
	}
	for _, c := range cases {
		s := &investigate.Span{Operation: c.op, Attrs: c.attrs}
		_, fp, ok := investigate.IsStatementSpan(s)
		if ok != c.ok || fp != c.fp {
			t.Errorf("%v: got (%q, %v), want (%q, %v)", c.attrs, fp, ok, c.fp, c.ok)
		}
	}
}

func BenchmarkAnalyzeQueries(b *testing.B) {
	traces := []*investigate.Trace{}
	for i := 0; i < 20; i++ {
		traces = append(traces, tracegen.Large(5000, uint64(i), fmt.Sprintf("%032x", i+1))) // 100k spans
	}
	opts := investigate.DefaultQueryOptions()
	b.ReportAllocs()
	for b.Loop() {
		investigate.AnalyzeQueries(traces, opts)
	}
}
