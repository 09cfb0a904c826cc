package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// DBOptions are `dbg db`'s presentation settings.
type DBOptions struct {
	Options
	// Top caps the statement table's rows; 0 means 20. JSON always has every statement.
	Top int
}

// DB writes a `dbg db` report.
func DB(w io.Writer, rep *investigate.QueryReport, f Format, o DBOptions) error {
	if f == FormatJSON {
		return JSON(w, rep)
	}
	p := newPrinter(w, f == FormatMarkdown, o.Options)
	st := p.style()
	top := o.Top
	if top <= 0 {
		top = 20
	}
	head := "Database statements"
	if rep.Service != "" {
		head += " of " + Clean(rep.Service)
	}
	if p.markdown() {
		fmt.Fprintf(w, "# %s\n\n", head)
	} else {
		fmt.Fprintln(w, st.bold(head))
	}
	line := fmt.Sprintf("%d requests, %d statements", rep.Requests, rep.Statements)
	if rep.Window != nil {
		line = fmt.Sprintf("window %s, %s", fmtRange(rep.Window), line)
	}
	if rep.Baseline != nil {
		line += fmt.Sprintf("; baseline %s, %d requests", fmtRange(rep.Baseline), rep.BaselineRequests)
	}
	fmt.Fprintln(w, line)
	for _, warn := range rep.Warnings {
		p.warning(warn)
	}
	p.section("Statements by total time")
	rows := make([][]string, 0, min(top, len(rep.Queries)))
	for i, q := range rep.Queries {
		if i == top {
			rows = append(rows, []string{fmt.Sprintf("… %d more (--top, or --output json)", len(rep.Queries)-top), "", "", "", "", "", "", "", "", ""})
			break
		}
		stmt := p.code(q.Statement)
		if !p.markdown() {
			stmt = Truncate(stmt, 70)
		}
		mark, change := "", changeText(&q)
		if q.NPlusOne {
			mark = st.red("N+1")
		}
		if q.Change == investigate.ChangeNew || q.Change == investigate.ChangeSlower || q.Change == investigate.ChangeMoreCalls {
			change = st.yellow(change)
		}
		rows = append(rows, []string{fmt.Sprint(i + 1), millis(q.TotalMs), fmt.Sprint(q.Count), millis(q.P50Ms), millis(q.P99Ms),
			strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", q.CallsPerRequest), "0"), ".") + pad(mark), change,
			p.cell(strings.Join(q.Services, ", "), 20), p.cell(strings.Join(q.Endpoints, ", "), 36), stmt})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No database calls.")
	} else if err := p.table([]string{"#", "TOTAL", "COUNT", "P50", "P99", "CALLS/REQ", "CHANGE", "SERVICES", "ENDPOINTS", "STATEMENT"}, rows); err != nil {
		return err
	}
	p.section("Findings")
	if err := findingsTable(p, rep.Findings); err != nil {
		return err
	}
	evidence(p, rep.Findings)
	return nil
}

func pad(mark string) string {
	if mark == "" {
		return ""
	}
	return " " + mark
}

func changeText(q *investigate.QueryStat) string {
	switch q.Change {
	case investigate.ChangeNew:
		return "new"
	case investigate.ChangeSlower, investigate.ChangeFaster:
		return fmt.Sprintf("p99 %s (was %s)", q.Change, millis(q.Baseline.P99Ms))
	case investigate.ChangeMoreCalls:
		return fmt.Sprintf("calls/req ×%.3g", q.CallsPerRequest/q.Baseline.CallsPerRequest)
	}
	if q.Baseline == nil {
		return ""
	}
	return "-"
}

func fmtRange(r *investigate.QueryWindow) string {
	return r.Start.UTC().Format(time.RFC3339) + " – " + r.End.UTC().Format(time.RFC3339)
}

// Explain writes a `dbg db explain` report.
func Explain(w io.Writer, rep *investigate.ExplainReport, f Format, o Options) error {
	if f == FormatJSON {
		return JSON(w, rep)
	}
	p := newPrinter(w, f == FormatMarkdown, o)
	st, md := p.style(), p.markdown()
	mode := "EXPLAIN (nothing executed)"
	if rep.Analyze {
		mode = "EXPLAIN ANALYZE (SELECTs executed in a rolled-back read-only transaction)"
	}
	if md {
		fmt.Fprintf(w, "# Plans from %s\n\n%s\n", Clean(rep.Server), mode)
	} else {
		fmt.Fprintf(w, "%s %s: %s\n", st.bold("PLANS"), Clean(rep.Server), mode)
	}
	for _, warn := range rep.Warnings {
		p.warning(warn)
	}
	if len(rep.Results) == 0 {
		fmt.Fprintln(w, "\nNo statements to explain.")
	}
	bullet := "   "
	if md {
		bullet = "- "
	}
	for i, r := range rep.Results {
		figures := fmt.Sprintf("%s in total, %d calls, p99 %s", millis(r.TotalMs), r.Count, millis(r.P99Ms))
		if md {
			fmt.Fprintf(w, "\n## %d. %s\n\n%s\n\n", i+1, p.code(r.Statement), figures)
		} else {
			fmt.Fprintf(w, "\n%s %s\n   %s\n", st.bold(fmt.Sprintf("%d.", i+1)), p.cell(r.Statement, 160), st.dim(figures))
		}
		switch r.Status {
		case investigate.ExplainSkipped:
			fmt.Fprintf(w, "%s%s %s\n", bullet, st.yellow("skipped:"), Clean(r.Reason))
			continue
		case investigate.ExplainFailed:
			fmt.Fprintf(w, "%s%s %s\n", bullet, st.red("failed:"), Clean(r.Reason))
			continue
		}
		pl := r.Plan
		planLine := fmt.Sprintf("plan: %s, cost %.0f, %s rows estimated", Clean(pl.Top), pl.TotalCost, fmtCount(pl.PlanRows))
		if pl.Analyzed {
			planLine += fmt.Sprintf(", executed in %s", millis(pl.ExecMs))
		}
		fmt.Fprintf(w, "%s%s\n", bullet, planLine)
		if len(pl.Issues) == 0 {
			fmt.Fprintf(w, "%snothing stands out in the plan\n", bullet)
		}
		for _, is := range pl.Issues {
			fmt.Fprintf(w, "%s%s %s %s\n", bullet, st.severity(is.Severity), is.Kind, p.cell(is.Node+": "+is.Detail, 0))
			if is.Index != "" {
				if md {
					fmt.Fprintf(w, "  - suggested index (not run): %s\n", p.code(is.Index))
				} else {
					fmt.Fprintf(w, "      %s %s\n", st.dim("suggested index (not run):"), st.cyan(Clean(is.Index)))
				}
			}
		}
	}
	if len(rep.Indexes) > 0 {
		if md {
			fmt.Fprint(w, "\n## Suggested indexes (dbg never runs these)\n\n```sql\n")
		} else {
			fmt.Fprintf(w, "\n%s\n", st.bold("SUGGESTED INDEXES (dbg never runs these; check them against your write load)"))
		}
		for _, ix := range rep.Indexes {
			fmt.Fprintln(w, Clean(ix))
		}
		if md {
			fmt.Fprintln(w, "```")
		}
	}
	return nil
}

func fmtCount(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
