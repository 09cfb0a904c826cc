package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// swapProvider is a TracerProvider whose spans go to the current SDK provider, so that a deploy can
// replace the provider (its resource carries service.version) while otelhttp keeps the tracer it was
// built with.
type swapProvider struct {
	embedded.TracerProvider
	cur atomic.Pointer[trace.TracerProvider]
}

func newSwapProvider(tp trace.TracerProvider) *swapProvider {
	p := &swapProvider{}
	p.cur.Store(&tp)
	return p
}

func (p *swapProvider) swap(tp trace.TracerProvider) trace.TracerProvider {
	return *p.cur.Swap(&tp)
}

func (p *swapProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return &swapTracer{p: p, name: name, opts: opts}
}

type swapTracer struct {
	embedded.Tracer
	p    *swapProvider
	name string
	opts []trace.TracerOption
}

func (t *swapTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return (*t.p.cur.Load()).Tracer(t.name, t.opts...).Start(ctx, name, opts...)
}

// newTracerProvider builds the SDK provider of one service version; with no OTLP URL spans are dropped.
func newTracerProvider(c ServiceConfig, version string) (trace.TracerProvider, func(context.Context) error, error) {
	if c.OTLPURL == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(c.OTLPURL),
		otlptracehttp.WithTimeout(5*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("otlp exporter %s: %w", c.OTLPURL, err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", c.Name),
		attribute.String("service.version", version),
		attribute.String("service.namespace", "dbg-demo"),
		attribute.String("deployment.environment.name", "demo"),
		attribute.String("telemetry.sdk.language", "go"),
	)
	bt := c.BatchTimeout
	if bt <= 0 {
		bt = time.Second
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(bt), sdktrace.WithMaxQueueSize(8192)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return tp, tp.Shutdown, nil
}

type ctxKey int

const correlationKey ctxKey = iota

// withCorrelation stores the correlation ID in the context.
func withCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

// correlationID returns the request's correlation ID, "" outside a request.
func correlationID(ctx context.Context) string {
	s, _ := ctx.Value(correlationKey).(string)
	return s
}

// contextHandler adds trace_id, span_id and correlation_id from the context to every record.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if id := correlationID(ctx); id != "" {
		r.AddAttrs(slog.String("correlation_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(as)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// logShipper sends JSON log lines to VictoriaLogs' /insert/jsonline in batches. The queue is bounded:
// when VictoriaLogs is slow or down, lines are dropped (and counted) rather than held.
type logShipper struct {
	url     string
	client  *http.Client
	queue   chan []byte
	dropped prometheus.Counter
	failed  prometheus.Counter
	done    chan struct{}
	once    sync.Once
}

const (
	shipQueue    = 8192
	shipBatch    = 500
	shipInterval = 500 * time.Millisecond
)

func newLogShipper(base string, dropped, failed prometheus.Counter) (*logShipper, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("victorialogs URL %q: want http(s)://host:port", base)
	}
	u = u.JoinPath("/insert/jsonline")
	q := u.Query()
	q.Set("_stream_fields", "service")
	q.Set("_msg_field", "msg")
	q.Set("_time_field", "time")
	u.RawQuery = q.Encode()
	s := &logShipper{url: u.String(), client: &http.Client{Timeout: 5 * time.Second},
		queue: make(chan []byte, shipQueue), dropped: dropped, failed: failed, done: make(chan struct{})}
	go s.loop()
	return s, nil
}

// Write takes one JSON line (slog's JSON handler writes a record in one call).
func (s *logShipper) Write(p []byte) (int, error) {
	line := bytes.Clone(p)
	select {
	case s.queue <- line:
	default:
		s.dropped.Inc()
	}
	return len(p), nil
}

func (s *logShipper) loop() {
	defer close(s.done)
	var buf bytes.Buffer
	n := 0
	tick := time.NewTicker(shipInterval)
	defer tick.Stop()
	flush := func() {
		if n == 0 {
			return
		}
		if err := s.post(buf.Bytes()); err != nil {
			s.failed.Add(float64(n))
		}
		buf.Reset()
		n = 0
	}
	for {
		select {
		case line, ok := <-s.queue:
			if !ok {
				flush()
				return
			}
			buf.Write(line)
			if len(line) == 0 || line[len(line)-1] != '\n' {
				buf.WriteByte('\n')
			}
			if n++; n >= shipBatch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

func (s *logShipper) post(body []byte) error {
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/stream+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("victorialogs: %s", resp.Status)
	}
	return nil
}

// close flushes what is queued, waiting at most until ctx ends.
func (s *logShipper) close(ctx context.Context) {
	s.once.Do(func() { close(s.queue) })
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

// metrics are one service's Prometheus collectors, in the classic client_golang names.
type metrics struct {
	reg        *prometheus.Registry
	duration   *prometheus.HistogramVec // http_request_duration_seconds{service,handler,method,code}
	requests   *prometheus.CounterVec   // http_requests_total{service,handler,method,code}
	inFlight   *prometheus.GaugeVec     // http_requests_in_flight{service}
	client     *prometheus.HistogramVec // http_client_request_duration_seconds{service,peer,code}
	dbDuration *prometheus.HistogramVec // db_query_duration_seconds{service,operation,table}
	buildInfo  *prometheus.GaugeVec     // demo_build_info{service,version}
	faults     *prometheus.GaugeVec     // demo_fault_active{service,kind}: for people watching, not for dbg
	breaker    *prometheus.GaugeVec     // circuit_breaker_state{service,name}: 0 closed, 1 half-open, 2 open
	brRejected *prometheus.CounterVec   // circuit_breaker_rejections_total{service,name}
	bhInFlight *prometheus.GaugeVec     // bulkhead_in_flight{service,name}
	bhCapacity *prometheus.GaugeVec     // bulkhead_capacity{service,name}
	bhRejected *prometheus.CounterVec   // bulkhead_rejections_total{service,name}
	logDropped prometheus.Counter
	logFailed  prometheus.Counter
}

func newMetrics(service string, reg *prometheus.Registry) *metrics {
	sl := prometheus.Labels{"service": service}
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m := &metrics{
		reg: reg,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds",
			Help: "Time to serve HTTP requests.", Buckets: buckets, ConstLabels: sl}, []string{"handler", "method", "code"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total",
			Help: "HTTP requests served.", ConstLabels: sl}, []string{"handler", "method", "code"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "http_requests_in_flight",
			Help: "HTTP requests being served."}, []string{"service"}),
		client: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_client_request_duration_seconds",
			Help: "Time of calls to other services.", Buckets: buckets, ConstLabels: sl}, []string{"peer", "code"}),
		dbDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "db_query_duration_seconds",
			Help: "Time of database queries.", Buckets: buckets, ConstLabels: sl}, []string{"operation", "table"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "demo_build_info",
			Help: "1 for the running version.", ConstLabels: sl}, []string{"version"}),
		faults: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "demo_fault_active",
			Help: "1 while a fault is injected.", ConstLabels: sl}, []string{"kind"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "circuit_breaker_state",
			Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.", ConstLabels: sl}, []string{"name"}),
		brRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "circuit_breaker_rejections_total",
			Help: "Calls refused by an open circuit breaker.", ConstLabels: sl}, []string{"name"}),
		bhInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bulkhead_in_flight",
			Help: "Calls holding a bulkhead slot.", ConstLabels: sl}, []string{"name"}),
		bhCapacity: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bulkhead_capacity",
			Help: "Bulkhead slots.", ConstLabels: sl}, []string{"name"}),
		bhRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulkhead_rejections_total",
			Help: "Calls refused because the bulkhead was full.", ConstLabels: sl}, []string{"name"}),
		logDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_log_lines_dropped_total",
			Help: "Log lines dropped because the shipping queue was full.", ConstLabels: sl}),
		logFailed: prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_log_lines_failed_total",
			Help: "Log lines VictoriaLogs did not take.", ConstLabels: sl}),
	}
	reg.MustRegister(m.duration, m.requests, m.inFlight, m.client, m.dbDuration, m.buildInfo, m.faults,
		m.breaker, m.brRejected, m.bhInFlight, m.bhCapacity, m.bhRejected, m.logDropped, m.logFailed)
	return m
}
