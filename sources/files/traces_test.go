package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

func TestReadBundledTracesBothFormatsAgree(t *testing.T) {
	var reports []*investigate.TraceReport
	for _, name := range []string{"checkout.json", "checkout.otlp.json"} {
		ts, err := ReadTraceFile(filepath.Join("..", "..", "testdata", "traces", name))
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 1 || len(ts[0].Spans) != 35 || ts[0].ID != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Fatalf("%s: %d traces, first has %d spans, id %q", name, len(ts), len(ts[0].Spans), ts[0].ID)
		}
		reports = append(reports, investigate.AnalyzeTrace(ts[0], investigate.DefaultTraceOptions()))
	}
	a, b := reports[0], reports[1]
	if len(a.Findings) != len(b.Findings) || a.DurationMs != b.DurationMs || len(a.CriticalPath) != len(b.CriticalPath) {
		t.Fatalf("Jaeger JSON and OTLP JSON disagree: %d/%d findings, %v/%v ms", len(a.Findings), len(b.Findings), a.DurationMs, b.DurationMs)
	}
	for i := range a.Findings {
		if a.Findings[i].Kind != b.Findings[i].Kind || a.Findings[i].Title != b.Findings[i].Title {
			t.Errorf("finding %d: %q vs %q", i, a.Findings[i].Title, b.Findings[i].Title)
		}
	}
}

func TestReadTracesBadInput(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"empty", "", "empty file"},
		{"whitespace", "  \n\t", "empty file"},
		{"binary", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", "binary data"},
		{"not json", "hello world", "not JSON"},
		{"truncated jaeger", `{"data":[{"traceID":"1","spans":[{"spanID":"a"`, "truncated JSON"},
		{"truncated otlp", `{"resourceSpans":[{"resource":{`, "OTLP JSON"},
		{"wrong shape", `{"data":[{"traceID":"1","spans":"nope"}]}`, "unexpected JSON shape"},
		{"other json", `{"hello":"world"}`, `without "data"`},
		{"no spans", `{"data":[]}`, "no spans"},
		{"jaeger error", `{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`, "trace not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.json")
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadTraceFile(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q should name the file and say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	if _, err := ReadTraceFile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadTraceFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestJaegerDetails(t *testing.T) {
	doc := `{"data":[{"traceID":"abc","spans":[
	 {"traceID":"abc","spanID":"1","operationName":"root","references":[],"startTime":1000000,"duration":5000,
	  "tags":[{"key":"span.kind","type":"string","value":"server"},{"key":"http.status_code","type":"int64","value":503},{"key":"error","type":"bool","value":true}],
	  "logs":[{"timestamp":1002000,"fields":[{"key":"event","type":"string","value":"exception"},{"key":"exception.type","value":"E"}]}],"processID":"p1"},
	 {"traceID":"abc","spanID":"2","operationName":"child","references":[{"refType":"FOLLOWS_FROM","traceID":"abc","spanID":"1"}],"startTime":1001000,"duration":100,"tags":[],"processID":"p9"}],
	 "processes":{"p1":{"serviceName":"api","tags":[{"key":"hostname","value":"h1"}]}}}]}`
	ts, err := DecodeTraces([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := ts[0].Spans
	if s[0].Service != "api" || s[0].Kind != investigate.KindServer || s[0].Status != investigate.StatusError || len(s[0].Events) != 1 || s[0].Events[0].Name != "exception" {
		t.Errorf("root converted as %+v", s[0])
	}
	if v, _ := s[0].Attrs.Get("http.status_code"); v != "503" {
		t.Errorf("numeric tag value %q", v)
	}
	if v, _ := s[0].Resource.Get("hostname"); v != "h1" {
		t.Errorf("process tag %q", v)
	}
	if s[1].ParentID != "1" || !s[1].FollowsFrom || s[1].Service != "unknown" {
		t.Errorf("child converted as %+v", s[1])
	}
	if len(ts[0].Warnings) != 1 || !strings.Contains(ts[0].Warnings[0], "processID") {
		t.Errorf("warnings %v", ts[0].Warnings)
	}
}

// FuzzDecodeTraces: any bytes give traces or an error, never a panic or hang; whatever decodes can be
// analysed.
func FuzzDecodeTraces(f *testing.F) {
	for _, name := range []string{"checkout.json", "checkout.otlp.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "traces", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4000)])
	}
	f.Add([]byte(`{"data":[{"traceID":"a","spans":[{"spanID":"1","references":[{"refType":"CHILD_OF","spanID":"1"}],"duration":-5}]}]}`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"01","parentSpanId":"01"}]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := DecodeTraces(b)
		if err != nil {
			return
		}
		for _, tr := range ts {
			investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
		}
	})
}
