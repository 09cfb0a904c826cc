package investigate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The span detectors the field uses beside N+1 and fan-out, with Sentry's published defaults as the
// starting thresholds (docs.sentry.io/product/issues/issue-details/performance-issues/: N+1 API Calls,
// Consecutive DB Queries, Consecutive HTTP, Slow DB Queries, Large HTTP Payload; MN+1 from Sentry's
// detector settings). Each finding says what the time would be without the problem (saved_ms). The rules
// and their reasons are in docs/ranking.md.

// Finding kinds of the span detectors.
const (
	KindNPlusOneAPI     = "n_plus_one_api"
	KindConsecutiveDB   = "consecutive_db"
	KindConsecutiveHTTP = "consecutive_http"
	KindLargePayload    = "large_payload"
	KindMNPlusOne       = "mn_plus_one"
	KindQueueLag        = "queue_lag"
)

// DetectorOptions are the span detectors' thresholds. Zero disables nothing: start from
// DefaultDetectorOptions and change what you need (Set does it by name, for configuration files).
type DetectorOptions struct {
	// N+1 API calls: at least APIMinCount GET calls to one URL pattern under one parent, each starting within
	// APIMaxGap of the previous one's start (a burst) or end (a loop), APIMinTotal in all.
	APIMinCount int
	APIMaxGap   time.Duration
	APIMinTotal time.Duration
	// Consecutive DB: sequential database calls under one parent of which the parallelizable ones (SELECTs
	// without WHERE or parameters, not the first) would save at least DBMinSaved and DBMinRatio of the
	// sequence, each at least DBMinSpan.
	DBMinSaved time.Duration
	DBMinRatio float64
	DBMinSpan  time.Duration
	// Consecutive HTTP: at least HTTPMinCount sequential HTTP calls each at least HTTPMinSpan, at most
	// HTTPMaxGap apart, whose parallelisation would save at least HTTPMinSaved.
	HTTPMinCount int
	HTTPMinSpan  time.Duration
	HTTPMaxGap   time.Duration
	HTTPMinSaved time.Duration
	// Slow DB query: one SELECT of at least SlowQueryMin.
	SlowQueryMin time.Duration
	// Large HTTP payload: a response body over PayloadMinBytes on a call of at least PayloadMinDuration.
	PayloadMinBytes    int64
	PayloadMinDuration time.Duration
	// MN+1: a sequence of 2 to MNMaxSequence different calls repeated at least MNMinRepeats times in a
	// row under one parent, MNMinTotal in all.
	MNMaxSequence int
	MNMinRepeats  int
	MNMinTotal    time.Duration
}

// DefaultDetectorOptions are Sentry's published defaults.
func DefaultDetectorOptions() DetectorOptions {
	return DetectorOptions{
		APIMinCount: 10, APIMaxGap: 5 * time.Millisecond, APIMinTotal: 300 * time.Millisecond,
		DBMinSaved: 100 * time.Millisecond, DBMinRatio: 0.1, DBMinSpan: 30 * time.Millisecond,
		HTTPMinCount: 3, HTTPMinSpan: 500 * time.Millisecond, HTTPMaxGap: 500 * time.Millisecond, HTTPMinSaved: 2 * time.Second,
		SlowQueryMin:    500 * time.Millisecond,
		PayloadMinBytes: 300_000, PayloadMinDuration: 100 * time.Millisecond,
		MNMaxSequence: 5, MNMinRepeats: 3, MNMinTotal: 100 * time.Millisecond,
	}
}

// Set changes one threshold by its configuration name ("consecutive_http.min_span", "slow_db_query.min",
// …); durations take Go syntax ("500ms"), sizes bytes.
func (o *DetectorOptions) Set(name, value string) error {
	durs := map[string]*time.Duration{
		"n_plus_one_api.max_gap": &o.APIMaxGap, "n_plus_one_api.min_total": &o.APIMinTotal,
		"consecutive_db.min_saved": &o.DBMinSaved, "consecutive_db.min_span": &o.DBMinSpan,
		"consecutive_http.min_span": &o.HTTPMinSpan, "consecutive_http.max_gap": &o.HTTPMaxGap, "consecutive_http.min_saved": &o.HTTPMinSaved,
		"slow_db_query.min": &o.SlowQueryMin, "large_payload.min_duration": &o.PayloadMinDuration, "mn_plus_one.min_total": &o.MNMinTotal,
	}
	ints := map[string]*int{"n_plus_one_api.min_count": &o.APIMinCount, "consecutive_http.min_count": &o.HTTPMinCount,
		"mn_plus_one.max_sequence": &o.MNMaxSequence, "mn_plus_one.min_repeats": &o.MNMinRepeats}
	switch {
	case durs[name] != nil:
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return fmt.Errorf("detector threshold %s: %q is not a duration", name, value)
		}
		*durs[name] = d
	case ints[name] != nil:
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return fmt.Errorf("detector threshold %s: %q is not a positive count", name, value)
		}
		*ints[name] = n
	case name == "consecutive_db.min_ratio":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("detector threshold %s: %q is not a ratio between 0 and 1", name, value)
		}
		o.DBMinRatio = f
	case name == "large_payload.min_bytes":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("detector threshold %s: %q is not a byte count", name, value)
		}
		o.PayloadMinBytes = n
	default:
		return fmt.Errorf("unknown detector threshold %q", name)
	}
	return nil
}

// SpanDetectors runs the field's detectors over the tree. covered receives the (parent span, call key)
// pairs an N+1 API finding took, so the generic repeated-call finding for the same calls is not repeated.
func SpanDetectors(t *Tree, root int32, o DetectorOptions) (out []Finding, covered map[string]bool) {
	covered = map[string]bool{}
	reqDur := t.Span(root).Duration
	for _, p := range t.Order {
		ch := t.Children(p)
		if len(ch) == 0 {
			continue
		}
		out = append(out, nPlusOneAPI(t, p, ch, reqDur, o, covered)...)
		out = append(out, consecutiveDB(t, p, ch, reqDur, o)...)
		out = append(out, consecutiveHTTP(t, p, ch, reqDur, o)...)
		out = append(out, mnPlusOne(t, p, ch, reqDur, o)...)
	}
	for _, i := range t.Order {
		s := t.Span(i)
		if f, ok := slowDBQuery(s, reqDur, o); ok {
			out = append(out, f)
		}
		if f, ok := largePayload(s, reqDur, o); ok {
			out = append(out, f)
		}
	}
	return out, covered
}

func shareOf(d, of time.Duration) float64 {
	if of <= 0 {
		return 0
	}
	return min(1, float64(d)/float64(of))
}

// detectorScore grades a detector finding by the share of the request it would save and the absolute
// time (TimeWeight): base for being a known anti-pattern, plus up to span for the saving.
func detectorScore(base, span float64, saved, req time.Duration) float64 {
	return (base + span*shareOf(saved, req)) * TimeWeight(saved)
}

func spanIDs(t *Tree, idx []int32) []string {
	ids := make([]string, 0, len(idx))
	for _, i := range idx {
		ids = append(ids, t.Span(i).SpanID)
	}
	return capStrings(ids, 20)
}

func maxDur(t *Tree, idx []int32) time.Duration {
	var m time.Duration
	for _, i := range idx {
		m = max(m, t.Span(i).Duration)
	}
	return m
}

func sumDur(t *Tree, idx []int32) time.Duration {
	var s time.Duration
	for _, i := range idx {
		s += t.Span(i).Duration
	}
	return s
}

func wallOf(t *Tree, idx []int32) time.Duration {
	start, end := t.Span(idx[0]).Start, t.Span(idx[0]).End()
	for _, i := range idx[1:] {
		s := t.Span(i)
		if s.Start.Before(start) {
			start = s.Start
		}
		if s.End().After(end) {
			end = s.End()
		}
	}
	return end.Sub(start)
}

// nPlusOneAPI: Sentry's N+1 API calls — GETs to one URL pattern fired one per item, as a burst (each
// within APIMaxGap of the previous start) or a tight loop (each within APIMaxGap of the previous end).
// One batched request would cost about the longest of them.
func nPlusOneAPI(t *Tree, p int32, ch []int32, req time.Duration, o DetectorOptions, covered map[string]bool) []Finding {
	if len(ch) < o.APIMinCount {
		return nil
	}
	groups := map[string][]int32{}
	var keys []string
	for _, c := range ch {
		s := t.Span(c)
		if s.Kind != KindClient || !strings.EqualFold(HTTPMethod(s), "GET") {
			continue
		}
		k, kind := t.callKey(c)
		if kind != "route" || k == "" {
			continue
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], c)
	}
	var out []Finding
	for _, k := range keys {
		for _, run := range tightRuns(t, groups[k], o.APIMaxGap) {
			total := sumDur(t, run)
			if len(run) < o.APIMinCount || total < o.APIMinTotal {
				continue
			}
			wall := wallOf(t, run)
			saved := max(0, wall-maxDur(t, run))
			first, parent := t.Span(run[0]), t.Span(p)
			covered[parent.SpanID+"\x00"+k] = true
			out = append(out, Finding{
				Kind: KindNPlusOneAPI, Service: first.Service, Operation: first.Operation,
				Score: detectorScore(0.3, 0.6, max(saved, wall/2), req),
				Title: fmt.Sprintf("N+1 API calls: %s calls %q %d times under %s (%s); one batched request would save about %s",
					first.Service, k, len(run), parent.Operation, fmtDur(total), fmtDur(saved)),
				Evidence: map[string]any{"count": len(run), "route": k, "total_ms": Ms(total), "wall_ms": Ms(wall), "saved_ms": Ms(saved),
					"parent_operation": parent.Operation, "parent_span_id": parent.SpanID, "concurrency": maxConcurrency(t, run), "span_ids": spanIDs(t, run)},
				Recommendation: "Fetch the items in one request (a batch or list endpoint taking many IDs), or include them in the parent resource's response.",
			})
		}
	}
	return out
}

// tightRuns splits calls (sorted by start) into runs where each starts within gap of the previous one's
// start or end.
func tightRuns(t *Tree, calls []int32, gap time.Duration) [][]int32 {
	var runs [][]int32
	var cur []int32
	for _, c := range calls {
		if len(cur) > 0 {
			prev, s := t.Span(cur[len(cur)-1]), t.Span(c)
			fromStart, fromEnd := s.Start.Sub(prev.Start), s.Start.Sub(prev.End())
			if fromStart > gap && (fromEnd < 0 || fromEnd > gap) {
				runs = append(runs, cur)
				cur = nil
			}
		}
		cur = append(cur, c)
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	return runs
}

// sequences splits the children that pass keep into runs of non-overlapping calls (each starting at or
// after the previous one's end), the shape both "consecutive" detectors look for.
func sequences(t *Tree, ch []int32, keep func(*Span) bool) [][]int32 {
	var runs [][]int32
	var cur []int32
	for _, c := range ch {
		s := t.Span(c)
		if !keep(s) {
			continue
		}
		if len(cur) > 0 && s.Start.Before(t.Span(cur[len(cur)-1]).End()) {
			if len(cur) > 1 {
				runs = append(runs, cur)
			}
			cur = nil
		}
		cur = append(cur, c)
	}
	if len(cur) > 1 {
		runs = append(runs, cur)
	}
	return runs
}

// parallelizable is Sentry's test for a query that needs nothing from the ones before it: a SELECT with
// no WHERE clause and no parameters.
func parallelizable(stmt string) bool {
	u := strings.ToUpper(strings.TrimSpace(stmt))
	if !strings.HasPrefix(u, "SELECT") || strings.Contains(u, " WHERE ") || strings.Contains(u, "\nWHERE ") {
		return false
	}
	return !strings.ContainsAny(u, "?") && !strings.Contains(u, "$1") && !strings.Contains(u, "%S") && !strings.Contains(u, ":")
}

// consecutiveDB: Sentry's Consecutive DB Queries. Queries after the first of a sequence that depend on
// nothing (see parallelizable) could run alongside the rest; the saving is the sequence's time minus what
// the longer of (the rest, the longest independent query) would take.
func consecutiveDB(t *Tree, p int32, ch []int32, req time.Duration, o DetectorOptions) []Finding {
	var out []Finding
	for _, run := range sequences(t, ch, func(s *Span) bool { return IsDBSpan(s) }) {
		var par []int32
		for _, c := range run[1:] {
			if s := t.Span(c); s.Duration >= o.DBMinSpan && parallelizable(DBStatement(s)) {
				par = append(par, c)
			}
		}
		if len(par) == 0 {
			continue
		}
		seq := wallOf(t, run)
		parSum, parMax := sumDur(t, par), maxDur(t, par)
		saved := seq - max(seq-parSum, parMax)
		if saved < o.DBMinSaved || shareOf(saved, seq) < o.DBMinRatio {
			continue
		}
		first, parent := t.Span(par[0]), t.Span(p)
		stmts := make([]string, 0, len(par))
		for _, c := range par {
			stmts = append(stmts, NormalizeStatement(DBStatement(t.Span(c))))
		}
		out = append(out, Finding{
			Kind: KindConsecutiveDB, Service: first.Service, Operation: parent.Operation,
			Score: detectorScore(0.25, 0.6, saved, req),
			Title: fmt.Sprintf("consecutive DB queries: %d of %d sequential queries under %s depend on nothing before them; running them in parallel would save %s",
				len(par), len(run), parent.Operation, fmtDur(saved)),
			Evidence: map[string]any{"count": len(run), "parallelizable": len(par), "statements": capStrings(stmts, 10), "sequence_ms": Ms(seq),
				"saved_ms": Ms(saved), "parent_operation": parent.Operation, "parent_span_id": parent.SpanID, "span_ids": spanIDs(t, par)},
			Recommendation: "Issue the independent queries concurrently (or in one round trip), instead of one after another.",
		})
	}
	return out
}

var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// consecutiveHTTP: Sentry's Consecutive HTTP. Slow calls made one after another that could overlap:
// in parallel the group would take about its longest call.
func consecutiveHTTP(t *Tree, p int32, ch []int32, req time.Duration, o DetectorOptions) []Finding {
	isCall := func(s *Span) bool {
		return s.Kind == KindClient && httpMethods[strings.ToUpper(HTTPMethod(s))] && !IsDBSpan(s)
	}
	if len(ch) < o.HTTPMinCount {
		return nil
	}
	var out []Finding
	for _, seq := range sequences(t, ch, isCall) {
		// Within the sequence, keep the slow calls that follow each other closely.
		var run []int32
		flush := func() {
			defer func() { run = nil }()
			if len(run) < o.HTTPMinCount {
				return
			}
			saved := sumDur(t, run) - maxDur(t, run)
			if saved < o.HTTPMinSaved {
				return
			}
			first, parent := t.Span(run[0]), t.Span(p)
			peers := []string{}
			for _, c := range run {
				if pe := Peer(t.Span(c)); pe != "" && !slices.Contains(peers, pe) {
					peers = append(peers, pe)
				}
			}
			out = append(out, Finding{
				Kind: KindConsecutiveHTTP, Service: first.Service, Operation: parent.Operation,
				Score: detectorScore(0.3, 0.6, saved, req),
				Title: fmt.Sprintf("consecutive HTTP: %s makes %d slow calls one after another under %s (%s); in parallel they would save %s",
					first.Service, len(run), parent.Operation, fmtDur(wallOf(t, run)), fmtDur(saved)),
				Evidence: map[string]any{"count": len(run), "peers": peers, "total_ms": Ms(sumDur(t, run)), "saved_ms": Ms(saved),
					"parent_operation": parent.Operation, "parent_span_id": parent.SpanID, "span_ids": spanIDs(t, run)},
				Recommendation: "Make the calls concurrently when they do not need each other's answers, or fetch the data in one call.",
			})
		}
		for _, c := range seq {
			s := t.Span(c)
			if s.Duration < o.HTTPMinSpan {
				flush()
				continue
			}
			if len(run) > 0 && s.Start.Sub(t.Span(run[len(run)-1]).End()) > o.HTTPMaxGap {
				flush()
			}
			run = append(run, c)
		}
		flush()
	}
	return out
}

// slowDBQuery: Sentry's Slow DB Query, one SELECT of at least SlowQueryMin. Saved is what it costs over
// the threshold: the part an index or a narrower query would remove before it stopped being slow.
func slowDBQuery(s *Span, req time.Duration, o DetectorOptions) (Finding, bool) {
	stmt := DBStatement(s)
	if stmt == "" || s.Duration < o.SlowQueryMin || !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "SELECT") {
		return Finding{}, false
	}
	norm := NormalizeStatement(stmt)
	saved := s.Duration - o.SlowQueryMin
	return Finding{
		Kind: KindSlowQuery, Service: s.Service, Operation: s.Operation,
		Score: detectorScore(0.3, 0.5, s.Duration, req),
		Title: fmt.Sprintf("slow query: %s runs %q for %s (%.0f%% of the request)", s.Service, oneLineCut(norm, 100), fmtDur(s.Duration), shareOf(s.Duration, req)*100),
		Evidence: map[string]any{"statement": norm, "value": Ms(s.Duration), "unit": "ms", "duration_ms": Ms(s.Duration),
			"saved_ms": Ms(saved), "span_id": s.SpanID, "db_system": DBSystem(s)},
		Recommendation: "Read the statement's plan (dbg db explains it on PostgreSQL): a missing index, a scan of a large table or a lock wait.",
	}, true
}

// largePayload: Sentry's Large HTTP Payload. The saving assumes transfer time grows with size: a
// response cut to the threshold would take that share of the call.
func largePayload(s *Span, req time.Duration, o DetectorOptions) (Finding, bool) {
	if s.Kind != KindClient || s.Duration < o.PayloadMinDuration {
		return Finding{}, false
	}
	raw := s.Attrs.First("http.response.body.size", "http.response_content_length", "http.response_content_length_uncompressed",
		"http.response.header.content-length", "http.response.header.content_length")
	size, err := strconv.ParseInt(strings.Trim(raw, `[]" `), 10, 64)
	if err != nil || size <= o.PayloadMinBytes {
		return Finding{}, false
	}
	u := HTTPURL(s)
	if strings.Contains(u, "_next/static/") || strings.Contains(u, "_next/data/") {
		return Finding{}, false
	}
	saved := time.Duration(float64(s.Duration) * (1 - float64(o.PayloadMinBytes)/float64(size)))
	route, _ := CallKey(s)
	return Finding{
		Kind: KindLargePayload, Service: s.Service, Operation: s.Operation,
		Score:          detectorScore(0.2, 0.5, saved, req),
		Title:          fmt.Sprintf("large HTTP payload: %s receives %s from %s in %s", s.Service, FormatBytes(float64(size)), orUnknownPeer(Peer(s)), fmtDur(s.Duration)),
		Evidence:       map[string]any{"bytes": size, "route": route, "duration_ms": Ms(s.Duration), "saved_ms": Ms(saved), "span_id": s.SpanID, "peer": Peer(s)},
		Recommendation: "Ask for less: paginate, select fields, or compress the response (gzip/br).",
	}, true
}

// mnPlusOne: Sentry's MN+1 — not one statement in a loop but a group of different calls repeated
// per item (load the order, then its customer, then its items; for each order). Batching each call
// once would leave about one iteration's time.
func mnPlusOne(t *Tree, p int32, ch []int32, req time.Duration, o DetectorOptions) []Finding {
	type call struct {
		idx int32
		key string
		db  bool
	}
	if len(ch) < 2*o.MNMinRepeats {
		return nil
	}
	var calls []call
	for _, c := range ch {
		if k, kind := t.callKey(c); k != "" {
			calls = append(calls, call{c, kind + ":" + k, kind == "statement"})
		}
	}
	var out []Finding
	for i := 0; i < len(calls); {
		bestL, bestReps := 0, 0
		for L := 2; L <= o.MNMaxSequence && i+L*o.MNMinRepeats <= len(calls); L++ {
			distinct, hasDB := map[string]bool{}, false
			for _, c := range calls[i : i+L] {
				distinct[c.key] = true
				hasDB = hasDB || c.db
			}
			if len(distinct) < L || !hasDB {
				continue // a repeated single call is an N+1; a pattern must be L different calls with a query among them
			}
			reps := 1
			for j := i + L; j+L <= len(calls); j += L {
				same := true
				for k := 0; k < L; k++ {
					if calls[j+k].key != calls[i+k].key {
						same = false
						break
					}
				}
				if !same {
					break
				}
				reps++
			}
			if reps >= o.MNMinRepeats && L*reps > bestL*bestReps {
				bestL, bestReps = L, reps
			}
		}
		if bestL == 0 {
			i++
			continue
		}
		idx := make([]int32, 0, bestL*bestReps)
		for _, c := range calls[i : i+bestL*bestReps] {
			idx = append(idx, c.idx)
		}
		total := sumDur(t, idx)
		if total >= o.MNMinTotal {
			saved := total - sumDur(t, idx[:bestL])
			parent, first := t.Span(p), t.Span(idx[0])
			pattern := make([]string, 0, bestL)
			for _, c := range calls[i : i+bestL] {
				pattern = append(pattern, c.key[strings.IndexByte(c.key, ':')+1:])
			}
			out = append(out, Finding{
				Kind: KindMNPlusOne, Service: first.Service, Operation: parent.Operation,
				Score: detectorScore(0.3, 0.6, saved, req),
				Title: fmt.Sprintf("MN+1: %s repeats a group of %d calls %d times under %s (%s); batching each call once would save about %s",
					first.Service, bestL, bestReps, parent.Operation, fmtDur(total), fmtDur(saved)),
				Evidence: map[string]any{"count": bestReps, "pattern": pattern, "total_ms": Ms(total), "saved_ms": Ms(saved),
					"parent_operation": parent.Operation, "parent_span_id": parent.SpanID, "span_ids": spanIDs(t, idx)},
				Recommendation: "Load each kind of row once for all items (WHERE id IN (...) per query, or a join) before the loop, instead of a group of queries per item.",
			})
		}
		i += bestL * bestReps
	}
	return out
}

// QueueLags measures messaging hand-offs: for each consumer span whose parent (or linked span) is a
// producer span of the trace, the time from the producer's end to the consumer's start. That wait is
// the queue's, not the producer's latency: the critical path leaves consumers out, and this says how
// long messages sat. Hand-offs are grouped by (producer service, consumer service, destination).
func QueueLags(t *Tree) []Finding {
	type group struct {
		prod, cons, dest  string
		lags              []time.Duration
		worstP, worstC    string
		worst, total, max time.Duration
	}
	var order []*group
	groups := map[string]*group{}
	for _, i := range t.Order {
		c := t.Span(i)
		if c.Kind != KindConsumer {
			continue
		}
		producers := []int32{}
		if p := t.Parent[i]; p >= 0 && t.Span(p).Kind == KindProducer {
			producers = append(producers, p)
		}
		for _, l := range c.Links {
			if j, ok := t.Lookup(l.SpanID); ok && (l.TraceID == "" || CanonicalTraceID(l.TraceID) == CanonicalTraceID(c.TraceID)) && t.Span(j).Kind == KindProducer {
				producers = append(producers, j)
			}
		}
		for _, j := range producers {
			p := t.Span(j)
			lag := max(0, c.Start.Sub(p.End()))
			dest := c.Attrs.First("messaging.destination.name", "messaging.destination", "messaging.source.name")
			if dest == "" {
				dest = p.Attrs.First("messaging.destination.name", "messaging.destination")
			}
			k := p.Service + "\x00" + c.Service + "\x00" + dest
			g := groups[k]
			if g == nil {
				g = &group{prod: p.Service, cons: c.Service, dest: dest}
				groups[k] = g
				order = append(order, g)
			}
			g.lags = append(g.lags, lag)
			g.total += lag
			if lag >= g.max {
				g.max, g.worstP, g.worstC = lag, p.SpanID, c.SpanID
			}
		}
	}
	var out []Finding
	for _, g := range order {
		mean := g.total / time.Duration(len(g.lags))
		via := ""
		if g.dest != "" {
			via = " via " + g.dest
		}
		out = append(out, Finding{
			Kind: KindQueueLag, Service: g.cons, Operation: g.dest,
			// A queue's wait delays the work the message carries, not the request that sent it: graded by
			// its absolute length (5 s and more is as bad as it gets here), never above medium.
			Score: (0.1 + 0.4*shareOf(g.max, 5*time.Second)) * TimeWeight(g.max),
			Title: fmt.Sprintf("queue lag: %s picks up %s's messages%s %s after they were sent (mean %s over %d)",
				g.cons, g.prod, via, fmtDur(g.max), fmtDur(mean), len(g.lags)),
			Evidence: map[string]any{"lag_ms": Ms(g.max), "mean_lag_ms": Ms(mean), "count": len(g.lags), "producer_service": g.prod,
				"consumer_service": g.cons, "destination": g.dest, "producer_span_id": g.worstP, "consumer_span_id": g.worstC},
			Recommendation: "The time is spent in the queue, not in either service: check the consumers' lag and throughput (more consumers or partitions, faster handling), and whether the broker is throttling.",
		})
	}
	return out
}

func orUnknownPeer(s string) string {
	if s == "" {
		return "an unnamed peer"
	}
	return s
}
