package render

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
)

// The page is one file with no external assets: inline CSS, inline SVG, no script, and a
// Content-Security-Policy that forbids loading or running anything, so a report pasted into an
// incident channel opens anywhere and a span name can never become markup (html/template escapes every
// value; render.Clean removes terminal escapes first).
//
//go:embed checklist_html.tmpl
var checklistHTMLSource string

var checklistHTMLTemplate = template.Must(template.New("checklist").Parse(checklistHTMLSource))

// ChecklistHTML writes the report as one self-contained HTML page: the answer, the ranked hypotheses,
// the evidence of the top three, a waterfall of the exemplar trace, sparklines of the metric hotspots,
// the ten steps, the timeline, the verification and the sources. The output is deterministic for a
// given report.
func ChecklistHTML(w io.Writer, rep *checklist.Report) error {
	if rep == nil {
		return fmt.Errorf("render html: no report")
	}
	var buf bytes.Buffer
	if err := checklistHTMLTemplate.Execute(&buf, newHTMLPage(rep)); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// htmlPage is the template's view of a report: every string already cleaned, every number formatted,
// every coordinate computed, so the template only lays out.
type htmlPage struct {
	Service, Answer     string
	Window, Baseline    string
	Generated           string
	Findings            []htmlFinding
	Top                 []htmlFinding
	Waterfall           *htmlWaterfall
	Metrics             []htmlMetricTable
	MetricsConvention   string
	Steps               []htmlStep
	Timeline            []htmlKV
	Verification        *htmlVerification
	Sources             []htmlSource
	RootCause, Symptoms int
	Counts              struct{ Findings, RootCause, Symptoms string }
}

type htmlFinding struct {
	Rank                                   int
	Tier, TierLabel, Severity, Score, Kind string
	ScoreWidth                             string // of the 60px score bar
	Service, Operation, Title, Fix         string
	Evidence                               []htmlKV
	TraceIDs                               []string
	Links                                  []htmlLink
	RootCause                              bool // the first root cause: the row the reader looks at
}

type htmlKV struct{ Key, Value string }

type htmlLink struct {
	Text string
	URL  template.URL // set only for http(s) links
}

type htmlStep struct {
	Number                 int
	Name, Status, Summary  string
	Duration               string
	Queries                []string
	FindingCount           int
	FindingsWord, QueryWrd string
	Facts                  []htmlKV     // scalar details: "window_traces: 120"
	Tables                 []htmlDetail // list details: latency attribution, dependency edges, log patterns
}

// htmlDetail is one of a step's detail lists as a table.
type htmlDetail struct {
	Name    string
	Columns []string
	Rows    [][]htmlCellValue
	More    int // rows not shown
}

type htmlCellValue struct {
	Text string
	Num  bool // right-aligned
}

type htmlVerification struct {
	Against                   string
	Resolved, Persisting, New []string
}

type htmlSource struct{ Kind, Name, Status, Error string }

func newHTMLPage(rep *checklist.Report) *htmlPage {
	p := &htmlPage{
		Service:   Clean(rep.Service),
		Answer:    Clean(rep.Answer),
		Window:    htmlRange(rep.Window),
		Baseline:  htmlRange(rep.Baseline),
		Generated: htmlTime(rep.GeneratedAt),
	}
	seenRoot := false
	for i, f := range rep.Findings {
		hf := newHTMLFinding(i+1, f)
		if f.Tier == checklist.TierRootCause || f.Tier == checklist.TierLikelyCause {
			p.RootCause++
			if !seenRoot {
				hf.RootCause, seenRoot = true, true
			}
		}
		if f.Tier == checklist.TierSymptom {
			p.Symptoms++
		}
		p.Findings = append(p.Findings, hf)
		if f.Tier != checklist.TierSymptom && len(p.Top) < 3 {
			p.Top = append(p.Top, hf)
		}
	}
	p.Counts.Findings = fmt.Sprintf("%d %s", len(p.Findings), plural(len(p.Findings), "hypothesis", "hypotheses"))
	p.Counts.RootCause = fmt.Sprintf("%d %s", p.RootCause, plural(p.RootCause, "root cause", "root causes"))
	p.Counts.Symptoms = fmt.Sprintf("%d %s", p.Symptoms, plural(p.Symptoms, "symptom", "symptoms"))
	p.Waterfall = newHTMLWaterfall(rep.Exemplar, rep.TopRootCause())
	for _, s := range rep.Steps {
		hs := htmlStep{Number: int(s.Number), Name: Clean(s.Name), Status: string(s.Status), Summary: Clean(s.Summary),
			Duration: fmt.Sprintf("%.0f ms", s.DurationMs), FindingCount: len(s.Findings)}
		hs.FindingsWord = plural(len(s.Findings), "finding", "findings")
		hs.QueryWrd = plural(len(s.Queries), "query", "queries")
		for _, q := range s.Queries {
			hs.Queries = append(hs.Queries, Clean(q))
		}
		hs.Facts, hs.Tables = htmlStepDetails(&s.Outcome)
		p.Steps = append(p.Steps, hs)
	}
	if t := metricTables(rep); t != nil {
		p.Metrics = htmlMetricTables(*t)
		p.MetricsConvention = Clean(t.Convention)
	}
	for _, e := range rep.Timeline {
		p.Timeline = append(p.Timeline, htmlKV{htmlTime(e.At), Clean(e.What)})
	}
	if v := rep.Verification; v != nil {
		hv := &htmlVerification{Against: htmlTime(v.Against)}
		for _, g := range []struct {
			dst  *[]string
			refs []checklist.FindingRef
		}{{&hv.Resolved, v.Resolved}, {&hv.Persisting, v.Persisting}, {&hv.New, v.New}} {
			for _, r := range g.refs {
				*g.dst = append(*g.dst, Clean(r.Title))
			}
		}
		p.Verification = hv
	}
	for _, s := range rep.Sources {
		p.Sources = append(p.Sources, htmlSource{Clean(s.Kind), Clean(s.Name), Clean(s.Status), Clean(s.Error)})
	}
	return p
}

func newHTMLFinding(rank int, f investigate.Finding) htmlFinding {
	hf := htmlFinding{Rank: rank, Tier: Clean(f.Tier), TierLabel: htmlTierLabel(f.Tier), Severity: Clean(string(f.Severity)),
		Score: fmt.Sprintf("%.2f", f.Score), ScoreWidth: fmt.Sprintf("%.0f", 60*clamp01(f.Score)), Kind: Clean(f.Kind),
		Service: Clean(f.Service), Operation: Clean(f.Operation), Title: Clean(f.Title), Fix: Clean(f.Recommendation)}
	for _, kv := range humanEvidence(f.Evidence) {
		hf.Evidence = append(hf.Evidence, htmlKV{kv.Key, Truncate(kv.Value, 600)})
	}
	for _, id := range f.TraceIDs {
		hf.TraceIDs = append(hf.TraceIDs, Clean(id))
	}
	for _, l := range f.Links {
		hl := htmlLink{Text: Clean(l)}
		if u, err := url.Parse(strings.TrimSpace(l)); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			hl.URL = template.URL(u.String()) // html/template still escapes it inside the attribute
		}
		hf.Links = append(hf.Links, hl)
	}
	return hf
}

func htmlTierLabel(t string) string {
	switch t {
	case checklist.TierRootCause:
		return "root cause"
	case checklist.TierLikelyCause:
		return "likely cause"
	case checklist.TierContributing:
		return "contributing"
	case checklist.TierSymptom:
		return "symptom"
	}
	return Clean(t)
}

func htmlRange(r investigate.TimeRange) string {
	if r.Start.IsZero() && r.End.IsZero() {
		return "—"
	}
	return htmlTime(r.Start) + " → " + htmlTime(r.End)
}

func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return min(v, 1)
}

// --- the waterfall ------------------------------------------------------------------------------

// Waterfall geometry in SVG user units: a label column, then the time axis.
const (
	wfWidth  = 1100.0
	wfLabel  = 380.0
	wfRight  = 70.0 // room for the duration text after the longest bar
	wfRow    = 20.0
	wfTop    = 26.0 // the axis
	wfIndent = 12.0
)

type htmlWaterfall struct {
	TraceID, Duration string
	Width, Height     string
	Spans             []htmlWFSpan
	Ticks             []htmlWFTick
	Truncated         int
	Suspects          int // spans of the top root-cause hypothesis
	AxisY, GridBottom string
	LabelX            string
}

type htmlWFSpan struct {
	Class                  string
	Label, Title, Duration string
	X, Y, W, H             string // the bar
	LabelX, TextY          string // label position (indented by depth)
	DurX, DurAnchor        string
	RowY                   string // the row stripe
	Odd, Suspect           bool
}

type htmlWFTick struct{ X, Label string }

func newHTMLWaterfall(ex *checklist.Exemplar, suspect *investigate.Finding) *htmlWaterfall {
	if ex == nil || len(ex.Spans) == 0 {
		return nil
	}
	total := finiteNonNeg(ex.DurationMs)
	for _, s := range ex.Spans {
		total = max(total, finiteNonNeg(s.StartMs)+finiteNonNeg(s.DurationMs))
	}
	if total <= 0 {
		total = 1
	}
	barW := wfWidth - wfLabel - wfRight
	scale := func(ms float64) float64 { return wfLabel + barW*ms/total }
	wf := &htmlWaterfall{TraceID: Clean(ex.TraceID), Duration: millis(ex.DurationMs), Truncated: ex.Truncated,
		Width: f1(wfWidth), Height: f1(wfTop + wfRow*float64(len(ex.Spans)) + 6), AxisY: f1(wfTop - 10),
		GridBottom: f1(wfTop + wfRow*float64(len(ex.Spans))), LabelX: f1(wfLabel - 8)}
	for _, t := range niceTicks(total) {
		wf.Ticks = append(wf.Ticks, htmlWFTick{X: f1(scale(t)), Label: millis(t)})
	}
	for i, s := range ex.Spans {
		start, dur := finiteNonNeg(s.StartMs), finiteNonNeg(s.DurationMs)
		y := wfTop + wfRow*float64(i)
		x, w := scale(start), max(1.5, barW*dur/total)
		class := "span"
		if s.OnPath {
			class += " on-path"
		}
		if s.Error {
			class += " error"
		}
		isSuspect := suspect != nil && s.Service == suspect.Service && s.Operation == suspect.Operation
		if isSuspect {
			class += " suspect"
			wf.Suspects++
		}
		depth := min(max(s.Depth, 0), 20)
		name := Clean(s.Service) + ": " + Clean(s.Operation)
		maxChars := max(8, 52-2*depth)
		span := htmlWFSpan{Class: class, Odd: i%2 == 1, Suspect: isSuspect, Label: Truncate(name, maxChars), Duration: millis(dur),
			X: f1(x), Y: f1(y + 4), W: f1(w), H: f1(wfRow - 8), RowY: f1(y),
			LabelX: f1(6 + wfIndent*float64(depth)), TextY: f1(y + 14)}
		title := fmt.Sprintf("%s\n%s at +%s", name, millis(dur), millis(start))
		if s.OnPath {
			title += "\non the critical path"
		}
		if s.Error {
			title += "\nerror"
		}
		if isSuspect {
			title += "\nthe top root-cause hypothesis"
		}
		span.Title = title + "\nspan " + Clean(s.SpanID)
		if x+w+wfRight-4 <= wfWidth {
			span.DurX, span.DurAnchor = f1(x+w+4), "start"
		} else {
			span.DurX, span.DurAnchor = f1(x-4), "end"
		}
		wf.Spans = append(wf.Spans, span)
	}
	return wf
}

// niceTicks returns 4–8 round tick values from 0 to total.
func niceTicks(total float64) []float64 {
	step := math.Pow(10, math.Floor(math.Log10(total/4)))
	for _, m := range []float64{1, 2, 5, 10} {
		if total/(step*m) <= 8 {
			step *= m
			break
		}
	}
	var ts []float64
	for t := 0.0; t <= total*1.0001 && len(ts) < 12; t += step {
		ts = append(ts, t)
	}
	return ts
}

func finiteNonNeg(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// --- metric hotspots with sparklines ------------------------------------------------------------

type htmlMetricTable struct {
	ID, Title, Query, Note string
	Columns                []string
	Rows                   []htmlMetricRow
}

type htmlMetricRow struct {
	Service, Operation string
	Cells              []string
	Flag               bool // a regression / anomaly / saturated row
	Spark              *htmlSpark
}

type htmlSpark struct {
	Path, LastX, LastY string
	Min, Max           string
}

const maxMetricRows = 10

func htmlMetricTables(t investigate.HotspotTables) []htmlMetricTable {
	var out []htmlMetricTable
	row := func(service, op string, flag bool, spark []float64, cells ...string) htmlMetricRow {
		return htmlMetricRow{Service: Clean(service), Operation: Clean(op), Cells: cells, Flag: flag, Spark: newHTMLSpark(spark)}
	}
	if rs := t.Latency.Rows; len(rs) > 0 {
		mt := htmlMetricTable{ID: "latency", Title: "Latency", Query: Clean(t.Latency.Query), Note: Clean(t.Latency.Note),
			Columns: []string{"p99", "baseline p99", "ratio", "p50", "baseline p50"}}
		for _, r := range rs[:min(len(rs), maxMetricRows)] {
			mt.Rows = append(mt.Rows, row(r.Service, r.Operation, r.Regression, r.Sparkline,
				millis(r.P99Ms), millis(r.BaselineP99Ms), ratio(r.Ratio), millis(r.P50Ms), millis(r.BaselineP50Ms)))
		}
		out = append(out, mt)
	}
	if rs := t.Errors.Rows; len(rs) > 0 {
		mt := htmlMetricTable{ID: "errors", Title: "Errors", Query: Clean(t.Errors.Query), Note: Clean(t.Errors.Note),
			Columns: []string{"error ratio", "baseline", "errors/s", "requests/s"}}
		for _, r := range rs[:min(len(rs), maxMetricRows)] {
			mt.Rows = append(mt.Rows, row(r.Service, r.Operation, r.Regression, r.Sparkline,
				pct(r.ErrorRatio), pct(r.BaselineErrorRatio), fmt.Sprintf("%.2f", r.ErrorRate), fmt.Sprintf("%.2f", r.Rate)))
		}
		out = append(out, mt)
	}
	for _, tt := range []struct {
		id, title string
		t         investigate.TrafficTable
	}{{"traffic-spikes", "Traffic spikes", t.TrafficSpikes}, {"traffic-drops", "Traffic drops", t.TrafficDrops}} {
		if len(tt.t.Rows) == 0 {
			continue
		}
		mt := htmlMetricTable{ID: tt.id, Title: tt.title, Query: Clean(tt.t.Query), Note: Clean(tt.t.Note),
			Columns: []string{"requests/s", "baseline", "ratio"}}
		for _, r := range tt.t.Rows[:min(len(tt.t.Rows), maxMetricRows)] {
			mt.Rows = append(mt.Rows, row(r.Service, r.Operation, r.Anomaly, r.Sparkline,
				fmt.Sprintf("%.2f", r.Rate), fmt.Sprintf("%.2f", r.BaselineRate), ratio(r.Ratio)))
		}
		out = append(out, mt)
	}
	if rs := t.Saturation.Rows; len(rs) > 0 {
		mt := htmlMetricTable{ID: "saturation", Title: "Saturation", Note: Clean(t.Saturation.Note),
			Columns: []string{"resource", "value", "limit", "baseline"}}
		for _, r := range rs[:min(len(rs), maxMetricRows)] {
			limit := "—"
			if r.Limit > 0 {
				limit = satValue(r.Limit, r.Unit)
			}
			mt.Rows = append(mt.Rows, row(r.Service, r.Operation, r.Saturated, r.Sparkline,
				Clean(r.Resource), Clean(satValue(r.Value, r.Unit)), Clean(limit), Clean(satValue(r.Baseline, r.Unit))))
		}
		out = append(out, mt)
	}
	return out
}

// Sparkline geometry: a 120×28 box with 3 units of padding.
const (
	spW, spH, spPad = 120.0, 28.0, 3.0
)

// newHTMLSpark draws values as an SVG path scaled between their minimum and maximum; gaps (NaN,
// infinite, negative) break the line. A series flat within 5% is drawn flat, as in the terminal.
func newHTMLSpark(values []float64) *htmlSpark {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, v := range values {
		if !gap(v) {
			lo, hi, n = min(lo, v), max(hi, v), n+1
		}
	}
	if n == 0 {
		return nil
	}
	flat := hi-lo <= 0.05*max(math.Abs(hi), math.Abs(lo))
	x := func(i int) float64 {
		if len(values) == 1 {
			return spW / 2
		}
		return spPad + (spW-2*spPad)*float64(i)/float64(len(values)-1)
	}
	y := func(v float64) float64 {
		if flat {
			return spH - spPad - 2
		}
		return spH - spPad - (spH-2*spPad)*(v-lo)/(hi-lo)
	}
	var b strings.Builder
	pen := false
	sp := &htmlSpark{Min: fmt.Sprintf("%.4g", lo), Max: fmt.Sprintf("%.4g", hi)}
	for i, v := range values {
		if gap(v) {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
		} else {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s%.1f %.1f", cmd, x(i), y(v))
		pen = true
		sp.LastX, sp.LastY = f1(x(i)), f1(y(v))
	}
	sp.Path = b.String()
	return sp
}

// --- step details -------------------------------------------------------------------------------

const (
	maxDetailRows = 12
	maxDetailCell = 120
)

// htmlStepDetails lays out a step's typed outcome: its counts as facts, its lists (cohorts, latency
// attribution, log patterns, dependency edges) as tables, one column per field under the JSON view's
// names. What the page shows elsewhere (metric tables, timeline, verification, ranked findings,
// recommendations) and the probe's nested report are not repeated under the step.
func htmlStepDetails(o *checklist.Outcome) (facts []htmlKV, tables []htmlDetail) {
	if o.Sample != nil {
		facts = append(facts, htmlKV{"baseline_traces", strconv.Itoa(o.Sample.BaselineTraces)})
	}
	if len(o.Cohorts) > 0 {
		tables = append(tables, detailTable("cohorts", o.Cohorts, []string{"attribute", "value", "traces", "bad ratio", "other bad ratio", "lift"},
			func(c investigate.Cohort) []htmlCellValue {
				return []htmlCellValue{text(c.Attribute), text(c.Value), num(float64(c.Traces)), num(c.BadRatio), num(c.OtherBadRatio), num(c.Lift)}
			}))
	}
	if len(o.Edges) > 0 {
		tables = append(tables, detailTable("edges", o.Edges, []string{"caller", "peer", "calls", "error ratio", "p99 ms", "baseline calls", "baseline error ratio", "baseline p99 ms"},
			func(e investigate.Edge) []htmlCellValue {
				return []htmlCellValue{text(e.Caller), text(e.Peer), num(float64(e.Calls)), num(e.ErrorRatio), num(e.P99Ms),
					num(float64(e.BaselineCalls)), num(e.BaselineErrorRatio), num(e.BaselineP99Ms)}
			}))
	}
	if o.Sample != nil && len(o.Sample.Attribution) > 0 {
		cols := []string{"service", "operation", "window ms", "baseline ms", "delta ms", "share of delta", "presence"}
		peer := slices.ContainsFunc(o.Sample.Attribution, func(r investigate.AttributionRow) bool { return r.Peer != "" })
		if peer {
			cols = append(cols, "peer")
		}
		tables = append(tables, detailTable("latency attribution", o.Sample.Attribution, cols, func(r investigate.AttributionRow) []htmlCellValue {
			row := []htmlCellValue{text(r.Service), text(r.Operation), num(r.WindowMs), num(r.BaselineMs), num(r.DeltaMs), num(r.ShareOfDelta), num(r.Presence)}
			if peer {
				row = append(row, text(r.Peer))
			}
			return row
		}))
	}
	if len(o.Patterns) > 0 {
		tables = append(tables, detailTable("patterns", o.Patterns, []string{"template", "level", "error type", "service", "count", "baseline count", "ratio", "status", "score", "sample", "trace ids"},
			func(p investigate.Pattern) []htmlCellValue {
				return []htmlCellValue{text(p.Template), text(p.Level), text(p.ErrorType), text(p.Service), num(float64(p.Count)),
					num(float64(p.BaselineCount)), num(p.Ratio), text(p.Status), num(p.Score), text(p.Sample), ids(p.TraceIDs)}
			}))
	}
	if o.Sample != nil {
		facts = append(facts, htmlKV{"window_traces", strconv.Itoa(o.Sample.WindowTraces)})
	}
	return facts, tables
}

// detailTable is rows as a table of at most maxDetailRows, saying how many more there are.
func detailTable[T any](name string, rows []T, cols []string, cells func(T) []htmlCellValue) htmlDetail {
	d := htmlDetail{Name: name, Columns: cols, More: max(0, len(rows)-maxDetailRows)}
	for _, r := range rows[:min(len(rows), maxDetailRows)] {
		d.Rows = append(d.Rows, cells(r))
	}
	return d
}

func text(s string) htmlCellValue { return htmlCellValue{Text: Truncate(Clean(s), maxDetailCell)} }

// num shows a figure as JSON writes it (shortest form), right-aligned.
func num(f float64) htmlCellValue {
	return htmlCellValue{Text: strconv.FormatFloat(f, 'f', -1, 64), Num: true}
}

// ids shows two short IDs, or one cut short, then how many more.
func ids(list []string) htmlCellValue {
	var parts []string
	for i, id := range list[:min(len(list), 2)] {
		c := Truncate(Clean(id), 16)
		if i > 0 && len(parts[0])+len(c) > 24 {
			break
		}
		parts = append(parts, c)
	}
	if n := len(list) - len(parts); n > 0 {
		parts = append(parts, fmt.Sprintf("+%d more", n))
	}
	return htmlCellValue{Text: strings.Join(parts, ", ")}
}
