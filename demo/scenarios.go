package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/cmd"
	"github.com/dbgtool/dbg/internal/demo"
	"github.com/dbgtool/dbg/internal/servers"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
)

// The scenario runner: for each fault, a fresh demo system sends baseline load to real Jaeger,
// VictoriaLogs and Prometheus, the fault is injected, incident load follows, and `dbg checklist` runs
// against the live backends with the incident as its window and the baseline period as its baseline.
// Its ranked findings are compared with the injected truth. See docs/accuracy.md.

// accept is one acceptable answer for a scenario: a finding of one of Kinds on one of Services (or,
// for edges, naming one of Services as the peer), whose operation contains Op and whose evidence
// resource is Resource, when those are set.
type accept struct {
	Kinds    []string
	Services []string
	Peer     bool   // the finding's evidence peer may be in Services instead of its service
	Op       string // substring of the operation (case-insensitive), "" for any
	Resource string // evidence "resource" (saturation), "" for any
}

func (a accept) matches(f investigate.Finding) bool {
	if !slices.Contains(a.Kinds, f.Kind) {
		return false
	}
	svc := slices.Contains(a.Services, f.Service)
	if !svc && a.Peer {
		p, _ := f.Evidence["peer"].(string)
		svc = slices.Contains(a.Services, p)
	}
	if !svc {
		return false
	}
	if a.Op != "" && !strings.Contains(strings.ToLower(f.Operation), strings.ToLower(a.Op)) {
		return false
	}
	if a.Resource != "" {
		r, _ := f.Evidence["resource"].(string)
		if !strings.Contains(r, a.Resource) {
			return false
		}
	}
	return true
}

func (a accept) String() string {
	var b strings.Builder
	b.WriteString(strings.Join(a.Kinds, " or "))
	if a.Resource != "" {
		b.WriteString(" (" + a.Resource + ")")
	}
	b.WriteString(" in " + strings.Join(a.Services, "/"))
	if a.Peer {
		b.WriteString(" (or an edge to it)")
	}
	if a.Op != "" {
		b.WriteString(", operation ~ " + a.Op)
	}
	return b.String()
}

// scenario is one fault injected into the demo, with the answers a reasonable SRE would accept.
type scenario struct {
	Name    string
	Fault   demo.Fault // Kind "" for the no-fault scenario
	Service string     // where the fault is injected
	// Entry is the service the checklist investigates: where the alert fires. "" is the entry service,
	// frontend; a fault users do not feel (a leak) alerts on the leaking service's resource instead.
	Entry  string
	Accept []accept // any one of these is the truth
	Why    string   // why these answers, for docs/accuracy.md
	Fast   bool     // part of the fast tier (CI)
}

// scenarios is the truth table. The service checked is the entry service (frontend) except where Entry
// says otherwise (the leaks, which users do not feel).
var scenarios = []scenario{
	{Name: "no-fault", Fast: true,
		Why: "nothing injected: no cause may be above low severity (symptoms are not causes)"},
	{Name: "latency", Fault: demo.Fault{Kind: demo.KindLatency, Params: demo.Params{MS: 250}}, Service: demo.Checkout,
		Accept: []accept{{Kinds: []string{investigate.KindSlowSpan}, Services: []string{demo.Checkout}}},
		Why:    "chaos middleware delays checkout's server before its handler: the time is checkout's own (self) time"},
	{Name: "error-rate", Fault: demo.Fault{Kind: demo.KindErrorRate, Params: demo.Params{Rate: 0.3}}, Service: demo.Payment,
		Accept: []accept{{Kinds: []string{investigate.KindErrorOrigin}, Services: []string{demo.Payment}}},
		Why:    "payment answers 500 to 30% of requests: the deepest failing span is payment's"},
	{Name: "slow-downstream", Fast: true, Fault: demo.Fault{Kind: demo.KindSlowDownstream, Params: demo.Params{MS: 300}}, Service: demo.Fraud,
		Accept: []accept{{Kinds: []string{investigate.KindSlowSpan}, Services: []string{demo.Fraud}}},
		Why:    "fraud-check's own work gets 300 ms slower: the latency is fraud-check's, not its callers'"},
	{Name: "error-burst", Fast: true, Fault: demo.Fault{Kind: demo.KindErrorBurst, Params: demo.Params{Rate: 1, Duration: "10m"}}, Service: demo.Inventory,
		Accept: []accept{{Kinds: []string{investigate.KindErrorOrigin}, Services: []string{demo.Inventory}},
			{Kinds: []string{investigate.KindDependency}, Services: []string{demo.Inventory}, Peer: true}},
		Why: "inventory answers 503: the error originates in inventory (or the edge into inventory names it)"},
	{Name: "n-plus-one", Fast: true, Fault: demo.Fault{Kind: demo.KindNPlusOne}, Service: demo.Inventory,
		Accept: []accept{{Kinds: []string{investigate.KindNPlusOne}, Services: []string{demo.Inventory}}},
		Why:    "inventory runs one SELECT per item: the N+1 pattern in inventory"},
	{Name: "slow-query", Fault: demo.Fault{Kind: demo.KindSlowQuery}, Service: demo.Inventory,
		Accept: []accept{{Kinds: []string{investigate.KindSlowQuery}, Services: []string{demo.Inventory}},
			{Kinds: []string{investigate.KindSlowSpan}, Services: []string{demo.Inventory}, Op: "SELECT"}},
		Why: "the index on items.sku is gone: the SELECT in inventory is slow (slow_query, or the slow SELECT span)"},
	{Name: "memory-leak", Fault: demo.Fault{Kind: demo.KindMemoryLeak}, Service: demo.Checkout, Entry: demo.Checkout,
		Accept: []accept{{Kinds: []string{investigate.KindMemoryLeak}, Services: []string{demo.Checkout}},
			{Kinds: []string{investigate.KindSaturation}, Services: []string{demo.Checkout}, Resource: "heap"},
			{Kinds: []string{investigate.KindSaturation}, Services: []string{demo.Checkout}, Resource: "memory"}},
		Why: "checkout retains memory per request: a leak, or heap growth, in checkout. Users feel nothing, so the alert (and the investigation) starts at checkout's memory"},
	{Name: "goroutine-leak", Fault: demo.Fault{Kind: demo.KindGoroutineLeak}, Service: demo.Payment, Entry: demo.Payment,
		Accept: []accept{{Kinds: []string{investigate.KindGoroutineLeak}, Services: []string{demo.Payment}},
			{Kinds: []string{investigate.KindSaturation}, Services: []string{demo.Payment}, Resource: "goroutines"}},
		Why: "payment leaves a goroutine per request: a goroutine leak, or goroutine growth, in payment. Users feel nothing, so the alert (and the investigation) starts at payment's goroutine count"},
	{Name: "cpu-hog", Fault: demo.Fault{Kind: demo.KindCPUHog, Params: demo.Params{MS: 40}}, Service: demo.Fraud,
		Accept: []accept{{Kinds: []string{investigate.KindCPUHotspot}, Services: []string{demo.Fraud}},
			{Kinds: []string{investigate.KindSlowSpan}, Services: []string{demo.Fraud}},
			{Kinds: []string{investigate.KindSaturation}, Services: []string{demo.Fraud}, Resource: "cpu"}},
		Why: "fraud-check burns CPU per request: a CPU hotspot, or fraud-check's own slow time (what traces can see)"},
	{Name: "deploy", Fault: demo.Fault{Kind: demo.KindDeploy, Params: demo.Params{Version: "2.0.0", MS: 150}}, Service: demo.Checkout,
		Accept: []accept{{Kinds: []string{investigate.KindRecentChange}, Services: []string{demo.Checkout}}},
		Why:    "checkout 2.0.0 is slower than 1.4.2: the version change in checkout"},
	{Name: "circuit-open", Fault: demo.Fault{Kind: demo.KindCircuitOpen}, Service: demo.Gateway,
		Accept: []accept{{Kinds: []string{investigate.KindErrorOrigin, investigate.KindDependency}, Services: []string{demo.Gateway}, Peer: true},
			{Kinds: []string{investigate.KindErrorOrigin, investigate.KindDependency}, Services: []string{demo.Payment}, Op: "gateway"},
			{Kinds: []string{investigate.KindSaturation}, Services: []string{demo.Payment}, Resource: "circuit"}},
		Why: "the gateway fails, payment's breaker opens: errors from gateway, the payment→gateway call, or the open breaker"},
	{Name: "bulkhead-saturation", Fault: demo.Fault{Kind: demo.KindBulkheadSaturation}, Service: demo.Payment,
		Accept: []accept{{Kinds: []string{investigate.KindSaturation}, Services: []string{demo.Payment}, Resource: "bulkhead"},
			{Kinds: []string{investigate.KindErrorOrigin, investigate.KindDependency}, Services: []string{demo.Payment}, Op: "gateway"}},
		Why: "payment's gateway bulkhead is full: its saturation, or the rejected payment→gateway calls"},
	{Name: "traffic-spike", Fault: demo.Fault{Kind: demo.KindTrafficSpike, Params: demo.Params{Factor: 4}}, Service: demo.LoadGen,
		Accept: []accept{{Kinds: []string{investigate.KindTrafficSpike}, Services: []string{demo.Frontend}}},
		Why:    "4x the requests: a traffic spike on the entry service"},
}

// entry is the service the checklist investigates.
func (sc scenario) entry() string {
	if sc.Entry != "" {
		return sc.Entry
	}
	return demo.Frontend
}

// DemoScenariosOptions is everything `go run ./demo scenarios` needs.
type DemoScenariosOptions struct {
	IO       *cmd.IOStreams
	Tier     string   // fast or full
	Only     []string // scenario names; empty: the tier's
	Baseline time.Duration
	Incident time.Duration
	Rate     float64
	Rows     int
	Scrape   time.Duration
	OutDoc   string           // docs/accuracy.md to write, "" for none
	Bundles  string           // directory for one capture bundle per scenario, "" for none
	Dir      string           // work directory ("" : a temporary one)
	Command  func() *exec.Cmd // how to start a demo service; nil: this program
	Format   render.Format
	Argv     string // the command line, for the doc
	// TraceLimit is the checklist's --trace-limit: traces sampled per query (0: enough for every
	// request of a phase at the load rate, at most 2000).
	TraceLimit int
	// Profiles gives the checklist the investigated service's pprof target (off by default: see the doc).
	Profiles bool
}

func (o *DemoScenariosOptions) traceLimit() int {
	if o.TraceLimit > 0 {
		return o.TraceLimit
	}
	return min(2000, max(200, int(o.Rate*o.Incident.Seconds()*1.2)))
}

// scenarioResult is one scenario's outcome.
type scenarioResult struct {
	Name       string                `json:"name"`
	Fault      string                `json:"fault"`
	Service    string                `json:"service"`
	Truth      string                `json:"truth"`
	Top        *investigate.Finding  `json:"top,omitempty"`
	Rank       int                   `json:"rank"` // 1 = the top root cause; 0 = not in the list
	Pass       bool                  `json:"pass"`
	MaxCause   investigate.Severity  `json:"max_cause_severity,omitempty"` // highest non-symptom severity
	Load       demo.LoadStats        `json:"load"`
	Seconds    float64               `json:"seconds"`
	Error      string                `json:"error,omitempty"`
	Window     investigate.TimeRange `json:"window"`
	Findings   []investigate.Finding `json:"findings,omitempty"`
	ReportJSON json.RawMessage       `json:"-"`
}

func newCmdScenarios(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "scenarios",
		Short: "Measure dbg's accuracy: inject each fault into the demo and compare dbg checklist's answer with it",
		Long: `For each scenario: start real Jaeger, VictoriaLogs and Prometheus (the pinned servers the tests use;
needs the repository and Go to build them once, and the prometheus package), start a fresh demo system,
send baseline load, inject the fault, send incident load, wait for the telemetry to land, and run
dbg checklist --service frontend against the live backends with the incident as --since/--until and
the baseline period as --baseline. The top hypothesis is compared with the injected truth.

--tier fast runs the no-fault scenario and three faults (the test suite runs it); --tier full runs
every fault. --out-doc writes the scoreboard (docs/accuracy.md).`,
		Example: `  go run ./demo scenarios --tier full --out-doc docs/accuracy.md
  go run ./demo scenarios --only n-plus-one,deploy -o json`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := loadSettings(c, f)
			if err != nil {
				return err
			}
			o := &DemoScenariosOptions{IO: f.IO, Tier: s.String("tier"), OutDoc: s.String("out-doc"), Bundles: s.String("bundles"),
				Dir: s.String("work-dir"), Rate: s.Float("rate"), Rows: s.Int("rows"), Profiles: s.Bool("pprof"),
				Argv: "go run ./demo " + strings.Join(os.Args[1:], " ")}
			if o.Format, err = s.Format(render.FormatTable, render.FormatJSON); err != nil {
				return err
			}
			if o.Tier != "fast" && o.Tier != "full" {
				return usageErrorf("scenarios: --tier %q: want fast or full", o.Tier)
			}
			if v := s.String("only"); v != "" {
				o.Only = strings.Split(v, ",")
			}
			if o.Baseline, err = s.Duration("phase"); err != nil {
				return err
			}
			o.Incident = o.Baseline
			if o.Baseline < 10*time.Second || o.Baseline > 30*time.Minute {
				return usageErrorf("scenarios: --phase must be between 10s and 30m")
			}
			if o.Rate <= 0 || o.Rate*4 > demo.MaxRate {
				return usageErrorf("scenarios: --rate must be above 0 and at most %g (the traffic spike multiplies it by 4)", demo.MaxRate/4)
			}
			return demoScenarios(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.String("tier", "full", "fast (no-fault + 3 faults, what CI runs) or full (every fault)")
	fl.String("only", "", "comma-separated scenario names to run instead of the tier's")
	fl.Duration("phase", 30*time.Second, "length of the baseline and of the incident load")
	fl.Float64("rate", 30, "load in requests/s")
	fl.Int("rows", demo.DefaultRows, "items in the inventory database")
	fl.String("out-doc", "", "write the scoreboard (markdown) here, e.g. docs/accuracy.md")
	fl.String("bundles", "", "capture each scenario's bundle (dbg capture) into this directory, e.g. testdata/incidents/live")
	fl.Bool("pprof", false, "also give the checklist the investigated service's pprof target (3 samples 3 s apart)")
	fl.String("work-dir", "", "where the servers' data and the demo's state go (default: a temporary directory, removed after)")
	return c
}

// selectScenarios returns the scenarios of a tier, or those named.
func selectScenarios(tier string, only []string) ([]scenario, error) {
	var out []scenario
	for _, sc := range scenarios {
		if len(only) > 0 {
			if slices.Contains(only, sc.Name) {
				out = append(out, sc)
			}
		} else if tier == "full" || sc.Fast {
			out = append(out, sc)
		}
	}
	if len(only) > 0 && len(out) != len(only) {
		var names []string
		for _, sc := range scenarios {
			names = append(names, sc.Name)
		}
		return nil, usageErrorf("--only %s: want names among %s", strings.Join(only, ","), strings.Join(names, ", "))
	}
	return out, nil
}

func demoScenarios(ctx context.Context, o *DemoScenariosOptions) error {
	list, err := selectScenarios(o.Tier, o.Only)
	if err != nil {
		return err
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "dbg-scenarios-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	started := time.Now()
	results, err := runScenarios(ctx, o, dir, list, o.IO.ErrOut)
	if err != nil {
		return err
	}
	total := time.Since(started)
	if o.OutDoc != "" {
		if err := os.WriteFile(o.OutDoc, []byte(accuracyDoc(o, results, started, total)), 0o644); err != nil {
			return fmt.Errorf("--out-doc: %w", err)
		}
	}
	if o.Format == render.FormatJSON {
		return render.JSON(o.IO.Out, map[string]any{"scenarios": results, "summary": summarize(results)})
	}
	fmt.Fprint(o.IO.Out, scenarioTable(results))
	sum := summarize(results)
	fmt.Fprintf(o.IO.Out, "\nAC@1 %s, AC@3 %s over %d fault scenarios; no-fault: %s; %s\n", pct(sum.AC1), pct(sum.AC3), sum.Faults, sum.NoFault, total.Round(time.Second))
	if !sum.AllPass {
		return &cmd.ThresholdError{Msg: "some scenarios did not name the injected fault first"}
	}
	return nil
}

// runScenarios starts the backends once and runs each scenario on a fresh demo system.
func runScenarios(ctx context.Context, o *DemoScenariosOptions, dir string, list []scenario, progress io.Writer) ([]scenarioResult, error) {
	ports, err := servers.FreeLoopbackPorts(len(demo.Services) + 1)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for i, name := range demo.Services {
		urls[name] = fmt.Sprintf("http://127.0.0.1:%d", ports[i])
	}
	scrape := o.Scrape
	if scrape <= 0 {
		scrape = 2 * time.Second
	}
	fmt.Fprintf(progress, "scenarios: starting Jaeger, VictoriaLogs and Prometheus in %s\n", dir)
	srv, err := servers.StartServers(ctx, filepath.Join(dir, "servers"), demo.ScrapeConfig(urls, scrape))
	if err != nil {
		return nil, fmt.Errorf("start the backends: %w", err)
	}
	defer srv.Stop()
	// Three heap and goroutine profiles 3 s apart per checklist run (the defaults take 5 s apart).
	if err := os.WriteFile(filepath.Join(dir, "dbg.yaml"), []byte("profile-samples: 3\nprofile-interval: 3s\n"), 0o644); err != nil {
		return nil, err
	}
	var out []scenarioResult
	for _, sc := range list {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		fmt.Fprintf(progress, "scenarios: %s ...\n", sc.Name)
		r := runScenario(ctx, o, srv, filepath.Join(dir, "demo"), ports, scrape, sc)
		top := "(none)"
		if r.Top != nil {
			top = fmt.Sprintf("%s %s %s", r.Top.Kind, r.Top.Service, r.Top.Operation)
		}
		fmt.Fprintf(progress, "scenarios: %s: pass=%v rank=%d top=%s (%.0fs) %s\n", sc.Name, r.Pass, r.Rank, render.Clean(top), r.Seconds, render.Clean(r.Error))
		out = append(out, r)
	}
	return out, nil
}

func runScenario(ctx context.Context, o *DemoScenariosOptions, srv *servers.Servers, dir string, ports []int, scrape time.Duration, sc scenario) (r scenarioResult) {
	start := time.Now()
	r = scenarioResult{Name: sc.Name, Fault: string(sc.Fault.Kind), Service: sc.Service, Truth: truthText(sc)}
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	fail := func(err error) scenarioResult {
		r.Error = err.Error()
		return r
	}
	cfg := demo.SystemConfig{Dir: dir, OTLPURL: srv.Jaeger.OTLPHTTP, VictoriaLogsURL: srv.VictoriaLogs.URL, Rows: o.Rows, Ports: ports}
	if o.Command != nil {
		cfg.Command = o.Command
	}
	sys, err := demo.Start(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	defer sys.Stop()
	if err := sys.SetRate(o.Rate); err != nil {
		return fail(err)
	}
	// Warm up (connections, SQLite cache, first scrape) outside both windows.
	sys.Load.Run(ctx, 3*time.Second)
	time.Sleep(scrape)
	baseStart := time.Now()
	base := sys.Load.Run(ctx, o.Baseline)
	if sc.Fault.Kind != "" {
		u, err := sys.AdminURL(sc.Service)
		if err != nil {
			return fail(err)
		}
		if _, err := demo.Inject(ctx, u, sc.Fault); err != nil {
			return fail(err)
		}
	}
	incStart := time.Now()
	inc := sys.Load.Run(ctx, o.Incident)
	incEnd := time.Now()
	r.Load = inc
	_ = base
	if name := sys.Exited(); name != "" {
		return fail(fmt.Errorf("demo service %s exited", name))
	}
	// Spans wait up to a batch timeout (1s) plus export, a scrape needs an interval, logs ship every 0.5s.
	settle := 2*scrape + 4*time.Second
	select {
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(settle):
	}
	// Whole seconds inside the incident; the baseline is the same length, shifted back to the baseline period.
	since := incStart.Truncate(time.Second).Add(time.Second)
	until := incEnd.Truncate(time.Second)
	shift := since.Sub(baseStart.Truncate(time.Second).Add(time.Second))
	r.Window = investigate.TimeRange{Start: since.UTC(), End: until.UTC()}
	// The pprof target is the investigated service's own, in every scenario: what an on-call engineer
	// pointed at the alerting service would have.
	args := []string{"checklist", "-o", "json", "--service", sc.entry(),
		"--jaeger-url", srv.Jaeger.QueryHTTP, "--prometheus-url", srv.Prometheus.URL, "--victorialogs-url", srv.VictoriaLogs.URL,
		"--since", since.UTC().Format(time.RFC3339), "--until", until.UTC().Format(time.RFC3339),
		"--baseline", fmt.Sprintf("%ds", int(shift.Seconds())), "--timeout", "120s", "--trace-limit", fmt.Sprint(o.traceLimit())}
	if o.Profiles {
		args = append(args, "--target", sys.Services[sc.entry()], "--config", filepath.Join(filepath.Dir(dir), "dbg.yaml"))
	}
	stdout, stderr, code := runDbgInProcess(ctx, args)
	if code != 0 && code != 3 {
		return fail(fmt.Errorf("dbg checklist exited %d: %s", code, strings.TrimSpace(stderr)))
	}
	var rep checklist.Report
	if err := json.Unmarshal(stdout, &rep); err != nil {
		return fail(fmt.Errorf("dbg checklist: not a JSON report: %v", err))
	}
	r.ReportJSON = stdout
	if o.Dir != "" { // kept for reading after the run
		_ = os.MkdirAll(filepath.Join(o.Dir, "reports"), 0o755)
		_ = os.WriteFile(filepath.Join(o.Dir, "reports", sc.Name+".json"), stdout, 0o644)
	}
	r.Findings = rep.Findings
	if o.Bundles != "" {
		out := filepath.Join(o.Bundles, sc.Name)
		_ = os.RemoveAll(out)
		capArgs := append([]string{"capture", "--out", out}, args[3:]...)
		if _, stderr, code := runDbgInProcess(ctx, capArgs); code != 0 {
			r.Error = fmt.Sprintf("capture: exit %d: %s", code, strings.TrimSpace(stderr))
		}
	}
	judge(&r, sc, &rep)
	return r
}

// judge fills the rank of the truth, the top hypothesis, the highest cause severity and pass.
func judge(r *scenarioResult, sc scenario, rep *checklist.Report) {
	r.Top = rep.TopRootCause()
	r.MaxCause = ""
	for _, f := range rep.Findings {
		if f.Tier == checklist.TierSymptom {
			continue
		}
		if r.MaxCause == "" || f.Severity.Rank() < r.MaxCause.Rank() {
			r.MaxCause = f.Severity
		}
	}
	if sc.Fault.Kind == "" {
		r.Pass = r.MaxCause == "" || r.MaxCause.Rank() >= investigate.SeverityLow.Rank()
		return
	}
	rank := 0
	for _, f := range rep.Findings {
		if f.Tier == checklist.TierSymptom {
			continue // symptoms are never the answer; they rank after every cause anyway
		}
		rank++
		for _, a := range sc.Accept {
			if a.matches(f) {
				r.Rank = rank
				break
			}
		}
		if r.Rank > 0 {
			break
		}
	}
	r.Pass = r.Top != nil && r.Rank == 1
}

func truthText(sc scenario) string {
	if sc.Fault.Kind == "" {
		return "no cause above low severity"
	}
	parts := make([]string, len(sc.Accept))
	for i, a := range sc.Accept {
		parts[i] = a.String()
	}
	return strings.Join(parts, "; or ")
}

// runDbgInProcess runs dbg with args in this process, with no DBG_* environment and no config file.
func runDbgInProcess(ctx context.Context, args []string) (stdout []byte, stderr string, code int) {
	var out, errOut bytes.Buffer
	f := &cmd.Factory{IO: &cmd.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: time.Now,
		Getenv: func(string) string { return "" }}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DBG_") {
			return nil, "the DBG_* environment would change the checklist's settings: unset " + k, 2
		}
	}
	code = cmd.Run(ctx, f, args)
	return out.Bytes(), errOut.String(), code
}

type scenarioSummary struct {
	Faults   int     `json:"faults"`
	AC1      float64 `json:"ac1"`
	AC3      float64 `json:"ac3"`
	NoFault  string  `json:"no_fault"`
	AllPass  bool    `json:"all_pass"`
	Failures int     `json:"failures"`
}

func summarize(rs []scenarioResult) scenarioSummary {
	s := scenarioSummary{AllPass: true, NoFault: "not run"}
	var at1, at3 int
	for _, r := range rs {
		if !r.Pass {
			s.AllPass = false
			s.Failures++
		}
		if r.Fault == "" {
			sev := string(r.MaxCause)
			if sev == "" {
				sev = "none"
			}
			s.NoFault = "highest cause severity " + sev
			if r.Error != "" {
				s.NoFault = "error"
			}
			continue
		}
		s.Faults++
		if r.Rank == 1 && r.Pass {
			at1++
		}
		if r.Rank >= 1 && r.Rank <= 3 {
			at3++
		}
	}
	if s.Faults > 0 {
		s.AC1 = float64(at1) / float64(s.Faults)
		s.AC3 = float64(at3) / float64(s.Faults)
	}
	return s
}

func pct(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

func topText(f *investigate.Finding) string {
	if f == nil {
		return "(no root cause)"
	}
	s := f.Kind + " · " + f.Service
	if f.Operation != "" {
		s += " · " + f.Operation
	}
	return fmt.Sprintf("%s (%s, %.2f)", s, f.Severity, f.Score)
}

func scenarioTable(rs []scenarioResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %-5s %-5s %6s  %s\n", "scenario", "pass", "rank", "time", "top hypothesis")
	for _, r := range rs {
		rank := "-"
		if r.Rank > 0 {
			rank = fmt.Sprint(r.Rank)
		}
		top := topText(r.Top)
		if r.Error != "" {
			top += " — error: " + r.Error
		}
		fmt.Fprintf(&b, "%-20s %-5v %-5s %5.0fs  %s\n", r.Name, r.Pass, rank, r.Seconds, render.Clean(top))
	}
	return b.String()
}

func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(render.Clean(s), "|", `\|`), "\n", " ")
}

// accuracyDoc renders docs/accuracy.md.
func accuracyDoc(o *DemoScenariosOptions, rs []scenarioResult, started time.Time, total time.Duration) string {
	sum := summarize(rs)
	var b strings.Builder
	b.WriteString("# Accuracy on the demo system\n\n")
	b.WriteString("<!-- Generated by `go run ./demo scenarios --out-doc`; edit demo/scenarios.go, not this file. -->\n\n")
	fmt.Fprintf(&b, "Measured %s, tier **%s**, in %s, with:\n\n```\n%s\n```\n\n", started.UTC().Format("2006-01-02 15:04 UTC"), o.Tier, total.Round(time.Second), o.Argv)
	fmt.Fprintf(&b, "**AC@1 %s, AC@3 %s** over %d fault scenarios (%d failing). No-fault scenario: %s.\n\n", pct(sum.AC1), pct(sum.AC3), sum.Faults, sum.Failures, sum.NoFault)
	b.WriteString("AC@1: the top root cause is an accepted answer. AC@3: an accepted answer is among the first three\n")
	b.WriteString("causes (symptom-tier findings are not counted: they are never an answer).\n\n")
	b.WriteString("| scenario | fault injected | accepted answers (truth) | dbg's top hypothesis | rank of truth | pass | run time |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		fault := "none"
		if r.Fault != "" {
			fault = r.Fault + " in " + r.Service
		}
		rank := "—"
		if r.Rank > 0 {
			rank = fmt.Sprint(r.Rank)
		}
		top := topText(r.Top)
		if r.Fault == "" {
			sev := string(r.MaxCause)
			if sev == "" {
				sev = "none"
			}
			top += "; highest cause severity: " + sev
		}
		if r.Error != "" {
			top += "; error: " + r.Error
		}
		pass := "no"
		if r.Pass {
			pass = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.0f s |\n", mdCell(r.Name), mdCell(fault), mdCell(r.Truth), mdCell(top), rank, pass, r.Seconds)
	}
	fmt.Fprintf(&b, "\n## How it was measured\n\n")
	fmt.Fprintf(&b, "- Backends: the pinned Jaeger v2 (memory storage), VictoriaLogs and Prometheus that the tests use, started once\n")
	fmt.Fprintf(&b, "  for the run; Prometheus scrapes every demo service's /metrics every %s (fixed ports, so one configuration\n", orDefault(o.Scrape, 2*time.Second))
	b.WriteString("  serves every scenario).\n")
	fmt.Fprintf(&b, "- Each scenario starts a fresh demo system (%d inventory rows), sends 3 s of warm-up load, then %s of\n", o.Rows, o.Baseline)
	fmt.Fprintf(&b, "  baseline load at %g requests/s, injects the fault through the service's admin endpoint, sends %s of\n", o.Rate, o.Incident)
	b.WriteString("  incident load, and waits two scrape intervals plus 4 s for spans, samples and logs to land.\n")
	fmt.Fprintf(&b, "- dbg then runs `dbg checklist --service S --trace-limit %d -o json` against the live Jaeger,\n", o.traceLimit())
	b.WriteString("  Prometheus and VictoriaLogs (the trace limit covers every request of a phase, so the trace statistics are not\n")
	b.WriteString("  a sample), with `--since`/`--until` the incident period (whole seconds inside it) and `--baseline` the shift\n")
	b.WriteString("  back to the baseline period.\n")
	b.WriteString("- S, the investigated service, is the entry service (frontend), where users feel the fault, in every scenario\n")
	b.WriteString("  except the two leaks (memory-leak: checkout, goroutine-leak: payment): users feel nothing there, so the\n")
	b.WriteString("  investigation starts where the resource alert fires, as an on-call engineer's would. In those two the\n")
	b.WriteString("  checklist is told the service; the mechanism (leak, resource growth) it must still find.\n")
	b.WriteString("- No pprof target is given (`--pprof` adds S's own, 3 heap and goroutine samples 3 s apart). In a fast-tier\n")
	b.WriteString("  trial with it, the 6 s heap sampling of frontend reported the Prometheus client's gzip writer\n")
	b.WriteString("  (compress/flate.NewWriter, 1.8 MiB in use) as a 17.6 MiB/min memory leak with fit 1.00 and outranked the\n")
	b.WriteString("  error origin: short leak sampling is a known weakness (see the issue notes), not measured here. The leak\n")
	b.WriteString("  scenarios are answered from Prometheus' saturation checks (Go heap, goroutines; one scrape job per\n")
	b.WriteString("  service, job = service name).\n")
	b.WriteString("- Nothing in checklist/ or investigate/ knows the scenarios: the truth is only in demo/scenarios.go.\n\n")
	b.WriteString("## Acceptance rule per fault\n\n")
	b.WriteString("| scenario | accepted answers | why |\n|---|---|---|\n")
	for _, sc := range scenarios {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", sc.Name, mdCell(truthText(sc)), mdCell(sc.Why))
	}
	b.WriteString("\n## Tiers\n\n")
	var fast []string
	for _, sc := range scenarios {
		if sc.Fast {
			fast = append(fast, sc.Name)
		}
	}
	fmt.Fprintf(&b, "- **fast** (%s): `TestDemoScenariosFast` in demo/scenarios_test.go runs it in the full test tier\n", strings.Join(fast, ", "))
	b.WriteString("  (`scripts/test.sh`, not with -short) and requires AC@1 = 100% and no false alarm.\n")
	b.WriteString("- **full** (every scenario above): too long for CI on a 2-core machine; run it by hand with\n")
	b.WriteString("  `go run ./demo scenarios --tier full --out-doc docs/accuracy.md` and commit the regenerated page.\n")
	b.WriteString("\n## Running it\n\n")
	b.WriteString("`go run ./demo scenarios` needs the repository (it builds the pinned Jaeger and VictoriaLogs from tools/ into the\n")
	b.WriteString("tool cache, as the tests do), Go, and the Debian package prometheus. Flags:\n\n")
	b.WriteString("- `--tier fast|full`, or `--only a,b` for named scenarios;\n")
	b.WriteString("- `--phase 30s`: the length of the baseline and of the incident load; `--rate 30` requests/s; `--rows`;\n")
	b.WriteString("- `--out-doc docs/accuracy.md`: write this page; `-o json`: every scenario's result with its findings;\n")
	b.WriteString("- `--bundles testdata/incidents/live`: also capture each scenario's evidence with `dbg capture`\n")
	b.WriteString("  (replay with `dbg checklist --from testdata/incidents/live/NAME`);\n")
	b.WriteString("- `--work-dir DIR`: keep the servers' data, the demo's logs and each checklist report (DIR/reports/NAME.json).\n\n")
	b.WriteString("It exits 3 when a scenario fails, so it can gate a release.\n")
	return b.String()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
