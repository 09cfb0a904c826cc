package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/dbgtool/dbg/probe"
)

// Verdicts of a run.
const (
	Confirmed    = "confirmed"
	Refuted      = "refuted"
	Inconclusive = "inconclusive"
)

// Thresholds of the verdict, as shares of the expected change: a fault that moves the probe by at least
// half of what the hypothesis predicts reproduces it (the rest is lost to parallel paths and noise); a
// fault that moves it by less than a fifth does not reach what users feel. In between, the run cannot
// tell, and says so.
const (
	ConfirmShare = 0.5
	RefuteShare  = 0.2
	// RecoverShare: after the fault is cleared the probe must be back within this share of the
	// expected change of the baseline, or the change cannot be pinned on the fault.
	RecoverShare = 0.35
)

// Injector switches a fault on and off (the proxy's admin endpoint).
type Injector interface {
	Inject(ctx context.Context, f ProxyFaults) error
	Clear(ctx context.Context) error
}

// StatsReader is an injector that can say how much traffic it saw.
type StatsReader interface {
	Stats(ctx context.Context) (ProxyStats, error)
}

// RunOptions say what a run does.
type RunOptions struct {
	Experiment Experiment
	// Probe measures the investigated service, the same way in each phase.
	Probe    probe.Options
	Injector Injector
	// Settle is the wait after injecting and after clearing, before probing (default 1 s).
	Settle time.Duration
	// Phase, when set, is told each phase as it starts (a progress line).
	Phase func(name string)
}

// RunResult is `dbg chaos run`'s output.
type RunResult struct {
	Experiment string      `json:"experiment"`
	Hypothesis Hypothesis  `json:"hypothesis"`
	Inject     string      `json:"inject"`
	Faults     ProxyFaults `json:"faults"`
	Verdict    string      `json:"verdict"`
	Evidence   []string    `json:"evidence"`
	Checks     []RunCheck  `json:"checks"`
	// ProxyRequests is how many requests (HTTP) or chunks (TCP) passed the proxy while the fault was
	// on, -1 when unknown.
	ProxyRequests int64         `json:"proxy_requests"`
	Baseline      *probe.Result `json:"baseline"`
	Injected      *probe.Result `json:"injected"`
	Cleared       *probe.Result `json:"cleared"`
}

// RunCheck is one expectation measured over the three phases.
type RunCheck struct {
	Metric   string  `json:"metric"`
	Expected float64 `json:"expected_delta"`
	Baseline float64 `json:"baseline"`
	Injected float64 `json:"injected"`
	Cleared  float64 `json:"cleared"`
	// Reproduced is (injected − baseline) ÷ expected.
	Reproduced float64 `json:"reproduced"`
	Recovered  bool    `json:"recovered"`
}

func metricOf(r *probe.Result, m string) float64 {
	switch m {
	case "p50_ms":
		return r.Latency.P50Ms
	case "p99_ms":
		return r.Latency.P99Ms
	case "error_ratio":
		return 1 - r.SuccessRatio
	}
	return 0
}

// Run does baseline probe → inject → probe → clear → probe and judges the hypothesis. The fault is
// always cleared before Run returns, whatever happened.
func Run(ctx context.Context, o RunOptions) (res *RunResult, err error) {
	e := o.Experiment
	if e.Proxy == nil {
		return nil, fmt.Errorf("chaos run: experiment %s (%s) cannot be made by the proxy; apply its Chaos Mesh manifest instead", e.ID, e.Fault.Type)
	}
	if len(e.Expect) == 0 {
		return nil, fmt.Errorf("chaos run: experiment %s has no expectation to test", e.ID)
	}
	settle := o.Settle
	if settle <= 0 {
		settle = time.Second
	}
	phase := func(n string) {
		if o.Phase != nil {
			o.Phase(n)
		}
	}
	res = &RunResult{Experiment: e.ID, Hypothesis: e.Hypothesis, Inject: e.Inject, Faults: *e.Proxy, Evidence: []string{}, Checks: []RunCheck{}, ProxyRequests: -1}
	// Start clean: a fault left over from an interrupted run would poison the baseline.
	if err := o.Injector.Clear(ctx); err != nil {
		return nil, err
	}
	phase("baseline")
	if res.Baseline, err = probe.Run(ctx, o.Probe); err != nil {
		return nil, fmt.Errorf("chaos run: baseline probe: %w", err)
	}
	before := statsOf(ctx, o.Injector)
	phase("inject " + e.Proxy.String())
	if err := o.Injector.Inject(ctx, *e.Proxy); err != nil {
		return nil, err
	}
	defer func() {
		// Clear with a context of its own: the run's may be cancelled (Ctrl-C) by now.
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if cerr := o.Injector.Clear(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("chaos run: clearing the fault: %w (clear it by hand: DELETE /faults on the proxy's admin)", cerr)
		}
	}()
	if err := sleep(ctx, settle); err != nil {
		return nil, err
	}
	res.Injected, err = probe.Run(ctx, o.Probe)
	if err != nil {
		return nil, fmt.Errorf("chaos run: probe under the fault: %w", err)
	}
	if after := statsOf(ctx, o.Injector); before != nil && after != nil {
		res.ProxyRequests = after.Requests - before.Requests
	}
	phase("clear")
	if err := o.Injector.Clear(ctx); err != nil {
		return nil, err
	}
	if err := sleep(ctx, settle); err != nil {
		return nil, err
	}
	if res.Cleared, err = probe.Run(ctx, o.Probe); err != nil {
		return nil, fmt.Errorf("chaos run: probe after clearing: %w", err)
	}
	judge(res, e)
	return res, nil
}

func statsOf(ctx context.Context, inj Injector) *ProxyStats {
	sr, ok := inj.(StatsReader)
	if !ok {
		return nil
	}
	s, err := sr.Stats(ctx)
	if err != nil {
		return nil
	}
	return &s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// judge sets the verdict from the three probes (see ConfirmShare, RefuteShare, RecoverShare).
func judge(res *RunResult, e Experiment) {
	b, in, cl := res.Baseline, res.Injected, res.Cleared
	allReproduced, noneMoved, allRecovered := true, true, true
	for _, x := range e.Expect {
		c := RunCheck{Metric: x.Metric, Expected: x.Delta, Baseline: metricOf(b, x.Metric), Injected: metricOf(in, x.Metric), Cleared: metricOf(cl, x.Metric)}
		if x.Delta > 0 {
			c.Reproduced = math.Round((c.Injected-c.Baseline)/x.Delta*1000) / 1000
		}
		c.Recovered = math.Abs(c.Cleared-c.Baseline) <= RecoverShare*x.Delta
		allReproduced = allReproduced && c.Reproduced >= ConfirmShare
		noneMoved = noneMoved && c.Reproduced < RefuteShare
		allRecovered = allRecovered && c.Recovered
		res.Checks = append(res.Checks, c)
		res.Evidence = append(res.Evidence, fmt.Sprintf("%s: baseline %s → under the fault %s → cleared %s; expected +%s, reproduced %.0f%%",
			x.Metric, fmtMetric(x.Metric, c.Baseline), fmtMetric(x.Metric, c.Injected), fmtMetric(x.Metric, c.Cleared), fmtMetric(x.Metric, x.Delta), c.Reproduced*100))
	}
	if res.ProxyRequests >= 0 {
		res.Evidence = append(res.Evidence, fmt.Sprintf("the proxy passed %d requests while the fault was on (the probe sent %d)", res.ProxyRequests, in.Requests))
	}
	switch {
	case b.Requests == 0 || b.SuccessRatio < 0.5:
		res.Verdict = Inconclusive
		res.Evidence = append(res.Evidence, fmt.Sprintf("the baseline itself failed (success %.0f%%): fix the probe target first", b.SuccessRatio*100))
	case allReproduced && allRecovered:
		res.Verdict = Confirmed
		res.Evidence = append(res.Evidence, "the fault reproduced the predicted change and it went away with the fault: the hypothesis explains the symptom")
	case noneMoved:
		res.Verdict = Refuted
		why := "the fault at this place does not reach the probed service's users: the hypothesis does not explain the symptom"
		if res.ProxyRequests == 0 {
			why += " (no probe traffic passed the proxy: this edge is not on the probed request's path — or the proxy is not wired in; check with GET /faults)"
		}
		res.Evidence = append(res.Evidence, why)
	case allReproduced:
		res.Verdict = Inconclusive
		res.Evidence = append(res.Evidence, "the change did not go away when the fault was cleared: something else moved too; run again")
	default:
		res.Verdict = Inconclusive
		res.Evidence = append(res.Evidence, fmt.Sprintf("the fault moved the probe by between %.0f%% and %.0f%% of the prediction: partly on the path, or noise; run longer (--duration) or at a higher rate", RefuteShare*100, ConfirmShare*100))
	}
}

func fmtMetric(m string, v float64) string {
	if m == "error_ratio" {
		return fmt.Sprintf("%.1f%%", v*100)
	}
	return fmt.Sprintf("%.0fms", v)
}

// Stats reads the proxy's counters.
func (a AdminClient) Stats(ctx context.Context) (ProxyStats, error) {
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(a.URL, "/")+"/faults", nil)
	if err != nil {
		return ProxyStats{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return ProxyStats{}, err
	}
	defer resp.Body.Close()
	var st ProxyState
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAdminBody)).Decode(&st); err != nil {
		return ProxyStats{}, err
	}
	return st.Stats, nil
}

// ErrNoPlan says a file is not a plan.
var ErrNoPlan = errors.New("not a dbg chaos plan (make one with dbg chaos plan --from REPORT.json -o json)")

// DecodePlan reads a plan written by `dbg chaos plan -o json`.
func DecodePlan(data []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil || p.Experiments == nil {
		return nil, ErrNoPlan
	}
	return &p, nil
}

// Pick returns the experiment with id, or the first one the proxy can make when id is "".
func (p *Plan) Pick(id string) (*Experiment, error) {
	var ids []string
	for i := range p.Experiments {
		e := &p.Experiments[i]
		if id == "" && e.Proxy != nil || id != "" && e.ID == id {
			return e, nil
		}
		ids = append(ids, e.ID)
	}
	if id == "" {
		return nil, errors.New("chaos run: no experiment of the plan can be made by the proxy (network delay/partition/bandwidth, HTTP delay/abort/replace); apply the manifests instead")
	}
	return nil, fmt.Errorf("chaos run: no experiment %q in the plan (it has %s)", id, strings.Join(ids, ", "))
}
