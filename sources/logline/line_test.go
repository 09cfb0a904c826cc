package logline

import (
	"regexp"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

func TestParse(t *testing.T) {
	ts := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)
	tests := []struct {
		name string
		line string
		want investigate.LogRecord
	}{
		{"json", `{"time":"2026-11-25T10:00:00.123Z","level":"error","service":"payment","msg":"declined","trace_id":"t1","span_id":"s1"}`,
			investigate.LogRecord{Time: ts, Level: "error", Service: "payment", Message: "declined", TraceID: "t1", SpanID: "s1"}},
		{"json ECS nested", `{"@timestamp":"2026-11-25T10:00:00.123Z","log":{"level":"warn"},"service":{"name":"api"},"message":"m","trace":{"id":"t2"}}`,
			investigate.LogRecord{Time: ts, Level: "warn", Service: "api", Message: "m", TraceID: "t2"}},
		{"json unix millis and camelCase", `{"ts":1795600800123,"severity":"INFO","msg":"x","traceId":"t3","spanId":"s3","correlationId":"c3"}`,
			investigate.LogRecord{Time: time.UnixMilli(1795600800123).UTC(), Level: "INFO", Message: "x", TraceID: "t3", SpanID: "s3", CorrelationID: "c3"}},
		{"zap float seconds", `{"ts":1795600800.5,"level":"info","msg":"x"}`,
			investigate.LogRecord{Time: time.Unix(1795600800, 5e8).UTC(), Level: "info", Message: "x"}},
		{"logfmt", `time=2026-11-25T10:00:00.123Z level=info app=cart msg="added item" request_id=r9`,
			investigate.LogRecord{Time: ts, Level: "info", Service: "cart", Message: "added item", CorrelationID: "r9"}},
		{"logfmt with escapes the library rejects", `level=error msg="bad \x1b[31m" trace_id=t4`,
			investigate.LogRecord{Level: "error", Message: "bad \x1b[31m", TraceID: "t4"}},
		{"plain with level", `ERROR: connection refused to db trace_id=t5 span_id=s5`,
			investigate.LogRecord{Level: "error", Message: "connection refused to db trace_id=t5 span_id=s5", TraceID: "t5", SpanID: "s5"}},
		{"plain bracket level", `[warn] disk almost full`, investigate.LogRecord{Level: "warn", Message: "disk almost full"}},
		{"plain no level", `just words`, investigate.LogRecord{Message: "just words"}},
		{"go log prefix", `2026/11/25 10:00:00.123 started`, investigate.LogRecord{Time: ts, Message: "started"}},
		{"kubectl timestamps", `2026-11-25T10:00:00.123000000Z {"level":"error","msg":"x"}`,
			investigate.LogRecord{Time: ts, Level: "error", Message: "x"}},
		{"kubectl prefix", `[pod/web-1/nginx] GET / 200`,
			investigate.LogRecord{Service: "nginx", Message: "GET / 200", Fields: map[string]string{"kubernetes.pod": "pod/web-1/nginx"}}},
		{"broken json is plain", `{"level":"error"`, investigate.LogRecord{Message: `{"level":"error"`}},
	}
	p := NewParser(FormatAuto, investigate.FieldNames{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Parse(tt.line)
			if !got.Time.Equal(tt.want.Time) || got.Level != tt.want.Level || got.Service != tt.want.Service || got.Message != tt.want.Message ||
				got.TraceID != tt.want.TraceID || got.SpanID != tt.want.SpanID || got.CorrelationID != tt.want.CorrelationID {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.line, got, tt.want)
			}
			for k, v := range tt.want.Fields {
				if got.Fields[k] != v {
					t.Errorf("field %s = %q, want %q", k, got.Fields[k], v)
				}
			}
		})
	}
}

func TestParsePlainRegex(t *testing.T) {
	re := regexp.MustCompile(`^(?P<time>\S+) \[(?P<service>[^\]]+)\] (?P<level>\w+) (?P<msg>.*?)(?: trace=(?P<trace_id>\w+))?$`)
	p := NewParser(FormatPlain, investigate.FieldNames{}, re)
	got := p.Parse(`2026-11-25T10:00:00.123Z [billing] ERROR invoice failed trace=abc`)
	if got.Service != "billing" || got.Level != "ERROR" || got.Message != "invoice failed" || got.TraceID != "abc" ||
		!got.Time.Equal(time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)) {
		t.Errorf("got %+v", got)
	}
	if got := p.Parse("no match here"); got.Message != "no match here" {
		t.Errorf("unmatched line: %+v", got)
	}
}

func TestFieldOverrides(t *testing.T) {
	p := NewParser(FormatJSON, investigate.FieldNames{TraceID: []string{"x-b3-traceid"}, Message: []string{"text_payload"}}, nil)
	got := p.Parse(`{"x-b3-traceid":"b3","text_payload":"hello","msg":"other"}`)
	if got.TraceID != "b3" || got.Message != "hello" {
		t.Errorf("got %+v", got)
	}
}

func fuzzParse(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	p := NewParser(format, investigate.FieldNames{}, nil)
	f.Fuzz(func(t *testing.T, line string) {
		r := p.Parse(line)
		if len(r.Message) > len(line)+len(line)/2+16 {
			t.Fatalf("message grew from %d to %d bytes", len(line), len(r.Message))
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	fuzzParse(f, FormatJSON, `{"msg":"x","level":"info","ts":1700000000}`, `{"a":{"b":{"c":[1,2,{"d":null}]}}}`, `{"time":"9999-99-99"}`)
}

func FuzzParseLogfmt(f *testing.F) {
	fuzzParse(f, FormatLogfmt, `a=1 b="two words" c`, `msg="\x1b" k=`, `=== ""`)
}

func FuzzParsePlain(f *testing.F) {
	fuzzParse(f, FormatPlain, `ERROR x trace_id=1`, `[pod/a/b] 2026-11-25T10:00:00Z WARN y`, `2026/11/25 10:00:00 z`)
}

func FuzzParseAuto(f *testing.F) {
	fuzzParse(f, FormatAuto, `{"msg":"x"}`, `level=info msg=y`, `plain`)
}
