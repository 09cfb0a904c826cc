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

// TestOtherToolsShapes: Jaeger's anonymizer writes a bare array of spans with embedded processes; some
// exports hold one trace as {"data":{...}}; Tempo answers {"batches":[...]} with base64 IDs.
func TestOtherToolsShapes(t *testing.T) {
	bare := `[{"traceID":"2be38093ead7a083","spanID":"7606ddfe69932d34","flags":1,"operationName":"root","references":[],"startTime":1605223981761425,"duration":267037,"tags":[{"key":"span.kind","type":"string","value":"server"}],"logs":[],"process":{"serviceName":"front","tags":[]},"warnings":null},
  {"traceID":"2be38093ead7a083","spanID":"7bd66f09ba90ea3d","flags":1,"operationName":"call","references":[{"refType":"CHILD_OF","traceID":"2be38093ead7a083","spanID":"7606ddfe69932d34"}],"startTime":1605223981965074,"duration":32782,"tags":[{"key":"span.kind","type":"string","value":"client"},{"key":"error","type":"bool","value":"true"}],"logs":[],"process":{"serviceName":"back","tags":[]},"warnings":null},
  {"traceID":"0000000000000011","spanID":"01","operationName":"other","startTime":1605223981000000,"duration":5,"process":{"serviceName":"x"}}]`
	ts, err := DecodeTraces([]byte(bare))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].ID != "2be38093ead7a083" || len(ts[0].Spans) != 2 || len(ts[1].Spans) != 1 {
		t.Fatalf("bare span array: %d traces %+v", len(ts), ts)
	}
	if s := ts[0].Spans[1]; s.ParentID != "7606ddfe69932d34" || s.Service != "back" || s.Status != investigate.StatusError || s.Kind != investigate.KindClient {
		t.Errorf("second span %+v", s)
	}
	single := `{"data":{"traceID":"abc","spans":[{"traceID":"abc","spanID":"1","operationName":"root","startTime":1000000,"duration":5000,"processID":"p1"}],"processes":{"p1":{"serviceName":"api"}}}}`
	ts, err = DecodeTraces([]byte(single))
	if err != nil || len(ts) != 1 || ts[0].ID != "abc" || len(ts[0].Spans) != 1 || ts[0].Spans[0].Service != "api" {
		t.Fatalf("{\"data\":{...}}: %v %+v", err, ts)
	}
	tempo := `{"batches":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[` +
		`{"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"AAAAAJ43ebE=","name":"GET /","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1000","endTimeUnixNano":"5000"}]}]}]}`
	ts, err = DecodeTraces([]byte(tempo))
	if err != nil || len(ts) != 1 || ts[0].ID != "4bf92f3577b34da6a3ce929d0e0e4736" || ts[0].Spans[0].SpanID != "000000009e3779b1" {
		t.Fatalf("Tempo shape: %v %+v", err, ts)
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
