package investigate

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Contention: a span that records, in timestamped events, that it waits (for a lock, a pool's
// connection, a queue's slot, a semaphore) and then acquires it, spends the time between the two
// waiting, not working. The wait is measured between the first event whose text says it waits and the
// next that says it acquired (or the span's end when none does). Nothing here names a system: the
// words are the field's (wait/waiting/queued/blocked, acquire/acquired/granted/obtained).

var (
	waitWords    = regexp.MustCompile(`(?i)\b(wait|waiting|waits|queued|queue|blocked|contended)\b`)
	acquireWords = regexp.MustCompile(`(?i)\b(acquired|acquire|granted|obtained|got)\b`)
	resourceWord = regexp.MustCompile(`(?i)\b(lock|mutex|semaphore|pool|connection|queue|slot|permit|worker|thread)s?\b`)
	countWord    = regexp.MustCompile(`\b(\d{1,6})\b`)
)

func eventText(e *Event) string {
	t := e.Name
	if v := e.Attrs.First("event", "message", "msg"); v != "" && v != t {
		t += " " + v
	}
	return t
}

// SpanWait returns the time a span spent waiting by its events, the resource its events name, and the
// largest count they mention (how many waited with it: "behind 7 transactions"); ok is false when no
// event says it waits.
func SpanWait(s *Span) (wait time.Duration, resource string, queue int, ok bool) {
	var from time.Time
	for i := range s.Events {
		e := &s.Events[i]
		txt := eventText(e)
		isAcq := acquireWords.MatchString(txt)
		isWait := waitWords.MatchString(txt) && !isAcq
		if !isWait && !isAcq {
			continue
		}
		if resource == "" {
			if m := resourceWord.FindString(txt); m != "" {
				resource = strings.ToLower(strings.TrimSuffix(strings.ToLower(m), "s"))
			}
		}
		for _, m := range countWord.FindAllString(txt, -1) {
			if n, err := strconv.Atoi(m); err == nil && n > queue {
				queue = n
			}
		}
		switch {
		case isWait && from.IsZero():
			from, ok = e.Time, true
		case isAcq && !from.IsZero():
			if e.Time.After(from) {
				wait += e.Time.Sub(from)
			}
			from = time.Time{}
		}
	}
	if !from.IsZero() && s.End().After(from) {
		wait += s.End().Sub(from)
	}
	return wait, resource, queue, ok
}

type waitAgg struct {
	wait, dur time.Duration
	spans     int
	traces    map[string]bool
	resource  string
	queue     int
	ids       []string
}

func collectWaits(reps []*TraceReport) map[[2]string]*waitAgg {
	m := map[[2]string]*waitAgg{}
	for _, r := range reps {
		for _, i := range r.Tree.Order {
			s := r.Tree.Span(i)
			w, res, q, ok := SpanWait(s)
			if !ok {
				continue
			}
			k := [2]string{s.Service, s.Operation}
			a := m[k]
			if a == nil {
				a = &waitAgg{traces: map[string]bool{}}
				m[k] = a
			}
			a.wait += w
			a.dur += s.Duration
			a.spans++
			if !a.traces[s.TraceID] && len(a.ids) < 10 {
				a.ids = append(a.ids, s.TraceID)
			}
			a.traces[s.TraceID] = true
			if a.resource == "" {
				a.resource = res
			}
			a.queue = max(a.queue, q)
		}
	}
	return m
}

// ContentionFindings finds the operations whose spans wait for a shared resource by their events, and
// weighs each by the share of its time spent waiting, how many window traces it is in, the absolute
// wait (TimeWeight) and whether the wait grew against the baseline: a wait as long before the incident
// keeps a third of its score.
func ContentionFindings(window, baseline []*TraceReport) []Finding {
	if len(window) == 0 {
		return nil
	}
	wm, bm := collectWaits(window), collectWaits(baseline)
	var out []Finding
	for k, a := range wm {
		if a.spans == 0 || a.dur <= 0 {
			continue
		}
		meanWait := a.wait / time.Duration(a.spans)
		share := float64(a.wait) / float64(a.dur)
		presence := float64(len(a.traces)) / float64(len(window))
		if share < 0.2 || meanWait < time.Millisecond {
			continue
		}
		novelty, baseWaitMs := 0.5, 0.0
		if len(baseline) > 0 {
			novelty = 1
			if b := bm[k]; b != nil && b.spans > 0 {
				bw := b.wait / time.Duration(b.spans)
				baseWaitMs = Ms(bw)
				novelty = clamp01(1 - float64(bw)/float64(meanWait))
			}
		}
		score := clamp01((0.3 + 0.6*share) * (0.5 + 0.5*presence) * TimeWeight(meanWait) * (0.35 + 0.65*novelty))
		res := a.resource
		if res == "" {
			res = "a shared resource"
		}
		ev := map[string]any{
			"resource": res, "wait_ms": Ms(meanWait), "share_waiting": round3(share), "spans": a.spans,
			"traces": len(a.traces), "trace_share": round3(presence), "baseline_wait_ms": baseWaitMs,
			"duration_ms": Ms(a.dur / time.Duration(a.spans)), "source": "span events",
		}
		if a.queue > 0 {
			ev["concurrency"] = a.queue
		}
		out = append(out, Finding{
			Kind: KindContention, Service: k[0], Operation: k[1], Score: score,
			Title: fmt.Sprintf("%s %s waits for a %s: %.0f of %.0f ms (%.0f%% of its time) in %d of %d traces",
				k[0], k[1], res, Ms(meanWait), Ms(a.dur/time.Duration(a.spans)), 100*share, len(a.traces), len(window)),
			Evidence: ev, TraceIDs: a.ids,
			Recommendation: fmt.Sprintf("The time is queueing for the %s, not work: raise the pool or the limit, remove the lock, or shorten the critical section it guards. A timeout or a cache does not fix a queue.", res),
		})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Score > out[j].Score || out[i].Score == out[j].Score && out[i].Service+out[i].Operation < out[j].Service+out[j].Operation
	})
	return out
}
