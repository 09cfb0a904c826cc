package checklist

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// driverTrace: a request whose handler looks up ten drivers one by one; the call for driver 3 fails
// and, when retry is set, is repeated with the same arguments. rootFails marks the request failed.
func driverTrace(id string, retry, rootFails bool) *investigate.TraceReport {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	root := investigate.Span{TraceID: id, SpanID: "r", Service: "drivers", Operation: "FindNearest", Kind: investigate.KindServer, Start: t0, Duration: 200 * time.Millisecond}
	if rootFails {
		root.Status = investigate.StatusError
	}
	spans := []investigate.Span{root}
	at := t0
	call := func(n int, fail bool) {
		s := investigate.Span{TraceID: id, SpanID: fmt.Sprintf("c%d-%d", n, len(spans)), ParentID: "r", Service: "drivers", Operation: "GetDriver",
			Kind: investigate.KindClient, Start: at, Duration: 10 * time.Millisecond, Attrs: investigate.Attrs{{Key: "param.driverID", Value: fmt.Sprint(n)}}}
		if fail {
			s.Status = investigate.StatusError
			s.Attrs = append(s.Attrs, investigate.Attr{Key: "error", Value: "true"})
		}
		spans = append(spans, s)
		at = at.Add(11 * time.Millisecond)
	}
	for n := range 10 {
		call(n, n == 3)
		if n == 3 && retry {
			call(n, false)
		}
	}
	return investigate.AnalyzeTrace(&investigate.Trace{ID: id, Spans: spans}, investigate.DefaultTraceOptions())
}

// TestRankRetriedErrorsAbsorbed: an error the retries absorbed (no request failed) is low and says so,
// and does not fold the N+1 of the same call into itself.
func TestRankRetriedErrorsAbsorbed(t *testing.T) {
	cases := []struct {
		name             string
		retry, rootFails bool
		absorbed         bool
	}{
		{"retried, no request failed: absorbed", true, false, true},
		{"retried but requests fail: not absorbed", true, true, false},
		{"not retried: not absorbed", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var win []*investigate.TraceReport
			for i := range 10 {
				win = append(win, driverTrace(fmt.Sprint("t", i), c.retry, c.rootFails))
			}
			out := Rank([]investigate.Finding{
				f("error_origin", "drivers", "GetDriver", 0.6, "exception_type", "redis timeout"),
				f("n_plus_one", "drivers", "GetDriver", 0.5, "count", 10),
			}, win)
			var eo, np investigate.Finding
			for _, g := range out {
				switch g.Kind {
				case "error_origin":
					eo = g
				case "n_plus_one":
					np = g
				}
			}
			if got := eo.Evidence["retried"] != nil; got != c.absorbed {
				t.Fatalf("absorbed %v (%s, %.2f), want %v", got, eo.Title, eo.Score, c.absorbed)
			}
			if !c.absorbed {
				return
			}
			if eo.Severity != investigate.SeverityLow || !strings.Contains(eo.Title, "retried, 9% of calls, no request failed") {
				t.Errorf("absorbed error: %s %q", eo.Severity, eo.Title)
			}
			if np.Evidence["explained_by"] != nil || out[0].Kind != "n_plus_one" {
				t.Errorf("the N+1 was folded into the absorbed error (%v), or does not rank first (%s)", np.Evidence["explained_by"], out[0].Kind)
			}
		})
	}
}
