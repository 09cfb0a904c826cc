package investigate

import "sort"

// RequestFailed reports whether the request itself failed: its root span is an error.
func (r *TraceReport) RequestFailed() bool {
	if r.Tree == nil {
		return false
	}
	root := r.Tree.Root()
	return root >= 0 && r.IsError[root]
}

// Quantile is the value at quantile q of sorted values, by the nearest index q·(n-1) rounded (the
// checklist's trace-sample figures); 0 for none.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)-1) + 0.5)
	return sorted[min(i, len(sorted)-1)]
}

// Round3 rounds to three decimals, as every figure in a finding's evidence is.
func Round3(x float64) float64 { return round3(x) }

// Clamp01 bounds a score to [0, 1] (NaN becomes 0).
func Clamp01(x float64) float64 { return clamp01(x) }

// EvidenceNum reads a numeric evidence value of any of the types the analyses store; 0 otherwise.
func EvidenceNum(v any) float64 { return num(v) }

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
func Cohorts(window, baseline []*TraceReport, service string) []Cohort {
	if len(window) < 6 {
		return nil
	}
	threshold := Quantile(sortedDurations(baseline), 0.9)
	if len(baseline) < 6 {
		threshold = Quantile(sortedDurations(window), 0.75)
	}
	type counts struct{ n, bad int }
	per := map[[2]string]*counts{}
	totalBad := 0
	for _, r := range window {
		bad := r.RequestFailed() || r.DurationMs > threshold
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
		out = append(out, Cohort{Attribute: kv[0], Value: kv[1], Traces: c.n, BadRatio: round3(badRatio), OtherBadRatio: round3(otherBad), Lift: round3(lift)})
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

func sortedDurations(reps []*TraceReport) []float64 {
	d := make([]float64, 0, len(reps))
	for _, r := range reps {
		d = append(d, r.DurationMs)
	}
	sort.Float64s(d)
	return d
}
