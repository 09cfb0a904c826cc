package servers

import (
	"fmt"
	"os"
	"path/filepath"
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

// StartJaeger starts the Jaeger v2 binary bin (BuildTool "jaeger") with memory storage on free
// loopback ports, its configuration in dir, and waits until its query API and both OTLP receivers
// answer.
func StartJaeger(dir, bin string) (*JaegerServer, *Process, error) {
	var s *JaegerServer
	p, err := launch("jaeger", func() (*Process, error) {
		ports, err := FreeLoopbackPorts(4)
		if err != nil {
			return nil, err
		}
		s = &JaegerServer{
			QueryHTTP: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
			QueryGRPC: fmt.Sprintf("127.0.0.1:%d", ports[1]),
			OTLPHTTP:  fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
			OTLPGRPC:  fmt.Sprintf("127.0.0.1:%d", ports[3]),
		}
		cfg := filepath.Join(dir, "jaeger.yaml")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, jaegerConfig, ports[0], ports[1], ports[2], ports[3]), 0o644); err != nil {
			return nil, err
		}
		// No OTel SDK export anywhere, whatever the environment says.
		env := []string{"OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none"}
		return startProcess("jaeger", dir, nil, env, bin, "--config", cfg)
	}, func(p *Process) error {
		if err := waitHTTP(s.QueryHTTP+"/api/services", StartTimeout, p.exited); err != nil {
			return err
		}
		if err := waitTCP(s.OTLPGRPC, StartTimeout, p.exited); err != nil {
			return err
		}
		return waitTCP(s.OTLPHTTP[len("http://"):], StartTimeout, p.exited)
	})
	if err != nil {
		return nil, nil, err
	}
	return s, p, nil
}
