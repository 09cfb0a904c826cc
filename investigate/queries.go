package investigate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// QueryOptions tunes AnalyzeQueries. Start from DefaultQueryOptions.
type QueryOptions struct {
	// Service keeps only the statements this service issues; empty keeps every service's.
	Service string
	// Window splits the traces by their root span's start: [Start, End) is the window under
	// investigation, [BaselineStart, BaselineEnd) the baseline it is compared with. A zero Window takes
	// every trace as the window and has no baseline.
	Window Window
	// NPlusOneMinCalls and NPlusOneMinTotal mark a fingerprint N+1 when, under one parent span of a
	// request, it runs at least this many times taking at least this long in total (the thresholds of
	// the single-trace N+1 detector).
	NPlusOneMinCalls int
	NPlusOneMinTotal time.Duration
	// SlowQueryMinP99 and SlowQueryMinShare make a fingerprint a slow_query finding: a p99 at least this
	// slow, or at least this share of all statement time in the window.
	SlowQueryMinP99   time.Duration
	SlowQueryMinShare float64
	// MaxFindings caps the findings of each kind.
	MaxFindings int
}

// DefaultQueryOptions are the thresholds dbg ships with.
func DefaultQueryOptions() QueryOptions {
	t := DefaultTraceOptions()
	return QueryOptions{
		NPlusOneMinCalls: t.NPlusOneMinCount, NPlusOneMinTotal: t.NPlusOneMinTotal,
		SlowQueryMinP99: 100 * time.Millisecond, SlowQueryMinShare: 0.25, MaxFindings: 5,
	}
}

// QueryWindow is a time range in the `dbg db` JSON.
type QueryWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// QueryBaseline is a fingerprint's figures in the baseline window.
type QueryBaseline struct {
	Count           int     `json:"count"`
	TotalMs         float64 `json:"total_ms"`
	P50Ms           float64 `json:"p50_ms"`
	P99Ms           float64 `json:"p99_ms"`
	Requests        int     `json:"requests"`
	CallsPerRequest float64 `json:"calls_per_request"`
}

// Query changes against the baseline.
const (
	ChangeNew       = "new"        // not run in the baseline, which had requests
	ChangeSlower    = "slower"     // p99 at least 1.5× the baseline's
	ChangeFaster    = "faster"     // p99 at most 2/3 of the baseline's
	ChangeMoreCalls = "more_calls" // at least twice the calls per request
)

// QueryStat is one statement fingerprint's figures in the window.
type QueryStat struct {
	Statement string  `json:"statement"`
	System    string  `json:"db_system"`
	Database  string  `json:"db_name"`
	Count     int     `json:"count"`
	TotalMs   float64 `json:"total_ms"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// Share is the fingerprint's share of all statement time in the window.
	Share float64 `json:"share"`
	// Requests is the number of traces that ran it; CallsPerRequest the mean calls in those traces.
	Requests           int     `json:"requests"`
	CallsPerRequest    float64 `json:"calls_per_request"`
	MaxCallsPerRequest int     `json:"max_calls_per_request"`
	// RequestShare is the mean share of a request's duration its calls of this fingerprint took.
	RequestShare float64 `json:"request_share"`
	// Services and Endpoints issue it, most calls first; an endpoint is the route of the nearest server
	// span above the call.
	Services  []string `json:"services"`
	Endpoints []string `json:"endpoints"`
	// Operation is the span name most calls carry; ParentOperation the span most calls run under.
	Operation       string `json:"operation"`
	ParentOperation string `json:"parent_operation"`
	// NPlusOne marks a fingerprint that runs in a loop: in at least half the requests that issue it, one
	// parent span runs it NPlusOneMinCalls times or more.
	NPlusOne bool `json:"n_plus_one"`
	// Change is new, slower, faster, more_calls or empty; Baseline is nil when the baseline did not run it.
	Change   string         `json:"change"`
	Baseline *QueryBaseline `json:"baseline"`
	TraceIDs []string       `json:"trace_ids"`
	// Samples are up to three distinct statements as the traces carried them, those with literal values
	// first: what `dbg db explain` sends to the database. They can hold customer data, so they stay out
	// of the JSON.
	Samples []string `json:"-"`
}

// QueryReport is the `dbg db` JSON contract.
type QueryReport struct {
	Service          string       `json:"service"`
	Window           *QueryWindow `json:"window"`
	Baseline         *QueryWindow `json:"baseline"`
	Requests         int          `json:"requests"`
	BaselineRequests int          `json:"baseline_requests"`
	Statements       int          `json:"statements"`
	Queries          []QueryStat  `json:"queries"`
	Findings         []Finding    `json:"findings"`
	Warnings         []string     `json:"warnings"`
}

// IsStatementSpan reports whether s is a database call and returns its raw statement (empty when the
// instrumentation recorded none) and its fingerprint: the normalised statement, or for a database span
// without one, the operation summary it carries.
func IsStatementSpan(s *Span) (raw, fingerprint string, ok bool) {
	if st := DBStatement(s); st != "" {
		return st, NormalizeStatement(st), true
	}
	if DBSystem(s) == "" {
		return "", "", false
	}
	if q := s.Attrs.First("db.query.summary"); q != "" {
		return "", q, true
	}
	if op := DBOperation(s); op != "" {
		return "", op, true
	}
	return "", s.Operation, true
}

// Endpoint names the request a span serves: the route of the nearest server span at or above it (the
// trace's root when there is none).
func Endpoint(t *Tree, i int32) string {
	for j := i; j >= 0; j = t.Parent[j] {
		if s := t.Span(j); s.Kind == KindServer || t.Parent[j] < 0 {
			return RouteOf(s)
		}
	}
	return ""
}

// RouteOf is a server span's route: "METHOD /route" from the HTTP attributes, the RPC method, or the
// span name.
func RouteOf(s *Span) string {
	if r := s.Attrs.First("http.route", "url.template"); r != "" {
		if m := s.Attrs.First("http.request.method", "http.method"); m != "" && !strings.HasPrefix(r, m+" ") {
			return m + " " + r
		}
		return r
	}
	if m := s.Attrs.First("rpc.method"); m != "" {
		return s.Attrs.First("rpc.service") + "/" + m
	}
	return s.Operation
}

// queryAcc accumulates one fingerprint over one window.
type queryAcc struct {
	fp, system, db string
	durs           []time.Duration
	total          time.Duration
	perTrace       map[string]*traceCalls
	traceOrder     []string
	services       map[string]int
	endpoints      map[string]int
	ops            map[string]int
	parents        map[string]int
	samples        []string
	nPlusOneReqs   int
}

type traceCalls struct {
	calls int
	total time.Duration
	root  time.Duration
}

func newQueryAcc(fp string) *queryAcc {
	return &queryAcc{fp: fp, perTrace: map[string]*traceCalls{}, services: map[string]int{},
		endpoints: map[string]int{}, ops: map[string]int{}, parents: map[string]int{}}
}

// AnalyzeQueries groups the database calls in traces by statement fingerprint, ranks the fingerprints
// by total time in the window, compares each with the baseline, marks N+1 fingerprints, and reports
// findings of kinds slow_query and n_plus_one. It is what `dbg db` prints and what the checklist's trace
// step uses.
func AnalyzeQueries(traces []*Trace, opts QueryOptions) *QueryReport {
	rep := &QueryReport{Service: opts.Service, Queries: []QueryStat{}, Warnings: []string{}}
	hasWindow := !opts.Window.Start.IsZero() || !opts.Window.End.IsZero()
	if hasWindow {
		rep.Window = &QueryWindow{opts.Window.Start, opts.Window.End}
		if !opts.Window.BaselineStart.IsZero() {
			rep.Baseline = &QueryWindow{opts.Window.BaselineStart, opts.Window.BaselineEnd}
		}
	}
	cur, base := map[string]*queryAcc{}, map[string]*queryAcc{}
	var curTotal time.Duration
	outside := 0
	for _, tr := range traces {
		if tr == nil || len(tr.Spans) == 0 {
			continue
		}
		t := BuildTree(tr)
		root := t.Root()
		if root < 0 {
			continue
		}
		start := t.Span(root).Start
		accs, inWindow := cur, true
		switch {
		case !hasWindow || inRange(start, opts.Window.Start, opts.Window.End):
			rep.Requests++
		case rep.Baseline != nil && inRange(start, opts.Window.BaselineStart, opts.Window.BaselineEnd):
			accs, inWindow = base, false
			rep.BaselineRequests++
		default:
			outside++
			continue
		}
		n := collectTrace(t, root, accs, opts)
		if inWindow {
			rep.Statements += n
		}
	}
	if outside > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d traces started outside the window and the baseline and were left out", outside))
	}
	for _, a := range cur {
		curTotal += a.total
	}
	for _, a := range cur {
		rep.Queries = append(rep.Queries, a.stat(curTotal, base[a.fp], rep.BaselineRequests > 0, opts))
	}
	slices.SortStableFunc(rep.Queries, func(a, b QueryStat) int {
		if c := cmp.Compare(b.TotalMs, a.TotalMs); c != 0 {
			return c
		}
		return cmp.Compare(a.Statement, b.Statement)
	})
	rep.Findings = QueryFindings(rep.Queries, opts)
	return rep
}

func inRange(t, from, to time.Time) bool {
	return !t.Before(from) && (to.IsZero() || t.Before(to))
}

// collectTrace adds one trace's database calls to accs and returns how many it found.
func collectTrace(t *Tree, root int32, accs map[string]*queryAcc, opts QueryOptions) int {
	rootDur := t.Span(root).Duration
	type group struct {
		calls int
		total time.Duration
	}
	groups := map[[2]string]*group{} // (fingerprint, parent span) → calls under that parent
	n := 0
	for _, i := range t.Order {
		s := t.Span(i)
		if opts.Service != "" && s.Service != opts.Service {
			continue
		}
		raw, fp, ok := IsStatementSpan(s)
		if !ok || fp == "" {
			continue
		}
		n++
		a := accs[fp]
		if a == nil {
			a = newQueryAcc(fp)
			accs[fp] = a
		}
		if a.system == "" {
			a.system = DBSystem(s)
		}
		if a.db == "" {
			a.db = s.Attrs.First("db.namespace", "db.name", "db.instance")
		}
		a.durs = append(a.durs, s.Duration)
		a.total += s.Duration
		tc := a.perTrace[t.Trace.ID]
		if tc == nil {
			tc = &traceCalls{root: rootDur}
			a.perTrace[t.Trace.ID] = tc
			a.traceOrder = append(a.traceOrder, t.Trace.ID)
		}
		tc.calls++
		tc.total += s.Duration
		a.services[s.Service]++
		a.endpoints[Endpoint(t, i)]++
		a.ops[s.Operation]++
		parentID := ""
		if p := t.Parent[i]; p >= 0 {
			a.parents[t.Span(p).Operation]++
			parentID = t.Span(p).SpanID
		}
		g := groups[[2]string{fp, parentID}]
		if g == nil {
			g = &group{}
			groups[[2]string{fp, parentID}] = g
		}
		g.calls++
		g.total += s.Duration
		if raw != "" {
			a.addSample(raw)
		}
	}
	loops := map[string]bool{}
	for k, g := range groups {
		if g.calls >= opts.NPlusOneMinCalls && g.total >= opts.NPlusOneMinTotal {
			loops[k[0]] = true
		}
	}
	for fp := range loops {
		accs[fp].nPlusOneReqs++
	}
	return n
}

// addSample keeps up to three distinct raw statements, preferring ones with literal values (which the
// database can explain) over ones with placeholders.
func (a *queryAcc) addSample(raw string) {
	if slices.Contains(a.samples, raw) {
		return
	}
	if len(a.samples) < 3 {
		a.samples = append(a.samples, raw)
	} else if !HasPlaceholders(raw) {
		for i, s := range a.samples {
			if HasPlaceholders(s) {
				a.samples[i] = raw
				break
			}
		}
	}
	slices.SortStableFunc(a.samples, func(x, y string) int {
		return cmp.Compare(boolInt(HasPlaceholders(x)), boolInt(HasPlaceholders(y)))
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a *queryAcc) stat(allTotal time.Duration, b *queryAcc, baselineHadRequests bool, opts QueryOptions) QueryStat {
	st := QueryStat{
		Statement: a.fp, System: a.system, Database: a.db, Count: len(a.durs), TotalMs: Ms(a.total),
		Requests: len(a.perTrace), Services: byCount(a.services), Endpoints: byCount(a.endpoints),
		Operation: first(byCount(a.ops)), ParentOperation: first(byCount(a.parents)),
		Samples: a.samples, Change: "",
	}
	if st.Samples == nil {
		st.Samples = []string{}
	}
	sorted := slices.Clone(a.durs)
	slices.Sort(sorted)
	st.P50Ms, st.P99Ms, st.MaxMs = Ms(percentile(sorted, 0.5)), Ms(percentile(sorted, 0.99)), Ms(sorted[len(sorted)-1])
	if allTotal > 0 {
		st.Share = round3(float64(a.total) / float64(allTotal))
	}
	var reqShare float64
	for _, tc := range a.perTrace {
		st.MaxCallsPerRequest = max(st.MaxCallsPerRequest, tc.calls)
		if tc.root > 0 {
			reqShare += min(1, float64(tc.total)/float64(tc.root))
		}
	}
	st.CallsPerRequest = round3(float64(st.Count) / float64(st.Requests))
	st.RequestShare = round3(reqShare / float64(st.Requests))
	st.NPlusOne = a.nPlusOneReqs*2 >= st.Requests && a.nPlusOneReqs > 0
	// The slowest requests first: the ones worth opening.
	ids := slices.Clone(a.traceOrder)
	slices.SortStableFunc(ids, func(x, y string) int { return cmp.Compare(a.perTrace[y].total, a.perTrace[x].total) })
	st.TraceIDs = capStrings(ids, 10)
	if b != nil {
		bs := slices.Clone(b.durs)
		slices.Sort(bs)
		st.Baseline = &QueryBaseline{
			Count: len(b.durs), TotalMs: Ms(b.total), P50Ms: Ms(percentile(bs, 0.5)), P99Ms: Ms(percentile(bs, 0.99)),
			Requests: len(b.perTrace), CallsPerRequest: round3(float64(len(b.durs)) / float64(len(b.perTrace))),
		}
	}
	switch {
	case b == nil && baselineHadRequests:
		st.Change = ChangeNew
	case b == nil:
	case st.Baseline.CallsPerRequest > 0 && st.CallsPerRequest >= 2*st.Baseline.CallsPerRequest:
		st.Change = ChangeMoreCalls
	case st.Baseline.P99Ms > 0 && st.P99Ms >= 1.5*st.Baseline.P99Ms:
		st.Change = ChangeSlower
	case st.Baseline.P99Ms > 0 && st.P99Ms <= st.Baseline.P99Ms*2/3:
		st.Change = ChangeFaster
	}
	return st
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func byCount(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// QueryFindings turns ranked query statistics into findings: n_plus_one for fingerprints that run in a
// loop, slow_query for the others that are slow or take most of the database time. Each kind is capped
// at opts.MaxFindings, highest score first.
func QueryFindings(qs []QueryStat, opts QueryOptions) []Finding {
	var slow, loops []Finding
	for i := range qs {
		q := &qs[i]
		if q.NPlusOne {
			loops = append(loops, nPlusOneFinding(q))
			continue
		}
		p99 := time.Duration(q.P99Ms * float64(time.Millisecond))
		if p99 >= opts.SlowQueryMinP99 || q.Share >= opts.SlowQueryMinShare && q.TotalMs >= 50 {
			slow = append(slow, slowQueryFinding(q))
		}
	}
	out := append(capFindings(RankFindings(slow), opts.MaxFindings), capFindings(RankFindings(loops), opts.MaxFindings)...)
	return RankFindings(out)
}

func capFindings(fs []Finding, n int) []Finding {
	if n > 0 && len(fs) > n {
		return fs[:n]
	}
	return fs
}

func slowQueryFinding(q *QueryStat) Finding {
	slowness := min(1, q.P99Ms/1000)
	score := 0.2 + 0.45*q.Share + 0.35*slowness
	title := fmt.Sprintf("slow query: %s takes %s at p99, %s in total over %d calls (%.0f%% of database time)",
		shortStatement(q.Statement), FormatMs(q.P99Ms), FormatMs(q.TotalMs), q.Count, q.Share*100)
	switch {
	case q.Change == ChangeNew:
		score += 0.15
		title += "; new in this window"
	case q.Change == ChangeSlower:
		score += 0.15
		title += fmt.Sprintf("; p99 was %s", FormatMs(q.Baseline.P99Ms))
	}
	ev := queryEvidence(q)
	ev["value"] = q.TotalMs
	return Finding{
		Kind: KindSlowQuery, Score: score, Service: first(q.Services), Operation: q.Operation, Title: title,
		Evidence: ev, TraceIDs: capStrings(q.TraceIDs, 5),
		Recommendation: "Ask the database why: `dbg db explain --dsn postgres://...` shows the plan of a sampled statement " +
			"(sequential scans, filters that drop most rows, the index that would help).",
	}
}

func nPlusOneFinding(q *QueryStat) Finding {
	score := 0.3 + 0.7*q.RequestShare
	calls := int(q.CallsPerRequest + 0.5)
	title := fmt.Sprintf("N+1: %s runs %s %d times per request under %s (%.0f%% of the request)",
		first(q.Services), shortStatement(q.Statement), calls, q.ParentOperation, q.RequestShare*100)
	switch q.Change {
	case ChangeNew:
		score += 0.1
		title += "; new in this window"
	case ChangeMoreCalls:
		score += 0.1
		title += fmt.Sprintf("; was %.3g per request", q.Baseline.CallsPerRequest)
	}
	ev := queryEvidence(q)
	ev["count"] = calls
	ev["parent_operation"] = q.ParentOperation
	return Finding{
		Kind: KindNPlusOne, Score: score, Service: first(q.Services), Operation: q.Operation, Title: title,
		Evidence: ev, TraceIDs: capStrings(q.TraceIDs, 5),
		Recommendation: "Load these rows in one statement (WHERE id IN (...), or a join) before the loop instead of one query per item.",
	}
}

func queryEvidence(q *QueryStat) map[string]any {
	ev := map[string]any{
		"statement": q.Statement, "count": q.Count, "total_ms": q.TotalMs, "p50_ms": q.P50Ms, "p99_ms": q.P99Ms,
		"share": q.Share, "requests": q.Requests, "calls_per_request": q.CallsPerRequest,
		"services": capStrings(q.Services, 5), "endpoints": capStrings(q.Endpoints, 5), "change": q.Change,
		"db_system": q.System,
	}
	if q.Baseline != nil {
		ev["baseline_p99_ms"] = q.Baseline.P99Ms
		ev["baseline_count"] = q.Baseline.Count
		ev["baseline_calls_per_request"] = q.Baseline.CallsPerRequest
	}
	return ev
}

// shortStatement quotes a fingerprint for a title, cut to a readable length.
func shortStatement(s string) string {
	if r := []rune(s); len(r) > 70 {
		s = string(r[:69]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
