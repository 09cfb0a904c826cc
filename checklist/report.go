package checklist

import (
	"time"

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

// StepResult is one step's part of the report.
type StepResult struct {
	Number     int                   `json:"number"`
	Name       string                `json:"name"`
	Status     Status                `json:"status"`
	Summary    string                `json:"summary"`
	DurationMs float64               `json:"duration_ms"`
	Queries    []string              `json:"queries"`
	Findings   []investigate.Finding `json:"findings"`
	// Details are step-specific tables (cohorts, latency attribution, dependency edges).
	Details map[string]any `json:"details,omitempty"`
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
	Service      string                `json:"service"`
	Window       investigate.TimeRange `json:"window"`
	Baseline     investigate.TimeRange `json:"baseline"`
	GeneratedAt  time.Time             `json:"generated_at"`
	Answer       string                `json:"answer"`
	Steps        []StepResult          `json:"steps"`
	Findings     []investigate.Finding `json:"findings"`
	Sources      []SourceStatus        `json:"sources"`
	Verification *Verification         `json:"verification,omitempty"`
	Timeline     []TimelineEntry       `json:"timeline"`
	// Exemplar is a trace showing the top hypothesis, for the HTML waterfall.
	Exemplar *Exemplar `json:"exemplar,omitempty"`
}

// TimelineEntry is one dated event for the postmortem: a change, or the first sign of a finding.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// Tiers of the ranking.
const (
	TierRootCause    = "root_cause"
	TierContributing = "contributing"
	TierSymptom      = "symptom"
)

// TopRootCause returns the best root-cause finding, nil when there is none.
func (r *Report) TopRootCause() *investigate.Finding {
	for i := range r.Findings {
		if r.Findings[i].Tier == TierRootCause {
			return &r.Findings[i]
		}
	}
	return nil
}
