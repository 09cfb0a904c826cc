package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/promgen"
	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
)

// exporterFleet is one service per exporter, each exporter writing its own names, all on one server.
// The ingress also fronts orders, which has its own (Spring) metrics: orders must be read in those.
var exporterFleet = []struct {
	conv, service, other string
	hist, counter        string // the families discovery must choose for the service
	scoped               bool   // the service has a route label, so --service gives its endpoints
}{
	{"spring", "orders", "", "http_server_requests_seconds_bucket", "http_server_requests_seconds_count", true},
	{"nginx-ingress", "storefront", "orders", "nginx_ingress_controller_request_duration_seconds_bucket", "nginx_ingress_controller_requests", true},
	{"traefik", "edge", "", "traefik_service_request_duration_seconds_bucket", "traefik_service_requests_total", false},
	{"linkerd", "mesh", "", "response_latency_ms_bucket", "response_total", false},
	{"aspnetcore", "billing", "", "http_server_request_duration_seconds_bucket", "http_server_request_duration_seconds_count", true},
	{"go-prefix", "cart", "", "cart_request_latency_bucket", "cart_http_requests_total", true},
	{"summary", "search", "", "request_latency_seconds", "requests_total", true},
	{"spanmetrics", "catalog", "", "traces_span_metrics_duration_milliseconds_bucket", "traces_span_metrics_calls_total", true},
}

// startFleet serves promgen.Fleet (one service per exporter in exporterFleet) from one real Prometheus.
func startFleet(t *testing.T) *Source {
	t.Helper()
	if len(promgen.Fleet) != len(exporterFleet) {
		t.Fatalf("promgen.Fleet has %d members, the test expects %d", len(promgen.Fleet), len(exporterFleet))
	}
	for i, m := range promgen.Fleet {
		if e := exporterFleet[i]; m.Exporter != e.conv || m.Service != e.service || m.Other != e.other {
			t.Fatalf("promgen.Fleet[%d] = %+v, the test expects %+v", i, m, e)
		}
	}
	om, err := promgen.FleetOpenMetrics(scenarioEnd)
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Prometheus(t, testserver.CreateBlocks(t, om))
	return newSource(t, srv.URL)
}

// checkService: among the rows of service svc (every service of it, for conventions without a route
// label), the planted slow endpoint, error hotspot, spike and drop rank first, each with its finding,
// and the always-slow endpoint is no regression.
func checkService(t *testing.T, conv, svc string, rep *investigate.HotspotReport) {
	t.Helper()
	row := func(route string) string {
		s, op := promgen.Row(conv, svc, route)
		return s + " " + op
	}
	mine := func(s string) bool {
		return s == svc || strings.HasPrefix(s, svc+"-") && !strings.HasSuffix(s, "-client")
	}
	var lat, errs, spikes, drops []string
	for _, r := range rep.Tables.Latency.Rows {
		if strings.HasSuffix(r.Service, "-client") {
			t.Errorf("%s: the outbound side of a call is a row: %+v", conv, r)
		}
		if mine(r.Service) {
			lat = append(lat, r.Service+" "+r.Operation)
			if r.Service+" "+r.Operation == row(promgen.AlwaysSlowRoute) && r.Regression {
				t.Errorf("%s: always-slow endpoint reported as a regression: %+v", conv, r)
			}
		}
	}
	for _, r := range rep.Tables.Errors.Rows {
		if mine(r.Service) {
			errs = append(errs, r.Service+" "+r.Operation)
		}
	}
	for _, r := range rep.Tables.TrafficSpikes.Rows {
		if mine(r.Service) {
			spikes = append(spikes, r.Service+" "+r.Operation)
		}
	}
	for _, r := range rep.Tables.TrafficDrops.Rows {
		if mine(r.Service) {
			drops = append(drops, r.Service+" "+r.Operation)
		}
	}
	first := func(table string, got []string, route string) {
		t.Helper()
		if len(got) == 0 || got[0] != row(route) {
			t.Errorf("%s (%s): %s ranked %v, want %s first", conv, svc, table, got, row(route))
		}
	}
	first("latency", lat, promgen.SlowRoute)
	first("errors", errs, promgen.ErrorRoute)
	first("traffic spikes", spikes, promgen.SpikeRoute)
	first("traffic drops", drops, promgen.DropRoute)
	kinds := map[string]bool{}
	for _, f := range rep.Findings {
		kinds[f.Kind+" "+f.Service+" "+f.Operation] = true
		if f.Evidence["query"] == "" || len(f.Links) == 0 {
			t.Errorf("%s: finding without query or link: %+v", conv, f)
		}
	}
	for kind, route := range map[string]string{investigate.KindLatencyHotspot: promgen.SlowRoute, investigate.KindErrorHotspot: promgen.ErrorRoute} {
		if !kinds[kind+" "+row(route)] {
			t.Errorf("%s: no %s finding for %s", conv, kind, row(route))
		}
	}
	if kinds[investigate.KindLatencyHotspot+" "+row(promgen.AlwaysSlowRoute)] {
		t.Errorf("%s: always-slow endpoint reported as a latency hotspot", conv)
	}
}

// TestHotspotsExporters is the done-when for the exporters: one real Prometheus holds the
// names of Spring/Micrometer, the NGINX ingress controller, Traefik, Linkerd, ASP.NET Core, a Go
// service with its own prefix and a summary, each with the planted problems; with no configuration,
// every service is read in its own exporter's family and its planted problems rank first, with
// --service and without.
func TestHotspotsExporters(t *testing.T) {
	src := startFleet(t)
	ctx := context.Background()
	in, _, err := src.Hotspots(ctx, HotspotQuery{Window: scenarioWindow(t)})
	if err != nil {
		t.Fatal(err)
	}
	uses := map[string]string{} // role service → metric
	for _, u := range in.Conventions {
		for _, s := range u.Services {
			uses[u.Role+" "+s] = u.Metric
		}
		if u.Why == "" {
			t.Errorf("convention without a reason: %+v", u)
		}
	}
	all := investigate.AnalyzeHotspots(in, investigate.DefaultHotspotOptions())
	for _, e := range exporterFleet {
		t.Run(e.conv, func(t *testing.T) {
			svc, _ := promgen.Row(e.conv, e.service, promgen.SlowRoute)
			if got := uses["latency "+svc]; got != e.hist {
				t.Errorf("latency of %s read from %q, want %s (conventions: %+v)", svc, got, e.hist, in.Conventions)
			}
			if got := uses["requests "+svc]; got != e.counter {
				t.Errorf("requests of %s read from %q, want %s", svc, got, e.counter)
			}
			checkService(t, e.conv, e.service, all)
			if !e.scoped {
				return
			}
			sin, _, err := src.Hotspots(ctx, HotspotQuery{Window: scenarioWindow(t), Service: e.service})
			if err != nil {
				t.Fatal(err)
			}
			rep := investigate.AnalyzeHotspots(sin, investigate.DefaultHotspotOptions())
			checkService(t, e.conv, e.service, rep)
			for _, r := range rep.Tables.Latency.Rows {
				if r.Service != e.service {
					t.Errorf("--service %s returned a row of %s", e.service, r.Service)
				}
			}
			if len(sin.Conventions) != 2 || sin.Conventions[0].Metric != e.hist {
				t.Errorf("--service %s: conventions %+v, want %s and %s", e.service, sin.Conventions, e.hist, e.counter)
			}
			if e.conv == "spring" {
				// Its job (kubernetes-pods) is shared: its goroutines are read from its own instance.
				var sat []string
				for _, r := range rep.Tables.Saturation.Rows {
					sat = append(sat, fmt.Sprintf("%s %s %v", r.Resource, r.Service, r.Saturated))
				}
				if !slices.Equal(sat, []string{"goroutines orders true"}) {
					t.Errorf("saturation of orders = %v (queries %v), want its own goroutine growth only", sat, rep.Tables.Saturation.Rows)
				}
			}
		})
	}
	// Span metrics hold each call twice (the server span and the caller's client span): only the
	// server's is read, so the spike is 12 req/s, not 24.
	for _, r := range all.Tables.TrafficSpikes.Rows {
		if r.Service == "catalog" && r.Operation == "GET "+promgen.SpikeRoute && (r.Rate < 11.5 || r.Rate > 12.5) {
			t.Errorf("span metrics: %s rate %.2f, want 12 (server spans only)", r.Operation, r.Rate)
		}
	}
	// orders is behind the ingress too: its rows are its own routes, not the ingress's view (/entries).
	for _, r := range all.Tables.Latency.Rows {
		if r.Service == "orders" && r.Operation == "/entries" {
			t.Errorf("orders read from the ingress although it has its own metrics: %+v", r)
		}
	}
	if !slices.ContainsFunc(all.Tables.Latency.Rows, func(r investigate.LatencyRow) bool { return r.Service == "storefront" }) {
		t.Error("no row for the service only the ingress reports")
	}
}

// TestHotspotsMetadata: a live target scraped by a real Prometheus, whose request counter has no
// _total and no request-ish suffix (text format 0.0.4 allows it): only /api/v1/metadata says it is a
// counter, and discovery reads it from there.
func TestHotspotsMetadata(t *testing.T) {
	if testing.Short() {
		t.Skip("real Prometheus")
	}
	var mu sync.Mutex
	n := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP checkout_http_served Requests served.\n# TYPE checkout_http_served counter\n")
		fmt.Fprintf(w, "checkout_http_served{route=\"/pay\",code=\"200\"} %d\n", 100*k)
		fmt.Fprintf(w, "checkout_http_served{route=\"/pay\",code=\"500\"} %d\n", 10*k)
	}))
	defer target.Close()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: [%q]\n",
		strings.TrimPrefix(target.URL, "http://"))
	srv := testserver.PrometheusWithConfig(t, cfg)
	src := newSource(t, srv.URL)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		w, err := investigate.ParseWindow("1m", "", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		in, reqs, err := src.Hotspots(ctx, HotspotQuery{Window: w})
		if err != nil {
			t.Fatal(err)
		}
		var got *investigate.ConventionUse
		for i, u := range in.Conventions {
			if u.Metric == "checkout_http_served" {
				got = &in.Conventions[i]
			}
		}
		if got != nil && len(in.Requests.Rate) > 0 {
			if got.Role != "requests" || !strings.Contains(got.Why, "from the metadata") || !slices.Equal(got.Services, []string{"checkout"}) ||
				!strings.Contains(got.Why, "status code") {
				t.Errorf("use = %+v", got)
			}
			if !slices.ContainsFunc(reqs, func(r Request) bool { return r.API == "metadata" }) {
				t.Error("no metadata call recorded")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkout_http_served not discovered from the metadata within 30s: %+v", in.Conventions)
		}
		time.Sleep(time.Second)
	}
}

// TestHotspotsMicrometerDefault: Spring Boot without percentiles-histogram exports its Timer as a
// summary with only _count and _sum. Errors and traffic come from the _count (outcome, uri); the
// latency table says why it is empty and what to turn on.
func TestHotspotsMicrometerDefault(t *testing.T) {
	spec := promgen.Scenario("spring-default", scenarioEnd)
	spec.Service, spec.Other, spec.Saturation = "accounts", "", false
	om, err := spec.OpenMetrics()
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, testserver.Prometheus(t, testserver.CreateBlocks(t, om)).URL)
	for _, service := range []string{"", "accounts"} {
		in, _, err := src.Hotspots(context.Background(), HotspotQuery{Window: scenarioWindow(t), Service: service})
		if err != nil {
			t.Fatal(err)
		}
		rep := investigate.AnalyzeHotspots(in, investigate.DefaultHotspotOptions())
		var errs, spikes []string
		for _, r := range rep.Tables.Errors.Rows {
			errs = append(errs, r.Service+" "+r.Operation)
		}
		for _, r := range rep.Tables.TrafficSpikes.Rows {
			spikes = append(spikes, r.Service+" "+r.Operation)
		}
		if len(errs) == 0 || errs[0] != "accounts "+promgen.ErrorRoute || len(spikes) == 0 || spikes[0] != "accounts "+promgen.SpikeRoute {
			t.Errorf("service %q: errors %v, spikes %v", service, errs, spikes)
		}
		if n := rep.Tables.Latency.Note; !strings.Contains(n, "http_server_requests_seconds has only _count and _sum") || !strings.Contains(n, "percentiles-histogram") {
			t.Errorf("service %q: latency note %q", service, n)
		}
	}
}
