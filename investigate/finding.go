package investigate

import (
	"cmp"
	"slices"
	"sort"
)

// Severity is a finding's urgency. Its order is the order of the constants below.
type Severity string

// Severities, most urgent first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Rank is the severity's position: 0 for critical, 4 for info, 5 for anything unknown.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 0
	case SeverityHigh:
		return 1
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 3
	case SeverityInfo:
		return 4
	}
	return 5
}

// ParseSeverity returns the severity named s and whether s named one.
func ParseSeverity(s string) (Severity, bool) {
	sev := Severity(s)
	return sev, sev.Rank() < 5
}

// SeverityFor maps a 0..1 score onto a severity, so every analysis grades the same way.
func SeverityFor(score float64) Severity {
	switch {
	case score >= 0.8:
		return SeverityCritical
	case score >= 0.6:
		return SeverityHigh
	case score >= 0.35:
		return SeverityMedium
	case score >= 0.15:
		return SeverityLow
	}
	return SeverityInfo
}

// Finding kinds of the shared JSON contract (../shared/DESIGN.md).
const (
	KindSlowSpan       = "slow_span"
	KindNPlusOne       = "n_plus_one"
	KindFanout         = "fanout"
	KindErrorOrigin    = "error_origin"
	KindLatencyHotspot = "latency_hotspot"
	KindErrorHotspot   = "error_hotspot"
	KindTrafficSpike   = "traffic_spike"
	KindSaturation     = "saturation"
	KindRecentChange   = "recent_change"
	KindDependency     = "dependency"
	KindLogPattern     = "log_pattern"
	KindMemoryLeak     = "memory_leak"
	KindGoroutineLeak  = "goroutine_leak"
	KindCPUHotspot     = "cpu_hotspot"
	KindSlowQuery      = "slow_query"
	KindContention     = "contention" // a wait for a lock, a pool or a queue: resource, wait_ms, share_waiting, concurrency, limit
)

// Finding is one ranked, evidence-backed observation. Its JSON form is the public contract.
type Finding struct {
	Kind           string         `json:"kind"`
	Severity       Severity       `json:"severity"`
	Score          float64        `json:"score"`
	Tier           string         `json:"tier,omitempty"`
	Service        string         `json:"service"`
	Operation      string         `json:"operation"`
	Title          string         `json:"title"`
	Evidence       map[string]any `json:"evidence"`
	TraceIDs       []string       `json:"trace_ids"`
	Links          []string       `json:"links"`
	Recommendation string         `json:"recommendation"`
	// Chain is a root cause's causal chain, trigger first (checklist only; see ChainLink).
	Chain []ChainLink `json:"chain,omitempty"`
}

// Chain roles: the state change that set it off, the operation or resource whose behaviour changed,
// and what users see.
const (
	RoleTrigger   = "trigger"
	RoleMechanism = "mechanism"
	RoleSymptom   = "symptom"
)

// ChainLink is one step of a causal chain. A trigger with no kind is "no trigger found in the window".
type ChainLink struct {
	Role      string `json:"role"`
	Kind      string `json:"kind"`
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Title     string `json:"title"`
}

// Normalize fills nil slices and maps so JSON shows [] and {} rather than null, and clamps the score.
func (f *Finding) Normalize() {
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	if f.TraceIDs == nil {
		f.TraceIDs = []string{}
	}
	if f.Links == nil {
		f.Links = []string{}
	}
	f.Score = clamp01(f.Score)
	if f.Severity == "" {
		f.Severity = SeverityFor(f.Score)
	}
}

// RankFindings sorts findings best first: by score, then severity, then kind, service and operation so
// that equal scores come out in a stable, reproducible order. It normalises each finding.
func RankFindings(fs []Finding) []Finding {
	if fs == nil {
		return []Finding{}
	}
	for i := range fs {
		fs[i].Normalize()
	}
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Severity.Rank(), b.Severity.Rank()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return cmp.Compare(a.Operation, b.Operation)
	})
	return fs
}

func clamp01(x float64) float64 {
	if x != x || x < 0 { // NaN or negative
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func sortStrings(s []string) { sort.Strings(s) }

// round3 rounds to three decimals so JSON figures stay readable and golden files stable.
func round3(x float64) float64 {
	if x != x {
		return 0
	}
	const f = 1000
	if x < 0 {
		return -float64(int64(-x*f+0.5))/f + 0 // + 0: -0.0004 rounds to 0, not -0
	}
	return float64(int64(x*f+0.5)) / f
}

// Ms converts a duration to float milliseconds rounded to microseconds, the unit of every *_ms field.
func Ms(d interface{ Microseconds() int64 }) float64 {
	return round3(float64(d.Microseconds()) / 1000)
}
