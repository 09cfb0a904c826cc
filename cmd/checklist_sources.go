package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/bundle"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/postgres"
	"github.com/dbgtool/dbg/sources/pprof"
	"github.com/dbgtool/dbg/sources/prometheus"
	"github.com/dbgtool/dbg/sources/safeio"
)

// The adapters below fit each backend's client to the small interfaces the checklist consumes.

// jaegerTraces searches through a memo made for the run, so no Jaeger answer is downloaded twice.
type jaegerTraces struct{ m *jaeger.Memo }

func (j jaegerTraces) SearchTraces(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	return j.m.Search(ctx, q)
}

type promMetrics struct {
	s    *prometheus.Source
	base prometheus.HotspotQuery // the config's discovery settings (metricsQuery)
}

func (p promMetrics) Hotspots(ctx context.Context, service string, w investigate.Window) (investigate.HotspotInput, []string, error) {
	q := p.base
	q.Window, q.Service = w, service
	in, reqs, err := p.s.Hotspots(ctx, q)
	if err != nil {
		return in, nil, err
	}
	return in, explainLines(reqs), nil
}

// pgDatabase explains the checklist's slow statements on PostgreSQL (plain EXPLAIN only).
type pgDatabase struct{ cfg postgres.Config }

func (p pgDatabase) ExplainQueries(ctx context.Context, qs []investigate.QueryStat, n int) (*investigate.ExplainReport, error) {
	c, err := postgres.Connect(ctx, p.cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	return postgres.ExplainTop(ctx, c, qs, n, false), nil
}

// pprofFindings samples a pprof target's heap and goroutine profiles over time and returns the leak
// findings (pprof.LeakFindings: the sampler `dbg profile --samples` uses), for the resource step.
type pprofFindings struct {
	src      *pprof.Source
	service  string
	samples  int
	interval time.Duration
	now      func() time.Time
}

func (p pprofFindings) ProfileFindings(ctx context.Context) ([]investigate.Finding, []string, error) {
	return pprof.LeakFindings(ctx, p.src, p.service, p.samples, p.interval, p.now)
}

// bundleSources replays a bundle: the same interfaces, answered from the files.
type bundleSources struct{ b *bundle.Contents }

// captureFailed is the error a replay gives for a part the capture could not read.
func (s bundleSources) captureFailed(part string) error {
	if why := s.b.Failure(part); why != "" {
		return fmt.Errorf("not in the bundle: the capture could not read %s: %s", part, why)
	}
	return nil
}

func (s bundleSources) SearchTraces(_ context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	if err := s.captureFailed("traces"); err != nil {
		return nil, err
	}
	if len(q.Tags) > 0 {
		return nil, nil // a bundle holds no probe traces
	}
	return s.b.SearchTraces(q.Service, q.Start, q.End, q.Errors, q.Limit), nil
}

func (s bundleSources) Hotspots(_ context.Context, service string, _ investigate.Window) (investigate.HotspotInput, []string, error) {
	if err := s.captureFailed("metrics"); err != nil {
		return investigate.HotspotInput{}, nil, err
	}
	in, ok := s.b.Hotspots(service)
	if !ok {
		return in, nil, fmt.Errorf("the bundle holds no metrics for %s", service)
	}
	return in, []string{"(replayed from the bundle)"}, nil
}

func (s bundleSources) Logs(_ context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	if err := s.captureFailed("logs"); err != nil {
		return nil, err
	}
	for _, r := range s.b.QueryLogs(q) {
		if err := emit(r); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Explain has no backend query to show: a bundle is replayed, not queried.
func (bundleSources) Explain(context.Context, investigate.LogQuery) (investigate.LogRequest, error) {
	return investigate.LogRequest{}, errors.New("a bundle is replayed, not queried")
}

// Check: a bundle that opened is readable.
func (bundleSources) Check(context.Context) error { return nil }

func (s bundleSources) ProfileFindings(context.Context) ([]investigate.Finding, []string, error) {
	if err := s.captureFailed("profiles"); err != nil {
		return nil, nil, err
	}
	return s.b.ProfileFindings, nil, nil
}

// buildChecklistSources builds the sources from a bundle (--from) or from the configured backends. A
// backend whose configuration is wrong is reported in warnings and left out; the checklist then says
// which steps were skipped.
func buildChecklistSources(s *Settings, f *Factory, from, service string) (checklist.Sources, *bundle.Contents, []string, error) {
	var src checklist.Sources
	if from != "" {
		var budget *safeio.Budget
		if s != nil {
			budget = s.Budget()
		}
		b, err := bundle.OpenBudget(from, budget)
		if err != nil {
			return src, nil, nil, err
		}
		bs := bundleSources{b}
		name := "bundle " + from
		// A part the capture could not read is replayed as a failed source, not a missing one.
		if b.HasTraces || b.Failure("traces") != "" {
			src.Traces, src.TracesName = bs, name
		}
		if b.HasMetrics || b.Failure("metrics") != "" {
			src.Metrics, src.MetricsName = bs, name
		}
		if b.HasLogs || b.Failure("logs") != "" {
			src.Logs, src.LogsName = bs, name
		}
		if b.HasProfiles || b.Failure("profiles") != "" {
			src.Profiles, src.ProfileName = bs, name
		}
		if s != nil && s.String("dsn") != "" { // plans come from a live database even when replaying
			src.Database, src.DBName = pgDatabase{postgres.Config{DSN: s.String("dsn")}}, "PostgreSQL"
		}
		for _, c := range b.Manifest.Changes {
			src.Changes = append(src.Changes, checklist.Change(c))
		}
		return src, b, nil, nil
	}
	var warns []string
	if dsn := s.String("dsn"); dsn != "" {
		src.Database, src.DBName = pgDatabase{postgres.Config{DSN: dsn}}, "PostgreSQL"
	}
	if ep := s.Endpoint("jaeger"); strings.TrimSpace(ep.URL) != "" {
		if c, err := jaeger.New(ep); err != nil {
			warns = append(warns, err.Error())
		} else {
			src.Traces, src.TracesName = jaegerTraces{jaeger.NewMemo(c)}, "Jaeger at "+c.URL()
		}
	}
	if ep := s.Endpoint("prometheus"); strings.TrimSpace(ep.URL) != "" {
		base, err := metricsQuery(s)
		if err != nil {
			return src, nil, nil, err
		}
		if p, err := prometheus.New(ep); err != nil {
			warns = append(warns, err.Error())
		} else {
			src.Metrics, src.MetricsName = promMetrics{p, base}, "Prometheus at "+httpx.Redact(ep.URL)
		}
	}
	if n, name, err := networkSource(s); err != nil {
		return src, nil, nil, err
	} else if n != nil {
		src.Network, src.NetworkName = n, name
	}
	if ep := s.Endpoint("target"); strings.TrimSpace(ep.URL) != "" {
		if p, err := pprof.New(ep, s.String("path-prefix")); err != nil {
			warns = append(warns, err.Error())
		} else {
			samples, interval := 3, 5*time.Second
			if n := s.Int("profile-samples"); n >= 3 {
				samples = n
			}
			if d, err := s.Duration("profile-interval"); err == nil && d > 0 {
				interval = d
			}
			src.Profiles, src.ProfileName = pprofFindings{p, service, samples, interval, f.Now}, "pprof at "+p.BaseURL()
		}
	}
	if s.IsSet("loki-url") || s.IsSet("elasticsearch-url") || s.IsSet("victorialogs-url") {
		if l, name, err := buildLogSource(s, f, ""); err != nil {
			warns = append(warns, err.Error())
		} else {
			src.Logs, src.LogsName = l, name
		}
	}
	return src, nil, warns, nil
}
