package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/files"
)

func init() { register(newCmdTrace) }

// TraceOptions is everything `dbg trace` needs, resolved from flags and config.
type TraceOptions struct {
	IO       *IOStreams
	File     string // a trace export; "-" for stdin
	IDs      []string
	Format   render.Format
	Render   render.Options
	Analysis investigate.TraceOptions
	// Fetch loads traces by ID from a live backend; nil when none is configured.
	Fetch func(ctx context.Context, ids []string) ([]*investigate.Trace, error)
	// Search, set by --service without trace IDs, lists (and with --analyze aggregates) matching traces
	// found through Find.
	Search *TraceSearchOptions
	Find   func(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error)
	// Logs, set by --logs or --logs-file, attaches the trace's log lines to its spans (trace_logs.go).
	Logs *TraceLogsOptions
}

func newCmdTrace(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "trace [TRACE_ID...]",
		Short: "Analyse a trace: critical path, slow spans, N+1 calls, error origin",
		Long: `Analyse one trace: the waterfall with its critical path, the spans that cost the request the most
time on it, repeated calls (N+1 and fan-out), where errors start, and per-operation statistics.

Read a Jaeger JSON export or OTLP JSON file with --file (format detected from content, "-" for stdin),
or fetch traces by ID from Jaeger (--jaeger-url http(s)://host:16686 or grpc(s)://host:16685); several
IDs are fetched concurrently.

With --service and no trace ID, search Jaeger and list the matching traces slowest first; --analyze
analyses every trace found and aggregates the findings across them.`,
		Example: `  dbg trace --file testdata/traces/checkout.json
  dbg trace --file trace.json --output json | jq '.findings[0]'
  dbg trace 4bf92f3577b34da6a3ce929d0e0e4736 --jaeger-url http://jaeger:16686
  dbg trace --service checkout --since 1h --min-duration 500ms --errors
  dbg trace --service checkout --operation "POST /orders" --limit 200 --analyze`,
		Args:              argsUsage(cobra.ArbitraryArgs),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts := &TraceOptions{IO: f.IO, File: s.String("file"), IDs: args}
			if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
				return err
			}
			opts.Render = s.RenderOptions(f)
			if opts.Logs, err = traceLogsOptions(s, f); err != nil {
				return err
			}
			if opts.Analysis, err = traceAnalysisOptions(s); err != nil {
				return err
			}
			if opts.File == "" && len(args) == 0 {
				if opts.Search, err = traceSearchOptions(cmd, s, f.Now()); err != nil {
					return err
				}
				if opts.Search == nil {
					return usageErrorf("dbg trace: give a trace ID (with --jaeger-url), --service to search, or --file PATH")
				}
			}
			if opts.File == "" && s.String("jaeger-url") != "" {
				client, err := newJaegerClient(s)
				if err != nil {
					return err
				}
				defer client.Close()
				opts.Fetch, opts.Find = client.Traces, client.Search
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			if opts.Search != nil {
				return traceSearchRun(ctx, opts)
			}
			return traceRun(ctx, opts)
		},
	}
	c.Flags().String("file", "", `read traces from a Jaeger JSON export or OTLP JSON file ("-" for stdin)`)
	addTraceSearchFlags(c)
	addTraceLogsFlags(c)
	registerServiceCompletion(c, f)
	return c
}

// traceAnalysisOptions reads the analysis thresholds from config: n-plus-one-min-count,
// n-plus-one-min-total, slow-span-min-share, trace-detectors.
func traceAnalysisOptions(s *Settings) (investigate.TraceOptions, error) {
	o := investigate.DefaultTraceOptions()
	if s.IsSet("n-plus-one-min-count") {
		o.NPlusOneMinCount = s.Int("n-plus-one-min-count")
	}
	if d, err := s.Duration("n-plus-one-min-total"); err != nil {
		return o, err
	} else if d > 0 {
		o.NPlusOneMinTotal = d
	}
	if s.IsSet("slow-span-min-share") {
		o.SlowSpanMinShare = s.v.GetFloat64("slow-span-min-share")
	}
	// trace-detectors: {consecutive_http.min_span: 300ms, ...} retunes the span detectors (docs/trace.md).
	var set func(prefix string, v any) error
	set = func(prefix string, v any) error {
		if m, ok := v.(map[string]any); ok {
			for k, sub := range m {
				if err := set(strings.TrimPrefix(prefix+"."+k, "."), sub); err != nil {
					return err
				}
			}
			return nil
		}
		return o.Detectors.Set(prefix, fmt.Sprint(v))
	}
	if v := s.v.Get("trace-detectors"); v != nil {
		if err := set("", v); err != nil {
			return o, usageErrorf("config trace-detectors: %v", err)
		}
	}
	return o, nil
}

func traceRun(ctx context.Context, opts *TraceOptions) error {
	var traces []*investigate.Trace
	var err error
	switch {
	case opts.File != "":
		traces, err = readTraceFile(opts.IO.In, opts.File)
		if err != nil {
			return err
		}
		if len(opts.IDs) > 0 {
			if traces, err = selectTraces(traces, opts.IDs, opts.File); err != nil {
				return err
			}
		}
	case opts.Fetch != nil:
		if traces, err = opts.Fetch(ctx, opts.IDs); err != nil {
			return err
		}
	default:
		return usageErrorf("dbg trace %s: no trace source; set --jaeger-url (or DBG_JAEGER_URL) or use --file", strings.Join(opts.IDs, " "))
	}
	reports := investigate.AnalyzeTraces(traces, opts.Analysis)
	for _, rep := range reports {
		investigate.LinkFindings(rep.Findings, opts.Render.JaegerUI, rep.TraceID)
	}
	if opts.Logs != nil {
		return writeTraceReportsWithLogs(ctx, opts, reports)
	}
	return writeTraceReports(opts.IO.Out, reports, opts.Format, opts.Render)
}

func readTraceFile(stdin io.Reader, path string) ([]*investigate.Trace, error) {
	if path == "-" {
		ts, err := files.ReadTraces(stdin)
		if err != nil {
			return nil, fmt.Errorf("trace from stdin: %w", err)
		}
		return ts, nil
	}
	return files.ReadTraceFile(path)
}

func selectTraces(all []*investigate.Trace, ids []string, from string) ([]*investigate.Trace, error) {
	byID := map[string]*investigate.Trace{}
	for _, t := range all {
		byID[investigate.CanonicalTraceID(t.ID)] = t
	}
	out := make([]*investigate.Trace, 0, len(ids))
	for _, id := range ids {
		t, ok := byID[investigate.CanonicalTraceID(id)]
		if !ok {
			return nil, fmt.Errorf("trace %s not found in %s", id, from)
		}
		out = append(out, t)
	}
	return out, nil
}

// writeTraceReports writes one report as the contract's object; several as a JSON array, or one after
// another for people.
func writeTraceReports(w io.Writer, reps []*investigate.TraceReport, f render.Format, o render.Options) error {
	if f == render.FormatJSON && len(reps) != 1 {
		return render.JSON(w, reps)
	}
	for i, r := range reps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := render.Trace(w, r, f, o); err != nil {
			return err
		}
	}
	return nil
}
