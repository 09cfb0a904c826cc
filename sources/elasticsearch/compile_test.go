package elasticsearch

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// TestCompile: every construct of dbg's query language as query DSL clauses (docs/logs.md shows the
// same). Clause shapes follow the Elasticsearch query DSL reference:
// https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-bool-query.html (filter,
// should + minimum_should_match, must_not), .../query-dsl-term-query.html, .../query-dsl-terms-query.html,
// .../query-dsl-match-query-phrase.html, .../query-dsl-range-query.html (gt, gte, lt, lte),
// .../query-dsl-wildcard-query.html (value, case_insensitive; \ escapes * and ?),
// .../query-dsl-exists-query.html. OpenSearch documents the same shapes.
func TestCompile(t *testing.T) {
	f := ECSFields()
	tests := []struct{ q, want string }{
		{"correlation_id:\"abc-123\" AND level:error", `{"bool":{"filter":[{"bool":{"should":[{"term":{"labels.correlation_id":"abc-123"}},{"term":{"http.request.id":"abc-123"}},{"term":{"correlation_id":"abc-123"}}],"minimum_should_match":1}},{"terms":{"log.level":["error","ERROR","Error"]}}]}}`},
		{"duration:>1000 AND path:\"/api/orders\"", `{"bool":{"filter":[{"range":{"duration":{"gt":1000}}},{"term":{"path":"/api/orders"}}]}}`},
		{"error_type:\"DatabaseError\" AND service:\"payment\"", `{"bool":{"filter":[{"term":{"error_type":"DatabaseError"}},{"term":{"service.name":"payment"}}]}}`},
		{"duration:>=1.5s", `error: elasticsearch: duration:>=1.5s: Elasticsearch compares numbers, and only the index mapping knows a duration field's unit; write the number in that unit (duration:>=1500 for milliseconds)`},
		{"latency_ms:<250", `{"range":{"latency_ms":{"lt":250}}}`},
		{"size:<=1024", `{"range":{"size":{"lte":1024}}}`},
		{"path:*orders*", `{"wildcard":{"path":{"value":"*orders*"}}}`},
		{"host:web-*", `{"wildcard":{"host":{"value":"web-*"}}}`},
		{"time*out", `{"wildcard":{"message":{"case_insensitive":true,"value":"time*out"}}}`},
		{"\"connection reset\"", `{"match_phrase":{"message":"connection reset"}}`},
		{"timeout", `{"match_phrase":{"message":"timeout"}}`},
		{"_exists_:trace_id", `{"exists":{"field":"trace.id"}}`},
		{"NOT _exists_:user", `{"bool":{"must_not":[{"exists":{"field":"user"}}]}}`},
		{"a OR b", `{"bool":{"should":[{"match_phrase":{"message":"a"}},{"match_phrase":{"message":"b"}}],"minimum_should_match":1}}`},
		{"service:a OR service:b", `{"bool":{"should":[{"term":{"service.name":"a"}},{"term":{"service.name":"b"}}],"minimum_should_match":1}}`},
		{"level:(error OR warn)", `{"bool":{"should":[{"terms":{"log.level":["error","ERROR","Error"]}},{"terms":{"log.level":["warn","WARN","Warn"]}}],"minimum_should_match":1}}`},
		{"-level:debug", `{"bool":{"must_not":[{"terms":{"log.level":["debug","DEBUG","Debug"]}}]}}`},
		{"NOT (status:500 AND method:GET)", `{"bool":{"must_not":[{"bool":{"filter":[{"term":{"status":"500"}},{"term":{"method":"GET"}}]}}]}}`},
		{"namespace:prod service:api*", `{"bool":{"filter":[{"term":{"namespace":"prod"}},{"wildcard":{"service.name":{"value":"api*"}}}]}}`},
		{"trace_id:(t1 OR t2)", `{"bool":{"should":[{"term":{"trace.id":"t1"}},{"term":{"trace.id":"t2"}}],"minimum_should_match":1}}`},
		{"status:>=500 OR latency_ms:>2000", `{"bool":{"should":[{"range":{"status":{"gte":500}}},{"range":{"latency_ms":{"gt":2000}}}],"minimum_should_match":1}}`},
		{"error -\"health check\"", `{"bool":{"filter":[{"match_phrase":{"message":"error"}},{"bool":{"must_not":[{"match_phrase":{"message":"health check"}}]}}]}}`},
		{"user:*", `{"exists":{"field":"user"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			e, err := investigate.ParseLogQuery(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			c, err := Compile(e, f)
			if err != nil {
				got = "error: " + err.Error()
			} else {
				b, _ := json.Marshal(c)
				got = string(b)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestCompileHostileQueryValues: values with Lucene and query_string specials stay JSON strings in
// term, match_phrase and wildcard clauses (wildcard specials escaped), never parsed as a query.
func TestCompileHostileQueryValues(t *testing.T) {
	for _, v := range []string{`a OR b`, `*:*`, `x" || "y`, `\`, `a?b*c`, `field:value AND _exists_:x`, "new\nline", `{"match_all":{}}`, `(a)~2^3`} {
		e := investigate.And(investigate.FieldEq("service", v), investigate.Text(v),
			investigate.Term(investigate.LogTerm{Kind: investigate.TermWildcard, Field: "host", Parts: []string{v}, TrailStar: true}))
		c, err := Compile(e, ECSFields())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(c)
		var back struct {
			Bool struct {
				Filter []map[string]map[string]any `json:"filter"`
			} `json:"bool"`
		}
		if err := json.Unmarshal(b, &back); err != nil || len(back.Bool.Filter) != 3 {
			t.Fatalf("value %q: %s (%v)", v, b, err)
		}
		if got := back.Bool.Filter[0]["term"]["service.name"]; got != v {
			t.Errorf("term value %q came back as %v", v, got)
		}
		if got := back.Bool.Filter[1]["match_phrase"]["message"]; got != v {
			t.Errorf("match_phrase value %q came back as %v", v, got)
		}
		w := back.Bool.Filter[2]["wildcard"]["host"].(map[string]any)["value"].(string)
		unesc := strings.NewReplacer(`\*`, "\x00", `\?`, "\x01", `\\`, `\`).Replace(strings.TrimSuffix(w, "*"))
		if strings.ContainsAny(unesc, "*?") || strings.NewReplacer("\x00", "*", "\x01", "?").Replace(unesc) != v {
			t.Errorf("wildcard value %q written as %q", v, w)
		}
		if strings.Contains(string(b), "query_string") {
			t.Errorf("query_string in %s", b)
		}
	}
}

// TestLogsSendsCompiledQuery records the _search body for a query (the fake follows the documented
// request and answer shapes listed at the top of elasticsearch_test.go): the time range and each
// top-level AND part one bool filter clause, the query as structured clauses.
func TestLogsSendsCompiledQuery(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	f := &fakeES{t: t, flavor: "none", docs: []doc{ecsDoc(base, "payment", "ERROR", "charge failed", "t1")}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := New(httpx.Endpoint{URL: srv.URL}, Config{Fields: Fields{Renames: map[string]string{"duration": "event.duration"}}})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := investigate.ParseLogQuery(`error_type:"DatabaseError" AND service:"payment" AND duration:>1000 AND NOT path:/health*`)
	q := investigate.LogQuery{Expr: e, Start: base.Add(-time.Hour), End: base.Add(time.Hour), Limit: 10}
	if _, err := c.Logs(context.Background(), q, func(investigate.LogRecord) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(f.bodies) != 1 {
		t.Fatalf("%d _search bodies", len(f.bodies))
	}
	got, _ := json.Marshal(f.bodies[0]["query"])
	want := `{"bool":{"filter":[{"range":{"@timestamp":{"format":"strict_date_optional_time_nanos","gte":"2026-11-25T09:00:00Z","lt":"2026-11-25T11:00:00Z"}}},` +
		`{"term":{"error_type":"DatabaseError"}},{"term":{"service.name":"payment"}},{"range":{"event.duration":{"gt":1000}}},` +
		`{"bool":{"must_not":[{"wildcard":{"path":{"value":"/health*"}}}]}}]}}`
	if string(got) != want {
		t.Errorf("query\n got %s\nwant %s", got, want)
	}
	// A duration comparison is refused before anything is sent, with the number to write instead.
	e, _ = investigate.ParseLogQuery(`duration:>1.5s`)
	_, err = c.Logs(context.Background(), investigate.LogQuery{Expr: e}, func(investigate.LogRecord) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "duration:>1500") || f.searches != 1 {
		t.Errorf("duration comparison: err = %v after %d searches", err, f.searches)
	}
}
