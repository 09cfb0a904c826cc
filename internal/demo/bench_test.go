package demo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkInstrumentation measures what the demo's instrumentation costs a request: the same trivial
// handler bare and behind the full stack (correlation ID, otelhttp with a recording SDK provider,
// route span naming, Prometheus histogram and counter, a JSON access log line). Compare the two ns/op.
func BenchmarkInstrumentation(b *testing.B) {
	ok := func(w http.ResponseWriter, _ *http.Request) error { _, err := io.WriteString(w, "ok"); return err }
	s, err := newService(ServiceConfig{Name: Fraud, Addr: "127.0.0.1:0"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	exp := tracetest.NewNoopExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	defer tp.Shutdown(context.Background())
	s.tp.swap(tp)
	mux := http.NewServeMux()
	mux.Handle("POST /score", s.instrument(route{"POST", "/score", ok}))
	full := s.correlate(otelhttp.NewHandler(mux, "fraud-check", otelhttp.WithTracerProvider(s.tp)))
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = ok(w, r) })
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"instrumented", full}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/score", nil)
				rec := httptest.NewRecorder()
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
