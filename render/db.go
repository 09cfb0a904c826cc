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
	md := f == FormatMarkdown
	st := style{on: o.Color && !md}
	top := o.Top
	if top <= 0 {
		top = 20
	}
	head := "Database statements"
	if rep.Service != "" {
		head += " of " + Clean(rep.Service)
	}
	if md {
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
		if md {
			fmt.Fprintf(w, "- **warning:** %s\n", mdCell(Clean(warn)))
		} else {
			fmt.Fprintf(w, "%s %s\n", st.yellow("warning:"), Clean(warn))
		}
	}
	section := func(title string) {
		if md {
			fmt.Fprintf(w, "\n## %s\n\n", title)
		} else {
			fmt.Fprintf(w, "\n%s\n", st.bold(strings.ToUpper(title)))
		}
	}
	section("Statements by total time")
	rows := make([][]string, 0, min(top, len(rep.Queries)))
	for i, q := range rep.Queries {
		if i == top {
			rows = append(rows, []string{fmt.Sprintf("… %d more (--top, or --output json)", len(rep.Queries)-top), "", "", "", "", "", "", "", "", ""})
			break
		}
		stmt := Clean(q.Statement)
		endpoints := Clean(strings.Join(q.Endpoints, ", "))
		services := Clean(strings.Join(q.Services, ", "))
		mark := ""
		if q.NPlusOne {
			mark = "N+1"
		}
		change := changeText(&q)
		if md {
			stmt, endpoints, services = "`"+strings.ReplaceAll(stmt, "`", "'")+"`", mdCell(endpoints), mdCell(services)
			stmt = strings.ReplaceAll(stmt, "|", `\|`)
		} else {
			stmt, endpoints, services = Truncate(stmt, 70), Truncate(endpoints, 36), Truncate(services, 20)
			if q.NPlusOne {
				mark = st.red(mark)
			}
			if q.Change == investigate.ChangeNew || q.Change == investigate.ChangeSlower || q.Change == investigate.ChangeMoreCalls {
				change = st.yellow(change)
			}
		}
		rows = append(rows, []string{fmt.Sprint(i + 1), fmtMillis(q.TotalMs), fmt.Sprint(q.Count), fmtMillis(q.P50Ms), fmtMillis(q.P99Ms),
			strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", q.CallsPerRequest), "0"), ".") + pad(mark), change, services, endpoints, stmt})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No database calls.")
	} else if err := table(w, md, []string{"#", "TOTAL", "COUNT", "P50", "P99", "CALLS/REQ", "CHANGE", "SERVICES", "ENDPOINTS", "STATEMENT"}, rows); err != nil {
		return err
	}
	section("Findings")
	if err := Findings(w, rep.Findings, md, o.Options); err != nil {
		return err
	}
	Evidence(w, rep.Findings, md, o.Options)
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
		return fmt.Sprintf("p99 %s (was %s)", q.Change, fmtMillis(q.Baseline.P99Ms))
	case investigate.ChangeMoreCalls:
		return fmt.Sprintf("calls/req ×%.3g", q.CallsPerRequest/q.Baseline.CallsPerRequest)
	}
	if q.Baseline == nil {
		return ""
	}
	return "-"
}

func fmtMillis(ms float64) string {
	return investigate.FormatDuration(time.Duration(ms * float64(time.Millisecond)))
}

func fmtRange(r *investigate.QueryWindow) string {
	return r.Start.UTC().Format(time.RFC3339) + " – " + r.End.UTC().Format(time.RFC3339)
}

// Explain writes a `dbg db explain` report.
func Explain(w io.Writer, rep *investigate.ExplainReport, f Format, o Options) error {
	if f == FormatJSON {
		return JSON(w, rep)
	}
	md := f == FormatMarkdown
	st := style{on: o.Color && !md}
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
		fmt.Fprintf(w, "%s %s\n", st.yellow("warning:"), Clean(warn))
	}
	if len(rep.Results) == 0 {
		fmt.Fprintln(w, "\nNo statements to explain.")
	}
	for i, r := range rep.Results {
		stmt := Clean(r.Statement)
		figures := fmt.Sprintf("%s in total, %d calls, p99 %s", fmtMillis(r.TotalMs), r.Count, fmtMillis(r.P99Ms))
		if md {
			fmt.Fprintf(w, "\n## %d. `%s`\n\n%s\n\n", i+1, strings.ReplaceAll(stmt, "`", "'"), figures)
		} else {
			fmt.Fprintf(w, "\n%s %s\n   %s\n", st.bold(fmt.Sprintf("%d.", i+1)), Truncate(stmt, 160), st.dim(figures))
		}
		bullet := "   "
		if md {
			bullet = "- "
		}
		switch r.Status {
		case investigate.ExplainSkipped:
			fmt.Fprintf(w, "%s%s %s\n", bullet, st.yellow("skipped:"), Clean(r.Reason))
			continue
		case investigate.ExplainFailed:
			fmt.Fprintf(w, "%s%s %s\n", bullet, st.red("failed:"), Clean(r.Reason))
			continue
		}
		p := r.Plan
		planLine := fmt.Sprintf("plan: %s, cost %.0f, %s rows estimated", Clean(p.Top), p.TotalCost, fmtCount(p.PlanRows))
		if p.Analyzed {
			planLine += fmt.Sprintf(", executed in %s", fmtMillis(p.ExecMs))
		}
		fmt.Fprintf(w, "%s%s\n", bullet, planLine)
		if len(p.Issues) == 0 {
			fmt.Fprintf(w, "%snothing stands out in the plan\n", bullet)
		}
		for _, is := range p.Issues {
			detail := Clean(is.Node) + ": " + Clean(is.Detail)
			if md {
				detail = mdCell(detail)
			}
			fmt.Fprintf(w, "%s%s %s %s\n", bullet, st.severity(is.Severity), is.Kind, detail)
			if is.Index != "" {
				ix := Clean(is.Index)
				if md {
					fmt.Fprintf(w, "  - suggested index (not run): `%s`\n", strings.ReplaceAll(ix, "`", "'"))
				} else {
					fmt.Fprintf(w, "      %s %s\n", st.dim("suggested index (not run):"), st.cyan(ix))
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
