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
	md := f == FormatMarkdown
	st := style{on: o.Color && !md}
	what := fmt.Sprintf("%s profile of %s", rep.Kind, Clean(rep.Target))
	detail := fmt.Sprintf("%s, total %s", Clean(rep.SampleType), ProfileValue(rep.Total, rep.Unit))
	if rep.Samples > 0 {
		detail += fmt.Sprintf(", %d samples over %.0fs", rep.Samples, rep.WindowS)
	}
	if rep.DiffBase != "" {
		detail += ", minus " + Clean(rep.DiffBase)
	}
	if md {
		fmt.Fprintf(w, "# %s\n\n%s\n", mdCell(what), mdCell(detail))
	} else {
		fmt.Fprintf(w, "%s  (%s)\n", st.bold(what), detail)
	}
	for _, warn := range rep.Warnings {
		if md {
			fmt.Fprintf(w, "\n- **warning:** %s\n", mdCell(Clean(warn)))
		} else {
			fmt.Fprintf(w, "%s %s\n", st.yellow("warning:"), Clean(warn))
		}
	}
	for _, s := range rep.Saved {
		if md {
			fmt.Fprintf(w, "- saved: `%s`\n", strings.ReplaceAll(Clean(s), "`", "'"))
		} else {
			fmt.Fprintf(w, "%s %s\n", st.dim("saved:"), Clean(s))
		}
	}
	section := func(title string) {
		if md {
			fmt.Fprintf(w, "\n## %s\n\n", title)
		} else {
			fmt.Fprintf(w, "\n%s\n", st.bold(strings.ToUpper(title)))
		}
	}
	if len(rep.Findings) > 0 || rep.Kind == "cpu" || rep.Samples > 0 {
		section("Findings")
		if err := Findings(w, rep.Findings, md, o); err != nil {
			return err
		}
		Evidence(w, rep.Findings, md, o)
	}
	title := "Top functions"
	if rep.DiffBase != "" {
		title += " (change from the base: + grew, - shrank)"
	}
	section(title)
	if len(rep.Top) == 0 {
		_, err := fmt.Fprintln(w, "No samples.")
		return err
	}
	rows := make([][]string, 0, len(rep.Top))
	sign := rep.DiffBase != ""
	for _, e := range rep.Top {
		fn := Clean(e.Function)
		loc := shortPath(Clean(e.File))
		if e.Line > 0 {
			loc += fmt.Sprintf(":%d", e.Line)
		}
		if md {
			fn, loc = mdCell(fn), mdCell(loc)
		} else {
			fn = Truncate(fn, 80)
			loc = Truncate(loc, 60)
		}
		rows = append(rows, []string{
			valueCell(e.Flat, rep.Unit, sign), percent(e.Flat, rep.Total),
			valueCell(e.Cum, rep.Unit, sign), percent(e.Cum, rep.Total), fn, loc,
		})
	}
	return table(w, md, []string{"FLAT", "FLAT%", "CUM", "CUM%", "FUNCTION", "FILE:LINE"}, rows)
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
