package render

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/probe"
)

// Probe writes a `dbg probe` result: JSON as it is, or a vegeta-report-like summary (requests, rate,
// success, latencies, status codes, error classes), the histogram as bars and the trace IDs to open.
func Probe(w io.Writer, r *probe.Result, f Format, o Options) error {
	if f == FormatJSON {
		return JSON(w, r)
	}
	p := newPrinter(w, f == FormatMarkdown, o)
	st := p.style()
	head := fmt.Sprintf("%s %s", r.Method, r.URL)
	if p.markdown() {
		fmt.Fprintf(p, "## dbg probe: %s\n\n", p.code(head))
	} else {
		fmt.Fprintln(p, st.bold("dbg probe "+Clean(head)))
	}
	if r.Interrupted {
		p.warning("interrupted: the figures cover the requests sent before the stop")
	}
	lat := r.Latency
	rows := [][]string{
		{"requests", fmt.Sprintf("%d of %d planned, %.1f/s achieved (asked %.1f/s), %.1fs", r.Requests, r.Planned, r.Rate, r.TargetRate, r.DurationMs/1000)},
		{"success", fmt.Sprintf("%.2f%% (%.1f ok/s)", r.SuccessRatio*100, r.Throughput)},
		{"latency", fmt.Sprintf("min %s  mean %s  p50 %s  p90 %s  p95 %s  p99 %s  max %s", millis(lat.MinMs), millis(lat.MeanMs),
			millis(lat.P50Ms), millis(lat.P90Ms), millis(lat.P95Ms), millis(lat.P99Ms), millis(lat.MaxMs))},
		{"status codes", countList(r.StatusCodes)},
		{"errors", countList(r.Errors)},
	}
	if p.markdown() {
		for i := range rows {
			rows[i][1] = p.cell(rows[i][1], 0)
		}
		if err := p.table([]string{"measure", "value"}, rows); err != nil {
			return err
		}
	} else {
		for _, r := range rows {
			fmt.Fprintf(p, "  %-13s %s\n", r[0], r[1])
		}
	}
	if len(r.ErrorSamples) > 0 {
		p.section("error samples")
		for _, s := range r.ErrorSamples {
			fmt.Fprintln(p, "  "+p.cell(s, 160))
		}
	}
	if len(r.Histogram) > 0 {
		fmt.Fprintln(p)
		p.pre(func() { histogramBars(p, r.Histogram, 40) })
	}
	if len(r.TraceIDs) > 0 {
		fmt.Fprintln(p)
		p.fact("trace IDs (slowest first, then failed)", Clean(strings.Join(r.TraceIDs, " ")))
		if l := TraceLink(o.JaegerUI, r.TraceIDs[0], ""); l != "" {
			linkLine(p, "open", l)
		}
		p.fact("correlation IDs", Clean(r.CorrelationPrefix)+"<seq>")
	}
	if v := r.Verdict; v != nil {
		fmt.Fprintln(p)
		writeVerdict(p, v, st)
	}
	return nil
}

func writeVerdict(b io.Writer, v *probe.Verdict, st style) {
	if v.Pass {
		fmt.Fprintln(b, st.bold("verdict: PASS"))
	} else {
		fmt.Fprintln(b, st.red("verdict: FAIL"))
	}
	for _, c := range v.Checks {
		mark := "ok  "
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(b, "  %s %s (measured %g)\n", mark, Clean(c.Expr), c.Actual)
	}
}

// histogramBars draws one bar per bucket, scaled to the fullest, with its range and count.
func histogramBars(b io.Writer, hs []probe.Bucket, width int) {
	top := 0
	for _, h := range hs {
		top = max(top, h.Count)
	}
	for _, h := range hs {
		rng := fmt.Sprintf("[%s, %s)", millis(h.FromMs), millis(h.ToMs))
		if h.ToMs == 0 {
			rng = fmt.Sprintf("[%s, +inf)", millis(h.FromMs))
		}
		n := 0
		if top > 0 {
			n = (h.Count*width + top - 1) / top
		}
		fmt.Fprintf(b, "  %-20s %7d %s\n", rng, h.Count, strings.Repeat("█", n))
	}
}

// ProbeProgress is the one-line live status of a running probe, for a terminal's stderr.
func ProbeProgress(p probe.Progress) string {
	pct := 0.0
	if p.Planned > 0 {
		pct = float64(p.Sent) * 100 / float64(p.Planned)
	}
	rate := 0.0
	if p.Elapsed > 0 {
		rate = float64(p.Sent) / p.Elapsed.Seconds()
	}
	return fmt.Sprintf("probe: %d/%d (%.0f%%)  %.1f/s  failed %d  p99 %s", p.Sent, p.Planned, pct, rate, p.Failed, millis(float64(p.P99.Microseconds())/1000))
}

// countList writes "200: 95, 503: 5" in key order; "none" when empty.
func countList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", Clean(k), m[k])
	}
	return strings.Join(parts, ", ")
}
