package checklist

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/incidentgen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/probe"
)

func f(kind, svc, op string, score float64, ev ...any) investigate.Finding {
	m := map[string]any{}
	for i := 0; i+1 < len(ev); i += 2 {
		m[ev[i].(string)] = ev[i+1]
	}
	return investigate.Finding{Kind: kind, Service: svc, Operation: op, Score: score, Evidence: m, Title: kind + " " + svc}
}

func TestRankTiers(t *testing.T) {
	cases := []struct {
		name     string
		in       []investigate.Finding
		rootKind string
		rootSvc  string
	}{
		{"a symptom is never its own cause",
			[]investigate.Finding{f("latency_hotspot", "api", "GET /", 0.95), f("slow_span", "db", "SELECT", 0.5)},
			"slow_span", "db"},
		{"only symptoms: no root cause",
			[]investigate.Finding{f("latency_hotspot", "api", "GET /", 0.95), f("error_hotspot", "api", "GET /", 0.9)},
			"", ""},
		{"the mechanism on the same operation wins over the slow span it explains",
			[]investigate.Finding{f("slow_span", "inv", "SELECT items", 0.9), f("n_plus_one", "inv", "SELECT items", 0.7)},
			"n_plus_one", "inv"},
		{"an edge yields to the cause inside its peer",
			[]investigate.Finding{f("dependency", "payment", "POST /score", 0.8, "peer", "fraud"), f("slow_span", "fraud", "POST /score", 0.7)},
			"slow_span", "fraud"},
		{"a version change without a mechanism is the cause",
			[]investigate.Finding{f("recent_change", "api", "service.version", 0.7, "from", "1", "to", "2"), f("slow_span", "api", "GET /", 0.72)},
			"recent_change", "api"},
		{"a version change with a mechanism is its trigger",
			[]investigate.Finding{f("recent_change", "api", "service.version", 0.7, "from", "1", "to", "2"), f("n_plus_one", "api", "SELECT", 0.6)},
			"n_plus_one", "api"},
		{"a traffic drop is a symptom, a spike a candidate",
			[]investigate.Finding{f("traffic_spike", "api", "GET /", 0.9, "ratio", 0.1), f("traffic_spike", "api", "POST /", 0.5, "ratio", 5.0)},
			"traffic_spike", "api"},
		{"weak evidence is not called a root cause",
			[]investigate.Finding{f("slow_query", "db", "SELECT", 0.2)},
			"", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Rank(c.in, nil)
			var root *investigate.Finding
			for i := range out {
				if out[i].Tier == TierRootCause {
					if root != nil {
						t.Fatalf("two root causes")
					}
					root = &out[i]
				}
				if out[i].Tier == "" {
					t.Errorf("finding without a tier: %+v", out[i])
				}
			}
			if c.rootKind == "" {
				if root != nil {
					t.Fatalf("root cause %+v, want none", root)
				}
				return
			}
			if root == nil || root.Kind != c.rootKind || root.Service != c.rootSvc {
				t.Fatalf("root cause %+v, want %s %s", root, c.rootKind, c.rootSvc)
			}
			if c.in[0].Evidence["corroborated_by"] != nil {
				t.Error("Rank changed its input's evidence")
			}
		})
	}
}

// fakes for the runner
type fakeTraces struct {
	traces []*investigate.Trace
	err    error
	delay  time.Duration
	panics bool
}

func (f fakeTraces) SearchTraces(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	if f.panics {
		panic("boom")
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	var out []*investigate.Trace
	for _, t := range f.traces {
		if s := t.Spans[0].Start; !s.Before(q.Start) && s.Before(q.End) {
			out = append(out, t)
		}
	}
	return out, nil
}

type fakeMetrics struct{ err error }

func (f fakeMetrics) Hotspots(context.Context, string, investigate.Window) (investigate.HotspotInput, []string, error) {
	return investigate.HotspotInput{}, nil, f.err
}

func newInv(src Sources) *Investigation {
	c, _ := incidentgen.Generate(incidentgen.SlowDependency, incidentgen.Options{Traces: 30, Seed: 3})
	if t, ok := src.Traces.(fakeTraces); ok && t.traces == nil && t.err == nil && !t.panics {
		t.traces = c.Traces
		src.Traces = t
	}
	return &Investigation{Service: "frontend", Window: c.Window(), Sources: src, Options: DefaultOptions(),
		Now: func() time.Time { return incidentgen.End }}
}

func TestRunSurvivesFailingSources(t *testing.T) {
	cases := []struct {
		name   string
		src    Sources
		step   StepID
		status Status
		want   string
	}{
		{"metrics down", Sources{Traces: fakeTraces{}, Metrics: fakeMetrics{errors.New("Prometheus at http://p:9090: connection refused")}}, StepMetrics, StatusFail, "connection refused"},
		{"traces down", Sources{Traces: fakeTraces{traces: []*investigate.Trace{}, err: errors.New("Jaeger at http://j: HTTP 503")}}, StepTraces, StatusFail, "HTTP 503"},
		{"trace source panics", Sources{Traces: fakeTraces{panics: true}}, StepTraces, StatusFail, "internal error"},
		{"no logs", Sources{Traces: fakeTraces{}}, StepLogs, StatusSkipped, "no log source configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := Run(context.Background(), newInv(c.src), nil)
			if len(rep.Steps) != 10 {
				t.Fatalf("%d steps", len(rep.Steps))
			}
			st := rep.Step(c.step)
			if st.Status != c.status || !strings.Contains(st.Summary, c.want) {
				t.Errorf("step %d: %s %q, want %s with %q", c.step, st.Status, st.Summary, c.status, c.want)
			}
			if rep.Answer == "" || rep.Steps[6].Name != "Test hypothesis" {
				t.Errorf("report incomplete: %+v", rep)
			}
		})
	}
	// The healthy parts still find the cause when metrics fail.
	rep := Run(context.Background(), newInv(cases[0].src), nil)
	if top := rep.TopRootCause(); top == nil || top.Service != "fraud-check" {
		t.Errorf("with metrics down the root cause is %+v", top)
	}
}

func TestRunHonoursTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep := Run(ctx, newInv(Sources{Traces: fakeTraces{delay: time.Minute}}), nil)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Run took %v past a 200ms deadline", el)
	}
	if rep.Steps[3].Status != StatusFail || !strings.Contains(rep.Steps[3].Summary, "deadline") {
		t.Errorf("step 4: %s %q", rep.Steps[3].Status, rep.Steps[3].Summary)
	}
	if len(rep.Steps) != 10 {
		t.Errorf("%d steps", len(rep.Steps))
	}
}

func TestVersionChangesFindTheNewVersion(t *testing.T) {
	c, _ := incidentgen.Generate(incidentgen.NPlusOneDeploy, incidentgen.Options{Traces: 60, Seed: 5})
	inv := &Investigation{Service: "inventory", Window: c.Window(), Sources: Sources{Traces: fakeTraces{traces: c.Traces}}, Options: DefaultOptions()}
	tev, err := inv.Traces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	changes := investigate.VersionChanges(tev.Window, tev.Baseline)
	if len(changes) != 1 || changes[0].Service != "inventory" || changes[0].Evidence["to"] != "1.15.0" || changes[0].Evidence["from"] != "1.14.2" {
		t.Fatalf("version changes %+v", changes)
	}
}

type fakeDB struct{ asked []string }

func (d *fakeDB) ExplainQueries(_ context.Context, qs []investigate.QueryStat, n int) (*investigate.ExplainReport, error) {
	rep := &investigate.ExplainReport{Server: "db:5432/shop"}
	for _, q := range qs[:min(n, len(qs))] {
		d.asked = append(d.asked, q.Statement)
		rep.Results = append(rep.Results, investigate.ExplainResult{Statement: q.Statement, Status: "explained",
			Plan: &investigate.PlanAnalysis{Top: "Seq Scan on items", Issues: []investigate.PlanIssue{{Node: "Seq Scan on items", Detail: "filter removed 99% of 1M rows"}},
				Indexes: []string{"CREATE INDEX CONCURRENTLY items_id_idx ON items (id);"}}})
	}
	return rep, nil
}

// TestSlowQueryPlansFromTheDatabase: with a database configured, the slow statements' plans and index
// suggestions join their findings' evidence.
func TestSlowQueryPlansFromTheDatabase(t *testing.T) {
	db := &fakeDB{}
	inv := newInv(Sources{Traces: fakeTraces{}, Database: db})
	rep := Run(context.Background(), inv, nil)
	var sq *investigate.Finding
	for i := range rep.Steps[3].Findings {
		if rep.Steps[3].Findings[i].Kind == investigate.KindSlowQuery {
			sq = &rep.Steps[3].Findings[i]
		}
	}
	if sq == nil || len(db.asked) == 0 {
		t.Fatalf("no slow query explained (asked %v)", db.asked)
	}
	if sq.Evidence["plan"] != "Seq Scan on items" || !strings.Contains(sq.Recommendation, "CREATE INDEX") {
		t.Errorf("evidence %v, recommendation %q", sq.Evidence, sq.Recommendation)
	}
	if !strings.Contains(rep.Steps[3].Summary, "explained") {
		t.Errorf("step 4 summary %q", rep.Steps[3].Summary)
	}
}

// loopProber probes a real loopback server through the probe engine.
type loopProber struct{ url string }

func (p loopProber) Probe(ctx context.Context) (*probe.Result, error) {
	return probe.Run(ctx, probe.Options{URL: p.url, Rate: probe.PerSecond(50), Requests: 3})
}

// probeTraces answers tag searches with one window trace per correlation ID.
type probeTraces struct{ fakeTraces }

func (p probeTraces) SearchTraces(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	if id := q.Tags["correlation_id"]; id != "" {
		for _, t := range p.traces {
			if t.Spans[0].Start.After(incidentgen.End.Add(-30 * time.Minute)) {
				return []*investigate.Trace{t}, nil
			}
		}
	}
	return p.fakeTraces.SearchTraces(ctx, q)
}

func TestProbeTestsTheTopHypothesis(t *testing.T) {
	old := probeWait
	probeWait = 0
	defer func() { probeWait = old }()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	inv := newInv(Sources{Traces: fakeTraces{}, Prober: loopProber{srv.URL}})
	inv.Sources.Traces = probeTraces{inv.Sources.Traces.(fakeTraces)}
	rep := Run(context.Background(), inv, nil)
	pr := rep.Step(StepHypothesis).Outcome.Probe
	if pr == nil || pr.Result.Requests != 3 || len(pr.Traces) != 3 {
		t.Fatalf("probe report %+v", pr)
	}
	if !strings.Contains(pr.Verdict, "3 of 3 probe traces go through fraud-check POST /score") {
		t.Errorf("verdict %q", pr.Verdict)
	}
	if !strings.Contains(rep.Steps[6].Summary, "probe:") {
		t.Errorf("step 7 summary %q", rep.Steps[6].Summary)
	}
}

// TestVerifyByProbe: step 9 judges a fix by probes taken before and after it, against a real server
// whose delay the "fix" removes.
func TestVerifyByProbe(t *testing.T) {
	var slow atomic.Bool
	slow.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			time.Sleep(150 * time.Millisecond)
		}
	}))
	defer srv.Close()
	run := func() *probe.Result {
		r, err := probe.Run(context.Background(), probe.Options{URL: srv.URL, Rate: probe.PerSecond(50), Requests: 25})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	before := run()
	slow.Store(false)
	after := run()
	step := func(pe *ProbeEvidence) StepResult {
		inv := newInv(Sources{})
		inv.VerifyProbe = pe
		return verifyStep{}.Run(context.Background(), inv, map[StepID]*StepResult{})
	}
	res := step(&ProbeEvidence{After: after, Before: before})
	pv := res.Outcome.ProbeVerification
	if res.Status != StatusOK || pv == nil || !pv.Resolved || !strings.Contains(res.Summary, "better beyond noise") {
		t.Errorf("fixed: %s %q", res.Status, res.Summary)
	}
	// Before and after swapped: the "fix" made it worse.
	if res := step(&ProbeEvidence{After: before, Before: after}); res.Status != StatusWarn || !strings.Contains(res.Summary, "worse") {
		t.Errorf("regressed: %s %q", res.Status, res.Summary)
	}
	// The same state twice: no measurable change.
	if res := step(&ProbeEvidence{After: after, Before: after}); res.Status != StatusWarn || !strings.Contains(res.Summary, "no measurable change") {
		t.Errorf("unchanged: %s %q", res.Status, res.Summary)
	}
	// The after-probe's own gate decides when it has one.
	exp, _ := probe.ParseExpect("p99<50ms")
	gated := *before
	gated.Verdict = probe.Evaluate(before, exp)
	if res := step(&ProbeEvidence{After: &gated}); res.Status != StatusWarn || !strings.Contains(res.Summary, "fails its own gate") {
		t.Errorf("gated: %s %q", res.Status, res.Summary)
	}
	if res := step(nil); res.Status != StatusSkipped {
		t.Errorf("no probe, no report: %s", res.Status)
	}
}
