package jaeger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	model "github.com/jaegertracing/jaeger-idl/model/v1"

	"github.com/dbgtool/dbg/investigate"
)

// TestSpanStatusRule: the classic JSON and the gRPC API read a span's status by one rule — a true
// "error" tag is final (Jaeger's reading, as the OpenTelemetry Collector's Jaeger translator has it:
// "the error tag is the ultimate truth"), else otel.status_code, where OK is final (the OpenTelemetry
// API: Ok overrides any Error set before or after it), compared case-insensitively.
func TestSpanStatusRule(t *testing.T) {
	type tag struct{ k, v string }
	cases := []struct {
		name string
		tags []tag
		want investigate.Status
	}{
		{"no status tags", nil, investigate.StatusUnset},
		{"otel ERROR", []tag{{"otel.status_code", "ERROR"}}, investigate.StatusError},
		{"otel OK", []tag{{"otel.status_code", "OK"}}, investigate.StatusOK},
		{"lower-case error", []tag{{"otel.status_code", "error"}}, investigate.StatusError},
		{"OK after ERROR: OK is final", []tag{{"otel.status_code", "ERROR"}, {"otel.status_code", "OK"}}, investigate.StatusOK},
		{"ERROR after OK: OK is final", []tag{{"otel.status_code", "OK"}, {"otel.status_code", "ERROR"}}, investigate.StatusOK},
		{"error tag", []tag{{"error", "true"}}, investigate.StatusError},
		{"error tag over otel OK", []tag{{"otel.status_code", "OK"}, {"error", "true"}}, investigate.StatusError},
		{"error=false decides nothing", []tag{{"error", "false"}, {"otel.status_code", "OK"}}, investigate.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The classic JSON, as the HTTP API and UI exports write it.
			var wtags []string
			var mtags []model.KeyValue
			for _, tg := range c.tags {
				if tg.v == "true" || tg.v == "false" {
					wtags = append(wtags, `{"key":"`+tg.k+`","type":"bool","value":`+tg.v+`}`)
					mtags = append(mtags, model.Bool(tg.k, tg.v == "true"))
				} else {
					b, _ := json.Marshal(tg.v)
					wtags = append(wtags, `{"key":"`+tg.k+`","type":"string","value":`+string(b)+`}`)
					mtags = append(mtags, model.String(tg.k, tg.v))
				}
			}
			doc := `{"data":[{"traceID":"0af7651916cd43dd8448eb211c80319c","spans":[{"traceID":"0af7651916cd43dd8448eb211c80319c",` +
				`"spanID":"b7ad6b7169203331","operationName":"op","references":[],"startTime":1700000000000000,"duration":1000,` +
				`"tags":[` + strings.Join(wtags, ",") + `],"processID":"p1"}],"processes":{"p1":{"serviceName":"svc","tags":[]}}}]}`
			ts, err := DecodeClassic(strings.NewReader(doc))
			if err != nil || len(ts) != 1 || len(ts[0].Spans) != 1 {
				t.Fatalf("classic: %v %+v", err, ts)
			}
			if got := ts[0].Spans[0].Status; got != c.want {
				t.Errorf("classic JSON: status %v, want %v", got, c.want)
			}
			// The gRPC API's model spans.
			tid, _ := model.TraceIDFromString("0af7651916cd43dd8448eb211c80319c")
			sid, _ := model.SpanIDFromString("b7ad6b7169203331")
			ms := model.Span{TraceID: tid, SpanID: sid, OperationName: "op", StartTime: time.UnixMicro(1700000000000000),
				Duration: time.Millisecond, Tags: mtags, Process: &model.Process{ServiceName: "svc"}}
			gs := convertModelSpans([]model.Span{ms})
			if len(gs) != 1 || len(gs[0].Spans) != 1 {
				t.Fatalf("grpc: %+v", gs)
			}
			if got := gs[0].Spans[0].Status; got != c.want {
				t.Errorf("gRPC model: status %v, want %v", got, c.want)
			}
			if a, b := ts[0].Spans[0], gs[0].Spans[0]; a.Start != b.Start || a.Duration != b.Duration || a.Service != b.Service || a.SpanID != b.SpanID {
				t.Errorf("the two APIs read the span differently:\nclassic %+v\ngrpc    %+v", a, b)
			}
		})
	}
}
