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

func (symptomStep) Number() int  { return 1 }
func (symptomStep) Name() string { return "Identify the symptom" }

func (symptomStep) Run(ctx context.Context, inv *Investigation, _ map[int]*StepResult) StepResult {
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
		cohorts := Cohorts(tev.Window, tev.Baseline, inv.Service)
		if len(cohorts) > 0 {
			res.Details = map[string]any{"cohorts": cohorts}
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
		if failed(r) {
			s.failingTraces = append(s.failingTraces, r.TraceID)
		}
	}
	if s.n == 0 {
		return s
	}
	sort.Float64s(s.durations)
	s.p50, s.p99 = quantile(s.durations, 0.5), quantile(s.durations, 0.99)
	s.errRatio = float64(len(s.failingTraces)) / float64(s.n)
	return s
}

// failed: the request itself failed (its root span is an error).
func failed(r *investigate.TraceReport) bool {
	if r.Tree == nil {
		return false
	}
	root := r.Tree.Root()
	return root >= 0 && r.IsError[root]
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)-1) + 0.5)
	return sorted[min(i, len(sorted)-1)]
}

func traceSymptoms(service string, cur, base signals, queries []string) []investigate.Finding {
	var out []investigate.Finding
	q := strings.Join(queries, "; ")
	if base.n > 0 && base.p99 > 0 && cur.p99 >= 1.5*base.p99 && cur.p99-base.p99 >= 5 {
		ratio := cur.p99 / base.p99
		out = append(out, investigate.Finding{
			Kind: investigate.KindLatencyHotspot, Service: service, Operation: "(all traced requests)",
			Score: clamp(0.3 + 0.2*(ratio-1)),
			Title: fmt.Sprintf("%s requests got slower: p99 %.0fms vs %.0fms in the baseline (%.1fx)", service, cur.p99, base.p99, ratio),
			Evidence: map[string]any{"p99_ms": round(cur.p99), "baseline_p99_ms": round(base.p99), "ratio": round(ratio),
				"query": q, "p50_ms": round(cur.p50), "baseline_p50_ms": round(base.p50), "source": "trace sample"},
		})
	}
	if cur.errRatio >= 0.02 && cur.errRatio >= 2*base.errRatio {
		out = append(out, investigate.Finding{
			Kind: investigate.KindErrorHotspot, Service: service, Operation: "(all traced requests)",
			Score:    clamp(0.3 + cur.errRatio),
			Title:    fmt.Sprintf("%s requests fail: %.0f%% of traces vs %.0f%% in the baseline", service, cur.errRatio*100, base.errRatio*100),
			TraceIDs: capIDs(cur.failingTraces, 10),
			Evidence: map[string]any{"error_rate": len(cur.failingTraces), "error_ratio": round(cur.errRatio),
				"baseline_error_ratio": round(base.errRatio), "query": q, "source": "trace sample"},
		})
	}
	return out
}

// Cohort is a request attribute value that bad (failed or slow) traces share far more than good ones.
type Cohort struct {
	Attribute     string  `json:"attribute"`
	Value         string  `json:"value"`
	Traces        int     `json:"traces"`
	BadRatio      float64 `json:"bad_ratio"`
	OtherBadRatio float64 `json:"other_bad_ratio"`
	Lift          float64 `json:"lift"`
}

// cohortKeys are the attributes worth comparing: who the request was for and which build served it.
var cohortKeys = []string{"service.version", "deployment.environment", "cloud.region", "region", "k8s.pod.name",
	"host.name", "tenant", "tenant.id", "user.tier", "customer.tier", "http.route", "http.request.method",
	"http.method", "app.version", "version", "client.address"}

// Cohorts compares bad and good traces of the window. A trace is bad when it failed or is slower than
// the baseline's p90 (the window's p75 without a baseline). Attribute values are read from the
// investigated service's spans (and their resource).
func Cohorts(window, baseline []*investigate.TraceReport, service string) []Cohort {
	if len(window) < 6 {
		return nil
	}
	threshold := quantile(sortedDurations(baseline), 0.9)
	if len(baseline) < 6 {
		threshold = quantile(sortedDurations(window), 0.75)
	}
	type counts struct{ n, bad int }
	per := map[[2]string]*counts{}
	totalBad := 0
	for _, r := range window {
		bad := failed(r) || r.DurationMs > threshold
		if bad {
			totalBad++
		}
		seen := map[[2]string]bool{}
		for _, i := range r.Tree.Order {
			s := r.Tree.Span(i)
			if s.Service != service {
				continue
			}
			for _, k := range cohortKeys {
				if v, ok := s.Attr(k); ok && v != "" {
					seen[[2]string{k, v}] = true
				}
			}
		}
		for kv := range seen {
			c := per[kv]
			if c == nil {
				c = &counts{}
				per[kv] = c
			}
			c.n++
			if bad {
				c.bad++
			}
		}
	}
	n := len(window)
	if totalBad == 0 || totalBad == n {
		return nil
	}
	var out []Cohort
	for kv, c := range per {
		if c.n < 3 || c.n == n {
			continue // too rare to say, or every trace has it
		}
		badRatio := float64(c.bad) / float64(c.n)
		otherBad := float64(totalBad-c.bad) / float64(n-c.n)
		lift := badRatio / max(otherBad, 0.01)
		if badRatio < 0.5 || lift < 2 {
			continue
		}
		out = append(out, Cohort{Attribute: kv[0], Value: kv[1], Traces: c.n, BadRatio: round(badRatio), OtherBadRatio: round(otherBad), Lift: round(lift)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Lift != out[j].Lift {
			return out[i].Lift > out[j].Lift
		}
		if out[i].Traces != out[j].Traces {
			return out[i].Traces > out[j].Traces
		}
		return out[i].Attribute+out[i].Value < out[j].Attribute+out[j].Value
	})
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

func sortedDurations(reps []*investigate.TraceReport) []float64 {
	d := make([]float64, 0, len(reps))
	for _, r := range reps {
		d = append(d, r.DurationMs)
	}
	sort.Float64s(d)
	return d
}

func clamp(x float64) float64 { return max(0, min(1, x)) }

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func capIDs(ids []string, n int) []string {
	if len(ids) > n {
		return ids[:n]
	}
	return ids
}
