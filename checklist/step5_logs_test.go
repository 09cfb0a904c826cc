package checklist

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/incidentgen"
	"github.com/dbgtool/dbg/investigate"
)

// queryLogs is a log store over records: it answers each query with the records its filter matches,
// records the query, and explains it in dbg's syntax (a stand-in for a backend's compiler).
type queryLogs struct {
	recs    []investigate.LogRecord
	queries []investigate.LogQuery
}

func (s *queryLogs) Logs(_ context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	s.queries = append(s.queries, q)
	m := q.Matcher()
	for i := range s.recs {
		if m.Match(&s.recs[i]) {
			if err := emit(s.recs[i]); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

func (s *queryLogs) Explain(_ context.Context, q investigate.LogQuery) (investigate.LogRequest, error) {
	return investigate.LogRequest{Backend: "test", Query: q.Filter().String()}, nil
}

func (s *queryLogs) Check(context.Context) error { return nil }

// TestLogsStepQueriesThroughTheCompiler: the failing traces' lines come from one query holding all
// their trace IDs, and every log finding carries a query that finds its lines, dbg syntax and backend.
func TestLogsStepQueriesThroughTheCompiler(t *testing.T) {
	c, err := incidentgen.Generate(incidentgen.ErrorBurst, incidentgen.Options{Traces: 40, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	store := &queryLogs{recs: c.Logs}
	inv := &Investigation{Service: "frontend", Window: c.Window(), Options: DefaultOptions(),
		Sources: Sources{Traces: fakeTraces{traces: c.Traces}, Logs: store}, Now: func() time.Time { return incidentgen.End }}
	res := logsStep{}.Run(context.Background(), inv, nil)
	if len(res.Findings) == 0 {
		t.Fatalf("no log findings: %s", res.Summary)
	}
	traceQueries := 0
	for _, q := range store.queries {
		if q.Expr != nil && strings.Contains(q.Expr.String(), "trace_id:") {
			traceQueries++
			if q.Expr.Op != investigate.ExprOr && q.Expr.Op != investigate.ExprTerm {
				t.Errorf("trace query is not an OR of trace IDs: %s", q.Expr)
			}
		}
	}
	if traceQueries != 1 || !strings.Contains(res.Summary, "lines belong to the") {
		t.Errorf("%d trace-ID queries, want 1; summary %s", traceQueries, res.Summary)
	}
	for _, f := range res.Findings {
		text, _ := f.Evidence["query"].(string)
		e, err := investigate.ParseLogQuery(text)
		if err != nil || e == nil {
			t.Fatalf("finding %q: query %q does not parse: %v", f.Title, text, err)
		}
		if bq, _ := f.Evidence["backend_query"].(string); bq != "test: "+e.String() {
			t.Errorf("finding %q: backend_query %q", f.Title, bq)
		}
		// The query finds the template's sample line among the window's records.
		q := investigate.LogQuery{Expr: e}
		m := q.Matcher()
		found := false
		for i := range c.Logs {
			if c.Logs[i].Message == f.Evidence["sample"] && m.Match(&c.Logs[i]) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("finding %q: query %s does not find its sample line %q", f.Title, text, f.Evidence["sample"])
		}
	}
}
