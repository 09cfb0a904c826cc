package testserver

import (
	"fmt"
	"testing"
)

// JaegerServer is a running Jaeger v2 (all-in-one, memory storage).
type JaegerServer struct {
	QueryHTTP string // "http://127.0.0.1:P": UI/query HTTP API, /api/traces/<id>, /api/v3/...
	QueryGRPC string // "127.0.0.1:P": query gRPC API (api_v2 and api_v3)
	OTLPHTTP  string // "http://127.0.0.1:P": POST /v1/traces
	OTLPGRPC  string // "127.0.0.1:P": OTLP gRPC receiver
}

// jaegerConfig opens only four listeners (query HTTP, query gRPC, OTLP HTTP,
// OTLP gRPC), all on 127.0.0.1. Left out on purpose: the batch processor (a
// posted span is stored before the POST returns), the jaeger and zipkin
// receivers, remote_sampling, healthcheckv2, expvar, zpages, the :8888
// metrics reader, and the query service's self-tracing.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_query:
    enable_tracing: false
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
      grpc:
        endpoint: 127.0.0.1:%d
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`

// Jaeger starts Jaeger v2 (built from tools/jaeger) with memory storage on
// free loopback ports and waits until its query API and OTLP receiver answer.
func Jaeger(t testing.TB) *JaegerServer {
	t.Helper()
	skipShort(t)
	bin := ToolBinary(t, "jaeger")
	dir := t.TempDir()
	var s *JaegerServer
	launch(t, "jaeger", func() (*process, error) {
		p := FreePorts(t, 4)
		s = &JaegerServer{
			QueryHTTP: fmt.Sprintf("http://127.0.0.1:%d", p[0]),
			QueryGRPC: fmt.Sprintf("127.0.0.1:%d", p[1]),
			OTLPHTTP:  fmt.Sprintf("http://127.0.0.1:%d", p[2]),
			OTLPGRPC:  fmt.Sprintf("127.0.0.1:%d", p[3]),
		}
		cfg := writeFile(t, dir, "jaeger.yaml", fmt.Appendf(nil, jaegerConfig, p[0], p[1], p[2], p[3]))
		// No OTel SDK export anywhere, whatever the environment says.
		env := []string{"OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none"}
		return startProcess("jaeger", dir, nil, env, bin, "--config", cfg)
	}, func(p *process) error {
		if err := waitHTTP(s.QueryHTTP+"/api/services", StartTimeout, p.exited); err != nil {
			return err
		}
		if err := waitTCP(s.OTLPGRPC, StartTimeout, p.exited); err != nil {
			return err
		}
		return waitTCP(s.OTLPHTTP[len("http://"):], StartTimeout, p.exited)
	})
	return s
}
