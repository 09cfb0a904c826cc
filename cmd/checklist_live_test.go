package cmd

import (
	"encoding/json"
	"testing"

	"github.com/dbgtool/dbg/checklist"
)

// TestChecklistLiveProfiles runs the checklist with only a pprof target — the real leaky program — and
// expects a leak as the root cause, with the other steps skipped for want of their sources.
func TestChecklistLiveProfiles(t *testing.T) {
	target := leaky(t, nil)
	// Five samples a second apart: enough points for a steady fit even on a loaded machine.
	code, out, errOut := runDbg(t, map[string]string{"DBG_PROFILE_SAMPLES": "5", "DBG_PROFILE_INTERVAL": "1s"},
		"checklist", "-o", "json", "--service", "leaky", "--target", target, "--timeout", "60s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep checklist.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	top := rep.TopRootCause()
	if top == nil || (top.Kind != "memory_leak" && top.Kind != "goroutine_leak") || top.Service != "leaky" {
		t.Fatalf("root cause %+v; findings %+v", top, rep.Findings)
	}
	if rep.Steps[2].Status == checklist.StatusFail || rep.Steps[3].Status != checklist.StatusSkipped {
		t.Errorf("step 3 %s %q, step 4 %s", rep.Steps[2].Status, rep.Steps[2].Summary, rep.Steps[3].Status)
	}
	for _, s := range rep.Sources {
		if s.Kind == "profiles" && s.Status != "ok" {
			t.Errorf("profiles source %+v", s)
		}
	}
}
