package loki

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// TestCompile: every construct of dbg's query language in LogQL (docs/logs.md shows the same).
// LogQL shapes follow https://grafana.com/docs/loki/latest/query/log_queries/ (stream selector, line
// filters, parser expressions, label filter expressions with and/or, numeric and duration comparisons,
// __error__).
func TestCompile(t *testing.T) {
	cfg := Config{StreamLabels: []string{"namespace", "cluster", "job"}}
	tests := []struct{ q, want string }{
		{"correlation_id:\"abc-123\" AND level:error", `{service_name=~".+"} |= "abc-123" | detected_level=~"(?i)error"`},
		{"duration:>1000 AND path:\"/api/orders\"", `{service_name=~".+"} | json | duration > 1000 | path="/api/orders" | __error__=""`},
		{"error_type:\"DatabaseError\" AND service:\"payment\"", `{service_name="payment"} | json | error_type="DatabaseError" | __error__=""`},
		{"duration:>=1.5s", `{service_name=~".+"} | json | duration >= 1.5s | __error__=""`},
		{"latency_ms:<250", `{service_name=~".+"} | json | latency_ms < 250 | __error__=""`},
		{"size:<=1024", `{service_name=~".+"} | json | size <= 1024 | __error__=""`},
		{"path:*orders*", `{service_name=~".+"} | json | path=~".*orders.*" | __error__=""`},
		{"host:web-*", `{service_name=~".+"} | json | host=~"web-.*" | __error__=""`},
		{"time*out", `{service_name=~".+"} |~ "(?is)\\btime.*out\\b"`},
		{"\"connection reset\"", `{service_name=~".+"} |~ "(?i)\\bconnection reset\\b"`},
		{"timeout", `{service_name=~".+"} |~ "(?i)\\btimeout\\b"`},
		{"_exists_:trace_id", `{service_name=~".+"} | json | trace_id!="" | __error__=""`},
		{"NOT _exists_:user", `{service_name=~".+"} | json | user="" | __error__=""`},
		{"a OR b", `{service_name=~".+"} |~ "(?:(?i)\\ba\\b)|(?:(?i)\\bb\\b)"`},
		{"service:a OR service:b", `{service_name=~"a|b"}`},
		{"service:(a.b OR c) level:error", `{service_name=~"a\\.b|c"} | detected_level=~"(?i)error"`},
		{"level:(error OR warn)", `{service_name=~".+"} | (detected_level=~"(?i)error" or detected_level=~"(?i)warn")`},
		{"-level:debug", `{service_name=~".+"} | detected_level!~"(?i)debug"`},
		{"NOT (status:500 AND method:GET)", `{service_name=~".+"} | json | (status!="500" or method!="GET") | __error__=""`},
		{"namespace:prod service:api*", `{namespace="prod", service_name=~"api.*"}`},
		{"trace_id:(t1 OR t2)", `{service_name=~".+"} |~ "(?:t1)|(?:t2)"`},
		{"status:>=500 OR latency_ms:>2000", `{service_name=~".+"} | json | (status >= 500 or latency_ms > 2000) | __error__=""`},
		{"error -\"health check\"", `{service_name=~".+"} |~ "(?i)\\berror\\b" !~ "(?i)\\bhealth check\\b"`},
		{"user:*", `{service_name=~".+"} | json | user!="" | __error__=""`},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			e, err := investigate.ParseLogQuery(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Compile(e, cfg)
			if err != nil {
				got = "error: " + err.Error()
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCompileLogfmtAndLabels(t *testing.T) {
	e, _ := investigate.ParseLogQuery(`http.status:>=500 trace_id:abc`)
	got, err := Compile(e, Config{Format: "logfmt", TraceLabel: "trace_id", Renames: map[string]string{"http.status": "status_code"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{service_name=~".+"} | logfmt | status_code >= 500 | trace_id="abc" | __error__=""`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := SanitizeLabel("1http.status-code"); got != "_1http_status_code" {
		t.Errorf("SanitizeLabel = %s", got)
	}
	e, _ = investigate.ParseLogQuery(`timeout OR status:500`)
	if _, err := Compile(e, Config{}); err == nil || !strings.Contains(err.Error(), "cannot sit inside an OR") {
		t.Errorf("text OR field: err = %v, want a clear error", err)
	}
}

// TestCompileHostileQueryValues: values typed in a query, with LogQL's own syntax in them, stay one
// string literal wherever they land (selector, line filter, label filter, regexp).
func TestCompileHostileQueryValues(t *testing.T) {
	build := func(v string) string {
		t.Helper()
		e := investigate.And(investigate.FieldEq("service", v), investigate.FieldEq("namespace", v), investigate.FieldEq("path", v),
			investigate.Text(v), investigate.Not(investigate.Text(v)), investigate.FieldEq("correlation_id", v),
			investigate.Term(investigate.LogTerm{Kind: investigate.TermWildcard, Field: "host", Parts: []string{v}, TrailStar: true}),
			investigate.Term(investigate.LogTerm{Kind: investigate.TermWildcard, Parts: []string{v}, LeadStar: true}))
		q, err := Compile(e, Config{StreamLabels: []string{"namespace"}})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	want := logqlShape(t, build("a"))
	for _, v := range append(hostile, "a}|=\"", "\n", `\"`, `|~ ".*"`, `or x="y"`, "(?i).*") {
		got := build(v)
		if s := logqlShape(t, got); s != want {
			t.Errorf("value %q changed the query:\n got %s\nwant %s\n(%s)", v, s, want, got)
		}
		if !strings.Contains(got, strconv.Quote(v)) {
			t.Errorf("value %q not quoted in %s", v, got)
		}
	}
}

// TestLogsSendsCompiledQuery records what reaches Loki for a query on parsed fields with the format
// left to detection: first one line of the selected streams (limit=1, direction=backward), then the
// query_range with the parser stage that line called for. Parameters as the Loki HTTP API documents
// them (https://grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-within-a-range-of-time:
// query, start and end in Unix nanoseconds, limit, direction).
func TestLogsSendsCompiledQuery(t *testing.T) {
	var reqs []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs = append(reqs, r.URL.Query())
		ts := strconv.FormatInt(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixNano(), 10)
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "streams",
			"result": []any{map[string]any{"stream": map[string]string{"service_name": "payment"},
				"values": [][2]string{{ts, `level=error msg="charge failed" status=503 duration=1.2s`}}}}}})
	}))
	defer srv.Close()
	c, err := New(httpx.Endpoint{URL: srv.URL}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := investigate.ParseLogQuery(`service:payment status:>=500 duration:>1s "charge failed"`)
	q := investigate.LogQuery{Expr: e, Start: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)}
	var got []investigate.LogRecord
	if _, err := c.Logs(context.Background(), q, func(r investigate.LogRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || len(got) != 1 {
		t.Fatalf("%d requests, %d records: %v", len(reqs), len(got), reqs)
	}
	probe, main := reqs[0], reqs[1]
	if probe.Get("query") != `{service_name="payment"} |~ "(?i)\\bcharge failed\\b"` || probe.Get("limit") != "1" || probe.Get("direction") != "backward" {
		t.Errorf("format probe: %v", probe)
	}
	want := `{service_name="payment"} |~ "(?i)\\bcharge failed\\b" | logfmt | status >= 500 | duration > 1s | __error__=""`
	if main.Get("query") != want || main.Get("direction") != "forward" || main.Get("start") != strconv.FormatInt(q.Start.UnixNano(), 10) ||
		main.Get("end") != strconv.FormatInt(q.End.UnixNano(), 10) || main.Get("limit") == "" {
		t.Errorf("query_range: %v\nwant query %s", main, want)
	}
	// --explain asks the same probe and shows the same query.
	reqs = nil
	ex, err := c.Explain(context.Background(), q)
	if err != nil || ex.Query != want || len(reqs) != 1 {
		t.Errorf("Explain = %+v, %v after %d requests", ex, err, len(reqs))
	}
}
