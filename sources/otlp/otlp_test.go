package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/dbgtool/dbg/investigate"
)

func readCheckout(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "traces", "checkout.otlp.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewrite decodes doc, applies fn to every object, and encodes it again.
func rewrite(t *testing.T, doc []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			fn(x)
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func toBase64(m map[string]any) {
	for _, k := range []string{"traceId", "spanId", "parentSpanId"} {
		if s, ok := m[k].(string); ok && s != "" {
			raw, err := hex.DecodeString(s)
			if err != nil {
				panic(err)
			}
			m[k] = base64.StdEncoding.EncodeToString(raw)
		}
	}
}

func summary(t *testing.T, ts []*investigate.Trace) string {
	t.Helper()
	if len(ts) != 1 {
		t.Fatalf("%d traces, want 1", len(ts))
	}
	rep := investigate.AnalyzeTrace(ts[0], investigate.DefaultTraceOptions())
	var b strings.Builder
	b.WriteString(rep.TraceID)
	for _, p := range rep.CriticalPath {
		b.WriteString(" " + p.SpanID + "/" + p.Service)
	}
	for _, f := range rep.Findings {
		b.WriteString(" | " + f.Title)
	}
	return b.String()
}

// TestDecodeTempoShapes: Tempo's /api/traces answer (batches, base64 IDs), its /api/v2 answer (a "trace"
// wrapper) and the pre-1.0 instrumentationLibrarySpans name decode to the same trace as the collector's
// hex form.
func TestDecodeTempoShapes(t *testing.T) {
	hexDoc := readCheckout(t)
	want, err := DecodeJSON(hexDoc)
	if err != nil {
		t.Fatal(err)
	}
	wantSum := summary(t, want)
	b64 := rewrite(t, hexDoc, toBase64)
	if !strings.Contains(string(b64), `"traceId":"S/kvNXezTaajzpKdDg5HNg=="`) {
		t.Fatalf("the test did not produce base64 IDs: %.300s", b64)
	}
	var m map[string]any
	if err := json.Unmarshal(b64, &m); err != nil {
		t.Fatal(err)
	}
	batches, _ := json.Marshal(map[string]any{"batches": m["resourceSpans"]})
	v2, _ := json.Marshal(map[string]any{"trace": m})
	ils := rewrite(t, batches, func(m map[string]any) {
		if v, ok := m["scopeSpans"]; ok {
			m["instrumentationLibrarySpans"] = v
			delete(m, "scopeSpans")
		}
		if v, ok := m["scope"]; ok {
			m["instrumentationLibrary"] = v
			delete(m, "scope")
		}
	})
	for name, doc := range map[string][]byte{"base64 resourceSpans": b64, "tempo v1 batches": batches, "tempo v2 trace": v2, "instrumentationLibrarySpans": ils} {
		t.Run(name, func(t *testing.T) {
			ts, err := DecodeJSON(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(t, ts); got != wantSum {
				t.Errorf("differs from the hex form:\n got %s\nwant %s", got, wantSum)
			}
		})
	}
}

// TestConvertRoundTrip: what FromTraces writes, DecodeJSON reads back field for field.
func TestConvertRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	in := &investigate.Trace{ID: "0af7651916cd43dd8448eb211c80319c", Spans: []investigate.Span{
		{TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331", Service: "api", Operation: "GET /x",
			Kind: investigate.KindServer, Start: t0, Duration: 120 * time.Millisecond, Status: investigate.StatusError, StatusMessage: "boom",
			Attrs: investigate.Attrs{{Key: "http.route", Value: "/x"}}},
		{TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "00f067aa0ba902b7", ParentID: "b7ad6b7169203331", Service: "db", Operation: "SELECT",
			Kind: investigate.KindClient, Start: t0.Add(time.Millisecond), Duration: 30 * time.Microsecond,
			Events: []investigate.Event{{Name: "exception", Time: t0.Add(2 * time.Millisecond), Attrs: investigate.Attrs{{Key: "exception.type", Value: "Timeout"}}}},
			Links:  []investigate.Link{{TraceID: "11111111111111111111111111111111", SpanID: "2222222222222222"}}},
	}}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(FromTraces([]*investigate.Trace{in}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ID != in.ID || len(out[0].Spans) != 2 {
		t.Fatalf("got %+v", out)
	}
	byID := map[string]investigate.Span{}
	for _, s := range out[0].Spans {
		byID[s.SpanID] = s
	}
	for _, w := range in.Spans {
		g, ok := byID[w.SpanID]
		if !ok {
			t.Fatalf("span %s lost", w.SpanID)
		}
		if g.ParentID != w.ParentID || g.Service != w.Service || g.Operation != w.Operation || g.Kind != w.Kind ||
			!g.Start.Equal(w.Start) || g.Duration != w.Duration || g.Status != w.Status || g.StatusMessage != w.StatusMessage {
			t.Errorf("span %s: got %+v, want %+v", w.SpanID, g, w)
		}
		if len(g.Events) != len(w.Events) || len(g.Links) != len(w.Links) {
			t.Errorf("span %s: events/links %d/%d, want %d/%d", w.SpanID, len(g.Events), len(g.Links), len(w.Events), len(w.Links))
		}
		for _, a := range w.Attrs {
			if v, _ := g.Attrs.Get(a.Key); v != a.Value {
				t.Errorf("span %s attr %s = %q, want %q", w.SpanID, a.Key, v, a.Value)
			}
		}
	}
	if l := byID["00f067aa0ba902b7"].Links; len(l) == 1 && (l[0].TraceID != "11111111111111111111111111111111" || l[0].SpanID != "2222222222222222") {
		t.Errorf("link %+v", l[0])
	}
}

// TestDecodeJSONBadInput: one error naming OTLP JSON, never a panic.
func TestDecodeJSONBadInput(t *testing.T) {
	for _, doc := range []string{``, `{`, `[1,2]`, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`,
		`{"batches":"nope"}`, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AAAA"}]}]}]}`} {
		if _, err := DecodeJSON([]byte(doc)); err == nil || !strings.HasPrefix(err.Error(), "OTLP JSON") {
			t.Errorf("%q: err %v, want an OTLP JSON error", doc, err)
		}
	}
	// Deep nesting in attribute values is bounded, not a stack overflow.
	deep := `{"batches":[{"resource":{"attributes":[{"key":"k","value":` + strings.Repeat(`{"arrayValue":{"values":[`, 2000) + strings.Repeat(`]}}`, 2000) + `}]}}]}`
	_, _ = DecodeJSON([]byte(deep))
}

func TestTraceIDString(t *testing.T) {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	if got := TraceIDString(s.TraceID()); got != "" {
		t.Errorf("empty ID printed as %q", got)
	}
}

// FuzzDecodeJSON: any bytes give traces or an error, never a panic, including the rewritten shapes.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"batches":[{"resource":{},"scopeSpans":[{"spans":[{"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"AAAAAJ43ebE="}]}]}]}`))
	f.Add([]byte(`{"trace":{"resourceSpans":[{"instrumentationLibrarySpans":[{"instrumentationLibrary":{},"spans":[{"traceId":"AAAAAAAAAAAAAAAAAAAAAA==","parentSpanId":"AAAAAAAAAAE="}]}]}]}}`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"01"}]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := DecodeJSON(b)
		if err != nil {
			return
		}
		for _, tr := range ts {
			investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
		}
	})
}
