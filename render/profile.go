package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// Profile writes a `dbg profile` report in the given format.
func Profile(w io.Writer, rep *investigate.ProfileReport, f Format, o Options) error {
	if f == FormatJSON {
		return JSON(w, rep)
	}
	p := newPrinter(w, f == FormatMarkdown, o)
	st := p.style()
	what := fmt.Sprintf("%s profile of %s", rep.Kind, Clean(rep.Target))
	detail := fmt.Sprintf("%s, total %s", Clean(rep.SampleType), ProfileValue(rep.Total, rep.Unit))
	if rep.Samples > 0 {
		detail += fmt.Sprintf(", %d samples over %.0fs", rep.Samples, rep.WindowS)
	}
	if rep.DiffBase != "" {
		detail += ", minus " + Clean(rep.DiffBase)
	}
	if p.markdown() {
		fmt.Fprintf(w, "# %s\n\n%s\n", mdText(what), mdText(detail))
		if len(rep.Warnings) > 0 {
			fmt.Fprintln(w)
		}
	} else {
		fmt.Fprintf(w, "%s  (%s)\n", st.bold(what), detail)
	}
	for _, warn := range rep.Warnings {
		p.warning(warn)
	}
	for _, s := range rep.Saved {
		p.fact("saved", Clean(s))
	}
	if len(rep.Findings) > 0 || rep.Kind == "cpu" || rep.Samples > 0 {
		p.section("Findings")
		if err := findingsTable(p, rep.Findings); err != nil {
			return err
		}
		evidence(p, rep.Findings)
	}
	title := "Top functions"
	if rep.DiffBase != "" {
		title += " (change from the base: + grew, - shrank)"
	}
	p.section(title)
	if len(rep.Top) == 0 {
		_, err := fmt.Fprintln(w, "No samples.")
		return err
	}
	rows := make([][]string, 0, len(rep.Top))
	sign := rep.DiffBase != ""
	for _, e := range rep.Top {
		loc := shortPath(Clean(e.File))
		if e.Line > 0 {
			loc += fmt.Sprintf(":%d", e.Line)
		}
		rows = append(rows, []string{
			valueCell(e.Flat, rep.Unit, sign), percent(e.Flat, rep.Total),
			valueCell(e.Cum, rep.Unit, sign), percent(e.Cum, rep.Total), p.cell(e.Function, 80), p.cell(loc, 60),
		})
	}
	return p.table([]string{"FLAT", "FLAT%", "CUM", "CUM%", "FUNCTION", "FILE:LINE"}, rows)
}

func valueCell(v int64, unit string, sign bool) string {
	s := ProfileValue(v, unit)
	if sign && v > 0 {
		s = "+" + s
	}
	return s
}

func percent(v, total int64) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(v)/float64(total))
}

// ProfileValue formats a sample value in its unit: bytes as KiB/MiB, nanoseconds as seconds or
// milliseconds, counts as they are.
func ProfileValue(v int64, unit string) string {
	switch unit {
	case "microseconds", "milliseconds", "seconds":
		// Other profilers (and pprof's own converters) write time in these units; show them as time.
		per := map[string]int64{"microseconds": 1e3, "milliseconds": 1e6, "seconds": 1e9}[unit]
		return ProfileValue(v*per, "nanoseconds")
	case "", "count":
		return fmt.Sprint(v)
	}
	switch unit {
	case "bytes":
		return investigate.FormatBytes(float64(v))
	case "nanoseconds":
		a := v
		if a < 0 {
			a = -a
		}
		switch {
		case a >= 1e9:
			return fmt.Sprintf("%.2fs", float64(v)/1e9)
		case a >= 1e6:
			return fmt.Sprintf("%.1fms", float64(v)/1e6)
		case a >= 1e3:
			return fmt.Sprintf("%.1fµs", float64(v)/1e3)
		}
		return fmt.Sprintf("%dns", v)
	}
	return fmt.Sprint(v) + " " + Clean(unit)
}

// shortPath keeps the last two path elements of a source file, which is what a reader recognises.
func shortPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return p
	}
	if j := strings.LastIndexByte(p[:i], '/'); j >= 0 {
		return p[j+1:]
	}
	return p
}
