package jaeger

import (
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

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
	chunk := &api.SpansResponseChunk{Spans: modelSpans(f)}
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

// FuzzGRPCV3Request round-trips the hand-encoded api_v3 search request through protowire: whatever the
// user typed, the request must stay well-formed protobuf.
func FuzzGRPCV3Request(f *testing.F) {
	f.Add("checkout", "POST /orders", "k", "v", int64(1793675520), int64(500))
	f.Add("", "\x00\xff", "", "\n", int64(-1), int64(-7))
	f.Fuzz(func(t *testing.T, svc, op, k, v string, sec, ms int64) {
		q := investigate.TraceQuery{Service: svc, Operation: op, Tags: map[string]string{k: v}, MinDuration: time.Duration(ms) * time.Millisecond, Limit: 20}
		b := v3FindTracesRequest(q, time.Unix(sec, 0), time.Unix(sec+60, 5))
		for len(b) > 0 {
			_, _, n := protowire.ConsumeField(b)
			if n < 0 {
				t.Fatalf("malformed request: %v", protowire.ParseError(n))
			}
			b = b[n:]
		}
	})
}
