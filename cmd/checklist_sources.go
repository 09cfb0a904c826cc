package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/bundle"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/postgres"
	"github.com/dbgtool/dbg/sources/prometheus"
)

// The adapters below fit each backend's client to the small interfaces the checklist consumes.

type jaegerTraces struct{ c *jaeger.Client }

func (j jaegerTraces) SearchTraces(ctx context.Context, q checklist.TraceQuery) ([]*investigate.Trace, error) {
	return j.c.Search(ctx, jaeger.Query{Service: q.Service, Start: q.Start, End: q.End, MinDuration: q.MinDuration, Errors: q.Errors, Limit: q.Limit})
}

type promMetrics struct {
	s        *prometheus.Source
	override *prometheus.Convention
}

func (p promMetrics) Hotspots(ctx context.Context, service string, w investigate.Window) (investigate.HotspotInput, []string, error) {
	in, reqs, err := p.s.Hotspots(ctx, prometheus.HotspotQuery{Window: w, Service: service, Override: p.override})
	if err != nil {
		return in, nil, err
	}
	return in, explainLines(reqs), nil
}

type storeLogs struct{ src LogSource }

func (l storeLogs) Logs(ctx context.Context, q investigate.LogQuery) ([]investigate.LogRecord, []string, error) {
	var out []investigate.LogRecord
	warns, err := l.src.Logs(ctx, q, func(r investigate.LogRecord) error {
		out = append(out, r)
		return nil
	})
	queries := []string{fmt.Sprintf("logs service=%q start=%s end=%s limit=%d", q.Service, q.Start.UTC().Format("2006-01-02T15:04:05Z"), q.End.UTC().Format("2006-01-02T15:04:05Z"), q.Limit)}
	for _, w := range warns {
		queries = append(queries, "warning: "+w)
	}
	return out, queries, err
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

// bundleSources replays a bundle: the same interfaces, answered from the files.
type bundleSources struct{ b *bundle.Contents }

func (s bundleSources) SearchTraces(_ context.Context, q checklist.TraceQuery) ([]*investigate.Trace, error) {
	return s.b.SearchTraces(q.Service, q.Start, q.End, q.Errors, q.Limit), nil
}

func (s bundleSources) Hotspots(_ context.Context, service string, _ investigate.Window) (investigate.HotspotInput, []string, error) {
	in, ok := s.b.Hotspots(service)
	if !ok {
		return in, nil, fmt.Errorf("the bundle holds no metrics for %s", service)
	}
	return in, []string{"(replayed from the bundle)"}, nil
}

func (s bundleSources) Logs(_ context.Context, q investigate.LogQuery) ([]investigate.LogRecord, []string, error) {
	return s.b.QueryLogs(q), nil, nil
}

func (s bundleSources) ProfileFindings(context.Context) ([]investigate.Finding, []string, error) {
	return s.b.ProfileFindings, nil, nil
}

// buildChecklistSources builds the sources from a bundle (--from) or from the configured backends. A
// backend whose configuration is wrong is reported in warnings and left out; the checklist then says
// which steps were skipped.
func buildChecklistSources(s *Settings, f *Factory, from string) (checklist.Sources, *bundle.Contents, []string, error) {
	var src checklist.Sources
	if from != "" {
		b, err := bundle.Open(from)
		if err != nil {
			return src, nil, nil, err
		}
		bs := bundleSources{b}
		name := "bundle " + from
		if b.HasTraces {
			src.Traces, src.TracesName = bs, name
		}
		if b.HasMetrics {
			src.Metrics, src.MetricsName = bs, name
		}
		if b.HasLogs {
			src.Logs, src.LogsName = bs, name
		}
		if b.HasProfiles {
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
			src.Traces, src.TracesName = jaegerTraces{c}, "Jaeger at "+c.URL()
		}
	}
	if ep := s.Endpoint("prometheus"); strings.TrimSpace(ep.URL) != "" {
		override, err := prometheus.ParseOverride(s.Sub("prometheus-convention"))
		if err != nil {
			return src, nil, nil, &UsageError{Err: err}
		}
		if p, err := prometheus.New(ep); err != nil {
			warns = append(warns, err.Error())
		} else {
			src.Metrics, src.MetricsName = promMetrics{p, override}, "Prometheus at "+httpx.Redact(ep.URL)
		}
	}
	if s.IsSet("loki-url") || s.IsSet("elasticsearch-url") || s.IsSet("victorialogs-url") {
		if l, name, err := buildLogSource(s, f, ""); err != nil {
			warns = append(warns, err.Error())
		} else {
			src.Logs, src.LogsName = storeLogs{l}, name
		}
	}
	return src, nil, warns, nil
}
