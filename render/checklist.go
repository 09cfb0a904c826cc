package render

import (
	"fmt"
	"io"
	"time"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
)

// Checklist writes a checklist report in the given format.
func Checklist(w io.Writer, rep *checklist.Report, f Format, o Options) error {
	switch f {
	case FormatJSON:
		return JSON(w, rep)
	case FormatHTML:
		return ChecklistHTML(w, rep)
	case FormatMarkdown:
		return checklistText(w, rep, true, o)
	}
	return checklistText(w, rep, false, o)
}

var statusMark = map[checklist.Status]string{
	checklist.StatusOK: "ok", checklist.StatusWarn: "WARN", checklist.StatusFail: "FAIL", checklist.StatusSkipped: "skipped",
}

func checklistText(w io.Writer, rep *checklist.Report, md bool, o Options) error {
	p := newPrinter(w, md, o)
	st := p.style()
	win := fmt.Sprintf("%s → %s (baseline %s → %s)", rep.Window.Start.UTC().Format(time.RFC3339), rep.Window.End.UTC().Format(time.RFC3339),
		rep.Baseline.Start.UTC().Format(time.RFC3339), rep.Baseline.End.UTC().Format(time.RFC3339))
	if md {
		fmt.Fprintf(w, "# dbg checklist: %s\n\n%s\n\n**Answer:** %s\n", p.cell(rep.Service, 0), win, p.cell(rep.Answer, 0))
	} else {
		fmt.Fprintf(w, "%s %s  %s\n\n%s %s\n", st.bold("dbg checklist"), st.bold(Clean(rep.Service)), st.dim(win), st.bold("ANSWER"), Clean(rep.Answer))
	}
	p.section("Ranked hypotheses")
	rows := [][]string{}
	for i, f := range rep.Findings {
		rows = append(rows, []string{fmt.Sprint(i + 1), tierLabel(f.Tier), st.severity(f.Severity), fmt.Sprintf("%.2f", f.Score), f.Kind, p.cell(f.Service, 0), p.cell(f.Title, 100)})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No findings.")
	} else if err := p.table([]string{"#", "TIER", "SEVERITY", "SCORE", "KIND", "SERVICE", "HYPOTHESIS"}, rows); err != nil {
		return err
	}
	var top []investigate.Finding
	for _, f := range rep.Findings {
		if f.Tier != checklist.TierSymptom && len(top) < 3 {
			top = append(top, f)
		}
	}
	if len(top) > 0 {
		p.section("Evidence for the top hypotheses")
		evidence(p, top)
	}
	if tables := metricTables(rep); tables != nil && (len(tables.Latency.Rows) > 0 || len(tables.Errors.Rows) > 0) {
		p.section("Golden signals")
		goldenSignals(p, *tables)
	}
	p.section("Checklist")
	for _, s := range rep.Steps {
		mark := statusMark[s.Status]
		switch s.Status {
		case checklist.StatusWarn:
			mark = st.yellow(mark)
		case checklist.StatusFail:
			mark = st.red(mark)
		case checklist.StatusSkipped:
			mark = st.dim(mark)
		}
		if md {
			fmt.Fprintf(w, "%d. **%s** — %s (%.0f ms): %s\n", s.Number, s.Name, mark, s.DurationMs, p.cell(s.Summary, 0))
		} else {
			fmt.Fprintf(w, "%2d. %-24s %-8s %s\n", s.Number, s.Name, mark, p.cell(s.Summary, 220))
		}
	}
	if rep.Verification != nil {
		p.section("Verification")
		v := rep.Verification
		for _, g := range []struct {
			name string
			refs []checklist.FindingRef
		}{{"resolved", v.Resolved}, {"persisting", v.Persisting}, {"new", v.New}} {
			for _, r := range g.refs {
				fmt.Fprintf(w, "- %s: %s\n", g.name, Clean(r.Title))
			}
		}
	}
	p.section("Sources")
	for _, s := range rep.Sources {
		line := fmt.Sprintf("%s: %s", s.Kind, s.Status)
		if s.Name != "" {
			line += " (" + Clean(s.Name) + ")"
		}
		if s.Error != "" {
			line += ": " + Clean(s.Error)
		}
		fmt.Fprintln(w, "- "+line)
	}
	return nil
}

func tierLabel(t string) string {
	switch t {
	case checklist.TierRootCause:
		return "ROOT CAUSE"
	case checklist.TierLikelyCause:
		return "LIKELY CAUSE"
	case checklist.TierContributing:
		return "contributing"
	}
	return t
}

// Postmortem writes the draft postmortem for a report: summary, impact, timeline, root cause with
// evidence, contributing factors, action items. It is a draft for people to finish, so it says what it
// does not know.
func Postmortem(w io.Writer, rep *checklist.Report) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Postmortem (draft): %s\n\n", mdText(Clean(rep.Service)))
	p("_Drafted by dbg on %s from the checklist over %s → %s. Edit before sharing._\n\n",
		rep.GeneratedAt.UTC().Format(time.RFC3339), rep.Window.Start.UTC().Format(time.RFC3339), rep.Window.End.UTC().Format(time.RFC3339))
	p("## Summary\n\n%s\n\n", mdText(Clean(rep.Answer)))
	p("## Impact\n\n")
	n := 0
	for _, f := range rep.Findings {
		if f.Tier == checklist.TierSymptom {
			p("- %s\n", mdText(Clean(f.Title)))
			n++
		}
	}
	if n == 0 {
		p("- No user-facing symptom was measured; fill in from the incident channel.\n")
	}
	p("\n## Timeline (UTC)\n\n")
	for _, e := range rep.Timeline {
		p("- %s — %s\n", e.At.UTC().Format("2006-01-02 15:04:05"), mdText(Clean(e.What)))
	}
	p("\n## Root cause\n\n")
	if top := rep.TopRootCause(); top != nil {
		p("%s\n\n", mdText(Clean(top.Title)))
		for _, kv := range humanEvidence(top.Evidence) {
			p("- %s: %s\n", kv.Key, mdCode(kv.Value))
		}
		for _, id := range top.TraceIDs {
			p("- trace: %s\n", Clean(id))
		}
		for _, l := range top.Links {
			p("- link: %s\n", Clean(l))
		}
	} else {
		p("Not established by the evidence dbg had; see the checklist steps.\n")
	}
	p("\n## Contributing factors\n\n")
	n = 0
	for _, f := range rep.Findings {
		if f.Tier == checklist.TierContributing && f.Severity.Rank() <= investigate.SeverityLow.Rank() {
			p("- %s\n", mdText(Clean(f.Title)))
			n++
		}
	}
	if n == 0 {
		p("- None found.\n")
	}
	p("\n## Action items\n\n")
	n = 0
	for _, f := range rep.Findings {
		if f.Tier != checklist.TierSymptom && f.Recommendation != "" && n < 5 {
			p("- [ ] %s (%s)\n", mdText(Clean(f.Recommendation)), mdText(Clean(f.Service)))
			n++
		}
	}
	p("- [ ] Verify the fix: `dbg checklist --service %s --verify REPORT.json`\n", Clean(rep.Service))
	return nil
}

// metricTables are the golden-signal tables of the metrics step, nil without them.
func metricTables(rep *checklist.Report) *investigate.HotspotTables {
	if s := rep.Step(checklist.StepMetrics); s != nil {
		return s.Outcome.Tables
	}
	return nil
}

// goldenSignals prints the top latency and error rows with their sparklines over the window.
func goldenSignals(p printer, t investigate.HotspotTables) {
	rows := [][]string{}
	for i, r := range t.Latency.Rows {
		if i == 5 {
			break
		}
		rows = append(rows, []string{"latency p99", Clean(r.Service), p.cell(r.Operation, 0), fmt.Sprintf("%.0fms", r.P99Ms), fmt.Sprintf("%.0fms", r.BaselineP99Ms), fmt.Sprintf("%.1fx", r.Ratio), Sparkline(r.Sparkline)})
	}
	for i, r := range t.Errors.Rows {
		if i == 5 || r.ErrorRatio == 0 {
			break
		}
		rows = append(rows, []string{"error ratio", Clean(r.Service), p.cell(r.Operation, 0), fmt.Sprintf("%.1f%%", r.ErrorRatio*100), fmt.Sprintf("%.1f%%", r.BaselineErrorRatio*100), "", Sparkline(r.Sparkline)})
	}
	_ = p.table([]string{"SIGNAL", "SERVICE", "ENDPOINT", "NOW", "BASELINE", "RATIO", "WINDOW"}, rows)
}
