package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/internal/promgen"
	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/prometheus"
)

// stubHotspots returns a fixed measurement, so the rendering is tested without a server.
type stubHotspots struct {
	in   investigate.HotspotInput
	reqs []prometheus.Request
	err  error
	got  prometheus.HotspotQuery
}

func (s *stubHotspots) Hotspots(_ context.Context, q prometheus.HotspotQuery) (investigate.HotspotInput, []prometheus.Request, error) {
	s.got = q
	s.in.Window = q.Window
	return s.in, s.reqs, s.err
}

func stubInput() investigate.HotspotInput {
	k := func(op string) investigate.EndpointKey {
		return investigate.EndpointKey{Service: "shop", Operation: op}
	}
	up := []float64{1, 1, 1, 2, 4, 8, 8, 8, math.NaN(), 8}
	flat := []float64{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}
	hostile := k("/x\x1b[31mred\x1b[0m|`pipe`")
	return investigate.HotspotInput{
		Convention: "prometheus-http",
		Warnings:   []string{"PromQL info: metric might not be a counter"},
		Latency: &investigate.LatencyInput{Query: "histogram_quantile(0.99, ...)", Link: "http://prom:9090/graph?g0.expr=p99",
			P99:     map[investigate.EndpointKey]float64{k("/slow"): 850, k("/always-slow"): 2400, hostile: 30},
			BaseP99: map[investigate.EndpointKey]float64{k("/slow"): 120, k("/always-slow"): 2400, hostile: 30},
			P50:     map[investigate.EndpointKey]float64{k("/slow"): 300, k("/always-slow"): 1200, hostile: 10},
			BaseP50: map[investigate.EndpointKey]float64{k("/slow"): 30, k("/always-slow"): 1200, hostile: 10},
			Spark:   map[investigate.EndpointKey][]float64{k("/slow"): up, k("/always-slow"): flat}},
		Requests: &investigate.RequestInput{RateQuery: "sum(rate(...))", RatioQuery: "errors / all", RateLink: "http://prom:9090/graph?g0.expr=rate",
			RatioLink: "http://prom:9090/graph?g0.expr=ratio",
			Rate:      map[investigate.EndpointKey]float64{k("/errors"): 6, k("/spike"): 12, k("/drop"): 0.2, k("/slow"): 4},
			BaseRate:  map[investigate.EndpointKey]float64{k("/errors"): 6, k("/spike"): 1, k("/drop"): 10, k("/slow"): 4},
			Errors:    map[investigate.EndpointKey]float64{k("/errors"): 1.8},
			RateSpark: map[investigate.EndpointKey][]float64{k("/spike"): up}},
		Saturation: &investigate.SaturationInput{Rows: []investigate.SaturationObservation{
			{Resource: "memory", Service: "shop", Value: 1900 << 20, Limit: 2 << 30, Baseline: 800 << 20, Unit: "bytes", WarnAt: 0.9, Query: "mem"},
			{Resource: "goroutines", Service: "shop", Value: 120, Baseline: 100, Unit: "count", Query: "g"},
		}},
	}
}

func TestHotspotsGolden(t *testing.T) {
	w, _ := investigate.ParseWindow("30m", "2026-01-01T12:00:00Z", "", time.Now())
	for _, tc := range []struct {
		format  render.Format
		explain bool
		golden  string
	}{
		{render.FormatTable, false, "hotspots.txt"},
		{render.FormatMarkdown, false, "hotspots.md"},
		{render.FormatJSON, false, "hotspots.json"},
		{render.FormatTable, true, "hotspots-explain.txt"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			io, _, out, _ := TestStreams()
			stub := &stubHotspots{in: stubInput(), reqs: []prometheus.Request{
				{API: "query_range", Params: map[string]string{"query": "q2", "start": "1767267000", "end": "1767268800", "step": "60"}},
				{API: "query", Params: map[string]string{"query": "q1", "time": "1767268800"}},
				{API: "label_values", Label: "__name__", Match: []string{`{__name__=~"a|b"}`}, Params: map[string]string{}},
			}}
			opts := &HotspotsOptions{IO: io, Source: stub, Query: prometheus.HotspotQuery{Window: w}, Format: tc.format,
				Explain: tc.explain, Analysis: investigate.DefaultHotspotOptions()}
			if err := hotspotsRun(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			s := out.String()
			if strings.Contains(s, "\x1b") {
				t.Error("an escape sequence from a label reached the output")
			}
			golden(t, tc.golden, out.Bytes())
		})
	}
}

// TestHotspotsFlags: --since/--until/--baseline/--service reach the query; config override is read;
// usage mistakes exit 2.
func TestHotspotsFlags(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.Path, "/query") {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
			return
		}
		fmt.Fprint(w, `{"status":"success","data":[]}`)
	}))
	defer fake.Close()
	code, out, errOut := runDbg(t, nil, "hotspots", "--prometheus-url", fake.URL, "--since", "2026-01-01T10:00:00Z",
		"--until", "2026-01-01T11:00:00Z", "--baseline", "1d", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Window, Baseline struct{ Start, End time.Time }
		Tables           struct {
			Latency struct{ Note string }
			Errors  struct{ Note string }
		}
		Findings []any
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Baseline.Start.Format(time.RFC3339) != "2025-12-31T10:00:00Z" || rep.Window.End.Format(time.RFC3339) != "2026-01-01T11:00:00Z" {
		t.Errorf("window %+v baseline %+v", rep.Window, rep.Baseline)
	}
	if !strings.Contains(rep.Tables.Latency.Note, "looked for") || !strings.Contains(rep.Tables.Errors.Note, "looked for") || rep.Findings == nil {
		t.Errorf("notes: %+v, findings %v", rep.Tables, rep.Findings)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"hotspots"}, 2, "no Prometheus configured"},
		{[]string{"hotspots", "--prometheus-url", fake.URL, "--since", "yesterday"}, 2, `--since "yesterday"`},
		{[]string{"hotspots", "--prometheus-url", fake.URL, "extra"}, 2, "unknown command"},
		{[]string{"hotspots", "--prometheus-url", "ftp://x"}, 1, "not an http(s):// URL"},
	} {
		code, _, errOut := runDbg(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestHotspotsCommandRealPrometheus runs the whole command against a real Prometheus holding a mixed
// fleet (promgen.Fleet: Spring, an NGINX ingress, Traefik, Linkerd, ASP.NET Core, a prefixed Go
// service, a summary): the planted answers through the JSON contract, --explain and doctor saying which
// family each service is read from, and one error line when the server is down.
func TestHotspotsCommandRealPrometheus(t *testing.T) {
	end := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	om, err := promgen.FleetOpenMetrics(end)
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Prometheus(t, testserver.CreateBlocks(t, om))
	env := map[string]string{"DBG_PROMETHEUS_URL": srv.URL}
	code, out, errOut := runDbg(t, env, "hotspots", "--until", end.Format(time.RFC3339), "-o", "json", "--explain")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Findings []investigate.Finding
		Tables   struct{ Conventions []investigate.ConventionUse }
		Queries  []prometheus.Request
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 || len(rep.Queries) < 10 {
		t.Fatalf("findings %d, queries %d", len(rep.Findings), len(rep.Queries))
	}
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		seen[f.Kind+" "+f.Service+" "+f.Operation] = true
	}
	for _, m := range promgen.Fleet {
		for kind, route := range map[string]string{"latency_hotspot": promgen.SlowRoute, "error_hotspot": promgen.ErrorRoute,
			"traffic_spike": promgen.SpikeRoute} {
			svc, op := promgen.Row(m.Exporter, m.Service, route)
			if !seen[kind+" "+svc+" "+op] {
				t.Errorf("%s: missing %s %s %s", m.Exporter, kind, svc, op)
			}
		}
	}
	if len(rep.Tables.Conventions) < 2*len(promgen.Fleet) {
		t.Errorf("tables.conventions has %d families, want one latency and one request family per exporter: %+v", len(rep.Tables.Conventions), rep.Tables.Conventions)
	}

	// The table output says, per family, which services it was read for and why.
	code, out, errOut = runDbg(t, env, "hotspots", "--until", end.Format(time.RFC3339), "--explain", "--no-color")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"METRICS FOUND", "latency  http_server_requests_seconds_bucket for orders: http_server_requests_seconds (by shape); histogram",
		"route uri, service application, status outcome", "requests nginx_ingress_controller_requests for storefront",
		"unit seconds from the bucket bounds", `only direction="inbound"`} {
		if !strings.Contains(out, want) {
			t.Errorf("--explain lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runDbg(t, env, "doctor", "--until", end.Format(time.RFC3339), "--no-color")
	if code != 0 {
		t.Fatalf("doctor: exit %d: %s\n%s", code, errOut, out)
	}
	if n := strings.Count(out, " for "); !strings.Contains(out, "request metrics in 2026-01-01T11:00:00Z") || n < 2*len(promgen.Fleet) {
		t.Errorf("doctor lists %d families:\n%s", n, out)
	}

	// The checklist's metrics step reads the same discovery: a Go service with its own prefix, no
	// configuration, its planted problems found.
	code, out, errOut = runDbg(t, env, "checklist", "--service", "cart", "--until", end.Format(time.RFC3339), "-o", "json")
	if code != 0 && code != 3 {
		t.Fatalf("checklist: exit %d: %s", code, errOut)
	}
	var cl checklist.Report
	if err := json.Unmarshal([]byte(out), &cl); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	if st := cl.Step(3); st != nil {
		for _, f := range st.Findings {
			found[f.Kind+" "+f.Service+" "+f.Operation] = true
		}
	}
	for _, want := range []string{"latency_hotspot cart /slow", "error_hotspot cart /errors", "traffic_spike cart /spike"} {
		if !found[want] {
			t.Errorf("checklist step 3 lacks %s: %v", want, found)
		}
	}

	code, _, errOut = runDbg(t, nil, "hotspots", "--prometheus-url", fmt.Sprintf("http://127.0.0.1:%d", testserver.FreePort(t)), "--timeout", "5s")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("down: exit %d, %q", code, errOut)
	}
}

func TestHotspotThresholdsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want int // latency findings in the stub input
	}{
		{nil, 1},
		{map[string]string{"DBG_HOTSPOTS_MIN_LATENCY_RATIO": "10"}, 0},
	} {
		t.Setenv("DBG_HOTSPOTS_MIN_LATENCY_RATIO", tc.env["DBG_HOTSPOTS_MIN_LATENCY_RATIO"])
		root := NewRootCmd(&Factory{IO: &IOStreams{}, Now: time.Now, Getenv: func(k string) string { return tc.env[k] }})
		hs, _, err := root.Find([]string{"hotspots"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := loadSettings(hs, &Factory{Getenv: func(k string) string { return tc.env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		rep := investigate.AnalyzeHotspots(stubInput(), hotspotThresholds(s))
		n := 0
		for _, f := range rep.Findings {
			if f.Kind == investigate.KindLatencyHotspot {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("env %v: %d latency findings, want %d", tc.env, n, tc.want)
		}
	}
}
