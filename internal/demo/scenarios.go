package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Truth is what a scenario injected, in the terms a dbg finding uses: the service where the cause is,
// the finding kinds that name it correctly, and (when it matters) the operation it applies to.
type Truth struct {
	Service string   `json:"service"`
	Kinds   []string `json:"kinds"`               // any of these finding kinds names the cause
	Op      string   `json:"operation,omitempty"` // a substring of the finding's operation; "" for any
}

// Matches reports whether a finding (kind, service, evidence peer, operation) names the truth. A
// dependency finding accuses its peer (the service called), not the caller it was seen from.
func (t Truth) Matches(kind, service, peer, operation string) bool {
	suspect := service
	if kind == "dependency" && peer != "" {
		suspect = peer
	}
	return suspect == t.Service && slices.Contains(t.Kinds, kind) &&
		(t.Op == "" || strings.Contains(operation, t.Op))
}

// Scenario is one fault with its truth: what the scenario runner injects and then asks dbg to find.
type Scenario struct {
	Name  string `json:"name"`
	Fault Fault  `json:"fault"`
	// Service is where the fault is injected (the kind's default service when "").
	Service string `json:"service,omitempty"`
	// Truth is nil for the no-fault scenario: dbg must then raise nothing above "low".
	Truth *Truth `json:"truth,omitempty"`
	// Entry is the service an on-call engineer would start from (the checklist's --service).
	Entry string `json:"entry"`
	// Profile names the service whose pprof endpoint the checklist needs (--target), for the faults only
	// a profile shows.
	Profile string `json:"profile,omitempty"`
}

// Scenarios are the proving ground's cases: one per fault kind plus a healthy run. Finding kinds are
// those of the JSON contract (shared/DESIGN.md).
var Scenarios = []Scenario{
	{Name: "healthy", Entry: Frontend},
	{Name: "latency", Fault: Fault{Kind: KindLatency}, Entry: Frontend,
		Truth: &Truth{Service: Checkout, Kinds: []string{"slow_span", "latency_hotspot", "dependency"}, Op: "/orders"}},
	{Name: "error-rate", Fault: Fault{Kind: KindErrorRate}, Entry: Frontend,
		Truth: &Truth{Service: Payment, Kinds: []string{"error_origin", "error_hotspot", "log_pattern"}}},
	{Name: "slow-downstream", Fault: Fault{Kind: KindSlowDownstream}, Entry: Frontend,
		Truth: &Truth{Service: Fraud, Kinds: []string{"slow_span", "latency_hotspot", "dependency"}}},
	{Name: "error-burst", Fault: Fault{Kind: KindErrorBurst, Params: Params{Duration: "10m"}}, Entry: Frontend,
		Truth: &Truth{Service: Inventory, Kinds: []string{"error_origin", "error_hotspot", "dependency", "log_pattern"}}},
	{Name: "n-plus-one", Fault: Fault{Kind: KindNPlusOne}, Entry: Frontend,
		Truth: &Truth{Service: Inventory, Kinds: []string{"n_plus_one"}, Op: "SELECT"}},
	{Name: "slow-query", Fault: Fault{Kind: KindSlowQuery}, Entry: Frontend,
		Truth: &Truth{Service: Inventory, Kinds: []string{"slow_query", "slow_span"}, Op: "SELECT"}},
	{Name: "memory-leak", Fault: Fault{Kind: KindMemoryLeak}, Entry: Checkout, Profile: Checkout,
		Truth: &Truth{Service: Checkout, Kinds: []string{"memory_leak", "saturation"}}},
	{Name: "goroutine-leak", Fault: Fault{Kind: KindGoroutineLeak}, Entry: Payment, Profile: Payment,
		Truth: &Truth{Service: Payment, Kinds: []string{"goroutine_leak", "saturation"}}},
	{Name: "cpu-hog", Fault: Fault{Kind: KindCPUHog}, Entry: Frontend, Profile: Fraud,
		Truth: &Truth{Service: Fraud, Kinds: []string{"cpu_hotspot", "slow_span", "saturation"}}},
	{Name: "deploy", Fault: Fault{Kind: KindDeploy}, Entry: Frontend,
		Truth: &Truth{Service: Checkout, Kinds: []string{"recent_change"}}},
	{Name: "circuit-open", Fault: Fault{Kind: KindCircuitOpen}, Entry: Frontend,
		Truth: &Truth{Service: Gateway, Kinds: []string{"error_origin", "dependency", "error_hotspot"}}},
	{Name: "bulkhead-saturation", Fault: Fault{Kind: KindBulkheadSaturation}, Entry: Frontend,
		Truth: &Truth{Service: Payment, Kinds: []string{"saturation", "error_origin", "log_pattern"}}},
	{Name: "traffic-spike", Fault: Fault{Kind: KindTrafficSpike}, Entry: Frontend,
		Truth: &Truth{Service: Frontend, Kinds: []string{"traffic_spike"}}},
}

// ScenarioRun is what Drive did: the windows to investigate and where the fault went.
type ScenarioRun struct {
	Scenario Scenario     `json:"scenario"`
	Baseline [2]time.Time `json:"baseline"` // load without the fault
	Incident [2]time.Time `json:"incident"` // load with the fault in force
	Active   *Active      `json:"active,omitempty"`
	Load     [2]LoadStats `json:"load"` // baseline, incident
}

// Drive runs one scenario on a started system: baseline load, the fault, incident load. The fault stays
// in force when Drive returns (the runner investigates it live); ClearAll removes it.
func Drive(ctx context.Context, sys *System, sc Scenario, baseline, incident time.Duration) (ScenarioRun, error) {
	run := ScenarioRun{Scenario: sc}
	run.Baseline[0] = time.Now()
	run.Load[0] = sys.Load.Run(ctx, baseline)
	run.Baseline[1] = time.Now()
	if sc.Fault.Kind != "" {
		target := sc.Service
		if target == "" {
			sp, _ := SpecFor(sc.Fault.Kind)
			target = sp.Service
		}
		u, err := sys.AdminURL(target)
		if err != nil {
			return run, err
		}
		a, err := Inject(ctx, u, sc.Fault)
		if err != nil {
			return run, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		run.Active = &a
	}
	run.Incident[0] = time.Now()
	run.Load[1] = sys.Load.Run(ctx, incident)
	run.Incident[1] = time.Now()
	return run, ctx.Err()
}

// ClearAll removes every fault from every service and the load generator.
func ClearAll(ctx context.Context, sys *System) error {
	for _, name := range append(slices.Clone(Services), LoadGen) {
		u, err := sys.AdminURL(name)
		if err != nil {
			return err
		}
		if _, err := Clear(ctx, u, ""); err != nil {
			return err
		}
	}
	return nil
}
