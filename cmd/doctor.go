package cmd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/pprof"
	"github.com/dbgtool/dbg/sources/prometheus"
)

func init() { register(newCmdDoctor) }

func newCmdDoctor(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check every configured source: reachable, authenticated, answering",
		Long: `Check every configured source — Jaeger, Prometheus, the log store, the pprof target — and say what to
fix. Exit code 1 when a configured source fails.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			format, err := s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			checks := doctorRun(ctx, s, f)
			if err := render.Doctor(f.IO.Out, &render.DoctorReport{Checks: checks, ConfigFile: s.File, Context: s.Context}, format); err != nil {
				return err
			}
			var bad []string
			for _, c := range checks {
				if c.Status == "error" {
					bad = append(bad, c.Source)
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("doctor: %s failed; see the details above", strings.Join(bad, ", "))
			}
			return nil
		},
	}
}

type checker interface {
	Check(ctx context.Context) error
}

func doctorRun(ctx context.Context, s *Settings, f *Factory) []render.DoctorCheck {
	type item struct {
		name string
		url  string
		make func() (checker, error)
	}
	items := []item{
		{"Jaeger", s.String("jaeger-url"), func() (checker, error) { return jaeger.New(s.Endpoint("jaeger")) }},
		{"Prometheus", s.String("prometheus-url"), func() (checker, error) { return prometheus.New(s.Endpoint("prometheus")) }},
	}
	// Log stores are built one by one before the checks run: each needs log-source set to itself.
	prev := s.String("log-source")
	for _, k := range []string{"loki", "elasticsearch", "victorialogs"} {
		if !s.IsSet(k + "-url") {
			items = append(items, item{k, "", nil})
			continue
		}
		s.v.Set("log-source", k)
		src, _, err := buildLogSource(s, f, "")
		items = append(items, item{k, s.String(k + "-url"), func() (checker, error) { return src, err }})
	}
	s.v.Set("log-source", prev)
	items = append(items, item{"pprof target", s.String("target"), func() (checker, error) { return pprof.New(s.Endpoint("target"), s.String("path-prefix")) }})
	out := make([]render.DoctorCheck, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		out[i] = render.DoctorCheck{Source: it.name, URL: httpx.Redact(it.url), Status: "not_configured", Detail: "not set (flag, DBG_* environment or config file)"}
		if strings.TrimSpace(it.url) == "" {
			continue
		}
		wg.Add(1)
		go func(i int, it item) {
			defer wg.Done()
			start := time.Now()
			c, err := it.make()
			if err == nil {
				err = c.Check(ctx)
			}
			out[i].Took = time.Since(start).Round(time.Millisecond).String()
			if err != nil {
				out[i].Status, out[i].Detail = "error", err.Error()
				return
			}
			out[i].Status, out[i].Detail = "ok", "reachable and answering"
			if p, ok := c.(*prometheus.Source); ok {
				out[i].Metrics, out[i].Detail = doctorMetrics(ctx, s, f, p)
			}
		}(i, it)
	}
	wg.Wait()
	return out
}

// doctorMetrics lists what discovery finds over the window and baseline `dbg hotspots` would read
// (--since, --until, --baseline, --service): one line per metric family.
func doctorMetrics(ctx context.Context, s *Settings, f *Factory, p *prometheus.Source) ([]string, string) {
	q, err := metricsQuery(s)
	if err != nil {
		return nil, "reachable and answering; " + err.Error()
	}
	if q.Window, err = s.Window(f.Now()); err != nil {
		return nil, "reachable and answering; " + err.Error()
	}
	q.Service = strings.TrimSpace(s.String("service"))
	span := fmt.Sprintf("%s → %s", q.Window.BaselineStart.UTC().Format(time.RFC3339), q.Window.End.UTC().Format(time.RFC3339))
	uses, err := p.Conventions(ctx, q)
	switch {
	case err != nil:
		return nil, "reachable and answering; metric discovery failed: " + err.Error()
	case len(uses) == 0:
		return []string{}, "reachable and answering; no request metrics in " + span + " (no duration histogram, summary or request counter with a route or service label)"
	}
	return render.ConventionLines(uses), fmt.Sprintf("reachable and answering; request metrics in %s (the hotspots window and baseline):", span)
}
