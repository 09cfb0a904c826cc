package investigate

import "time"

// TraceQuery is a trace search, the one query every trace source takes (Jaeger's APIs, a bundle) and
// the checklist asks. Service is required; zero values mean "no condition".
type TraceQuery struct {
	Service     string
	Operation   string
	Start, End  time.Time
	MinDuration time.Duration
	MaxDuration time.Duration
	// Tags match span or resource attributes exactly (Jaeger's tag search; the probe's correlation ID).
	Tags map[string]string
	// Errors keeps only traces with an error span. Jaeger's own error filter differs between versions and
	// storage backends, so the Jaeger client filters the answer itself as well.
	Errors bool
	// Limit caps the number of traces returned; 0 means the source's default (20 for Jaeger).
	Limit int
}
