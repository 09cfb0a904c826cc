package checklist

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// symptomStep: what is failing and for whom. Endpoints whose latency, errors or traffic moved against
// the baseline (from metrics, or from the trace sample when there are no metrics), and the request
// attributes that set failing or slow traces apart (a cohort comparison).
type symptomStep struct{}

func (symptomStep) Number() StepID { return StepSymptom }
func (symptomStep) Name() string   { return "Identify the symptom" }

func (symptomStep) Run(ctx context.Context, inv *Investigation, _ map[StepID]*StepResult) StepResult {
	var res StepResult
	var notes []string
	mev, merr := inv.Metrics(ctx)
	if merr == nil {
		for _, f := range mev.Report.Findings {
			switch f.Kind {
			case investigate.KindLatencyHotspot, investigate.KindErrorHotspot, investigate.KindTrafficSpike:
				res.Findings = append(res.Findings, f)
			}
		}
		res.Queries = append(res.Queries, mev.Queries...)
	}
	tev, terr := inv.Traces(ctx)
	if terr == nil && len(tev.Window) > 0 {
		cur, base := traceSignals(tev.Window), traceSignals(tev.Baseline)
		notes = append(notes, fmt.Sprintf("%d traces in the window: p50 %.0fms, p99 %.0fms, %.0f%% failed", cur.n, cur.p50, cur.p99, cur.errRatio*100))
		if base.n > 0 {
			notes = append(notes, fmt.Sprintf("baseline (%d traces): p50 %.0fms, p99 %.0fms, %.0f%% failed", base.n, base.p50, base.p99, base.errRatio*100))
		}
		if merr != nil { // no metrics: the trace sample is the symptom evidence
			res.Findings = append(res.Findings, traceSymptoms(inv.Service, cur, base, tev.Queries)...)
		}
		cohorts := investigate.Cohorts(tev.Window, tev.Baseline, inv.Service)
		if len(cohorts) > 0 {
			res.Outcome.Cohorts = cohorts
			c := cohorts[0]
			notes = append(notes, fmt.Sprintf("bad requests concentrate where %s=%s (%.0f%% bad vs %.0f%% elsewhere, %d traces)",
				c.Attribute, c.Value, c.BadRatio*100, c.OtherBadRatio*100, c.Traces))
		}
	}
	if merr != nil && terr != nil {
		r := sourceFailure(merr)
		r.Summary += "; " + sourceFailure(terr).Summary
		return r
	}
	if len(res.Findings) == 0 {
		notes = append([]string{"no endpoint moved against its baseline"}, notes...)
	} else {
		investigate.RankFindings(res.Findings)
		notes = append([]string{res.Findings[0].Title}, notes...)
	}
	res.Summary = strings.Join(notes, "; ")
	return res
}

type signals struct {
	n             int
	p50, p99      float64
	errRatio      float64
	durations     []float64
	failingTraces []string
}

func traceSignals(reps []*investigate.TraceReport) signals {
	var s signals
	for _, r := range reps {
		s.n++
		s.durations = append(s.durations, r.DurationMs)
		if r.RequestFailed() {
			s.failingTraces = append(s.failingTraces, r.TraceID)
		}
	}
	if s.n == 0 {
		return s
	}
	sort.Float64s(s.durations)
	s.p50, s.p99 = investigate.Quantile(s.durations, 0.5), investigate.Quantile(s.durations, 0.99)
	s.errRatio = float64(len(s.failingTraces)) / float64(s.n)
	return s
}

func traceSymptoms(service string, cur, base signals, queries []string) []investigate.Finding {
	var out []investigate.Finding
	q := strings.Join(queries, "; ")
	if base.n > 0 && base.p99 > 0 && cur.p99 >= 1.5*base.p99 && cur.p99-base.p99 >= 5 {
		ratio := cur.p99 / base.p99
		out = append(out, investigate.Finding{
			Kind: investigate.KindLatencyHotspot, Service: service, Operation: "(all traced requests)",
			Score: investigate.Clamp01(0.3 + 0.2*(ratio-1)),
			Title: fmt.Sprintf("%s requests got slower: p99 %.0fms vs %.0fms in the baseline (%.1fx)", service, cur.p99, base.p99, ratio),
			Evidence: map[string]any{"p99_ms": investigate.Round3(cur.p99), "baseline_p99_ms": investigate.Round3(base.p99), "ratio": investigate.Round3(ratio),
				"query": q, "p50_ms": investigate.Round3(cur.p50), "baseline_p50_ms": investigate.Round3(base.p50), "source": "trace sample"},
		})
	}
	if cur.errRatio >= 0.02 && cur.errRatio >= 2*base.errRatio {
		out = append(out, investigate.Finding{
			Kind: investigate.KindErrorHotspot, Service: service, Operation: "(all traced requests)",
			Score:    investigate.Clamp01(0.3 + cur.errRatio),
			Title:    fmt.Sprintf("%s requests fail: %.0f%% of traces vs %.0f%% in the baseline", service, cur.errRatio*100, base.errRatio*100),
			TraceIDs: capIDs(cur.failingTraces, 10),
			Evidence: map[string]any{"error_rate": len(cur.failingTraces), "error_ratio": investigate.Round3(cur.errRatio),
				"baseline_error_ratio": investigate.Round3(base.errRatio), "query": q, "source": "trace sample"},
		})
	}
	return out
}

func capIDs(ids []string, n int) []string {
	if len(ids) > n {
		return ids[:n]
	}
	return ids
}
