package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// Hotspots writes a `dbg hotspots` report: the findings with their evidence, then one ranked table per
// signal with a sparkline per row. explain, when not nil, is printed last: the requests that were sent.
func Hotspots(w io.Writer, rep *investigate.HotspotReport, f Format, o Options, explain []string) error {
	if f == FormatJSON {
		return JSON(w, rep)
	}
	md := f == FormatMarkdown
	p := newPrinter(w, md, o)
	st := p.style()
	win := rep.Window.End.Sub(rep.Window.Start)
	if md {
		fmt.Fprintf(w, "# Hotspots\n\n- window: %s → %s (%s)\n- baseline: %s → %s\n", rep.Window.Start.Format(time.RFC3339),
			rep.Window.End.Format(time.RFC3339), promDur(win), rep.Baseline.Start.Format(time.RFC3339), rep.Baseline.End.Format(time.RFC3339))
		if rep.Tables.Convention != "" {
			fmt.Fprintf(w, "- metrics: %s\n", p.cell(shortConventions(rep.Tables.Convention), 0))
		}
	} else {
		fmt.Fprintf(w, "%s %s → %s (%s), baseline %s → %s\n", st.bold("hotspots"), rep.Window.Start.Format(time.RFC3339),
			rep.Window.End.Format(time.RFC3339), promDur(win), rep.Baseline.Start.Format(time.RFC3339), rep.Baseline.End.Format(time.RFC3339))
		if rep.Tables.Convention != "" {
			fmt.Fprintf(w, "%s %s\n", st.dim("metrics:"), Clean(shortConventions(rep.Tables.Convention)))
		}
	}
	for _, warn := range rep.Warnings {
		p.warning(warn)
	}
	section, note, cell := p.section, p.note, p.cell
	spark := func(v []float64) string {
		s := Sparkline(v)
		if strings.TrimSpace(s) == "" {
			return s
		}
		return p.code(s)
	}
	mark := func(b bool, s string) string {
		if b {
			return st.red(s)
		}
		return s
	}
	emptyOr := func(rows [][]string, header []string, n string) error {
		if len(rows) == 0 {
			if n == "" {
				fmt.Fprintln(w, "No rows.")
			}
			note(n)
			return nil
		}
		if err := p.table(header, rows); err != nil {
			return err
		}
		note(n)
		return nil
	}

	section("Findings")
	if err := findingsTable(p, rep.Findings); err != nil {
		return err
	}
	evidence(p, rep.Findings)

	t := rep.Tables
	section("Latency (p99 against the baseline)")
	var rows [][]string
	for i, r := range t.Latency.Rows {
		rows = append(rows, []string{fmt.Sprint(i + 1), cell(r.Service, 30), cell(r.Operation, 40),
			mark(r.Regression, millisOrDash(r.P99Ms)), millisOrDash(r.BaselineP99Ms), mark(r.Regression, ratio(r.Ratio)),
			millisOrDash(r.P50Ms), millisOrDash(r.BaselineP50Ms), spark(r.Sparkline)})
	}
	if err := emptyOr(rows, []string{"#", "SERVICE", "ENDPOINT", "P99", "BASE P99", "RATIO", "P50", "BASE P50", "P99 TREND"}, t.Latency.Note); err != nil {
		return err
	}

	section("Errors (server failures against the baseline)")
	rows = nil
	for i, r := range t.Errors.Rows {
		rows = append(rows, []string{fmt.Sprint(i + 1), cell(r.Service, 30), cell(r.Operation, 40),
			mark(r.Regression, pct(r.ErrorRatio)), pct(r.BaselineErrorRatio), fmt.Sprintf("%.2f/s", r.ErrorRate),
			fmt.Sprintf("%.2f/s", r.Rate), spark(r.Sparkline)})
	}
	if err := emptyOr(rows, []string{"#", "SERVICE", "ENDPOINT", "ERRORS", "BASELINE", "ERR RATE", "REQ RATE", "ERROR TREND"}, t.Errors.Note); err != nil {
		return err
	}

	for _, tt := range []struct {
		title string
		tab   investigate.TrafficTable
	}{{"Traffic spikes (request rate against the baseline)", t.TrafficSpikes}, {"Traffic drops", t.TrafficDrops}} {
		section(tt.title)
		rows = nil
		for i, r := range tt.tab.Rows {
			rows = append(rows, []string{fmt.Sprint(i + 1), cell(r.Service, 30), cell(r.Operation, 40),
				mark(r.Anomaly, fmt.Sprintf("%.2f/s", r.Rate)), fmt.Sprintf("%.2f/s", r.BaselineRate), mark(r.Anomaly, change(r.Rate, r.BaselineRate)),
				spark(r.Sparkline)})
		}
		if err := emptyOr(rows, []string{"#", "SERVICE", "ENDPOINT", "RATE", "BASELINE", "CHANGE", "RATE TREND"}, tt.tab.Note); err != nil {
			return err
		}
	}

	section("Saturation")
	rows = nil
	for i, r := range t.Saturation.Rows {
		limit := "-"
		if r.Limit > 0 {
			limit = satValue(r.Limit, r.Unit)
		}
		rows = append(rows, []string{fmt.Sprint(i + 1), r.Resource, cell(r.Service, 30), cell(r.Operation, 30),
			mark(r.Saturated, satValue(r.Value, r.Unit)), limit, satValue(r.Baseline, r.Unit), spark(r.Sparkline)})
	}
	if err := emptyOr(rows, []string{"#", "RESOURCE", "SERVICE", "WHAT", "VALUE", "LIMIT", "BASELINE", "TREND"}, t.Saturation.Note); err != nil {
		return err
	}

	if explain != nil && len(t.Conventions) > 0 {
		section("Metrics found")
		p.pre(func() {
			for _, l := range ConventionLines(t.Conventions) {
				fmt.Fprintln(w, Clean(l))
			}
		})
	}
	if explain != nil {
		section("Queries")
		p.pre(func() {
			for _, q := range explain {
				fmt.Fprintln(w, Clean(q))
			}
		})
	}
	return nil
}

// shortConventions keeps the header to the first four conventions of a mixed fleet.
func shortConventions(list string) string {
	parts := strings.Split(list, ", ")
	if len(parts) <= 4 {
		return list
	}
	return fmt.Sprintf("%s and %d more (--explain says which service is read in which)", strings.Join(parts[:4], ", "), len(parts)-4)
}

// ConventionLines says, one line per metric family, what a metric source understood: the role, the
// series read, the services read from it (the first six) and why (the labels that matched).
func ConventionLines(uses []investigate.ConventionUse) []string {
	out := make([]string, 0, len(uses))
	for _, u := range uses {
		svcs := u.Services
		more := ""
		if len(svcs) > 6 {
			more = fmt.Sprintf(" and %d more", len(svcs)-6)
			svcs = svcs[:6]
		}
		who := strings.Join(svcs, ", ") + more
		if who == "" {
			who = "every service (no service label)"
		}
		out = append(out, fmt.Sprintf("%-8s %s for %s: %s; %s", u.Role, u.Metric, who, u.Convention, u.Why))
	}
	return out
}

// promDur writes a window length the way users type it: 30m, 2h, 1d6h.
func promDur(d time.Duration) string {
	d = d.Round(time.Second)
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d >= u.d {
			fmt.Fprintf(&b, "%d%s", d/u.d, u.s)
			d %= u.d
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

func ratio(r float64) string {
	if r <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", r)
}

func pct(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

func change(rate, base float64) string {
	switch {
	case base <= 0 && rate > 0:
		return "new"
	case base <= 0:
		return "-"
	case rate <= 0:
		return "gone"
	case rate >= base:
		return fmt.Sprintf("+%.0f%%", 100*(rate/base-1))
	}
	return fmt.Sprintf("-%.0f%%", 100*(1-rate/base))
}

func satValue(v float64, unit string) string {
	switch unit {
	case "ratio":
		return pct(v)
	case "bytes":
		return investigate.FormatBytes(v)
	}
	return fmt.Sprintf("%.0f", v)
}

// HotspotsView is the `dbg hotspots` JSON document: the report and, with --explain, the requests that
// were sent (the source's own request records).
type HotspotsView struct {
	*investigate.HotspotReport
	Queries any `json:"queries,omitempty"`
}
