package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dbgtool/dbg/chaos"
	"github.com/dbgtool/dbg/probe"
)

// FormatYAML is `dbg chaos plan -o yaml`: the plan's Chaos Mesh manifests.
const FormatYAML Format = "yaml"

// ChaosPlan writes a plan: JSON as it is, YAML as Chaos Mesh manifests (one document each, its
// experiment in a comment), or a table of experiments with what each should show.
func ChaosPlan(w io.Writer, pl *chaos.Plan, f Format, o Options) error {
	switch f {
	case FormatJSON:
		return JSON(w, pl)
	case FormatYAML:
		ms := make([]chaos.Manifest, len(pl.Experiments))
		comments := make([]string, len(pl.Experiments))
		for i, e := range pl.Experiments {
			ms[i] = e.Manifest
			comments[i] = Clean(e.ID+": "+e.Inject) + "\nhypothesis: " + Clean(e.Hypothesis.Title) + "\nexpect: " + Clean(strings.Join(e.Observe, "; "))
		}
		data, err := chaos.YAML(ms, comments)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	p := newPrinter(w, f == FormatMarkdown, o)
	st := p.style()
	title := fmt.Sprintf("Experiments for %s (report %s, namespace %s)", p.cell(pl.Service, 0), p.cell(pl.ReportID, 0), p.cell(pl.Namespace, 0))
	if p.markdown() {
		fmt.Fprintf(p, "## %s\n\n", title)
	} else {
		fmt.Fprintln(p, st.bold(title))
	}
	if len(pl.Experiments) == 0 {
		fmt.Fprintln(p, "No hypothesis of the report can be reproduced by a fault.")
	}
	for _, e := range pl.Experiments {
		h := e.Hypothesis
		if p.markdown() {
			fmt.Fprintf(p, "### %s: %s\n\n", e.ID, p.cell(e.Inject, 0))
		} else {
			fmt.Fprintf(p, "\n%s  %s\n", st.bold(e.ID), Clean(e.Inject))
		}
		p.field("hypothesis", fmt.Sprintf("[%s %.2f] %s", Clean(h.Tier), h.Score, Clean(h.Title)))
		p.field("chaos mesh", e.Manifest.Kind+" "+Clean(e.Manifest.Metadata.Name))
		for _, ob := range e.Observe {
			p.field("expect", Clean(ob))
		}
		p.field("probe", Clean(e.Probe))
		if e.Proxy != nil {
			p.field("without a cluster", fmt.Sprintf("dbg chaos proxy with %s, then dbg chaos run --experiment %s", Clean(e.Proxy.String()), e.ID))
		}
		if p.markdown() {
			fmt.Fprintln(p)
		}
	}
	if len(pl.Skipped) > 0 {
		p.section("Not reproducible by a fault")
		for _, s := range pl.Skipped {
			p.field(Clean(s.Hypothesis.Title), Clean(s.Reason))
		}
	}
	if !p.markdown() {
		fmt.Fprintln(p, "\nApply in staging: dbg chaos plan --from REPORT.json -o yaml | kubectl apply -f -")
	}
	return nil
}

// ChaosRun writes a run's verdict, its evidence, and the three probes side by side.
func ChaosRun(w io.Writer, r *chaos.RunResult, f Format, o Options) error {
	if f == FormatJSON {
		return JSON(w, r)
	}
	p := newPrinter(w, f == FormatMarkdown, o)
	st := p.style()
	verdict := strings.ToUpper(r.Verdict)
	switch r.Verdict {
	case chaos.Confirmed:
		verdict = st.red(verdict)
	case chaos.Refuted:
		verdict = st.bold(verdict)
	default:
		verdict = st.yellow(verdict)
	}
	head := fmt.Sprintf("%s: %s — %s", r.Experiment, p.cell(r.Hypothesis.Title, 0), p.cell(r.Inject, 0))
	if p.markdown() {
		fmt.Fprintf(p, "## %s\n\n**%s**\n\n", head, strings.ToUpper(r.Verdict))
	} else {
		fmt.Fprintf(p, "%s\nverdict: %s\n", st.bold(head), verdict)
	}
	for _, e := range r.Evidence {
		fmt.Fprintf(p, "  - %s\n", p.cell(e, 0))
	}
	fmt.Fprintln(p)
	rows := [][]string{}
	for _, ph := range []struct {
		name string
		r    *probe.Result
	}{{"baseline", r.Baseline}, {"under the fault", r.Injected}, {"cleared", r.Cleared}} {
		if ph.r == nil {
			continue
		}
		rows = append(rows, []string{ph.name, fmt.Sprint(ph.r.Requests), millis(ph.r.Latency.P50Ms), millis(ph.r.Latency.P99Ms), fmt.Sprintf("%.1f%%", (1-ph.r.SuccessRatio)*100)})
	}
	return p.table([]string{"phase", "requests", "p50", "p99", "errors"}, rows)
}
