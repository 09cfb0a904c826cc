package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/dbgtool/dbg/investigate"
)

// Format is an output format a command writes.
type Format string

// Output formats. Not every command takes every one.
const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
	FormatHTML     Format = "html"
	FormatJSONL    Format = "jsonl"
)

// ParseFormat checks s against the formats a command supports.
func ParseFormat(s string, allowed ...Format) (Format, error) {
	if s == "" {
		return FormatTable, nil
	}
	if s == "md" {
		s = "markdown"
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if string(a) == s {
			return a, nil
		}
		names[i] = string(a)
	}
	return "", fmt.Errorf("--output %q: want one of %s", s, strings.Join(names, ", "))
}

// Options are the presentation settings shared by every renderer.
type Options struct {
	// Color enables ANSI colour; the caller decides (TTY, --no-color, NO_COLOR).
	Color bool
	// Width is the terminal width used to size the waterfall; 0 means 120.
	Width int
	// MaxRows caps the waterfall; 0 means 200.
	MaxRows int
	// JaegerUI is the base URL for trace and span deep links, empty for none.
	JaegerUI string
}

// JSON writes v as one indented JSON document. HTML characters are not escaped: the output is for
// programs and terminals, and "<" in a span name should read as "<".
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// style colours text when enabled.
type style struct{ on bool }

func (s style) wrap(code, text string) string {
	if !s.on || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}
func (s style) bold(t string) string   { return s.wrap("1", t) }
func (s style) red(t string) string    { return s.wrap("31", t) }
func (s style) yellow(t string) string { return s.wrap("33", t) }
func (s style) dim(t string) string    { return s.wrap("2", t) }
func (s style) cyan(t string) string   { return s.wrap("36", t) }

func (s style) severity(sev investigate.Severity) string {
	switch sev {
	case investigate.SeverityCritical, investigate.SeverityHigh:
		return s.red(string(sev))
	case investigate.SeverityMedium:
		return s.yellow(string(sev))
	}
	return string(sev)
}

// table writes rows as a terminal table or a markdown table. Cells must already be sanitised; in
// markdown every unescaped "|" of a cell is escaped here, so no caller can break a row.
func table(w io.Writer, md bool, header []string, rows [][]string) error {
	var opts []tablewriter.Option
	if md {
		esc := make([][]string, len(rows))
		for i, r := range rows {
			esc[i] = make([]string, len(r))
			for j, c := range r {
				esc[i][j] = mdPipes(c)
			}
		}
		rows = esc
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	} else {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})))
	}
	opts = append(opts, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft), tablewriter.WithRowAlignment(tw.AlignLeft))
	t := tablewriter.NewTable(w, opts...)
	t.Header(toAny(header)...)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Findings writes the ranked findings as a table (or markdown table). An empty list says so.
func Findings(w io.Writer, fs []investigate.Finding, md bool, o Options) error {
	return findingsTable(newPrinter(w, md, o), fs)
}

// Evidence writes each finding's evidence and recommendation under a numbered heading, for the reader
// who wants to check a claim.
func Evidence(w io.Writer, fs []investigate.Finding, md bool, o Options) {
	evidence(newPrinter(w, md, o), fs)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
