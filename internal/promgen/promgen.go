// Package promgen writes Prometheus history with known answers as OpenMetrics text, for
// `promtool tsdb create-blocks-from openmetrics`: request metrics in each convention `dbg hotspots`
// discovers, with a planted slow endpoint, error hotspot, traffic spike and traffic drop, an endpoint that
// is slow but no slower than its baseline, and saturation readings. Everything is deterministic.
package promgen

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Phase is an endpoint's behaviour during part of the history. Latencies are in seconds: a share
// 1-TailShare of requests take P50, the rest take Tail, so the p99 falls in Tail's bucket.
type Phase struct {
	Rate     float64 // requests per second
	ErrRatio float64 // share of requests that fail (5xx, or a failing gRPC code)
	P50      float64
	Tail     float64
}

// TailShare is the share of requests that take the tail latency.
const TailShare = 0.03

// Endpoint is one route of the service: its behaviour in the baseline and in the window.
type Endpoint struct {
	Route    string
	Baseline Phase
	Window   Phase
}

// Spec is one generated history.
type Spec struct {
	// Convention is one of Conventions.
	Convention string
	Service    string
	Endpoints  []Endpoint
	// Other is a second service with steady traffic, for --service filtering.
	Other string
	// Start, Split and End: the baseline phase runs from Start to Split, the window phase to End.
	Start, Split, End time.Time
	Step              time.Duration
	// Saturation adds go_goroutines, process fds and a resilience4j circuit breaker.
	Saturation bool
	// Extra adds this many more services (svc-000, ...) with Endpoints' baseline behaviour throughout,
	// for benchmarks.
	Extra int
}

// Conventions are the request-metric conventions the generator writes.
var Conventions = []string{"prometheus-http", "opentelemetry-http", "opentelemetry-http-ms", "grpc", "istio"}

// Planted endpoints of Scenario, by the table where each must rank first.
const (
	SlowRoute       = "/slow"        // p99 0.12s → 0.9s
	AlwaysSlowRoute = "/always-slow" // p99 2s in both phases: slow, but no regression
	ErrorRoute      = "/errors"      // 0% → 30% errors
	SpikeRoute      = "/spike"       // 1/s → 12/s
	DropRoute       = "/drop"        // 10/s → 0.2/s
	SteadyRoute     = "/steady"
)

// Scenario is the planted history in convention conv: 70 minutes ending at end, the window being the
// last 30 minutes and the baseline the 30 before.
func Scenario(conv string, end time.Time) Spec {
	end = end.Truncate(time.Minute)
	fast := Phase{Rate: 5, P50: 0.02, Tail: 0.08}
	slowBase := Phase{Rate: 4, P50: 0.03, Tail: 0.12}
	slowWin := Phase{Rate: 4, P50: 0.3, Tail: 0.9}
	always := Phase{Rate: 2, P50: 1.2, Tail: 2}
	errBase := Phase{Rate: 6, P50: 0.02, Tail: 0.07}
	errWin := errBase
	errWin.ErrRatio = 0.3
	steady := fast
	steady.ErrRatio = 0.005
	return Spec{
		Convention: conv, Service: "shop", Other: "ledger",
		Endpoints: []Endpoint{
			{Route: SteadyRoute, Baseline: steady, Window: steady},
			{Route: SlowRoute, Baseline: slowBase, Window: slowWin},
			{Route: AlwaysSlowRoute, Baseline: always, Window: always},
			{Route: ErrorRoute, Baseline: errBase, Window: errWin},
			{Route: SpikeRoute, Baseline: Phase{Rate: 1, P50: 0.02, Tail: 0.06}, Window: Phase{Rate: 12, P50: 0.02, Tail: 0.06}},
			{Route: DropRoute, Baseline: Phase{Rate: 10, P50: 0.02, Tail: 0.06}, Window: Phase{Rate: 0.2, P50: 0.02, Tail: 0.06}},
		},
		Start: end.Add(-70 * time.Minute), Split: end.Add(-30 * time.Minute), End: end,
		Step: 30 * time.Second, Saturation: conv == "prometheus-http",
	}
}

var bucketsSeconds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Exporters are the request-metric layouts of common exporters the generator also writes, by the name
// each exporter writes (discovered by shape, not by a built-in convention, except aspnetcore whose
// OpenTelemetry names are built in).
var Exporters = []string{"spring", "nginx-ingress", "traefik", "linkerd", "aspnetcore", "go-prefix", "summary", "spanmetrics"}

type layout struct {
	// hist is the histogram (or summary) family, counter the separate request counter; "{svc}" in
	// either is the service (a Go service prefixes its metrics with its own name).
	hist, counter string
	summary       bool
	noQuantiles   bool    // a summary with only _count and _sum (Micrometer's default Timer)
	counterType   string  // "counter" (samples end in _total) or "unknown" (NGINX's counter without _total)
	unit          float64 // value per second of latency
	// route gives the labels that name an endpoint of service svc; for layouts without a route label
	// (Traefik, Linkerd) each planted route is a service of its own, named by Service.
	route    func(svc, r string) [][2]string
	svcLabel string // "" when route names the service
	// ok and fail are the status labels of a success and a failure; histOK/histFail those on the
	// histogram when they differ (Linkerd keeps classification on its counter only).
	ok, fail         [][2]string
	histOK, histFail [][2]string
	statusOnHist     bool
	extra            [][2]string
	// mirror, when set, writes each endpoint's series a second time with these labels in place of
	// route's: the other side of a call that both sides report (Linkerd's outbound direction).
	mirror func(svc, r string) [][2]string
}

func st(k, v string) [][2]string { return [][2]string{{k, v}} }

func layoutFor(conv string) (layout, error) {
	routeLabel := func(name string) func(string, string) [][2]string {
		return func(_, r string) [][2]string { return [][2]string{{name, r}} }
	}
	switch conv {
	case "prometheus-http":
		return layout{hist: "http_request_duration_seconds", counter: "http_requests_total", unit: 1,
			route: routeLabel("handler"), svcLabel: "service", ok: st("code", "200"), fail: st("code", "503")}, nil
	case "opentelemetry-http":
		return layout{hist: "http_server_request_duration_seconds", unit: 1, route: routeLabel("http_route"), svcLabel: "job",
			ok: st("http_response_status_code", "200"), fail: st("http_response_status_code", "500"), statusOnHist: true,
			extra: [][2]string{{"http_request_method", "GET"}}}, nil
	case "opentelemetry-http-ms":
		return layout{hist: "http_server_request_duration_milliseconds", unit: 1000, route: routeLabel("http_route"), svcLabel: "job",
			ok: st("http_response_status_code", "200"), fail: st("http_response_status_code", "500"), statusOnHist: true}, nil
	case "grpc":
		return layout{hist: "grpc_server_handling_seconds", counter: "grpc_server_handled_total", unit: 1,
			route: func(_, r string) [][2]string {
				return [][2]string{{"grpc_service", "shop.v1.Shop"}, {"grpc_method", GRPCMethod(r)}}
			}, svcLabel: "service", ok: st("grpc_code", "OK"), fail: st("grpc_code", "Unavailable"),
			extra: [][2]string{{"grpc_type", "unary"}}}, nil
	case "istio":
		return layout{hist: "istio_request_duration_milliseconds", counter: "istio_requests_total", unit: 1000,
			route:    func(_, r string) [][2]string { return [][2]string{{"destination_service_name", IstioService(r)}} },
			svcLabel: "destination_workload", ok: st("response_code", "200"), fail: st("response_code", "503"),
			extra: [][2]string{{"reporter", "destination"}}}, nil
	case "spring":
		// Micrometer: http_server_requests_seconds{application, uri, status, outcome, method, exception},
		// scraped by a job shared with other pods: the instance is the service's own.
		return layout{hist: "http_server_requests_seconds", unit: 1, svcLabel: "application",
			route: func(svc, r string) [][2]string { return [][2]string{{"uri", r}, {"instance", svc + "-0:8080"}} },
			ok:    [][2]string{{"status", "200"}, {"outcome", "SUCCESS"}, {"exception", "none"}},
			fail:  [][2]string{{"status", "500"}, {"outcome", "SERVER_ERROR"}, {"exception", "IllegalStateException"}}, statusOnHist: true,
			extra: [][2]string{{"method", "GET"}, {"job", "kubernetes-pods"}}}, nil
	case "nginx-ingress":
		// ingress-nginx: the backend service in service, the path, a counter without _total.
		return layout{hist: "nginx_ingress_controller_request_duration_seconds", counter: "nginx_ingress_controller_requests",
			counterType: "unknown", unit: 1,
			route: func(svc, r string) [][2]string { return [][2]string{{"ingress", svc}, {"path", r}} }, svcLabel: "service",
			ok: st("status", "200"), fail: st("status", "502"), statusOnHist: true,
			extra: [][2]string{{"namespace", "default"}, {"method", "GET"}, {"controller_class", "k8s.io/ingress-nginx"}, {"job", "ingress-nginx"}}}, nil
	case "traefik":
		// Traefik: per service (name@provider), no route label.
		return layout{hist: "traefik_service_request_duration_seconds", counter: "traefik_service_requests_total", unit: 1,
			route: func(svc, r string) [][2]string { return [][2]string{{"service", Service("traefik", svc, r) + "@file"}} },
			ok:    st("code", "200"), fail: st("code", "500"), statusOnHist: true,
			extra: [][2]string{{"method", "GET"}, {"protocol", "http"}, {"job", "traefik"}}}, nil
	case "linkerd":
		// Linkerd proxies: per deployment, both directions of every call, success in classification.
		return layout{hist: "response_latency_ms", counter: "response_total", unit: 1000,
			route: func(svc, r string) [][2]string {
				return [][2]string{{"deployment", Service("linkerd", svc, r)}, {"direction", "inbound"}}
			},
			mirror: func(svc, r string) [][2]string {
				return [][2]string{{"deployment", svc + "-client"}, {"direction", "outbound"}, {"dst_deployment", Service("linkerd", svc, r)}}
			},
			ok: [][2]string{{"classification", "success"}, {"status_code", "200"}}, fail: [][2]string{{"classification", "failure"}, {"status_code", "500"}},
			histOK: st("status_code", "200"), histFail: st("status_code", "500"), statusOnHist: true,
			extra: [][2]string{{"namespace", "default"}, {"tls", "true"}, {"job", "linkerd-proxy"}}}, nil
	case "aspnetcore":
		// ASP.NET Core 8 through OpenTelemetry .NET: error_type on failures.
		return layout{hist: "http_server_request_duration_seconds", unit: 1, route: routeLabel("http_route"), svcLabel: "job",
			ok: st("http_response_status_code", "200"), fail: [][2]string{{"http_response_status_code", "500"}, {"error_type", "500"}}, statusOnHist: true,
			extra: [][2]string{{"http_request_method", "GET"}, {"network_protocol_version", "1.1"}, {"url_scheme", "http"}}}, nil
	case "go-prefix":
		// A Go service naming its metrics after itself, unit-less latency, status classes.
		return layout{hist: "{svc}_request_latency", counter: "{svc}_http_requests_total", unit: 1, route: routeLabel("endpoint"), svcLabel: "job",
			ok: st("status_code", "2xx"), fail: st("status_code", "5xx")}, nil
	case "spring-default":
		// Micrometer without percentiles-histogram: a summary with _count and _sum and no quantiles.
		return layout{hist: "http_server_requests_seconds", summary: true, noQuantiles: true, unit: 1, route: routeLabel("uri"), svcLabel: "application",
			ok:   [][2]string{{"status", "200"}, {"outcome", "SUCCESS"}, {"exception", "none"}},
			fail: [][2]string{{"status", "500"}, {"outcome", "SERVER_ERROR"}, {"exception", "IllegalStateException"}}, statusOnHist: true,
			extra: [][2]string{{"method", "GET"}, {"job", "kubernetes-pods"}}}, nil
	case "spanmetrics":
		// The OpenTelemetry collector's spanmetrics connector: server spans and, for the same service,
		// the client spans of its calls (the callee's view belongs to the callee).
		return layout{hist: "traces_span_metrics_duration_milliseconds", counter: "traces_span_metrics_calls_total", unit: 1000,
			route: func(_, r string) [][2]string {
				return [][2]string{{"span_name", "GET " + r}, {"span_kind", "SPAN_KIND_SERVER"}}
			},
			mirror: func(_, r string) [][2]string {
				return [][2]string{{"span_name", "GET " + r}, {"span_kind", "SPAN_KIND_CLIENT"}}
			},
			svcLabel: "service_name", ok: st("status_code", "STATUS_CODE_UNSET"), fail: st("status_code", "STATUS_CODE_ERROR"), statusOnHist: true,
			extra: [][2]string{{"job", "otel-collector"}}}, nil
	case "summary":
		// A summary (client-side quantiles) and no histogram.
		return layout{hist: "request_latency_seconds", summary: true, counter: "requests_total", unit: 1, route: routeLabel("path"), svcLabel: "job",
			ok: st("status", "200"), fail: st("status", "500")}, nil
	}
	return layout{}, fmt.Errorf("promgen: unknown convention %q", conv)
}

// GRPCMethod is the gRPC method a route becomes ("/always-slow" → "AlwaysSlow").
func GRPCMethod(route string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(route, func(r rune) bool { return r == '/' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// IstioService is the destination service a route becomes for Istio ("/always-slow" → "always-slow").
func IstioService(route string) string { return strings.TrimPrefix(route, "/") }

// Service is the service a row of service svc's route is reported under in convention conv: svc
// itself, or, where the convention has no route label (Traefik, Linkerd), a service per route
// ("shop-always-slow").
func Service(conv, svc, route string) string {
	switch conv {
	case "traefik", "linkerd":
		return svc + "-" + strings.TrimPrefix(route, "/")
	}
	return svc
}

// Operation is how `dbg hotspots` names the route in convention conv.
func Operation(conv, route string) string {
	switch conv {
	case "grpc":
		return "shop.v1.Shop/" + GRPCMethod(route)
	case "istio":
		return IstioService(route)
	}
	return route
}

// Row is the (service, operation) `dbg hotspots` reports for service svc's route in convention conv.
func Row(conv, svc, route string) (string, string) {
	switch conv {
	case "traefik", "linkerd":
		s := Service(conv, svc, route)
		return s, s
	case "grpc":
		return svc, "shop.v1.Shop/" + GRPCMethod(route)
	case "istio":
		return svc, IstioService(route)
	case "spanmetrics":
		return svc, "GET " + route
	}
	return svc, route
}

func labelStr(ls [][2]string) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l[0] + "=" + strconv.Quote(l[1])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func fnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// series is one counter-like series: its value per step is the running total of inc(t).
type series struct {
	name   string
	labels [][2]string
	inc    func(t time.Time, dt float64) float64 // increase over the step ending at t
	gauge  bool                                  // the value is inc(t) itself
}

// OpenMetrics writes the history.
func (s Spec) OpenMetrics() ([]byte, error) {
	lay, err := layoutFor(s.Convention)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	phase := func(e Endpoint, t time.Time) Phase {
		if t.After(s.Split) {
			return e.Window
		}
		return e.Baseline
	}
	type svcEP struct {
		svc   string
		ep    Endpoint
		route [][2]string
	}
	var eps []svcEP
	addEP := func(svc string, e Endpoint) {
		eps = append(eps, svcEP{svc, e, lay.route(svc, e.Route)})
		if lay.mirror != nil {
			eps = append(eps, svcEP{svc, e, lay.mirror(svc, e.Route)})
		}
	}
	for _, e := range s.Endpoints {
		addEP(s.Service, e)
	}
	if s.Other != "" {
		st := Phase{Rate: 3, P50: 0.01, Tail: 0.04}
		addEP(s.Other, Endpoint{Route: "/entries", Baseline: st, Window: st})
	}
	for i := 0; i < s.Extra; i++ {
		for _, e := range s.Endpoints {
			addEP(fmt.Sprintf("svc-%03d", i), Endpoint{Route: e.Route, Baseline: e.Baseline, Window: e.Baseline})
		}
	}
	base := func(se svcEP) [][2]string {
		var ls [][2]string
		if lay.svcLabel != "" {
			ls = append(ls, [2]string{lay.svcLabel, se.svc})
		}
		ls = append(ls, se.route...)
		return append(ls, lay.extra...)
	}
	with := func(ls [][2]string, more ...[2]string) [][2]string {
		return append(append([][2]string{}, ls...), more...)
	}
	name := func(tmpl, svc string) string { return strings.ReplaceAll(tmpl, "{svc}", svc) }
	// Families in the order first written; a templated name is one family per service.
	var order []string
	fams := map[string][]series{}
	types := map[string]string{}
	put := func(fam, typ string, x series) {
		if _, ok := fams[fam]; !ok {
			order = append(order, fam)
			types[fam] = typ
		}
		fams[fam] = append(fams[fam], x)
	}
	// Histogram (or summary) family.
	histOK, histFail := lay.histOK, lay.histFail
	if histOK == nil {
		histOK, histFail = lay.ok, lay.fail
	}
	statuses := [][][2]string{nil}
	if lay.statusOnHist {
		statuses = [][][2]string{histOK, histFail}
	}
	histType := "histogram"
	if lay.summary {
		histType = "summary"
	}
	for _, se := range eps {
		hist := name(lay.hist, se.svc)
		for i, stl := range statuses {
			failing := i == 1
			share := func(p Phase) float64 {
				switch {
				case !lay.statusOnHist:
					return 1
				case failing:
					return p.ErrRatio
				}
				return 1 - p.ErrRatio
			}
			ls := with(base(se), stl...)
			if lay.summary && !lay.noQuantiles {
				for _, q := range []float64{0.5, 0.9, 0.99} {
					put(hist, histType, series{name: hist, labels: with(ls, [2]string{"quantile", fnum(q)}), gauge: true,
						inc: func(t time.Time, _ float64) float64 {
							p := phase(se.ep, t)
							if q > 1-TailShare {
								return p.Tail * lay.unit
							}
							return p.P50 * lay.unit
						}})
				}
			} else if !lay.summary {
				bounds := append(append([]float64{}, bucketsSeconds...), math.Inf(1))
				for _, b := range bounds {
					le := fnum(b * lay.unit)
					if math.IsInf(b, 1) {
						le = "+Inf"
					}
					put(hist, histType, series{name: hist + "_bucket", labels: with(ls, [2]string{"le", le}),
						inc: func(t time.Time, dt float64) float64 {
							p := phase(se.ep, t)
							n := p.Rate * dt * share(p)
							v := 0.0
							if p.P50 <= b {
								v += n * (1 - TailShare)
							}
							if p.Tail <= b {
								v += n * TailShare
							}
							return v
						}})
				}
			}
			put(hist, histType, series{name: hist + "_count", labels: ls, inc: func(t time.Time, dt float64) float64 {
				p := phase(se.ep, t)
				return p.Rate * dt * share(p)
			}})
			put(hist, histType, series{name: hist + "_sum", labels: ls, inc: func(t time.Time, dt float64) float64 {
				p := phase(se.ep, t)
				n := p.Rate * dt * share(p)
				return n * ((1-TailShare)*p.P50 + TailShare*p.Tail) * lay.unit
			}})
		}
	}
	if lay.counter != "" {
		for _, se := range eps {
			counter := name(lay.counter, se.svc)
			fam, typ := strings.TrimSuffix(counter, "_total"), "counter"
			if lay.counterType != "" {
				fam, typ = counter, lay.counterType
			}
			for i, stl := range [][][2]string{lay.ok, lay.fail} {
				failing := i == 1
				put(fam, typ, series{name: counter, labels: with(base(se), stl...),
					inc: func(t time.Time, dt float64) float64 {
						p := phase(se.ep, t)
						if failing {
							return p.Rate * dt * p.ErrRatio
						}
						return p.Rate * dt * (1 - p.ErrRatio)
					}})
			}
		}
	}
	for _, fam := range order {
		s.family(&buf, fam, types[fam], fams[fam])
	}
	if s.Saturation {
		s.saturation(&buf)
	}
	buf.WriteString("# EOF\n")
	return buf.Bytes(), nil
}

// family writes one metric family: every series, each sample in time order. Counters are floored running
// totals, so they stay integers and never decrease.
func (s Spec) family(buf *bytes.Buffer, name, typ string, ss []series) {
	fmt.Fprintf(buf, "# TYPE %s %s\n", name, typ)
	dt := s.Step.Seconds()
	for _, x := range ss {
		total := 0.0
		ls := labelStr(x.labels)
		for t := s.Start; !t.After(s.End); t = t.Add(s.Step) {
			v := x.inc(t, dt)
			if !x.gauge {
				if t.Equal(s.Start) {
					v = 0
				}
				total += v
				v = math.Floor(total*1000) / 1000
			}
			fmt.Fprintf(buf, "%s%s %s %d\n", x.name, ls, fnum(v), t.Unix())
		}
	}
}

func (s Spec) saturation(buf *bytes.Buffer) {
	gauge := func(f func(t time.Time) float64) func(time.Time, float64) float64 {
		return func(t time.Time, _ float64) float64 { return f(t) }
	}
	win := func(t time.Time) bool { return t.After(s.Split) }
	s.family(buf, "go_goroutines", "gauge", []series{
		{name: "go_goroutines", labels: [][2]string{{"job", s.Service}}, gauge: true, inc: gauge(func(t time.Time) float64 {
			if win(t) {
				return 100 + 10*t.Sub(s.Split).Minutes() // 100 → 400 over the window
			}
			return 100
		})},
		{name: "go_goroutines", labels: [][2]string{{"job", s.Other}}, gauge: true, inc: gauge(func(time.Time) float64 { return 50 })},
	})
	s.family(buf, "process_open_fds", "gauge", []series{
		{name: "process_open_fds", labels: [][2]string{{"job", s.Service}}, gauge: true, inc: gauge(func(t time.Time) float64 {
			if win(t) {
				return 950
			}
			return 200
		})},
		{name: "process_open_fds", labels: [][2]string{{"job", s.Other}}, gauge: true, inc: gauge(func(time.Time) float64 { return 30 })},
	})
	s.family(buf, "process_max_fds", "gauge", []series{
		{name: "process_max_fds", labels: [][2]string{{"job", s.Service}}, gauge: true, inc: gauge(func(time.Time) float64 { return 1024 })},
		{name: "process_max_fds", labels: [][2]string{{"job", s.Other}}, gauge: true, inc: gauge(func(time.Time) float64 { return 1024 })},
	})
	s.family(buf, "go_memstats_heap_inuse_bytes", "gauge", []series{
		// Swings between 100 and 190 MiB like a GC cycle, in both phases: no growth.
		{name: "go_memstats_heap_inuse_bytes", labels: [][2]string{{"job", s.Service}}, gauge: true, inc: gauge(func(t time.Time) float64 {
			return float64(100<<20) + float64(90<<20)*float64(t.Unix()/30%4)/3
		})},
	})
	// cAdvisor: the service's container close to its memory limit in the window and throttled; the
	// other one idle.
	per := func(name string, svc, other func(t time.Time) float64) {
		s.family(buf, strings.TrimSuffix(name, "_total"), map[bool]string{true: "counter", false: "gauge"}[strings.HasSuffix(name, "_total")], []series{
			{name: name, labels: [][2]string{{"container", s.Service}, {"pod", s.Service + "-0"}}, gauge: !strings.HasSuffix(name, "_total"), inc: gauge(svc)},
			{name: name, labels: [][2]string{{"container", s.Other}, {"pod", s.Other + "-0"}}, gauge: !strings.HasSuffix(name, "_total"), inc: gauge(other)},
		})
	}
	per("container_memory_working_set_bytes", func(t time.Time) float64 {
		if win(t) {
			return 1900 << 20
		}
		return 900 << 20
	}, func(time.Time) float64 { return 300 << 20 })
	per("container_spec_memory_limit_bytes", func(time.Time) float64 { return 2 << 30 }, func(time.Time) float64 { return 2 << 30 })
	// Counters: increments per step (100ms CFS periods: 300 a 30s step); the service is throttled in
	// 60% of them during the window.
	per("container_cpu_cfs_periods_total", func(time.Time) float64 { return 300 }, func(time.Time) float64 { return 300 })
	per("container_cpu_cfs_throttled_periods_total", func(t time.Time) float64 {
		if win(t) {
			return 180
		}
		return 3
	}, func(time.Time) float64 { return 0 })
	s.family(buf, "go_sql_stats_connections_in_use", "gauge", []series{
		{name: "go_sql_stats_connections_in_use", labels: [][2]string{{"job", s.Service}, {"db_name", "orders"}}, gauge: true, inc: gauge(func(t time.Time) float64 {
			if win(t) {
				return 20
			}
			return 4
		})},
	})
	s.family(buf, "go_sql_stats_connections_max_open", "gauge", []series{
		{name: "go_sql_stats_connections_max_open", labels: [][2]string{{"job", s.Service}, {"db_name", "orders"}}, gauge: true, inc: gauge(func(time.Time) float64 { return 20 })},
	})
	// The other pool and bulkhead libraries, steady, so every saturation query runs on a real server.
	steady := func(name string, v float64, labels ...[2]string) {
		s.family(buf, name, "gauge", []series{{name: name, labels: append([][2]string{{"job", s.Service}}, labels...), gauge: true,
			inc: gauge(func(time.Time) float64 { return v })}})
	}
	steady("pgxpool_acquired_conns", 3)
	steady("pgxpool_max_conns", 10)
	steady("hikaricp_connections_active", 2, [2]string{"pool", "HikariPool-1"})
	steady("hikaricp_connections_max", 10, [2]string{"pool", "HikariPool-1"})
	s.family(buf, "db_client_connections_usage", "gauge", []series{
		{name: "db_client_connections_usage", labels: [][2]string{{"job", s.Service}, {"pool_name", "main"}, {"state", "used"}}, gauge: true, inc: gauge(func(time.Time) float64 { return 1 })},
		{name: "db_client_connections_usage", labels: [][2]string{{"job", s.Service}, {"pool_name", "main"}, {"state", "idle"}}, gauge: true, inc: gauge(func(time.Time) float64 { return 4 })},
	})
	steady("db_client_connections_max", 5, [2]string{"pool_name", "main"})
	// A bulkhead with every permit taken in the window.
	s.family(buf, "resilience4j_bulkhead_available_concurrent_calls", "gauge", []series{{name: "resilience4j_bulkhead_available_concurrent_calls",
		labels: [][2]string{{"job", s.Service}, {"name", "inventory"}}, gauge: true, inc: gauge(func(t time.Time) float64 {
			if win(t) {
				return 0
			}
			return 20
		})}})
	steady("resilience4j_bulkhead_max_allowed_concurrent_calls", 25, [2]string{"name", "inventory"})
	var cb []series
	for _, st := range []string{"closed", "open", "half_open"} {
		cb = append(cb, series{name: "resilience4j_circuitbreaker_state", labels: [][2]string{{"job", s.Service}, {"name", "payments"}, {"state", st}},
			gauge: true, inc: gauge(func(t time.Time) float64 {
				open := win(t) && t.After(s.End.Add(-10*time.Minute))
				if (st == "open") == open && st != "half_open" {
					return 1
				}
				return 0
			})})
	}
	s.family(buf, "resilience4j_circuitbreaker_state", "gauge", cb)
}

// FleetMember is one service of Fleet: the exporter that writes its metrics.
type FleetMember struct {
	Exporter, Service, Other string
}

// Fleet is a mixed fleet on one server, one service per exporter in Exporters: a Spring service
// (orders), an NGINX ingress (storefront, and orders behind it too), Traefik (edge-*), Linkerd (mesh-*),
// ASP.NET Core (billing), a Go service with its own prefix (cart), a service with summaries (search) and
// one known only from span metrics (catalog).
var Fleet = []FleetMember{
	{"spring", "orders", ""}, {"nginx-ingress", "storefront", "orders"}, {"traefik", "edge", ""}, {"linkerd", "mesh", ""},
	{"aspnetcore", "billing", ""}, {"go-prefix", "cart", ""}, {"summary", "search", ""}, {"spanmetrics", "catalog", ""},
}

// FleetOpenMetrics is the history of every Fleet member, each with the planted problems of Scenario.
func FleetOpenMetrics(end time.Time) ([]byte, error) {
	var out []byte
	for _, m := range Fleet {
		spec := Scenario(m.Exporter, end)
		spec.Service, spec.Other, spec.Saturation = m.Service, m.Other, false
		b, err := spec.OpenMetrics()
		if err != nil {
			return nil, err
		}
		out = append(out, bytes.TrimSuffix(b, []byte("# EOF\n"))...)
	}
	// The Spring service's goroutines grow in the window; another pod of the same shared job stays
	// steady: saturation must be read from the service's own instance, not from the job.
	sp := Scenario("spring", end)
	var buf bytes.Buffer
	sp.family(&buf, "go_goroutines", "gauge", []series{
		{name: "go_goroutines", labels: [][2]string{{"job", "kubernetes-pods"}, {"instance", Fleet[0].Service + "-0:8080"}}, gauge: true,
			inc: func(t time.Time, _ float64) float64 {
				if t.After(sp.Split) {
					return 100 + 10*t.Sub(sp.Split).Minutes()
				}
				return 100
			}},
		{name: "go_goroutines", labels: [][2]string{{"job", "kubernetes-pods"}, {"instance", "unrelated-0:8080"}}, gauge: true,
			inc: func(time.Time, float64) float64 { return 50 }},
	})
	out = append(out, buf.Bytes()...)
	return append(out, "# EOF\n"...), nil
}
