package pprof

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "profiles", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	cases := []struct {
		file, kind, family, sample string
	}{
		{"cpu.pb.gz", "cpu", "cpu", "cpu"},
		{"heap.pb.gz", "heap", "heap", "inuse_space"},
		{"allocs.pb.gz", "allocs", "heap", "alloc_space"},
		{"goroutine.pb.gz", "goroutine", "goroutine", "goroutine"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p, err := Parse(fixture(t, c.file), c.file)
			if err != nil {
				t.Fatal(err)
			}
			if got := investigate.ProfileKindOf(p); got != c.family {
				t.Errorf("kind %q, want %q", got, c.family)
			}
			if err := CheckKind(p, c.kind, c.file); err != nil {
				t.Error(err)
			}
			idx, err := investigate.SampleIndex(p, "")
			if err != nil || p.SampleType[idx].Type != c.sample {
				t.Errorf("default sample %d %v, want %s", idx, err, c.sample)
			}
			// The top table's total is every sample's value (none is negative in these).
			_, total := investigate.TopFunctions(p, investigate.TopOptions{Sample: idx})
			var want int64
			for _, s := range p.Sample {
				want += s.Value[idx]
			}
			if total != want {
				t.Errorf("total %d, want %d", total, want)
			}
		})
	}
}

func TestParseBadInput(t *testing.T) {
	heap := fixture(t, "heap.pb.gz")
	cpu, err := Parse(fixture(t, "cpu.pb.gz"), "cpu.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"html", []byte("<html><body>hello</body></html>"), `is not a pprof profile (it starts with "<html>`},
		{"json", []byte(`{"status":"success"}`), "is not a pprof profile"},
		{"truncated gzip", heap[:len(heap)/2], "truncated profile"},
		{"empty", nil, "empty response"},
		{"garbage", []byte("\x00\x01\x02garbage\xff\xfe"), "corrupt profile"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data, "testsrc")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "testsrc") {
				t.Fatalf("error %v, want one naming testsrc with %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	err = CheckKind(cpu, "heap", "cpu.pb.gz")
	if err == nil || !strings.Contains(err.Error(), "cpu.pb.gz is a cpu profile") || !strings.Contains(err.Error(), "dbg profile cpu") {
		t.Errorf("wrong kind: %v", err)
	}
}

func TestParseGoroutineDump(t *testing.T) {
	gs, err := ParseGoroutineDump(fixture(t, "goroutine-debug2.txt"), "dump")
	if err != nil {
		t.Fatal(err)
	}
	var leakers, running int
	for _, g := range gs {
		if len(g.Frames) == 0 {
			t.Errorf("goroutine without frames: %+v", g)
		}
		if g.State == "running" {
			running++
		}
		if len(g.Frames) > 0 && g.Frames[0].Function == "main.leakGoroutines.func1" {
			leakers++
			if g.State != "chan receive" || g.CreatedBy != "main.leakGoroutines" || !strings.HasSuffix(g.CreatedByFile, "testdata/leaky/main.go") || g.CreatedByLine == 0 || g.Frames[0].Line == 0 {
				t.Errorf("leaker %+v", g)
			}
		}
	}
	if leakers < 3 || running != 1 {
		t.Errorf("%d leakers, %d running in %d goroutines", leakers, running, len(gs))
	}
	gl, err := ParseGoroutineDump(fixture(t, "goroutineleak-debug2.txt"), "leakdump")
	if err != nil {
		t.Fatal(err)
	}
	leaked := 0
	for _, g := range gl {
		if g.Leaked {
			leaked++
			if g.State != "chan receive" {
				t.Errorf("leaked state %q", g.State)
			}
		}
	}
	if leaked != 5 {
		t.Errorf("%d leaked, want 5", leaked)
	}
	hdr := []struct {
		line  string
		state string
		mins  int
		ok    bool
	}{
		{"goroutine 18 [chan receive, 5 minutes]:", "chan receive", 5, true},
		{"goroutine 7 gp=0xc000007c00 m=nil [select, 12 minutes, locked to thread]:", "select", 12, true},
		{"goroutine 9 [sync.WaitGroup.Wait (durable), 2 minutes]:", "sync.WaitGroup.Wait", 2, true},
		{"goroutine x [running]:", "", 0, false},
		{"goroutine 1 running:", "", 0, false},
	}
	for _, h := range hdr {
		g, ok := parseGoroutineHeader(h.line)
		if ok != h.ok || (ok && (g.State != h.state || g.WaitMinutes != h.mins)) {
			t.Errorf("%q: %+v %v", h.line, g, ok)
		}
	}
	for _, bad := range []string{"<html>", "hello\nworld", ""} {
		if _, err := ParseGoroutineDump([]byte(bad), "x"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// recorder is a fake pprof target that records what it was asked.
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	serve := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			r.mu.Lock()
			r.reqs = append(r.reqs, req.URL.Path+"?"+req.URL.RawQuery)
			r.mu.Unlock()
			w.Write(fixture(t, name))
		}
	}
	mux.HandleFunc("/custom/pprof/profile", serve("cpu.pb.gz"))
	mux.HandleFunc("/custom/pprof/heap", serve("heap.pb.gz"))
	mux.HandleFunc("/custom/pprof/goroutine", serve("goroutine-debug2.txt"))
	return mux
}

func TestFetch(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec.handler(t))
	defer srv.Close()
	src, err := New(httpx.Endpoint{URL: srv.URL, Token: "s3cret", Timeout: 5 * time.Second}, "custom/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	raw, err := src.Fetch(ctx, Request{Kind: "cpu", Seconds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(raw.Data, raw.URL); err != nil {
		t.Error(err)
	}
	if _, err := src.Fetch(ctx, Request{Kind: "heap", GC: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(ctx, Request{Kind: "goroutine", Debug: 2}); err != nil {
		t.Fatal(err)
	}
	want := []string{"/custom/pprof/profile?seconds=3", "/custom/pprof/heap?gc=1", "/custom/pprof/goroutine?debug=2"}
	if strings.Join(rec.reqs, " ") != strings.Join(want, " ") {
		t.Errorf("requests %v, want %v", rec.reqs, want)
	}
	_, err = src.Fetch(ctx, Request{Kind: "mutex"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), "net/http/pprof") || !strings.Contains(err.Error(), "/custom/pprof") {
		t.Errorf("404: %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("secret in error: %v", err)
	}
	dir := t.TempDir()
	path, err := Save(dir, raw)
	if err != nil || !strings.HasPrefix(filepath.Base(path), "cpu-") || !strings.HasSuffix(path, ".pb.gz") {
		t.Fatalf("save: %s %v", path, err)
	}
	if b, _ := os.ReadFile(path); len(b) != len(raw.Data) {
		t.Errorf("saved %d bytes of %d", len(b), len(raw.Data))
	}
}

func TestCaptureTimeout(t *testing.T) {
	for _, c := range []struct{ capture, configured, want time.Duration }{
		{0, 30 * time.Second, 30 * time.Second},
		{10 * time.Second, 30 * time.Second, 30 * time.Second},
		{60 * time.Second, 30 * time.Second, 100 * time.Second},
		{30 * time.Second, 0, 55 * time.Second},
	} {
		if got := CaptureTimeout(c.capture, c.configured); got != c.want {
			t.Errorf("CaptureTimeout(%v, %v) = %v, want %v", c.capture, c.configured, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"cpu.pb.gz", "heap.pb.gz", "goroutine.pb.gz"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		for i := range p.SampleType {
			investigate.TopFunctions(p, investigate.TopOptions{Sample: i})
			investigate.AllocationSites(p, i, 3)
		}
		_ = CheckKind(p, "heap", "fuzz")
	})
}

func FuzzParseGoroutineDump(f *testing.F) {
	f.Add(fixture(f, "goroutine-debug2.txt"))
	f.Add(fixture(f, "goroutineleak-debug2.txt")[:2000])
	f.Add([]byte("goroutine 1 [chan receive (leaked), 3 minutes]:\nmain.f(...)\n\t/x.go:1 +0x1\ncreated by main.g in goroutine 2\n\t/y.go:2 +0x2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gs, err := ParseGoroutineDump(data, "fuzz")
		if err != nil {
			return
		}
		groups := investigate.GroupGoroutines(gs)
		investigate.GoroutineLeaks([]investigate.GoroutineSnapshot{{Groups: groups}}, investigate.GoroutineLeakOptions{})
		p := ProfileFromGoroutines(gs)
		investigate.TopFunctions(p, investigate.TopOptions{})
	})
}

func TestCheck(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`<html><a href="goroutine?debug=1">goroutine</a><a href="heap?debug=1">heap</a></html>`))
	})
	mux.HandleFunc("/other/", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>Grafana</html>")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range []struct{ prefix, want string }{
		{"", ""},
		{"/other", "does not list Go profiles"},
		{"/missing", "HTTP 404"},
	} {
		src, err := New(httpx.Endpoint{URL: srv.URL}, c.prefix)
		if err != nil {
			t.Fatal(err)
		}
		err = src.Check(context.Background())
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("prefix %q: %v, want %q", c.prefix, err, c.want)
		}
	}
}
