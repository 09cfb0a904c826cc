package checklist

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dbgtool/dbg/chaos"
	"github.com/dbgtool/dbg/investigate"
)

// Status is a step's outcome.
type Status string

// Step statuses. warn: the step found something abnormal; fail: the step could not run (a source
// failed); skipped: its input is not configured.
const (
	StatusOK      Status = "ok"
	StatusWarn    Status = "warn"
	StatusFail    Status = "fail"
	StatusSkipped Status = "skipped"
)

// StepID names a step of the checklist; its value is the step's number in the report.
type StepID int

// The ten steps, in the order they are reported.
const (
	StepSymptom StepID = iota + 1
	StepChanges
	StepMetrics
	StepTraces
	StepLogs
	StepDependencies
	StepHypothesis
	StepFix
	StepVerify
	StepPostmortem
)

// StepResult is one step's part of the report.
type StepResult struct {
	Number     StepID                `json:"number"`
	Name       string                `json:"name"`
	Status     Status                `json:"status"`
	Summary    string                `json:"summary"`
	DurationMs float64               `json:"duration_ms"`
	Queries    []string              `json:"queries"`
	Findings   []investigate.Finding `json:"findings"`
	// Outcome is what the step produced besides its findings, typed. The JSON shows it as "details"
	// (see Outcome.View); a report read back from JSON has the same typed outcome.
	Outcome Outcome `json:"-"`
}

// Outcome holds the typed results of the steps; each step fills only its own fields.
type Outcome struct {
	Cohorts  []investigate.Cohort       // StepSymptom: attribute values the bad requests share
	Tables   *investigate.HotspotTables // StepMetrics: the golden-signal tables
	Sample   *TraceSample               // StepTraces: latency attribution over the trace sample
	Patterns []investigate.Pattern      // StepLogs: the top log templates against the baseline
	Edges    []investigate.Edge         // StepDependencies: the downstream graph
	Ranked   []investigate.Finding      // StepHypothesis: every finding ranked (the report's findings)
	Ranking  *Ranking                   // StepHypothesis: the margin, ties and stability of the top hypothesis
	Probe    *ProbeReport               // StepHypothesis, with --probe
	// Experiments are StepHypothesis's fault-injection experiments for the top hypotheses (dbg chaos plan).
	Experiments *chaos.Plan
	// ProbeVerification is StepVerify's judgement of the probe after the fix (--verify-probe).
	ProbeVerification *ProbeVerification
	Recommendations   []string        // StepFix
	Verification      *Verification   // StepVerify, with --verify
	Timeline          []TimelineEntry // StepPostmortem
}

// TraceSample is the trace step's table: each operation's critical-path time against the baseline.
type TraceSample struct {
	Attribution    []investigate.AttributionRow
	WindowTraces   int
	BaselineTraces int
}

// Detail keys of the JSON view.
const (
	detailCohorts         = "cohorts"
	detailTables          = "tables"
	detailAttribution     = "latency_attribution"
	detailWindowTraces    = "window_traces"
	detailBaselineTraces  = "baseline_traces"
	detailPatterns        = "patterns"
	detailEdges           = "edges"
	detailProbe           = "probe"
	detailExperiments     = "experiments"
	detailRecommendations = "recommendations"
	detailVerification    = "verification"
	detailTimeline        = "timeline"
)

// View is the outcome as the JSON report's "details" object (nil when there is nothing to show). The
// ranked findings are not repeated there: they are the report's findings.
func (o *Outcome) View() map[string]any {
	m := map[string]any{}
	if len(o.Cohorts) > 0 {
		m[detailCohorts] = o.Cohorts
	}
	if o.Tables != nil {
		m[detailTables] = o.Tables
	}
	if o.Sample != nil {
		m[detailAttribution] = nonNil(o.Sample.Attribution)
		m[detailWindowTraces], m[detailBaselineTraces] = o.Sample.WindowTraces, o.Sample.BaselineTraces
	}
	if o.Patterns != nil {
		m[detailPatterns] = o.Patterns
	}
	if o.Edges != nil {
		m[detailEdges] = o.Edges
	}
	if o.Probe != nil {
		m[detailProbe] = o.Probe
	}
	if o.ProbeVerification != nil {
		m[detailProbe] = o.ProbeVerification
	}
	if o.Experiments != nil {
		m[detailExperiments] = o.Experiments
	}
	if o.Recommendations != nil {
		m[detailRecommendations] = o.Recommendations
	}
	if o.Verification != nil {
		m[detailVerification] = o.Verification
	}
	if o.Timeline != nil {
		m[detailTimeline] = o.Timeline
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// stepFields is StepResult without its JSON methods.
type stepFields StepResult

// MarshalJSON writes the step with its outcome as "details". HTML characters are left alone: the
// encoder that called this escapes them again if it was asked to.
func (r StepResult) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		stepFields
		Details map[string]any `json:"details,omitempty"`
	}{stepFields(r), r.Outcome.View()})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}

// UnmarshalJSON reads a step of a JSON report, "details" back into the typed outcome.
func (r *StepResult) UnmarshalJSON(b []byte) error {
	var v struct {
		*stepFields
		Details map[string]json.RawMessage `json:"details"`
	}
	v.stepFields = (*stepFields)(r)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o := &r.Outcome
	var sample TraceSample
	targets := map[string]any{
		detailCohorts: &o.Cohorts, detailTables: &o.Tables, detailAttribution: &sample.Attribution,
		detailWindowTraces: &sample.WindowTraces, detailBaselineTraces: &sample.BaselineTraces,
		detailPatterns: &o.Patterns, detailEdges: &o.Edges, detailProbe: &o.Probe, detailExperiments: &o.Experiments,
		detailRecommendations: &o.Recommendations, detailVerification: &o.Verification, detailTimeline: &o.Timeline,
	}
	if r.Number == StepVerify {
		targets[detailProbe] = &o.ProbeVerification // step 9's probe is the verification by traffic
	}
	for k, raw := range v.Details {
		dst, ok := targets[k]
		if !ok {
			continue // a detail this version does not know: kept out of the typed outcome
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("step %d details %q: %w", r.Number, k, err)
		}
	}
	if _, ok := v.Details[detailAttribution]; ok {
		o.Sample = &sample
	}
	return nil
}

// SourceStatus says what happened with one configured (or missing) source.
type SourceStatus struct {
	Kind   string `json:"kind"` // traces, metrics, logs, profiles
	Name   string `json:"name"`
	Status string `json:"status"` // ok, error, not_configured, unused
	Error  string `json:"error,omitempty"`
}

// Report is the checklist's result: the `dbg checklist` JSON contract.
type Report struct {
	Service     string                `json:"service"`
	Window      investigate.TimeRange `json:"window"`
	Baseline    investigate.TimeRange `json:"baseline"`
	GeneratedAt time.Time             `json:"generated_at"`
	Answer      string                `json:"answer"`
	Steps       []StepResult          `json:"steps"`
	Findings    []investigate.Finding `json:"findings"`
	// Ranking is how firmly the evidence picks the top hypothesis (nil when there is none).
	Ranking      *Ranking        `json:"ranking,omitempty"`
	Sources      []SourceStatus  `json:"sources"`
	Verification *Verification   `json:"verification,omitempty"`
	Timeline     []TimelineEntry `json:"timeline"`
	// Exemplar is a trace showing the top hypothesis, for the HTML waterfall.
	Exemplar *Exemplar `json:"exemplar,omitempty"`
}

// TimelineEntry is one dated event for the postmortem: a change, or the first sign of a finding.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// Tiers of the ranking (investigate owns them; named here for the checklist's readers).
const (
	TierRootCause    = investigate.TierRootCause
	TierContributing = investigate.TierContributing
	TierSymptom      = investigate.TierSymptom
)

// Verification is the comparison with an earlier report (investigate.Compare).
type Verification = investigate.Verification

// FindingRef names a finding across reports.
type FindingRef = investigate.FindingRef

// TopRootCause returns the best root-cause finding (or the likely cause, when the evidence does not
// settle the top), nil when there is none.
func (r *Report) TopRootCause() *investigate.Finding {
	for i := range r.Findings {
		if t := r.Findings[i].Tier; t == TierRootCause || t == TierLikelyCause {
			return &r.Findings[i]
		}
	}
	return nil
}

// Step returns the report's result of step id, nil when the report has none.
func (r *Report) Step(id StepID) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Number == id {
			return &r.Steps[i]
		}
	}
	return nil
}
