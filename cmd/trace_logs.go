package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
)

// TraceLogsOptions says where `dbg trace --logs` reads the trace's log lines.
type TraceLogsOptions struct {
	Source     LogSource
	SourceName string
	// Margin widens the trace's time range on both sides: lines are often written just after a span
	// ends, and hosts' clocks differ.
	Margin time.Duration
	// Limit caps the lines read per trace.
	Limit int
}

// addTraceLogsFlags registers --logs and --logs-file on `dbg trace`.
func addTraceLogsFlags(c *cobra.Command) {
	c.Flags().Bool("logs", false, "also show the trace's log lines under the spans that wrote them (from the configured log store)")
	c.Flags().String("logs-file", "", `read the trace's log lines from a file ("-" for stdin) instead of a log store; implies --logs`)
}

// traceLogsOptions resolves --logs; nil when it was not asked for.
func traceLogsOptions(s *Settings, f *Factory) (*TraceLogsOptions, error) {
	file := s.String("logs-file")
	if !s.Bool("logs") && file == "" {
		return nil, nil
	}
	if file == "-" && s.String("file") == "-" {
		return nil, usageErrorf("dbg trace: --file - and --logs-file - cannot both read stdin")
	}
	src, name, err := buildLogSource(s, f, file)
	if err != nil {
		return nil, err
	}
	o := &TraceLogsOptions{Source: src, SourceName: name, Margin: time.Minute, Limit: 10000}
	if d, err := s.Duration("trace-logs-margin"); err == nil && d > 0 {
		o.Margin = d
	}
	return o, nil
}

// writeTraceReportsWithLogs fetches each trace's log lines, attaches them to its spans and writes the
// reports with the logs after them (or under "logs" in JSON).
func writeTraceReportsWithLogs(ctx context.Context, opts *TraceOptions, reps []*investigate.TraceReport) error {
	lo := opts.Logs
	atts := make([]investigate.AttachedLogs, len(reps))
	warns := make([][]string, len(reps))
	for i, rep := range reps {
		recs, w, err := fetchTraceLogs(ctx, lo, rep)
		if err != nil {
			return err
		}
		warns[i] = w
		if rep.Tree != nil {
			atts[i] = investigate.AttachLogs(rep.Tree, recs)
		} else {
			atts[i] = investigate.AttachedLogs{Unattached: recs}
		}
	}
	w := opts.IO.Out
	if opts.Format == render.FormatJSON {
		out := make([]render.TraceWithLogsView, len(reps))
		for i, rep := range reps {
			out[i] = render.NewTraceWithLogsView(rep, atts[i], warns[i])
		}
		if len(out) == 1 {
			return render.JSON(w, out[0])
		}
		return render.JSON(w, out)
	}
	md := opts.Format == render.FormatMarkdown
	for i, rep := range reps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := render.Trace(w, rep, opts.Format, opts.Render); err != nil {
			return err
		}
		for _, warn := range warns[i] {
			fmt.Fprintln(opts.IO.ErrOut, "dbg: warning: "+render.Clean(warn))
		}
		if err := render.TraceLogs(w, rep, atts[i], md, opts.Render); err != nil {
			return err
		}
	}
	return nil
}

// fetchTraceLogs reads the lines carrying the trace's ID within its time range (widened by the margin).
func fetchTraceLogs(ctx context.Context, lo *TraceLogsOptions, rep *investigate.TraceReport) ([]investigate.LogRecord, []string, error) {
	q := investigate.LogQuery{TraceID: rep.TraceID, Limit: lo.Limit}
	if !rep.Start.IsZero() {
		end := rep.Start.Add(time.Duration(rep.DurationMs * float64(time.Millisecond)))
		q.Start, q.End = rep.Start.Add(-lo.Margin), end.Add(lo.Margin)
	}
	var recs []investigate.LogRecord
	warns, err := lo.Source.Logs(ctx, q, func(r investigate.LogRecord) error {
		if len(recs) >= lo.Limit {
			return errLogLimit
		}
		recs = append(recs, r)
		return nil
	})
	if errors.Is(err, errLogLimit) {
		warns = append(warns, fmt.Sprintf("read the first %d log lines of trace %s only", lo.Limit, rep.TraceID))
		err = nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("logs of trace %s from %s: %w", rep.TraceID, lo.SourceName, err)
	}
	return recs, warns, nil
}
