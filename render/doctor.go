package render

import (
	"fmt"
	"io"
)

// DoctorCheck is one source's health in `dbg doctor`.
type DoctorCheck struct {
	Source string `json:"source"`
	URL    string `json:"url"`
	Status string `json:"status"` // ok, error, not_configured
	Detail string `json:"detail"`
	Took   string `json:"took,omitempty"`
	// Metrics, for Prometheus: the request-metric families found, one line each
	// (what `dbg hotspots` and the checklist will read for which service, and why).
	Metrics []string `json:"metrics,omitempty"`
}

// DoctorReport is the `dbg doctor` JSON document.
type DoctorReport struct {
	Checks     []DoctorCheck `json:"checks"`
	ConfigFile string        `json:"config_file"`
	Context    string        `json:"context"`
}

// Doctor writes the checks: one line a source on a terminal, a table in markdown, the report in JSON.
func Doctor(w io.Writer, rep *DoctorReport, f Format) error {
	if f == FormatJSON {
		if rep.Checks == nil {
			rep.Checks = []DoctorCheck{}
		}
		return JSON(w, rep)
	}
	cfg := rep.ConfigFile
	if cfg == "" {
		cfg = "(none)"
	}
	if f == FormatMarkdown {
		p := newPrinter(w, true, Options{})
		fmt.Fprintf(w, "# dbg doctor\n\n- config file: %s\n", p.code(cfg))
		if rep.Context != "" {
			fmt.Fprintf(w, "- context: %s\n", p.code(rep.Context))
		}
		fmt.Fprintln(w)
		rows := [][]string{}
		for _, c := range rep.Checks {
			detail := p.cell(c.Detail, 0)
			for _, m := range c.Metrics {
				detail += "<br>" + p.cell(m, 0)
			}
			rows = append(rows, []string{c.Source, c.Status, p.cell(c.URL, 0), detail})
		}
		return p.table([]string{"SOURCE", "STATUS", "URL", "DETAIL"}, rows)
	}
	fmt.Fprintf(w, "config file: %s", Clean(cfg))
	if rep.Context != "" {
		fmt.Fprintf(w, ", context %s", Clean(rep.Context))
	}
	fmt.Fprintln(w)
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "%-13s %-15s %s %s\n", c.Source, c.Status, Clean(c.URL), Clean(c.Detail))
		for _, m := range c.Metrics {
			fmt.Fprintf(w, "%-13s %s\n", "", Clean(m))
		}
	}
	return nil
}
