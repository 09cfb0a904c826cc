package checklist

import (
	"context"
	"fmt"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// verifyStep compares this run with an earlier report (--verify REPORT.json): each earlier cause is
// resolved or persisting, and causes not seen before are new.
type verifyStep struct{ previous *Report }

func (verifyStep) Number() int  { return 9 }
func (verifyStep) Name() string { return "Verify resolution" }

// Verification is the comparison with an earlier report.
type Verification struct {
	Against    time.Time    `json:"against"`
	Resolved   []FindingRef `json:"resolved"`
	Persisting []FindingRef `json:"persisting"`
	New        []FindingRef `json:"new"`
}

// Resolved reports whether every earlier cause is gone and nothing new appeared.
func (v *Verification) Done() bool { return len(v.Persisting) == 0 && len(v.New) == 0 }

// FindingRef names a finding across reports.
type FindingRef struct {
	Kind      string               `json:"kind"`
	Service   string               `json:"service"`
	Operation string               `json:"operation"`
	Title     string               `json:"title"`
	Severity  investigate.Severity `json:"severity"`
}

func ref(f *investigate.Finding) FindingRef {
	return FindingRef{Kind: f.Kind, Service: f.Service, Operation: f.Operation, Title: f.Title, Severity: f.Severity}
}

// counts: a cause the report stands behind — the root cause, or any cause of medium severity or more.
// Low-severity standing issues (present before the incident too) do not decide a verification.
func counts(f *investigate.Finding) bool {
	return f.Tier == TierRootCause || f.Tier != TierSymptom && f.Severity.Rank() <= investigate.SeverityMedium.Rank()
}

func (v verifyStep) Run(_ context.Context, inv *Investigation, prior map[int]*StepResult) StepResult {
	pv := verifyByProbe(inv.VerifyProbe)
	if v.previous == nil && pv != nil {
		res := StepResult{}
		addProbeVerification(&res, pv)
		return res
	}
	if v.previous == nil {
		return StepResult{Status: StatusSkipped, Summary: "skipped: after the fix, run `dbg checklist --verify REPORT.json` with this run's JSON report"}
	}
	var now []investigate.Finding
	if h, ok := prior[7]; ok && h.Details != nil {
		now, _ = h.Details["ranked"].([]investigate.Finding)
	}
	ver := Compare(v.previous.Findings, now)
	ver.Against = v.previous.GeneratedAt
	res := StepResult{Details: map[string]any{"verification": ver}}
	res.Summary = fmt.Sprintf("against the report of %s: %d resolved, %d persisting, %d new",
		v.previous.GeneratedAt.UTC().Format(time.RFC3339), len(ver.Resolved), len(ver.Persisting), len(ver.New))
	res.Status = StatusOK
	if !ver.Done() {
		res.Status = StatusWarn
	}
	if pv != nil {
		addProbeVerification(&res, pv)
	}
	return res
}

// Compare matches earlier causes with current ones by kind, service and operation.
func Compare(before, now []investigate.Finding) *Verification {
	ver := &Verification{Resolved: []FindingRef{}, Persisting: []FindingRef{}, New: []FindingRef{}}
	key := func(f *investigate.Finding) string { return f.Kind + "\x00" + f.Service + "\x00" + f.Operation }
	cur := map[string]bool{}
	for i := range now {
		if counts(&now[i]) {
			cur[key(&now[i])] = true
		}
	}
	old := map[string]bool{}
	for i := range before {
		f := &before[i]
		if !counts(f) {
			continue
		}
		old[key(f)] = true
		if cur[key(f)] {
			ver.Persisting = append(ver.Persisting, ref(f))
		} else {
			ver.Resolved = append(ver.Resolved, ref(f))
		}
	}
	for i := range now {
		f := &now[i]
		if counts(f) && !old[key(f)] {
			ver.New = append(ver.New, ref(f))
		}
	}
	return ver
}
