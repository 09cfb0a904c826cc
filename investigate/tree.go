package investigate

import (
	"fmt"
	"slices"
	"time"
)

// Tree indexes a trace's parent/child structure with int32 slices (no per-span pointers), so trees of
// hundreds of thousands of spans stay compact. Damage in the input (orphans, cycles, duplicate IDs,
// negative durations, children outside their parent's window) is repaired where possible and reported in
// Warnings; building never fails.
type Tree struct {
	Trace *Trace
	// Parent is the parent's index for each span, -1 for roots (true roots, orphans and cycle breaks).
	Parent []int32
	// Depth is each span's distance from its root.
	Depth []int32
	// Roots are the spans without a usable parent, the main root first.
	Roots []int32
	// Order is a depth-first pre-order walk over every kept span, children by start time.
	Order    []int32
	Warnings []string

	childStart []int32
	childCount []int32
	childIdx   []int32
	dropped    []bool
	index      map[string]int32
	// callKeys memoises CallKey per span: the N+1, MN+1 and N+1 API detectors all ask for it, and
	// normalising a statement allocates.
	callKeys []callKeyMemo
}

type callKeyMemo struct {
	key, kind string
	done      bool
}

// callKey is CallKey(span i), computed once per tree.
func (t *Tree) callKey(i int32) (key, kind string) {
	if t.callKeys == nil {
		t.callKeys = make([]callKeyMemo, len(t.Trace.Spans))
	}
	m := &t.callKeys[i]
	if !m.done {
		m.key, m.kind = CallKey(t.Span(i))
		m.done = true
	}
	return m.key, m.kind
}

// Children returns i's children sorted by start time.
func (t *Tree) Children(i int32) []int32 {
	return t.childIdx[t.childStart[i] : t.childStart[i]+t.childCount[i]]
}

// Span returns span i.
func (t *Tree) Span(i int32) *Span { return &t.Trace.Spans[i] }

// Lookup returns the index of the span with the given ID.
func (t *Tree) Lookup(spanID string) (int32, bool) {
	i, ok := t.index[spanID]
	return i, ok
}

// Dropped reports whether span i was left out of the tree (a duplicate ID).
func (t *Tree) Dropped(i int32) bool { return t.dropped[i] }

// Root is the main root: the request the trace is about. It is -1 for an empty trace.
func (t *Tree) Root() int32 {
	if len(t.Roots) == 0 {
		return -1
	}
	return t.Roots[0]
}

// Len is the number of spans kept in the tree.
func (t *Tree) Len() int { return len(t.Order) }

// BuildTree indexes tr. It clamps negative durations to zero in tr (with a warning).
func BuildTree(tr *Trace) *Tree {
	n := len(tr.Spans)
	t := &Tree{
		Trace:   tr,
		Parent:  make([]int32, n),
		Depth:   make([]int32, n),
		dropped: make([]bool, n),
		index:   make(map[string]int32, n),
	}
	var dups, negatives, orphans, skewed int
	for i := range tr.Spans {
		s := &tr.Spans[i]
		if s.Duration < 0 {
			s.Duration = 0
			negatives++
		}
		if _, ok := t.index[s.SpanID]; ok || s.SpanID == "" {
			t.dropped[i] = true
			dups++
			continue
		}
		t.index[s.SpanID] = int32(i)
	}
	counts := make([]int32, n+1)
	for i := range tr.Spans {
		t.Parent[i] = -1
		if t.dropped[i] {
			continue
		}
		s := &tr.Spans[i]
		if s.ParentID == "" {
			continue
		}
		p, ok := t.index[s.ParentID]
		if !ok || p == int32(i) {
			orphans++
			continue
		}
		t.Parent[i] = p
		counts[p]++
	}
	// Spans unreachable from any parentless span sit on a parent cycle: walking up from them never ends.
	// Detect them by marking everything reachable downward from the parentless spans.
	t.buildChildren(counts)
	reach := make([]bool, n)
	var stack []int32
	for i := range tr.Spans {
		if !t.dropped[i] && t.Parent[i] == -1 {
			stack = append(stack, int32(i))
		}
	}
	t.markReachable(stack, reach)
	cycles := 0
	for i := range tr.Spans {
		if t.dropped[i] || reach[i] {
			continue
		}
		// Break the cycle at the earliest-starting span on it: that is most likely the real parent.
		j := int32(i)
		best := j
		for steps := 0; steps <= n; steps++ {
			j = t.Parent[j]
			if j < 0 || reach[j] {
				break
			}
			if tr.Spans[j].Start.Before(tr.Spans[best].Start) {
				best = j
			}
			if j == int32(i) {
				break
			}
		}
		t.removeChild(t.Parent[best], best)
		t.Parent[best] = -1
		cycles++
		t.markReachable([]int32{best}, reach)
	}
	// Roots: the main root is the longest parentless span (the request); ties go to the earliest.
	for i := range tr.Spans {
		if !t.dropped[i] && t.Parent[i] == -1 {
			t.Roots = append(t.Roots, int32(i))
		}
	}
	slices.SortStableFunc(t.Roots, func(a, b int32) int {
		sa, sb := &tr.Spans[a], &tr.Spans[b]
		if sa.ParentID == "" && sb.ParentID != "" {
			return -1
		}
		if sb.ParentID == "" && sa.ParentID != "" {
			return 1
		}
		if sa.Duration != sb.Duration {
			if sa.Duration > sb.Duration {
				return -1
			}
			return 1
		}
		return sa.Start.Compare(sb.Start)
	})
	// Pre-order walk with depths; children were sorted by start when the index was built.
	t.Order = make([]int32, 0, n)
	for _, r := range t.Roots {
		stack = append(stack[:0], r)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			t.Order = append(t.Order, i)
			ch := t.Children(i)
			for k := len(ch) - 1; k >= 0; k-- {
				c := ch[k]
				t.Depth[c] = t.Depth[i] + 1
				stack = append(stack, c)
				if s, p := &tr.Spans[c], &tr.Spans[i]; s.Start.Before(p.Start) || s.End().After(p.End()) {
					if !s.FollowsFrom && s.Kind != KindConsumer {
						skewed++
					}
				}
			}
		}
	}
	if dups > 0 {
		t.warn("%d span(s) with a duplicate or empty span ID were ignored", dups)
	}
	if negatives > 0 {
		t.warn("%d span(s) had a negative duration, counted as 0", negatives)
	}
	if orphans > 0 {
		t.warn("%d span(s) reference a parent that is not in the trace; shown as separate roots", orphans)
	}
	if cycles > 0 {
		t.warn("%d parent cycle(s) broken; the earliest span on each is shown as a root", cycles)
	}
	if skewed > 0 {
		t.warn("%d span(s) extend outside their parent's time window (clock skew between hosts?); clamped for the critical path", skewed)
	}
	return t
}

func (t *Tree) warn(format string, args ...any) {
	t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...))
}

func (t *Tree) buildChildren(counts []int32) {
	n := len(t.Parent)
	t.childStart = make([]int32, n+1)
	for i := 0; i < n; i++ {
		t.childStart[i+1] = t.childStart[i] + counts[i]
	}
	t.childIdx = make([]int32, t.childStart[n])
	t.childCount = counts[:n]
	fill := make([]int32, n)
	copy(fill, t.childStart[:n])
	for i := 0; i < n; i++ {
		if p := t.Parent[i]; p >= 0 {
			t.childIdx[fill[p]] = int32(i)
			fill[p]++
		}
	}
	spans := t.Trace.Spans
	for i := 0; i < n; i++ {
		ch := t.Children(int32(i))
		if len(ch) > 1 {
			slices.SortStableFunc(ch, func(a, b int32) int { return spans[a].Start.Compare(spans[b].Start) })
		}
	}
}

// removeChild takes c out of p's children: c moves to the end of p's slot range and the range shrinks.
func (t *Tree) removeChild(p, c int32) {
	if p < 0 {
		return
	}
	ch := t.Children(p)
	k := slices.Index(ch, c)
	if k < 0 {
		return
	}
	copy(ch[k:], ch[k+1:])
	ch[len(ch)-1] = c
	t.childCount[p]--
}

func (t *Tree) markReachable(stack []int32, reach []bool) {
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if reach[i] {
			continue
		}
		reach[i] = true
		stack = append(stack, t.Children(i)...)
	}
}

// SelfTime is each span's duration not covered by its children (the union of their intervals clamped to
// the span), as Jaeger's Trace Statistics computes it. FollowsFrom children count too: the span's own
// work is what remains either way.
func (t *Tree) SelfTime() []time.Duration {
	spans := t.Trace.Spans
	self := make([]time.Duration, len(spans))
	for _, i := range t.Order {
		s := &spans[i]
		start, end := s.Start, s.End()
		covered := time.Duration(0)
		var curS, curE time.Time
		open := false
		for _, c := range t.Children(i) { // sorted by start
			cs, ce := spans[c].Start, spans[c].End()
			if cs.Before(start) {
				cs = start
			}
			if ce.After(end) {
				ce = end
			}
			if !ce.After(cs) {
				continue
			}
			if open && !cs.After(curE) {
				if ce.After(curE) {
					curE = ce
				}
				continue
			}
			if open {
				covered += curE.Sub(curS)
			}
			curS, curE, open = cs, ce, true
		}
		if open {
			covered += curE.Sub(curS)
		}
		self[i] = s.Duration - covered
		if self[i] < 0 {
			self[i] = 0
		}
	}
	return self
}
