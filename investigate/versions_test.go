package investigate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// TestVersionChangeCompleteRollout: when the new version replaced the old everywhere, it is compared
// with the old version as it ran in the baseline; a slower one makes a strong change, an equal one not.
func TestVersionChangeCompleteRollout(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	reports := func(start time.Time, version string, dur time.Duration) []*investigate.TraceReport {
		var out []*investigate.TraceReport
		for i := range 10 {
			id := fmt.Sprintf("%s-%d-%d", version, start.Unix(), i)
			tr := &investigate.Trace{ID: id, Spans: []investigate.Span{{TraceID: id, SpanID: "a", Service: "checkout",
				Operation: "POST /orders", Kind: investigate.KindServer, Start: start.Add(time.Duration(i) * time.Second), Duration: dur,
				Resource: investigate.Attrs{{Key: "service.version", Value: version}}}}}
			out = append(out, investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions()))
		}
		return out
	}
	base := reports(t0, "1.4.2", 60*time.Millisecond)
	cases := []struct {
		name      string
		dur       time.Duration
		wantScore float64
	}{
		{"slower new version", 210 * time.Millisecond, 0.7},
		{"as fast as before", 62 * time.Millisecond, 0.4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := investigate.VersionChanges(reports(t0.Add(time.Minute), "2.0.0", c.dur), base)
			if len(fs) != 1 || fs[0].Evidence["old_version_from"] != "baseline" {
				t.Fatalf("changes %+v", fs)
			}
			if d := fs[0].Score - c.wantScore; d > 0.001 || d < -0.001 {
				t.Errorf("score %.3f, want %.2f (evidence %v)", fs[0].Score, c.wantScore, fs[0].Evidence)
			}
		})
	}
}
