package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// CorrelationHeader carries the correlation ID from the edge through every call.
const CorrelationHeader = "X-Correlation-ID"

// service is one running demo service: its telemetry, its faults and its routes.
type service struct {
	cfg     ServiceConfig
	log     *slog.Logger
	tp      *swapProvider
	tracer  trace.Tracer
	m       *metrics
	faults  *faultSet
	prop    propagation.TextMapPropagator
	clients map[string]*http.Client

	mu       sync.Mutex
	version  string
	shutdown []func(context.Context) error // tracer providers to flush on exit

	leak leakStore
	app  app // the service's own handlers
}

// app is what differs between services: their routes and what clearing a fault undoes.
type app interface {
	routes(s *service) []route
	clearFault(k Kind)
}

// route is one instrumented endpoint.
type route struct {
	method, path string
	h            func(w http.ResponseWriter, r *http.Request) error
}

// httpError is a handler failure with the status to answer.
type httpError struct {
	status int
	err    error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func fail(status int, format string, args ...any) error {
	return &httpError{status: status, err: fmt.Errorf(format, args...)}
}

func newService(cfg ServiceConfig, logOut io.Writer) (*service, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(cfg.Name, reg)
	out := logOut
	var shipper *logShipper
	if cfg.VictoriaLogsURL != "" {
		var err error
		if shipper, err = newLogShipper(cfg.VictoriaLogsURL, m.logDropped, m.logFailed); err != nil {
			return nil, err
		}
		out = io.MultiWriter(logOut, shipper)
	}
	s := &service{cfg: cfg, m: m, version: BaseVersion, clients: map[string]*http.Client{},
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	s.log = slog.New(contextHandler{slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo})}).
		With("service", cfg.Name)
	tp, stop, err := newTracerProvider(cfg, BaseVersion)
	if err != nil {
		return nil, err
	}
	s.shutdown = append(s.shutdown, stop)
	if shipper != nil {
		s.shutdown = append(s.shutdown, func(ctx context.Context) error { shipper.close(ctx); return nil })
	}
	s.tp = newSwapProvider(tp)
	s.tracer = s.tp.Tracer("github.com/dbgtool/dbg/internal/demo")
	s.faults = newFaultSet(time.Now, s.clearFault)
	m.buildInfo.WithLabelValues(BaseVersion).Set(1)
	for _, p := range peersOf[cfg.Name] {
		s.clients[p] = s.newClient(p)
	}
	switch cfg.Name {
	case Frontend:
		s.app = &frontend{}
	case Checkout:
		s.app = &checkout{}
	case Inventory:
		inv, err := openInventory(cfg, s)
		if err != nil {
			return nil, err
		}
		s.app = inv
		s.shutdown = append(s.shutdown, func(context.Context) error { return inv.db.Close() })
	case Payment:
		s.app = newPayment(s)
	case Fraud:
		s.app = &fraud{}
	case Gateway:
		s.app = &gateway{}
	default:
		return nil, fmt.Errorf("unknown service %q", cfg.Name)
	}
	return s, nil
}

// handler is the whole HTTP surface: instrumented routes, plus /metrics, /debug/pprof, /healthz and
// /admin/fault, which are neither traced nor counted.
func (s *service) handler() http.Handler {
	api := http.NewServeMux()
	for _, rt := range s.app.routes(s) {
		api.Handle(rt.method+" "+rt.path, s.instrument(rt))
	}
	traced := otelhttp.NewHandler(api, s.cfg.Name,
		otelhttp.WithTracerProvider(s.tp), otelhttp.WithPropagators(s.prop),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" { // "GET /items/{sku}": otelhttp names the span again after routing
				return r.Pattern
			}
			return r.Method
		}))
	outer := http.NewServeMux()
	outer.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	outer.HandleFunc("/debug/pprof/", pprof.Index)
	outer.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	outer.HandleFunc("/debug/pprof/profile", pprof.Profile)
	outer.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	outer.HandleFunc("/debug/pprof/trace", pprof.Trace)
	outer.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	outer.HandleFunc("/admin/fault", s.adminFault)
	outer.Handle("/", s.correlate(traced))
	return outer
}

// correlate takes X-Correlation-ID from the request or makes one, and answers with it.
func (s *service) correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(CorrelationHeader)
		if !validCorrelation(id) {
			id = newID()
		}
		w.Header().Set(CorrelationHeader, id)
		next.ServeHTTP(w, r.WithContext(withCorrelation(r.Context(), id)))
	})
}

func validCorrelation(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// instrument wraps a route: span name and http.route, metrics, the access log, the chaos faults, and the
// translation of a handler error into a status, a span error and an error log.
func (s *service) instrument(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		span.SetName(rt.method + " " + rt.path)
		span.SetAttributes(attribute.String("http.route", rt.path), attribute.String("correlation_id", correlationID(ctx)))
		s.m.inFlight.WithLabelValues(s.cfg.Name).Inc()
		defer s.m.inFlight.WithLabelValues(s.cfg.Name).Dec()
		sw := &statusWriter{ResponseWriter: w}
		err := s.chaos(ctx, rt)
		if err == nil {
			err = rt.h(sw, r)
		}
		if err != nil {
			status := http.StatusInternalServerError
			var he *httpError
			if errors.As(err, &he) {
				status = he.status
			}
			if status >= 500 {
				recordError(span, err)
				span.SetStatus(codes.Error, err.Error())
			}
			if sw.code == 0 {
				http.Error(sw, err.Error(), status)
			}
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		elapsed := time.Since(start)
		labels := []string{rt.path, rt.method, strconv.Itoa(code)}
		s.m.duration.WithLabelValues(labels...).Observe(elapsed.Seconds())
		s.m.requests.WithLabelValues(labels...).Inc()
		level, msg := slog.LevelInfo, "request served"
		attrs := []any{"http.request.method", rt.method, "http.route", rt.path, "http.response.status_code", code,
			"duration_ms", math.Round(elapsed.Seconds()*1e5) / 100, "version", s.currentVersion()}
		if err != nil {
			attrs = append(attrs, "error", err.Error(), "error.type", errorType(err))
			if code >= 500 {
				level, msg = slog.LevelError, "request failed"
			} else {
				level, msg = slog.LevelWarn, "request rejected"
			}
		}
		s.log.Log(ctx, level, msg, attrs...)
	})
}

// errorType names an error for exception.type and error.type: the innermost error's Go type.
func errorType(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	var te interface{ Type() string }
	if errors.As(err, &te) {
		return te.Type()
	}
	return fmt.Sprintf("%T", err)
}

// recordError adds the exception event the way instrumentation libraries do, with exception.type the
// error's own name (the SDK's RecordError would name the wrapper type instead).
func recordError(span trace.Span, err error) {
	span.AddEvent("exception", trace.WithAttributes(
		attribute.String("exception.type", errorType(err)),
		attribute.String("exception.message", err.Error())))
}

// namedError is an error with a stable type name in telemetry.
type namedError struct{ typ, msg string }

func (e *namedError) Error() string { return e.msg }
func (e *namedError) Type() string  { return e.typ }

// chaos applies the faults that act around any handler: latency, error-rate, error-burst, deploy, cpu-hog
// and the leaks.
func (s *service) chaos(ctx context.Context, rt route) error {
	if p, ok := s.faults.get(KindLatency); ok && p.matchesRoute(rt.method, rt.path) {
		jitter := p.MS / 5
		d := time.Duration(p.MS) * time.Millisecond
		if jitter > 0 {
			d += time.Duration(mrand.IntN(2*jitter+1)-jitter) * time.Millisecond
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	if p, ok := s.faults.get(KindDeploy); ok {
		// The new version's extra work: a regression in the handler itself.
		if err := sleep(ctx, time.Duration(p.MS)*time.Millisecond); err != nil {
			return err
		}
	}
	if p, ok := s.faults.get(KindCPUHog); ok {
		burnCPU(time.Duration(p.MS) * time.Millisecond)
	}
	if p, ok := s.faults.get(KindMemoryLeak); ok {
		s.leak.remember(p.KB<<10, int64(p.MaxMB)<<20)
	}
	if p, ok := s.faults.get(KindGoroutineLeak); ok {
		s.leak.awaitReply(p.Max)
	}
	if p, ok := s.faults.get(KindErrorRate); ok && p.matchesRoute(rt.method, rt.path) && mrand.Float64() < p.Rate {
		return &httpError{status: http.StatusInternalServerError,
			err: &namedError{typ: "InternalError", msg: "internal error: unexpected state in " + s.cfg.Name}}
	}
	return nil
}

// work runs a piece of the service's own processing in an internal span; slow-downstream and
// error-burst act here, so their spans show where the time or the failure is.
func (s *service) work(ctx context.Context, name string, base time.Duration) error {
	ctx, span := s.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	d := base/2 + time.Duration(mrand.Int64N(int64(base)+1))
	if p, ok := s.faults.get(KindSlowDownstream); ok {
		d += time.Duration(p.MS) * time.Millisecond
	}
	if err := sleep(ctx, d); err != nil {
		return err
	}
	if p, ok := s.faults.get(KindErrorBurst); ok && mrand.Float64() < p.Rate {
		err := &namedError{typ: "UnavailableError", msg: name + ": backend unavailable"}
		recordError(span, err)
		span.SetStatus(codes.Error, err.Error())
		return &httpError{status: http.StatusServiceUnavailable, err: err}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// burnCPU hashes until d has passed: the cpu-hog fault's work, visible in a CPU profile.
func burnCPU(d time.Duration) {
	// d of this thread's CPU time, not of wall time: a hot loop does a fixed amount of work, and on a
	// busy machine it takes longer rather than doing less (the fault must cost CPU whatever the load).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	end := time.Now().Add(d)
	sum := sha256.Sum256([]byte("dbg-demo"))
	for {
		for range 200 {
			sum = sha256.Sum256(sum[:])
		}
		if ok {
			if now, _ := threadCPU(); now-start >= d {
				break
			}
		} else if !time.Now().Before(end) {
			break
		}
	}
	_ = sum
}

// leakStore holds what the leak faults keep, so clearing them frees it.
type leakStore struct {
	mu    sync.Mutex
	bufs  [][]byte
	bytes int64
	block chan struct{}
	n     int
}

// remember keeps a buffer per request, up to max bytes in all: the memory-leak fault.
func (l *leakStore) remember(size int, max int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if size <= 0 || l.bytes+int64(size) > max {
		return
	}
	b := make([]byte, size)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1 // touch the pages so the memory is resident
	}
	l.bufs = append(l.bufs, b)
	l.bytes += int64(size)
}

// awaitReply starts a goroutine that waits for a reply that never comes, up to max of them: the
// goroutine-leak fault.
func (l *leakStore) awaitReply(max int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= max {
		return
	}
	if l.block == nil {
		l.block = make(chan struct{})
	}
	l.n++
	go waitForReply(l.block)
}

func waitForReply(reply <-chan struct{}) { <-reply }

func (l *leakStore) freeMemory() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bufs, l.bytes = nil, 0
}

func (l *leakStore) freeGoroutines() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.block != nil {
		close(l.block)
		l.block, l.n = nil, 0
	}
}

func (s *service) currentVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// deploy switches the service to version: a new tracer provider (its resource carries
// service.version), a new demo_build_info series, and a log line as a deploy tool would leave.
func (s *service) deploy(version string) error {
	s.mu.Lock()
	old := s.version
	s.mu.Unlock()
	if old == version {
		return nil
	}
	tp, stop, err := newTracerProvider(s.cfg, version)
	if err != nil {
		return err
	}
	prev := s.tp.swap(tp)
	s.mu.Lock()
	s.version = version
	s.shutdown = append(s.shutdown, stop)
	s.mu.Unlock()
	s.m.buildInfo.Reset()
	s.m.buildInfo.WithLabelValues(version).Set(1)
	s.log.Info("deployed new version", "from_version", old, "to_version", version, "service.version", version)
	// Spans still open on the old provider end within a few seconds; flush them then.
	if sp, ok := prev.(interface{ ForceFlush(context.Context) error }); ok {
		time.AfterFunc(5*time.Second, func() { _ = sp.ForceFlush(context.Background()) })
	}
	return nil
}

// clearFault undoes a kind's side effects.
func (s *service) clearFault(k Kind) {
	s.m.faults.DeleteLabelValues(string(k))
	switch k {
	case KindMemoryLeak:
		s.leak.freeMemory()
	case KindGoroutineLeak:
		s.leak.freeGoroutines()
	case KindDeploy:
		if err := s.deploy(BaseVersion); err != nil {
			s.log.Error("rollback failed", "error", err.Error())
		}
	}
	s.app.clearFault(k)
	s.log.Info("fault cleared", "fault.kind", string(k))
}

// inject applies a resolved fault.
func (s *service) inject(ctx context.Context, f Fault) (Active, error) {
	a := Active{Fault: f, Service: s.cfg.Name, Since: time.Now()}
	if f.Params.Duration != "" {
		d, _ := time.ParseDuration(f.Params.Duration)
		if d > 0 {
			a.Until = a.Since.Add(d)
		}
	}
	if f.Kind == KindDeploy {
		if err := s.deploy(f.Params.Version); err != nil {
			return a, err
		}
	}
	if in, ok := s.app.(interface {
		inject(context.Context, Fault) error
	}); ok {
		if err := in.inject(ctx, f); err != nil {
			return a, err
		}
	}
	s.faults.set(a)
	s.m.faults.WithLabelValues(string(f.Kind)).Set(1)
	return a, nil
}

// adminFault serves POST (inject), DELETE (clear; ?kind= for one) and GET (list) on /admin/fault.
func (s *service) adminFault(w http.ResponseWriter, r *http.Request) {
	serveAdmin(w, r, s.cfg.Name, func(ctx context.Context, f Fault) (Active, error) { return s.inject(ctx, f) },
		s.faults.clear, s.faults.list)
}

// serveAdmin is the admin protocol, shared by the services and the load generator.
func serveAdmin(w http.ResponseWriter, r *http.Request, name string, inject func(context.Context, Fault) (Active, error),
	clear func(Kind) []Kind, list func() []Active) {
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		_ = json.NewEncoder(w).Encode(list())
	case http.MethodDelete:
		k := Kind(r.URL.Query().Get("kind"))
		if k != "" {
			if _, ok := SpecFor(k); !ok {
				adminError(w, http.StatusBadRequest, fmt.Errorf("unknown fault kind %q", k))
				return
			}
		}
		gone := clear(k)
		names := make([]string, len(gone))
		for i, g := range gone {
			names[i] = string(g)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"service": name, "cleared": names})
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		f, err := DecodeFault(body)
		if err == nil {
			f, err = f.Resolve(name)
		}
		if err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		a, err := inject(r.Context(), f)
		if err != nil {
			adminError(w, http.StatusInternalServerError, err)
			return
		}
		_ = json.NewEncoder(w).Encode(a)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		adminError(w, http.StatusMethodNotAllowed, errors.New("use GET, POST or DELETE"))
	}
}

func adminError(w http.ResponseWriter, status int, err error) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// newClient is the HTTP client for calls to peer: a client span with peer.service, trace context and
// the correlation ID propagated, and the client-side duration metric.
func (s *service) newClient(peer string) *http.Client {
	base := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
	rt := otelhttp.NewTransport(base, otelhttp.WithTracerProvider(s.tp), otelhttp.WithPropagators(s.prop),
		otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String("peer.service", peer))),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if rt, ok := r.Context().Value(routeKey{}).(string); ok {
				return r.Method + " " + rt
			}
			return r.Method
		}))
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if id := correlationID(r.Context()); id != "" {
			r.Header.Set(CorrelationHeader, id)
		}
		start := time.Now()
		resp, err := rt.RoundTrip(r)
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		s.m.client.WithLabelValues(peer, code).Observe(time.Since(start).Seconds())
		return resp, err
	})}
}

type routeKey struct{}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// call sends a request to peer's route (path is the concrete URL path) and decodes a JSON answer into
// out. A 5xx from the peer becomes a 502 here: the failure is downstream.
func (s *service) call(ctx context.Context, peer, method, routeName, path string, in, out any) error {
	base, ok := s.cfg.Peers[peer]
	if !ok {
		return fail(http.StatusInternalServerError, "no address for %s", peer)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	ctx = context.WithValue(ctx, routeKey{}, routeName)
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.clients[peer].Do(req)
	if err != nil {
		return &httpError{status: http.StatusBadGateway, err: &namedError{typ: "DownstreamError", msg: fmt.Sprintf("%s %s: %v", peer, routeName, err)}}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 500 {
		return &httpError{status: http.StatusBadGateway, err: &namedError{typ: "DownstreamError",
			msg: fmt.Sprintf("%s %s: %s: %s", peer, routeName, resp.Status, strings.TrimSpace(string(data)))}}
	}
	if resp.StatusCode >= 400 {
		return &httpError{status: resp.StatusCode, err: fmt.Errorf("%s %s: %s", peer, routeName, resp.Status)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", peer, routeName, err)
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// ServeFromEnv runs the one service described by EnvService until ctx ends or stdin closes (the parent
// holds it open: when the parent dies, the child follows). Logs go to logOut as JSON lines.
func ServeFromEnv(ctx context.Context, logOut io.Writer) error {
	cfg, err := configFromEnv()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return Serve(ctx, cfg, logOut)
}

// Serve runs one service until ctx ends.
func Serve(ctx context.Context, cfg ServiceConfig, logOut io.Writer) error {
	s, err := newService(cfg, logOut)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Name, err)
	}
	srv := &http.Server{Addr: cfg.Addr, Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	s.log.Info("service started", "addr", cfg.Addr, "service.version", BaseVersion)
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	s.log.Info("service stopping")
	s.faults.clear("")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.mu.Lock()
	stops := s.shutdown
	s.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		_ = stops[i](sctx)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
