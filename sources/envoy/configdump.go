package envoy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// configDump reads /config_dump (admin.v3.ConfigDump): the ClustersConfigDump's static and dynamic
// clusters, and the RoutesConfigDump's route configurations. Other dumps (listeners, secrets, bootstrap)
// are skipped.
func (b *builder) configDump(data []byte) error {
	m, err := decode(data)
	if err != nil {
		return err
	}
	seen := false
	for _, c := range arr(m["configs"]) {
		cm := obj(c)
		typ := str(cm["@type"])
		switch {
		case strings.HasSuffix(typ, "ClustersConfigDump"):
			seen = true
			for _, k := range []string{"static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters"} {
				for _, e := range arr(cm[k]) {
					b.clusterConfig(obj(obj(e)["cluster"]))
				}
			}
		case strings.HasSuffix(typ, "RoutesConfigDump"):
			seen = true
			for _, k := range []string{"static_route_configs", "dynamic_route_configs"} {
				for _, e := range arr(cm[k]) {
					b.routeConfig(obj(obj(e)["route_config"]))
				}
			}
		}
	}
	if !seen {
		return fmt.Errorf("config_dump without clusters or routes (ClustersConfigDump, RoutesConfigDump)")
	}
	return nil
}

// istioConfig is Istio's filter metadata naming the resource that made a config:
// /apis/networking.istio.io/v1/namespaces/shop/destination-rule/ledger → ledger.shop.
func istioConfig(m map[string]any) string {
	p := str(path(m, "metadata", "filter_metadata", "istio", "config"))
	if p == "" {
		return ""
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 2 {
		name := parts[len(parts)-1]
		for i, s := range parts {
			if s == "namespaces" && i+1 < len(parts) {
				return name + "." + parts[i+1]
			}
		}
		return name
	}
	return p
}

func (b *builder) clusterConfig(cm map[string]any) {
	name := str(cm["name"])
	if name == "" {
		return
	}
	c := b.cluster(name)
	c.Type = str(cm["type"])
	if c.Type == "" {
		if n := str(path(cm, "cluster_type", "name")); n != "" {
			c.Type = n
		} else {
			c.Type = "EDS"
		}
	}
	c.ConnectTimeout = str(cm["connect_timeout"])
	c.OutlierDetect = cm["outlier_detection"] != nil
	if cb := obj(cm["circuit_breakers"]); cb != nil && len(c.Breakers) == 0 {
		c.Breakers = thresholds(cb)
	}
	c.DestinationRule = istioConfig(cm)
	c.TLSMode = tlsMode(cm)
}

// tlsMode names the client TLS a cluster uses, as istioctl's tls-check reported it. Istio's auto mTLS
// is a transport_socket_matches pair: tlsMode-istio (TLS with the mesh certificate) for pods with a
// sidecar, and a plaintext fallback for pods without.
func tlsMode(cm map[string]any) string {
	var istio, plain bool
	for _, m := range arr(cm["transport_socket_matches"]) {
		mm := obj(m)
		ts := obj(mm["transport_socket"])
		if isTLS(ts) {
			if str(path(mm, "match", "tlsMode")) == "istio" || strings.Contains(str(mm["name"]), "istio") {
				istio = true
			}
		} else {
			plain = true
		}
	}
	if istio {
		if plain {
			return "ISTIO_MUTUAL (auto: plaintext to pods without a sidecar)"
		}
		return "ISTIO_MUTUAL"
	}
	ts := obj(cm["transport_socket"])
	if !isTLS(ts) {
		return "DISABLE"
	}
	ctx := obj(path(ts, "typed_config", "common_tls_context"))
	for _, a := range arr(ctx["alpn_protocols"]) {
		if strings.Contains(str(a), "istio") {
			return "ISTIO_MUTUAL"
		}
	}
	if len(arr(ctx["tls_certificates"])) > 0 || len(arr(ctx["tls_certificate_sds_secret_configs"])) > 0 {
		for _, s := range arr(ctx["tls_certificate_sds_secret_configs"]) {
			if str(obj(s)["name"]) == "default" {
				return "ISTIO_MUTUAL"
			}
		}
		return "MUTUAL"
	}
	return "SIMPLE"
}

func isTLS(ts map[string]any) bool {
	if ts == nil {
		return false
	}
	return strings.Contains(str(ts["name"]), "tls") || strings.Contains(str(path(ts, "typed_config", "@type")), "UpstreamTlsContext")
}

func (b *builder) routeConfig(rc map[string]any) {
	rname := str(rc["name"])
	for _, vh := range arr(rc["virtual_hosts"]) {
		v := obj(vh)
		var domains []string
		for _, d := range arr(v["domains"]) {
			domains = append(domains, str(d))
		}
		for _, r := range arr(v["routes"]) {
			rm := obj(r)
			route := investigate.EnvoyRoute{Name: rname, VirtualHost: str(v["name"]), Domains: domains,
				Match: routeMatch(obj(rm["match"])), VirtualService: istioConfig(rm)}
			if route.VirtualService == "" {
				route.VirtualService = "(none)"
			}
			act := obj(rm["route"])
			route.Cluster = str(act["cluster"])
			if wc := obj(act["weighted_clusters"]); wc != nil {
				var parts []string
				for _, c := range arr(wc["clusters"]) {
					cm := obj(c)
					parts = append(parts, fmt.Sprintf("%s=%v", str(cm["name"]), numOr(cm["weight"], 0)))
				}
				route.Cluster = strings.Join(parts, ",")
			}
			switch {
			case rm["direct_response"] != nil:
				route.Cluster = fmt.Sprintf("(direct response %v)", num(path(rm, "direct_response", "status")))
			case rm["redirect"] != nil:
				route.Cluster = "(redirect)"
			}
			route.Timeout = str(act["timeout"])
			if rp := obj(act["retry_policy"]); rp != nil {
				route.Retries = fmt.Sprintf("%v on %s", numOr(rp["num_retries"], 1), str(rp["retry_on"]))
			}
			b.routes = append(b.routes, route)
		}
	}
	slices.SortStableFunc(b.routes, func(x, y investigate.EnvoyRoute) int { return strings.Compare(x.Name, y.Name) })
}

// routeMatch writes a route match as istioctl proxy-config routes does (/* for prefix /, the path, or
// the regex).
func routeMatch(m map[string]any) string {
	switch {
	case m["prefix"] != nil:
		p := str(m["prefix"])
		if p == "/" {
			return "/*"
		}
		return p + "*"
	case m["path"] != nil:
		return str(m["path"])
	case m["safe_regex"] != nil:
		return str(path(m, "safe_regex", "regex"))
	case m["path_separated_prefix"] != nil:
		return str(m["path_separated_prefix"]) + "/*"
	case m["connect_matcher"] != nil:
		return "CONNECT"
	}
	return "*"
}
