package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// Trace writes a `dbg trace` report in the given format.
func Trace(w io.Writer, rep *investigate.TraceReport, f Format, o Options) error {
	switch f {
	case FormatJSON:
		return JSON(w, rep)
	case FormatMarkdown:
		return traceText(w, rep, true, o)
	default:
		return traceText(w, rep, false, o)
	}
}

// TraceLink is investigate.TraceLink, the one builder of Jaeger UI links, for the printers.
func TraceLink(ui, traceID, spanID string) string { return investigate.TraceLink(ui, traceID, spanID) }

func traceText(w io.Writer, rep *investigate.TraceReport, md bool, o Options) error {
	p := newPrinter(w, md, o)
	st := p.style()
	services := make([]string, len(rep.Services))
	for i, s := range rep.Services {
		services[i] = Clean(s)
	}
	dur := millis(rep.DurationMs)
	link := TraceLink(o.JaegerUI, rep.TraceID, "")
	if md {
		fmt.Fprintf(w, "# Trace %s\n\n", p.code(rep.TraceID))
		fmt.Fprintf(w, "- duration: %s\n- spans: %d\n- services: %s\n- start: %s\n", dur, rep.SpanCount, strings.Join(services, ", "), rep.Start.Format(time.RFC3339Nano))
		if link != "" {
			fmt.Fprintf(w, "- Jaeger: %s\n", link)
		}
	} else {
		fmt.Fprintf(w, "%s %s  %s  %d spans  %d services (%s)\n", st.bold("trace"), Clean(rep.TraceID), st.bold(dur), rep.SpanCount, len(services), strings.Join(services, ", "))
		if link != "" {
			fmt.Fprintf(w, "%s\n", st.cyan(link))
		}
	}
	for _, warn := range rep.Warnings {
		p.warning(warn)
	}
	p.section("Findings")
	if err := findingsTable(p, rep.Findings); err != nil {
		return err
	}
	evidence(p, rep.Findings)
	p.section("Waterfall")
	p.pre(func() { Waterfall(w, rep, Options{Color: st.on, Width: o.Width, MaxRows: o.MaxRows}) })
	p.section("Critical path")
	rows := make([][]string, 0, len(rep.CriticalPath))
	for _, c := range rep.CriticalPath {
		span := p.link(p.cell(c.SpanID, 0), Clean(TraceLink(o.JaegerUI, rep.TraceID, c.SpanID))) // a deep link per span on the path
		rows = append(rows, []string{Clean(c.Service), p.cell(c.Operation, 0), msCell(c.SelfMs), msCell(c.DurationMs), span})
	}
	if err := p.table([]string{"SERVICE", "OPERATION", "SELF MS", "DURATION MS", "SPAN"}, rows); err != nil {
		return err
	}
	p.section("Statistics")
	rows = rows[:0]
	for i, s := range rep.Stats {
		if i == 30 && !md {
			rows = append(rows, []string{fmt.Sprintf("… %d more", len(rep.Stats)-30), "", "", "", "", "", "", ""})
			break
		}
		rows = append(rows, []string{Clean(s.Service), p.cell(s.Operation, 0), fmt.Sprint(s.Count), msCell(s.TotalMs),
			msCell(s.SelfTotalMs), msCell(s.AvgMs), msCell(s.MaxMs), fmt.Sprint(s.Errors)})
	}
	return p.table([]string{"SERVICE", "OPERATION", "COUNT", "TOTAL MS", "SELF MS", "AVG MS", "MAX MS", "ERRORS"}, rows)
}

// Waterfall draws the span tree: indentation for depth, a bar placed on the trace's timeline, '*' on the
// critical path, '!' on errors. Runs of more than four similar leaf siblings collapse into one line with
// their count and total, so an N+1 of 500 queries reads as what it is.
func Waterfall(w io.Writer, rep *investigate.TraceReport, o Options) {
	t := rep.Tree
	if t == nil || t.Root() < 0 {
		fmt.Fprintln(w, "(no spans)")
		return
	}
	st := style{on: o.Color}
	width := o.Width
	if width <= 0 {
		width = 120
	}
	maxRows := o.MaxRows
	if maxRows <= 0 {
		maxRows = 200
	}
	const labelW = 56
	barW := max(20, width-labelW-12)
	// The timeline spans every kept span, orphans included.
	var t0, t1 time.Time
	for k, i := range t.Order {
		s := t.Span(i)
		if k == 0 || s.Start.Before(t0) {
			t0 = s.Start
		}
		if k == 0 || s.End().After(t1) {
			t1 = s.End()
		}
	}
	total := t1.Sub(t0)
	rows := 0
	line := func(depth int32, marker, label string, start time.Time, d time.Duration, onPath, isErr bool) {
		label = strings.Repeat("  ", int(min(depth, 12))) + label
		label = padRight(Truncate(label, labelW), labelW)
		bar := timelineBar(start.Sub(t0), d, total, barW, onPath)
		switch {
		case isErr:
			bar = st.red(bar)
		case onPath:
			bar = st.yellow(bar)
		}
		fmt.Fprintf(w, "%s %s |%s| %s\n", marker, label, bar, investigate.FormatDuration(d))
		rows++
	}
	var walk func(i int32) bool
	walk = func(i int32) bool {
		if rows >= maxRows {
			return false
		}
		s := t.Span(i)
		marker := " "
		if rep.OnPath[i] {
			marker = st.yellow("*")
		}
		if rep.IsError[i] {
			marker = st.red("!")
		}
		line(t.Depth[i], marker, Clean(s.Service)+" "+Clean(s.Operation), s.Start, s.Duration, rep.OnPath[i], rep.IsError[i])
		ch := t.Children(i)
		for k := 0; k < len(ch); {
			// Find the run of similar leaves starting at k.
			c := t.Span(ch[k])
			j := k + 1
			for j < len(ch) && len(t.Children(ch[j])) == 0 && len(t.Children(ch[k])) == 0 &&
				t.Span(ch[j]).Service == c.Service && t.Span(ch[j]).Operation == c.Operation {
				j++
			}
			if j-k > 4 {
				// Show the first two, then one line for the rest.
				for m := k; m < k+2; m++ {
					if !walk(ch[m]) {
						return false
					}
				}
				var sum time.Duration
				onPath, isErr, errs := false, false, 0
				first, last := t.Span(ch[k+2]).Start, t.Span(ch[k+2]).End()
				for m := k + 2; m < j; m++ {
					cs := t.Span(ch[m])
					sum += cs.Duration
					onPath = onPath || rep.OnPath[ch[m]]
					if rep.IsError[ch[m]] {
						isErr = true
						errs++
					}
					if cs.End().After(last) {
						last = cs.End()
					}
				}
				label := fmt.Sprintf("… %d more %s %s (total %s", j-k-2, Clean(c.Service), Clean(c.Operation), investigate.FormatDuration(sum))
				if errs > 0 {
					label += fmt.Sprintf(", %d errors", errs)
				}
				marker := " "
				if isErr {
					marker = st.red("!")
				}
				line(t.Depth[ch[k]], marker, label+")", first, last.Sub(first), onPath, isErr)
				k = j
				continue
			}
			if !walk(ch[k]) {
				return false
			}
			k++
		}
		return true
	}
	fmt.Fprintf(w, "  %s %s\n", padRight("0", labelW), padLeft(investigate.FormatDuration(total), barW+2))
	for _, r := range t.Roots {
		if !walk(r) {
			break
		}
	}
	if shown := rows; shown >= maxRows {
		fmt.Fprintf(w, "… output capped at %d rows of %d spans; use --output json for every span\n", maxRows, t.Len())
	}
}

func timelineBar(offset, d, total time.Duration, width int, onPath bool) string {
	if total <= 0 {
		total = 1
	}
	from := int(float64(offset) / float64(total) * float64(width))
	to := int(float64(offset+d)/float64(total)*float64(width) + 0.999)
	from = min(max(from, 0), width-1)
	to = min(max(to, from+1), width)
	fill := "▒"
	if onPath {
		fill = "█"
	}
	return strings.Repeat(" ", from) + strings.Repeat(fill, to-from) + strings.Repeat(" ", width-to)
}

func padRight(s string, n int) string {
	if k := len([]rune(s)); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func padLeft(s string, n int) string {
	if k := len([]rune(s)); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}
