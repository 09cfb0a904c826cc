package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/jaeger"
)

// TestTelemetryArrives runs the demo against real Jaeger, Prometheus (scraping the services) and
// VictoriaLogs, with load, then an N+1 fault on inventory and a deploy on checkout, and checks that each
// backend holds what an on-call engineer (and dbg) would look for.
func TestTelemetryArrives(t *testing.T) {
	jg := testserver.Jaeger(t)
	vl := testserver.VictoriaLogs(t)
	ports := testserver.FreePorts(t, len(Services)+1)
	urls := map[string]string{}
	for i, name := range Services {
		urls[name] = "http://127.0.0.1:" + strconv.Itoa(ports[i])
	}
	prom := testserver.PrometheusWithConfig(t, ScrapeConfig(urls, time.Second))
	sys := startSystem(t, SystemConfig{OTLPURL: jg.OTLPHTTP, VictoriaLogsURL: vl.URL, Ports: ports,
		BatchTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	if err := sys.SetRate(30); err != nil {
		t.Fatal(err)
	}
	base := sys.Load.Run(ctx, 6*time.Second)
	faultAt := time.Now()
	if _, err := Inject(ctx, sys.Services[Inventory], Fault{Kind: KindNPlusOne}); err != nil {
		t.Fatal(err)
	}
	if _, err := Inject(ctx, sys.Services[Checkout], Fault{Kind: KindDeploy, Params: Params{Version: "2.0.0", MS: 50}}); err != nil {
		t.Fatal(err)
	}
	incident := sys.Load.Run(ctx, 6*time.Second)
	t.Logf("load: baseline %+v, with faults %+v", base, incident)
	if incident.OK == 0 || incident.Server > incident.Sent/10 {
		t.Fatalf("load not served: %+v", incident)
	}
	time.Sleep(2 * time.Second) // span batches and log batches flush

	jc, err := jaeger.New(httpx.Endpoint{Name: "Jaeger", URL: jg.QueryHTTP})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("jaeger services", func(t *testing.T) {
		var got struct {
			Data []string `json:"data"`
		}
		getJSON(t, jg.QueryHTTP+"/api/services", &got)
		for _, s := range Services {
			if !slices.Contains(got.Data, s) {
				t.Errorf("Jaeger has no service %s (has %v)", s, got.Data)
			}
		}
	})
	t.Run("jaeger n+1 after the fault, dbg finds it", func(t *testing.T) {
		traces, err := jc.Search(ctx, investigate.TraceQuery{Service: Inventory, Operation: "GET /stock",
			Start: faultAt.Add(time.Second), End: time.Now(), Limit: 20})
		if err != nil || len(traces) == 0 {
			var ops any
			getJSON(t, jg.QueryHTTP+"/api/services/inventory/operations", &ops)
			t.Fatalf("search inventory GET /stock after the fault: %d traces, %v (operations: %v)", len(traces), err, ops)
		}
		found := false
		for _, tr := range traces {
			rep := investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
			for _, f := range rep.Findings {
				if f.Kind == investigate.KindNPlusOne && f.Service == Inventory {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no n_plus_one finding on inventory in %d traces after the fault", len(traces))
		}
	})
	t.Run("jaeger attributes", func(t *testing.T) {
		traces, err := jc.Search(ctx, investigate.TraceQuery{Service: Frontend, Operation: "POST /checkout",
			Start: faultAt.Add(-time.Minute), End: time.Now(), Limit: 40})
		if err != nil || len(traces) == 0 {
			t.Fatalf("search frontend POST /checkout: %d traces, %v", len(traces), err)
		}
		want := map[string]bool{}
		for _, tr := range traces {
			if len(tr.Services()) < len(Services) {
				continue // a checkout refused early, or a trace still arriving
			}
			for _, sp := range tr.Spans {
				check := func(name string, ok bool) {
					if ok {
						want[name] = true
					} else if _, seen := want[name]; !seen {
						want[name] = false
					}
				}
				if sp.Kind == investigate.KindServer {
					r, _ := sp.Attr("http.route")
					m, _ := sp.Attr("http.request.method")
					c, _ := sp.Attr("http.response.status_code")
					id, _ := sp.Attr("correlation_id")
					check("server: http.route, method, status, correlation_id", r != "" && m != "" && c != "" && id != "")
					check("server: operation is METHOD route", sp.Operation == m+" "+r)
				}
				if sp.Kind == investigate.KindClient {
					if st, ok := sp.Attr("db.query.text"); ok {
						sys, _ := sp.Attr("db.system")
						check("db: system and statement", sys == "sqlite" && strings.HasPrefix(st, "SELECT"))
					} else {
						p, _ := sp.Attr("peer.service")
						check("client: peer.service", p != "")
					}
				}
				v, _ := sp.Attr("service.version")
				check("resource: service.version", v != "")
				if sp.Service == Checkout && v == "2.0.0" {
					want["checkout reports the deployed version"] = true
				}
			}
		}
		for name, ok := range want {
			if !ok {
				t.Errorf("not every span had %s", name)
			}
		}
		for _, name := range []string{"db: system and statement", "client: peer.service", "checkout reports the deployed version"} {
			if _, seen := want[name]; !seen {
				t.Errorf("no span showed %s", name)
			}
		}
	})
	t.Run("prometheus", func(t *testing.T) {
		for q, wantN := range map[string]int{
			`count by (service) (http_requests_total)`:                          len(Services),
			`circuit_breaker_state{service="payment",name="gateway"}`:           1,
			`bulkhead_capacity{service="payment"}`:                              1,
			`count by (service) (go_goroutines)`:                                len(Services),
			`db_query_duration_seconds_count{service="inventory"}`:              1,
			`demo_build_info{service="checkout",version="2.0.0"}`:               1,
			`http_request_duration_seconds_bucket{handler="/orders",le="+Inf"}`: 1,
		} {
			n := promCount(t, ctx, prom.URL, q)
			if n < wantN {
				t.Errorf("%s: %d series, want %d", q, n, wantN)
			}
		}
	})
	t.Run("victorialogs", func(t *testing.T) {
		q := url.Values{"query": {`service:=inventory AND trace_id:* AND correlation_id:*`}, "limit": {"20"}}
		resp, err := http.Get(vl.URL + "/select/logsql/query?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n := 0
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("VictoriaLogs line %q: %v", sc.Text(), err)
			}
			if len(str(rec["trace_id"])) != 32 || len(str(rec["span_id"])) != 16 || str(rec["_msg"]) == "" {
				t.Errorf("record without trace context: %v", rec)
			}
			n++
		}
		if n == 0 {
			t.Error("VictoriaLogs holds no inventory log line with trace_id and correlation_id")
		}
	})
}

func str(v any) string { s, _ := v.(string); return s }

func getJSON(t *testing.T, u string, out any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

// promCount waits (a few scrapes at most) for the query to return series and returns how many.
func promCount(t *testing.T, ctx context.Context, base, q string) int {
	t.Helper()
	var n int
	for range 10 {
		var out struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		getJSON(t, base+"/api/v1/query?"+url.Values{"query": {q}}.Encode(), &out)
		if n = len(out.Data.Result); n > 0 || ctx.Err() != nil {
			return n
		}
		time.Sleep(time.Second)
	}
	return n
}
