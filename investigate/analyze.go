package investigate

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TraceOptions tunes the trace analyses. The zero value is not useful; start from DefaultTraceOptions.
type TraceOptions struct {
	// NPlusOneMinCount and NPlusOneMinTotal are the thresholds for repeated calls under one parent,
	// in the spirit of Sentry's N+1 detector (5 repeats, 50 ms in total).
	NPlusOneMinCount int
	NPlusOneMinTotal time.Duration
	// SlowSpanMinShare is the share of the request's critical path an operation must take to be reported.
	SlowSpanMinShare float64
	// MaxSlowSpans caps the slow_span findings.
	MaxSlowSpans int
	// Detectors are the thresholds of the field's span detectors (N+1 API calls, consecutive DB and
	// HTTP, slow DB query, large payload, MN+1).
	Detectors DetectorOptions
}

// DefaultTraceOptions are the thresholds dbg ships with.
func DefaultTraceOptions() TraceOptions {
	return TraceOptions{NPlusOneMinCount: 5, NPlusOneMinTotal: 50 * time.Millisecond, SlowSpanMinShare: 0.1, MaxSlowSpans: 5,
		Detectors: DefaultDetectorOptions()}
}

// PathEntry is one span on the critical path in the JSON contract.
type PathEntry struct {
	SpanID     string  `json:"span_id"`
	Service    string  `json:"service"`
	Operation  string  `json:"operation"`
	DurationMs float64 `json:"duration_ms"`
	SelfMs     float64 `json:"self_ms"`
}

// OpStats are Jaeger-style Trace Statistics for one (service, operation).
type OpStats struct {
	Service     string  `json:"service"`
	Operation   string  `json:"operation"`
	Count       int     `json:"count"`
	TotalMs     float64 `json:"total_ms"`
	SelfTotalMs float64 `json:"self_total_ms"`
	AvgMs       float64 `json:"avg_ms"`
	MaxMs       float64 `json:"max_ms"`
	Errors      int     `json:"errors"`
}

// TraceReport is the result of analysing one trace: the `dbg trace` JSON contract.
type TraceReport struct {
	TraceID      string      `json:"trace_id"`
	SpanCount    int         `json:"span_count"`
	Services     []string    `json:"services"`
	Start        time.Time   `json:"start"`
	DurationMs   float64     `json:"duration_ms"`
	CriticalPath []PathEntry `json:"critical_path"`
	Stats        []OpStats   `json:"stats"`
	Findings     []Finding   `json:"findings"`
	Warnings     []string    `json:"warnings"`

	// Tree and the per-span figures below feed the waterfall; they are not part of the JSON.
	Tree     *Tree           `json:"-"`
	OnPath   []bool          `json:"-"`
	SelfTime []time.Duration `json:"-"`
	IsError  []bool          `json:"-"`
}

// AnalyzeTrace runs every trace analysis over tr.
func AnalyzeTrace(tr *Trace, opts TraceOptions) *TraceReport {
	t := BuildTree(tr)
	rep := &TraceReport{
		TraceID:      tr.ID,
		SpanCount:    t.Len(),
		Services:     tr.Services(),
		CriticalPath: []PathEntry{},
		Warnings:     append(append([]string{}, tr.Warnings...), t.Warnings...),
		Tree:         t,
		SelfTime:     t.SelfTime(),
		OnPath:       make([]bool, len(tr.Spans)),
		IsError:      make([]bool, len(tr.Spans)),
	}
	root := t.Root()
	if root < 0 {
		rep.Stats = []OpStats{}
		rep.Findings = []Finding{}
		rep.Warnings = append(rep.Warnings, "the trace has no spans")
		return rep
	}
	rs := t.Span(root)
	rep.Start = rs.Start
	rep.DurationMs = Ms(rs.Duration)
	steps := t.CriticalSteps(t.CriticalPath(root))
	for _, st := range steps {
		s := t.Span(st.Span)
		rep.OnPath[st.Span] = true
		rep.CriticalPath = append(rep.CriticalPath, PathEntry{
			SpanID: s.SpanID, Service: s.Service, Operation: s.Operation,
			DurationMs: Ms(s.Duration), SelfMs: Ms(st.Self),
		})
	}
	for _, i := range t.Order {
		rep.IsError[i] = SpanIsError(t.Span(i))
	}
	rep.Stats = Statistics(t, rep.SelfTime, rep.IsError)
	var fs []Finding
	fs = append(fs, SlowSpans(t, root, steps, opts)...)
	detected, covered := SpanDetectors(t, root, opts.Detectors)
	for _, f := range RepeatedCalls(t, root, opts) {
		// The same calls reported as N+1 API calls keep only that, more specific, finding.
		if r, _ := f.Evidence["route"].(string); r == "" || !covered[fmt.Sprint(f.Evidence["parent_span_id"])+"\x00"+r] {
			fs = append(fs, f)
		}
	}
	fs = append(fs, detected...)
	fs = append(fs, ErrorOrigins(t, root, rep.IsError)...)
	fs = append(fs, QueueLags(t)...)
	rep.Findings = RankFindings(fs)
	for i := range rep.Findings {
		if len(rep.Findings[i].TraceIDs) == 0 && tr.ID != "" {
			rep.Findings[i].TraceIDs = []string{tr.ID}
		}
	}
	return rep
}

// Statistics aggregates spans per (service, operation), most total time first.
func Statistics(t *Tree, self []time.Duration, isErr []bool) []OpStats {
	type key struct{ svc, op string }
	idx := map[key]int{}
	var out []OpStats
	var totals, selfs, maxes []time.Duration
	for _, i := range t.Order {
		s := t.Span(i)
		k := key{s.Service, s.Operation}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, OpStats{Service: s.Service, Operation: s.Operation})
			totals, selfs, maxes = append(totals, 0), append(selfs, 0), append(maxes, 0)
		}
		out[j].Count++
		totals[j] += s.Duration
		selfs[j] += self[i]
		maxes[j] = max(maxes[j], s.Duration)
		if isErr[i] {
			out[j].Errors++
		}
	}
	for j := range out {
		out[j].TotalMs = Ms(totals[j])
		out[j].SelfTotalMs = Ms(selfs[j])
		out[j].AvgMs = Ms(totals[j] / time.Duration(out[j].Count))
		out[j].MaxMs = Ms(maxes[j])
	}
	slices.SortStableFunc(out, func(a, b OpStats) int {
		if c := cmp.Compare(b.SelfTotalMs, a.SelfTotalMs); c != 0 {
			return c
		}
		return cmp.Compare(a.Service+"\x00"+a.Operation, b.Service+"\x00"+b.Operation)
	})
	if out == nil {
		out = []OpStats{}
	}
	return out
}

// SlowSpans ranks (service, operation, peer) groups by the critical-path self time they cost the request:
// a long span that mostly waits on a child is not the slow one; the child is. Client spans to different
// downstreams are different groups even under one operation name ("HTTP POST"), and each group names its
// own peer. A client span with no server span below it calls something that sends no spans (a third-party
// API, a managed service): its time is the dependency's, and the finding says so.
func SlowSpans(t *Tree, root int32, steps []PathStep, opts TraceOptions) []Finding {
	total := t.Span(root).Duration
	if total <= 0 {
		return nil
	}
	type group struct {
		svc, op, peer, host string
		kind                SpanKind
		db                  bool
		uninstrumented      bool
		self, dur           time.Duration
		ids                 []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, st := range steps {
		s := t.Span(st.Span)
		peer, host, callee := "", "", ""
		if s.Kind == KindClient || s.Kind == KindProducer {
			peer, host = Peer(s), PeerHost(s)
			// The callee's own service name, when it sent spans, is the best name for it unless the
			// client named the service itself (service.peer.name / peer.service).
			if callee = calleeService(t, st.Span); callee != "" && s.Attrs.First("service.peer.name", "peer.service") == "" {
				peer = callee
			}
		}
		k := s.Service + "\x00" + s.Operation + "\x00" + peer
		g := byKey[k]
		if g == nil {
			g = &group{svc: s.Service, op: s.Operation, peer: peer, host: host, kind: s.Kind, db: IsDBSpan(s), uninstrumented: true}
			byKey[k] = g
			groups = append(groups, g)
		}
		if g.host == "" {
			g.host = host
		}
		if s.Kind != KindClient || callee != "" {
			g.uninstrumented = false
		}
		g.self += st.Self
		g.dur += s.Duration
		g.ids = append(g.ids, s.SpanID)
	}
	slices.SortStableFunc(groups, func(a, b *group) int { return cmp.Compare(b.self, a.self) })
	var out []Finding
	for _, g := range groups {
		share := float64(g.self) / float64(total)
		if share < opts.SlowSpanMinShare || len(out) >= opts.MaxSlowSpans {
			break
		}
		title := fmt.Sprintf("%s %s holds the request for %s (%.0f%% of %s)", g.svc, g.op, fmtDur(g.self), share*100, fmtDur(total))
		rec := "Look at what this span does on its own (no child span covers this time): add spans or profile it."
		name := g.peer
		if name == "" {
			name = g.host
		}
		if name != "" && g.host != "" && g.host != name && !strings.HasPrefix(g.host, name) {
			name += " at " + g.host
		}
		uninstrumented := g.uninstrumented && name != "" && !g.db
		switch {
		case name == "":
		case g.db:
			title = fmt.Sprintf("%s waits %s on %s (%s, %.0f%% of the request)", g.svc, fmtDur(g.self), name, g.op, share*100)
			rec = fmt.Sprintf("The time is spent in the database call to %s: look at the statement (dbg db lists it, with its plan where the database can explain it), the database's load, and waits for a connection in the client's pool.", g.peer)
		case uninstrumented:
			title = fmt.Sprintf("%s waits %s on %s, which sends no spans (%s, %.0f%% of the request)", g.svc, fmtDur(g.self), name, g.op, share*100)
			rec = fmt.Sprintf("%s is an uninstrumented dependency: dbg cannot see inside it. Check its own latency (status page, its metrics, the client's connection pool), give the call a timeout and a bounded retry, and cache the answer or move the call off the request path if it need not be on it.", name)
		case g.kind == KindProducer:
			title = fmt.Sprintf("%s waits %s publishing to %s (%s, %.0f%% of the request)", g.svc, fmtDur(g.self), name, g.op, share*100)
			rec = fmt.Sprintf("Publishing to %s blocks the request: check the broker's latency and acknowledgement settings, or publish asynchronously.", name)
		default:
			title = fmt.Sprintf("%s waits %s on %s outside the callee's spans (%s, %.0f%% of the request)", g.svc, fmtDur(g.self), name, g.op, share*100)
			rec = fmt.Sprintf("The client waits longer than %s works: the time is in the network, connection setup or pool, or the server's queue before its span starts. Compare the client and server spans' start and end times.", name)
		}
		ev := map[string]any{
			"self_ms": Ms(g.self), "duration_ms": Ms(g.dur), "share": round3(share), "peer": g.peer,
			"span_ids": capStrings(g.ids, 20), "span_id": g.ids[0],
		}
		if g.host != "" {
			ev["peer_address"] = g.host
		}
		if g.kind == KindClient && !g.db {
			ev["uninstrumented"] = uninstrumented
		}
		out = append(out, Finding{
			Kind: KindSlowSpan, Score: share * TimeWeight(g.self), Service: g.svc, Operation: g.op, Title: title,
			Evidence: ev, Recommendation: rec,
		})
	}
	return out
}

// calleeService is the service that answered client span i when it sent spans: the service of the first
// server span, or span of another service, below it; empty when the callee sent none.
func calleeService(t *Tree, i int32) string {
	svc := t.Span(i).Service
	stack := append([]int32(nil), t.Children(i)...)
	for len(stack) > 0 {
		c := stack[0]
		stack = stack[1:]
		if s := t.Span(c); s.Kind == KindServer || s.Kind == KindConsumer || s.Service != svc {
			return s.Service
		}
		stack = append(stack, t.Children(c)...)
	}
	return ""
}

// TimeWeight scales a score by the absolute time at stake, so a share of a tiny request cannot rank as
// critical: full weight from 50 ms (Sentry's N+1 floor, and about where a user-facing request starts to
// feel slower), falling logarithmically to a tenth at 0.5 ms and below. A 100 µs trace whose one span is
// 90% of it is a fact worth listing (info), not an incident.
func TimeWeight(d time.Duration) float64 {
	const full, floor = 50 * time.Millisecond, 500 * time.Microsecond
	switch {
	case d >= full:
		return 1
	case d <= floor:
		return 0.1
	}
	return 0.1 + 0.9*math.Log10(float64(d)/float64(floor))/math.Log10(float64(full)/float64(floor))
}

// CallKey says which calls count as "the same call" for N+1 detection: the normalised statement for
// database spans, the route or URL template for HTTP clients, the method for RPC. Empty means the span is
// not a call that can repeat.
func CallKey(s *Span) (key, kind string) {
	if _, fp, ok := IsStatementSpan(s); ok {
		return fp, "statement"
	}
	if s.Kind != KindClient && s.Kind != KindProducer {
		return "", ""
	}
	if r := s.Attrs.First("url.template", "http.route"); r != "" {
		return HTTPMethod(s) + " " + r, "route"
	}
	if u := HTTPURL(s); u != "" {
		return HTTPMethod(s) + " " + TemplatePath(u), "route"
	}
	if m := s.Attrs.First("rpc.method"); m != "" {
		return s.Attrs.First("rpc.service") + "/" + m, "route"
	}
	return s.Operation, "route"
}

var (
	reUUID   = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	reHexID  = regexp.MustCompile(`\b[0-9a-fA-F]{16,}\b`)
	reNumSeg = regexp.MustCompile(`/\d+(/|$)`)
)

// TemplatePath turns a concrete URL into a route template: query dropped, UUIDs, long hex IDs and numeric
// path segments replaced by {id}.
func TemplatePath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			u = u[i+3+j:]
		}
	}
	u = reUUID.ReplaceAllString(u, "{id}")
	u = reHexID.ReplaceAllString(u, "{id}")
	for reNumSeg.MatchString(u) {
		u = reNumSeg.ReplaceAllString(u, "/{id}$1")
	}
	return u
}

// RepeatedCalls finds, under each parent, runs of the same call. Calls made one after another are an
// N+1 (kind n_plus_one); calls made concurrently are a fan-out (kind fanout), reported separately because
// the fix differs (batching versus bounding concurrency).
func RepeatedCalls(t *Tree, root int32, opts TraceOptions) []Finding {
	reqDur := t.Span(root).Duration
	type group struct {
		key, kind string
		spans     []int32
	}
	var out []Finding
	for _, p := range t.Order {
		ch := t.Children(p)
		if len(ch) < opts.NPlusOneMinCount {
			continue
		}
		groups := map[string]*group{}
		var order []*group
		for _, c := range ch {
			k, kind := t.callKey(c)
			if k == "" {
				continue
			}
			g := groups[k]
			if g == nil {
				g = &group{key: k, kind: kind}
				groups[k] = g
				order = append(order, g)
			}
			g.spans = append(g.spans, c)
		}
		for _, g := range order {
			if len(g.spans) < opts.NPlusOneMinCount {
				continue
			}
			var total time.Duration
			for _, c := range g.spans {
				total += t.Span(c).Duration
			}
			if total < opts.NPlusOneMinTotal {
				continue
			}
			first := t.Span(g.spans[0])
			last := t.Span(g.spans[len(g.spans)-1])
			wall := last.End().Sub(first.Start)
			conc := maxConcurrency(t, g.spans)
			parent := t.Span(p)
			ids := make([]string, 0, len(g.spans))
			for _, c := range g.spans {
				ids = append(ids, t.Span(c).SpanID)
			}
			ev := map[string]any{
				"count": len(g.spans), "total_ms": Ms(total), "parent_operation": parent.Operation,
				"parent_span_id": parent.SpanID, "wall_ms": Ms(wall), "span_ids": capStrings(ids, 20),
			}
			ev[g.kind] = g.key
			f := Finding{Service: first.Service, Operation: first.Operation, Evidence: ev}
			share := 0.0
			if reqDur > 0 {
				share = float64(wall) / float64(reqDur)
			}
			if conc <= 1 {
				f.Kind = KindNPlusOne
				// Sequential repeats cost their whole wall time; make even a small share visible.
				f.Score = (0.3 + 0.7*share) * TimeWeight(wall)
				f.Title = fmt.Sprintf("N+1: %s calls %q %d times one after another under %s (%s)", first.Service, g.key, len(g.spans), parent.Operation, fmtDur(total))
				f.Recommendation = "Batch these calls into one (WHERE id IN (...), a bulk endpoint, or a join), or load the data once before the loop."
			} else {
				f.Kind = KindFanout
				ev["concurrency"] = conc
				f.Score = (0.15 + 0.5*share) * TimeWeight(wall)
				f.Title = fmt.Sprintf("fan-out: %s calls %q %d times, up to %d at once, under %s", first.Service, g.key, len(g.spans), conc, parent.Operation)
				f.Recommendation = "Many concurrent calls for one request: use a batch API or bound the concurrency so one request cannot flood the downstream."
			}
			out = append(out, f)
		}
	}
	return out
}

// maxConcurrency is the largest number of the given spans open at one instant. Touching intervals
// (one ends exactly when the next starts) do not overlap.
func maxConcurrency(t *Tree, spans []int32) int {
	type ev struct {
		at    time.Time
		delta int
	}
	evs := make([]ev, 0, 2*len(spans))
	for _, c := range spans {
		s := t.Span(c)
		evs = append(evs, ev{s.Start, 1}, ev{s.End(), -1})
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.delta, b.delta) // ends before starts at the same instant
	})
	cur, best := 0, 0
	for _, e := range evs {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

// SpanIsError reports whether a span says it failed: status ERROR, the error=true tag, an HTTP 5xx (a
// 4xx on a server span is the caller's mistake, not this service failing), or an exception event.
func SpanIsError(s *Span) bool {
	if s.Status == StatusError {
		return true
	}
	if v, ok := s.Attrs.Get("error"); ok && (v == "true" || v == "1") {
		return true
	}
	if code := s.Attrs.First("http.response.status_code", "http.status_code"); code != "" {
		if n, err := strconv.Atoi(code); err == nil && n >= 500 {
			return true
		}
	}
	for i := range s.Events {
		if s.Events[i].Name == "exception" {
			return true
		}
	}
	return false
}

// ErrorDetail extracts the exception type and message a span recorded, falling back to the status
// message, error.type and the HTTP status.
func ErrorDetail(s *Span) (typ, msg string) {
	for i := range s.Events {
		e := &s.Events[i]
		if e.Name == "exception" || e.Attrs.First("exception.type", "exception.message") != "" {
			typ = e.Attrs.First("exception.type", "error.kind")
			msg = e.Attrs.First("exception.message", "message")
			break
		}
		if e.Attrs.First("event") == "error" {
			typ = e.Attrs.First("error.kind", "error.object")
			msg = e.Attrs.First("message", "error.object")
		}
	}
	if typ == "" {
		typ = s.Attrs.First("error.type", "exception.type", "otel.status_description")
	}
	if msg == "" {
		msg = s.StatusMessage
	}
	if msg == "" {
		msg = s.Attrs.First("exception.message", "error.message", "otel.status_description")
	}
	if code := s.Attrs.First("http.response.status_code", "http.status_code"); code != "" && (typ == "" || msg == "") {
		if typ == "" {
			typ = "HTTP " + code
		}
		if msg == "" {
			msg = "HTTP status " + code
		}
	}
	if typ == "" {
		typ = "error"
	}
	return typ, msg
}

// ErrorOrigins finds the spans where errors start: error spans none of whose descendants failed. Their
// error ancestors merely propagate the failure and are listed as such in the evidence.
func ErrorOrigins(t *Tree, root int32, isErr []bool) []Finding {
	n := len(t.Trace.Spans)
	// errBelow[i]: some descendant of i (not i) is an error. Reverse pre-order visits children first.
	errBelow := make([]bool, n)
	for k := len(t.Order) - 1; k >= 0; k-- {
		i := t.Order[k]
		if p := t.Parent[i]; p >= 0 && (isErr[i] || errBelow[i]) {
			errBelow[p] = true
		}
	}
	rootFailed := isErr[root]
	var out []Finding
	for _, i := range t.Order {
		if !isErr[i] || errBelow[i] {
			continue
		}
		s := t.Span(i)
		var chain []string
		for p := t.Parent[i]; p >= 0; p = t.Parent[p] {
			if isErr[p] {
				ps := t.Span(p)
				chain = append(chain, ps.Service+" "+ps.Operation+" ("+ps.SpanID+")")
			}
		}
		typ, msg := ErrorDetail(s)
		reachesRoot := rootFailed && (i == root || onAncestry(t, i, root))
		score := 0.45
		if reachesRoot {
			score = 0.9 // the request failed because of this span
		}
		ev := map[string]any{
			"span_id": s.SpanID, "exception_type": typ, "message": msg,
			"propagated_by": capStrings(chain, 20), "request_failed": reachesRoot,
		}
		title := fmt.Sprintf("error starts in %s %s: %s", s.Service, s.Operation, oneLine(typ, msg))
		rec := "Start from this span's logs and exception; the spans above it only pass the error on."
		if p := Peer(s); p != "" && (s.Kind == KindClient) {
			ev["peer"] = p
			rec = fmt.Sprintf("The call to %s failed: check %s's health and logs; consider a retry with backoff or a fallback.", p, p)
		}
		out = append(out, Finding{
			Kind: KindErrorOrigin, Score: score, Service: s.Service, Operation: s.Operation,
			Title: title, Evidence: ev, Recommendation: rec,
		})
	}
	// Many identical origins (a retry loop, an error in every iteration of an N+1) read as one finding.
	return mergeFindings(out)
}

func onAncestry(t *Tree, i, root int32) bool {
	for p := t.Parent[i]; p >= 0; p = t.Parent[p] {
		if p == root {
			return true
		}
	}
	return false
}

// mergeFindings folds findings with the same kind, service, operation and title into the first,
// counting them in evidence["occurrences"].
func mergeFindings(fs []Finding) []Finding {
	var out []Finding
	seen := map[string]int{}
	for _, f := range fs {
		k := f.Kind + "\x00" + f.Service + "\x00" + f.Operation + "\x00" + f.Title
		if j, ok := seen[k]; ok {
			out[j].Evidence["occurrences"] = out[j].Evidence["occurrences"].(int) + 1
			out[j].Score = max(out[j].Score, f.Score)
			continue
		}
		f.Evidence["occurrences"] = 1
		seen[k] = len(out)
		out = append(out, f)
	}
	return out
}

func oneLine(typ, msg string) string {
	if msg == "" {
		return typ
	}
	return typ + ": " + msg
}

func capStrings(s []string, n int) []string {
	if s == nil {
		return []string{}
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

// fmtDur prints a duration the way people read latency: 1.2s, 340ms, 12.5ms, 800µs.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d >= 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 0, 64) + "ms"
	case d >= time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms"
	}
	return strconv.FormatInt(d.Microseconds(), 10) + "µs"
}

// FormatDuration is fmtDur for other packages (render).
func FormatDuration(d time.Duration) string { return fmtDur(d) }

// FormatMs is a figure in milliseconds (the JSON's *_ms) as people read latency: 1.20s, 340ms,
// 12.5ms, 800µs. The one millisecond formatter: analyses' titles and every printer use it.
func FormatMs(ms float64) string {
	switch {
	case ms == 0:
		return "0ms" // the axis origin, an unmeasured figure: "0µs" would claim a precision it lacks
	case ms < 0:
		return "-" + FormatMs(-ms)
	}
	return fmtDur(time.Duration(ms * float64(time.Millisecond)))
}

// AnalyzeTraces runs AnalyzeTrace over every trace on every core (the analyses are pure and
// independent) and returns the reports in the traces' order: the multi-trace analysis of `dbg trace
// --service`, `dbg db` and the checklist.
func AnalyzeTraces(traces []*Trace, o TraceOptions) []*TraceReport {
	reps := make([]*TraceReport, len(traces))
	workers := min(runtime.GOMAXPROCS(0), len(traces))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(traces); i = int(next.Add(1) - 1) {
				reps[i] = AnalyzeTrace(traces[i], o)
			}
		})
	}
	wg.Wait()
	return reps
}
