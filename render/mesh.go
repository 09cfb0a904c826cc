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
	st := style{on: o.Color && !md}
	head := "dbg mesh: " + Clean(strings.Join(r.Sources, ", "))
	if md {
		fmt.Fprintf(w, "## %s\n\n", mdCell(head))
	} else {
		fmt.Fprintln(w, st.bold(head))
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "%s %s\n", st.yellow("warning:"), Clean(warn))
	}
	section(w, md, st, "Findings")
	if err := Findings(w, r.Findings, md, o); err != nil {
		return err
	}
	Evidence(w, r.Findings, md, o)
	if len(r.Edges) > 0 {
		section(w, md, st, "Edges (istio_requests_total / istio_tcp_connections_opened_total by response flag)")
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
			rows = append(rows, []string{Clean(e.Source) + " → " + Clean(e.Destination), e.Protocol, Clean(e.Reporter),
				fmt.Sprintf("%.0f", e.Total), fmt.Sprintf("%.2f%%", 100*share), flagCell(e.Flags)})
		}
		if md {
			mdRows(rows)
		}
		if err := table(w, md, []string{"EDGE", "PROTO", "REPORTER", "TOTAL", "FLAGGED", "FLAGS"}, rows); err != nil {
			return err
		}
	}
	if len(r.Clusters) > 0 {
		section(w, md, st, "Clusters (as istioctl proxy-config clusters, with health, circuit breakers and mTLS as tls-check)")
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
			rows = append(rows, []string{Clean(fqdn), Clean(c.Port), Clean(c.Subset), Clean(c.Direction), Clean(c.Type),
				Clean(c.DestinationRule), Clean(c.TLSMode), fmt.Sprintf("%d/%d", healthy, len(c.Hosts)), fmt.Sprint(ejected), breakerCell(c.Breakers)})
		}
		if md {
			mdRows(rows)
		}
		if err := table(w, md, []string{"SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE", "MTLS", "HEALTHY", "EJECTED", "BREAKER (pending: max/remaining)"}, rows); err != nil {
			return err
		}
	}
	if len(r.Routes) > 0 {
		section(w, md, st, "Routes (as istioctl proxy-config routes)")
		rows := [][]string{}
		for _, rt := range r.Routes {
			doms := rt.Domains
			more := ""
			if len(doms) > 2 {
				doms, more = doms[:2], fmt.Sprintf(" + %d more...", len(rt.Domains)-2)
			}
			rows = append(rows, []string{Clean(rt.Name), Clean(rt.VirtualHost), Clean(strings.Join(doms, ", ") + more), Clean(rt.Match),
				Clean(rt.VirtualService), Truncate(Clean(rt.Cluster), 60), Clean(rt.Timeout), Truncate(Clean(rt.Retries), 40)})
		}
		if md {
			mdRows(rows)
		}
		return table(w, md, []string{"NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE", "CLUSTER", "TIMEOUT", "RETRIES"}, rows)
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
		parts = append(parts, fmt.Sprintf("%s×%.0f", Clean(k), m[k]))
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
