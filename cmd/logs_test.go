package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/testserver"
)

func logsFixture(name string) string { return filepath.Join("..", "testdata", "logs", name) }

func TestLogsGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"logs_file_table.txt", []string{"logs", "--file", logsFixture("mixed.log")}},
		{"logs_file_trace.json", []string{"logs", "--file", logsFixture("mixed.log"), "--trace", "4bf92f3577b34da6a3ce929d0e0e4736", "-o", "json"}},
		{"logs_file_error.md", []string{"logs", "--file", logsFixture("mixed.log"), "--level", "error", "-o", "markdown"}},
		{"logs_kubectl.jsonl", []string{"logs", "--file", logsFixture("kubectl.log"), "-o", "jsonl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tt.name, []byte(out))
		})
	}
}

func TestLogsSanitisesTerminalOutput(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "logs", "--file", logsFixture("mixed.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"card declined RED", "cleared screen", "goroutine 12 [running]:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLogsJSONContract(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "logs", "--file", logsFixture("mixed.log"), "--correlation-id", "req-77", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Records  []map[string]any `json:"records"`
		Findings []any            `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	if len(doc.Records) != 1 || doc.Findings == nil {
		t.Fatalf("records %d findings %v", len(doc.Records), doc.Findings)
	}
	for _, k := range []string{"time", "service", "level", "message", "trace_id", "span_id", "fields"} {
		if _, ok := doc.Records[0][k]; !ok {
			t.Errorf("record lacks %q: %v", k, doc.Records[0])
		}
	}
}

func TestLogsUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"logs"}, ExitUsage, "--trace"},
		{[]string{"logs", "--service", "x"}, ExitUsage, "no log source"},
		{[]string{"logs", "--service", "x", "--loki-url", "http://a", "--victorialogs-url", "http://b"}, ExitUsage, "several log stores"},
		{[]string{"logs", "--file", "/nonexistent/x.log"}, ExitFailed, "/nonexistent/x.log"},
		{[]string{"logs", "--file", "-", "--patterns"}, ExitUsage, "a pipe is read once"},
		{[]string{"logs", "--file", logsFixture("mixed.log"), "--line-regex", "("}, ExitUsage, "--line-regex"},
		{[]string{"logs", "--file", logsFixture("mixed.log"), "-o", "html"}, ExitUsage, "--output"},
		{[]string{"logs", "--service", "x", "--loki-url", "http://127.0.0.1:1", "--timeout", "2s"}, ExitFailed, "Loki"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := runDbg(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit %d and one line naming %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
}

func TestLogsLimit(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "logs", "--file", logsFixture("mixed.log"), "--limit", "2", "-o", "jsonl")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "--limit 2") {
		t.Errorf("exit %d, %d lines, stderr %q", code, strings.Count(out, "\n"), errOut)
	}
}

// vlIngest posts JSON lines to a real VictoriaLogs and waits until all are searchable.
func vlIngest(t *testing.T, url string, rows []map[string]string) {
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := http.Get(url + "/select/logsql/query?query=*%20|%20count()%20as%20n")
		if err == nil {
			var row struct{ N string }
			_ = json.NewDecoder(r.Body).Decode(&row)
			r.Body.Close()
			if n, _ := strconv.Atoi(row.N); n >= len(rows) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("VictoriaLogs did not make the rows searchable in 20s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLogsPatternsRealVictoriaLogs: a new error template that appears only in the incident window comes
// first, and its lines (varying only in IDs and numbers) are one template.
func TestLogsPatternsRealVictoriaLogs(t *testing.T) {
	srv := testserver.VictoriaLogs(t)
	incident := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	var rows []map[string]string
	add := func(at time.Time, level, msg string) {
		rows = append(rows, map[string]string{"time": at.Format(time.RFC3339Nano), "service": "payment", "level": level, "msg": msg,
			"trace_id": fmt.Sprintf("%032x", len(rows)+1)})
	}
	for i := 0; i < 60; i++ { // steady traffic in the baseline and the window
		for _, off := range []time.Duration{-30 * time.Minute, 0} {
			at := incident.Add(off + time.Duration(i)*20*time.Second)
			add(at, "info", fmt.Sprintf("GET /api/orders/%d 200 in %dms", 1000+i, 10+i%7))
			add(at.Add(time.Second), "info", fmt.Sprintf("cache refreshed %d keys from 10.0.%d.%d:6379", 100+i, i%4, i%200))
			if i%10 == 0 {
				add(at.Add(2*time.Second), "error", fmt.Sprintf("timeout calling inventory after %dms", 900+i))
			}
		}
	}
	for i := 0; i < 25; i++ { // the incident: new, varying only in IDs and numbers
		at := incident.Add(time.Duration(i)*30*time.Second + 5*time.Second)
		add(at, "error", fmt.Sprintf("charge failed for order ord-%08d user 550e8400-e29b-41d4-a716-%012d: gateway returned 502 after %dms",
			77000+i*13, i*7919, 300+i*17))
	}
	vlIngest(t, srv.URL, rows)
	code, out, errOut := runDbg(t, nil, "logs", "--patterns", "--service", "payment",
		"--since", incident.Format(time.RFC3339), "--until", incident.Add(30*time.Minute).Format(time.RFC3339),
		"--victorialogs-url", srv.URL, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Findings []struct {
			Kind     string         `json:"kind"`
			Evidence map[string]any `json:"evidence"`
			TraceIDs []string       `json:"trace_ids"`
		} `json:"findings"`
		Patterns []struct {
			Template      string `json:"template"`
			Status        string `json:"status"`
			Count         int    `json:"count"`
			BaselineCount int    `json:"baseline_count"`
		} `json:"patterns"`
		Lines         int `json:"lines"`
		BaselineLines int `json:"baseline_lines"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Lines != 60*2+6+25 || doc.BaselineLines != 60*2+6 {
		t.Errorf("lines %d baseline %d", doc.Lines, doc.BaselineLines)
	}
	if len(doc.Patterns) == 0 {
		t.Fatal("no patterns")
	}
	first := doc.Patterns[0]
	if first.Status != "new" || first.Count != 25 || first.BaselineCount != 0 || !strings.HasPrefix(first.Template, "charge failed for order") {
		t.Errorf("first pattern = %+v, want the new charge-failed template with all 25 lines", first)
	}
	if strings.ContainsAny(first.Template, "0123456789") && !strings.Contains(first.Template, "<_>") {
		t.Errorf("template kept variable parts: %q", first.Template)
	}
	for _, p := range doc.Patterns[1:] {
		if p.Status == "new" || p.Status == "surging" {
			t.Errorf("steady pattern flagged: %+v", p)
		}
	}
	if len(doc.Findings) == 0 || doc.Findings[0].Kind != "log_pattern" || doc.Findings[0].Evidence["template"] != first.Template ||
		doc.Findings[0].Evidence["count"].(float64) != 25 || len(doc.Findings[0].TraceIDs) == 0 {
		t.Errorf("findings = %+v", doc.Findings)
	}
	for _, k := range []string{"template", "count", "baseline_count", "sample"} {
		if len(doc.Findings) > 0 {
			if _, ok := doc.Findings[0].Evidence[k]; !ok {
				t.Errorf("evidence lacks %q", k)
			}
		}
	}

	// The same through the table renderer: the new template is the first row.
	code, out, errOut = runDbg(t, nil, "logs", "--patterns", "--service", "payment",
		"--since", incident.Format(time.RFC3339), "--until", incident.Add(30*time.Minute).Format(time.RFC3339),
		"--victorialogs-url", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || !strings.Contains(lines[2], "charge failed") || !strings.Contains(lines[2], "new") {
		t.Errorf("table:\n%s", out)
	}
}

func TestTraceLogsGolden(t *testing.T) {
	trace := filepath.Join("..", "testdata", "traces", "checkout.json")
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"trace_logs.txt", []string{"trace", "--file", trace, "--logs-file", logsFixture("checkout-trace.log")}},
		{"trace_logs.json", []string{"trace", "--file", trace, "--logs-file", logsFixture("checkout-trace.log"), "-o", "json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if strings.Contains(out, "\x1b") {
				t.Error("escape sequence from a log line reached the output")
			}
			golden(t, tt.name, []byte(out))
		})
	}
	code, out, _ := runDbg(t, nil, "trace", "--file", trace, "--logs-file", logsFixture("checkout-trace.log"), "-o", "json")
	var doc struct {
		TraceID string `json:"trace_id"`
		Logs    struct {
			Spans []struct {
				SpanID  string `json:"span_id"`
				Records []struct {
					Message string `json:"message"`
				} `json:"records"`
			} `json:"spans"`
			Unattached []struct {
				Message string `json:"message"`
			} `json:"unattached"`
			BySpanID int `json:"by_span_id"`
			ByTime   int `json:"by_time"`
		} `json:"logs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d, %v", code, err)
	}
	under := map[string]string{}
	for _, s := range doc.Logs.Spans {
		for _, r := range s.Records {
			under[r.Message] = s.SpanID
		}
	}
	want := map[string]string{
		"GET /checkout from 203.0.113.7": "000000009e3779b1", "placing order for cart 77": "00000001daa66d15",
		"loading 14 items one by one": "000000062e2ac0f3" /* innermost inventory span at 50ms */, "charge declined: \x1b[31minsufficient funds\x1b[0m": "0000000f736ae261",
	}
	for msg, span := range want {
		if under[msg] != span {
			t.Errorf("%q under span %q, want %q", msg, under[msg], span)
		}
	}
	if doc.TraceID == "" || doc.Logs.BySpanID != 2 || doc.Logs.ByTime != 2 || len(doc.Logs.Unattached) != 1 {
		t.Errorf("trace %q by id %d by time %d unattached %d", doc.TraceID, doc.Logs.BySpanID, doc.Logs.ByTime, len(doc.Logs.Unattached))
	}
}

// TestTraceLogsRealVictoriaLogs: `dbg trace --logs` reads the trace's lines from a real VictoriaLogs and
// places them as it does from a file.
func TestTraceLogsRealVictoriaLogs(t *testing.T) {
	srv := testserver.VictoriaLogs(t)
	b, err := os.ReadFile(logsFixture("checkout-trace.log"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row map[string]string
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	vlIngest(t, srv.URL, rows)
	trace := filepath.Join("..", "testdata", "traces", "checkout.json")
	code, fromStore, errOut := runDbg(t, nil, "trace", "--file", trace, "--logs", "--victorialogs-url", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code, fromFile, _ := runDbg(t, nil, "trace", "--file", trace, "--logs-file", logsFixture("checkout-trace.log"))
	if code != 0 || fromStore != fromFile {
		t.Errorf("store and file disagree:\n--- store\n%s\n--- file\n%s", fromStore, fromFile)
	}
}

func TestLogsPatternsFile(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := 0; i < 120; i++ { // one line every 30s for an hour
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		fmt.Fprintf(&b, `{"time":%q,"level":"info","service":"cart","msg":"added item %d to cart %d"}`+"\n", at.Format(time.RFC3339), i, 9000+i)
		if i >= 60 && i%2 == 0 {
			fmt.Fprintf(&b, "time=%s level=error service=cart error.type=RedisTimeout msg=\"redis GET cart:%d timed out after %dms\" trace_id=%032x\n",
				at.Add(time.Second).Format(time.RFC3339), i, 500+i, i)
		}
	}
	path := filepath.Join(t.TempDir(), "cart.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runDbg(t, nil, "logs", "--patterns", "--file", path, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Patterns []struct {
			Template, Status, ErrorType string
			Count                       int
			BaselineCount               int `json:"baseline_count"`
		} `json:"patterns"`
		Findings []struct {
			Evidence map[string]any `json:"evidence"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Patterns) < 2 {
		t.Fatalf("patterns %+v", doc.Patterns)
	}
	p := doc.Patterns[0]
	if p.Status != "new" || p.Count != 30 || p.Template != "redis GET cart:<_> timed out after <_>" || len(doc.Findings) != 1 ||
		doc.Findings[0].Evidence["error_type"] != "RedisTimeout" {
		t.Errorf("first pattern %+v, findings %+v", p, doc.Findings)
	}
	if q := doc.Patterns[1]; q.Status != "steady" || q.Count != 60 || q.BaselineCount != 60 {
		t.Errorf("second pattern %+v", q)
	}
	code, out, _ = runDbg(t, nil, "logs", "--patterns", "--file", path)
	if code != 0 || !strings.Contains(out, "[RedisTimeout] redis GET cart:<_> timed out after <_>") || !strings.Contains(out, "FINDINGS") {
		t.Errorf("table:\n%s", out)
	}
}
