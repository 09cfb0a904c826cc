package jaeger

import (
	"testing"

	api "github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"

	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
)

// FuzzDecodeV3 feeds arbitrary bytes to the v3 HTTP answer decoder: it must return traces or an error,
// never panic, and whatever it returns must survive analysis.
func FuzzDecodeV3(f *testing.F) {
	f.Add(v3Body(f, tracegen.Checkout(1)))
	f.Add([]byte(`{"error":{"httpCode":404,"message":"trace not found"}}`))
	f.Add([]byte(`{"result":null}`))
	f.Add([]byte(`{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"02","parentSpanId":"02"}]}]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := DecodeV3(b)
		if err != nil {
			return
		}
		for _, tr := range ts {
			investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
		}
	})
}

// FuzzGRPCChunk feeds arbitrary bytes to the api_v2 chunk decoder and the span conversion.
func FuzzGRPCChunk(f *testing.F) {
	chunk := &api.SpansResponseChunk{Spans: modelSpans(&testing.T{})}
	b, err := chunk.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c api.SpansResponseChunk
		if err := c.Unmarshal(b); err != nil {
			return
		}
		for _, tr := range convertModelSpans(c.Spans) {
			investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
		}
	})
}
