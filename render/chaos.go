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
func ChaosPlan(w io.Writer, p *chaos.Plan, f Format, o Options) error {
	switch f {
	case FormatJSON:
		return JSON(w, p)
	case FormatYAML:
		ms := make([]chaos.Manifest, len(p.Experiments))
		comments := make([]string, len(p.Experiments))
		for i, e := range p.Experiments {
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
	md := f == FormatMarkdown
	st := style{on: o.Color && !md}
	var b strings.Builder
	title := fmt.Sprintf("Experiments for %s (report %s, namespace %s)", Clean(p.Service), Clean(p.ReportID), Clean(p.Namespace))
	if md {
		fmt.Fprintf(&b, "## %s\n\n", mdText(title))
	} else {
		fmt.Fprintln(&b, st.bold(title))
	}
	if len(p.Experiments) == 0 {
		fmt.Fprintln(&b, "No hypothesis of the report can be reproduced by a fault.")
	}
	for _, e := range p.Experiments {
		h := e.Hypothesis
		if md {
			fmt.Fprintf(&b, "### %s: %s\n\n", e.ID, mdText(Clean(e.Inject)))
			fmt.Fprintf(&b, "- hypothesis: [%s %.2f] %s\n", Clean(h.Tier), h.Score, mdText(Clean(h.Title)))
			fmt.Fprintf(&b, "- Chaos Mesh: %s `%s`\n", e.Manifest.Kind, Clean(e.Manifest.Metadata.Name))
			for _, ob := range e.Observe {
				fmt.Fprintf(&b, "- expect: %s\n", mdText(Clean(ob)))
			}
			fmt.Fprintf(&b, "- probe: `%s`\n", mdText(Clean(e.Probe)))
			if e.Proxy != nil {
				fmt.Fprintf(&b, "- without a cluster: `dbg chaos proxy` with %s, then `dbg chaos run --experiment %s`\n", Clean(e.Proxy.String()), e.ID)
			}
			fmt.Fprintln(&b)
			continue
		}
		fmt.Fprintf(&b, "\n%s  %s\n", st.bold(e.ID), Clean(e.Inject))
		fmt.Fprintf(&b, "  hypothesis  [%s %.2f] %s\n", Clean(h.Tier), h.Score, Clean(h.Title))
		fmt.Fprintf(&b, "  chaos mesh  %s %s\n", e.Manifest.Kind, Clean(e.Manifest.Metadata.Name))
		for _, ob := range e.Observe {
			fmt.Fprintf(&b, "  expect      %s\n", Clean(ob))
		}
		fmt.Fprintf(&b, "  probe       %s\n", Clean(e.Probe))
		if e.Proxy != nil {
			fmt.Fprintf(&b, "  proxy       %s (dbg chaos run --experiment %s)\n", Clean(e.Proxy.String()), e.ID)
		}
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "Not reproducible by a fault:")
		for _, s := range p.Skipped {
			fmt.Fprintf(&b, "  - %s: %s\n", Clean(s.Hypothesis.Title), Clean(s.Reason))
		}
	}
	if !md {
		fmt.Fprintln(&b, "\nApply in staging: dbg chaos plan --from REPORT.json -o yaml | kubectl apply -f -")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ChaosRun writes a run's verdict, its evidence, and the three probes side by side.
func ChaosRun(w io.Writer, r *chaos.RunResult, f Format, o Options) error {
	if f == FormatJSON {
		return JSON(w, r)
	}
	md := f == FormatMarkdown
	st := style{on: o.Color && !md}
	var b strings.Builder
	verdict := strings.ToUpper(r.Verdict)
	switch r.Verdict {
	case chaos.Confirmed:
		verdict = st.red(verdict)
	case chaos.Refuted:
		verdict = st.bold(verdict)
	default:
		verdict = st.yellow(verdict)
	}
	head := fmt.Sprintf("%s: %s — %s", r.Experiment, Clean(r.Hypothesis.Title), Clean(r.Inject))
	if md {
		fmt.Fprintf(&b, "## %s\n\n**%s**\n\n", mdText(head), strings.ToUpper(r.Verdict))
	} else {
		fmt.Fprintf(&b, "%s\nverdict: %s\n", st.bold(head), verdict)
	}
	for _, e := range r.Evidence {
		fmt.Fprintf(&b, "  - %s\n", Clean(e))
	}
	fmt.Fprintln(&b)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
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
	return table(w, md, []string{"phase", "requests", "p50", "p99", "errors"}, rows)
}
