package envoy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dbgtool/dbg/investigate"
)

// num reads a proto-JSON number: uint64 fields are strings ("3"), others numbers.
func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	case json.Number:
		f, _ := x.Float64()
		return f
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func arr(v any) []any          { a, _ := v.([]any); return a }
func str(v any) string         { s, _ := v.(string); return s }

// path walks nested objects: path(m, "a", "b") is m["a"]["b"].
func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		v = obj(v)[k]
	}
	return v
}

func decode(data []byte) (map[string]any, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("JSON: %v", err)
	}
	return m, nil
}

// thresholds reads circuit_breakers.thresholds (admin.v3.ClusterStatus.circuit_breakers, and the
// cluster config's circuit_breakers); a priority left out is DEFAULT, as the admin docs note.
func thresholds(cb map[string]any) []investigate.CircuitBreaker {
	var out []investigate.CircuitBreaker
	for _, t := range arr(cb["thresholds"]) {
		m := obj(t)
		p := str(m["priority"])
		if p == "" {
			p = "DEFAULT"
		}
		b := investigate.CircuitBreaker{Priority: p, RemainingCx: -1, RemainingPending: -1, RemainingRq: -1, RemainingRetries: -1}
		// Envoy's defaults when a threshold is unset: 1024 connections, pending and requests, 3 retries.
		b.MaxConnections = int64(numOr(m["max_connections"], 1024))
		b.MaxPendingRequests = int64(numOr(m["max_pending_requests"], 1024))
		b.MaxRequests = int64(numOr(m["max_requests"], 1024))
		b.MaxRetries = int64(numOr(m["max_retries"], 3))
		out = append(out, b)
	}
	return out
}

func numOr(v any, def float64) float64 {
	if v == nil {
		return def
	}
	if m := obj(v); m != nil { // a wrapped UInt32Value {"value": n}
		return num(m["value"])
	}
	return num(v)
}

// clustersJSON reads /clusters?format=json (admin.v3.Clusters).
func (b *builder) clustersJSON(data []byte) error {
	m, err := decode(data)
	if err != nil {
		return err
	}
	for _, cs := range arr(m["cluster_statuses"]) {
		s := obj(cs)
		name := str(s["name"])
		if name == "" {
			continue
		}
		c := b.cluster(name)
		if cb := obj(s["circuit_breakers"]); cb != nil {
			c.Breakers = mergeBreakers(c.Breakers, thresholds(cb))
		}
		c.Hosts = c.Hosts[:0]
		for _, hs := range arr(s["host_statuses"]) {
			h := obj(hs)
			sa := obj(path(h, "address", "socket_address"))
			host := investigate.EnvoyHost{SuccessRate: -1, Stats: map[string]float64{}}
			host.Address = fmt.Sprintf("%s:%v", str(sa["address"]), int64(num(sa["port_value"])))
			if p := str(path(h, "address", "pipe", "path")); p != "" {
				host.Address = p
			}
			for _, st := range arr(h["stats"]) {
				sm := obj(st)
				host.Stats[str(sm["name"])] = num(sm["value"])
			}
			hsm := obj(h["health_status"])
			host.Health = str(hsm["eds_health_status"])
			if host.Health == "" {
				host.Health = "HEALTHY"
			}
			for _, k := range []string{"failed_outlier_check", "failed_active_health_check", "failed_active_degraded_check", "pending_dynamic_removal", "pending_active_hc", "excluded_via_immediate_hc_fail", "active_hc_timeout"} {
				if v, ok := hsm[k].(bool); ok && v {
					host.Failed = append(host.Failed, k)
				}
			}
			if sr := obj(h["success_rate"]); sr != nil {
				host.SuccessRate = num(sr["value"])
			}
			c.Hosts = append(c.Hosts, host)
		}
	}
	return nil
}

func mergeBreakers(have, got []investigate.CircuitBreaker) []investigate.CircuitBreaker {
	for _, g := range got {
		found := false
		for i := range have {
			if have[i].Priority == g.Priority {
				rc, rp, rr, rt, open := have[i].RemainingCx, have[i].RemainingPending, have[i].RemainingRq, have[i].RemainingRetries, have[i].Open
				have[i] = g
				have[i].RemainingCx, have[i].RemainingPending, have[i].RemainingRq, have[i].RemainingRetries, have[i].Open = rc, rp, rr, rt, open
				found = true
			}
		}
		if !found {
			have = append(have, g)
		}
	}
	return have
}

func isClustersText(t []byte) bool {
	line, _, _ := bytes.Cut(t, []byte("\n"))
	return bytes.Count(line, []byte("::")) >= 2
}

// clustersText reads the plain /clusters output: cluster::host::stat::value lines, and
// cluster::default_priority::max_connections::N for the breakers.
func (b *builder) clustersText(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	hosts := map[string]map[string]*investigate.EnvoyHost{}
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), "::")
		if len(p) < 3 {
			continue
		}
		c := b.cluster(p[0])
		switch {
		case len(p) == 4 && strings.HasSuffix(p[1], "_priority"):
			prio := strings.ToUpper(strings.TrimSuffix(p[1], "_priority"))
			v, _ := strconv.ParseFloat(p[3], 64)
			i := breaker(c, prio)
			switch p[2] {
			case "max_connections":
				c.Breakers[i].MaxConnections = int64(v)
			case "max_pending_requests":
				c.Breakers[i].MaxPendingRequests = int64(v)
			case "max_requests":
				c.Breakers[i].MaxRequests = int64(v)
			case "max_retries":
				c.Breakers[i].MaxRetries = int64(v)
			}
		case len(p) == 4:
			hm := hosts[p[0]]
			if hm == nil {
				hm = map[string]*investigate.EnvoyHost{}
				hosts[p[0]] = hm
			}
			h := hm[p[1]]
			if h == nil {
				h = &investigate.EnvoyHost{Address: p[1], Health: "HEALTHY", SuccessRate: -1, Stats: map[string]float64{}}
				hm[p[1]] = h
			}
			switch p[2] {
			case "health_flags":
				for _, f := range strings.Split(p[3], "/") {
					if f == "" || f == "healthy" {
						continue
					}
					h.Failed = append(h.Failed, textFlag(f))
					h.Health = "UNHEALTHY"
				}
			case "success_rate":
				h.SuccessRate, _ = strconv.ParseFloat(p[3], 64)
			case "hostname", "zone", "region", "sub_zone", "canary", "priority", "weight":
			default:
				if v, err := strconv.ParseFloat(p[3], 64); err == nil {
					h.Stats[p[2]] = v
				}
			}
		}
	}
	for name, hm := range hosts {
		c := b.cluster(name)
		keys := make([]string, 0, len(hm))
		for k := range hm {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c.Hosts = c.Hosts[:0]
		for _, k := range keys {
			c.Hosts = append(c.Hosts, *hm[k])
		}
	}
	return sc.Err()
}

// textFlag maps the text health flags to the JSON field names.
func textFlag(f string) string {
	switch f {
	case "failed_active_hc":
		return "failed_active_health_check"
	case "failed_active_degraded_check", "failed_outlier_check", "pending_dynamic_removal", "pending_active_hc", "excluded_via_immediate_hc_fail", "active_hc_timeout", "failed_eds_health":
		return f
	}
	return f
}

func breaker(c *investigate.EnvoyCluster, prio string) int {
	for i, b := range c.Breakers {
		if b.Priority == prio {
			return i
		}
	}
	c.Breakers = append(c.Breakers, investigate.CircuitBreaker{Priority: prio, RemainingCx: -1, RemainingPending: -1, RemainingRq: -1, RemainingRetries: -1})
	return len(c.Breakers) - 1
}

// statsText reads plain /stats: "name: value" lines (histograms are skipped).
func (b *builder) statsText(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue // a histogram's summary line
		}
		b.stats[strings.TrimSpace(name)] = v
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no \"name: value\" lines: not /stats, /clusters or /config_dump output")
	}
	return nil
}

// statsJSON reads /stats?format=json: {"stats": [{"name", "value"}, ..., {"histograms": ...}]}.
func (b *builder) statsJSON(data []byte) error {
	m, err := decode(data)
	if err != nil {
		return err
	}
	for _, s := range arr(m["stats"]) {
		sm := obj(s)
		if name := str(sm["name"]); name != "" {
			b.stats[name] = num(sm["value"])
		}
	}
	return nil
}

// statsPrometheus reads /stats/prometheus: envoy_cluster_<stat>{envoy_cluster_name="..."}.
func (b *builder) statsPrometheus(data []byte) error {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("prometheus text: %v", err)
	}
	for name, fam := range fams {
		stat, ok := strings.CutPrefix(name, "envoy_cluster_")
		if !ok {
			continue
		}
		stat = strings.Replace(stat, "circuit_breakers_default_", "circuit_breakers.default.", 1)
		stat = strings.Replace(stat, "circuit_breakers_high_", "circuit_breakers.high.", 1)
		stat = strings.Replace(stat, "outlier_detection_", "outlier_detection.", 1)
		for _, m := range fam.GetMetric() {
			var cluster string
			for _, l := range m.GetLabel() {
				if l.GetName() == "envoy_cluster_name" {
					cluster = l.GetValue()
				}
			}
			if cluster == "" {
				continue
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
			b.stats["cluster."+cluster+"."+stat] += v
		}
	}
	return nil
}

// statRoots start the per-cluster part of a stat name (cluster.<name>.<stat>): a cluster name may hold
// dots, so the known stat roots mark where it ends when the cluster is not known by name.
var statRoots = []string{".upstream_", ".circuit_breakers.", ".outlier_detection.", ".membership_", ".lb_",
	".update_", ".assignment_", ".max_host_weight", ".version", ".bind_errors", ".retry_or_shadow_abandoned",
	".ssl.", ".http1.", ".http2.", ".internal.", ".external.", ".zone.", ".canary.", ".original_dst_",
	".health_check.", ".init_fetch_timeout", ".default.total_match_count", ".upstream_cx_", ".upstream_rq_"}

// applyStats files cluster.<name>.<stat> values under their clusters, and reads the breakers' open and
// remaining gauges.
func (b *builder) applyStats() {
	names := make([]string, 0, len(b.clusters))
	for n := range b.clusters {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	keys := make([]string, 0, len(b.stats))
	for k := range b.stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, "cluster.")
		if !ok {
			continue
		}
		name, stat := "", ""
		for _, n := range names {
			if strings.HasPrefix(rest, n+".") {
				name, stat = n, rest[len(n)+1:]
				break
			}
		}
		if name == "" {
			cut := -1
			for _, r := range statRoots {
				if i := strings.Index(rest, r); i > 0 && (cut < 0 || i < cut) {
					cut = i
				}
			}
			if cut < 0 {
				continue
			}
			name, stat = rest[:cut], rest[cut+1:]
		}
		c := b.cluster(name)
		v := b.stats[k]
		c.Stats[stat] = v
		for _, prio := range []string{"default", "high"} {
			g, ok := strings.CutPrefix(stat, "circuit_breakers."+prio+".")
			if !ok {
				continue
			}
			i := breaker(c, strings.ToUpper(prio))
			br := &c.Breakers[i]
			switch g {
			case "remaining_cx":
				br.RemainingCx = int64(v)
			case "remaining_pending":
				br.RemainingPending = int64(v)
			case "remaining_rq":
				br.RemainingRq = int64(v)
			case "remaining_retries":
				br.RemainingRetries = int64(v)
			case "cx_open", "rq_pending_open", "rq_open", "rq_retry_open":
				if v > 0 {
					br.Open = append(br.Open, strings.TrimSuffix(g, "_open"))
				}
			}
		}
	}
}
