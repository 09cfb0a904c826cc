package loki

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// The response shapes below follow the Loki HTTP API reference,
// https://grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-within-a-range-of-time
// ({"status":"success","data":{"resultType":"streams","result":[{"stream":{...},"values":[["<ns>","<line>"]]}],"stats":{...}}}),
// and, for the three-element values with structured metadata, the categorize-labels encoding
// (https://github.com/grafana/loki/pull/10419). Loki answers a bad query with HTTP 400 and a plain-text
// body such as "parse error at line 1, col 5: syntax error: ...".

var hostile = []string{`pay"ment`, `a\" or x`, `"} |= "`, "`raw`", `\`, `{"a":1}`, "x\ny", `svc | line_format "{{.x}}"`, `.+`}

// logqlShape replaces every string literal ("..." with Go escapes, or `...`) with S.
func logqlShape(t *testing.T, q string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(q); {
		switch q[i] {
		case '"':
			lit, err := strconv.QuotedPrefix(q[i:])
			if err != nil {
				t.Fatalf("bad literal in %q at %d: %v", q, i, err)
			}
			b.WriteString("S")
			i += len(lit)
		case '`':
			j := strings.IndexByte(q[i+1:], '`')
			if j < 0 {
				t.Fatalf("unterminated raw string in %q", q)
			}
			b.WriteString("S")
			i += j + 2
		default:
			b.WriteByte(q[i])
			i++
		}
	}
	return b.String()
}

func mustBuild(t *testing.T, q investigate.LogQuery, cfg Config) string {
	t.Helper()
	s, err := BuildQuery(q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuildQuery(t *testing.T) {
	cfg := Config{ServiceLabel: "service_name", LevelLabel: "detected_level"}
	tests := []struct {
		name string
		q    investigate.LogQuery
		cfg  Config
		want string
	}{
		{"service", investigate.LogQuery{Service: "payment"}, cfg, `{service_name="payment"}`},
		{"no service", investigate.LogQuery{TraceID: "abc"}, cfg, `{service_name=~".+"} |= "abc"`},
		{"trace as label", investigate.LogQuery{TraceID: "abc"}, Config{ServiceLabel: "app", LevelLabel: "level", TraceLabel: "trace_id"},
			`{app=~".+"} | trace_id="abc"`},
		{"all", investigate.LogQuery{Service: "p", CorrelationID: "c", Grep: "x.y", Level: "error"}, cfg,
			`{service_name="p"} |= "c" |= "x.y" | detected_level=~"(?i)error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustBuild(t, tt.q, tt.cfg); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestBuildQueryHostileValues(t *testing.T) {
	cfg := Config{ServiceLabel: "service_name", LevelLabel: "detected_level", TraceLabel: "trace_id"}
	want := logqlShape(t, mustBuild(t, investigate.LogQuery{Service: "a", TraceID: "b", CorrelationID: "c", Grep: "d", Level: "e"}, cfg))
	for _, v := range hostile {
		got := mustBuild(t, investigate.LogQuery{Service: v, TraceID: v, CorrelationID: v, Grep: v, Level: v}, cfg)
		if s := logqlShape(t, got); s != want {
			t.Errorf("value %q changed the query:\n got %s\nwant %s\n(%s)", v, s, want, got)
		}
		if !strings.Contains(got, strconv.Quote(v)) {
			t.Errorf("value %q not quoted in %s", v, got)
		}
	}
	if _, err := New(httpx.Endpoint{URL: "http://x"}, Config{ServiceLabel: `a"} or {b="`}); err == nil {
		t.Error("a label name with quotes was accepted")
	}
}

type entry struct {
	ts     int64
	line   string
	labels map[string]string
}

// fakeLoki answers query_range over entries the way Loki does for direction=forward: entries in
// [start, end), at most limit of them, grouped into streams by label set. It records every request.
type fakeLoki struct {
	entries  []entry
	requests []*http.Request
	maxLimit int
	hits     atomic.Int32
}

func (f *fakeLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	f.requests = append(f.requests, r)
	if r.URL.Path != "/loki/api/v1/query_range" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
	end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if f.maxLimit > 0 && limit > f.maxLimit {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, f.maxLimit)
		return
	}
	if q.Get("direction") != "forward" {
		http.Error(w, "test server only pages forward", http.StatusBadRequest)
		return
	}
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	byKey := map[string]*stream{}
	var order []string
	n := 0
	for _, e := range f.entries {
		if e.ts < start || e.ts >= end || n >= limit {
			continue
		}
		n++
		k := fmt.Sprint(e.labels)
		s := byKey[k]
		if s == nil {
			s = &stream{Stream: e.labels}
			byKey[k] = s
			order = append(order, k)
		}
		s.Values = append(s.Values, [2]string{strconv.FormatInt(e.ts, 10), e.line})
	}
	res := []*stream{}
	for _, k := range order {
		res = append(res, byKey[k])
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"status": "success",
		"data": map[string]any{"resultType": "streams", "result": res,
			"stats": map[string]any{"summary": map[string]any{"totalEntriesReturned": n}}},
	})
}

func TestLogsPagesPastTheLimit(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixNano()
	f := &fakeLoki{maxLimit: 4}
	svc := map[string]string{"service_name": "payment", "detected_level": "error"}
	other := map[string]string{"service_name": "payment", "detected_level": "info"}
	// 11 entries; three share one nanosecond across a page boundary (entries 3, 4 and 5).
	for i := 0; i < 11; i++ {
		ts := base + int64(i)*1000
		if i == 4 || i == 5 {
			ts = base + 3000
		}
		lbl := svc
		if i%2 == 1 {
			lbl = other
		}
		f.entries = append(f.entries, entry{ts: ts, line: fmt.Sprintf(`{"msg":"line %d","trace_id":"t%d","span_id":"s%d"}`, i, i%3, i), labels: lbl})
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := New(httpx.Endpoint{URL: srv.URL, Headers: map[string]string{"X-Scope-OrgID": "tenant-a"}, Token: "s3cret"},
		Config{PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	q := investigate.LogQuery{Service: "payment", Start: time.Unix(0, base), End: time.Unix(0, base+time.Hour.Nanoseconds())}
	var got []string
	var last time.Time
	warn, err := c.Logs(context.Background(), q, func(r investigate.LogRecord) error {
		got = append(got, r.Message)
		if r.Time.Before(last) {
			t.Errorf("%s out of time order", r.Message)
		}
		last = r.Time
		if r.Service != "payment" || r.Level == "" || r.SpanID == "" {
			t.Errorf("record %+v lacks labels or line fields", r)
		}
		return nil
	})
	if err != nil || len(warn) != 0 {
		t.Fatalf("err %v warnings %v", err, warn)
	}
	var want []string
	for i := 0; i < 11; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	// Equal timestamps from different streams come in no defined order (lines 3, 4, 5 here).
	sorted := append([]string{}, got...)
	slices.Sort(sorted)
	slices.Sort(want)
	if strings.Join(sorted, ",") != strings.Join(want, ",") {
		t.Errorf("got  %v\nwant each of %v exactly once", got, want)
	}
	if len(f.requests) < 3 {
		t.Errorf("%d requests; want paging", len(f.requests))
	}
	for _, r := range f.requests {
		if r.Header.Get("X-Scope-OrgID") != "tenant-a" || r.Header.Get("Authorization") != "Bearer s3cret" {
			t.Errorf("request headers %v", r.Header)
		}
		if r.URL.Query().Get("query") != `{service_name="payment"}` {
			t.Errorf("query %q", r.URL.Query().Get("query"))
		}
	}
	// --limit stops early
	got = nil
	q.Limit = 5
	if _, err := c.Logs(context.Background(), q, func(r investigate.LogRecord) error { got = append(got, r.Message); return nil }); err != nil || len(got) != 5 {
		t.Errorf("limit 5: got %d (%v)", len(got), err)
	}
}

func TestLogsErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
		warn   string
	}{
		{"parse error", 400, "parse error at line 1, col 5: syntax error: unexpected IDENTIFIER", "parse error", ""},
		{"unauthorised", 401, "no org id", "check the token", ""},
		{"json error", 200, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\""}`, "invalid parameter", ""},
		{"metric answer", 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, "not log streams", ""},
		{"partial with warnings", 200, `{"status":"success","warnings":["query timed out on one querier; results may be partial"],"data":{"resultType":"streams","result":[]}}`, "", "partial"},
		{"garbage", 200, `<html>proxy</html>`, "not a query_range answer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c, _ := New(httpx.Endpoint{URL: srv.URL, Retries: -1}, Config{})
			warn, err := c.Logs(context.Background(), investigate.LogQuery{Service: "x", Start: time.Unix(1, 0), End: time.Unix(2, 0)},
				func(investigate.LogRecord) error { return nil })
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if tt.want != "" && err != nil && !strings.Contains(err.Error(), "oki") {
				t.Errorf("error does not name Loki: %v", err)
			}
			if tt.warn != "" && (len(warn) != 1 || !strings.Contains(warn[0], tt.warn)) {
				t.Errorf("warnings %v", warn)
			}
		})
	}
}

func TestDecodeCategorisedLabels(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"service_name":"api"},
"values":[["1700000000000000002","second",{"structuredMetadata":{"trace_id":"t9"},"parsed":{"level":"warn"}}],
["1700000000000000001","first"]]}]}}`
	es, _, err := DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Line != "first" || es[1].Metadata["trace_id"] != "t9" || es[1].Metadata["level"] != "warn" {
		t.Errorf("entries %+v", es)
	}
	c, _ := New(httpx.Endpoint{URL: "http://x"}, Config{})
	r := c.record(es[1])
	if r.TraceID != "t9" || r.Service != "api" || r.Message != "second" {
		t.Errorf("record %+v", r)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1","x"]]}]}}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1","x",{"structuredMetadata":{"k":"v"}}],[]]}]}}`))
	f.Add([]byte(`{"status":"error","error":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, _, err := DecodeResponse(b)
		if err == nil {
			for i := 1; i < len(es); i++ {
				if es[i].TS < es[i-1].TS {
					t.Fatalf("entries out of order")
				}
			}
		}
	})
}
