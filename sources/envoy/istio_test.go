package envoy

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/prometheus"
)

// istioHistory writes an hour of Istio's standard metrics as OpenMetrics: payment→ledger where 4% of
// requests are rejected by the sidecar's circuit breaker (UO, seen only by the source reporter),
// payment→catalog healthy, checkout→shipping TCP with 12% of connections failing upstream (UF), and an
// Envoy cluster stat for the same breaker.
func istioHistory(end time.Time) []byte {
	var b bytes.Buffer
	type series struct {
		metric, labels string
		perStep        float64
	}
	reqs := []series{
		{"istio_requests", `reporter="source",source_workload="payment",destination_service_name="ledger",destination_workload="ledger",response_flags="-",response_code="200"`, 48},
		{"istio_requests", `reporter="source",source_workload="payment",destination_service_name="ledger",destination_workload="ledger",response_flags="UO",response_code="503"`, 2},
		{"istio_requests", `reporter="destination",source_workload="payment",destination_service_name="ledger",destination_workload="ledger",response_flags="-",response_code="200"`, 48},
		{"istio_requests", `reporter="source",source_workload="payment",destination_service_name="catalog",destination_workload="catalog",response_flags="-",response_code="200"`, 100},
		{"istio_tcp_connections_opened", `reporter="source",source_workload="checkout",destination_service_name="shipping",destination_workload="shipping",response_flags="-"`, 22},
		{"istio_tcp_connections_opened", `reporter="source",source_workload="checkout",destination_service_name="shipping",destination_workload="shipping",response_flags="UF"`, 3},
		{"envoy_cluster_upstream_rq_pending_overflow", `envoy_cluster_name="outbound|8080||ledger.shop.svc.cluster.local"`, 2},
		{"envoy_cluster_upstream_rq_total", `envoy_cluster_name="outbound|8080||ledger.shop.svc.cluster.local"`, 50},
	}
	start := end.Add(-time.Hour)
	for _, s := range reqs {
		// Istio's counters end in _total; Envoy's own stats, as its /stats/prometheus exports them, do
		// not (OpenMetrics then needs them typed unknown).
		typ, name := "counter", s.metric+"_total"
		if strings.HasPrefix(s.metric, "envoy_") {
			typ, name = "unknown", s.metric
		}
		fmt.Fprintf(&b, "# TYPE %s %s\n", s.metric, typ)
		for i, t := 0, start; !t.After(end); i, t = i+1, t.Add(15*time.Second) {
			fmt.Fprintf(&b, "%s{%s} %g %d\n", name, s.labels, float64(i)*s.perStep, t.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

// TestMeshMetricsPrometheus runs against a real Prometheus loaded with the history above.
func TestMeshMetricsPrometheus(t *testing.T) {
	end := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	dir := testserver.CreateBlocks(t, istioHistory(end))
	srv := testserver.Prometheus(t, dir)
	p, err := prometheus.New(httpx.Endpoint{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	w := investigate.Window{Start: end.Add(-30 * time.Minute), End: end}
	mm, err := ReadMeshMetrics(context.Background(), p, w, "")
	if err != nil {
		t.Fatal(err)
	}
	fs := investigate.RankFindings(investigate.MeshFindings(mm.Edges, mm.Clusters, investigate.MeshOptions{}))
	titles := []string{}
	for _, f := range fs {
		titles = append(titles, f.Title)
		t.Logf("%s %s %.2f %s", f.Kind, f.Service, f.Score, f.Title)
	}
	all := strings.Join(titles, "\n")
	for _, want := range []string{
		"payment→ledger: 4.0% of requests rejected by the circuit breaker (UO)",
		"checkout→shipping: 12.0% of connections failed to connect upstream (UF)",
		"circuit breaker toward ledger:8080 rejected",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	if strings.Contains(all, "catalog") {
		t.Errorf("a finding on the healthy payment→catalog edge:\n%s", all)
	}
	for _, e := range mm.Edges {
		if e.Source == "payment" && e.Destination == "ledger" && e.Reporter != "source" {
			t.Errorf("payment→ledger read from the %s reporter; the source's report carries UO", e.Reporter)
		}
	}
	// --service keeps edges with that service at either end.
	mm, err = ReadMeshMetrics(context.Background(), p, w, "shipping")
	if err != nil {
		t.Fatal(err)
	}
	if len(mm.Edges) != 1 || mm.Edges[0].Source != "checkout" {
		t.Errorf("--service shipping: edges %+v", mm.Edges)
	}
}
