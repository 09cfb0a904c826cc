// Package chaos turns ranked hypotheses into fault-injection experiments and runs them: the plan
// (`dbg chaos plan`: what to inject where, for how long, and what should be observed if the hypothesis
// is right, with Chaos Mesh manifests), a local fault-injecting proxy (`dbg chaos proxy`), and the
// baseline → inject → clear run with a verdict (`dbg chaos run`). It reads findings
// (investigate.Finding) and sends traffic with the probe engine; it imports nothing else of dbg, so the
// checklist can list the experiment of each hypothesis.
package chaos

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// Fault types: the fault an experiment injects, named for the Chaos Mesh kind and action that does it.
const (
	FaultNetworkDelay     = "network-delay"
	FaultNetworkLoss      = "network-loss"
	FaultNetworkPartition = "network-partition"
	FaultNetworkBandwidth = "network-bandwidth"
	FaultHTTPAbort        = "http-abort"
	FaultHTTPDelay        = "http-delay"
	FaultHTTPReplace      = "http-replace"
	FaultStressCPU        = "stress-cpu"
	FaultStressMemory     = "stress-memory"
	FaultPodKill          = "pod-kill"
	FaultContainerKill    = "container-kill"
	FaultIOLatency        = "io-latency"
)

// Plan is `dbg chaos plan`'s output: one experiment per top hypothesis that a fault can reproduce, and
// the hypotheses no fault can reproduce with the reason.
type Plan struct {
	ReportID    string       `json:"report_id"`
	Service     string       `json:"service"`
	Namespace   string       `json:"namespace"`
	Experiments []Experiment `json:"experiments"`
	Skipped     []Skipped    `json:"skipped"`
}

// Hypothesis names the finding an experiment tests.
type Hypothesis struct {
	Kind      string  `json:"kind"`
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	Peer      string  `json:"peer,omitempty"`
	Tier      string  `json:"tier,omitempty"`
	Score     float64 `json:"score"`
	Title     string  `json:"title"`
}

// Fault is what to inject, with its size.
type Fault struct {
	Type string `json:"type"`
	// Service is where the fault is injected (the pods selected); Peer, for network faults, is the other
	// end (only its traffic is affected).
	Service string `json:"service"`
	Peer    string `json:"peer,omitempty"`
	// Route is the HTTP route for HTTP faults ("POST /score").
	Route        string  `json:"route,omitempty"`
	LatencyMs    float64 `json:"latency_ms,omitempty"`
	JitterMs     float64 `json:"jitter_ms,omitempty"`
	LossPercent  float64 `json:"loss_percent,omitempty"`
	ErrorRate    float64 `json:"error_rate,omitempty"`
	Status       int     `json:"status,omitempty"`
	BandwidthBps int64   `json:"bandwidth_bps,omitempty"`
	CPULoad      int     `json:"cpu_load,omitempty"`
	MemorySize   string  `json:"memory_size,omitempty"`
	VolumePath   string  `json:"volume_path,omitempty"`
}

// Expectation is what the probe of the investigated service must show during the fault, against the
// baseline probe, for the hypothesis to be confirmed.
type Expectation struct {
	// Metric is p50_ms, p99_ms or error_ratio.
	Metric string `json:"metric"`
	// Delta is the expected increase over the baseline (ms, or a ratio for error_ratio).
	Delta float64 `json:"delta"`
}

// Experiment is one planned fault injection.
type Experiment struct {
	ID         string     `json:"id"`
	Hypothesis Hypothesis `json:"hypothesis"`
	Fault      Fault      `json:"fault"`
	Duration   string     `json:"duration"`
	// Inject and Observe say the experiment in a sentence each, for people.
	Inject  string        `json:"inject"`
	Observe []string      `json:"observe"`
	Expect  []Expectation `json:"expect"`
	// Probe is the `dbg probe` command that measures the investigated service during the experiment.
	Probe string `json:"probe"`
	// Manifest is the Chaos Mesh object that injects the fault in a cluster.
	Manifest Manifest `json:"manifest"`
	// Proxy is the same fault for `dbg chaos proxy`, nil when a proxy in the path cannot make it (CPU,
	// memory, pod kills, disk latency).
	Proxy *ProxyFaults `json:"proxy,omitempty"`
}

// Skipped is a hypothesis without an experiment.
type Skipped struct {
	Hypothesis Hypothesis `json:"hypothesis"`
	Reason     string     `json:"reason"`
}

// PlanOptions say where experiments run and how they are bounded.
type PlanOptions struct {
	ReportID  string
	Service   string // the investigated service: the probe measures it
	Namespace string
	// LabelKey is the pod label that carries the service name (Chaos Mesh's examples use "app").
	LabelKey string
	// Top is how many hypotheses to plan (root causes and contributing factors, best first).
	Top int
	// Duration bounds every experiment.
	Duration time.Duration
	// HTTPPort is the container port HTTPChaos acts on.
	HTTPPort int
	// ProbeURL is the investigated service's URL for the probe command; "" leaves a placeholder.
	ProbeURL string
	// DBVolume is the database's data directory for IOChaos.
	DBVolume string
}

// DefaultPlanOptions are what `dbg chaos plan` uses without flags.
func DefaultPlanOptions() PlanOptions {
	return PlanOptions{Namespace: "default", LabelKey: "app", Top: 3, Duration: 5 * time.Minute, HTTPPort: 8080, DBVolume: "/var/lib/postgresql/data"}
}

// Bounds on what a plan injects: an experiment stays an experiment.
const (
	minLatencyMs = 50
	maxLatencyMs = 5000
	maxDuration  = time.Hour
)

// NewPlan plans experiments for the top hypotheses of findings (ranked best first, symptoms skipped).
func NewPlan(findings []investigate.Finding, o PlanOptions) *Plan {
	d := DefaultPlanOptions()
	if o.Namespace == "" {
		o.Namespace = d.Namespace
	}
	if o.LabelKey == "" {
		o.LabelKey = d.LabelKey
	}
	if o.Top <= 0 {
		o.Top = d.Top
	}
	if o.Duration <= 0 {
		o.Duration = d.Duration
	}
	o.Duration = min(o.Duration, maxDuration)
	if o.HTTPPort <= 0 {
		o.HTTPPort = d.HTTPPort
	}
	if o.DBVolume == "" {
		o.DBVolume = d.DBVolume
	}
	p := &Plan{ReportID: o.ReportID, Service: o.Service, Namespace: o.Namespace, Experiments: []Experiment{}, Skipped: []Skipped{}}
	// A finding without a peer (an N+1 names its statement, not the database) borrows it from another
	// finding on the same service and operation that has one (the statement's client span).
	peers := map[string]string{}
	for i := range findings {
		if pe := str(findings[i].Evidence, "peer"); pe != "" {
			peers[findings[i].Service+"\x00"+findings[i].Operation] = pe
		}
	}
	n := 0
	for i := range findings {
		f := &findings[i]
		if f.Tier == "symptom" || n >= o.Top {
			continue
		}
		n++
		h := Hypothesis{Kind: f.Kind, Service: f.Service, Operation: f.Operation, Peer: str(f.Evidence, "peer"), Tier: f.Tier, Score: round3(f.Score), Title: f.Title}
		if h.Peer == "" && (f.Kind == investigate.KindNPlusOne || f.Kind == investigate.KindFanout || f.Kind == investigate.KindSlowQuery) {
			h.Peer = peers[f.Service+"\x00"+f.Operation]
		}
		e, reason := design(f, h, o)
		if e == nil {
			p.Skipped = append(p.Skipped, Skipped{Hypothesis: h, Reason: reason})
			continue
		}
		e.ID = fmt.Sprintf("e%d", len(p.Experiments)+1)
		finish(e, o, p)
		p.Experiments = append(p.Experiments, *e)
	}
	return p
}

// design picks the fault that reproduces a finding if it is the cause, and what the probe should then
// show. The rule for every kind: inject, at the place the finding names, the size of change the
// finding measured; if the finding is the cause, the investigated service's probe moves by about that
// much (latency adds along the critical path; errors propagate to the caller), and the same finding
// reappears in the traces. A fault that does not move the probe refutes "this is what users feel".
func design(f *investigate.Finding, h Hypothesis, o PlanOptions) (*Experiment, string) {
	ev := f.Evidence
	entry := o.Service
	if entry == "" {
		entry = f.Service
	}
	e := &Experiment{Hypothesis: h}
	latency := func(ms float64) float64 {
		return math.Round(math.Max(minLatencyMs, math.Min(maxLatencyMs, ms))/10) * 10
	}
	delayObs := func(ms float64, what string) {
		e.Expect = []Expectation{{Metric: "p50_ms", Delta: ms}}
		e.Observe = []string{fmt.Sprintf("%s p50 +%.0f ms (and p99 with it) while the fault is on, back when it is cleared", entry, ms),
			fmt.Sprintf("the same %s (%s %s) reappears in the probe's traces", f.Kind, f.Service, f.Operation)}
		if what != "" {
			e.Observe = append(e.Observe, what)
		}
	}
	switch f.Kind {
	case investigate.KindSlowSpan, investigate.KindLatencyHotspot, investigate.KindDependency:
		grew := num(ev, "delta_ms")
		if grew == 0 {
			grew = num(ev, "self_ms") - num(ev, "baseline_self_ms")
		}
		if grew <= 0 {
			grew = num(ev, "p99_ms") - num(ev, "baseline_p99_ms")
		}
		if f.Kind == investigate.KindDependency && num(ev, "error_ratio") > num(ev, "baseline_error_ratio")+0.01 {
			rate := math.Min(1, math.Round(num(ev, "error_ratio")*100)/100)
			e.Fault = Fault{Type: FaultHTTPReplace, Service: h.Peer, Route: f.Operation, ErrorRate: rate, Status: 503}
			e.Expect = []Expectation{{Metric: "error_ratio", Delta: rate / 2}}
			e.Observe = []string{fmt.Sprintf("%s's error ratio rises by about %.0f%% of requests while %s answers 503", entry, rate*100, h.Peer),
				fmt.Sprintf("the dependency %s → %s shows the errors again", f.Service, h.Peer)}
			break
		}
		if grew <= 0 {
			return nil, "the finding carries no latency increase to reproduce"
		}
		ms := latency(grew)
		if h.Peer != "" {
			e.Fault = Fault{Type: FaultNetworkDelay, Service: f.Service, Peer: h.Peer, LatencyMs: ms, JitterMs: math.Round(ms / 10)}
		} else {
			e.Fault = Fault{Type: FaultHTTPDelay, Service: f.Service, Route: f.Operation, LatencyMs: ms}
		}
		delayObs(ms, "")
	case investigate.KindNPlusOne:
		// The typical request's call count (mean over traces) when known, the worst one otherwise.
		count := math.Round(num(ev, "mean_count"))
		if count == 0 {
			count = num(ev, "count")
		}
		if count < 2 {
			return nil, "the N+1 finding carries no call count"
		}
		// A small delay per call: an N+1 multiplies it by the count, a single batched call would not.
		per := float64(minLatencyMs) / 5 // 10 ms a call
		peer := h.Peer
		if peer == "" {
			peer = str(ev, "db_system")
		}
		if peer == "" {
			return nil, "the N+1 finding names no peer to delay"
		}
		e.Fault = Fault{Type: FaultNetworkDelay, Service: f.Service, Peer: peer, LatencyMs: per}
		e.Expect = []Expectation{{Metric: "p50_ms", Delta: per * count}}
		e.Observe = []string{fmt.Sprintf("%s p50 +%.0f ms: %.0f ms per call × %.0f calls (one batched call would add %.0f ms)", entry, per*count, per, count, per),
			fmt.Sprintf("the same n_plus_one (%s %s, %.0f calls) reappears in the probe's traces", f.Service, f.Operation, count)}
	case investigate.KindFanout:
		peer := h.Peer
		if peer == "" {
			return nil, "the fan-out finding names no peer to delay"
		}
		ms := latency(num(ev, "total_ms") / math.Max(1, num(ev, "count")))
		e.Fault = Fault{Type: FaultNetworkDelay, Service: f.Service, Peer: peer, LatencyMs: ms}
		delayObs(ms, "concurrent calls add the delay once, not once per call")
	case investigate.KindErrorOrigin, investigate.KindErrorHotspot:
		rate := num(ev, "error_ratio")
		if rate == 0 {
			rate = num(ev, "trace_share")
		}
		rate = math.Min(1, math.Max(0.1, math.Round(rate*100)/100))
		target := f.Service
		if f.Kind == investigate.KindErrorOrigin && h.Peer != "" {
			// The error started at a call to the peer (a pool timeout, a refused connection): the peer
			// going away reproduces it.
			e.Fault = Fault{Type: FaultNetworkPartition, Service: f.Service, Peer: h.Peer, ErrorRate: rate}
		} else {
			e.Fault = Fault{Type: FaultHTTPAbort, Service: target, Route: f.Operation, ErrorRate: rate}
		}
		e.Expect = []Expectation{{Metric: "error_ratio", Delta: rate / 2}}
		e.Observe = []string{fmt.Sprintf("%s's error ratio rises by about %.0f%% of requests while the fault is on", entry, rate*100),
			fmt.Sprintf("the same %s (%s) reappears", f.Kind, firstNonEmpty(str(ev, "exception_type"), f.Operation, f.Service))}
	case investigate.KindSaturation:
		res := strings.ToLower(str(ev, "resource"))
		switch {
		case strings.Contains(res, "cpu"):
			e.Fault = Fault{Type: FaultStressCPU, Service: f.Service, CPULoad: 90}
		case strings.Contains(res, "mem") || strings.Contains(res, "heap") || strings.Contains(res, "rss"):
			e.Fault = Fault{Type: FaultStressMemory, Service: f.Service, MemorySize: memSize(num(ev, "value"), num(ev, "baseline"))}
		case strings.Contains(res, "network") || strings.Contains(res, "bandwidth") || strings.Contains(res, "bytes"):
			e.Fault = Fault{Type: FaultNetworkBandwidth, Service: f.Service, BandwidthBps: 1 << 20}
		default:
			return nil, fmt.Sprintf("no fault reproduces saturation of %q; raise the load instead (dbg probe --rate)", str(ev, "resource"))
		}
		e.Expect = []Expectation{{Metric: "p99_ms", Delta: minLatencyMs}}
		e.Observe = []string{fmt.Sprintf("%s p99 rises while %s's %s is saturated", entry, f.Service, firstNonEmpty(res, "resource")),
			"the same saturation finding reappears in dbg hotspots"}
	case investigate.KindCPUHotspot:
		e.Fault = Fault{Type: FaultStressCPU, Service: f.Service, CPULoad: 90}
		e.Expect = []Expectation{{Metric: "p99_ms", Delta: minLatencyMs}}
		e.Observe = []string{fmt.Sprintf("%s p99 rises while %s's CPU is taken", entry, f.Service)}
	case investigate.KindMemoryLeak:
		e.Fault = Fault{Type: FaultStressMemory, Service: f.Service, MemorySize: memSize(num(ev, "heap_inuse_bytes"), 0)}
		e.Expect = []Expectation{{Metric: "p99_ms", Delta: minLatencyMs}}
		e.Observe = []string{fmt.Sprintf("%s slows (GC pressure) or restarts (OOM kill) as %s's memory fills, as in the incident", entry, f.Service)}
	case investigate.KindSlowQuery:
		db := firstNonEmpty(str(ev, "db_system"), h.Peer)
		if db == "" {
			return nil, "the slow-query finding names no database"
		}
		ms := latency(num(ev, "p99_ms") - num(ev, "baseline_p99_ms"))
		e.Fault = Fault{Type: FaultIOLatency, Service: db, LatencyMs: ms, VolumePath: o.DBVolume}
		delayObs(ms, fmt.Sprintf("the statement %q is slow again in %s", str(ev, "statement"), f.Service))
		e.Expect = []Expectation{{Metric: "p99_ms", Delta: ms / 2}}
	case "tcp_retransmits":
		server := firstNonEmpty(str(ev, "server"), f.Service)
		e.Fault = Fault{Type: FaultNetworkLoss, Service: f.Service, Peer: hostOf(server), LossPercent: 5}
		e.Expect = []Expectation{{Metric: "p99_ms", Delta: 200}} // a lost segment costs at least the 200 ms minimum RTO
		e.Observe = []string{fmt.Sprintf("%s p99 rises by 200 ms or more (TCP's minimum retransmission timeout) while 5%% of packets to %s are lost", entry, server),
			"the same tcp_retransmits reappear in dbg net"}
	case "connection_refused", "tcp_resets":
		server := hostOf(firstNonEmpty(str(ev, "server"), f.Service))
		typ := FaultPodKill
		if f.Kind == "tcp_resets" {
			typ = FaultContainerKill
		}
		e.Fault = Fault{Type: typ, Service: server}
		e.Expect = []Expectation{{Metric: "error_ratio", Delta: 0.05}}
		e.Observe = []string{fmt.Sprintf("%s fails while %s restarts (refused or reset connections)", entry, server),
			fmt.Sprintf("the same %s reappears in dbg net", f.Kind)}
	case investigate.KindRecentChange:
		return nil, fmt.Sprintf("a change is tested by rolling it back (or canarying %s %s) and probing both: dbg probe URL --compare before.json", str(ev, "what"), str(ev, "to"))
	case investigate.KindTrafficSpike:
		return nil, fmt.Sprintf("a traffic change is tested with load, not a fault: dbg probe URL --rate %.0f/s (×%.1f the baseline rate) in staging", math.Ceil(num(ev, "rate")), num(ev, "ratio"))
	default:
		return nil, fmt.Sprintf("no fault injection reproduces a %s; test it with the check in the report", f.Kind)
	}
	return e, ""
}

// finish fills the parts every experiment has: duration, sentences, probe command, manifest, proxy.
func finish(e *Experiment, o PlanOptions, p *Plan) {
	e.Duration = o.Duration.String()
	f := e.Fault
	where := f.Service
	if f.Peer != "" {
		where = f.Service + "→" + f.Peer
	}
	switch f.Type {
	case FaultNetworkDelay, FaultHTTPDelay, FaultIOLatency:
		e.Inject = fmt.Sprintf("inject %.0f ms on %s", f.LatencyMs, where)
	case FaultNetworkLoss:
		e.Inject = fmt.Sprintf("drop %.0f%% of packets on %s", f.LossPercent, where)
	case FaultNetworkPartition:
		e.Inject = fmt.Sprintf("cut %s", where)
	case FaultNetworkBandwidth:
		e.Inject = fmt.Sprintf("limit %s to %d KiB/s", where, f.BandwidthBps/1024)
	case FaultHTTPAbort:
		e.Inject = fmt.Sprintf("abort %s %s requests", f.Service, f.Route)
	case FaultHTTPReplace:
		e.Inject = fmt.Sprintf("answer %s %s with %d", f.Service, f.Route, f.Status)
	case FaultStressCPU:
		e.Inject = fmt.Sprintf("load %s's CPU to %d%%", f.Service, f.CPULoad)
	case FaultStressMemory:
		e.Inject = fmt.Sprintf("fill %s's memory with %s", f.Service, f.MemorySize)
	case FaultPodKill, FaultContainerKill:
		e.Inject = fmt.Sprintf("%s one %s", strings.ReplaceAll(f.Type, "-", " "), f.Service)
	}
	e.Inject += " for " + e.Duration
	url := o.ProbeURL
	if url == "" {
		url = "http://" + firstNonEmpty(p.Service, e.Hypothesis.Service) + "/"
	}
	secs := int(math.Min(o.Duration.Seconds(), 60))
	e.Probe = fmt.Sprintf("dbg probe %s --rate 10/s --duration %ds -o json > baseline.json; (inject) dbg probe %s --rate 10/s --duration %ds --compare baseline.json", url, secs, url, secs)
	e.Manifest = manifest(e, o, p)
	e.Proxy = proxyFaults(f)
}

func memSize(value, baseline float64) string {
	grow := value - baseline
	if grow <= 0 {
		grow = value / 2
	}
	mb := int(math.Ceil(grow / (1 << 20)))
	if mb < 64 {
		mb = 64
	}
	return fmt.Sprintf("%dMB", mb)
}

func hostOf(server string) string {
	if i := strings.LastIndex(server, ":"); i > 0 {
		return server[:i]
	}
	return server
}

func num(m map[string]any, k string) float64 {
	switch v := m[k].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	}
	return 0
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// sortedKeys is for stable output of maps.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
