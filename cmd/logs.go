package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/elasticsearch"
	"github.com/dbgtool/dbg/sources/files"
	"github.com/dbgtool/dbg/sources/logline"
	"github.com/dbgtool/dbg/sources/loki"
	"github.com/dbgtool/dbg/sources/victorialogs"
)

func init() { register(newCmdLogs) }

// LogSource is what dbg reads logs through: Loki, Elasticsearch/OpenSearch, VictoriaLogs or a file.
// Logs calls emit for each record matching q, in time order for the stores (a file keeps its own
// order), and returns warnings about partial results. An error from emit ends the call and is returned
// as it is. Check is what `dbg doctor` calls.
type LogSource interface {
	Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) (warnings []string, err error)
	Check(ctx context.Context) error
}

// LogsOptions is everything `dbg logs` needs, resolved from flags and config.
type LogsOptions struct {
	IO     *IOStreams
	Source LogSource
	// SourceName names the source in messages ("VictoriaLogs at http://...", "app.log").
	SourceName string
	Query      investigate.LogQuery
	// Window is the investigated window and its baseline, for --patterns.
	Window   investigate.Window
	Patterns bool
	// PatternLimit caps the lines read per window for --patterns.
	PatternLimit int
	Drain        investigate.DrainConfig
	PatternOpts  investigate.PatternOptions
	Format       render.Format
	Render       render.Options
	// AnchorFile, for --patterns over a file without --since/--until: the window ends at the file's last
	// record rather than now.
	AnchorFile bool
	SinceDur   time.Duration
}

func newCmdLogs(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "logs",
		Short: "Log lines of a request across services, or the error patterns that are new since the incident",
		Long: `Read logs from Loki (--loki-url), Elasticsearch/OpenSearch (--elasticsearch-url), VictoriaLogs
(--victorialogs-url) or a file (--file, "-" for stdin: JSON lines, logfmt, plain text, kubectl logs).

With --trace or --correlation-id: every line of that request, from every service, in time order.
With --service: that service's lines in the window, filtered by --level and --grep.
With --patterns: the service's messages mined into templates (numbers, IDs, UUIDs and IPs masked) and
compared with the baseline window, new and surging templates first.`,
		Example: `  dbg logs --trace 4bf92f3577b34da6a3ce929d0e0e4736 --victorialogs-url http://vlogs:9428
  dbg logs --service payment --level error --since 1h --loki-url http://loki:3100
  dbg logs --patterns --service payment --since 30m --baseline 1d
  kubectl logs deploy/payment --timestamps | dbg logs --file - --level error
  dbg logs --correlation-id 7f0c2 --output jsonl | jq .message`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts, err := logsOptions(cmd, s, f)
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
	return c
}

func logsOptions(cmd *cobra.Command, s *Settings, f *Factory) (*LogsOptions, error) {
	o := &LogsOptions{IO: f.IO, Drain: investigate.DefaultDrainConfig(), PatternOpts: investigate.DefaultPatternOptions()}
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
	if q.Limit < 0 {
		return nil, usageErrorf("--limit %d: want 0 (no limit) or more", q.Limit)
	}
	file := s.String("file")
	if !o.Patterns && q.TraceID == "" && q.CorrelationID == "" && q.Service == "" && file == "" {
		return nil, usageErrorf("dbg logs: give --trace ID, --correlation-id ID or --service NAME (or --file PATH)")
	}
	if o.Patterns && q.Service == "" && file == "" {
		return nil, usageErrorf("dbg logs --patterns: give --service NAME (or --file PATH)")
	}
	explicitWindow := s.IsSet("since") || s.IsSet("until")
	if o.Window, err = s.Window(f.Now()); err != nil {
		return nil, err
	}
	if file == "" || explicitWindow {
		q.Start, q.End = o.Window.Start, o.Window.End
	}
	if o.Patterns {
		o.PatternLimit = 200000
		if s.IsSet("pattern-max-lines") {
			o.PatternLimit = s.Int("pattern-max-lines")
		}
		if d, err := investigate.ParseDuration(s.String("since")); err == nil {
			o.SinceDur = d
		}
		o.AnchorFile = file != "" && !explicitWindow
		if o.AnchorFile && !isRegularFile(file) {
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

// buildLogSource picks the source: --file, else the one configured log store (log-source chooses when
// several are).
func buildLogSource(s *Settings, f *Factory, file string) (LogSource, string, error) {
	names := fieldNamesFromConfig(s.Sub("log-fields"))
	if file != "" {
		lf, err := logline.ParseFormat(s.String("format"))
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		var re *regexp.Regexp
		if expr := s.String("line-regex"); expr != "" {
			if re, err = regexp.Compile(expr); err != nil {
				return nil, "", usageErrorf("--line-regex: %v", err)
			}
			if lf == logline.FormatAuto {
				lf = logline.FormatPlain
			}
		}
		src := &files.LogFile{Path: file, Stdin: f.IO.In, Parser: logline.NewParser(lf, names, re)}
		return src, src.Name(), nil
	}
	configured := []string{}
	for _, k := range []string{"loki", "elasticsearch", "victorialogs"} {
		if s.IsSet(k + "-url") {
			configured = append(configured, k)
		}
	}
	pick := strings.ToLower(s.String("log-source"))
	switch {
	case pick != "":
		if !s.IsSet(pick + "-url") {
			return nil, "", usageErrorf("log-source %q: want loki, elasticsearch or victorialogs, with its URL set (--%s-url)", pick, pick)
		}
	case len(configured) == 1:
		pick = configured[0]
	case len(configured) == 0:
		return nil, "", usageErrorf("dbg logs: no log source; set --loki-url, --elasticsearch-url or --victorialogs-url (or DBG_*_URL, or the config file), or use --file")
	default:
		return nil, "", usageErrorf("dbg logs: several log stores are configured (%s); choose one with log-source in the config or DBG_LOG_SOURCE", strings.Join(configured, ", "))
	}
	ep := s.Endpoint(pick)
	switch pick {
	case "loki":
		cfg := loki.Config{ServiceLabel: s.String("loki-service-label"), LevelLabel: s.String("loki-level-label"),
			TraceLabel: s.String("loki-trace-label"), PageSize: s.Int("loki-page-size"), Names: names}
		c, err := loki.New(ep, cfg)
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		return c, "Loki", nil
	case "elasticsearch":
		m := s.v.GetStringMapString("elasticsearch-fields")
		cfg := elasticsearch.Config{Index: s.String("elasticsearch-index"), PageSize: s.Int("elasticsearch-page-size"),
			NoPIT: s.IsSet("elasticsearch-pit") && !s.Bool("elasticsearch-pit"),
			Fields: elasticsearch.Fields{Time: m["time"], Service: m["service"], Level: m["level"], Message: m["message"],
				TraceID: m["trace_id"], SpanID: m["span_id"]}}
		if v := m["correlation_id"]; v != "" {
			cfg.Fields.CorrelationID = strings.Split(v, ",")
		}
		c, err := elasticsearch.New(ep, cfg)
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		return c, "Elasticsearch", nil
	default:
		cfg := victorialogs.Config{Fields: victorialogs.DefaultFields(), Names: names}
		m := s.v.GetStringMapString("victorialogs-fields")
		pre := func(key string, list []string) []string {
			if v := m[key]; v != "" {
				return append(strings.Split(v, ","), list...)
			}
			return list
		}
		cfg.Fields.Service = pre("service", cfg.Fields.Service)
		cfg.Fields.Level = pre("level", cfg.Fields.Level)
		cfg.Fields.TraceID = pre("trace_id", cfg.Fields.TraceID)
		cfg.Fields.SpanID = pre("span_id", cfg.Fields.SpanID)
		cfg.Fields.CorrelationID = pre("correlation_id", cfg.Fields.CorrelationID)
		c, err := victorialogs.New(ep, cfg)
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		return c, "VictoriaLogs", nil
	}
}

// fieldNamesFromConfig reads the log-fields map (time, service, level, message, trace_id, span_id,
// correlation_id → a field name, or several separated by commas) for parsing records.
func fieldNamesFromConfig(m map[string]any) investigate.FieldNames {
	get := func(k string) []string {
		v, ok := m[k]
		if !ok {
			return nil
		}
		str := strings.TrimSpace(fmt.Sprint(v))
		if str == "" {
			return nil
		}
		return strings.Split(str, ",")
	}
	return investigate.FieldNames{Time: get("time"), Service: get("service"), Level: get("level"), Message: get("message"),
		TraceID: get("trace_id"), SpanID: get("span_id"), CorrelationID: get("correlation_id")}
}

// errLogLimit ends a source's stream once --limit records are out.
var errLogLimit = errors.New("log limit reached")

func logsRun(ctx context.Context, o *LogsOptions) error {
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

// logPatternsRun mines the window and the baseline into one miner and ranks the templates.
func logPatternsRun(ctx context.Context, o *LogsOptions) error {
	w := o.Window
	if o.AnchorFile {
		last, err := lastLogTime(ctx, o)
		if err != nil {
			return err
		}
		shift := w.End.Sub(w.BaselineEnd)
		d := o.SinceDur
		if d <= 0 {
			d = w.Length()
		}
		if !last.IsZero() {
			w.End = last.Add(time.Nanosecond)
			w.Start = w.End.Add(-d)
			w.BaselineEnd, w.BaselineStart = w.End.Add(-shift), w.Start.Add(-shift)
		}
	}
	untimed := 0
	m := investigate.NewMiner(o.Drain)
	rep := &render.PatternsReport{Service: o.Query.Service, Window: w}
	q := o.Query
	q.Limit = 0
	capHit := false
	mine := func(from, to time.Time, baseline bool, count *int) error {
		qq := q
		qq.Start, qq.End = from, to
		qq.Limit = o.PatternLimit
		warns, err := o.Source.Logs(ctx, qq, func(r investigate.LogRecord) error {
			if o.PatternLimit > 0 && *count >= o.PatternLimit {
				capHit = true
				return errLogLimit
			}
			*count++
			m.AddRecord(&r, baseline)
			return nil
		})
		rep.Warnings = append(rep.Warnings, warns...)
		if o.PatternLimit > 0 && *count >= o.PatternLimit {
			capHit = true // the store stopped at the limit itself
		}
		if errors.Is(err, errLogLimit) {
			return nil
		}
		return err
	}
	if _, isFile := o.Source.(*files.LogFile); isFile {
		// One pass over the file: each record goes to the window or the baseline by its time.
		qq := q
		qq.Start, qq.End = time.Time{}, time.Time{}
		warns, err := o.Source.Logs(ctx, qq, func(r investigate.LogRecord) error {
			switch {
			case r.Time.IsZero():
				// A line without a time cannot be placed; it counts in the window (there is no baseline for it).
				untimed++
				rep.Lines++
				m.AddRecord(&r, false)
			case inRange(r.Time, w.Start, w.End):
				rep.Lines++
				m.AddRecord(&r, false)
			case inRange(r.Time, w.BaselineStart, w.BaselineEnd):
				rep.BaselineLines++
				m.AddRecord(&r, true)
			}
			return nil
		})
		rep.Warnings = append(rep.Warnings, warns...)
		if err != nil {
			return err
		}
	} else {
		if err := mine(w.BaselineStart, w.BaselineEnd, true, &rep.BaselineLines); err != nil {
			return err
		}
		if err := mine(w.Start, w.End, false, &rep.Lines); err != nil {
			return err
		}
	}
	if untimed > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d lines had no timestamp and were counted in the window; the baseline holds only timestamped lines", untimed))
	}
	if capHit {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("read at most %d lines per window (pattern-max-lines); counts are of those lines", o.PatternLimit))
	}
	if m.Evicted > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d lines belonged to rare templates dropped to keep memory bounded (%d templates kept)", m.Evicted, m.Len()))
	}
	rep.Warnings = append(rep.Warnings, investigate.PatternWarnings(m, w)...)
	rep.Patterns = investigate.ComparePatterns(m, w, o.PatternOpts)
	rep.Findings = investigate.PatternFindings(rep.Patterns)
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

func inRange(t, from, to time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }

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
