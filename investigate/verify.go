package investigate

import "time"

// Tiers of a ranked list of hypotheses (Finding.Tier): one root cause, the other candidate causes
// contributing, and what users feel as symptoms.
const (
	TierRootCause    = "root_cause"
	TierLikelyCause  = "likely_cause" // the top hypothesis when another is within the margin or it is unstable under resampling
	TierContributing = "contributing"
	TierSymptom      = "symptom"
)

// Verification is the comparison of a run's ranked findings with an earlier report's.
type Verification struct {
	Against    time.Time    `json:"against"`
	Resolved   []FindingRef `json:"resolved"`
	Persisting []FindingRef `json:"persisting"`
	New        []FindingRef `json:"new"`
}

// Done reports whether every earlier cause is gone and nothing new appeared.
func (v *Verification) Done() bool { return len(v.Persisting) == 0 && len(v.New) == 0 }

// FindingRef names a finding across reports.
type FindingRef struct {
	Kind      string   `json:"kind"`
	Service   string   `json:"service"`
	Operation string   `json:"operation"`
	Title     string   `json:"title"`
	Severity  Severity `json:"severity"`
}

func ref(f *Finding) FindingRef {
	return FindingRef{Kind: f.Kind, Service: f.Service, Operation: f.Operation, Title: f.Title, Severity: f.Severity}
}

// countsAsCause: a cause the report stands behind — the root cause, or any cause of medium severity or
// more. Low-severity standing issues (present before the incident too) do not decide a verification.
func countsAsCause(f *Finding) bool {
	return f.Tier == TierRootCause || f.Tier != TierSymptom && f.Severity.Rank() <= SeverityMedium.Rank()
}

// Compare matches earlier causes with current ones by kind, service and operation: each earlier cause
// is resolved or persisting, and causes not seen before are new. Both lists are ranked and tiered.
func Compare(before, now []Finding) *Verification {
	ver := &Verification{Resolved: []FindingRef{}, Persisting: []FindingRef{}, New: []FindingRef{}}
	key := func(f *Finding) string { return f.Kind + "\x00" + f.Service + "\x00" + f.Operation }
	cur := map[string]bool{}
	for i := range now {
		if countsAsCause(&now[i]) {
			cur[key(&now[i])] = true
		}
	}
	old := map[string]bool{}
	for i := range before {
		f := &before[i]
		if !countsAsCause(f) {
			continue
		}
		old[key(f)] = true
		if cur[key(f)] {
			ver.Persisting = append(ver.Persisting, ref(f))
		} else {
			ver.Resolved = append(ver.Resolved, ref(f))
		}
	}
	for i := range now {
		f := &now[i]
		if countsAsCause(f) && !old[key(f)] {
			ver.New = append(ver.New, ref(f))
		}
	}
	return ver
}
