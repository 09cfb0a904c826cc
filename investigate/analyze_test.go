package investigate

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// sp builds a span: id, parent, start and duration in ms.
func sp(id, parent string, startMs, durMs float64, mods ...func(*Span)) Span {
	s := Span{
		TraceID: "t1", SpanID: id, ParentID: parent, Service: "svc", Operation: "op-" + id,
		Start:    t0.Add(time.Duration(startMs * float64(time.Millisecond))),
		Duration: time.Duration(durMs * float64(time.Millisecond)),
	}
	for _, m := range mods {
		m(&s)
	}
	return s
}

func svcOp(svc, op string) func(*Span) {
	return func(s *Span) { s.Service, s.Operation = svc, op }
}
func withAttrs(kv ...string) func(*Span) {
	return func(s *Span) {
		for i := 0; i+1 < len(kv); i += 2 {
			s.Attrs = append(s.Attrs, Attr{kv[i], kv[i+1]})
		}
	}
}
func kind(k SpanKind) func(*Span) { return func(s *Span) { s.Kind = k } }
func failed(s *Span)              { s.Status = StatusError }
func followsFrom(s *Span)         { s.FollowsFrom = true }

func trace(spans ...Span) *Trace { return &Trace{ID: "t1", Spans: spans} }

func hasWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func TestBuildTreeDamage(t *testing.T) {
	cases := []struct {
		name      string
		tr        *Trace
		roots     int
		kept      int
		warning   string
		rootFirst string
	}{
		{"healthy", trace(sp("a", "", 0, 100), sp("b", "a", 10, 50), sp("c", "b", 20, 10)), 1, 3, "", "a"},
		{"orphan", trace(sp("a", "", 0, 100), sp("b", "missing", 10, 50)), 2, 2, "parent that is not in the trace", "a"},
		{"duplicate ids", trace(sp("a", "", 0, 100), sp("b", "a", 10, 50), sp("b", "a", 60, 5)), 1, 2, "duplicate", "a"},
		{"empty id", trace(sp("a", "", 0, 100), sp("", "a", 10, 50)), 1, 1, "duplicate or empty", "a"},
		{"two-cycle", trace(sp("a", "", 0, 100), sp("x", "y", 10, 5), sp("y", "x", 5, 5)), 2, 3, "cycle", "a"},
		{"self parent", trace(sp("a", "a", 0, 100)), 1, 1, "parent that is not in the trace", "a"},
		{"all in a cycle", trace(sp("x", "y", 10, 5), sp("y", "z", 5, 5), sp("z", "x", 7, 5)), 1, 3, "cycle", "y"},
		{"negative duration", trace(sp("a", "", 0, 100), sp("b", "a", 10, -5)), 1, 2, "negative duration", "a"},
		{"clock skew", trace(sp("a", "", 0, 100), sp("b", "a", -20, 50)), 1, 2, "outside their parent", "a"},
		{"empty trace", trace(), 0, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := BuildTree(c.tr)
			if len(tr.Roots) != c.roots || tr.Len() != c.kept {
				t.Fatalf("roots=%d kept=%d, want %d and %d (warnings %v)", len(tr.Roots), tr.Len(), c.roots, c.kept, tr.Warnings)
			}
			if c.warning == "" && len(tr.Warnings) > 0 {
				t.Errorf("unexpected warnings %v", tr.Warnings)
			}
			if c.warning != "" && !hasWarning(tr.Warnings, c.warning) {
				t.Errorf("warnings %v lack %q", tr.Warnings, c.warning)
			}
			if c.rootFirst != "" && tr.Span(tr.Root()).SpanID != c.rootFirst {
				t.Errorf("main root %s, want %s", tr.Span(tr.Root()).SpanID, c.rootFirst)
			}
			// The analysis over a damaged tree must finish and never panic.
			rep := AnalyzeTrace(c.tr, DefaultTraceOptions())
			if rep.SpanCount != c.kept {
				t.Errorf("report span_count %d, want %d", rep.SpanCount, c.kept)
			}
		})
	}
}

func TestBuildTreeLongCycleTerminates(t *testing.T) {
	var spans []Span
	n := 5000
	for i := 0; i < n; i++ {
		spans = append(spans, sp(fmt.Sprint(i), fmt.Sprint((i+1)%n), float64(i), 1))
	}
	tr := BuildTree(trace(spans...))
	if tr.Len() != n || len(tr.Roots) != 1 || !hasWarning(tr.Warnings, "cycle") {
		t.Fatalf("kept %d roots %d warnings %v", tr.Len(), len(tr.Roots), tr.Warnings)
	}
}

func pathIDs(tr *Tree, steps []PathStep) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, fmt.Sprintf("%s:%g", tr.Span(s.Span).SpanID, float64(s.Self)/float64(time.Millisecond)))
	}
	return strings.Join(parts, " ")
}

func TestCriticalPath(t *testing.T) {
	cases := []struct {
		name string
		tr   *Trace
		want string // span:self_ms in pre-order
	}{
		{"sequential children", trace(sp("r", "", 0, 100), sp("a", "r", 10, 30), sp("b", "r", 50, 40)),
			"r:30 a:30 b:40"},
		{"parallel: last finisher wins, earlier overlapped sibling skipped",
			trace(sp("r", "", 0, 100), sp("a", "r", 0, 60), sp("b", "r", 10, 80)),
			"r:20 b:80"},
		{"parallel then the earlier one before it", trace(sp("r", "", 0, 100), sp("a", "r", 0, 20), sp("b", "r", 30, 60)),
			"r:20 a:20 b:60"},
		{"nested", trace(sp("r", "", 0, 100), sp("a", "r", 0, 100), sp("b", "a", 50, 50)),
			"r:0 a:50 b:50"},
		{"follows-from child excluded", trace(sp("r", "", 0, 100), sp("a", "r", 10, 200, followsFrom)),
			"r:100"},
		{"child overrunning the parent is clamped", trace(sp("r", "", 0, 100), sp("a", "r", 50, 200)),
			"r:50 a:50"},
		{"child starting before the parent is clamped", trace(sp("r", "", 10, 100), sp("a", "r", 0, 50)),
			"r:60 a:40"},
		{"child entirely after the parent ignored", trace(sp("r", "", 0, 100), sp("a", "r", 150, 10)),
			"r:100"},
		{"zero-duration children terminate", trace(sp("r", "", 0, 10), sp("a", "r", 5, 0), sp("b", "r", 5, 0)),
			"r:10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := BuildTree(c.tr)
			got := pathIDs(tr, tr.CriticalSteps(tr.CriticalPath(tr.Root())))
			if got != c.want {
				t.Errorf("critical path %q, want %q", got, c.want)
			}
		})
	}
}

func TestSelfTimeUnionOfChildren(t *testing.T) {
	tr := BuildTree(trace(sp("r", "", 0, 100), sp("a", "r", 10, 30), sp("b", "r", 20, 30), sp("c", "r", 90, 50)))
	self := tr.SelfTime()
	// children cover [10,50] and [90,100] → 50ms covered
	if got := self[0]; got != 50*time.Millisecond {
		t.Errorf("self time of r = %v, want 50ms", got)
	}
}

func dbSpan(id, parent string, start, dur float64, stmt string) Span {
	return sp(id, parent, start, dur, svcOp("inventory", "SELECT items"), kind(KindClient), withAttrs("db.system", "postgresql", "db.statement", stmt))
}

func findKind(fs []Finding, kind string) *Finding {
	for i := range fs {
		if fs[i].Kind == kind {
			return &fs[i]
		}
	}
	return nil
}

func TestRepeatedCalls(t *testing.T) {
	seq := []Span{sp("r", "", 0, 200)}
	for i := 0; i < 6; i++ {
		seq = append(seq, dbSpan(fmt.Sprint("q", i), "r", float64(10+i*20), 15, fmt.Sprintf("SELECT * FROM items WHERE id = %d", i)))
	}
	conc := []Span{sp("r", "", 0, 200)}
	for i := 0; i < 6; i++ {
		conc = append(conc, dbSpan(fmt.Sprint("q", i), "r", float64(10+i), 40, fmt.Sprintf("SELECT * FROM items WHERE id = %d", i)))
	}
	fewer := append([]Span{}, seq[:5]...)
	short := []Span{sp("r", "", 0, 200)}
	for i := 0; i < 6; i++ {
		short = append(short, dbSpan(fmt.Sprint("q", i), "r", float64(10+i*2), 1, "SELECT 1"))
	}
	distinct := []Span{sp("r", "", 0, 200)}
	for i := 0; i < 6; i++ {
		distinct = append(distinct, dbSpan(fmt.Sprint("q", i), "r", float64(10+i*20), 15, fmt.Sprintf("SELECT * FROM t%d", i)))
	}
	http := []Span{sp("r", "", 0, 200)}
	for i := 0; i < 5; i++ {
		http = append(http, sp(fmt.Sprint("h", i), "r", float64(10+i*30), 25, svcOp("checkout", "GET"), kind(KindClient),
			withAttrs("http.request.method", "GET", "url.full", fmt.Sprintf("http://inventory/api/items/%d?x=1", 100+i))))
	}
	cases := []struct {
		name  string
		spans []Span
		kind  string
		count int
		key   string
	}{
		{"sequential same statement is N+1", seq, KindNPlusOne, 6, "SELECT * FROM items WHERE id = ?"},
		{"concurrent same statement is fan-out", conc, KindFanout, 6, "SELECT * FROM items WHERE id = ?"},
		{"four repeats are not enough", fewer, "", 0, ""},
		{"under 50ms in total is not reported", short, "", 0, ""},
		{"different statements are not repeats", distinct, "", 0, ""},
		{"http calls to one URL template", http, KindNPlusOne, 5, "GET /api/items/{id}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := AnalyzeTrace(trace(c.spans...), DefaultTraceOptions())
			np, fo := findKind(rep.Findings, KindNPlusOne), findKind(rep.Findings, KindFanout)
			switch c.kind {
			case "":
				if np != nil || fo != nil {
					t.Fatalf("unexpected repeat finding %+v %+v", np, fo)
				}
				return
			case KindNPlusOne:
				if fo != nil || np == nil {
					t.Fatalf("want n_plus_one only, got n+1=%v fanout=%v", np, fo)
				}
			case KindFanout:
				if np != nil || fo == nil {
					t.Fatalf("want fanout only, got n+1=%v fanout=%v", np, fo)
				}
				np = fo
			}
			if np.Evidence["count"] != c.count {
				t.Errorf("count %v, want %d", np.Evidence["count"], c.count)
			}
			key := np.Evidence["statement"]
			if key == nil {
				key = np.Evidence["route"]
			}
			if key != c.key {
				t.Errorf("key %v, want %q", key, c.key)
			}
			if np.Evidence["parent_operation"] != "op-r" {
				t.Errorf("parent_operation %v", np.Evidence["parent_operation"])
			}
		})
	}
}

func TestErrorOrigin(t *testing.T) {
	exc := func(typ, msg string) func(*Span) {
		return func(s *Span) {
			s.Events = append(s.Events, Event{Name: "exception", Attrs: Attrs{{"exception.type", typ}, {"exception.message", msg}}})
		}
	}
	cases := []struct {
		name       string
		tr         *Trace
		origins    []string // span ids
		typ, msg   string
		rootFailed bool
	}{
		{"deepest error is the origin", trace(sp("r", "", 0, 100, failed), sp("a", "r", 0, 90, failed), sp("b", "a", 10, 20, exc("TimeoutError", "db timeout"))),
			[]string{"b"}, "TimeoutError", "db timeout", true},
		{"http 5xx counts, 4xx does not", trace(sp("r", "", 0, 100, withAttrs("http.status_code", "502")), sp("a", "r", 0, 90, withAttrs("http.status_code", "404"))),
			[]string{"r"}, "HTTP 502", "HTTP status 502", true},
		{"error tag", trace(sp("r", "", 0, 100), sp("a", "r", 0, 90, withAttrs("error", "true"))),
			[]string{"a"}, "error", "", false},
		{"two independent origins", trace(sp("r", "", 0, 100, failed), sp("a", "r", 0, 40, failed), sp("b", "r", 50, 40, failed)),
			[]string{"a", "b"}, "error", "", true},
		{"no errors", trace(sp("r", "", 0, 100), sp("a", "r", 0, 40)), nil, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := AnalyzeTrace(c.tr, DefaultTraceOptions())
			var got []string
			for _, f := range rep.Findings {
				if f.Kind == KindErrorOrigin {
					got = append(got, f.Evidence["span_id"].(string))
					if f.Evidence["exception_type"] != c.typ && len(c.origins) == 1 {
						t.Errorf("exception_type %v, want %s", f.Evidence["exception_type"], c.typ)
					}
					if c.msg != "" && f.Evidence["message"] != c.msg {
						t.Errorf("message %v, want %s", f.Evidence["message"], c.msg)
					}
					if f.Evidence["request_failed"] != c.rootFailed {
						t.Errorf("request_failed %v, want %v", f.Evidence["request_failed"], c.rootFailed)
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(c.origins, ",") && !(len(got) == 2 && len(c.origins) == 2) {
				t.Errorf("origins %v, want %v", got, c.origins)
			}
			if len(got) != len(c.origins) {
				t.Errorf("%d origins, want %d", len(got), len(c.origins))
			}
		})
	}
}

func TestSlowSpansRankByCriticalPathSelfTime(t *testing.T) {
	// "wrapper" is long but only waits on "db"; "db" is what costs the request.
	tr := trace(
		sp("r", "", 0, 1000, svcOp("api", "GET /x")),
		sp("w", "r", 10, 900, svcOp("api", "wrapper")),
		sp("d", "w", 20, 850, svcOp("api", "SELECT"), kind(KindClient), withAttrs("db.system", "postgresql")),
		sp("p", "r", 0, 950, svcOp("api", "parallel-but-hidden"), followsFrom),
	)
	rep := AnalyzeTrace(tr, DefaultTraceOptions())
	f := findKind(rep.Findings, KindSlowSpan)
	if f == nil || f.Operation != "SELECT" {
		t.Fatalf("top slow span %+v, want SELECT", f)
	}
	if f.Evidence["peer"] != "postgresql" || f.Evidence["self_ms"] != 850.0 || f.Evidence["share"] != 0.85 {
		t.Errorf("evidence %v", f.Evidence)
	}
	for _, g := range rep.Findings {
		if g.Kind == KindSlowSpan && g.Operation == "wrapper" {
			t.Errorf("wrapper reported as slow though its time is its child's: %+v", g)
		}
	}
}

func TestStatistics(t *testing.T) {
	tr := trace(sp("r", "", 0, 100, svcOp("a", "root")), sp("x", "r", 0, 30, svcOp("b", "q")), sp("y", "r", 40, 50, svcOp("b", "q"), failed))
	rep := AnalyzeTrace(tr, DefaultTraceOptions())
	var q *OpStats
	for i := range rep.Stats {
		if rep.Stats[i].Operation == "q" {
			q = &rep.Stats[i]
		}
	}
	if q == nil || q.Count != 2 || q.TotalMs != 80 || q.SelfTotalMs != 80 || q.AvgMs != 40 || q.MaxMs != 50 || q.Errors != 1 {
		t.Fatalf("stats for q: %+v", q)
	}
	if rep.Stats[0].Operation != "q" {
		t.Errorf("stats not ordered by self time: %+v", rep.Stats)
	}
}

func TestTemplatePath(t *testing.T) {
	for in, want := range map[string]string{
		"http://inventory:8080/api/items/123?x=1":              "/api/items/{id}",
		"/users/550e8400-e29b-41d4-a716-446655440000/orders/7": "/users/{id}/orders/{id}",
		"/objects/4bf92f3577b34da6a3ce929d0e0e4736":            "/objects/{id}",
		"/v1/charges": "/v1/charges",
	} {
		if got := TemplatePath(in); got != want {
			t.Errorf("TemplatePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		since, until, baseline string
		start, end, bstart     string
		err                    bool
	}{
		{"30m", "", "", "2026-11-25T11:30:00Z", "2026-11-25T12:00:00Z", "2026-11-25T11:00:00Z", false},
		{"1d", "", "", "2026-11-24T12:00:00Z", "2026-11-25T12:00:00Z", "2026-11-23T12:00:00Z", false},
		{"2h", "2026-11-25T03:00:00Z", "1d", "2026-11-25T01:00:00Z", "2026-11-25T03:00:00Z", "2026-11-24T01:00:00Z", false},
		{"2026-11-25T02:00:00Z", "2026-11-25T02:30:00Z", "", "2026-11-25T02:00:00Z", "2026-11-25T02:30:00Z", "2026-11-25T01:30:00Z", false},
		{"1795572000", "", "", "2026-11-25T02:00:00Z", "2026-11-25T12:00:00Z", "2026-11-24T16:00:00Z", false},
		{"yesterday", "", "", "", "", "", true},
		{"-5m", "", "", "", "", "", true},
		{"2026-11-25T13:00:00Z", "", "", "", "", "", true},
		{"30m", "", "soon", "", "", "", true},
	}
	for _, c := range cases {
		w, err := ParseWindow(c.since, c.until, c.baseline, now)
		if c.err {
			if err == nil {
				t.Errorf("ParseWindow(%q,%q,%q) = %+v, want error", c.since, c.until, c.baseline, w)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseWindow(%q,%q,%q): %v", c.since, c.until, c.baseline, err)
			continue
		}
		f := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
		if f(w.Start) != c.start || f(w.End) != c.end || f(w.BaselineStart) != c.bstart {
			t.Errorf("ParseWindow(%q,%q,%q) = %s..%s baseline from %s", c.since, c.until, c.baseline, f(w.Start), f(w.End), f(w.BaselineStart))
		}
	}
}
