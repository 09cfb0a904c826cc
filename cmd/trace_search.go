package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/jaeger"
)

// TraceSearchOptions are the search flags of `dbg trace --service S`.
type TraceSearchOptions struct {
	Query investigate.TraceQuery
	// Analyze runs the full analysis over every trace found and aggregates the findings.
	Analyze bool
}

// Default result sizes: a list a person scans, and enough traces for an aggregate to mean something.
const (
	defaultSearchLimit  = 20
	defaultAnalyzeLimit = 100
)

func addTraceSearchFlags(c *cobra.Command) {
	fl := c.Flags()
	fl.String("operation", "", "with --service: only traces with a span of this operation")
	fl.String("min-duration", "", "with --service: only traces with a span at least this long (500ms, 2s)")
	fl.String("max-duration", "", "with --service: only traces whose spans are at most this long")
	fl.StringArray("tag", nil, "with --service: only traces with a span tag or attribute key=value (repeatable)")
	fl.Bool("errors", false, "with --service: only traces with an error span")
	fl.Int("limit", defaultSearchLimit, fmt.Sprintf("with --service: how many traces to ask Jaeger for (%d with --analyze unless set)", defaultAnalyzeLimit))
	fl.Bool("analyze", false, "with --service: analyse every trace found and aggregate the findings across them")
	fl.Int("concurrency", jaeger.DefaultConcurrency, "how many traces to fetch from Jaeger at once")
}

// traceSearchOptions reads the search flags; nil when no --service asks for a search.
func traceSearchOptions(cmd *cobra.Command, s *Settings, now time.Time) (*TraceSearchOptions, error) {
	service := strings.TrimSpace(s.String("service"))
	if service == "" {
		for _, name := range []string{"operation", "min-duration", "max-duration", "tag", "errors", "analyze"} {
			if cmd.Flags().Changed(name) {
				return nil, usageErrorf("dbg trace: --%s searches Jaeger and needs --service", name)
			}
		}
		return nil, nil
	}
	w, err := s.Window(now)
	if err != nil {
		return nil, err
	}
	o := &TraceSearchOptions{Analyze: s.Bool("analyze")}
	q := &o.Query
	q.Service, q.Operation, q.Start, q.End, q.Errors = service, s.String("operation"), w.Start, w.End, s.Bool("errors")
	if q.MinDuration, err = s.Duration("min-duration"); err != nil {
		return nil, err
	}
	if q.MaxDuration, err = s.Duration("max-duration"); err != nil {
		return nil, err
	}
	tags, err := cmd.Flags().GetStringArray("tag")
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErrorf("--tag %q: want key=value", t)
		}
		if q.Tags == nil {
			q.Tags = map[string]string{}
		}
		q.Tags[strings.TrimSpace(k)] = v
	}
	q.Limit = s.Int("limit")
	if o.Analyze && !cmd.Flags().Changed("limit") {
		q.Limit = defaultAnalyzeLimit
	}
	if q.Limit <= 0 {
		return nil, usageErrorf("--limit %d: want a positive number", q.Limit)
	}
	return o, nil
}

// newJaegerClient builds the Jaeger client from jaeger-url and its auth keys.
func newJaegerClient(s *Settings) (*jaeger.Client, error) {
	c, err := jaeger.New(s.Endpoint("jaeger"))
	if err != nil {
		return nil, err
	}
	c.Concurrency = s.Int("concurrency")
	return c, nil
}

// traceSearchRun searches, analyses each trace found, and writes the list (and the aggregate).
func traceSearchRun(ctx context.Context, opts *TraceOptions) error {
	so := opts.Search
	if opts.Find == nil {
		return usageErrorf("dbg trace --service %s: searching needs Jaeger; set --jaeger-url (or DBG_JAEGER_URL)", so.Query.Service)
	}
	traces, err := opts.Find(ctx, so.Query)
	if err != nil {
		return err
	}
	q := so.Query
	res := &render.TraceSearch{
		Service: q.Service, Operation: q.Operation, Start: q.Start.UTC(), End: q.End.UTC(), Tags: q.Tags,
		ErrorsOnly: q.Errors, Limit: q.Limit, Traces: make([]investigate.TraceSummary, 0, len(traces)),
		Warnings: []string{},
	}
	if q.MinDuration > 0 {
		res.MinDuration = q.MinDuration.String()
	}
	var reps []*investigate.TraceReport
	if so.Analyze {
		reps = make([]*investigate.TraceReport, 0, len(traces))
	}
	ui := opts.Render.JaegerUI
	for _, rep := range investigate.AnalyzeTraces(traces, opts.Analysis) {
		investigate.LinkFindings(rep.Findings, ui, rep.TraceID)
		sum := investigate.Summarize(rep)
		sum.Link = investigate.TraceLink(ui, rep.TraceID, "")
		res.Traces = append(res.Traces, sum)
		if so.Analyze {
			rep.Tree, rep.OnPath, rep.SelfTime = nil, nil, nil // the waterfall is not drawn for a search
			reps = append(reps, rep)
		}
	}
	investigate.SortSlowestFirst(res.Traces)
	if len(traces) >= q.Limit {
		res.Warnings = append(res.Warnings, fmt.Sprintf("Jaeger returned the limit of %d traces; there may be more (raise --limit or narrow --since)", q.Limit))
	}
	if so.Analyze {
		res.Aggregate = investigate.AggregateReports(reps, investigate.AggregateOptions{})
		investigate.LinkFindings(res.Aggregate.Findings, ui, "")
	}
	return render.TraceSearchResult(opts.IO.Out, res, opts.Format, opts.Render)
}
