package checklist

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// Step is one item of the checklist.
type Step interface {
	Number() StepID
	Name() string
	// Run does the step's work. It reads evidence through inv and earlier steps' results through
	// prior (complete for the steps it depends on). It fills Status, Summary, Queries, Findings and
	// its fields of the Outcome.
	Run(ctx context.Context, inv *Investigation, prior map[StepID]*StepResult) StepResult
}

// Steps are the ten steps in order.
func Steps(prev *Report) []Step {
	return []Step{symptomStep{}, changesStep{}, metricsStep{}, tracesStep{}, logsStep{}, dependenciesStep{},
		hypothesisStep{}, fixStep{}, verifyStep{previous: prev}, postmortemStep{}}
}

// independent steps (StepSymptom … StepDependencies) gather and analyse evidence; the rest reason over
// their results.
const independent = int(StepDependencies)

// Run walks the checklist. Steps 1-6 run concurrently; 7-10 run after them, in order. A step that panics,
// fails or runs out of time is reported as such and the rest of the report is still produced. prev is an
// earlier report to verify against (--verify), or nil.
func Run(ctx context.Context, inv *Investigation, prev *Report) *Report {
	if inv.Now == nil {
		inv.Now = time.Now
	}
	steps := Steps(prev)
	results := make(map[StepID]*StepResult, len(steps))
	var mu sync.Mutex
	run := func(s Step, done chan<- struct{}) {
		defer close(done)
		start := inv.Now()
		res := safeRun(ctx, s, inv, snapshot(&mu, results))
		res.Number, res.Name = s.Number(), s.Name()
		res.DurationMs = investigate.Ms(inv.Now().Sub(start))
		mu.Lock()
		if _, timedOut := results[s.Number()]; !timedOut {
			results[s.Number()] = normalizeStep(res)
		}
		mu.Unlock()
	}
	// Phase 1: evidence steps, concurrently, under the deadline.
	dones := make([]chan struct{}, independent)
	for i := 0; i < independent; i++ {
		dones[i] = make(chan struct{})
		go run(steps[i], dones[i])
	}
	for i := 0; i < independent; i++ {
		select {
		case <-dones[i]:
		case <-ctx.Done():
			mu.Lock()
			if _, ok := results[steps[i].Number()]; !ok {
				results[steps[i].Number()] = normalizeStep(StepResult{Number: steps[i].Number(), Name: steps[i].Name(),
					Status: StatusFail, Summary: deadlineSummary(inv)})
			}
			mu.Unlock()
		}
	}
	// Phase 2: reasoning steps, in order; they need no network, so they run even past the deadline.
	for _, s := range steps[independent:] {
		done := make(chan struct{})
		run(s, done)
	}
	return assemble(inv, results, prev)
}

func snapshot(mu *sync.Mutex, results map[StepID]*StepResult) map[StepID]*StepResult {
	mu.Lock()
	defer mu.Unlock()
	out := make(map[StepID]*StepResult, len(results))
	for k, v := range results {
		out[k] = v
	}
	return out
}

func safeRun(ctx context.Context, s Step, inv *Investigation, prior map[StepID]*StepResult) (res StepResult) {
	defer func() {
		if r := recover(); r != nil {
			res = StepResult{Status: StatusFail, Summary: fmt.Sprintf("internal error: %v (please report: %s)", r, firstFrame(debug.Stack()))}
		}
	}()
	return s.Run(ctx, inv, prior)
}

func firstFrame(stack []byte) string {
	lines := 0
	for i, b := range stack {
		if b == '\n' {
			lines++
			if lines == 8 {
				return string(stack[:i])
			}
		}
	}
	return string(stack)
}

// sourceFailure turns an evidence error into the step's status: skipped when the source is not
// configured, fail otherwise.
func sourceFailure(err error) StepResult {
	if errors.Is(err, errNotConfigured) {
		return StepResult{Status: StatusSkipped, Summary: "skipped: " + err.Error()[:len(err.Error())-len(": "+errNotConfigured.Error())]}
	}
	return StepResult{Status: StatusFail, Summary: "source failed: " + err.Error()}
}

func normalizeStep(r StepResult) *StepResult {
	if r.Queries == nil {
		r.Queries = []string{}
	}
	r.Findings = investigate.RankFindings(r.Findings)
	if r.Status == "" {
		r.Status = StatusOK
		if len(r.Findings) > 0 {
			r.Status = StatusWarn
		}
	}
	return &r
}

func assemble(inv *Investigation, results map[StepID]*StepResult, prev *Report) *Report {
	w := inv.Window
	rep := &Report{
		Service:     inv.Service,
		Window:      investigate.TimeRange{Start: w.Start, End: w.End},
		Baseline:    investigate.TimeRange{Start: w.BaselineStart, End: w.BaselineEnd},
		GeneratedAt: inv.Now().UTC(),
		Findings:    []investigate.Finding{},
		Timeline:    []TimelineEntry{},
	}
	for n := StepSymptom; n <= StepPostmortem; n++ {
		if r, ok := results[n]; ok {
			rep.Steps = append(rep.Steps, *r)
		}
	}
	if h, ok := results[StepHypothesis]; ok && h.Outcome.Ranked != nil {
		rep.Findings = h.Outcome.Ranked
		rep.Ranking = h.Outcome.Ranking
	}
	if v, ok := results[StepVerify]; ok {
		rep.Verification = v.Outcome.Verification
	}
	if p, ok := results[StepPostmortem]; ok && p.Outcome.Timeline != nil {
		rep.Timeline = p.Outcome.Timeline
	}
	rep.Sources = sourceStatuses(inv)
	if tev, err := inv.Traces(context.Background()); err == nil {
		rep.Exemplar = pickExemplar(rep.Findings, tev.Window)
	}
	linkReport(rep, inv.Options.JaegerUI)
	rep.Answer = answer(rep)
	return rep
}

// deadlineSummary is a step's summary when the deadline ran out: which backends had not answered.
func deadlineSummary(inv *Investigation) string {
	msg := "did not finish before the deadline (--timeout)"
	if p := inv.pendingSources(); len(p) > 0 {
		msg += "; still waiting for " + strings.Join(p, ", ")
	}
	return msg
}

// sourceStatuses says, per source, what happened to its own reads: a source is blamed for its own
// error or its own silence, never for a step that waited on another source.
func sourceStatuses(inv *Investigation) []SourceStatus {
	var out []SourceStatus
	for _, o := range inv.sourceOutcomes() {
		s := SourceStatus{Kind: o.kind, Name: o.name, Status: "ok"}
		switch {
		case !o.configured:
			s.Status = "not_configured"
		case o.started && !o.done:
			s.Status, s.Error = "error", "no answer before the deadline (--timeout)"
		case o.err != nil && !errors.Is(o.err, errNotConfigured):
			s.Status, s.Error = "error", o.err.Error()
		case !o.started:
			s.Status = "unused"
		}
		out = append(out, s)
	}
	return out
}

// allFailed says whether at least one source is configured and none of them could be read.
func allFailed(sources []SourceStatus) bool {
	configured, failed := 0, 0
	for _, s := range sources {
		if s.Status == "not_configured" || s.Status == "unused" {
			continue
		}
		configured++
		if s.Status == "error" {
			failed++
		}
	}
	return configured > 0 && failed == configured
}

// Unread lists the sources that could not be read, as "kind (name): error".
func (r *Report) Unread() []string {
	var out []string
	for _, s := range r.Sources {
		if s.Status == "error" {
			out = append(out, fmt.Sprintf("%s (%s): %s", s.Kind, s.Name, s.Error))
		}
	}
	return out
}

// NothingRead says whether every configured source failed: the report holds no evidence, and must not
// read like a healthy system.
func (r *Report) NothingRead() bool { return allFailed(r.Sources) }

// answer is the one paragraph a person reads first.
func answer(r *Report) string {
	top := r.TopRootCause()
	var sym *investigate.Finding
	for i := range r.Findings {
		if r.Findings[i].Tier == TierSymptom {
			sym = &r.Findings[i]
			break
		}
	}
	var unread []string
	for _, s := range r.Sources {
		if s.Status == "error" {
			unread = append(unread, s.Kind)
		}
	}
	switch {
	case allFailed(r.Sources):
		return fmt.Sprintf("Nothing could be read for %s: every configured source failed (%s). This is not a healthy result; see the sources below.", r.Service, strings.Join(unread, ", "))
	case top == nil && sym == nil && len(unread) > 0:
		return fmt.Sprintf("No anomaly found for %s in the evidence that could be read; %s could not be read, so this is a partial answer.", r.Service, strings.Join(unread, ", "))
	case top == nil && sym == nil:
		return fmt.Sprintf("No anomaly found for %s in this window against its baseline.", r.Service)
	case top == nil:
		return fmt.Sprintf("Symptom: %s. No cause stood out in the evidence available; see the steps for what was checked.", sym.Title)
	}
	cause := causeLine(r, top)
	if len(top.Chain) > 1 {
		return cause + " Chain: " + ChainLine(top.Chain) + "." // the chain ends in the symptom
	}
	if sym == nil {
		return cause
	}
	return cause + " Symptom: " + sym.Title + "."
}

// causeLine names the top hypothesis as firmly as the evidence allows: a tie says both and what would
// separate them, an answer that does not hold under resampling is a likely cause.
func causeLine(r *Report, top *investigate.Finding) string {
	rk := r.Ranking
	if rk != nil && len(rk.Tied) > 1 {
		names := make([]string, len(rk.Tied))
		for i, t := range rk.Tied {
			names[i] = t.Title
		}
		return fmt.Sprintf("%s; the evidence does not separate them (margin %.2f), check: %s.", strings.Join(names, " or "), rk.Margin, rk.Check)
	}
	lead := "Most likely cause"
	if top.Tier == TierLikelyCause {
		lead = "Likely cause"
	}
	s := fmt.Sprintf("%s: %s (%s, score %.2f", lead, top.Title, top.Severity, top.Score)
	if rk != nil && rk.Resamples > 0 {
		s += fmt.Sprintf(", holds in %.0f%% of %d resamples", 100*rk.Stability, rk.Resamples)
	}
	return s + ")."
}
