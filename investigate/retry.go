package investigate

import (
	"sort"
	"strings"
	"time"
)

// RetryStats describes how one operation's failures were handled across a trace sample.
type RetryStats struct {
	Calls   int // spans of the operation
	Errors  int // of them failed
	Retried int // failed calls followed, under the same parent, by another call of the same operation
	// Traces is how many traces had a failed call; FailedRequests how many of those requests failed.
	Traces, FailedRequests int
}

// Retries measures, over reps, how often service's operation failed and was retried: a failed span
// followed, under the same parent, by a later call of the same service and operation with the same
// attributes (error markers aside) is a retry: the same request again. Calls that differ in their
// arguments (an N+1 loop over ids) are not retries of each other. An error the retries absorbed is one whose request did
// not fail.
func Retries(reps []*TraceReport, service, operation string) RetryStats {
	var st RetryStats
	type sib struct {
		start time.Time
		sig   string
	}
	for _, r := range reps {
		if r.Tree == nil {
			continue
		}
		failedHere := false
		byParent := map[string][]sib{}
		for _, i := range r.Tree.Order {
			s := r.Tree.Span(i)
			if s.Service == service && s.Operation == operation {
				byParent[s.ParentID] = append(byParent[s.ParentID], sib{s.Start, callSignature(s)})
			}
		}
		for _, i := range r.Tree.Order {
			s := r.Tree.Span(i)
			if s.Service != service || s.Operation != operation {
				continue
			}
			st.Calls++
			if !r.IsError[i] && !SpanIsError(s) {
				continue
			}
			st.Errors++
			failedHere = true
			p := callSignature(s)
			for _, o := range byParent[s.ParentID] {
				if o.start.After(s.Start) && o.sig == p {
					st.Retried++
					break
				}
			}
		}
		if failedHere {
			st.Traces++
			if r.RequestFailed() {
				st.FailedRequests++
			}
		}
	}
	return st
}

// callSignature is a span's attributes without the ones that say how it ended: what was asked.
func callSignature(s *Span) string {
	var kv []string
	for _, a := range s.Attrs {
		k := a.Key
		if k == "error" || strings.HasPrefix(k, "error.") || strings.HasPrefix(k, "otel.") || strings.Contains(k, "status_code") ||
			strings.HasPrefix(k, "exception.") || k == "span.kind" || strings.HasPrefix(k, "internal.") {
			continue
		}
		kv = append(kv, k+"="+a.Value)
	}
	sort.Strings(kv)
	return strings.Join(kv, "\x00")
}
