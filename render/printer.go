package render

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// printer writes one human format. Each report's function lays out its parts once and calls these;
// the format decides how a section, a warning, a cell or a code span looks. textPrinter writes for a
// terminal (colour when enabled, cells truncated, sections in capitals); mdPrinter writes markdown
// (headings, escaped table cells, code spans). JSON has no printer: it is the report's own shape.
type printer interface {
	io.Writer
	// markdown says which format this is, for the few layouts that differ beyond the shared parts.
	markdown() bool
	// style colours terminal text; it is off for markdown.
	style() style
	// section starts a titled part of the report.
	section(title string)
	// warning and note print one untrusted message each.
	warning(msg string)
	note(msg string)
	// cell is untrusted text for a table cell: sanitised; cut to n runes on a terminal, kept whole
	// (with backticks neutralised) in markdown. Table escapes the cell separators itself.
	cell(s string, n int) string
	// code is untrusted text shown as code: a code span in markdown.
	code(s string) string
	// link shows text that leads to url (already sanitised) where the format can link.
	link(text, url string) string
	// table writes rows under header; cells must come from cell, code or link (or be our own text).
	table(header []string, rows [][]string) error
	// pre writes body as preformatted text (a fenced block in markdown).
	pre(body func())
	// field writes one "key: value" line of a finding's evidence; value is sanitised already.
	field(key, value string)
	// fact writes one "key: value" line about the whole report; value is sanitised already.
	fact(key, value string)
	// options are the presentation settings the printer was made with.
	options() Options
}

// newPrinter returns the printer for a human format: markdown, or the terminal table for any other.
func newPrinter(w io.Writer, md bool, o Options) printer {
	if md {
		return &mdPrinter{w: w, o: o}
	}
	return &textPrinter{w: w, o: o, st: style{on: o.Color}}
}

type textPrinter struct {
	w  io.Writer
	o  Options
	st style
}

func (p *textPrinter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *textPrinter) markdown() bool              { return false }
func (p *textPrinter) style() style                { return p.st }
func (p *textPrinter) options() Options            { return p.o }
func (p *textPrinter) section(title string) {
	fmt.Fprintf(p.w, "\n%s\n", p.st.bold(strings.ToUpper(title)))
}
func (p *textPrinter) warning(msg string) {
	fmt.Fprintf(p.w, "%s %s\n", p.st.yellow("warning:"), Clean(msg))
}
func (p *textPrinter) note(msg string) {
	if msg != "" {
		fmt.Fprintf(p.w, "%s %s\n", p.st.yellow("note:"), Clean(msg))
	}
}
func (p *textPrinter) cell(s string, n int) string {
	if n <= 0 {
		return Clean(s)
	}
	return Truncate(Clean(s), n)
}
func (p *textPrinter) code(s string) string         { return Clean(s) }
func (p *textPrinter) link(text, url string) string { return text }
func (p *textPrinter) table(header []string, rows [][]string) error {
	return table(p.w, false, header, rows)
}
func (p *textPrinter) pre(body func()) { body() }
func (p *textPrinter) fact(key, value string) {
	fmt.Fprintf(p.w, "%s %s\n", p.st.dim(key+":"), value)
}
func (p *textPrinter) field(key, value string) {
	fmt.Fprintf(p.w, "   %s %s\n", p.st.dim(key+":"), Truncate(value, 200))
}

type mdPrinter struct {
	w io.Writer
	o Options
}

func (p *mdPrinter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *mdPrinter) markdown() bool              { return true }
func (p *mdPrinter) style() style                { return style{} }
func (p *mdPrinter) options() Options            { return p.o }
func (p *mdPrinter) section(title string)        { fmt.Fprintf(p.w, "\n## %s\n\n", title) }
func (p *mdPrinter) warning(msg string) {
	fmt.Fprintf(p.w, "- **warning:** %s\n", mdText(Clean(msg)))
}
func (p *mdPrinter) note(msg string) {
	if msg != "" {
		fmt.Fprintf(p.w, "\n_note: %s_\n", mdText(Clean(msg)))
	}
}
func (p *mdPrinter) cell(s string, _ int) string { return mdText(Clean(s)) }
func (p *mdPrinter) code(s string) string        { return mdCode(Clean(s)) }
func (p *mdPrinter) link(text, url string) string {
	if url == "" {
		return text
	}
	return "[" + text + "](" + mdText(url) + ")"
}
func (p *mdPrinter) table(header []string, rows [][]string) error {
	return table(p.w, true, header, rows)
}
func (p *mdPrinter) pre(body func()) {
	fmt.Fprintln(p.w, "```")
	body()
	fmt.Fprintln(p.w, "```")
}
func (p *mdPrinter) field(key, value string) {
	fmt.Fprintf(p.w, "- %s: %s\n", key, mdCode(value))
}
func (p *mdPrinter) fact(key, value string) { p.field(key, value) }

// mdText neutralises the markdown a sanitised string could carry into running text or a table cell:
// backticks (a code span that swallows the rest of the line) and the table's cell separator.
func mdText(s string) string {
	return mdPipes(strings.ReplaceAll(s, "`", "'"))
}

// mdCode is a sanitised string as a markdown code span.
func mdCode(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

// mdPipes escapes the cell separators of a markdown table row that are not escaped yet.
func mdPipes(s string) string {
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && (i == 0 || s[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// findingsTable writes the ranked findings, or says there are none.
func findingsTable(p printer, fs []investigate.Finding) error {
	if len(fs) == 0 {
		_, err := fmt.Fprintln(p, "No findings.")
		return err
	}
	st := p.style()
	rows := make([][]string, 0, len(fs))
	for i, f := range fs {
		rows = append(rows, []string{fmt.Sprint(i + 1), st.severity(f.Severity), fmt.Sprintf("%.2f", f.Score), f.Kind,
			p.cell(f.Service, 0), p.cell(f.Operation, 40), p.cell(f.Title, 110)})
	}
	return p.table([]string{"#", "SEVERITY", "SCORE", "KIND", "SERVICE", "OPERATION", "FINDING"}, rows)
}

// evidence writes each finding's evidence (in human units), traces, links and fix under a numbered
// heading, for the reader who wants to check a claim.
func evidence(p printer, fs []investigate.Finding) {
	st, o := p.style(), p.options()
	for i, f := range fs {
		if p.markdown() {
			fmt.Fprintf(p, "\n**%d. %s**\n\n", i+1, p.cell(f.Title, 0))
		} else {
			fmt.Fprintf(p, "\n%s %s\n", st.bold(fmt.Sprintf("%d.", i+1)), st.bold(Clean(f.Title)))
		}
		for _, kv := range humanEvidence(f.Evidence) {
			p.field(kv.Key, kv.Value)
		}
		if len(f.TraceIDs) > 0 {
			ids := f.TraceIDs
			more := ""
			if len(ids) > 5 {
				ids, more = ids[:5], fmt.Sprintf(" (+%d more)", len(f.TraceIDs)-5)
			}
			line := Clean(strings.Join(ids, " ")) + more
			if p.markdown() {
				fmt.Fprintf(p, "- traces: %s\n", mdCode(line))
			} else {
				fmt.Fprintf(p, "   %s %s\n", st.dim("traces:"), line)
			}
			// The link pass (investigate.LinkFindings) has usually given the finding its deep link already.
			if l := TraceLink(o.JaegerUI, f.TraceIDs[0], ""); l != "" && !slices.ContainsFunc(f.Links, func(x string) bool { return strings.HasPrefix(x, l) }) {
				linkLine(p, "trace", l)
			}
		}
		for _, l := range f.Links {
			linkLine(p, "link", Clean(l))
		}
		if f.Recommendation != "" {
			if p.markdown() {
				fmt.Fprintf(p, "- fix: %s\n", p.cell(f.Recommendation, 0))
			} else {
				fmt.Fprintf(p, "   %s %s\n", st.dim("fix:"), Clean(f.Recommendation))
			}
		}
	}
}

// linkLine writes a URL line under a finding: a bare URL in markdown (renderers link it), cyan on a
// terminal.
func linkLine(p printer, key, url string) {
	if p.markdown() {
		fmt.Fprintf(p, "- %s: %s\n", key, url)
		return
	}
	st := p.style()
	fmt.Fprintf(p, "   %s %s\n", st.dim(key+":"), st.cyan(url))
}
