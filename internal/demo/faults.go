package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind names a fault the demo can inject at runtime.
type Kind string

// The fault kinds. Each has a default service (where it applies when none is named) and, for some, the
// only services it makes sense on.
const (
	KindLatency            Kind = "latency"             // added latency in the server, before the handler
	KindErrorRate          Kind = "error-rate"          // a share of requests answered 500 by chaos middleware
	KindSlowDownstream     Kind = "slow-downstream"     // the service's own work (an internal span) gets slow
	KindErrorBurst         Kind = "error-burst"         // the service answers 503 for a while (auto-clears)
	KindNPlusOne           Kind = "n-plus-one"          // inventory: one query per item instead of one IN query
	KindSlowQuery          Kind = "slow-query"          // inventory: the index on items.sku is dropped
	KindMemoryLeak         Kind = "memory-leak"         // every request retains a buffer (bounded)
	KindGoroutineLeak      Kind = "goroutine-leak"      // every request leaves a goroutine blocked (bounded)
	KindCPUHog             Kind = "cpu-hog"             // every request burns CPU
	KindDeploy             Kind = "deploy"              // service.version bumped, the new version is slower
	KindCircuitOpen        Kind = "circuit-open"        // gateway fails fast, so payment's breaker opens
	KindBulkheadSaturation Kind = "bulkhead-saturation" // payment's gateway bulkhead shrinks to a few slots
	KindTrafficSpike       Kind = "traffic-spike"       // the load generator multiplies its rate
)

// Spec describes a kind: where it applies by default, where it may apply, and its default parameters.
type Spec struct {
	Kind     Kind
	Service  string   // default target
	Only     []string // when set, the only services the kind applies to
	Defaults Params
	Help     string
}

// Specs lists every fault kind, in the order docs and the CLI show them.
var Specs = []Spec{
	{Kind: KindLatency, Service: Checkout, Defaults: Params{MS: 250}, Help: "adds ms (± ms/5 jitter) to every request, or to --route only"},
	{Kind: KindErrorRate, Service: Payment, Defaults: Params{Rate: 0.3}, Help: "answers a share (--rate) of requests with 500"},
	{Kind: KindSlowDownstream, Service: Fraud, Defaults: Params{MS: 300}, Help: "the service's own work span takes ms longer; its callers wait"},
	{Kind: KindErrorBurst, Service: Inventory, Defaults: Params{Rate: 1, Duration: "90s"}, Help: "the service fails with 503 (--rate of requests) for --for, then recovers"},
	{Kind: KindNPlusOne, Service: Inventory, Only: []string{Inventory}, Help: "stock lookups run one SELECT per item instead of one IN query"},
	{Kind: KindSlowQuery, Service: Inventory, Only: []string{Inventory}, Help: "drops the index on items.sku, so lookups scan the table"},
	{Kind: KindMemoryLeak, Service: Checkout, Defaults: Params{KB: 256, MaxMB: 256}, Help: "each request keeps kb of memory, up to max-mb"},
	{Kind: KindGoroutineLeak, Service: Payment, Defaults: Params{Max: 20000}, Help: "each request leaves a blocked goroutine, up to max"},
	{Kind: KindCPUHog, Service: Fraud, Defaults: Params{MS: 40}, Help: "each request burns ms of CPU"},
	{Kind: KindDeploy, Service: Checkout, Defaults: Params{Version: "2.0.0", MS: 150}, Help: "bumps service.version (new tracer provider) and the new version adds ms"},
	{Kind: KindCircuitOpen, Service: Gateway, Only: []string{Gateway}, Defaults: Params{Rate: 1}, Help: "the gateway fails fast, so payment's circuit breaker opens"},
	{Kind: KindBulkheadSaturation, Service: Payment, Only: []string{Payment}, Defaults: Params{Limit: 1}, Help: "payment's gateway bulkhead shrinks to limit slots, so calls are rejected"},
	{Kind: KindTrafficSpike, Service: LoadGen, Only: []string{LoadGen}, Defaults: Params{Factor: 5}, Help: "the load generator multiplies its rate by factor"},
}

// SpecFor returns the spec of a kind.
func SpecFor(k Kind) (Spec, bool) {
	for _, s := range Specs {
		if s.Kind == k {
			return s, true
		}
	}
	return Spec{}, false
}

// KindNames lists the kinds as strings.
func KindNames() []string {
	out := make([]string, len(Specs))
	for i, s := range Specs {
		out[i] = string(s.Kind)
	}
	return out
}

// Params are a fault's parameters; zero means "the kind's default".
type Params struct {
	Route    string  `json:"route,omitempty"`    // "/orders" or "POST /orders": only this route (latency, error-rate)
	MS       int     `json:"ms,omitempty"`       // milliseconds added (latency, slow-downstream, cpu-hog, deploy)
	Rate     float64 `json:"rate,omitempty"`     // share of requests, 0..1 (error-rate, error-burst, circuit-open)
	KB       int     `json:"kb,omitempty"`       // kilobytes kept per request (memory-leak)
	MaxMB    int     `json:"max_mb,omitempty"`   // total bound (memory-leak)
	Max      int     `json:"max,omitempty"`      // goroutine bound (goroutine-leak)
	Limit    int     `json:"limit,omitempty"`    // bulkhead slots (bulkhead-saturation)
	Factor   float64 `json:"factor,omitempty"`   // rate multiplier (traffic-spike)
	Version  string  `json:"version,omitempty"`  // new service.version (deploy)
	Duration string  `json:"duration,omitempty"` // clears itself after this long (Go duration; any kind)
}

// Fault is a request to inject one fault: the JSON body of POST /admin/fault.
type Fault struct {
	Kind   Kind   `json:"kind"`
	Params Params `json:"params"`
}

// Bounds keep every fault harmless to the machine it runs on.
const (
	maxFaultMS       = 10_000
	maxLeakKB        = 4096
	maxLeakMB        = 1024
	maxLeakGoroutine = 100_000
	maxBulkhead      = 64
	maxFactor        = 20
	maxFaultDuration = time.Hour
)

var versionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$`)

// DecodeFault reads a fault from JSON, rejecting unknown fields.
func DecodeFault(data []byte) (Fault, error) {
	var f Fault
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Fault{}, fmt.Errorf("fault JSON: %w", err)
	}
	return f, nil
}

// Resolve fills a fault's defaults and checks its parameters and its target service; it returns the
// fault as it will apply.
func (f Fault) Resolve(service string) (Fault, error) {
	spec, ok := SpecFor(f.Kind)
	if !ok {
		return f, fmt.Errorf("unknown fault kind %q (want one of %s)", f.Kind, strings.Join(KindNames(), ", "))
	}
	if len(spec.Only) > 0 && !contains(spec.Only, service) {
		return f, fmt.Errorf("fault %s applies only to %s, not %q", f.Kind, strings.Join(spec.Only, ", "), service)
	}
	p, d := f.Params, spec.Defaults
	if p.MS == 0 {
		p.MS = d.MS
	}
	if p.Rate == 0 {
		p.Rate = d.Rate
	}
	if p.KB == 0 {
		p.KB = d.KB
	}
	if p.MaxMB == 0 {
		p.MaxMB = d.MaxMB
	}
	if p.Max == 0 {
		p.Max = d.Max
	}
	if p.Limit == 0 {
		p.Limit = d.Limit
	}
	if p.Factor == 0 {
		p.Factor = d.Factor
	}
	if p.Version == "" {
		p.Version = d.Version
	}
	if p.Duration == "" {
		p.Duration = d.Duration
	}
	switch {
	case p.MS < 0 || p.MS > maxFaultMS:
		return f, fmt.Errorf("fault %s: ms %d out of range 0..%d", f.Kind, p.MS, maxFaultMS)
	case p.Rate < 0 || p.Rate > 1:
		return f, fmt.Errorf("fault %s: rate %g out of range 0..1", f.Kind, p.Rate)
	case p.KB < 0 || p.KB > maxLeakKB:
		return f, fmt.Errorf("fault %s: kb %d out of range 0..%d", f.Kind, p.KB, maxLeakKB)
	case p.MaxMB < 0 || p.MaxMB > maxLeakMB:
		return f, fmt.Errorf("fault %s: max_mb %d out of range 0..%d", f.Kind, p.MaxMB, maxLeakMB)
	case p.Max < 0 || p.Max > maxLeakGoroutine:
		return f, fmt.Errorf("fault %s: max %d out of range 0..%d", f.Kind, p.Max, maxLeakGoroutine)
	case p.Limit < 0 || p.Limit > maxBulkhead:
		return f, fmt.Errorf("fault %s: limit %d out of range 0..%d", f.Kind, p.Limit, maxBulkhead)
	case p.Factor < 0 || p.Factor > maxFactor:
		return f, fmt.Errorf("fault %s: factor %g out of range 0..%d", f.Kind, p.Factor, maxFactor)
	case p.Version != "" && !versionRe.MatchString(p.Version):
		return f, fmt.Errorf("fault %s: version %q: want letters, digits and . + _ - (64 at most)", f.Kind, p.Version)
	case len(p.Route) > 200:
		return f, fmt.Errorf("fault %s: route too long", f.Kind)
	}
	if p.Duration != "" {
		dur, err := time.ParseDuration(p.Duration)
		if err != nil || dur < 0 || dur > maxFaultDuration {
			return f, fmt.Errorf("fault %s: duration %q: want a Go duration up to %s", f.Kind, p.Duration, maxFaultDuration)
		}
	}
	f.Params = p
	return f, nil
}

// matchesRoute reports whether a fault limited to p.Route applies to method+path.
func (p Params) matchesRoute(method, route string) bool {
	if p.Route == "" {
		return true
	}
	if m, r, ok := strings.Cut(p.Route, " "); ok {
		return strings.EqualFold(m, method) && r == route
	}
	return p.Route == route
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Active is a fault in force, as GET /admin/fault lists it.
type Active struct {
	Fault
	Service string    `json:"service"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until,omitzero"`
}

// faultSet holds a service's active faults, one per kind; a fault with an end clears itself.
type faultSet struct {
	mu     sync.Mutex
	active map[Kind]Active
	now    func() time.Time
	// onClear undoes a kind's side effects (index rebuilt, leaks freed); called without mu held.
	onClear func(Kind)
}

func newFaultSet(now func() time.Time, onClear func(Kind)) *faultSet {
	return &faultSet{active: map[Kind]Active{}, now: now, onClear: onClear}
}

func (fs *faultSet) set(a Active) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.active[a.Kind] = a
}

// get returns the fault of kind k when it is in force.
func (fs *faultSet) get(k Kind) (Params, bool) {
	fs.mu.Lock()
	a, ok := fs.active[k]
	expired := ok && !a.Until.IsZero() && fs.now().After(a.Until)
	if expired {
		delete(fs.active, k)
	}
	fs.mu.Unlock()
	if expired {
		fs.onClear(k)
		return Params{}, false
	}
	return a.Params, ok
}

// clear removes one kind, or every kind when k is "", and returns what was removed.
func (fs *faultSet) clear(k Kind) []Kind {
	fs.mu.Lock()
	var gone []Kind
	for kind := range fs.active {
		if k == "" || kind == k {
			gone = append(gone, kind)
			delete(fs.active, kind)
		}
	}
	fs.mu.Unlock()
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	for _, kind := range gone {
		fs.onClear(kind)
	}
	return gone
}

func (fs *faultSet) list() []Active {
	for _, s := range Specs { // expire what is due
		fs.get(s.Kind)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Active, 0, len(fs.active))
	for _, a := range fs.active {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}
