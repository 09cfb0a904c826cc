package investigate

import (
	"slices"
	"time"
)

// PathSegment is a stretch of time during which span Span was the one the request waited on.
type PathSegment struct {
	Span       int32
	Start, End time.Time
}

// CriticalPath walks the tree from root the way Jaeger UI does: from the end of a span back to its start,
// always descending into the child that finished last before the current point in time, and charging the
// gaps to the span itself. FollowsFrom and CONSUMER children are excluded (the parent does not wait for them) and
// children are clamped to their parent's window, so clock skew cannot push time outside the request.
// Segments come out from the end of the request backwards.
func (t *Tree) CriticalPath(root int32) []PathSegment {
	if root < 0 {
		return nil
	}
	spans := t.Trace.Spans
	type frame struct {
		span       int32
		start, end time.Time // the span's window clamped to its parent's
		kids       []int32   // eligible children, latest-ending first
		next       int       // kids before next were visited or skipped
	}
	clampedKids := func(i int32, ws, we time.Time) []int32 {
		var out []int32
		for _, c := range t.Children(i) {
			s := &spans[c]
			// Zero-length spans cannot hold the request; spans outside the window are skew or async work.
			// A consumer span is async by kind: its parent (the producer) does not wait for it, and the
			// time the message spent queued is the queue's, not the request's (QueueLags reports it).
			if s.FollowsFrom || s.Kind == KindConsumer || s.Duration <= 0 || !s.Start.Before(we) || !s.End().After(ws) {
				continue
			}
			out = append(out, c)
		}
		end := func(c int32) time.Time {
			e := spans[c].End()
			if e.After(we) {
				return we
			}
			return e
		}
		slices.SortStableFunc(out, func(a, b int32) int { return end(b).Compare(end(a)) })
		return out
	}
	r := &spans[root]
	stack := []frame{{span: root, start: r.Start, end: r.End(), kids: clampedKids(root, r.Start, r.End())}}
	cursor := r.End()
	var path []PathSegment
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		// Find the last-finishing child that ends at or before the cursor.
		child := int32(-1)
		var cs, ce time.Time
		for f.next < len(f.kids) {
			c := f.kids[f.next]
			f.next++
			cs, ce = spans[c].Start, spans[c].End()
			if cs.Before(f.start) {
				cs = f.start
			}
			if ce.After(f.end) {
				ce = f.end
			}
			if ce.After(cursor) {
				// Overlaps the part already charged to a later sibling; Jaeger skips it too.
				continue
			}
			child = c
			break
		}
		if child >= 0 {
			// A zero-length segment still records that the span is on the path (it waits on its child
			// the whole time).
			path = append(path, PathSegment{Span: f.span, Start: ce, End: cursor})
			cursor = ce
			stack = append(stack, frame{span: child, start: cs, end: ce, kids: clampedKids(child, cs, ce)})
			continue
		}
		if f.start.Before(cursor) {
			path = append(path, PathSegment{Span: f.span, Start: f.start, End: cursor})
			cursor = f.start
		}
		stack = stack[:len(stack)-1]
	}
	return path
}

// PathStep is one span on the critical path with the time the request spent in it alone.
type PathStep struct {
	Span int32
	Self time.Duration
}

// CriticalSteps sums segments per span and returns the spans in tree pre-order (root first).
func (t *Tree) CriticalSteps(segs []PathSegment) []PathStep {
	self := map[int32]time.Duration{}
	for _, s := range segs {
		self[s.Span] += s.End.Sub(s.Start)
	}
	out := make([]PathStep, 0, len(self))
	for _, i := range t.Order {
		if d, ok := self[i]; ok {
			out = append(out, PathStep{Span: i, Self: d})
		}
	}
	return out
}
