package corpus

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/files"
	"github.com/dbgtool/dbg/sources/pprof"
)

var root = filepath.Join("..", "..", "testdata", "external")

// expectedErrors are the corpus files dbg refuses, with the one line it must say: each is broken on
// purpose in its project (fixtures for its own error handling).
var expectedErrors = map[string]string{
	"jaeger/anonymizer/trace_empty.json":        "empty file",
	"jaeger/anonymizer/trace_scan_error.json":   "invalid JSON",
	"jaeger/anonymizer/trace_invalid_json.json": `field "duration" is "invalid", want a number`,
	"jaeger/anonymizer/trace_wrong_format.json": "no spans",
	"pprof/go.godoc.thread":                     "threadcreate",
}

// notData are files of the corpus that are not telemetry.
func notData(rel string) bool {
	return rel == "PROVENANCE.md" || strings.HasSuffix(rel, ".js") || strings.HasSuffix(rel, ".sh") ||
		strings.HasSuffix(rel, ".golden") || strings.HasSuffix(rel, "-expected.json") ||
		strings.HasPrefix(rel, "jaeger-ui/critical-path-test") // a trace inside a test case: TestCorpusJaegerUICriticalPath
}

func isProfile(rel string) bool {
	return strings.HasPrefix(rel, "pprof/") || strings.HasPrefix(rel, "parca/") || strings.HasPrefix(rel, "go/")
}

// TestCorpusEveryFileParses: every file is read, or refused with its one expected line.
func TestCorpusEveryFileParses(t *testing.T) {
	n := 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if notData(rel) {
			return nil
		}
		n++
		t.Run(rel, func(t *testing.T) {
			var err error
			if isProfile(rel) {
				err = readProfile(path)
			} else {
				var ts []*investigate.Trace
				ts, err = files.ReadTraceFile(path)
				for _, tr := range ts {
					investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
				}
			}
			want, refused := expectedErrors[rel]
			switch {
			case refused && err == nil:
				t.Fatalf("read without error; want %q", want)
			case refused && (!strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("error %q; want one line saying %q", err, want)
			case !refused && err != nil:
				t.Fatalf("not read: %v", err)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Fatalf("only %d corpus files found under %s", n, root)
	}
}

func readProfile(path string) error {
	data, err := pprof.ReadFileBudget(path, nil)
	if err != nil {
		return err
	}
	if pprof.IsGoroutineDump(data) {
		_, err = pprof.ParseGoroutineDump(data, path)
		return err
	}
	p, err := pprof.Parse(data, "profile file "+path)
	if err != nil {
		return err
	}
	if investigate.ProfileKindOf(p) == "threadcreate" {
		// dbg has no threadcreate command; what any command says of such a file is the expectation.
		return pprof.CheckKind(p, "goroutine", "profile file "+path)
	}
	return nil
}

func readTrace(t *testing.T, rel string) *investigate.Trace {
	t.Helper()
	ts, err := files.ReadTraceFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 {
		t.Fatalf("%s: %d traces", rel, len(ts))
	}
	return ts[0]
}

// TestCorpusJaegerUICriticalPath: dbg's critical path is Jaeger UI's, section for section, on the cases
// Jaeger UI's own test suite (CriticalPath/index.test.js) checks.
func TestCorpusJaegerUICriticalPath(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(root, "jaeger-ui", "critical-path-test*.json"))
	if len(paths) != 9 {
		t.Fatalf("%d critical-path cases", len(paths))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				Trace    json.RawMessage `json:"trace"`
				Sections []struct {
					SpanID string  `json:"spanID"`
					Start  float64 `json:"sectionStart"`
					End    float64 `json:"sectionEnd"`
				} `json:"criticalPathSections"`
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			ts, err := files.DecodeTraces(c.Trace)
			if err != nil {
				t.Fatal(err)
			}
			tree := investigate.BuildTree(ts[0])
			segs := tree.CriticalPath(tree.Root())
			var got, want []string
			for _, s := range segs {
				if !s.End.After(s.Start) {
					// dbg keeps zero-length segments to mark a span that only waits on its child as on the
					// path; they hold no time and Jaeger UI does not list them.
					continue
				}
				got = append(got, tree.Span(s.Span).SpanID+" "+strconv.FormatInt(s.Start.UnixMicro(), 10)+"-"+strconv.FormatInt(s.End.UnixMicro(), 10))
			}
			for _, s := range c.Sections {
				want = append(want, s.SpanID+" "+strconv.FormatFloat(s.Start, 'f', -1, 64)+"-"+strconv.FormatFloat(s.End, 'f', -1, 64))
			}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("critical path\n got %v\nwant %v (Jaeger UI)", got, want)
			}
		})
	}
}

// TestCorpusJaegerUIStatistics: dbg's per-service and per-operation figures are Jaeger UI's Trace
// Statistics, as its tableValues.test.js expects them.
func TestCorpusJaegerUIStatistics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "jaeger-ui", "statistics-expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Rows []struct {
			Trace, Group, Service, Operation string
			Count                            *int
			Total, Avg, Max                  *float64
			SelfTotal                        float64 `json:"self_total"`
		}
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	r2 := func(ms float64) float64 { return math.Round(ms*100) / 100 }
	for _, row := range exp.Rows {
		t.Run(row.Trace+"/"+row.Service+"/"+row.Operation, func(t *testing.T) {
			rep := investigate.AnalyzeTrace(readTrace(t, "jaeger-ui/statistics/"+row.Trace), investigate.DefaultTraceOptions())
			var count int
			var total, self, maxMs float64
			for _, s := range rep.Stats {
				if s.Service != row.Service || (row.Group == "operation" && s.Operation != row.Operation) {
					continue
				}
				count += s.Count
				total += s.TotalMs
				self += s.SelfTotalMs
				maxMs = math.Max(maxMs, s.MaxMs)
			}
			if count == 0 {
				t.Fatalf("no statistics row for %s %s", row.Service, row.Operation)
			}
			if r2(self) != row.SelfTotal {
				t.Errorf("self total %.3f ms, Jaeger UI %.2f", self, row.SelfTotal)
			}
			if row.Count != nil && count != *row.Count {
				t.Errorf("count %d, Jaeger UI %d", count, *row.Count)
			}
			if row.Total != nil && r2(total) != *row.Total {
				t.Errorf("total %.3f ms, Jaeger UI %.2f", total, *row.Total)
			}
			if row.Avg != nil && r2(total/float64(count)) != *row.Avg {
				t.Errorf("avg %.3f ms, Jaeger UI %.2f", total/float64(count), *row.Avg)
			}
			if row.Max != nil && r2(maxMs) != *row.Max {
				t.Errorf("max %.3f ms, Jaeger UI %.2f", maxMs, *row.Max)
			}
		})
	}
}

// TestCorpusJaegerUIOTLPConversion: Jaeger UI's OTLP input and its own conversion to Jaeger JSON read
// as the same trace.
func TestCorpusJaegerUIOTLPConversion(t *testing.T) {
	for in, out := range map[string]string{"otlp2jaeger-in.json": "otlp2jaeger-out.json", "otlp2jaeger-multi-in-combined.json": "oltp2jaeger-multi-out.json"} {
		a, err := files.ReadTraceFile(filepath.Join(root, "jaeger-ui", in))
		if err != nil {
			t.Fatal(err)
		}
		b, err := files.ReadTraceFile(filepath.Join(root, "jaeger-ui", out))
		if err != nil {
			t.Fatal(err)
		}
		if sa, sb := spansOf(a), spansOf(b); strings.Join(sa, "\n") != strings.Join(sb, "\n") {
			t.Errorf("%s and %s differ:\n%s\n---\n%s", in, out, strings.Join(sa, "\n"), strings.Join(sb, "\n"))
		}
	}
	// The UI's "error" fixture has no service.name: dbg names the service unknown, as the UI does.
	tr := readTrace(t, "jaeger-ui/otlp2jaeger-in-error.json")
	if tr.Spans[0].Service != "unknown" {
		t.Errorf("service %q", tr.Spans[0].Service)
	}
}

func spansOf(ts []*investigate.Trace) []string {
	var out []string
	for _, tr := range ts {
		for _, s := range tr.Spans {
			out = append(out, strings.Join([]string{investigate.CanonicalTraceID(tr.ID), s.SpanID, s.ParentID, s.Service, s.Operation,
				// Jaeger JSON has microseconds: compare at that resolution, as the UI's conversion truncates.
				s.Kind.String(), s.Start.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano), s.Duration.Truncate(time.Microsecond).String()}, " "))
		}
	}
	sort.Strings(out)
	return out
}

// TestCorpusJaegerFixtureIDs: Jaeger's storage fixtures write trace 0x11 in 32 digits; "11" finds it.
func TestCorpusJaegerFixtureIDs(t *testing.T) {
	tr := readTrace(t, "jaeger/example_trace.json")
	if investigate.CanonicalTraceID(tr.ID) != investigate.CanonicalTraceID("11") {
		t.Errorf("trace ID %q", tr.ID)
	}
}

// pprofTop is one profile's `go tool pprof -top` as recorded in pprof-top.golden.
type pprofTop struct {
	total int64
	rows  map[string][2]int64 // function → flat, cum
}

func readPprofGolden(t *testing.T) map[string]*pprofTop {
	f, err := os.Open(filepath.Join(root, "pprof-top.golden"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*pprofTop{}
	var cur *pprofTop
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "== "):
			cur = &pprofTop{rows: map[string][2]int64{}}
			out[strings.TrimPrefix(line, "== ")] = cur
		case cur == nil || len(fields) == 0:
		case strings.HasPrefix(line, "Active filters") || strings.HasPrefix(line, "   focus="):
		case strings.HasPrefix(line, "Showing nodes accounting for"):
			i := strings.Index(line, " of ")
			cur.total = pprofNumber(t, strings.Fields(line[i+4:])[0])
		case len(fields) >= 6 && strings.HasSuffix(fields[1], "%"):
			// pprof marks a function seen only inlined "(inline)"; dbg names the function alone.
			fn := strings.TrimSuffix(strings.Join(fields[5:], " "), " (inline)")
			if _, dup := cur.rows[fn]; dup {
				t.Fatalf("%s listed twice in the golden", fn)
			}
			cur.rows[fn] = [2]int64{pprofNumber(t, fields[0]), pprofNumber(t, fields[3])}
		}
	}
	return out
}

// pprofNumber reads a figure of -unit=ns output: nanoseconds, raw bytes or raw counts.
func pprofNumber(t *testing.T, s string) int64 {
	s = strings.TrimSuffix(strings.TrimSuffix(s, "ns"), "B")
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("golden figure %q: %v", s, err)
	}
	return v
}

// TestCorpusPprofTop: dbg's top table has go tool pprof's flat and cum for every function pprof lists,
// and pprof's total.
func TestCorpusPprofTop(t *testing.T) {
	golden := readPprofGolden(t)
	if len(golden) < 10 {
		t.Fatalf("%d profiles in pprof-top.golden", len(golden))
	}
	for name, want := range golden {
		rel, focusArg, _ := strings.Cut(name, " -focus=")
		t.Run(name, func(t *testing.T) {
			data, err := pprof.ReadFileBudget(filepath.Join(root, rel), nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := pprof.Parse(data, rel)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := investigate.SampleIndex(p, "") // pprof's default sample, as the golden was recorded
			if err != nil {
				t.Fatal(err)
			}
			scale := map[string]int64{"nanoseconds": 1, "microseconds": 1e3, "milliseconds": 1e6, "seconds": 1e9}[p.SampleType[idx].Unit]
			if scale == 0 {
				scale = 1
			}
			var focus *regexp.Regexp
			if focusArg != "" {
				focus = regexp.MustCompile(focusArg) // pprof's -focus matches function names by regexp too
			}
			top, total := investigate.TopFunctions(p, investigate.TopOptions{Sample: idx, Focus: focus})
			if total*scale != want.total {
				t.Errorf("total %d (×%d), pprof %d", total, scale, want.total)
			}
			byName := map[string]investigate.TopEntry{}
			for _, e := range top {
				byName[e.Function] = e
			}
			checked := 0
			for fn, fc := range want.rows {
				if strings.HasPrefix(fn, "[") || strings.HasPrefix(fn, "<") {
					continue // a location without a function name: pprof names it by its mapping
				}
				checked++
				e, ok := byName[fn]
				if !ok {
					t.Errorf("%s: not in dbg's table", fn)
					continue
				}
				if e.Flat*scale != fc[0] || e.Cum*scale != fc[1] {
					t.Errorf("%s: flat/cum %d/%d (×%d), pprof %d/%d", fn, e.Flat, e.Cum, scale, fc[0], fc[1])
				}
			}
			t.Logf("%d functions compared", checked)
		})
	}
}
