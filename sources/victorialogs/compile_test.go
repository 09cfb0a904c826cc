package victorialogs

import (
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// TestCompile: every construct of dbg's query language in LogsQL (docs/logs.md shows the same). The
// filters are the ones https://docs.victoriametrics.com/victorialogs/logsql/ documents: exact
// (:=), exact prefix (:="p"*), regexp (:~), case-insensitive phrase i(…), range comparison (:>N,
// durations included), any value (:*), logical filters (space, or, !).
func TestCompile(t *testing.T) {
	f := DefaultFields()
	tests := []struct{ q, want string }{
		{"correlation_id:\"abc-123\" AND level:error", `("correlation_id":="abc-123" or "correlationId":="abc-123" or "correlationID":="abc-123" or "correlation.id":="abc-123" or "x-correlation-id":="abc-123" or "x_correlation_id":="abc-123" or "X-Correlation-ID":="abc-123" or "request_id":="abc-123") ("level":~"(?i)^error$" or "severity":~"(?i)^error$" or "log.level":~"(?i)^error$" or "severity_text":~"(?i)^error$" or "detected_level":~"(?i)^error$")`},
		{"duration:>1000 AND path:\"/api/orders\"", `"duration":>1000 "path":="/api/orders"`},
		{"error_type:\"DatabaseError\" AND service:\"payment\"", `"error_type":="DatabaseError" ("service.name":="payment" or "service":="payment" or "service_name":="payment" or "app":="payment")`},
		{"duration:>=1.5s", `"duration":>=1.5s`},
		{"latency_ms:<250", `"latency_ms":<250`},
		{"size:<=1024", `"size":<=1024`},
		{"path:*orders*", `"path":~"(?s)^.*orders.*$"`},
		{"host:web-*", `"host":="web-"*`},
		{"time*out", `_msg:~"(?is)\\btime.*out\\b"`},
		{"\"connection reset\"", `i("connection reset")`},
		{"timeout", `i("timeout")`},
		{"_exists_:trace_id", `("trace_id":* or "traceId":* or "traceID":* or "trace.id":*)`},
		{"NOT _exists_:user", `!"user":*`},
		{"a OR b", `(i("a") or i("b"))`},
		{"service:a OR service:b", `(("service.name":="a" or "service":="a" or "service_name":="a" or "app":="a") or ("service.name":="b" or "service":="b" or "service_name":="b" or "app":="b"))`},
		{"level:(error OR warn)", `(("level":~"(?i)^error$" or "severity":~"(?i)^error$" or "log.level":~"(?i)^error$" or "severity_text":~"(?i)^error$" or "detected_level":~"(?i)^error$") or ("level":~"(?i)^warn$" or "severity":~"(?i)^warn$" or "log.level":~"(?i)^warn$" or "severity_text":~"(?i)^warn$" or "detected_level":~"(?i)^warn$"))`},
		{"-level:debug", `!("level":~"(?i)^debug$" or "severity":~"(?i)^debug$" or "log.level":~"(?i)^debug$" or "severity_text":~"(?i)^debug$" or "detected_level":~"(?i)^debug$")`},
		{"NOT (status:500 AND method:GET)", `!("status":="500" "method":="GET")`},
		{"namespace:prod service:api*", `"namespace":="prod" ("service.name":="api"* or "service":="api"* or "service_name":="api"* or "app":="api"*)`},
		{"trace_id:(t1 OR t2)", `(("trace_id":="t1" or "traceId":="t1" or "traceID":="t1" or "trace.id":="t1") or ("trace_id":="t2" or "traceId":="t2" or "traceID":="t2" or "trace.id":="t2"))`},
		{"status:>=500 OR latency_ms:>2000", `("status":>=500 or "latency_ms":>2000)`},
		{"error -\"health check\"", `i("error") !i("health check")`},
		{"user:*", `"user":*`},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			e, err := investigate.ParseLogQuery(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := Compile(e, f); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestCompileHostileQueryValues: values typed in a query, LogsQL syntax included, stay one string
// literal in every filter they reach, field names too.
func TestCompileHostileQueryValues(t *testing.T) {
	build := func(v string) string {
		e := investigate.And(investigate.FieldEq("service", v), investigate.FieldEq(v, v), investigate.Text(v),
			investigate.Not(investigate.Text(v)), investigate.Term(investigate.LogTerm{Kind: investigate.TermExists, Field: v}),
			investigate.Term(investigate.LogTerm{Kind: investigate.TermWildcard, Field: "host", Parts: []string{v}, TrailStar: true}),
			investigate.Term(investigate.LogTerm{Kind: investigate.TermWildcard, Field: "host", Parts: []string{v, v}, LeadStar: true}),
			investigate.Term(investigate.LogTerm{Kind: investigate.TermRange, Field: v, Cmp: ">", Num: 1}))
		return Compile(e, Fields{Service: []string{"service"}})
	}
	want := logsqlShape(t, build("a"))
	for _, v := range append(hostile, `" | delete`, `i("x") or *`, `_msg:*`, "\n") {
		got := build(v)
		if s := logsqlShape(t, got); s != want {
			t.Errorf("value %q changed the query:\n got %s\nwant %s\n(%s)", v, s, want, got)
		}
		if !strings.Contains(got, Quote(v)) {
			t.Errorf("value %q not quoted in %s", v, got)
		}
	}
}
