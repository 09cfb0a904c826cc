package checklist

import (
	"context"
	"fmt"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// verifyStep compares this run with an earlier report (--verify REPORT.json): each earlier cause is
// resolved or persisting, and causes not seen before are new (investigate.Compare).
type verifyStep struct{ previous *Report }

func (verifyStep) Number() StepID { return StepVerify }
func (verifyStep) Name() string   { return "Verify resolution" }

func (v verifyStep) Run(_ context.Context, inv *Investigation, prior map[StepID]*StepResult) StepResult {
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
	if h, ok := prior[StepHypothesis]; ok {
		now = h.Outcome.Ranked
	}
	ver := investigate.Compare(v.previous.Findings, now)
	ver.Against = v.previous.GeneratedAt
	res := StepResult{Outcome: Outcome{Verification: ver}}
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
