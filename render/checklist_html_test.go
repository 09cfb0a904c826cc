package render

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
)

const hostile = "<script>alert(1)</script>\x1b[31m\x1b]0;pwned\x07"

// hostileReport puts attacker-controlled text everywhere a service can put it: service and span names,
// titles, evidence, log templates, links, step summaries, queries, sources.
func hostileReport() *checklist.Report {
	t0 := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	f := investigate.Finding{Kind: "slow_span", Severity: investigate.SeverityCritical, Score: 0.9, Tier: checklist.TierRootCause,
		Service: "svc" + hostile, Operation: "op" + hostile, Title: "title" + hostile,
		Evidence:       map[string]any{"template" + hostile: "SELECT " + hostile, "sample": []string{hostile}},
		TraceIDs:       []string{"abc" + hostile},
		Links:          []string{"javascript:alert(1)", `http://jaeger/trace/1"><script>alert(2)</script>`, "data:text/html,<script>alert(3)</script>"},
		Recommendation: "fix" + hostile}
	sym := f
	sym.Tier, sym.Title = checklist.TierSymptom, "symptom"+hostile
	tables := investigate.HotspotTables{Convention: hostile,
		Latency: investigate.LatencyTable{Query: "histogram_quantile(" + hostile + ")", Rows: []investigate.LatencyRow{
			{Service: "svc" + hostile, Operation: "op" + hostile, P99Ms: 800, BaselineP99Ms: 40, Ratio: 20, Regression: true,
				Sparkline: []float64{1, 2, math.NaN(), 4, -1, 8}}}}}
	steps := []checklist.StepResult{}
	for i := checklist.StepSymptom; i <= checklist.StepPostmortem; i++ {
		s := checklist.StepResult{Number: i, Name: "step", Status: checklist.StatusWarn, Summary: "summary" + hostile, Queries: []string{"q" + hostile}}
		if i == checklist.StepMetrics {
			s.Outcome.Tables = &tables
		}
		steps = append(steps, s)
	}
	return &checklist.Report{
		Service: "svc" + hostile, Answer: "answer" + hostile,
		Window:   investigate.TimeRange{Start: t0, End: t0.Add(30 * time.Minute)},
		Baseline: investigate.TimeRange{Start: t0.Add(-30 * time.Minute), End: t0},
		Steps:    steps, Findings: []investigate.Finding{f, sym},
		Sources:  []checklist.SourceStatus{{Kind: "logs", Name: "loki" + hostile, Status: "error", Error: "err" + hostile}},
		Timeline: []checklist.TimelineEntry{{At: t0, What: "deploy" + hostile}},
		Verification: &checklist.Verification{Against: t0, Resolved: []checklist.FindingRef{{Title: "gone" + hostile}},
			Persisting: []checklist.FindingRef{{Title: "still" + hostile}}},
		Exemplar: &checklist.Exemplar{TraceID: "abc" + hostile, DurationMs: 100, Spans: []checklist.ExemplarSpan{
			{SpanID: "1" + hostile, Service: "svc" + hostile, Operation: "GET /" + hostile, DurationMs: 100, OnPath: true},
			{SpanID: "2", Depth: 1, Service: "db" + hostile, Operation: "SELECT" + hostile, StartMs: 10, DurationMs: 80, OnPath: true, Error: true},
		}},
	}
}

func TestChecklistHTMLEscapesHostileStrings(t *testing.T) {
	var b bytes.Buffer
	if err := ChecklistHTML(&b, hostileReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "\x1b", "\x07", `href="javascript`, `href="data`, `href="http://jaeger/trace/1">`} {
		if strings.Contains(out, bad) {
			i := strings.Index(out, bad)
			t.Errorf("output contains %q: ...%s...", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	// Every place a hostile string goes shows it as text, escaped.
	escaped := "&lt;script&gt;alert(1)&lt;/script&gt;"
	if n := strings.Count(out, escaped); n < 25 {
		t.Errorf("escaped hostile text appears %d times, want it in every field (>= 25)", n)
	}
	// The one http link stays a link, with its quote and markup escaped inside the attribute.
	if !strings.Contains(out, `<a href="http://jaeger/trace/1%22%3E%3Cscript%3Ealert%282%29%3C/script%3E"`) {
		t.Errorf("http link not rendered as an escaped <a>:\n%s", grepLines(out, "jaeger"))
	}
	// The other schemes are shown as text only.
	if strings.Count(out, "<a ") != 1 {
		t.Errorf("want exactly one <a> (the http link), got %d", strings.Count(out, "<a "))
	}
	// Still a well-formed page with the waterfall and the sparkline.
	if got := strings.Count(out, `<rect class="span`); got != 2 {
		t.Errorf("%d span rects, want 2", got)
	}
	for _, want := range []string{`class="span on-path error"`, `<svg class="spark"`, `id="verification"`, "1 resolved, 1 persisting, 0 new",
		`id="root-cause"`, `<tr class="finding tier-symptom"`} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestChecklistHTMLTablesAfterJSON: a report read back from JSON (--verify's input, or a report file)
// holds step 3's tables typed again; the sparklines still render.
func TestChecklistHTMLTablesAfterJSON(t *testing.T) {
	rep := hostileReport()
	rep.Steps[2].Outcome.Tables.Latency.Rows[0].Sparkline[2] = 3 // JSON has no NaN
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back checklist.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if tb := back.Steps[2].Outcome.Tables; tb == nil || len(tb.Latency.Rows) != 1 || tb.Latency.Rows[0].Sparkline[2] != 3 {
		t.Fatalf("after JSON the tables are %+v", tb)
	}
	var in, out bytes.Buffer
	if err := ChecklistHTML(&in, rep); err != nil {
		t.Fatal(err)
	}
	if err := ChecklistHTML(&out, &back); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"in-process": in.String(), "after JSON": out.String()} {
		if !strings.Contains(s, `id="metric-latency"`) || !strings.Contains(s, `<svg class="spark"`) {
			t.Errorf("%s: latency table with sparkline missing", name)
		}
	}
}

func TestHTMLSparkline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		want   string // the path, or "" for none
	}{
		{"empty", nil, ""},
		{"all gaps", []float64{math.NaN(), -1}, ""},
		{"rising", []float64{0, 1, 2}, "M3.0 25.0 L60.0 14.0 L117.0 3.0"},
		{"gap breaks the line", []float64{0, math.NaN(), 2}, "M3.0 25.0 M117.0 3.0"},
		{"flat is flat", []float64{100, 101, 100}, "M3.0 23.0 L60.0 23.0 L117.0 23.0"},
		{"one value", []float64{5}, "M60.0 23.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := newHTMLSpark(tc.values)
			got := ""
			if sp != nil {
				got = sp.Path
			}
			if got != tc.want {
				t.Errorf("path %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHTMLWaterfallGeometry(t *testing.T) {
	ex := &checklist.Exemplar{TraceID: "t", DurationMs: 200, Spans: []checklist.ExemplarSpan{
		{SpanID: "a", DurationMs: 200, OnPath: true},
		{SpanID: "b", Depth: 1, StartMs: 100, DurationMs: 100, Error: true, Service: "s", Operation: "slow"},
		{SpanID: "c", Depth: 2, StartMs: 150, DurationMs: 0},
		{SpanID: "d", Depth: 1, StartMs: math.NaN(), DurationMs: math.Inf(1)},
	}}
	wf := newHTMLWaterfall(ex, &investigate.Finding{Service: "s", Operation: "slow"})
	barW := wfWidth - wfLabel - wfRight
	checks := []struct {
		got, want string
	}{
		{wf.Spans[0].X, f1(wfLabel)}, {wf.Spans[0].W, f1(barW)}, {wf.Spans[0].Class, "span on-path"},
		{wf.Spans[1].X, f1(wfLabel + barW/2)}, {wf.Spans[1].W, f1(barW / 2)}, {wf.Spans[1].Class, "span error suspect"},
		{wf.Spans[2].W, "1.5"}, // zero-length spans stay visible
		{wf.Spans[1].LabelX, f1(6 + wfIndent)}, {wf.Spans[2].LabelX, f1(6 + 2*wfIndent)},
		{wf.Spans[3].X, f1(wfLabel)}, {wf.Spans[3].W, "1.5"}, // garbage numbers do not break the SVG
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	if newHTMLWaterfall(nil, nil) != nil || newHTMLWaterfall(&checklist.Exemplar{}, nil) != nil {
		t.Error("no exemplar should give no waterfall")
	}
	if len(wf.Ticks) < 3 || wf.Ticks[0].Label != "0ms" {
		t.Errorf("ticks %+v", wf.Ticks)
	}
	for _, tick := range wf.Ticks {
		if !regexp.MustCompile(`^\d+(\.\d)?$`).MatchString(tick.X) {
			t.Errorf("tick x %q", tick.X)
		}
	}
}

// FuzzChecklistHTML: whatever a service names its spans, operations and findings, the page has no
// markup of its own making: no script element, no event-handler attribute, no terminal escape.
func FuzzChecklistHTML(f *testing.F) {
	for _, s := range []string{hostile, `"><img src=x onerror=alert(1)>`, "</title><script>x</script>", "\xff\xfe", "a\u202eb", "javascript:alert(1)", "{{.}}"} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, service, operation, text string) {
		rep := hostileReport()
		rep.Service, rep.Answer = service, text
		rep.Findings[0].Service, rep.Findings[0].Operation, rep.Findings[0].Title = service, operation, text
		rep.Findings[0].Evidence = map[string]any{text: operation}
		rep.Findings[0].Links = []string{text}
		rep.Exemplar.Spans[1].Service, rep.Exemplar.Spans[1].Operation = service, operation
		rep.Steps[4].Summary, rep.Steps[4].Outcome.Patterns = text, []investigate.Pattern{{Template: text, Service: service}}
		rep.Timeline[0].What = text
		var b bytes.Buffer
		if err := ChecklistHTML(&b, rep); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "\x1b") {
			t.Fatal("page contains a terminal escape")
		}
		// What a browser's tokenizer sees: only the page's own elements and attributes.
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			if tok.Data == "script" || tok.Data == "img" || tok.Data == "iframe" {
				t.Fatalf("page has a <%s> element", tok.Data)
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "href" && !strings.HasPrefix(a.Val, "http") {
					t.Fatalf("page has %s=%q on <%s>", a.Key, a.Val, tok.Data)
				}
			}
		}
		if got := strings.Count(out, `<rect class="span`); got != len(rep.Exemplar.Spans) {
			t.Fatalf("%d span bars, want %d", got, len(rep.Exemplar.Spans))
		}
	})
}
