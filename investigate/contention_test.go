package investigate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// lockedTrace is a request whose one database span waits wait, then works work, with the given events.
func lockedTrace(id string, wait, work time.Duration, events func(start time.Time) []investigate.Event) *investigate.TraceReport {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := &investigate.Trace{ID: id, Spans: []investigate.Span{
		{TraceID: id, SpanID: "a", Service: "front", Operation: "GET /x", Kind: investigate.KindServer, Start: t0, Duration: wait + work + time.Millisecond},
		{TraceID: id, SpanID: "b", ParentID: "a", Service: "store", Operation: "SQL SELECT", Kind: investigate.KindClient, Start: t0, Duration: wait + work, Events: events(t0)},
	}}
	return investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
}

func TestContentionFromSpanEvents(t *testing.T) {
	lock := func(wait time.Duration) func(time.Time) []investigate.Event {
		return func(t0 time.Time) []investigate.Event {
			return []investigate.Event{
				{Name: "Waiting for lock behind 7 transactions", Time: t0},
				{Name: "Acquired lock; 6 transactions waiting behind", Time: t0.Add(wait)},
			}
		}
	}
	pool := func(wait time.Duration) func(time.Time) []investigate.Event {
		return func(t0 time.Time) []investigate.Event {
			return []investigate.Event{{Name: "log", Time: t0, Attrs: investigate.Attrs{{Key: "event", Value: "queued for a pool connection"}}},
				{Name: "connection granted", Time: t0.Add(wait)}}
		}
	}
	none := func(time.Time) []investigate.Event { return nil }
	cases := []struct {
		name      string
		window    func(time.Time) []investigate.Event
		wait      time.Duration
		baseline  time.Duration // the baseline's wait; 0: no wait events in the baseline
		want      bool
		resource  string
		minScore  float64
		shareNear float64
	}{
		{"a lock wait measured between its events", lock(2450 * time.Millisecond), 2450 * time.Millisecond, 0, true, "lock", 0.6, 2450.0 / 2750},
		{"a pool wait named by an event field", pool(400 * time.Millisecond), 400 * time.Millisecond, 0, true, "pool", 0.5, 400.0 / 700},
		{"a wait as long in the baseline keeps a third", lock(2450 * time.Millisecond), 2450 * time.Millisecond, 2450 * time.Millisecond, true, "lock", 0, 2450.0 / 2750},
		{"no wait events, no contention", none, 0, 0, false, "", 0, 0},
		{"a short wait in a long span is not contention", lock(10 * time.Millisecond), 10 * time.Millisecond, 0, false, "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := 300 * time.Millisecond
			var win, base []*investigate.TraceReport
			for i := range 10 {
				win = append(win, lockedTrace(fmt.Sprint("w", i), c.wait, work, c.window))
				if c.baseline > 0 {
					base = append(base, lockedTrace(fmt.Sprint("b", i), c.baseline, work, lock(c.baseline)))
				} else {
					base = append(base, lockedTrace(fmt.Sprint("b", i), 0, work, none))
				}
			}
			fs := investigate.ContentionFindings(win, base)
			if !c.want {
				if len(fs) != 0 {
					t.Fatalf("want none, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("want one finding, got %+v", fs)
			}
			f := fs[0]
			if f.Kind != investigate.KindContention || f.Service != "store" || f.Operation != "SQL SELECT" || f.Evidence["resource"] != c.resource {
				t.Fatalf("got %s %s %s resource %v", f.Kind, f.Service, f.Operation, f.Evidence["resource"])
			}
			if got := investigate.EvidenceNum(f.Evidence["wait_ms"]); got != float64(c.wait.Milliseconds()) {
				t.Errorf("wait_ms %v, want %v", got, c.wait.Milliseconds())
			}
			if got := investigate.EvidenceNum(f.Evidence["share_waiting"]); got < c.shareNear-0.01 || got > c.shareNear+0.01 {
				t.Errorf("share_waiting %v, want %.3f", got, c.shareNear)
			}
			if f.Score < c.minScore {
				t.Errorf("score %.2f, want at least %.2f", f.Score, c.minScore)
			}
			if c.baseline > 0 && f.Score > 0.35 {
				t.Errorf("a standing wait scored %.2f", f.Score)
			}
			if r := strings.ToLower(f.Recommendation); !strings.Contains(r, "raise the pool") || !strings.Contains(r, "remove the lock") || strings.Contains(r, "add a cache") {
				t.Errorf("recommendation %q", f.Recommendation)
			}
		})
	}
}
