package investigate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/loggen"
)

func TestMaskToken(t *testing.T) {
	tests := map[string]string{
		"/api/v1/users/123":                    "/api/v1/users/<_>",
		"10.0.0.1:8080":                        "<_>",
		"user_id=42,":                          "user_id=<_>,",
		"550e8400-e29b-41d4-a716-446655440000": "<_>",
		"4bf92f3577b34da6a3ce929d0e0e4736":     "<_>",
		"0x1f":                                 "<_>",
		"12ms":                                 "<_>",
		"-5":                                   "<_>",
		"(id:1234)":                            "(id:<_>)",
		"v1":                                   "v1",
		"http2":                                "http2",
		"sha256":                               "sha256",
		"error":                                "error",
		"ord_8f3k2j1m9x7q":                     "<_>",
	}
	for in, want := range tests {
		if got := MaskToken(in); got != want {
			t.Errorf("MaskToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMinerCollapsesVariableParts(t *testing.T) {
	m := NewMiner(DrainConfig{})
	for i := 0; i < 50; i++ {
		m.Add(fmt.Sprintf("charge failed for order ord-%d user %s: gateway returned %d after %dms", 1000+i*7,
			fmt.Sprintf("550e8400-e29b-41d4-a716-%012d", i), 500+i%3, 100+i), "error", "", false)
		m.Add(fmt.Sprintf("GET /api/orders/%d 200 in %dms", i, i), "info", "", false)
	}
	cs := m.Clusters()
	if len(cs) != 2 {
		for _, c := range cs {
			t.Logf("%d %s", c.Count, c.Template())
		}
		t.Fatalf("%d templates, want 2", len(cs))
	}
	want := map[string]bool{"charge failed for order <_> user <_>: gateway returned <_> after <_>": true, "GET /api/orders/<_> <_> in <_>": true}
	for _, c := range cs {
		if !want[c.Template()] || c.Count != 50 {
			t.Errorf("template %q (%d lines), want one of %v with 50 lines", c.Template(), c.Count, want)
		}
	}
}

func TestMinerGroupsByLevelAndErrorType(t *testing.T) {
	m := NewMiner(DrainConfig{})
	m.Add("request failed", "error", "TimeoutError", false)
	m.Add("request failed", "error", "CardError", false)
	m.Add("request failed", "info", "", false)
	m.Add("request failed", "ERROR", "", false) // levels are normalised before they reach the miner via AddRecord
	if m.Len() != 4 {
		t.Errorf("%d templates, want 4 (two error types, two levels as given)", m.Len())
	}
	r := LogRecord{Message: "request failed", Level: "ERR", Fields: map[string]string{"error_type": "TimeoutError"}}
	if c := m.AddRecord(&r, false); c.ErrorType != "TimeoutError" || c.Count != 2 {
		t.Errorf("AddRecord joined %+v", c)
	}
}

func TestMinerBoundsMemory(t *testing.T) {
	m := NewMiner(DrainConfig{MaxClusters: 100})
	for i := 0; i < 10000; i++ {
		// every line a distinct one-word template (no shared token to join on, nothing to mask)
		w := []byte{}
		for k := i + 1; k > 0; k /= 26 {
			w = append(w, byte('a'+k%26))
		}
		m.Add(string(w), "info", "", false)
	}
	if m.Len() > 100 {
		t.Errorf("%d templates held, bound is 100", m.Len())
	}
	if m.Evicted == 0 || m.Lines != 10000 {
		t.Errorf("evicted %d of %d lines", m.Evicted, m.Lines)
	}
}

func TestMinerCutsLongLines(t *testing.T) {
	m := NewMiner(DrainConfig{MaxTokens: 10, MaxLineBytes: 100})
	long := strings.Repeat("word ", 10000)
	c := m.Add(long, "", "", false)
	if len(c.Tokens) != 10 || len(c.Sample) > 1000 {
		t.Errorf("tokens %d sample %d bytes", len(c.Tokens), len(c.Sample))
	}
}

func TestComparePatterns(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	w := Window{Start: now.Add(-30 * time.Minute), End: now, BaselineStart: now.Add(-time.Hour), BaselineEnd: now.Add(-30 * time.Minute)}
	m := NewMiner(DrainConfig{})
	add := func(n int, msg, level string, baseline bool) {
		for i := 0; i < n; i++ {
			r := LogRecord{Message: fmt.Sprintf(msg, i), Level: level, TraceID: fmt.Sprintf("t%d", i), Service: "payment"}
			m.AddRecord(&r, baseline)
		}
	}
	add(100, "served request %d", "info", true)
	add(110, "served request %d", "info", false)
	add(5, "retrying call %d", "warn", true)
	add(40, "retrying call %d", "warn", false)
	add(3, "charge failed for order %d", "error", false)
	add(7, "cache warmed %d", "info", true)
	ps := ComparePatterns(m, w, DefaultPatternOptions())
	var got []string
	for _, p := range ps {
		got = append(got, p.Status+":"+p.Template)
	}
	want := []string{"new:charge failed for order <_>", "surging:retrying call <_>", "steady:served request <_>", "gone:cache warmed <_>"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if ps[0].Count != 3 || ps[0].BaselineCount != 0 || len(ps[0].TraceIDs) != 3 || ps[1].Ratio != 8 {
		t.Errorf("figures: %+v / %+v", ps[0], ps[1])
	}
	fs := PatternFindings(ps)
	if len(fs) != 2 || fs[0].Kind != KindLogPattern || fs[0].Evidence["template"] != "charge failed for order <_>" ||
		fs[0].Evidence["baseline_count"] != 0 || fs[0].Service != "payment" || fs[0].Score <= fs[1].Score {
		t.Errorf("findings %+v", fs)
	}
	for _, k := range []string{"template", "count", "baseline_count", "sample"} {
		if _, ok := fs[0].Evidence[k]; !ok {
			t.Errorf("evidence lacks %s", k)
		}
	}
}

// TestComparePatternsEmptyBaseline: with no baseline lines nothing is "new"; the error templates are still
// listed, low, and a warning says why.
func TestComparePatternsEmptyBaseline(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	w := Window{Start: now.Add(-30 * time.Minute), End: now, BaselineStart: now.Add(-time.Hour), BaselineEnd: now.Add(-30 * time.Minute)}
	m := NewMiner(DrainConfig{})
	for i := 0; i < 15; i++ {
		for j := 0; j < 5; j++ {
			r := LogRecord{Message: fmt.Sprintf("template%d step %d", i, j), Level: []string{"info", "error"}[i%2], Service: "api"}
			m.AddRecord(&r, false)
		}
	}
	ps := ComparePatterns(m, w, DefaultPatternOptions())
	for _, p := range ps {
		if p.Status == PatternNew || p.Status == PatternSurging {
			t.Errorf("%s called %s against an empty baseline", p.Template, p.Status)
		}
	}
	fs := PatternFindings(ps)
	if len(fs) != 7 {
		t.Errorf("%d findings, want the 7 error templates", len(fs))
	}
	for _, f := range fs {
		if f.Severity.Rank() < SeverityLow.Rank() || strings.Contains(f.Title, "new") {
			t.Errorf("finding %q is %s", f.Title, f.Severity)
		}
	}
	ws := PatternWarnings(m, w)
	if len(ws) != 1 || !strings.Contains(ws[0], "held no log lines") {
		t.Errorf("warnings %v", ws)
	}
	r := LogRecord{Message: "old line", Level: "info"}
	m.AddRecord(&r, true)
	if PatternWarnings(m, w) != nil {
		t.Error("a warning with a baseline line")
	}
}

func BenchmarkMiner(b *testing.B) {
	lines := loggen.Lines(10000, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := NewMiner(DrainConfig{})
		for _, l := range lines {
			m.Add(l, "", "", false)
		}
	}
}

func FuzzMiner(f *testing.F) {
	f.Add("GET /api/orders/123 200 in 12ms", "user 550e8400-e29b-41d4-a716-446655440000 from 10.0.0.1:80")
	f.Add("", "\x00\xff <_> <_>")
	f.Fuzz(func(t *testing.T, a, b string) {
		m := NewMiner(DrainConfig{MaxClusters: 4, MaxPerLeaf: 2, MaxTokens: 8, MaxLineBytes: 64})
		for _, s := range []string{a, b, a + " " + b, b} {
			if c := m.Add(s, "error", "", false); c != nil && len(c.Tokens) > 8 {
				t.Fatalf("%d tokens", len(c.Tokens))
			}
		}
		if m.Len() > 4 {
			t.Fatalf("%d clusters over the bound", m.Len())
		}
		_ = ComparePatterns(m, Window{}, PatternOptions{})
	})
}
