// Package checklist walks the ten-step debugging checklist (symptom, recent changes, metrics, traces,
// logs, dependencies, hypothesis, fix, verification, postmortem) over whatever sources are configured,
// and ranks what it finds into root causes, contributing factors and symptoms. Each step is its own type
// in its own file; the runner gives them one deadline and never lets a failing source abort the report.
package checklist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// TraceSource finds traces (Jaeger, a bundle). It must honour ctx and return an error it names itself.
type TraceSource interface {
	SearchTraces(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error)
}

// MetricSource measures a service's golden signals and saturation (Prometheus, a bundle), returning
// the hotspot input for the window with its baseline, and the queries it ran.
type MetricSource interface {
	Hotspots(ctx context.Context, service string, w investigate.Window) (investigate.HotspotInput, []string, error)
}

// LogSource is what dbg reads logs through — Loki, Elasticsearch/OpenSearch, VictoriaLogs, a file or a
// bundle — the one log source interface: `dbg logs`, `dbg trace --logs` and `dbg doctor` use it too.
// Logs calls emit for each record matching q, in time order for the stores (a file keeps its own order),
// and returns warnings about partial results; an error from emit ends the call and is returned as it
// is. Explain is the request Logs would send for q, compiled to the backend's own query language
// (--explain, the checklist's queries); it sends nothing except where the backend must be asked (Loki's
// line format, when auto). Check is what `dbg doctor` calls.
type LogSource interface {
	Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) (warnings []string, err error)
	Explain(ctx context.Context, q investigate.LogQuery) (investigate.LogRequest, error)
	Check(ctx context.Context) error
}

// ProfileSource samples a service's profiles and returns leak and CPU findings (pprof, a bundle).
type ProfileSource interface {
	ProfileFindings(ctx context.Context) ([]investigate.Finding, []string, error)
}

// NetworkSource is what the network layer says about a service's edges (step 6): the mesh's metrics
// from Prometheus, a sidecar's admin API (--envoy-admin), a packet capture (--pcap). It returns findings
// about servers and edges, and the queries it ran.
type NetworkSource interface {
	NetworkFindings(ctx context.Context, service string, w investigate.Window) ([]investigate.Finding, []string, error)
}

// Database plans statements (PostgreSQL through `--dsn`): the checklist asks it why its slow
// statements are slow. It never runs anything but EXPLAIN.
type Database interface {
	ExplainQueries(ctx context.Context, qs []investigate.QueryStat, n int) (*investigate.ExplainReport, error)
}

// Change is a deploy marker from --changes FILE.
type Change struct {
	At      time.Time `json:"at"`
	Service string    `json:"service"`
	What    string    `json:"what"`
	From    string    `json:"from"`
	To      string    `json:"to"`
}

// Sources are the configured backends; nil means not configured. Names say what each is, for the
// report ("Jaeger at http://...").
type Sources struct {
	Traces      TraceSource
	TracesName  string
	Metrics     MetricSource
	MetricsName string
	Logs        LogSource
	LogsName    string
	Profiles    ProfileSource
	ProfileName string
	Database    Database
	DBName      string
	Prober      Prober
	Changes     []Change
	Network     NetworkSource
	NetworkName string
}

// Options tune the investigation.
type Options struct {
	// TraceLimit is how many traces are sampled per query (window slow, window failing, baseline).
	TraceLimit int
	// Trace holds the trace-analysis thresholds.
	Trace investigate.TraceOptions
	// Hotspot holds the metric thresholds.
	Hotspot investigate.HotspotOptions
	// LogLimit caps the log records read per window.
	LogLimit int
	// JaegerUI, when set, adds trace links to findings.
	JaegerUI string
	// ProbeURL is the service's URL (--probe) for the experiments' dbg probe commands; "" leaves a placeholder.
	ProbeURL string
	// ExcludeRoutes are the endpoints whose traces are left out of the samples (health, readiness,
	// metrics: investigate.DefaultHousekeeping); nil excludes none.
	ExcludeRoutes []string
}

// DefaultOptions are the defaults dbg ships with.
func DefaultOptions() Options {
	return Options{TraceLimit: 200, Trace: investigate.DefaultTraceOptions(), Hotspot: investigate.DefaultHotspotOptions(), LogLimit: 20000,
		ExcludeRoutes: investigate.DefaultHousekeeping}
}

// Investigation is the shared context of one checklist run: what is investigated, where the evidence
// comes from, and the evidence once fetched (each kind fetched once, whichever step asks first).
type Investigation struct {
	Service string
	Window  investigate.Window
	Sources Sources
	Options Options
	Now     func() time.Time
	// VerifyProbe is step 9's traffic evidence (--verify-probe), nil for none.
	VerifyProbe *ProbeEvidence

	traces   lazy[traceEvidence]
	metrics  lazy[metricEvidence]
	logs     lazy[logEvidence]
	profiles lazy[profileEvidence]
}

// lazy fetches a value once; every caller waits for the same result. Its state (started, done, err) is
// what the report blames a source with: a source that never answered is named, one that answered is not
// blamed for a step that waited on another.
type lazy[T any] struct {
	once    sync.Once
	val     T
	err     error
	started atomic.Bool
	done    atomic.Bool
	ready   chan struct{} // closed when done; made by start
	mu      sync.Mutex
}

func (l *lazy[T]) readyChan() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ready == nil {
		l.ready = make(chan struct{})
	}
	return l.ready
}

func (l *lazy[T]) get(fetch func() (T, error)) (T, error) {
	ready := l.readyChan()
	l.once.Do(func() {
		l.started.Store(true)
		defer close(ready)
		defer l.done.Store(true)
		// A panicking source must fail every step that reads it, not hand the later ones empty evidence.
		defer func() {
			if r := recover(); r != nil {
				l.err = fmt.Errorf("internal error in the source: %v", r)
			}
		}()
		l.val, l.err = fetch()
	})
	return l.val, l.err
}

// state is the fetch's outcome so far: started, finished, and its error once finished.
func (l *lazy[T]) state() (started, done bool, err error) {
	if l.done.Load() {
		return true, true, l.err
	}
	return l.started.Load(), false, nil
}

// within waits at most d for the fetch (starting it when no step has yet) and says whether it finished.
func (l *lazy[T]) within(ctx context.Context, d time.Duration, fetch func() (T, error)) (T, error, bool) {
	ready := l.readyChan()
	go l.get(fetch)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ready:
		return l.val, l.err, true
	case <-t.C:
	case <-ctx.Done():
	}
	var zero T
	return zero, nil, false
}

// traceEvidence is the sample of traces the trace-based steps share.
type traceEvidence struct {
	Window   []*investigate.TraceReport
	Baseline []*investigate.TraceReport
	Queries  []string
	Warnings []string
}

type metricEvidence struct {
	Input   investigate.HotspotInput
	Report  *investigate.HotspotReport
	Queries []string
}

type logEvidence struct {
	Window   []investigate.LogRecord
	Baseline []investigate.LogRecord
	Queries  []string
}

type profileEvidence struct {
	Findings []investigate.Finding
	Queries  []string
}

// sourceOutcome is what happened to one source's reads in this run.
type sourceOutcome struct {
	kind, name                string
	configured, started, done bool
	err                       error
}

func outcome[T any](kind, name string, configured bool, l *lazy[T]) sourceOutcome {
	started, done, err := l.state()
	return sourceOutcome{kind: kind, name: name, configured: configured, started: started, done: done, err: err}
}

// sourceOutcomes are the four evidence sources' outcomes, from their own fetches.
func (inv *Investigation) sourceOutcomes() []sourceOutcome {
	s := inv.Sources
	return []sourceOutcome{
		outcome("traces", s.TracesName, s.Traces != nil, &inv.traces),
		outcome("metrics", s.MetricsName, s.Metrics != nil, &inv.metrics),
		outcome("logs", s.LogsName, s.Logs != nil, &inv.logs),
		outcome("profiles", s.ProfileName, s.Profiles != nil, &inv.profiles),
	}
}

// pendingSources names the sources the deadline caught: still being read (started, not finished), or
// finished only because the deadline ended their read. The second matters: a backend that hangs until
// the deadline and a runner that notices the deadline race, and either way that backend is the one
// the step waited for.
func (inv *Investigation) pendingSources() []string {
	var out []string
	for _, o := range inv.sourceOutcomes() {
		if o.configured && o.started && (!o.done || errors.Is(o.err, context.DeadlineExceeded)) {
			name := o.name
			if name == "" {
				name = o.kind
			}
			out = append(out, name+" ("+o.kind+")")
		}
	}
	return out
}
