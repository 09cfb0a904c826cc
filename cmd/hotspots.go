package cmd

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/prometheus"
)

func init() { register(newCmdHotspots) }

// hotspotSource is what `dbg hotspots` needs from a metrics backend.
type hotspotSource interface {
	Hotspots(ctx context.Context, q prometheus.HotspotQuery) (investigate.HotspotInput, []prometheus.Request, error)
}

// HotspotsOptions is everything `dbg hotspots` needs, resolved from flags and config.
type HotspotsOptions struct {
	IO       *IOStreams
	Source   hotspotSource
	Query    prometheus.HotspotQuery
	Format   render.Format
	Render   render.Options
	Explain  bool
	Analysis investigate.HotspotOptions
}

func newCmdHotspots(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "hotspots",
		Short: "Rank endpoints by latency, errors and traffic change against a baseline, and saturated resources",
		Long: `Ask Prometheus (or a Prometheus-API backend: Thanos, Mimir, VictoriaMetrics) which endpoints got
slower, which fail, where traffic spiked or vanished, and which resources are near their limit, in the
window (--since/--until) against its baseline (--baseline; by default the window of the same length just
before). Request metrics are discovered by their shape: any duration histogram or summary, and any
request counter, whose labels name a route, a status and a service (the classic, OpenTelemetry, gRPC
and Istio names are exact matches tried first), each service read in the family that holds it.
--explain says which family was used for which service and why; prometheus-convention in the config
adds one more, prometheus-service-label names the label that holds service names.`,
		Example: `  dbg hotspots --prometheus-url http://prometheus:9090
  dbg hotspots --service payment --since 2h --baseline 1d
  dbg hotspots --since 2026-01-02T22:00:00Z --until 2026-01-02T23:00:00Z --explain
  dbg hotspots --output json | jq '.findings[0]'`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts := &HotspotsOptions{IO: f.IO, Explain: s.Bool("explain"), Analysis: hotspotThresholds(s)}
			if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
				return err
			}
			opts.Render = s.RenderOptions(f)
			if opts.Query, err = metricsQuery(s); err != nil {
				return err
			}
			if opts.Query.Window, err = s.Window(f.Now()); err != nil {
				return err
			}
			opts.Query.Service = strings.TrimSpace(s.String("service"))
			ep := s.Endpoint("prometheus")
			if strings.TrimSpace(ep.URL) == "" {
				return usageErrorf("dbg hotspots: no Prometheus configured; set --prometheus-url (or DBG_PROMETHEUS_URL, or prometheus-url in the config file)")
			}
			src, err := prometheus.New(ep)
			if err != nil {
				return err
			}
			opts.Source = src
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return hotspotsRun(ctx, opts)
		},
	}
	c.Flags().Bool("explain", false, "also print every query sent to Prometheus (PromQL, time range, step)")
	return c
}

// metricsQuery reads the discovery settings every Prometheus reader shares: the prometheus-convention
// override (tried before the built-ins, never instead of them) and prometheus-service-label (a label
// that names services, tried before the built-in identity labels).
func metricsQuery(s *Settings) (prometheus.HotspotQuery, error) {
	var q prometheus.HotspotQuery
	var err error
	if q.Override, err = prometheus.ParseOverride(s.Sub("prometheus-convention")); err != nil {
		return q, &UsageError{Err: err}
	}
	q.ServiceLabel = strings.TrimSpace(s.String("prometheus-service-label"))
	return q, nil
}

// hotspotThresholds reads the finding thresholds from config: hotspots-min-latency-ratio (1.5),
// hotspots-min-error-ratio (0.01), hotspots-min-traffic-ratio (2), hotspots-max-rows (15).
func hotspotThresholds(s *Settings) investigate.HotspotOptions {
	o := investigate.DefaultHotspotOptions()
	if s.IsSet("hotspots-min-latency-ratio") {
		o.MinLatencyRatio = s.v.GetFloat64("hotspots-min-latency-ratio")
	}
	if s.IsSet("hotspots-min-error-ratio") {
		o.MinErrorRatio = s.v.GetFloat64("hotspots-min-error-ratio")
	}
	if s.IsSet("hotspots-min-traffic-ratio") {
		o.MinTrafficRatio = s.v.GetFloat64("hotspots-min-traffic-ratio")
	}
	if s.IsSet("hotspots-max-rows") {
		o.MaxRows = s.Int("hotspots-max-rows")
	}
	return o
}

func hotspotsRun(ctx context.Context, opts *HotspotsOptions) error {
	in, reqs, err := opts.Source.Hotspots(ctx, opts.Query)
	if err != nil {
		return err
	}
	rep := investigate.AnalyzeHotspots(in, opts.Analysis)
	if opts.Format == render.FormatJSON {
		out := render.HotspotsView{HotspotReport: rep}
		if opts.Explain && len(reqs) > 0 {
			out.Queries = reqs
		}
		return render.JSON(opts.IO.Out, out)
	}
	var explain []string
	if opts.Explain {
		explain = explainLines(reqs)
	}
	return render.Hotspots(opts.IO.Out, rep, opts.Format, opts.Render, explain)
}

// explainLines prints each request on one line, in a stable order.
func explainLines(reqs []prometheus.Request) []string {
	out := make([]string, 0, len(reqs))
	ts := func(s string) string {
		t, err := investigate.ParseTime(s)
		if err != nil {
			return s
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, r := range reqs {
		p := r.Params
		switch r.API {
		case "query":
			out = append(out, fmt.Sprintf("query at %s: %s", ts(p["time"]), p["query"]))
		case "query_range":
			out = append(out, fmt.Sprintf("query_range %s..%s step %ss: %s", ts(p["start"]), ts(p["end"]), p["step"], p["query"]))
		case "label_values":
			if len(r.Match) == 0 {
				out = append(out, fmt.Sprintf("label values of %s (every series)", r.Label))
			} else {
				out = append(out, fmt.Sprintf("label values of %s for %s", r.Label, strings.Join(r.Match, " or ")))
			}
		case "metadata":
			out = append(out, "metadata (type, unit of every metric, where the server keeps it)")
		case "series":
			out = append(out, fmt.Sprintf("series for %s", strings.Join(r.Match, " or ")))
		default:
			out = append(out, fmt.Sprintf("label names for %s", strings.Join(r.Match, " or ")))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

func rank(line string) int {
	switch {
	case strings.HasPrefix(line, "metadata"):
		return 0
	case strings.HasPrefix(line, "label values of __name__"):
		return 1
	case strings.HasPrefix(line, "label names"):
		return 2
	case strings.HasPrefix(line, "label values"), strings.HasPrefix(line, "series"):
		return 3
	}
	return 4
}
