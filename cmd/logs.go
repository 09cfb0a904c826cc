package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
)

func init() { register(newCmdLogs) }

// LogSource is what dbg reads logs through (Loki, Elasticsearch/OpenSearch, VictoriaLogs, a file): the
// checklist's interface, the one every command uses.
type LogSource = checklist.LogSource

// LogsOptions is everything `dbg logs` needs, resolved from flags and config.
type LogsOptions struct {
	IO     *IOStreams
	Source LogSource
	// SourceName names the source in messages ("VictoriaLogs at http://...", "app.log").
	SourceName string
	Query      investigate.LogQuery
	// Explain prints the compiled backend query instead of running it.
	Explain bool
	// Window is the investigated window and its baseline, for --patterns.
	Window   investigate.Window
	Patterns bool
	Mine     investigate.MineOptions
	Format   render.Format
	Render   render.Options
	// AnchorFile, for --patterns over a file without --since/--until: the window ends at the file's last
	// record rather than now.
	AnchorFile bool
	SinceDur   time.Duration
}

func newCmdLogs(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "logs [QUERY]",
		Short: "Log lines of a request across services, or the error patterns that are new since the incident",
		Long: `Read logs from Loki (--loki-url), Elasticsearch/OpenSearch (--elasticsearch-url), VictoriaLogs
(--victorialogs-url) or a file (--file, "-" for stdin: JSON lines, logfmt, plain text, kubectl logs).

QUERY is the field:value syntax of Kibana and Grafana, compiled to LogQL, the query DSL or LogsQL
(--explain prints it): field:value, field:"a phrase", field:>1000, duration:>1s, field:*partial*,
words and "phrases" of the message, AND, OR, NOT (and -term), parentheses, _exists_:field. It is
joined by AND with the flags. See docs/logs.md.

With --trace or --correlation-id: every line of that request, from every service, in time order.
With --service: that service's lines in the window, filtered by --level and --grep.
With --patterns: the service's messages mined into templates (numbers, IDs, UUIDs and IPs masked) and
compared with the baseline window, new and surging templates first.`,
		Example: `  dbg logs 'correlation_id:"abc-123" AND level:error' --loki-url http://loki:3100
  dbg logs 'duration:>1000 AND path:"/api/orders"' --file app.log
  dbg logs 'error_type:"DatabaseError" AND service:"payment"' --explain
  dbg logs --trace 4bf92f3577b34da6a3ce929d0e0e4736 --victorialogs-url http://vlogs:9428
  dbg logs --patterns --service payment --since 30m --baseline 1d
  kubectl logs deploy/payment --timestamps | dbg logs --file - --level error`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts, err := logsOptions(s, f, strings.Join(args, " "))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return logsRun(ctx, opts)
		},
	}
	fl := c.Flags()
	fl.String("trace", "", "trace ID: every line of that request across services")
	fl.String("correlation-id", "", "correlation or request ID (X-Correlation-ID, X-Request-ID)")
	fl.String("level", "", "only lines of this level (error, warn, info, ...; case-insensitive)")
	fl.String("grep", "", "only lines whose message contains this text")
	fl.Int("limit", 1000, "at most this many lines (0: no limit)")
	fl.String("file", "", `read a log file instead of a store ("-" for stdin)`)
	fl.String("format", "auto", "line format of --file: auto, json, logfmt, plain")
	fl.String("line-regex", "", "regex for plain-text lines, with named groups (time, level, service, msg, trace_id, span_id, ...)")
	fl.Bool("patterns", false, "mine message templates and compare the window with the baseline")
	fl.Bool("explain", false, "print the query compiled for the log source (LogQL, query DSL, LogsQL) instead of running it")
	return c
}

// logsOptions resolves flags, config and the positional query (text, already joined) into options.
func logsOptions(s *Settings, f *Factory, text string) (*LogsOptions, error) {
	o := &LogsOptions{IO: f.IO, Explain: s.Bool("explain"),
		Mine: investigate.MineOptions{Drain: investigate.DefaultDrainConfig(), Patterns: investigate.DefaultPatternOptions()}}
	var err error
	if o.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatJSONL, render.FormatMarkdown); err != nil {
		return nil, err
	}
	o.Render = s.RenderOptions(f)
	o.Patterns = s.Bool("patterns")
	q := investigate.LogQuery{
		Service: s.String("service"), TraceID: strings.TrimSpace(s.String("trace")),
		CorrelationID: strings.TrimSpace(s.String("correlation-id")), Level: s.String("level"), Grep: s.String("grep"),
		Limit: s.Int("limit"),
	}
	if q.Expr, err = investigate.ParseLogQuery(text); err != nil {
		return nil, usageErrorf("dbg logs: query %s: %v", render.Truncate(render.Clean(strconvQuote(text)), 120), err)
	}
	if q.Limit < 0 {
		return nil, usageErrorf("--limit %d: want 0 (no limit) or more", q.Limit)
	}
	file := s.String("file")
	if !o.Patterns && q.Filter() == nil && file == "" {
		return nil, usageErrorf("dbg logs: give a QUERY, --trace ID, --correlation-id ID or --service NAME (or --file PATH)")
	}
	if o.Patterns && q.Service == "" && q.Expr == nil && file == "" {
		return nil, usageErrorf("dbg logs --patterns: give --service NAME or a QUERY (or --file PATH)")
	}
	explicitWindow := s.IsSet("since") || s.IsSet("until")
	if o.Window, err = s.Window(f.Now()); err != nil {
		return nil, err
	}
	if file == "" || explicitWindow {
		q.Start, q.End = o.Window.Start, o.Window.End
	}
	if o.Patterns {
		o.Mine.MaxLines = 200000
		if s.IsSet("pattern-max-lines") {
			o.Mine.MaxLines = s.Int("pattern-max-lines")
		}
		if d, err := investigate.ParseDuration(s.String("since")); err == nil {
			o.SinceDur = d
		}
		o.Mine.OnePass = file != ""
		o.AnchorFile = file != "" && !explicitWindow
		if o.AnchorFile && !o.Explain && !isRegularFile(file) {
			return nil, usageErrorf("dbg logs --patterns --file %s: stdin or a pipe is read once; give --until (and --since) so the window is known", file)
		}
	}
	o.Query = q
	o.Source, o.SourceName, err = buildLogSource(s, f, file)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// strconvQuote quotes the query for an error message the way the user would type it.
func strconvQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// logsExplain prints the request the source would be sent, without running it.
func logsExplain(ctx context.Context, o *LogsOptions) error {
	req, err := o.Source.Explain(ctx, o.Query)
	if err != nil {
		return err
	}
	if o.Format == render.FormatJSON || o.Format == render.FormatJSONL {
		view := map[string]any{"backend": req.Backend, "method": req.Method, "url": req.URL, "query": req.Query, "params": req.Params}
		if json.Valid([]byte(req.Query)) {
			view["query"] = json.RawMessage(req.Query) // a _search body stays an object
		}
		return render.JSON(o.IO.Out, map[string]any{"queries": []any{view}})
	}
	_, err = fmt.Fprintln(o.IO.Out, render.CleanMultiline(req.String()))
	return err
}

// errLogLimit ends a source's stream once --limit records are out.
var errLogLimit = errors.New("log limit reached")

func logsRun(ctx context.Context, o *LogsOptions) error {
	if o.Explain {
		return logsExplain(ctx, o)
	}
	if o.Patterns {
		return logPatternsRun(ctx, o)
	}
	// Buffered: a million records are a million small writes otherwise. Flushed at the end and on error.
	bw := bufio.NewWriterSize(o.IO.Out, 64<<10)
	defer bw.Flush()
	out := bw
	var write func(r *investigate.LogRecord) error
	var jsonDoc *render.LogsJSON
	switch o.Format {
	case render.FormatJSON:
		jsonDoc = render.NewLogsJSON(out)
		write = jsonDoc.Record
	case render.FormatJSONL:
		write = func(r *investigate.LogRecord) error { return render.JSONLine(out, r) }
	case render.FormatMarkdown:
		if err := render.LogMarkdownHeader(out); err != nil {
			return err
		}
		write = func(r *investigate.LogRecord) error { return render.LogMarkdownRow(out, r) }
	default:
		write = func(r *investigate.LogRecord) error { return render.LogLine(out, r, o.Render) }
	}
	n := 0
	limited := false
	warnings, err := o.Source.Logs(ctx, o.Query, func(r investigate.LogRecord) error {
		if o.Query.Limit > 0 && n >= o.Query.Limit {
			limited = true
			return errLogLimit
		}
		n++
		return write(&r)
	})
	if errors.Is(err, errLogLimit) {
		err = nil
	}
	if err != nil {
		return err
	}
	if o.Query.Limit > 0 && n >= o.Query.Limit {
		limited = true
	}
	for _, w := range warnings {
		fmt.Fprintln(o.IO.ErrOut, "dbg: warning: "+render.Clean(w))
	}
	if limited {
		fmt.Fprintf(o.IO.ErrOut, "dbg: stopped at --limit %d lines; narrow the query or raise --limit (0: no limit)\n", o.Query.Limit)
	}
	if jsonDoc != nil {
		if err := jsonDoc.Close(nil); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if n == 0 && o.Format == render.FormatTable {
		fmt.Fprintf(o.IO.ErrOut, "dbg: no log lines matched in %s%s\n", o.SourceName, windowNote(o.Query))
	}
	return nil
}

func windowNote(q investigate.LogQuery) string {
	if q.Start.IsZero() {
		return ""
	}
	return fmt.Sprintf(" between %s and %s (widen with --since)", q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
}

// logPatternsRun mines the window and the baseline (investigate.MinePatterns) and prints the templates.
func logPatternsRun(ctx context.Context, o *LogsOptions) error {
	w := o.Window
	if o.AnchorFile {
		last, err := lastLogTime(ctx, o)
		if err != nil {
			return err
		}
		w = investigate.AnchorWindow(w, last, o.SinceDur)
	}
	q := o.Query
	q.Limit = 0
	res, err := investigate.MinePatterns(ctx, o.Source.Logs, q, w, o.Mine)
	if err != nil {
		return err
	}
	rep := &render.PatternsReport{Service: o.Query.Service, Window: res.Window, Lines: res.Lines, BaselineLines: res.BaselineLines,
		Patterns: res.Patterns, Findings: res.Findings, Warnings: res.Warnings}
	switch o.Format {
	case render.FormatJSON:
		doc := render.NewLogsJSON(o.IO.Out)
		return doc.Close(rep.Findings,
			render.KeyValue{Key: "patterns", Value: rep.Patterns},
			render.KeyValue{Key: "window", Value: windowJSON(w)},
			render.KeyValue{Key: "lines", Value: rep.Lines},
			render.KeyValue{Key: "baseline_lines", Value: rep.BaselineLines},
			render.KeyValue{Key: "warnings", Value: nonNil(rep.Warnings)})
	case render.FormatJSONL:
		for i := range rep.Patterns {
			if err := render.JSONLine(o.IO.Out, rep.Patterns[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return render.Patterns(o.IO.Out, rep, o.Format == render.FormatMarkdown, o.Render)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func windowJSON(w investigate.Window) map[string]string {
	f := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	return map[string]string{"start": f(w.Start), "end": f(w.End), "baseline_start": f(w.BaselineStart), "baseline_end": f(w.BaselineEnd)}
}

// isRegularFile: --patterns without a window reads the file twice (first for its last time), which only
// a regular file allows. A missing file is left for the reader to report.
func isRegularFile(path string) bool {
	if path == "-" {
		return false
	}
	st, err := os.Stat(path)
	return err != nil || st.Mode().IsRegular()
}

// lastLogTime reads the file once for its latest record time.
func lastLogTime(ctx context.Context, o *LogsOptions) (time.Time, error) {
	var last time.Time
	q := o.Query
	q.Start, q.End, q.Limit = time.Time{}, time.Time{}, 0
	_, err := o.Source.Logs(ctx, q, func(r investigate.LogRecord) error {
		if r.Time.After(last) {
			last = r.Time
		}
		return nil
	})
	return last, err
}
