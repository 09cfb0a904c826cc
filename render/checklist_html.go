package render

import (
	"html/template"
	"io"
)

// ChecklistHTML writes the report as one self-contained HTML file (no external assets).
// Placeholder until the full page lands: the report as preformatted markdown.
func ChecklistHTML(w io.Writer, rep any) error {
	return template.Must(template.New("r").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>dbg</title></head><body><pre>{{.}}</pre></body></html>`)).Execute(w, rep)
}
