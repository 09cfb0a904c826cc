package victorialogs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/files"
	"github.com/dbgtool/dbg/sources/httpx"
)

// equivalenceRows are log lines with every kind of value the query language compares: services,
// levels in several cases, numbers, durations, paths, error types, words that differ only in case or
// by a suffix, and values holding LogsQL, LogQL and Lucene syntax.
func equivalenceRows(base time.Time) []map[string]string {
	services := []string{"payment", "checkout", "frontend", `pay"ment`, "svc | delete"}
	levels := []string{"error", "ERROR", "info", "warn", "Warn", "debug"}
	msgs := []string{
		"DB timeout after 1200ms on /api/orders",
		"timeouts are configured",
		"retrying Timeout",
		"connection reset by peer",
		"Connection Reset",
		"GET /api/orders/7 200",
		`value "quoted" and \backslash\`,
		"pipe | brace } quote \" done",
		"école fermée",
		"health check ok",
		`_msg:* or i("x")`,
		"line one\nline two",
	}
	paths := []string{"/api/orders", "/api/orders/7", "/health", "/api/users", `/a"b`}
	// Durations with units, a bare number (nanoseconds to a comparison, as in LogsQL) and a non-number.
	durations := []string{"1.2s", "20ms", "2m", "1500", "999ms", "x", "2000000000"}
	errTypes := []string{"DatabaseError", "TimeoutError", ""}
	var rows []map[string]string
	for i := 0; i < 240; i++ {
		r := map[string]string{
			"time":           base.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
			"id":             fmt.Sprintf("r%03d", i),
			"service":        services[i%len(services)],
			"level":          levels[(i/2)%len(levels)],
			"msg":            msgs[(i*7)%len(msgs)],
			"path":           paths[(i/3)%len(paths)],
			"duration":       durations[(i/5)%len(durations)],
			"duration_ms":    fmt.Sprint((i * 37) % 2500),
			"correlation_id": fmt.Sprintf("abc-%d", i%7),
			"trace_id":       fmt.Sprintf("t%02d", i%11),
		}
		if e := errTypes[i%len(errTypes)]; e != "" {
			r["error_type"] = e
		}
		if i%4 == 0 {
			r["user"] = fmt.Sprintf("u%d", i%3)
		}
		rows = append(rows, r)
	}
	return rows
}

// equivalenceQueries cover every construct of the query language.
var equivalenceQueries = []string{
	// the method's three examples (duration in ms here; see equivalenceRows)
	`correlation_id:"abc-3" AND level:error`,
	`duration_ms:>1000 AND path:"/api/orders"`,
	`error_type:"DatabaseError" AND service:"payment"`,
	// comparisons
	`duration_ms:>=2000`, `duration_ms:<100`, `duration_ms:<=37`, `duration:>1s`, `duration:<=20ms`, `duration:>=999ms`,
	// wildcards on fields and in the message
	`path:/api/orders*`, `path:*orders*`, `path:*7`, `service:pay*`, `time*`, `*out`, `tim*out`,
	// words and phrases, any case, at word boundaries
	`timeout`, `"connection reset"`, `"/api/"`, `école`, `"line two"`,
	// existence
	`_exists_:user`, `NOT _exists_:user`, `user:*`, `_exists_:error_type AND NOT error_type:TimeoutError`,
	// boolean structure
	`level:(warn OR debug)`, `service:checkout OR service:frontend`, `-level:info -level:debug`,
	`(timeout OR reset) AND NOT level:error`, `NOT (service:payment AND level:error)`, `trace_id:(t01 OR t02) path:/health`,
	// values with LogsQL / LogQL / Lucene syntax stay literals
	`service:"pay\"ment"`, `service:"svc | delete"`, `path:"/a\"b"`, `"pipe | brace } quote \" done"`, `"\\backslash\\"`,
	`"_msg:* or i(\"x\")"`, `service:"*"`,
}

// TestRealVictoriaLogsMatchesFileEvaluator loads the same lines into VictoriaLogs and a file and runs
// every query through both: LogsQL compiled by Compile on the server, the AST evaluated by dbg on the
// file's parsed records. They must return the same records.
func TestRealVictoriaLogsMatchesFileEvaluator(t *testing.T) {
	srv := testserver.VictoriaLogs(t)
	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	rows := equivalenceRows(base)
	ingest(t, srv.URL, rows)
	var file strings.Builder
	for _, r := range rows {
		b, _ := json.Marshal(r)
		file.Write(b)
		file.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := New(httpx.Endpoint{URL: srv.URL}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	lf := &files.LogFile{Path: path}
	ids := func(src interface {
		Logs(context.Context, investigate.LogQuery, func(investigate.LogRecord) error) ([]string, error)
	}, q investigate.LogQuery) []string {
		var out []string
		if _, err := src.Logs(context.Background(), q, func(r investigate.LogRecord) error {
			out = append(out, r.Fields["id"])
			return nil
		}); err != nil {
			t.Fatalf("%T: %v", src, err)
		}
		slices.Sort(out)
		return out
	}
	for _, text := range equivalenceQueries {
		t.Run(text, func(t *testing.T) {
			e, err := investigate.ParseLogQuery(text)
			if err != nil {
				t.Fatal(err)
			}
			q := investigate.LogQuery{Expr: e, Start: base.Add(-time.Minute), End: base.Add(time.Hour)}
			fromFile := ids(lf, q)
			fromVL := ids(c, q)
			if len(fromFile) == 0 && text != `service:"*"` {
				t.Errorf("no record matches in the file: the query tests nothing")
			}
			if !slices.Equal(fromFile, fromVL) {
				t.Errorf("file evaluator: %d records %v\nVictoriaLogs:   %d records %v\nLogsQL: %s", len(fromFile), fromFile, len(fromVL), fromVL, BuildQuery(q, c.cfg.Fields))
			}
		})
	}
}
