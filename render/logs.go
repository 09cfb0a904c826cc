package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// LogTimeLayout is how log times are printed for people: UTC, milliseconds.
const LogTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// LogLine writes one record as a line for people: time, service, level, message, then the trace and
// span it belongs to. Every part is sanitised; a multi-line message (a stack trace) continues on
// indented lines.
func LogLine(w io.Writer, r *investigate.LogRecord, o Options) error {
	st := style{on: o.Color}
	ts := "-"
	if !r.Time.IsZero() {
		ts = r.Time.UTC().Format(LogTimeLayout)
	}
	svc := Clean(r.Service)
	if svc == "" {
		svc = "-"
	}
	level := strings.ToUpper(Truncate(Clean(r.Level), 5))
	if level == "" {
		level = "-"
	}
	msg := CleanMultiline(r.Message)
	first, rest, multi := strings.Cut(msg, "\n")
	var b strings.Builder
	b.WriteString(st.dim(ts))
	b.WriteByte(' ')
	b.WriteString(st.cyan(padRight(Truncate(svc, 24), 16)))
	b.WriteByte(' ')
	b.WriteString(st.level(padRight(level, 5)))
	b.WriteByte(' ')
	b.WriteString(first)
	if r.TraceID != "" {
		b.WriteString(st.dim("  trace=" + Clean(r.TraceID)))
	}
	if r.SpanID != "" {
		b.WriteString(st.dim(" span=" + Clean(r.SpanID)))
	}
	if r.CorrelationID != "" && r.TraceID == "" {
		b.WriteString(st.dim("  correlation=" + Clean(r.CorrelationID)))
	}
	b.WriteByte('\n')
	if multi {
		for _, l := range strings.Split(rest, "\n") {
			b.WriteString("    ")
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s style) level(l string) string {
	switch strings.TrimSpace(strings.ToLower(l)) {
	case "error", "err", "fatal", "panic", "crit":
		return s.red(l)
	case "warn", "warni":
		return s.yellow(l)
	}
	return l
}

// LogMarkdownHeader starts a markdown table of records; LogMarkdownRow adds one.
func LogMarkdownHeader(w io.Writer) error {
	_, err := io.WriteString(w, "| TIME | SERVICE | LEVEL | MESSAGE | TRACE | SPAN |\n| --- | --- | --- | --- | --- | --- |\n")
	return err
}

// LogMarkdownRow writes one record as a markdown table row.
func LogMarkdownRow(w io.Writer, r *investigate.LogRecord) error {
	ts := ""
	if !r.Time.IsZero() {
		ts = r.Time.UTC().Format(LogTimeLayout)
	}
	cells := []string{ts, Clean(r.Service), Clean(r.Level), Clean(r.Message), Clean(r.TraceID), Clean(r.SpanID)}
	for i := range cells {
		cells[i] = mdText(cells[i])
	}
	_, err := io.WriteString(w, "| "+strings.Join(cells, " | ")+" |\n")
	return err
}

// JSONLine writes v as one compact JSON line (for --output jsonl).
func JSONLine(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// LogsJSON writes the `dbg logs` JSON document {records, findings} while the records stream in, so
// memory does not grow with the number of records. Call Record for each, then Close.
type LogsJSON struct {
	w     io.Writer
	n     int
	began bool
}

// NewLogsJSON starts the document on w.
func NewLogsJSON(w io.Writer) *LogsJSON { return &LogsJSON{w: w} }

// Record appends one record.
func (j *LogsJSON) Record(r *investigate.LogRecord) error {
	var buf bytes.Buffer
	if !j.began {
		buf.WriteString("{\n  \"records\": [")
		j.began = true
	}
	if j.n > 0 {
		buf.WriteByte(',')
	}
	buf.WriteString("\n    ")
	b, err := marshalNoEscape(r)
	if err != nil {
		return err
	}
	buf.Write(b)
	j.n++
	_, err = j.w.Write(buf.Bytes())
	return err
}

// Close ends the records and writes the findings and any extra top-level keys (in the given order).
func (j *LogsJSON) Close(findings []investigate.Finding, extra ...KeyValue) error {
	var buf bytes.Buffer
	if !j.began {
		buf.WriteString("{\n  \"records\": [")
	}
	if j.n > 0 {
		buf.WriteString("\n  ")
	}
	buf.WriteString("],\n  \"findings\": ")
	if findings == nil {
		findings = []investigate.Finding{}
	}
	if err := indentInto(&buf, findings); err != nil {
		return err
	}
	for _, kv := range extra {
		buf.WriteString(",\n  ")
		k, _ := json.Marshal(kv.Key)
		buf.Write(k)
		buf.WriteString(": ")
		if err := indentInto(&buf, kv.Value); err != nil {
			return err
		}
	}
	buf.WriteString("\n}\n")
	_, err := j.w.Write(buf.Bytes())
	return err
}

// KeyValue is an extra top-level key of a JSON document.
type KeyValue struct {
	Key   string
	Value any
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func indentInto(buf *bytes.Buffer, v any) error {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Write(bytes.TrimRight(tmp.Bytes(), "\n"))
	return nil
}

// PatternsReport is what `dbg logs --patterns` shows.
type PatternsReport struct {
	Service       string
	Window        investigate.Window
	Lines         int
	BaselineLines int
	Patterns      []investigate.Pattern
	Findings      []investigate.Finding
	Warnings      []string
	MaxRows       int
}

// Patterns writes the templates table (new and surging first) and the findings' evidence.
func Patterns(w io.Writer, rep *PatternsReport, md bool, o Options) error {
	p := newPrinter(w, md, o)
	st := p.style()
	svc := Clean(rep.Service)
	if svc == "" {
		svc = "all services"
	}
	head := fmt.Sprintf("log patterns of %s: %d lines in %s – %s, %d in the baseline %s – %s", svc, rep.Lines,
		fmtTime(rep.Window.Start), fmtTime(rep.Window.End), rep.BaselineLines, fmtTime(rep.Window.BaselineStart), fmtTime(rep.Window.BaselineEnd))
	if md {
		fmt.Fprintf(w, "# Log patterns\n\n%s\n\n", mdText(head))
	} else {
		fmt.Fprintln(w, st.bold(head))
	}
	for _, warn := range rep.Warnings {
		p.warning(warn)
	}
	maxRows := rep.MaxRows
	if maxRows <= 0 {
		maxRows = 50
	}
	rows := [][]string{}
	for i, pt := range rep.Patterns {
		if pt.Status == investigate.PatternGone {
			continue
		}
		if len(rows) >= maxRows {
			rows = append(rows, []string{"", "", "", "", fmt.Sprintf("… %d more; --output json lists all", len(rep.Patterns)-i), "", ""})
			break
		}
		tmpl := pt.Template
		if pt.ErrorType != "" {
			tmpl = "[" + pt.ErrorType + "] " + tmpl
		}
		status := pt.Status
		switch pt.Status {
		case investigate.PatternNew:
			status = st.red(status)
		case investigate.PatternSurging:
			status = st.yellow(status)
		}
		traces := ""
		if len(pt.TraceIDs) > 0 {
			traces = Clean(pt.TraceIDs[0])
			if len(pt.TraceIDs) > 1 {
				traces += fmt.Sprintf(" +%d", len(pt.TraceIDs)-1)
			}
		}
		rows = append(rows, []string{status, fmt.Sprint(pt.Count), fmt.Sprint(pt.BaselineCount), Clean(pt.Level), p.cell(tmpl, 90), p.cell(pt.Sample, 60), traces})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No log lines in the window.")
	} else if err := p.table([]string{"STATUS", "COUNT", "BASELINE", "LEVEL", "TEMPLATE", "SAMPLE", "TRACES"}, rows); err != nil {
		return err
	}
	p.section("Findings")
	if err := findingsTable(p, rep.Findings); err != nil {
		return err
	}
	evidence(p, rep.Findings)
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// SpanLogs are the log lines of one span, for `dbg trace --logs` JSON.
type SpanLogs struct {
	SpanID    string                  `json:"span_id"`
	Service   string                  `json:"service"`
	Operation string                  `json:"operation"`
	Records   []investigate.LogRecord `json:"records"`
}

// TraceLogsView is the "logs" key `dbg trace --logs` adds to the trace's JSON object.
type TraceLogsView struct {
	Spans      []SpanLogs              `json:"spans"`
	Unattached []investigate.LogRecord `json:"unattached"`
	BySpanID   int                     `json:"by_span_id"`
	ByTime     int                     `json:"by_time"`
	Warnings   []string                `json:"warnings"`
}

// TraceWithLogsView is a `dbg trace --logs` JSON document: the trace report with its logs.
type TraceWithLogsView struct {
	*investigate.TraceReport
	Logs TraceLogsView `json:"logs"`
}

// NewTraceWithLogsView lists the attached logs span by span in the waterfall's order, then the
// unattached, with the warnings of reading them.
func NewTraceWithLogsView(rep *investigate.TraceReport, att investigate.AttachedLogs, warnings []string) TraceWithLogsView {
	v := TraceLogsView{Spans: []SpanLogs{}, Unattached: att.Unattached, BySpanID: att.BySpanID, ByTime: att.ByTime, Warnings: warnings}
	if rep.Tree != nil {
		for _, i := range rep.Tree.Order {
			if int(i) < len(att.BySpan) && len(att.BySpan[i]) > 0 {
				s := rep.Tree.Span(i)
				v.Spans = append(v.Spans, SpanLogs{SpanID: s.SpanID, Service: s.Service, Operation: s.Operation, Records: att.BySpan[i]})
			}
		}
	}
	if v.Unattached == nil {
		v.Unattached = []investigate.LogRecord{}
	}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	return TraceWithLogsView{TraceReport: rep, Logs: v}
}

// TraceLogs writes the trace's span tree with each span's log lines under it; spans without logs are
// shown only as the path to spans that have some.
func TraceLogs(w io.Writer, rep *investigate.TraceReport, att investigate.AttachedLogs, md bool, o Options) error {
	p := newPrinter(w, md, o)
	st := p.style()
	p.section("Logs")
	var err error
	p.pre(func() { err = traceLogLines(w, rep, att, st) })
	return err
}

// traceLogLines writes the span tree with each span's log lines under it.
func traceLogLines(w io.Writer, rep *investigate.TraceReport, att investigate.AttachedLogs, st style) error {
	t := rep.Tree
	total := att.BySpanID + att.ByTime + len(att.Unattached)
	if total == 0 {
		fmt.Fprintln(w, "No log lines for this trace.")
	} else {
		fmt.Fprintf(w, "%d lines: %d by span ID, %d by time within the service, %d not placed\n", total, att.BySpanID, att.ByTime, len(att.Unattached))
	}
	if t != nil && total > 0 {
		// has[i]: span i or one of its descendants has logs.
		has := make([]bool, len(att.BySpan))
		for k := len(t.Order) - 1; k >= 0; k-- {
			i := t.Order[k]
			if len(att.BySpan[i]) > 0 {
				has[i] = true
			}
			if has[i] && t.Parent[i] >= 0 {
				has[t.Parent[i]] = true
			}
		}
		lo := Options{Color: st.on}
		for _, i := range t.Order {
			if !has[i] {
				continue
			}
			s := t.Span(i)
			indent := strings.Repeat("  ", int(min(t.Depth[i], 12)))
			fmt.Fprintf(w, "%s%s %s %s\n", indent, st.bold(Clean(s.Service)), Clean(s.Operation), st.dim(Clean(s.SpanID)))
			for k := range att.BySpan[i] {
				var lb strings.Builder
				r := att.BySpan[i][k]
				r.TraceID = ""
				if r.SpanID == s.SpanID {
					r.SpanID = ""
				}
				_ = LogLine(&lb, &r, lo) // a strings.Builder does not fail
				for _, l := range strings.SplitAfter(strings.TrimRight(lb.String(), "\n"), "\n") {
					fmt.Fprintf(w, "%s  │ %s", indent, strings.TrimRight(l, "\n")+"\n")
				}
			}
		}
	}
	if len(att.Unattached) > 0 {
		fmt.Fprintln(w, "not placed under a span:")
		for k := range att.Unattached {
			if err := LogLine(w, &att.Unattached[k], Options{Color: st.on}); err != nil {
				return err
			}
		}
	}
	return nil
}
