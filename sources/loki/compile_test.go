package loki

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
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
		{"service:a OR service:b", `{service_name=~".+"} | (service_name="a" or service_name="b")`},
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
