package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// TraceSearch is the result of `dbg trace --service S`: the traces found, slowest first, and with
// --analyze the findings aggregated across them. Its JSON form is public.
type TraceSearch struct {
	Service     string                     `json:"service"`
	Operation   string                     `json:"operation,omitempty"`
	Start       time.Time                  `json:"start"`
	End         time.Time                  `json:"end"`
	MinDuration string                     `json:"min_duration,omitempty"`
	Tags        map[string]string          `json:"tags,omitempty"`
	ErrorsOnly  bool                       `json:"errors_only,omitempty"`
	Limit       int                        `json:"limit"`
	Traces      []investigate.TraceSummary `json:"traces"`
	// Aggregate is set with --analyze.
	Aggregate *investigate.Aggregate `json:"aggregate,omitempty"`
	Warnings  []string               `json:"warnings"`
}

// TraceSearchResult writes a search result in the given format.
func TraceSearchResult(w io.Writer, r *TraceSearch, f Format, o Options) error {
	if r.Traces == nil {
		r.Traces = []investigate.TraceSummary{}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if f == FormatJSON {
		return JSON(w, r)
	}
	p := newPrinter(w, f == FormatMarkdown, o)
	st, md := p.style(), p.markdown()
	what := Clean(r.Service)
	if r.Operation != "" {
		what += " " + Clean(r.Operation)
	}
	span := r.Start.UTC().Format(time.RFC3339) + " – " + r.End.UTC().Format(time.RFC3339)
	if md {
		fmt.Fprintf(w, "# Traces of %s\n\n- window: %s\n- traces: %d (limit %d)\n", mdCode(what), span, len(r.Traces), r.Limit)
	} else {
		fmt.Fprintf(w, "%s %s  %s  %d traces (limit %d)\n", st.bold("traces of"), what, span, len(r.Traces), r.Limit)
	}
	for _, warn := range r.Warnings {
		p.warning(warn)
	}
	if len(r.Traces) == 0 {
		_, err := fmt.Fprintln(w, "\nNo traces found; widen --since, or check --service, --operation and --tag.")
		return err
	}
	if a := r.Aggregate; a != nil {
		errs := ""
		if a.ErrorCount > 0 {
			errs = fmt.Sprintf(", %d with errors", a.ErrorCount)
		}
		line := fmt.Sprintf("p50 %s, p99 %s%s", millis(a.P50Ms), millis(a.P99Ms), errs)
		if md {
			fmt.Fprintf(w, "- latency: %s\n", line)
		} else {
			fmt.Fprintln(w, line)
		}
		p.section("Findings across traces")
		if err := findingsTable(p, a.Findings); err != nil {
			return err
		}
		evidence(p, a.Findings)
		p.section("Critical path time by operation")
		rows := make([][]string, 0, len(a.PathCosts))
		for _, c := range a.PathCosts {
			rows = append(rows, []string{p.cell(c.Service, 0), p.cell(c.Operation, 50), msCell(c.SelfMs), fmt.Sprintf("%.0f%%", c.Share*100),
				fmt.Sprintf("%d/%d", c.Traces, a.TraceCount), msCell(c.MaxMs)})
		}
		if err := p.table([]string{"SERVICE", "OPERATION", "SELF MS", "SHARE", "TRACES", "MAX MS"}, rows); err != nil {
			return err
		}
	}
	p.section("Traces, slowest first")
	showLink := o.JaegerUI != "" && !md
	header := []string{"START", "DURATION", "SPANS", "ERR", "SERVICES", "WORST FINDING", "TRACE"}
	if showLink {
		header = append(header, "LINK")
	}
	rows := make([][]string, 0, len(r.Traces))
	for _, t := range r.Traces {
		worst := "-"
		if t.Worst != nil {
			worst = string(t.Worst.Severity) + " " + t.Worst.Title
		}
		errMark := ""
		if t.Error {
			errMark = st.red("!")
			if md {
				errMark = "yes"
			}
		}
		row := []string{t.Start.UTC().Format("2006-01-02 15:04:05"), millis(t.DurationMs), fmt.Sprint(t.SpanCount), errMark,
			p.cell(strings.Join(t.Services, ","), 40), p.cell(worst, 70), p.link(p.cell(t.TraceID, 0), Clean(t.Link))}
		if showLink {
			row = append(row, st.cyan(Clean(t.Link)))
		}
		rows = append(rows, row)
	}
	return p.table(header, rows)
}
