package render

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// Mesh writes a mesh report: findings, the edges by response flag, the clusters as istioctl
// proxy-config clusters lists them (with health, breakers and mTLS mode), and the routes as istioctl
// proxy-config routes lists them.
func Mesh(w io.Writer, r investigate.MeshReport, md bool, o Options) error {
	p := newPrinter(w, md, o)
	head := "dbg mesh: " + strings.Join(r.Sources, ", ")
	if md {
		fmt.Fprintf(w, "## %s\n\n", mdText(Clean(head)))
	} else {
		fmt.Fprintln(w, p.style().bold(Clean(head)))
	}
	for _, warn := range r.Warnings {
		p.warning(warn)
	}
	p.section("Findings")
	if err := findingsTable(p, r.Findings); err != nil {
		return err
	}
	evidence(p, r.Findings)
	if len(r.Edges) > 0 {
		p.section("Edges (istio_requests_total / istio_tcp_connections_opened_total by response flag)")
		rows := [][]string{}
		for _, e := range r.Edges {
			flagged := 0.0
			for k, v := range e.Flags {
				if k != "-" && k != "" {
					flagged += v
				}
			}
			share := 0.0
			if e.Total > 0 {
				share = flagged / e.Total
			}
			rows = append(rows, []string{p.cell(e.Source, 0) + " → " + p.cell(e.Destination, 0), e.Protocol, p.cell(e.Reporter, 0),
				fmt.Sprintf("%.0f", e.Total), fmt.Sprintf("%.2f%%", 100*share), p.cell(flagCell(e.Flags), 80)})
		}
		if err := p.table([]string{"EDGE", "PROTO", "REPORTER", "TOTAL", "FLAGGED", "FLAGS"}, rows); err != nil {
			return err
		}
	}
	if len(r.Clusters) > 0 {
		p.section("Clusters (as istioctl proxy-config clusters, with health, circuit breakers and mTLS as tls-check)")
		rows := [][]string{}
		for _, c := range r.Clusters {
			healthy, ejected := 0, 0
			for _, h := range c.Hosts {
				if len(h.Failed) == 0 && (h.Health == "" || strings.EqualFold(h.Health, "healthy")) {
					healthy++
				}
				for _, f := range h.Failed {
					if f == "failed_outlier_check" {
						ejected++
					}
				}
			}
			fqdn := c.FQDN
			if fqdn == "" {
				fqdn = c.Name
			}
			rows = append(rows, []string{p.cell(fqdn, 0), p.cell(c.Port, 0), p.cell(c.Subset, 0), p.cell(c.Direction, 0), p.cell(c.Type, 0),
				p.cell(c.DestinationRule, 0), p.cell(c.TLSMode, 0), fmt.Sprintf("%d/%d", healthy, len(c.Hosts)), fmt.Sprint(ejected), breakerCell(c.Breakers)})
		}
		if err := p.table([]string{"SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE", "MTLS", "HEALTHY", "EJECTED", "BREAKER (pending: max/remaining)"}, rows); err != nil {
			return err
		}
	}
	if len(r.Routes) > 0 {
		p.section("Routes (as istioctl proxy-config routes)")
		rows := [][]string{}
		for _, rt := range r.Routes {
			doms := rt.Domains
			more := ""
			if len(doms) > 2 {
				doms, more = doms[:2], fmt.Sprintf(" + %d more...", len(rt.Domains)-2)
			}
			rows = append(rows, []string{p.cell(rt.Name, 0), p.cell(rt.VirtualHost, 0), p.cell(strings.Join(doms, ", ")+more, 0), p.cell(rt.Match, 0),
				p.cell(rt.VirtualService, 0), p.cell(rt.Cluster, 60), p.cell(rt.Timeout, 0), p.cell(rt.Retries, 40)})
		}
		return p.table([]string{"NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE", "CLUSTER", "TIMEOUT", "RETRIES"}, rows)
	}
	return nil
}

func flagCell(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "-" && k != "" && m[k] > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%.0f", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func breakerCell(bs []investigate.CircuitBreaker) string {
	for _, b := range bs {
		if b.Priority != "DEFAULT" {
			continue
		}
		rem := "?"
		if b.RemainingPending >= 0 {
			rem = fmt.Sprint(b.RemainingPending)
		}
		s := fmt.Sprintf("%d/%s", b.MaxPendingRequests, rem)
		if len(b.Open) > 0 {
			s += " OPEN " + strings.Join(b.Open, ",")
		}
		return s
	}
	return "-"
}
