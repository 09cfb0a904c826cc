package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/internal/incidentgen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/bundle"
)

func runChecklistJSON(t *testing.T, args ...string) (*checklist.Report, int, string) {
	t.Helper()
	code, out, errOut := runDbg(t, nil, append([]string{"checklist", "-o", "json"}, args...)...)
	if code != 0 && code != 3 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep checklist.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return &rep, code, errOut
}

// TestChecklistNamesThePlantedRootCause: on every bundled incident the planted fault is the top
// hypothesis, and its evidence names spans, queries or templates to check.
func TestChecklistNamesThePlantedRootCause(t *testing.T) {
	for _, s := range incidentgen.Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			rep, _, _ := runChecklistJSON(t, "--from", filepath.Join("..", "testdata", "incidents", s.Name))
			if len(rep.Steps) != 10 {
				t.Fatalf("%d steps", len(rep.Steps))
			}
			for i, st := range rep.Steps {
				if int(st.Number) != i+1 || st.Name == "" || st.Status == "" || st.Queries == nil {
					t.Errorf("step %d malformed: %+v", i+1, st)
				}
			}
			top := rep.TopRootCause()
			if s.Kind == "" { // no fault: no cause above low severity
				for _, f := range rep.Findings {
					if f.Tier != checklist.TierSymptom && f.Severity.Rank() < 3 {
						t.Errorf("false alarm on a healthy system: %s %s %.2f %s", f.Severity, f.Kind, f.Score, f.Title)
					}
				}
				return
			}
			if top == nil {
				t.Fatalf("no root cause; findings %+v", rep.Findings)
			}
			if top.Kind != s.Kind || top.Service != s.Service || (s.Operation != "" && top.Operation != s.Operation) {
				t.Errorf("top hypothesis %s %s %q (%s), want %s %s %q", top.Kind, top.Service, top.Operation, top.Title, s.Kind, s.Service, s.Operation)
			}
			if len(top.Evidence) == 0 || top.Recommendation == "" {
				t.Errorf("root cause without evidence or recommendation: %+v", top)
			}
			if s.Kind != "memory_leak" && s.Kind != "traffic_spike" && len(top.TraceIDs) == 0 {
				t.Errorf("trace-based root cause names no traces: %+v", top)
			}
			for i, f := range rep.Findings {
				if f.Tier == checklist.TierSymptom {
					for _, g := range rep.Findings[i:] {
						if g.Tier != checklist.TierSymptom {
							t.Errorf("cause %q ranked after a symptom", g.Title)
						}
					}
					break
				}
			}
		})
	}
}

// TestChecklistPartialSources: with one source missing the other steps run and the report says which
// step was skipped and why.
func TestChecklistPartialSources(t *testing.T) {
	src := filepath.Join("..", "testdata", "incidents", "slow-dependency")
	for _, drop := range []struct {
		file  string
		steps []int
		kind  string
	}{
		{bundle.LogsFile, []int{5}, "logs"},
		{bundle.MetricsFile, nil, "metrics"},
		{bundle.TracesFile, []int{2, 4, 6}, "traces"},
	} {
		t.Run("without "+drop.kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			copyBundle(t, src, dir, drop.file)
			rep, _, _ := runChecklistJSON(t, "--from", dir)
			if len(rep.Steps) != 10 {
				t.Fatalf("%d steps", len(rep.Steps))
			}
			for _, n := range drop.steps {
				st := rep.Steps[n-1]
				if st.Status != checklist.StatusSkipped || !strings.Contains(st.Summary, "no ") {
					t.Errorf("step %d: %s %q, want skipped with the reason", n, st.Status, st.Summary)
				}
			}
			for _, s := range rep.Sources {
				if s.Kind == drop.kind && s.Status != "not_configured" {
					t.Errorf("source %s status %s", s.Kind, s.Status)
				}
			}
			if drop.kind != "traces" {
				if top := rep.TopRootCause(); top == nil || top.Service != "fraud-check" {
					t.Errorf("without %s the root cause is %+v", drop.kind, top)
				}
			}
		})
	}
}

func copyBundle(t *testing.T, from, to, skip string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == skip {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChecklistVerify: a report taken during the incident, verified after the fault is gone, marks
// the cause resolved and exits 0; verified against the incident still going, exits 3.
func TestChecklistVerify(t *testing.T) {
	dir := t.TempDir()
	before := filepath.Join(dir, "before.json")
	code, out, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/slow-dependency", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if err := os.WriteFile(before, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, code, _ := runChecklistJSON(t, "--from", "../testdata/incidents/healthy", "--verify", before)
	if code != 0 || rep.Verification == nil || len(rep.Verification.Resolved) == 0 || len(rep.Verification.Persisting) != 0 {
		t.Fatalf("after the fix: exit %d, verification %+v", code, rep.Verification)
	}
	found := false
	for _, r := range rep.Verification.Resolved {
		found = found || r.Service == "fraud-check" && r.Kind == "slow_span"
	}
	if !found {
		t.Errorf("the slow fraud-check is not among the resolved: %+v", rep.Verification.Resolved)
	}
	if rep.Steps[8].Status != checklist.StatusOK {
		t.Errorf("step 9 status %s", rep.Steps[8].Status)
	}
	rep, code, _ = runChecklistJSON(t, "--from", "../testdata/incidents/slow-dependency", "--verify", before)
	if code != ExitFailOn || len(rep.Verification.Persisting) == 0 {
		t.Errorf("still broken: exit %d, verification %+v", code, rep.Verification)
	}
}

func TestChecklistFailOnAndPostmortem(t *testing.T) {
	pm := filepath.Join(t.TempDir(), "pm.md")
	code, _, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/error-burst", "--fail-on", "high", "--postmortem", pm)
	if code != ExitFailOn || !strings.Contains(errOut, "--fail-on high") {
		t.Errorf("exit %d, stderr %q; want 3", code, errOut)
	}
	b, err := os.ReadFile(pm)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Postmortem (draft)", "## Timeline", "## Root cause", "redis.PoolTimeoutError", "## Action items", "## Impact"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("postmortem lacks %q", want)
		}
	}
	if code, _, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/healthy", "--fail-on", "medium"); code != 0 {
		t.Errorf("healthy with --fail-on medium: exit %d %s", code, errOut)
	}
}

func TestChecklistBadInput(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"checklist"}, 2, "--service is required"},
		{[]string{"checklist", "--from", "/nonexistent/bundle"}, 1, "bundle /nonexistent/bundle"},
		{[]string{"checklist", "--from", "../testdata/traces"}, 1, "not a dbg bundle"},
		{[]string{"checklist", "--from", "../testdata/incidents/healthy", "--fail-on", "urgent"}, 2, "--fail-on"},
		{[]string{"checklist", "--from", "../testdata/incidents/healthy", "--verify", "../testdata/traces/checkout.json"}, 1, "not a dbg checklist JSON report"},
		{[]string{"checklist", "--service", "x", "--since", "yesterday"}, 2, "--since"},
		{[]string{"checklist", "--from", "../testdata/incidents/healthy", "-o", "yaml"}, 2, "--output"},
	}
	for _, c := range cases {
		code, out, errOut := runDbg(t, nil, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d stderr %q stdout %d bytes; want exit %d and %q on one line", c.args, code, errOut, len(out), c.code, c.want)
		}
	}
}

// TestChecklistNoSources: nothing configured still gives a report that says so, step by step.
func TestChecklistNoSources(t *testing.T) {
	rep, _, _ := runChecklistJSON(t, "--service", "payment")
	skipped := 0
	for _, s := range rep.Steps {
		if s.Status == checklist.StatusSkipped {
			skipped++
		}
	}
	if skipped < 5 || !strings.Contains(rep.Answer, "No anomaly") {
		t.Errorf("skipped %d steps; answer %q", skipped, rep.Answer)
	}
}

func TestChecklistGolden(t *testing.T) {
	for _, f := range []struct{ format, file string }{{"table", "checklist-error-burst.txt"}, {"markdown", "checklist-error-burst.md"}, {"json", "checklist-error-burst.json"}} {
		code, out, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/error-burst", "-o", f.format)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		golden(t, f.file, []byte(normalizeDurations(out)))
	}
}

// normalizeDurations blanks the measured step durations, the one thing that differs between runs.
func normalizeDurations(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.Index(l, `"duration_ms": `); j >= 0 && strings.HasPrefix(strings.TrimSpace(l), `"duration_ms"`) && !strings.Contains(l, "{") {
			if k := strings.IndexAny(l[j:], ",\n"); k > 0 && inStep(lines, i) {
				lines[i] = l[:j] + `"duration_ms": 0` + l[j+k:]
			}
		}
		if j := strings.Index(l, " ms): "); j > 0 && strings.Contains(l, "** — ") {
			k := strings.LastIndex(l[:j], "(")
			lines[i] = l[:k+1] + "0" + l[j:]
		}
	}
	return strings.Join(lines, "\n")
}

// inStep: the line belongs to a step object (steps carry "duration_ms" next to "status").
func inStep(lines []string, i int) bool {
	for j := i; j >= 0 && j > i-6; j-- {
		if strings.Contains(lines[j], `"status":`) {
			return true
		}
	}
	return false
}

// TestChecklistReportRoundTrip: a JSON report read back (--verify's input) holds every step's outcome
// typed, so writing it again gives the same document byte for byte.
func TestChecklistReportRoundTrip(t *testing.T) {
	for _, name := range []string{"error-burst", "memory-leak", "n-plus-one-after-deploy"} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, "checklist", "-o", "json", "--from", filepath.Join("..", "testdata", "incidents", name))
			if code != 0 && code != 3 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rep checklist.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if m := rep.Step(checklist.StepMetrics); m == nil || m.Outcome.Tables == nil {
				t.Fatalf("metrics tables lost in the round trip: %+v", m)
			}
			if s := rep.Step(checklist.StepTraces); s == nil || s.Outcome.Sample == nil || s.Outcome.Sample.WindowTraces == 0 {
				t.Fatalf("trace sample lost in the round trip: %+v", s)
			}
			var again bytes.Buffer
			if err := render.JSON(&again, &rep); err != nil {
				t.Fatal(err)
			}
			if again.String() != out {
				t.Errorf("report differs after a JSON round trip:\n%s", firstDiff(out, again.String()))
			}
		})
	}
}

// TestChecklistJaegerUILinks: with --jaeger-ui-url every finding that names a trace carries the Jaeger
// UI deep link `dbg trace` would give it, in the ranked list and in the steps (the option was once
// passed to the checklist and never read, so the links were empty).
func TestChecklistJaegerUILinks(t *testing.T) {
	bundle := filepath.Join("..", "testdata", "incidents", "error-burst")
	rep, _, _ := runChecklistJSON(t, "--from", bundle, "--jaeger-ui-url", "http://jaeger.example:16686/")
	withTrace := 0
	check := func(where string, fs []investigate.Finding) {
		for _, f := range fs {
			if len(f.TraceIDs) == 0 {
				continue
			}
			withTrace++
			want := "http://jaeger.example:16686/trace/" + f.TraceIDs[0]
			if len(f.Links) == 0 || !strings.HasPrefix(f.Links[0], want) {
				t.Errorf("%s: %s %s: links %v, want %s...", where, f.Kind, f.Service, f.Links, want)
			}
		}
	}
	check("findings", rep.Findings)
	for _, s := range rep.Steps {
		check(fmt.Sprintf("step %d", s.Number), s.Findings)
	}
	if withTrace == 0 {
		t.Fatal("no finding names a trace: the test checks nothing")
	}
	// Without the flag, no link is invented.
	rep, _, _ = runChecklistJSON(t, "--from", bundle)
	for _, f := range rep.Findings {
		for _, l := range f.Links {
			if strings.Contains(l, "/trace/") {
				t.Errorf("%s: a trace link without --jaeger-ui-url: %s", f.Kind, l)
			}
		}
	}
}
