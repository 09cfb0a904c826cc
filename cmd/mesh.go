package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/envoy"
	"github.com/dbgtool/dbg/sources/prometheus"
)

func init() { register(newCmdMesh) }

// MeshOptions is everything `dbg mesh` needs.
type MeshOptions struct {
	IO     *IOStreams
	Format render.Format
	Render render.Options
	// Admin reads a sidecar's admin API (live or saved files); nil when --envoy-admin is not given.
	Admin func(ctx context.Context) (*envoy.Dump, error)
	// Metrics reads Istio's metrics from Prometheus; nil without --prometheus-url.
	Metrics func(ctx context.Context) (envoy.MeshMetrics, error)
	FailOn  investigate.Severity
}

func newCmdMesh(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "mesh",
		Short: "Service-mesh signals: Envoy response flags per edge, circuit breakers, outlier ejections, routes, clusters and mTLS",
		Long: `Read what the mesh knows about the edges between services and explain it.

From Prometheus (--prometheus-url, over --since/--until): Istio's istio_requests_total and
istio_tcp_connections_opened_total by response_flags, each flag explained (UO: rejected by the circuit
breaker, UF: upstream connection failure, UH: no healthy upstream, NR: no route, URX: retries exhausted,
UT: upstream timeout, DC: the caller disconnected, ...), and Envoy's cluster stats where the mesh exports
them (envoy_cluster_upstream_cx_*, envoy_cluster_outlier_detection_ejections_*, circuit breakers).

From a sidecar's admin API (--envoy-admin http://127.0.0.1:15000 after kubectl port-forward POD 15000, or
files saved from it: curl :15000/clusters, /stats, /config_dump; several files comma-separated, or a
directory): per upstream cluster its hosts' health and outlier ejections, the circuit-breaker thresholds
and remaining capacity, clusters as "istioctl proxy-config clusters" lists them with the mTLS mode each
uses (as "istioctl authn tls-check" showed), and routes as "istioctl proxy-config routes" lists them.`,
		Example: `  kubectl port-forward deploy/payment 15000 & dbg mesh --envoy-admin http://127.0.0.1:15000
  dbg mesh --envoy-admin clusters.json,stats.txt,config_dump.json
  dbg mesh --prometheus-url http://prometheus:9090 --since 30m --service payment`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts, err := meshOptionsFrom(f, s)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return meshRun(ctx, opts)
		},
	}
	c.Flags().String("envoy-admin", "", "an Envoy admin URL (http://127.0.0.1:15000), or files/directories saved from it, comma-separated")
	c.Flags().String("fail-on", "", "exit 3 when a finding at or above this severity is found (critical, high, medium, low)")
	return c
}

// envoyAdmin turns --envoy-admin into a reader: a URL is read live through httpx, anything else as
// saved files.
func envoyAdmin(s *Settings, value string) (func(ctx context.Context) (*envoy.Dump, error), error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	if strings.HasPrefix(value, "http://") || strings.HasPrefix(value, "https://") {
		ep := s.Endpoint("envoy-admin")
		ep.Name, ep.Flag, ep.URL = "Envoy admin", "--envoy-admin", value
		a, err := envoy.NewAdmin(ep)
		if err != nil {
			return nil, usageErrorf("--envoy-admin: %v", err)
		}
		return a.Fetch, nil
	}
	var files []string
	for _, p := range strings.Split(value, ",") {
		if p = strings.TrimSpace(p); p != "" {
			files = append(files, p)
		}
	}
	return func(context.Context) (*envoy.Dump, error) { return envoy.ReadFiles(files) }, nil
}

func meshOptionsFrom(f *Factory, s *Settings) (*MeshOptions, error) {
	o := &MeshOptions{IO: f.IO}
	var err error
	if o.Admin, err = envoyAdmin(s, s.String("envoy-admin")); err != nil {
		return nil, err
	}
	if ep := s.Endpoint("prometheus"); strings.TrimSpace(ep.URL) != "" {
		w, err := s.Window(f.Now())
		if err != nil {
			return nil, err
		}
		p, err := prometheus.New(ep)
		if err != nil {
			return nil, usageErrorf("--prometheus-url: %v", err)
		}
		service := s.String("service")
		o.Metrics = func(ctx context.Context) (envoy.MeshMetrics, error) { return envoy.ReadMeshMetrics(ctx, p, w, service) }
	}
	if o.Admin == nil && o.Metrics == nil {
		return nil, usageErrorf("dbg mesh: give --envoy-admin (a sidecar's admin URL or saved files) and/or --prometheus-url")
	}
	if v := s.String("fail-on"); v != "" {
		sev, ok := investigate.ParseSeverity(v)
		if !ok || sev == investigate.SeverityInfo {
			return nil, usageErrorf("--fail-on %q: want critical, high, medium or low", v)
		}
		o.FailOn = sev
	}
	if o.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
		return nil, err
	}
	o.Render = s.RenderOptions(f)
	return o, nil
}

// meshReport gathers what is configured; one failing source is a warning when the other answered.
func meshReport(ctx context.Context, o *MeshOptions) (investigate.MeshReport, error) {
	var rep investigate.MeshReport
	var errs []string
	if o.Metrics != nil {
		mm, err := o.Metrics(ctx)
		if err != nil {
			errs = append(errs, "Prometheus: "+err.Error())
		} else {
			rep.Sources = append(rep.Sources, "prometheus")
		}
		rep.Edges, rep.Queries = mm.Edges, mm.Queries
		rep.Clusters = append(rep.Clusters, mm.Clusters...)
		rep.Warnings = append(rep.Warnings, mm.Warnings...)
	}
	if o.Admin != nil {
		d, err := o.Admin(ctx)
		if err != nil {
			errs = append(errs, "Envoy admin: "+err.Error())
		} else {
			rep.Sources = append(rep.Sources, d.Sources...)
			rep.Clusters = append(rep.Clusters, d.Clusters...)
			rep.Routes = d.Routes
			rep.Warnings = append(rep.Warnings, d.Warnings...)
		}
	}
	if len(rep.Sources) == 0 {
		return rep, fmt.Errorf("dbg mesh: %s", strings.Join(errs, "; "))
	}
	rep.Warnings = append(rep.Warnings, errs...)
	rep.Findings = investigate.MeshFindings(rep.Edges, rep.Clusters, investigate.MeshOptions{})
	rep.Normalize()
	return rep, nil
}

func meshRun(ctx context.Context, o *MeshOptions) error {
	rep, err := meshReport(ctx, o)
	if err != nil {
		return err
	}
	if o.Format == render.FormatJSON {
		err = render.JSON(o.IO.Out, rep)
	} else {
		err = render.Mesh(o.IO.Out, rep, o.Format == render.FormatMarkdown, o.Render)
	}
	if err != nil {
		return err
	}
	return failOn(o.FailOn, rep.Findings)
}

// failOn returns the --fail-on threshold error for the first finding at or above sev.
func failOn(sev investigate.Severity, fs []investigate.Finding) error {
	if sev == "" {
		return nil
	}
	for _, f := range fs {
		if f.Severity.Rank() <= sev.Rank() {
			return &ThresholdError{Msg: fmt.Sprintf("--fail-on %s: %s", sev, render.Clean(f.Title))}
		}
	}
	return nil
}

// networkEvidence is the checklist's network source (step 6): Istio's metrics from Prometheus whenever
// Prometheus is configured, a sidecar's admin API with --envoy-admin, a capture with --pcap.
type networkEvidence struct {
	metrics envoy.Querier
	admin   func(ctx context.Context) (*envoy.Dump, error)
	pcap    string
	names   []string
}

// networkSource builds it from the settings; nil when none of the three is configured.
func networkSource(s *Settings) (checklist.NetworkSource, string, error) {
	n := networkEvidence{pcap: s.String("pcap")}
	if ep := s.Endpoint("prometheus"); strings.TrimSpace(ep.URL) != "" {
		if p, err := prometheus.New(ep); err == nil {
			n.metrics = p
			n.names = append(n.names, "Istio metrics in Prometheus")
		}
	}
	admin, err := envoyAdmin(s, s.String("envoy-admin"))
	if err != nil {
		return nil, "", err
	}
	if n.admin = admin; admin != nil {
		n.names = append(n.names, "Envoy admin")
	}
	if n.pcap != "" {
		n.names = append(n.names, "capture "+n.pcap)
	}
	if len(n.names) == 0 {
		return nil, "", nil
	}
	return n, strings.Join(n.names, ", "), nil
}

func (n networkEvidence) NetworkFindings(ctx context.Context, service string, w investigate.Window) ([]investigate.Finding, []string, error) {
	var fs []investigate.Finding
	var queries, errs []string
	if n.metrics != nil {
		mm, err := envoy.ReadMeshMetrics(ctx, n.metrics, w, service)
		queries = append(queries, mm.Queries...)
		if err != nil {
			errs = append(errs, "mesh metrics: "+err.Error())
		}
		fs = append(fs, investigate.MeshFindings(mm.Edges, mm.Clusters, investigate.MeshOptions{})...)
	}
	if n.admin != nil {
		if d, err := n.admin(ctx); err != nil {
			errs = append(errs, "Envoy admin: "+err.Error())
		} else {
			fs = append(fs, investigate.MeshFindings(nil, d.Clusters, investigate.MeshOptions{})...)
		}
	}
	if n.pcap != "" {
		queries = append(queries, "dbg net --file "+n.pcap)
		if rep, err := analyzeCapture(ctx, n.pcap); err != nil {
			errs = append(errs, err.Error())
		} else {
			fs = append(fs, rep.Findings...)
		}
	}
	if len(errs) > 0 {
		return fs, queries, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return fs, queries, nil
}
