package victorialogs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// hostile values: quotes, backslashes, LogsQL operators and pipes, JSON fragments, newlines.
var hostile = []string{
	`pay"ment`,
	`a\" or service:*`,
	`x" or "1"="1`,
	`svc | delete`,
	`\`,
	`{"service":"x"}`,
	`* or _msg:*`,
	"line\nbreak\t\x00nul",
	`') or (trace_id:*`,
	"`backtick`",
}

// logsqlShape reduces a query to its structure: every quoted string becomes S. Two queries built from
// different values must have the same shape, or a value changed the query.
func logsqlShape(t *testing.T, q string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(q); {
		if q[i] == '"' {
			lit, err := strconv.QuotedPrefix(q[i:])
			if err != nil {
				t.Fatalf("unterminated string in %q at %d: %v", q, i, err)
			}
			b.WriteString("S")
			i += len(lit)
			continue
		}
		b.WriteByte(q[i])
		i++
	}
	return b.String()
}

func TestBuildQueryHostileValues(t *testing.T) {
	f := DefaultFields()
	base := investigate.LogQuery{Service: "a", TraceID: "b", CorrelationID: "c", Level: "d", Grep: "e", Limit: 10}
	want := logsqlShape(t, BuildQuery(base, f))
	for _, v := range hostile {
		q := investigate.LogQuery{Service: v, TraceID: v, CorrelationID: v, Level: v, Grep: v, Limit: 10}
		got := BuildQuery(q, f)
		if shape := logsqlShape(t, got); shape != want {
			t.Errorf("value %q changed the query shape:\n got %s\nwant %s\nquery %s", v, shape, want, got)
		}
		// Each literal round-trips to the value it was built from.
		if !strings.Contains(got, Quote(v)) {
			t.Errorf("value %q not quoted as %s in %s", v, Quote(v), got)
		}
	}
}

func TestBuildQuery(t *testing.T) {
	f := Fields{Service: []string{"service"}, Level: []string{"level"}, TraceID: []string{"trace_id", "traceId"},
		SpanID: []string{"span_id"}, CorrelationID: []string{"correlation_id"}}
	tests := []struct {
		name string
		q    investigate.LogQuery
		want string
	}{
		{"empty", investigate.LogQuery{}, `* | sort by (_time)`},
		{"service", investigate.LogQuery{Service: "payment", Limit: 5}, `"service":="payment" | sort by (_time) | limit 5`},
		{"trace any name", investigate.LogQuery{TraceID: "abc"}, `("trace_id":="abc" or "traceId":="abc") | sort by (_time)`},
		{"level and grep", investigate.LogQuery{Service: "p", Level: "error", Grep: "a.b"},
			`"service":="p" "level":~"(?i)^error$" _msg:~"a\\.b" | sort by (_time)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BuildQuery(tt.q, f); got != tt.want {
				t.Errorf("BuildQuery = %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	// The shape /select/logsql/query answers with: JSON lines, every value a string.
	// https://docs.victoriametrics.com/victorialogs/querying/#http-api
	body := `{"_msg":"card declined","_stream":"{service=\"payment\"}","_stream_id":"000","_time":"2026-11-25T10:00:00.5Z","service":"payment","level":"error","trace_id":"t1","span_id":"s1","error.type":"CardError"}
{"_msg":"ok","_time":"2026-11-25T10:00:01Z","service.name":"checkout","correlation_id":"c9"}
`
	var got []investigate.LogRecord
	err := Decode(strings.NewReader(body), investigate.DefaultFieldNames().Prepend(investigate.FieldNames{Message: []string{"_msg"}}),
		func(r investigate.LogRecord) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2", len(got))
	}
	r := got[0]
	if r.Message != "card declined" || r.Service != "payment" || r.Level != "error" || r.TraceID != "t1" || r.SpanID != "s1" ||
		!r.Time.Equal(time.Date(2026, 11, 25, 10, 0, 0, 5e8, time.UTC)) || r.ErrorType() != "CardError" {
		t.Errorf("record 0 = %+v", r)
	}
	if _, ok := r.Fields["_stream"]; ok {
		t.Errorf("_stream kept in fields: %v", r.Fields)
	}
	if got[1].Service != "checkout" || got[1].CorrelationID != "c9" {
		t.Errorf("record 1 = %+v", got[1])
	}
	if err := Decode(strings.NewReader("not json\n"), investigate.DefaultFieldNames(), func(investigate.LogRecord) error { return nil }); err == nil {
		t.Error("garbage decoded without an error")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"_msg":"x","_time":"2026-11-25T10:00:00Z","service":"a"}` + "\n"))
	f.Add([]byte(`{"_msg":{"nested":[1,2]},"_time":"1700000000"}`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Decode(bytes.NewReader(b), investigate.DefaultFieldNames(), func(investigate.LogRecord) error { return nil })
	})
}

// ingest posts rows over /insert/jsonline and waits until VictoriaLogs returns all of them.
func ingest(t *testing.T, url string, rows []map[string]string) {
	t.Helper()
	var body bytes.Buffer
	for _, r := range rows {
		b, _ := json.Marshal(r)
		body.Write(b)
		body.WriteByte('\n')
	}
	resp, err := http.Post(url+"/insert/jsonline?_time_field=time&_msg_field=msg&_stream_fields=service", "application/stream+json", &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest: HTTP %d", resp.StatusCode)
	}
	Flush(t, url, len(rows))
}

// Flush waits until the server has at least n rows searchable.
func Flush(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/select/logsql/query?query=" + "*%20|%20count()%20as%20n")
		if err == nil {
			var row struct{ N string }
			_ = json.NewDecoder(resp.Body).Decode(&row)
			resp.Body.Close()
			if got, _ := strconv.Atoi(row.N); got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("VictoriaLogs did not make %d rows searchable in 20s", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func collect(t *testing.T, c *Client, q investigate.LogQuery) []investigate.LogRecord {
	t.Helper()
	var out []investigate.LogRecord
	if _, err := c.Logs(context.Background(), q, func(r investigate.LogRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatalf("Logs(%+v): %v", q, err)
	}
	return out
}

func TestRealVictoriaLogs(t *testing.T) {
	srv := testserver.VictoriaLogs(t)
	base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	at := func(ms int) string { return base.Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano) }
	rows := []map[string]string{
		// one request through three services, ingested out of order
		{"time": at(30), "service": "payment", "level": "error", "msg": "card declined", "trace_id": "tr-1", "span_id": "p1", "correlation_id": "corr-7"},
		{"time": at(10), "service": "frontend", "level": "info", "msg": "GET /checkout", "trace_id": "tr-1", "span_id": "f1", "correlation_id": "corr-7"},
		{"time": at(20), "service": "checkout", "level": "info", "msg": "placing order", "trace_id": "tr-1", "span_id": "c1", "correlation_id": "corr-7"},
		{"time": at(40), "service": "checkout", "level": "ERROR", "msg": "order failed", "trace_id": "tr-1", "span_id": "c1"},
		// another request
		{"time": at(15), "service": "checkout", "level": "info", "msg": "placing order", "trace_id": "tr-2", "correlation_id": "corr-8"},
		{"time": at(5000), "service": "checkout", "level": "error", "msg": "late failure", "trace_id": "tr-3"},
	}
	for i, v := range hostile {
		rows = append(rows, map[string]string{"time": at(100 + i), "service": v, "level": "warn", "msg": "hostile " + v, "trace_id": v})
	}
	ingest(t, srv.URL, rows)
	c, err := New(httpx.Endpoint{URL: srv.URL}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	win := investigate.LogQuery{Start: base.Add(-time.Minute), End: base.Add(time.Hour)}

	t.Run("trace across three services in order", func(t *testing.T) {
		q := win
		q.TraceID = "tr-1"
		got := collect(t, c, q)
		var seq []string
		for _, r := range got {
			seq = append(seq, r.Service+":"+r.Message)
		}
		want := "frontend:GET /checkout,checkout:placing order,payment:card declined,checkout:order failed"
		if strings.Join(seq, ",") != want {
			t.Errorf("got %s\nwant %s", strings.Join(seq, ","), want)
		}
		if got[0].SpanID != "f1" || got[0].Time.IsZero() {
			t.Errorf("first record %+v", got[0])
		}
	})
	t.Run("correlation id", func(t *testing.T) {
		q := win
		q.CorrelationID = "corr-7"
		if got := collect(t, c, q); len(got) != 3 {
			t.Errorf("got %d records for corr-7, want 3: %+v", len(got), got)
		}
	})
	t.Run("service and level in a window", func(t *testing.T) {
		q := investigate.LogQuery{Service: "checkout", Level: "error", Start: base, End: base.Add(time.Second)}
		got := collect(t, c, q)
		if len(got) != 1 || got[0].Message != "order failed" {
			t.Errorf("got %+v, want only 'order failed' (ERROR matches error; the 5s one is outside)", got)
		}
	})
	t.Run("grep and limit", func(t *testing.T) {
		q := win
		q.Grep = "placing"
		q.Limit = 1
		got := collect(t, c, q)
		if len(got) != 1 || got[0].TraceID != "tr-2" {
			t.Errorf("got %+v, want the first 'placing order' (tr-2 at 15ms)", got)
		}
	})
	t.Run("hostile values match only themselves", func(t *testing.T) {
		for _, v := range hostile {
			for _, q := range []investigate.LogQuery{{Service: v}, {TraceID: v}, {Grep: "hostile " + v}} {
				q.Start, q.End = win.Start, win.End
				got := collect(t, c, q)
				if len(got) != 1 || got[0].Message != "hostile "+v {
					t.Errorf("query %+v: got %d records %+v, want exactly the one for %q", q, len(got), got, v)
				}
			}
		}
		// A value built to widen the query finds nothing rather than everything.
		q := win
		q.Service = `checkout" or "service":*`
		if got := collect(t, c, q); len(got) != 0 {
			t.Errorf("injection attempt returned %d records", len(got))
		}
	})
	t.Run("bad URL names the backend", func(t *testing.T) {
		bad, _ := New(httpx.Endpoint{URL: "http://127.0.0.1:1", Retries: -1}, Config{})
		_, err := bad.Logs(context.Background(), win, func(investigate.LogRecord) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "VictoriaLogs") {
			t.Errorf("err = %v", err)
		}
	})
	_ = fmt.Sprint
}
