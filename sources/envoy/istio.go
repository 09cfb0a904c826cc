package envoy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// Querier runs an instant PromQL query (sources/prometheus.Source satisfies it).
type Querier interface {
	Query(ctx context.Context, query string, t time.Time) ([]investigate.Sample, []string, error)
}

// MeshMetrics is what Prometheus holds about the mesh over a window.
type MeshMetrics struct {
	Edges    []investigate.MeshEdge
	Clusters []investigate.EnvoyCluster
	Queries  []string
	Warnings []string
}

// promRange is a PromQL range for a window length (at least one minute, so rate has samples).
func promRange(d time.Duration) string {
	if d < time.Minute {
		d = time.Minute
	}
	return fmt.Sprintf("%ds", int64(d/time.Second))
}

// Istio's standard metrics (https://istio.io/latest/docs/reference/config/metrics/): each request is
// counted by the source's and the destination's proxy (reporter label); an edge is read from the
// source's report when there is one, since flags such as UO and UF are raised there.
func edgeQuery(metric, win string) string {
	return fmt.Sprintf(`sum by (reporter, source_workload, destination_service_name, destination_workload, response_flags) (increase(%s[%s]))`, metric, win)
}

// ReadMeshMetrics asks Prometheus for istio_requests_total and istio_tcp_connections_opened_total by
// response flag, and Envoy's cluster stats where the mesh exports them. service, when set, keeps edges
// with that service at either end. Metrics the server does not have are not an error: a mesh without
// Envoy stats exported still has Istio's.
func ReadMeshMetrics(ctx context.Context, q Querier, w investigate.Window, service string) (MeshMetrics, error) {
	var mm MeshMetrics
	win := promRange(w.Length())
	at := w.End
	var firstErr error
	ok := 0
	for _, m := range []struct{ metric, proto string }{
		{"istio_requests_total", "http"},
		{"istio_tcp_connections_opened_total", "tcp"},
	} {
		query := edgeQuery(m.metric, win)
		mm.Queries = append(mm.Queries, query)
		samples, warns, err := q.Query(ctx, query, at)
		mm.Warnings = append(mm.Warnings, warns...)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ok++
		mm.Edges = append(mm.Edges, edges(samples, m.proto, query, service)...)
	}
	// Envoy cluster stats, when exported (Istio's proxyStatsMatcher, or plain Envoy).
	clusters := map[string]*investigate.EnvoyCluster{}
	for _, stat := range []string{"upstream_rq_pending_overflow", "upstream_cx_overflow", "upstream_rq_retry_overflow",
		"upstream_cx_connect_fail", "upstream_cx_total", "upstream_rq_total", "upstream_rq_timeout"} {
		query := fmt.Sprintf(`sum by (envoy_cluster_name) (increase(envoy_cluster_%s[%s]))`, stat, win)
		if into(ctx, q, query, at, stat, clusters, &mm) {
			ok++
		}
	}
	for _, stat := range []string{"outlier_detection_ejections_active", "membership_healthy", "membership_total",
		"circuit_breakers_default_rq_pending_open", "circuit_breakers_default_cx_open", "circuit_breakers_default_rq_open"} {
		query := fmt.Sprintf(`max by (envoy_cluster_name) (max_over_time(envoy_cluster_%s[%s]))`, stat, win)
		name := strings.Replace(strings.Replace(stat, "outlier_detection_", "outlier_detection.", 1), "circuit_breakers_default_", "circuit_breakers.default.", 1)
		if into(ctx, q, query, at, name, clusters, &mm) {
			ok++
		}
	}
	names := make([]string, 0, len(clusters))
	for n := range clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := clusters[n]
		for _, g := range []string{"rq_pending", "cx", "rq"} {
			if c.Stats["circuit_breakers.default."+g+"_open"] > 0 {
				if len(c.Breakers) == 0 {
					c.Breakers = []investigate.CircuitBreaker{{Priority: "DEFAULT", RemainingCx: -1, RemainingPending: -1, RemainingRq: -1, RemainingRetries: -1}}
				}
				c.Breakers[0].Open = append(c.Breakers[0].Open, g)
			}
		}
		if service != "" && investigate.ShortService(c.FQDN) != service {
			continue
		}
		mm.Clusters = append(mm.Clusters, *c)
	}
	if ok == 0 && firstErr != nil {
		return mm, firstErr
	}
	return mm, nil
}

func into(ctx context.Context, q Querier, query string, at time.Time, stat string, clusters map[string]*investigate.EnvoyCluster, mm *MeshMetrics) bool {
	samples, warns, err := q.Query(ctx, query, at)
	mm.Warnings = append(mm.Warnings, warns...)
	if err != nil || len(samples) == 0 {
		return false
	}
	mm.Queries = append(mm.Queries, query)
	for _, s := range samples {
		name := s.Labels["envoy_cluster_name"]
		if name == "" {
			continue
		}
		c := clusters[name]
		if c == nil {
			c = &investigate.EnvoyCluster{Name: name, Stats: map[string]float64{}}
			c.Direction, c.Port, c.Subset, c.FQDN, _ = investigate.ParseIstioCluster(name)
			clusters[name] = c
		}
		c.Stats[stat] += s.Value
	}
	return true
}

func edges(samples []investigate.Sample, proto, query, service string) []investigate.MeshEdge {
	type key struct{ reporter, src, dst string }
	m := map[key]*investigate.MeshEdge{}
	for _, s := range samples {
		src := s.Labels["source_workload"]
		dst := s.Labels["destination_service_name"]
		if dst == "" || dst == "unknown" {
			dst = s.Labels["destination_workload"]
		}
		if service != "" && src != service && dst != service && s.Labels["destination_workload"] != service {
			continue
		}
		k := key{s.Labels["reporter"], src, dst}
		e := m[k]
		if e == nil {
			e = &investigate.MeshEdge{Source: src, Destination: dst, Protocol: proto, Reporter: k.reporter, Flags: map[string]float64{}, Query: query}
			m[k] = e
		}
		e.Total += s.Value
		e.Flags[s.Labels["response_flags"]] += s.Value
	}
	// One edge per source→destination: the source's report when present.
	best := map[[2]string]*investigate.MeshEdge{}
	for k, e := range m {
		id := [2]string{k.src, k.dst}
		if b := best[id]; b == nil || (k.reporter == "source" && b.Reporter != "source") {
			best[id] = e
		}
	}
	out := make([]investigate.MeshEdge, 0, len(best))
	for _, e := range best {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Destination < out[j].Destination
	})
	return out
}
