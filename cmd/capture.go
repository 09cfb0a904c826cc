package cmd

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/bundle"
)

func init() { register(newCmdCapture) }

func newCmdCapture(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "capture --service NAME --out DIR|FILE.tar.gz",
		Short: "Save what the checklist reads (traces, metric results, logs) into a bundle for offline replay",
		Long: `Run the checklist's reads against the live sources and save everything they returned — traces, metric
results, logs, profile findings — with a manifest of the queries, the window and the tool version.
Replay it anywhere with --from: dbg checklist --from BUNDLE gives the same report offline.`,
		Example: `  dbg capture --service payment --since 30m --out incident-4711.tar.gz
  dbg checklist --from incident-4711.tar.gz`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			out := s.String("out")
			if out == "" {
				return usageErrorf("dbg capture: --out DIR or FILE.tar.gz is required")
			}
			if s.String("from") != "" {
				return usageErrorf("dbg capture reads live sources; --from replays a bundle that already exists")
			}
			opts, err := checklistOptions(s, f)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return captureRun(ctx, opts, out)
		},
	}
	c.Flags().String("out", "", "bundle to write: a directory, or a file ending in .tar.gz")
	c.Flags().String("from", "", "not for capture (see dbg checklist --from)")
	c.Flags().String("changes", "", "deploy markers to store with the bundle (JSON [{at, service, what, from, to}])")
	c.Flags().Int("trace-limit", 200, "traces sampled per query")
	_ = c.Flags().MarkHidden("from")
	return c
}

// recorder wraps the live sources and keeps every answer, so the bundle holds exactly what was read.
type recorder struct {
	mu       sync.Mutex
	traces   map[string]*investigate.Trace
	metrics  map[string]investigate.HotspotInput
	logs     []investigate.LogRecord
	logSeen  map[string]bool
	profiles []investigate.Finding
	inner    checklist.Sources
}

func (r *recorder) SearchTraces(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	ts, err := r.inner.Traces.SearchTraces(ctx, q)
	r.mu.Lock()
	for _, t := range ts {
		r.traces[t.ID] = t
	}
	r.mu.Unlock()
	return ts, err
}

func (r *recorder) Hotspots(ctx context.Context, service string, w investigate.Window) (investigate.HotspotInput, []string, error) {
	in, q, err := r.inner.Metrics.Hotspots(ctx, service, w)
	if err == nil {
		r.mu.Lock()
		r.metrics[service] = in
		r.mu.Unlock()
	}
	return in, q, err
}

func (r *recorder) Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	return r.inner.Logs.Logs(ctx, q, func(l investigate.LogRecord) error {
		k := l.Time.String() + "\x00" + l.Service + "\x00" + l.Message + "\x00" + l.SpanID
		r.mu.Lock()
		if !r.logSeen[k] {
			r.logSeen[k] = true
			r.logs = append(r.logs, l)
		}
		r.mu.Unlock()
		return emit(l)
	})
}

func (r *recorder) Explain(ctx context.Context, q investigate.LogQuery) (investigate.LogRequest, error) {
	return r.inner.Logs.Explain(ctx, q)
}

func (r *recorder) Check(ctx context.Context) error { return r.inner.Logs.Check(ctx) }

func (r *recorder) ProfileFindings(ctx context.Context) ([]investigate.Finding, []string, error) {
	fs, q, err := r.inner.Profiles.ProfileFindings(ctx)
	r.mu.Lock()
	r.profiles = append(r.profiles, fs...)
	r.mu.Unlock()
	return fs, q, err
}

func captureRun(ctx context.Context, opts *ChecklistOptions, out string) error {
	inv := opts.Inv
	rec := &recorder{traces: map[string]*investigate.Trace{}, metrics: map[string]investigate.HotspotInput{}, logSeen: map[string]bool{}, inner: inv.Sources}
	wrapped := inv.Sources
	if inv.Sources.Traces != nil {
		wrapped.Traces = rec
	}
	if inv.Sources.Metrics != nil {
		wrapped.Metrics = rec
	}
	if inv.Sources.Logs != nil {
		wrapped.Logs = rec
	}
	if inv.Sources.Profiles != nil {
		wrapped.Profiles = rec
	}
	if wrapped.Traces == nil && wrapped.Metrics == nil && wrapped.Logs == nil && wrapped.Profiles == nil {
		return usageErrorf("dbg capture: no source configured; set --jaeger-url, --prometheus-url and a log store URL")
	}
	inv.Sources = wrapped
	rep := checklist.Run(ctx, inv, nil)
	if rep.NothingRead() {
		// An empty bundle would replay as a healthy system: write nothing.
		return fmt.Errorf("capture: nothing could be read, no bundle written: %s", strings.Join(rep.Unread(), "; "))
	}
	failed := map[string]string{}
	for _, s := range rep.Sources {
		if s.Status == "error" {
			failed[s.Kind] = s.Error
		}
	}
	c := &bundle.Contents{
		HasTraces: wrapped.Traces != nil && failed["traces"] == "", HasMetrics: wrapped.Metrics != nil && len(rec.metrics) > 0 && failed["metrics"] == "",
		HasLogs: wrapped.Logs != nil && failed["logs"] == "", HasProfiles: wrapped.Profiles != nil && failed["profiles"] == "",
		Metrics: rec.metrics, Logs: rec.logs, ProfileFindings: rec.profiles,
	}
	for _, t := range rec.traces {
		c.Traces = append(c.Traces, t)
	}
	sort.Slice(c.Traces, func(i, j int) bool { return c.Traces[i].ID < c.Traces[j].ID })
	investigate.SortLogs(c.Logs)
	w := inv.Window
	c.Manifest = bundle.Manifest{
		ToolVersion: Version, Created: inv.Now().UTC(), Service: inv.Service,
		Window:   bundle.Range{Start: w.Start, End: w.End},
		Baseline: bundle.Range{Start: w.BaselineStart, End: w.BaselineEnd},
		Sources:  map[string]string{}, Queries: []string{},
	}
	if len(failed) > 0 {
		c.Manifest.Failed = failed // replayed as failed, never as "not configured" or empty
	}
	for _, s := range rep.Sources {
		if s.Status != "not_configured" {
			c.Manifest.Sources[s.Kind] = s.Name
		}
	}
	for _, st := range rep.Steps {
		c.Manifest.Queries = append(c.Manifest.Queries, st.Queries...)
	}
	c.Manifest.Queries = investigate.Distinct(c.Manifest.Queries)
	for _, ch := range inv.Sources.Changes {
		c.Manifest.Changes = append(c.Manifest.Changes, bundle.Change(ch))
	}
	if err := bundle.Write(out, c); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s: %d traces, %d metric sets, %d log lines, %d profile findings\n", out, len(c.Traces), len(c.Metrics), len(c.Logs), len(c.ProfileFindings))
	if unread := rep.Unread(); len(unread) > 0 {
		fmt.Fprintln(opts.IO.ErrOut, "dbg: warning: partial capture; "+cleanLine(strings.Join(unread, "; ")))
	}
	return nil
}
