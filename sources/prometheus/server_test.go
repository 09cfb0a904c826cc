package prometheus

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/promgen"
	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// scenarioEnd is the end of the generated history; every query targets it.
var scenarioEnd = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func scenarioWindow(t *testing.T) investigate.Window {
	t.Helper()
	w, err := investigate.ParseWindow("30m", scenarioEnd.Format(time.RFC3339), "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// startScenario serves the planted history in convention conv from a real Prometheus.
func startScenario(t *testing.T, conv string) *testserver.PrometheusServer {
	t.Helper()
	om, err := promgen.Scenario(conv, scenarioEnd).OpenMetrics()
	if err != nil {
		t.Fatal(err)
	}
	return testserver.Prometheus(t, testserver.CreateBlocks(t, om))
}

func newSource(t *testing.T, url string) *Source {
	t.Helper()
	s, err := New(httpx.Endpoint{Name: "Prometheus", URL: url, Timeout: 20 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHotspotsRealPrometheus is the done-when: for each convention, the planted slow endpoint,
// error hotspot, traffic spike and traffic drop rank first in their tables, and the endpoint that is slow
// but no slower than its baseline is not a regression.
func TestHotspotsRealPrometheus(t *testing.T) {
	for _, conv := range promgen.Conventions {
		t.Run(conv, func(t *testing.T) {
			t.Parallel()
			srv := startScenario(t, conv)
			src := newSource(t, srv.URL)
			for _, service := range []string{"", "shop"} {
				in, reqs, err := src.Hotspots(context.Background(), HotspotQuery{Window: scenarioWindow(t), Service: service})
				if err != nil {
					t.Fatalf("service %q: %v", service, err)
				}
				if len(reqs) < 10 {
					t.Errorf("only %d requests recorded", len(reqs))
				}
				if !strings.HasPrefix(in.Convention, conv) {
					t.Errorf("convention = %q, want %s", in.Convention, conv)
				}
				rep := investigate.AnalyzeHotspots(in, investigate.DefaultHotspotOptions())
				checkPlanted(t, conv, service, rep, conv == "prometheus-http")
			}
		})
	}
}

func checkPlanted(t *testing.T, conv, service string, rep *investigate.HotspotReport, saturation bool) {
	t.Helper()
	op := func(route string) string { return promgen.Operation(conv, route) }
	tb := rep.Tables
	first := func(table string, got []string, want string) {
		t.Helper()
		if len(got) == 0 || got[0] != want {
			t.Errorf("%s (service %q): %s ranked %v, want %s first", conv, service, table, got, want)
		}
	}
	var lat, errs, spikes, drops []string
	for _, r := range tb.Latency.Rows {
		lat = append(lat, r.Operation)
		if r.Operation == op(promgen.AlwaysSlowRoute) && r.Regression {
			t.Errorf("%s: %s is slow but no slower than its baseline, yet reported as a regression: %+v", conv, r.Operation, r)
		}
		if service != "" && r.Service != service {
			t.Errorf("%s: --service %s returned a row of %s", conv, service, r.Service)
		}
	}
	for _, r := range tb.Errors.Rows {
		errs = append(errs, r.Operation)
	}
	for _, r := range tb.TrafficSpikes.Rows {
		spikes = append(spikes, r.Operation)
	}
	for _, r := range tb.TrafficDrops.Rows {
		drops = append(drops, r.Operation)
	}
	first("latency", lat, op(promgen.SlowRoute))
	first("errors", errs, op(promgen.ErrorRoute))
	first("traffic spikes", spikes, op(promgen.SpikeRoute))
	first("traffic drops", drops, op(promgen.DropRoute))
	if service == "" && !contains(lat, op("/entries")) && conv != "istio" {
		t.Errorf("%s: the other service's endpoint is missing without --service: %v", conv, lat)
	}
	kinds := map[string]bool{}
	for _, f := range rep.Findings {
		kinds[f.Kind+" "+f.Operation] = true
		if f.Evidence["query"] == "" || len(f.Links) == 0 || !strings.Contains(f.Links[0], "/graph?") || !strings.Contains(f.Links[0], "g0.expr=") {
			t.Errorf("%s: finding %s without query or graph link: %+v", conv, f.Kind, f)
		}
	}
	for _, want := range []string{
		investigate.KindLatencyHotspot + " " + op(promgen.SlowRoute),
		investigate.KindErrorHotspot + " " + op(promgen.ErrorRoute),
		investigate.KindTrafficSpike + " " + op(promgen.SpikeRoute),
		investigate.KindTrafficSpike + " " + op(promgen.DropRoute),
	} {
		if !kinds[want] {
			t.Errorf("%s: no finding %s; have %v", conv, want, kinds)
		}
	}
	if kinds[investigate.KindLatencyHotspot+" "+op(promgen.AlwaysSlowRoute)] {
		t.Errorf("%s: always-slow endpoint reported as a latency hotspot", conv)
	}
	if saturation {
		sat := map[string]bool{}
		for _, r := range tb.Saturation.Rows {
			if r.Saturated {
				sat[r.Resource+" "+r.Service] = true
			}
		}
		for _, want := range []string{"goroutines shop", "open_fds shop", "circuit_breaker shop", "memory shop", "cpu_throttling shop", "db_pool shop", "bulkhead shop"} {
			if !sat[want] {
				t.Errorf("saturation %s not found: %+v", want, tb.Saturation.Rows)
			}
		}
		seen := map[string]bool{}
		for _, r := range tb.Saturation.Rows {
			seen[r.Resource] = true
			if r.Saturated && (r.Service != "shop" || r.Resource == "heap") {
				t.Errorf("steady reading reported as saturated: %+v", r)
			}
		}
		if !seen["heap"] {
			t.Errorf("no heap row: %+v", tb.Saturation.Rows)
		}
		pools := 0
		for _, r := range tb.Saturation.Rows {
			if r.Resource == "db_pool" {
				pools++
			}
		}
		if pools != 4 { // go_sql_stats, pgxpool, hikaricp, OpenTelemetry
			t.Errorf("db_pool rows = %d, want 4: %+v", pools, tb.Saturation.Rows)
		}
	} else if tb.Saturation.Note == "" {
		t.Errorf("%s: no saturation metrics, but no note saying so", conv)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestHotspotsMixedConventions: one server, two services instrumented differently; --service picks
// the convention of that service.
func TestHotspotsMixedConventions(t *testing.T) {
	legacy := promgen.Scenario("prometheus-http", scenarioEnd)
	legacy.Service, legacy.Other, legacy.Saturation = "legacy", "", false
	a, err := legacy.OpenMetrics()
	if err != nil {
		t.Fatal(err)
	}
	b, err := promgen.Scenario("opentelemetry-http", scenarioEnd).OpenMetrics()
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Prometheus(t, testserver.CreateBlocks(t, append([]byte(strings.TrimSuffix(string(a), "# EOF\n")), b...)))
	src := newSource(t, srv.URL)
	for service, conv := range map[string]string{"shop": "opentelemetry-http", "legacy": "prometheus-http"} {
		in, _, err := src.Hotspots(context.Background(), HotspotQuery{Window: scenarioWindow(t), Service: service})
		if err != nil {
			t.Fatal(err)
		}
		if in.Convention != conv {
			t.Errorf("service %s: convention %q, want %s", service, in.Convention, conv)
		}
		checkPlanted(t, conv, service, investigate.AnalyzeHotspots(in, investigate.DefaultHotspotOptions()), false)
	}
	in, _, err := src.Hotspots(context.Background(), HotspotQuery{Window: scenarioWindow(t), Service: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Latency.Note, `no request-duration histogram found for service "nobody"`) {
		t.Errorf("note = %q", in.Latency.Note)
	}
}

// TestHotspotsRealPrometheusEdges: missing metrics give notes and the other tables still work; a hostile
// service name is a value, not PromQL; a bad override is one clear line naming the config; a server
// that is down is one clear line.
func TestHotspotsRealPrometheusEdges(t *testing.T) {
	srv := startScenario(t, "prometheus-http")
	src := newSource(t, srv.URL)
	ctx := context.Background()

	t.Run("hostile service name", func(t *testing.T) {
		for _, name := range []string{`shop"} or vector(1) or {x="`, `shop\`, "shop\"}[5m])) or up{job=~\".*", `.*`} {
			in, reqs, err := src.Hotspots(ctx, HotspotQuery{Window: scenarioWindow(t), Service: name})
			if err != nil {
				t.Fatalf("service %q: the server could not parse the query: %v", name, err)
			}
			rep := investigate.AnalyzeHotspots(in, investigate.DefaultHotspotOptions())
			if n := len(rep.Tables.Latency.Rows) + len(rep.Tables.Errors.Rows) + len(rep.Tables.TrafficSpikes.Rows) +
				len(rep.Tables.TrafficDrops.Rows) + len(rep.Tables.Saturation.Rows); n != 0 {
				t.Errorf("service %q matched %d rows; a service name must only ever be compared as a literal value", name, n)
			}
			if len(reqs) == 0 {
				t.Error("no requests recorded")
			}
		}
	})

	t.Run("missing metrics", func(t *testing.T) {
		empty := testserver.Prometheus(t, "")
		in, _, err := newSource(t, empty.URL).Hotspots(ctx, HotspotQuery{Window: scenarioWindow(t)})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{in.Latency.Note, in.Requests.Note, in.Saturation.Note} {
			if !strings.Contains(n, "looked for") {
				t.Errorf("note %q does not say what was looked for", n)
			}
		}
		if !strings.Contains(in.Latency.Note, "no request-duration histogram found; looked for http_request_duration_seconds") {
			t.Errorf("latency note = %q", in.Latency.Note)
		}
	})

	t.Run("override adds to the built-ins", func(t *testing.T) {
		// An override for a histogram this server does not have leaves the built-ins working.
		ov := Conventions[0]
		ov.Name, ov.Histogram, ov.Override = "mine", "no_such_histogram_seconds", true
		in, _, err := src.Hotspots(ctx, HotspotQuery{Window: scenarioWindow(t), Override: &ov})
		if err != nil {
			t.Fatal(err)
		}
		rep := investigate.AnalyzeHotspots(in, investigate.DefaultHotspotOptions())
		if len(rep.Tables.Latency.Rows) == 0 || rep.Tables.Latency.Rows[0].Operation != promgen.SlowRoute {
			t.Errorf("latency with an override that matches nothing: %+v (note %q)", rep.Tables.Latency.Rows, rep.Tables.Latency.Note)
		}
		if len(rep.Tables.Errors.Rows) == 0 || rep.Tables.Errors.Rows[0].Operation != promgen.ErrorRoute {
			t.Errorf("errors table: %+v", rep.Tables.Errors.Rows)
		}
		// Its counter (http_requests_total, shared with the built-in) is read under the override's name.
		if !strings.Contains(in.Convention, "mine") || !strings.Contains(in.Convention, "prometheus-http") {
			t.Errorf("convention = %q, want the override for the counter and the built-in for the histogram", in.Convention)
		}
	})

	t.Run("bad PromQL from the override", func(t *testing.T) {
		ov, err := ParseOverride(map[string]any{"histogram": "http_request_duration_seconds", "counter": "http_requests_total",
			"route-labels": "handler", "selector": `env=="prod"`})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = src.Hotspots(ctx, HotspotQuery{Window: scenarioWindow(t), Override: ov})
		if err == nil {
			t.Fatal("no error for a selector that is not PromQL")
		}
		msg := err.Error()
		if !strings.Contains(msg, "prometheus-convention override") || !strings.Contains(msg, srv.URL) || strings.Contains(msg, "\n") {
			t.Errorf("error is not one line naming the server and the override: %q", msg)
		}
	})

	t.Run("server down", func(t *testing.T) {
		port := testserver.FreePort(t)
		down := newSource(t, fmt.Sprintf("http://127.0.0.1:%d", port))
		_, _, err := down.Hotspots(ctx, HotspotQuery{Window: scenarioWindow(t)})
		if err == nil {
			t.Fatal("no error from a server that is down")
		}
		msg := err.Error()
		if !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "--prometheus-url") || strings.Contains(msg, "\n") {
			t.Errorf("error = %q", msg)
		}
	})

	t.Run("instant, range, labels, series", func(t *testing.T) {
		smp, _, err := src.Query(ctx, `sum(rate(http_requests_total{handler="/spike"}[30m]))`, scenarioEnd)
		if err != nil || len(smp) != 1 || smp[0].Value < 11.9 || smp[0].Value > 12.1 {
			t.Fatalf("spike rate = %+v, %v; want 12/s", smp, err)
		}
		ss, _, err := src.QueryRange(ctx, `sum(rate(http_requests_total{handler="/spike"}[2m]))`, scenarioEnd.Add(-10*time.Minute), scenarioEnd, time.Minute)
		if err != nil || len(ss) != 1 || len(ss[0].Points) != 11 {
			t.Fatalf("range = %+v, %v", ss, err)
		}
		names, _, err := src.LabelNames(ctx, []string{"http_requests_total"}, scenarioEnd.Add(-time.Hour), scenarioEnd)
		if err != nil || !contains(names, "handler") || !contains(names, "code") {
			t.Fatalf("label names = %v, %v", names, err)
		}
		vals, _, err := src.LabelValues(ctx, "handler", []string{`http_requests_total{service="shop"}`}, scenarioEnd.Add(-time.Hour), scenarioEnd)
		if err != nil || len(vals) != 6 {
			t.Fatalf("label values = %v, %v", vals, err)
		}
		sets, _, err := src.Series(ctx, []string{`http_requests_total{handler="/drop"}`}, scenarioEnd.Add(-time.Hour), scenarioEnd)
		if err != nil || len(sets) != 2 {
			t.Fatalf("series = %v, %v", sets, err)
		}
		if err := src.Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHotspotsSampleLimit starts Prometheus with a low --query.max-samples (the shared harness takes no
// extra flags, so this one process is started here with its helpers) and checks the answer is one line
// that says what to do.
func TestHotspotsSampleLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("real Prometheus")
	}
	om, err := promgen.Scenario("prometheus-http", scenarioEnd).OpenMetrics()
	if err != nil {
		t.Fatal(err)
	}
	data := testserver.CreateBlocks(t, om)
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed: %v (scripts/test.sh installs the Debian package)", err)
	}
	dir := t.TempDir()
	cfg := dir + "/prometheus.yml"
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testserver.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=100y",
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--query.max-samples=100")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	testserver.WaitHTTP(t, url+"/-/ready", 60*time.Second)
	_, _, err = newSource(t, url).Hotspots(context.Background(), HotspotQuery{Window: scenarioWindow(t)})
	if err == nil {
		t.Fatal("no error over the sample limit")
	}
	msg := err.Error()
	if !strings.Contains(msg, "too many samples") || !strings.Contains(msg, "--query.max-samples") || strings.Contains(msg, "\n") {
		t.Errorf("error = %q", msg)
	}
}

// BenchmarkHotspotsRealPrometheus times discovery and every hotspot query against a real Prometheus
// holding the planted scenario plus 20 steady services. scripts/bench-prometheus.sh compares the same
// requests with curl.
func BenchmarkHotspotsRealPrometheus(b *testing.B) {
	spec := promgen.Scenario("prometheus-http", scenarioEnd)
	spec.Extra = 20
	om, err := spec.OpenMetrics()
	if err != nil {
		b.Fatal(err)
	}
	srv := testserver.Prometheus(b, testserver.CreateBlocks(b, om))
	s, err := New(httpx.Endpoint{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	w, _ := investigate.ParseWindow("30m", scenarioEnd.Format(time.RFC3339), "", time.Now())
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Hotspots(context.Background(), HotspotQuery{Window: w}); err != nil {
			b.Fatal(err)
		}
	}
}
