// Package investigate holds dbg's evidence model (traces, spans, findings, time windows) and the pure
// analyses over it. Nothing here touches the network, files or flags, so every analysis is a function of
// its inputs and is tested as such.
package investigate

import (
	"strings"
	"time"
)

// SpanKind is the OpenTelemetry span kind; Jaeger's span.kind tag maps onto it.
type SpanKind uint8

// Span kinds, in OpenTelemetry's numbering.
const (
	KindUnspecified SpanKind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

func (k SpanKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unspecified"
}

// ParseSpanKind accepts Jaeger's span.kind tag values ("server") and OTLP enum names
// ("SPAN_KIND_SERVER"), case-insensitively.
func ParseSpanKind(s string) SpanKind {
	s = strings.ToLower(strings.TrimPrefix(strings.ToUpper(s), "SPAN_KIND_"))
	for i, n := range kindNames {
		if n == s {
			return SpanKind(i)
		}
	}
	return KindUnspecified
}

// Status is a span's outcome as the instrumentation reported it.
type Status uint8

// Span statuses, in OpenTelemetry's numbering.
const (
	StatusUnset Status = iota
	StatusOK
	StatusError
)

// Attr is one key/value attribute. Values are kept as their display string: analyses compare and print
// them, and a string avoids an interface allocation per attribute on 100k-span traces.
type Attr struct {
	Key   string
	Value string
}

// Attrs is an attribute list; lookups are linear because spans carry few attributes.
type Attrs []Attr

// Get returns the value of key and whether it was present.
func (a Attrs) Get(key string) (string, bool) {
	for i := range a {
		if a[i].Key == key {
			return a[i].Value, true
		}
	}
	return "", false
}

// First returns the value of the first of keys that is present and non-empty.
func (a Attrs) First(keys ...string) string {
	for _, k := range keys {
		if v, ok := a.Get(k); ok && v != "" {
			return v
		}
	}
	return ""
}

// Event is a timestamped span event (OTLP) or log (Jaeger).
type Event struct {
	Name  string
	Time  time.Time
	Attrs Attrs
}

// RefType says how a span relates to the span it references.
type RefType uint8

// Reference types. FollowsFrom children do not hold their parent open, so the critical path skips them.
const (
	RefChildOf RefType = iota
	RefFollowsFrom
)

// Link references another span, in this trace or another.
type Link struct {
	TraceID string
	SpanID  string
	Type    RefType
}

// Span is the normalised span every trace source converts into.
type Span struct {
	TraceID  string
	SpanID   string
	ParentID string // empty for a root
	// FollowsFrom is true when the parent relationship is FOLLOWS_FROM (async work the parent does not wait for).
	FollowsFrom   bool
	Links         []Link
	Service       string
	Operation     string
	Kind          SpanKind
	Start         time.Time
	Duration      time.Duration
	Attrs         Attrs
	Resource      Attrs // shared between the spans of one process; never mutate
	Events        []Event
	Status        Status
	StatusMessage string
}

// End is the span's end time.
func (s *Span) End() time.Time { return s.Start.Add(s.Duration) }

// Attr looks key up in the span's attributes, then in its resource.
func (s *Span) Attr(key string) (string, bool) {
	if v, ok := s.Attrs.Get(key); ok {
		return v, true
	}
	return s.Resource.Get(key)
}

// Trace is one trace's spans, in the order the source gave them.
type Trace struct {
	ID    string
	Spans []Span
	// Warnings are problems found while reading (skipped spans, unparsable fields).
	Warnings []string
}

// Services returns the distinct service names in the trace, sorted.
func (t *Trace) Services() []string {
	out := make([]string, len(t.Spans))
	for i := range t.Spans {
		out[i] = t.Spans[i].Service
	}
	out = Distinct(out)
	sortStrings(out)
	return out
}

// Distinct returns the strings of s without repeats, first occurrences in their order, in a new slice
// (never nil; s is left as it was). The one string dedupe of the module.
func Distinct(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// CanonicalTraceID is the form two trace IDs are compared in: lower case, without leading zeros. Jaeger
// prints 64-bit IDs in 16 digits and 128-bit ones in 32, OTLP always in 32, and people paste "11" for
// 0…011, so "11", "0000000000000011" and "00000000000000000000000000000011" are one trace.
func CanonicalTraceID(id string) string {
	s := strings.TrimLeft(strings.ToLower(strings.TrimSpace(id)), "0")
	if s == "" && id != "" {
		return "0"
	}
	return s
}
