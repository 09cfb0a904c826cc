package files

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/logline"
)

// endless yields JSON lines forever, counting what was read: a reader that slurps never returns.
type endless struct {
	n    int
	read int64
	buf  []byte
}

func (e *endless) Read(p []byte) (int, error) {
	if len(e.buf) == 0 {
		e.buf = []byte(fmt.Sprintf(`{"level":"info","service":"s","msg":"line %d","trace_id":"t%d"}`+"\n", e.n, e.n%5))
		e.n++
	}
	k := copy(p, e.buf)
	e.buf = e.buf[k:]
	e.read += int64(k)
	return k, nil
}

func TestLogFileStreams(t *testing.T) {
	src := &endless{}
	lf := &LogFile{Path: "-", Stdin: src}
	var got []investigate.LogRecord
	_, err := lf.Logs(context.Background(), investigate.LogQuery{TraceID: "t3", Limit: 10}, func(r investigate.LogRecord) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].Message != "line 3" || got[9].Message != "line 48" {
		t.Errorf("got %d records, first %+v", len(got), got[0])
	}
	if src.read > 1<<20 {
		t.Errorf("read %d bytes for 50 lines; the reader is not streaming", src.read)
	}
}

// readAllLogs reads in with the automatic parser and returns every record.
func readAllLogs(t *testing.T, in string) []investigate.LogRecord {
	t.Helper()
	var got []investigate.LogRecord
	err := ReadLogs(context.Background(), strings.NewReader(in), logline.NewParser(logline.FormatAuto, investigate.FieldNames{}, nil),
		func(r investigate.LogRecord) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestReadLogs(t *testing.T) {
	long := strings.Repeat("x", MaxLogLine+5000)
	in := strings.Join([]string{
		`2026-11-25T10:00:00Z ERROR boom`,
		`	at a.b(C.java:1)`,
		`Caused by: java.io.IOException`,
		``,
		`{"msg":"` + long + `"}`,
		`level=info msg=after`,
	}, "\n")
	got := readAllLogs(t, in)
	if len(got) != 3 {
		t.Fatalf("got %d records: %+v", len(got), got)
	}
	if got[0].Message != "boom\n\tat a.b(C.java:1)\nCaused by: java.io.IOException" || got[0].Level != "error" {
		t.Errorf("stack trace not joined: %q", got[0].Message)
	}
	if got[1].Fields["dbg.truncated"] != "true" || len(got[1].Message) > MaxLogLine {
		t.Errorf("long line: truncated=%q len=%d", got[1].Fields["dbg.truncated"], len(got[1].Message))
	}
	if got[2].Message != "after" {
		t.Errorf("line after the long one: %+v", got[2])
	}
}

// TestIndentedLogfmtIsARecord: tab-indented logfmt lines are records of their own with their level and
// time, not continuations of the line before; an indented stack frame still is one.
func TestIndentedLogfmtIsARecord(t *testing.T) {
	in := strings.Join([]string{
		"\tts=2024-05-07T10:55:53.434Z level=info msg=\"request done\" status=200",
		"\tts=2024-05-07T10:55:54.000Z level=error msg=\"db timeout\"",
		"\tat com.example.Db.query(Db.java:42)",
		"\tkey=value with no level or time",
	}, "\n")
	got := readAllLogs(t, in)
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2: %+v", len(got), got)
	}
	if got[0].Level != "info" || got[0].Message != "request done" || got[0].Time.IsZero() {
		t.Errorf("first record %+v", got[0])
	}
	if got[1].Level != "error" || !strings.HasPrefix(got[1].Message, "db timeout\n\tat com.example.Db.query") {
		t.Errorf("second record %+v", got[1])
	}
}

func TestLogFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := (&LogFile{Path: filepath.Join(dir, "missing.log")}).Logs(context.Background(), investigate.LogQuery{}, func(investigate.LogRecord) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("err = %v", err)
	}
	_, err = (&LogFile{Path: dir}).Logs(context.Background(), investigate.LogQuery{}, func(investigate.LogRecord) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("err = %v", err)
	}
	p := filepath.Join(dir, "a.log")
	os.WriteFile(p, []byte("a\nb\n"), 0o644)
	stop := fmt.Errorf("stop")
	_, err = (&LogFile{Path: p}).Logs(context.Background(), investigate.LogQuery{}, func(investigate.LogRecord) error { return stop })
	if err != stop && !strings.Contains(fmt.Sprint(err), "stop") {
		t.Errorf("emit error not returned: %v", err)
	}
}

func FuzzReadLogs(f *testing.F) {
	f.Add([]byte("{\"msg\":\"x\"}\nlevel=info a=b\n\tcont\nplain\n"))
	f.Add([]byte("[pod/a/b] 2026-11-25T10:00:00Z x\r\n"))
	p := logline.NewParser(logline.FormatAuto, investigate.FieldNames{}, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = ReadLogs(context.Background(), io.MultiReader(strings.NewReader(string(b))), p, func(investigate.LogRecord) error { return nil })
	})
}

// TestLogsSkipsRecordsByFirstLine: records skipped unparsed (their first line lacks a value every
// match needs) take their continuation lines with them, and values written escaped are still found.
func TestLogsSkipsRecordsByFirstLine(t *testing.T) {
	in := strings.Join([]string{
		`{"service":"other","msg":"boom","path":"/api/orders"}`,
		"\tat com.example.Other(Other.java:1)",
		`{"service":"payment","msg":"charge failed","path":"\/api\/orders"}`,
		"\tat com.example.Pay(Pay.java:9)",
		`{"service":"payment","msg":"ok","path":"/health"}`,
	}, "\n") + "\n"
	e, err := investigate.ParseLogQuery(`service:payment path:"/api/orders"`)
	if err != nil {
		t.Fatal(err)
	}
	f := &LogFile{Path: "-", Stdin: strings.NewReader(in)}
	var got []investigate.LogRecord
	if _, err := f.Logs(context.Background(), investigate.LogQuery{Expr: e}, func(r investigate.LogRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Message != "charge failed\n\tat com.example.Pay(Pay.java:9)" {
		t.Errorf("got %+v", got)
	}
	if h := lineHints(e); len(h) != 2 {
		t.Errorf("hints %q", h)
	}
}
