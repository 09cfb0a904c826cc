package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// TestTraceSearchSanitises feeds names a hostile backend could return: terminal escapes must not reach
// the output, and markdown tables must keep their shape.
func TestTraceSearchSanitises(t *testing.T) {
	evil := "pay\x1b]8;;http://evil\x07ment\x1b[2J|x`y\nz"
	worst := investigate.Finding{Kind: "slow_span", Severity: investigate.SeverityHigh, Title: "slow " + evil}
	res := &TraceSearch{
		Service: evil, Operation: evil, Start: time.Unix(0, 0), End: time.Unix(3600, 0), Limit: 5,
		Traces: []investigate.TraceSummary{{
			TraceID: "ab\x1b[31mcd", Start: time.Unix(10, 0), DurationMs: 12.5, SpanCount: 3,
			Services: []string{evil, "ok"}, Error: true, Worst: &worst, Link: "https://ui/trace/ab\x1b[0m",
		}},
		Aggregate: &investigate.Aggregate{
			TraceCount: 1, PathCosts: []investigate.PathCost{{Service: evil, Operation: evil, SelfMs: 1, Traces: 1}},
			Findings: investigate.RankFindings([]investigate.Finding{{Kind: "slow_span", Service: evil, Operation: evil, Title: evil,
				Evidence: map[string]any{"peer": evil}, Links: []string{"https://ui/\x1b[1m"}}}),
		},
		Warnings: []string{"warn " + evil},
	}
	for _, f := range []Format{FormatTable, FormatMarkdown} {
		var b bytes.Buffer
		if err := TraceSearchResult(&b, res, f, Options{JaegerUI: "https://ui"}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s output carries control characters:\n%q", f, out)
		}
		if f == FormatMarkdown {
			// Every row of a table has as many cell separators as its header.
			want := -1
			for _, line := range strings.Split(out, "\n") {
				if !strings.HasPrefix(line, "|") {
					want = -1
					continue
				}
				n := strings.Count(line, "|") - strings.Count(line, `\|`)
				if want < 0 {
					want = n
				} else if n != want {
					t.Errorf("markdown row has %d cells, header %d: %q", n, want, line)
				}
			}
			if strings.Contains(out, "x`y") {
				t.Errorf("backtick not neutralised in markdown")
			}
		}
	}
}
