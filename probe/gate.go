package probe

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Verdict is the outcome of --expect or --compare: pass when every check holds.
type Verdict struct {
	Pass   bool    `json:"pass"`
	Checks []Check `json:"checks"`
}

// Check is one condition and what was measured.
type Check struct {
	// Expr is the condition as written ("p99<300ms") or derived from the earlier probe.
	Expr   string  `json:"expr"`
	Metric string  `json:"metric"`
	Actual float64 `json:"actual"`
	Limit  float64 `json:"limit"`
	Pass   bool    `json:"pass"`
}

// Expectation is one parsed --expect condition: metric op value. Latencies are in ms, errors and
// success in ratio (0..1), rate in requests/s.
type Expectation struct {
	Expr   string
	Metric string
	Op     string
	Value  float64
}

// metrics a gate can name, with how each is read from a result.
var gateMetrics = map[string]func(*Result) float64{
	"p50":     func(r *Result) float64 { return r.Latency.P50Ms },
	"p90":     func(r *Result) float64 { return r.Latency.P90Ms },
	"p95":     func(r *Result) float64 { return r.Latency.P95Ms },
	"p99":     func(r *Result) float64 { return r.Latency.P99Ms },
	"max":     func(r *Result) float64 { return r.Latency.MaxMs },
	"mean":    func(r *Result) float64 { return r.Latency.MeanMs },
	"errors":  func(r *Result) float64 { return 1 - r.SuccessRatio },
	"success": func(r *Result) float64 { return r.SuccessRatio },
	"rate":    func(r *Result) float64 { return r.Rate },
}

func isLatency(m string) bool { return m != "errors" && m != "success" && m != "rate" }

// ParseExpect reads "p99<300ms,errors<1%,rate>=45": latencies take a Go duration (or plain ms),
// errors/success a percentage or a ratio, rate requests per second.
func ParseExpect(s string) ([]Expectation, error) {
	var out []Expectation
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.IndexAny(part, "<>=")
		if i <= 0 {
			return nil, fmt.Errorf("--expect %q: want METRIC<VALUE, e.g. p99<300ms or errors<1%%", part)
		}
		metric := strings.ToLower(strings.TrimSpace(part[:i]))
		rest, op := part[i:], ""
		for _, cand := range []string{"<=", ">=", "==", "<", ">", "="} {
			if strings.HasPrefix(rest, cand) {
				op = cand
				break
			}
		}
		val := strings.TrimSpace(rest[len(op):])
		if op == "=" {
			op = "=="
		}
		if _, ok := gateMetrics[metric]; !ok {
			return nil, fmt.Errorf("--expect %q: unknown metric %q (want p50, p90, p95, p99, max, mean, errors, success, rate)", part, metric)
		}
		v, err := parseGateValue(metric, val)
		if err != nil {
			return nil, fmt.Errorf("--expect %q: %v", part, err)
		}
		out = append(out, Expectation{Expr: part, Metric: metric, Op: op, Value: v})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--expect %q: no condition (e.g. p99<300ms,errors<1%%)", s)
	}
	return out, nil
}

func parseGateValue(metric, v string) (float64, error) {
	switch {
	case isLatency(metric):
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, nil // plain number: milliseconds
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration (300ms, 1.5s)", v)
		}
		return float64(d) / 1e6, nil
	case metric == "rate":
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "/s"), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a rate in requests/s", v)
		}
		return f, nil
	}
	pct := strings.HasSuffix(v, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || f < 0 || (pct && f > 100) || (!pct && f > 1) {
		return 0, fmt.Errorf("%q: want a percentage (1%%) or a ratio (0.01)", v)
	}
	if pct {
		f /= 100
	}
	return f, nil
}

func holds(actual float64, op string, limit float64) bool {
	switch op {
	case "<":
		return actual < limit
	case "<=":
		return actual <= limit
	case ">":
		return actual > limit
	case ">=":
		return actual >= limit
	}
	return math.Abs(actual-limit) < 1e-9
}

// Evaluate checks the expectations against a result.
func Evaluate(r *Result, exp []Expectation) *Verdict {
	v := &Verdict{Pass: true, Checks: []Check{}}
	for _, e := range exp {
		actual := gateMetrics[e.Metric](r)
		c := Check{Expr: e.Expr, Metric: e.Metric, Actual: round3(actual), Limit: e.Value, Pass: holds(actual, e.Op, e.Value)}
		if r.Requests == 0 {
			c.Pass = false // nothing measured passes nothing
		}
		v.Pass = v.Pass && c.Pass
		v.Checks = append(v.Checks, c)
	}
	return v
}

// Compare tolerances: a latency may grow by this share plus a small absolute slack (so a 2 ms service
// is not failed for 1 ms of scheduler noise), the error ratio by one percentage point.
const (
	CompareLatencyShare = 0.20
	CompareLatencySlack = 5.0 // ms
	CompareErrorPoints  = 0.01
)

// CompareTo gates a result against an earlier one: p50 and p99 no more than 20% (+5 ms) slower, the
// error ratio no more than one point higher. Those are the regressions a rollout gate acts on; smaller
// differences are within what two runs of the same build show on a shared machine.
func CompareTo(r, before *Result) *Verdict {
	var exp []Expectation
	for _, m := range []string{"p50", "p99"} {
		b := gateMetrics[m](before)
		limit := round3(b*(1+CompareLatencyShare) + CompareLatencySlack)
		exp = append(exp, Expectation{Expr: fmt.Sprintf("%s<=%gms (earlier %gms +20%% +5ms)", m, limit, b), Metric: m, Op: "<=", Value: limit})
	}
	be := 1 - before.SuccessRatio
	limit := round3(be + CompareErrorPoints)
	exp = append(exp, Expectation{Expr: fmt.Sprintf("errors<=%g%% (earlier %g%% +1 point)", limit*100, round3(be*100)), Metric: "errors", Op: "<=", Value: limit})
	return Evaluate(r, exp)
}

// Decode reads a probe JSON result (an earlier `dbg probe -o json`).
func Decode(data []byte) (*Result, error) {
	var r Result
	if err := json.Unmarshal(data, &r); err != nil || r.Requests == 0 && r.URL == "" {
		return nil, ErrNoData
	}
	return &r, nil
}

// ParseRate reads a --rate value: "50/s", "50" (per second), "300/1m", "5/100ms".
func ParseRate(s string) (vegeta.Rate, error) {
	num, per, found := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n <= 0 {
		return vegeta.Rate{}, fmt.Errorf("--rate %q: want N/s, N/1m or N/100ms with N > 0", s)
	}
	d := time.Second
	if found {
		p := strings.TrimSpace(per)
		if p != "" && (p[0] < '0' || p[0] > '9') {
			p = "1" + p
		}
		if d, err = time.ParseDuration(p); err != nil || d <= 0 {
			return vegeta.Rate{}, fmt.Errorf("--rate %q: %q is not a period (s, 1m, 100ms)", s, per)
		}
	}
	return vegeta.Rate{Freq: n, Per: d}, nil
}

// PerSecond is a rate of n requests a second.
func PerSecond(n int) vegeta.Rate { return vegeta.Rate{Freq: n, Per: time.Second} }
