package investigate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Service-mesh evidence: what Istio's standard metrics (istio_requests_total, istio_tcp_connections_*)
// and an Envoy sidecar's admin API (/clusters, /stats, /config_dump) say about the edges between
// services. Sources convert into these types; MeshFindings ranks them.

// ResponseFlag explains one Envoy response flag (%RESPONSE_FLAGS% in the access log, the response_flags
// label of istio_requests_total): what happened, and how much it speaks for a fault on the edge.
type ResponseFlag struct {
	Code, Meaning, Check string
	// Weight scales the finding's score: 1 for a request the mesh failed, less for flags that are the
	// caller's choice (a client that gave up) or deliberate (fault injection).
	Weight float64
}

// ResponseFlags are Envoy's response flags (Envoy docs: configuration/observability/access_log/usage,
// %RESPONSE_FLAGS%), with what an SRE checks next.
var ResponseFlags = map[string]ResponseFlag{
	"UO":    {"UO", "rejected by the circuit breaker", "the DestinationRule's connectionPool limits (http1MaxPendingRequests, http2MaxRequests, maxConnections) against the real concurrency", 1},
	"UF":    {"UF", "failed to connect upstream", "the destination pods are ready and listen on the port; NetworkPolicy; mTLS mode mismatch", 1},
	"UH":    {"UH", "found no healthy upstream host", "the destination's endpoints (kubectl get endpoints), readiness probes and outlier ejections", 1},
	"NR":    {"NR", "had no route configured", "the VirtualService hosts and gateways, and the Sidecar resource's egress hosts", 1},
	"NC":    {"NC", "found no upstream cluster", "the VirtualService destination host and subset exist (DestinationRule subsets)", 1},
	"URX":   {"URX", "ran out of retries", "the upstream's own errors: retries only multiplied them; the VirtualService retries.attempts", 1},
	"UT":    {"UT", "timed out upstream", "the destination's latency against the VirtualService timeout", 1},
	"UC":    {"UC", "lost the upstream connection", "upstream restarts, idle timeouts shorter than the client pool's, connection draining", 0.9},
	"UR":    {"UR", "were reset by the upstream", "upstream crashes, its max requests per connection, protocol mismatch (h2 vs http/1)", 0.9},
	"LR":    {"LR", "were reset locally by the sidecar", "the sidecar's own limits and logs (istio-proxy container)", 0.8},
	"DC":    {"DC", "were abandoned by the caller (it disconnected)", "the caller's timeout: it gave up before the response; often a symptom of slowness further down", 0.5},
	"DT":    {"DT", "exceeded the maximum request or connection duration", "max_stream_duration / maxConnectionDuration settings", 0.7},
	"LH":    {"LH", "failed because the local service failed its health check", "the local application's health endpoint", 0.9},
	"RL":    {"RL", "were rate-limited locally (HTTP 429)", "the local rate limit filter's token bucket against the real rate", 0.7},
	"RLSE":  {"RLSE", "failed because the rate limit service errored", "the rate limit service's health", 0.8},
	"UAEX":  {"UAEX", "were denied by the external authorization service", "the ext_authz policy and the authorization service", 0.7},
	"FI":    {"FI", "were aborted by fault injection", "VirtualService fault.abort rules (a chaos experiment still applied?)", 0.6},
	"DI":    {"DI", "were delayed by fault injection", "VirtualService fault.delay rules (a chaos experiment still applied?)", 0.4},
	"SI":    {"SI", "hit the stream idle timeout", "stream_idle_timeout against long-polling or streaming calls", 0.7},
	"DPE":   {"DPE", "had a downstream protocol error", "the caller's protocol (HTTP/1 vs h2) and the Service port name or appProtocol", 0.8},
	"UPE":   {"UPE", "had an upstream protocol error", "the destination's protocol against the Service port name or appProtocol", 0.9},
	"UMSDR": {"UMSDR", "reached the upstream max stream duration", "max_stream_duration on the route", 0.7},
	"OM":    {"OM", "were refused by the overload manager", "the sidecar's memory and overload settings", 0.9},
	"DF":    {"DF", "failed DNS resolution", "the destination host name and the cluster's DNS", 1},
	"DO":    {"DO", "were dropped by overload (drop_overloads)", "the load assignment's drop_overloads", 0.8},
	"IH":    {"IH", "were rejected for an invalid header value", "strict header checks on the route", 0.6},
}

// FlagMeaning explains a flag, or says it is not known to this version of dbg.
func FlagMeaning(code string) ResponseFlag {
	if f, ok := ResponseFlags[code]; ok {
		return f
	}
	return ResponseFlag{Code: code, Meaning: "carried response flag " + code, Check: "Envoy's response flag documentation", Weight: 0.7}
}

// MeshEdge is one caller → callee edge with its request (or TCP connection) counts by response flag over
// the window. "-" is Envoy's "no flag".
type MeshEdge struct {
	Source      string             `json:"source"`
	Destination string             `json:"destination"`
	Protocol    string             `json:"protocol"` // http (includes grpc) or tcp
	Reporter    string             `json:"reporter"`
	Total       float64            `json:"total"`
	Flags       map[string]float64 `json:"flags"`
	Query       string             `json:"query"`
}

// CircuitBreaker is one priority's thresholds, with the remaining capacity when Envoy tracks it
// (track_remaining; -1 when unknown) and whether each breaker is open now.
type CircuitBreaker struct {
	Priority           string `json:"priority"`
	MaxConnections     int64  `json:"max_connections"`
	MaxPendingRequests int64  `json:"max_pending_requests"`
	MaxRequests        int64  `json:"max_requests"`
	MaxRetries         int64  `json:"max_retries"`
	RemainingCx        int64  `json:"remaining_cx"`
	RemainingPending   int64  `json:"remaining_pending"`
	RemainingRq        int64  `json:"remaining_rq"`
	RemainingRetries   int64  `json:"remaining_retries"`
	// Open lists the breakers open now: cx, rq_pending, rq, rq_retry.
	Open []string `json:"open"`
}

// EnvoyHost is one upstream host of a cluster.
type EnvoyHost struct {
	Address string `json:"address"`
	// Health is Envoy's eds_health_status (HEALTHY, UNHEALTHY, DRAINING, ...) or "healthy" from the text.
	Health string `json:"health"`
	// Failed lists the failure flags: failed_outlier_check, failed_active_hc, failed_eds_health, ...
	Failed      []string           `json:"failed"`
	SuccessRate float64            `json:"success_rate"` // -1 when not computed
	Stats       map[string]float64 `json:"stats"`
}

// EnvoyCluster is one upstream cluster of a sidecar: its Istio identity, health, breakers and stats.
type EnvoyCluster struct {
	Name string `json:"name"`
	// Direction, Port, Subset and FQDN come from Istio's cluster name outbound|8080|v1|ledger.shop.svc.cluster.local,
	// as istioctl proxy-config clusters shows them.
	Direction string `json:"direction"`
	Port      string `json:"port"`
	Subset    string `json:"subset"`
	FQDN      string `json:"fqdn"`
	Type      string `json:"type"`
	// TLSMode is the client-side TLS this sidecar uses toward the cluster, as istioctl's tls-check showed:
	// ISTIO_MUTUAL, ISTIO_MUTUAL (auto: plaintext to pods without a sidecar), MUTUAL, SIMPLE or DISABLE.
	TLSMode         string             `json:"tls_mode"`
	DestinationRule string             `json:"destination_rule"`
	ConnectTimeout  string             `json:"connect_timeout"`
	OutlierDetect   bool               `json:"outlier_detection"`
	Breakers        []CircuitBreaker   `json:"circuit_breakers"`
	Hosts           []EnvoyHost        `json:"hosts"`
	Stats           map[string]float64 `json:"stats"`
}

// EnvoyRoute is one route of a route configuration, as istioctl proxy-config routes shows it.
type EnvoyRoute struct {
	Name           string   `json:"name"`
	VirtualHost    string   `json:"virtual_host"`
	Domains        []string `json:"domains"`
	Match          string   `json:"match"`
	Cluster        string   `json:"cluster"`
	Timeout        string   `json:"timeout"`
	Retries        string   `json:"retries"`
	VirtualService string   `json:"virtual_service"`
}

// MeshReport is `dbg mesh`'s JSON.
type MeshReport struct {
	Sources  []string       `json:"sources"`
	Edges    []MeshEdge     `json:"edges"`
	Clusters []EnvoyCluster `json:"clusters"`
	Routes   []EnvoyRoute   `json:"routes"`
	Findings []Finding      `json:"findings"`
	Warnings []string       `json:"warnings"`
	Queries  []string       `json:"queries"`
}

// MeshOptions tune MeshFindings.
type MeshOptions struct {
	// MinShare is the share of an edge's requests a flag needs to become a finding (default 0.5%).
	MinShare float64
}

// Normalize fills nil slices so JSON shows [].
func (r *MeshReport) Normalize() {
	orEmptySlice(&r.Sources)
	orEmptySlice(&r.Warnings)
	orEmptySlice(&r.Queries)
	if r.Edges == nil {
		r.Edges = []MeshEdge{}
	}
	if r.Clusters == nil {
		r.Clusters = []EnvoyCluster{}
	}
	if r.Routes == nil {
		r.Routes = []EnvoyRoute{}
	}
	for i := range r.Clusters {
		c := &r.Clusters[i]
		if c.Breakers == nil {
			c.Breakers = []CircuitBreaker{}
		}
		if c.Hosts == nil {
			c.Hosts = []EnvoyHost{}
		}
		for j := range c.Breakers {
			if c.Breakers[j].Open == nil {
				c.Breakers[j].Open = []string{}
			}
		}
		for j := range c.Hosts {
			if c.Hosts[j].Failed == nil {
				c.Hosts[j].Failed = []string{}
			}
		}
	}
	r.Findings = RankFindings(r.Findings)
}

func orEmptySlice(s *[]string) {
	if *s == nil {
		*s = []string{}
	}
}

// ParseIstioCluster splits Istio's cluster name (direction|port|subset|fqdn).
func ParseIstioCluster(name string) (direction, port, subset, fqdn string, ok bool) {
	p := strings.Split(name, "|")
	if len(p) != 4 {
		return "", "", "", name, false
	}
	return p[0], p[1], p[2], p[3], true
}

// ShortService is the service part of a Kubernetes FQDN (ledger.shop.svc.cluster.local → ledger).
func ShortService(fqdn string) string {
	if i := strings.Index(fqdn, ".svc."); i > 0 {
		if j := strings.IndexByte(fqdn[:i], '.'); j > 0 {
			return fqdn[:j]
		}
	}
	return fqdn
}

// MeshFindings ranks what the edges and clusters show. The rules and their reasons are in docs/mesh.md.
func MeshFindings(edges []MeshEdge, clusters []EnvoyCluster, o MeshOptions) []Finding {
	if o.MinShare <= 0 {
		o.MinShare = 0.005
	}
	var out []Finding
	for _, e := range edges {
		if e.Total <= 0 {
			continue
		}
		unit := "requests"
		if e.Protocol == "tcp" {
			unit = "connections"
		}
		codes := make([]string, 0, len(e.Flags))
		for c := range e.Flags {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, code := range codes {
			n := e.Flags[code]
			if code == "-" || code == "" || n <= 0 {
				continue
			}
			sh := n / e.Total
			if sh < o.MinShare {
				continue
			}
			fl := FlagMeaning(code)
			f := Finding{
				Kind: KindDependency, Service: e.Source, Operation: "→ " + e.Destination,
				Score: fl.Weight * (0.35 + 0.55*math.Min(1, sh/0.2)),
				Title: fmt.Sprintf("%s→%s: %s of %s %s (%s)", e.Source, e.Destination, pctOf(sh), unit, fl.Meaning, code),
				Evidence: map[string]any{
					"peer": e.Destination, "error_ratio": round3(sh), "p99_ms": 0.0, "baseline_error_ratio": 0.0,
					"response_flag": code, "meaning": fl.Meaning, "count": round3(n), "total": round3(e.Total),
					"reporter": e.Reporter, "protocol": e.Protocol, "query": e.Query,
				},
				Recommendation: "Check " + fl.Check + ".",
			}
			out = append(out, f)
		}
	}
	for _, c := range clusters {
		out = append(out, clusterFindings(c)...)
	}
	return out
}

func pctOf(x float64) string {
	if x < 0.001 {
		return fmt.Sprintf("%.2f%%", 100*x)
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

func clusterName(c EnvoyCluster) string {
	if c.FQDN != "" && c.FQDN != c.Name {
		return ShortService(c.FQDN) + ":" + c.Port
	}
	return c.Name
}

func clusterFindings(c EnvoyCluster) []Finding {
	var out []Finding
	name := clusterName(c)
	svc := ShortService(c.FQDN)
	if svc == "" {
		svc = c.Name
	}
	st := c.Stats
	// Circuit breakers: rejections counted, or a breaker open now.
	overflow := st["upstream_rq_pending_overflow"] + st["upstream_cx_overflow"] + st["upstream_rq_retry_overflow"]
	var open []string
	var limit int64
	for _, b := range c.Breakers {
		for _, o := range b.Open {
			open = append(open, strings.ToLower(b.Priority)+"."+o)
		}
		if strings.EqualFold(b.Priority, "default") || b.Priority == "" {
			limit = b.MaxPendingRequests
		}
	}
	if overflow > 0 || len(open) > 0 {
		total := st["upstream_rq_total"]
		sh := 0.0
		if total > 0 {
			sh = overflow / total
		}
		f := Finding{Kind: KindSaturation, Service: svc, Operation: c.Name,
			Score: 0.45 + 0.45*math.Min(1, sh/0.2),
			Title: fmt.Sprintf("circuit breaker toward %s rejected %.0f requests (UO)", name, overflow),
			Evidence: map[string]any{"resource": "circuit_breaker " + c.Name, "value": overflow, "limit": limit,
				"open": strings.Join(open, ","), "upstream_rq_total": total, "share": round3(sh),
				"query": "cluster." + c.Name + ".upstream_rq_pending_overflow"},
			Recommendation: "Compare the DestinationRule connectionPool limits with the concurrency the callers need; raise them, or shed load before the breaker does."}
		if len(open) > 0 {
			f.Title = fmt.Sprintf("circuit breaker toward %s is open now (%s); %.0f requests rejected (UO)", name, strings.Join(open, ", "), overflow)
			f.Score = math.Max(f.Score, 0.7)
		}
		out = append(out, f)
	}
	// Outlier detection and health.
	ejected, unhealthy := 0, 0
	var bad []string
	for _, h := range c.Hosts {
		if slices.Contains(h.Failed, "failed_outlier_check") {
			ejected++
			bad = append(bad, h.Address)
		} else if len(h.Failed) > 0 || (h.Health != "" && !strings.EqualFold(h.Health, "healthy")) {
			unhealthy++
			bad = append(bad, h.Address)
		}
	}
	if active := int(st["outlier_detection.ejections_active"]); active > ejected {
		ejected = active
	}
	hosts := len(c.Hosts)
	if hosts == 0 {
		hosts = int(st["membership_total"])
	}
	if ejected > 0 {
		sh := share(ejected, max(hosts, ejected))
		out = append(out, Finding{Kind: KindDependency, Service: svc, Operation: c.Name,
			Score: 0.4 + 0.5*sh,
			Title: fmt.Sprintf("%d of %d hosts of %s ejected by outlier detection", ejected, max(hosts, ejected), name),
			Evidence: map[string]any{"peer": svc, "error_ratio": 0.0, "p99_ms": 0.0, "baseline_error_ratio": 0.0,
				"ejected": ejected, "hosts": hosts, "addresses": strings.Join(bad, ","),
				"ejections_enforced_total": st["outlier_detection.ejections_enforced_total"],
				"query":                    "cluster." + c.Name + ".outlier_detection.ejections_active"},
			Recommendation: "The ejected hosts failed consecutively (5xx or gateway errors): look at those pods' logs and resources; if every host is ejected the mesh has no capacity left (UH)."})
	}
	if unhealthy > 0 {
		sh := share(unhealthy, hosts)
		out = append(out, Finding{Kind: KindDependency, Service: svc, Operation: c.Name,
			Score: 0.35 + 0.5*sh,
			Title: fmt.Sprintf("%d of %d hosts of %s are not healthy", unhealthy, hosts, name),
			Evidence: map[string]any{"peer": svc, "error_ratio": 0.0, "p99_ms": 0.0, "baseline_error_ratio": 0.0,
				"unhealthy": unhealthy, "hosts": hosts, "addresses": strings.Join(bad, ","),
				"query": "cluster." + c.Name + ".membership_healthy"},
			Recommendation: "Check the pods' readiness (kubectl get endpoints) and the active health check."})
	}
	if cf := st["upstream_cx_connect_fail"]; cf > 0 {
		total := st["upstream_cx_total"]
		sh := 0.0
		if total > 0 {
			sh = cf / total
		}
		if sh >= 0.01 || total == 0 {
			out = append(out, Finding{Kind: KindDependency, Service: svc, Operation: c.Name,
				Score: 0.35 + 0.55*math.Min(1, sh/0.2),
				Title: fmt.Sprintf("%.0f connection attempts to %s failed (%s of %.0f; UF)", cf, name, pctOf(sh), total),
				Evidence: map[string]any{"peer": svc, "error_ratio": round3(sh), "p99_ms": 0.0, "baseline_error_ratio": 0.0,
					"connect_failures": cf, "connections": total, "query": "cluster." + c.Name + ".upstream_cx_connect_fail"},
				Recommendation: "Check the destination listens on " + c.Port + ", NetworkPolicy, and that its mTLS mode matches " + c.TLSMode + "."})
		}
	}
	for i := range out {
		out[i].Evidence["cluster"] = c.Name
	}
	return out
}

// SortClusters orders clusters as istioctl proxy-config clusters does: by FQDN, port, subset, direction.
func SortClusters(cs []EnvoyCluster) {
	slices.SortFunc(cs, func(a, b EnvoyCluster) int {
		if c := cmp.Compare(a.FQDN, b.FQDN); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Subset, b.Subset); c != 0 {
			return c
		}
		return cmp.Compare(a.Direction, b.Direction)
	})
}
