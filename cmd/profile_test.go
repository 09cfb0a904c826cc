package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/pprof"
)

func profileFixture(name string) string { return filepath.Join("..", "testdata", "profiles", name) }

func TestProfileGolden(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		golden string
	}{
		{[]string{"cpu", "--file", profileFixture("cpu.pb.gz"), "--top", "8"}, "profile-cpu.txt"},
		{[]string{"cpu", "--file", profileFixture("cpu.pb.gz"), "--top", "8", "-o", "json"}, "profile-cpu.json"},
		{[]string{"cpu", "--file", profileFixture("cpu.pb.gz"), "--top", "8", "-o", "markdown"}, "profile-cpu.md"},
		{[]string{"heap", "--file", profileFixture("heap-later.pb.gz"), "--top", "6"}, "profile-heap.txt"},
		{[]string{"heap", "--file", profileFixture("heap-later.pb.gz"), "--top", "6", "--diff-base", profileFixture("heap.pb.gz")}, "profile-heap-diff.txt"},
		{[]string{"allocs", "--file", profileFixture("allocs.pb.gz"), "--top", "5", "--focus", "^main\\."}, "profile-allocs-focus.txt"},
		{[]string{"goroutine", "--file", profileFixture("goroutine-debug2.txt"), "--top", "6", "-o", "json"}, "profile-goroutine-dump.json"},
		{[]string{"goroutine", "--file", profileFixture("goroutineleak-debug2.txt"), "--top", "4"}, "profile-goroutineleak.txt"},
		// Leak detection offline, over profiles captured a second apart (in shuffled order).
		{[]string{"heap", "--file", profileFixture("heap-series-3.pb.gz"), "--file", profileFixture("heap-series-1.pb.gz"), "--file", profileFixture("heap-series-4.pb.gz"),
			"--file", profileFixture("heap-series-2.pb.gz"), "--top", "4", "--memory-limit", "1GiB"}, "profile-heap-leak.txt"},
		{[]string{"heap", "--file", profileFixture("heap-series-1.pb.gz"), "--file", profileFixture("heap-series-2.pb.gz"), "--file", profileFixture("heap-series-3.pb.gz"),
			"--file", profileFixture("heap-series-4.pb.gz"), "--top", "4", "-o", "markdown"}, "profile-heap-leak.md"},
		{[]string{"goroutine", "--file", profileFixture("goroutine-series-1.pb.gz"), "--file", profileFixture("goroutine-series-2.pb.gz"), "--file", profileFixture("goroutine-series-3.pb.gz"),
			"--file", profileFixture("goroutine-series-4.pb.gz"), "--top", "3", "-o", "json"}, "profile-goroutine-leak.json"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, append([]string{"profile"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.golden, []byte(out))
		})
	}
}

func TestProfileFixtureFindings(t *testing.T) {
	var rep investigate.ProfileReport
	code, out, errOut := runDbg(t, nil, "profile", "cpu", "--file", profileFixture("cpu.pb.gz"), "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 || rep.Findings[0].Kind != "cpu_hotspot" || rep.Findings[0].Evidence["function"] != "main.burnCPU" || rep.Top[0].Function != "main.burnCPU" {
		t.Errorf("cpu: top %+v findings %+v", rep.Top[:1], rep.Findings)
	}
	code, out, errOut = runDbg(t, nil, "profile", "goroutine", "--file", profileFixture("goroutineleak-debug2.txt"), "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rep = investigate.ProfileReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != "goroutine_leak" || rep.Findings[0].Evidence["function"] != "main.leakGoroutines.func1" ||
		rep.Findings[0].Evidence["leaked"] != 5.0 || !strings.HasPrefix(rep.Findings[0].Evidence["created_by"].(string), "main.leakGoroutines ") {
		t.Errorf("goroutineleak dump: %+v", rep.Findings)
	}
}

func TestProfileBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	heap, err := os.ReadFile(profileFixture("heap.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("<!doctype html><title>Grafana</title>"))
	}))
	defer html.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"truncated file", []string{"heap", "--file", write("trunc.pb.gz", heap[:len(heap)*2/3])}, 1, "truncated profile"},
		{"wrong kind", []string{"heap", "--file", profileFixture("cpu.pb.gz")}, 1, "is a cpu profile (sample types samples, cpu), not heap; run `dbg profile cpu`"},
		{"wrong kind diff base", []string{"heap", "--file", profileFixture("heap.pb.gz"), "--diff-base", profileFixture("goroutine.pb.gz")}, 1, "is a goroutine profile"},
		{"html file", []string{"cpu", "--file", write("page.html", []byte("<html>hi</html>"))}, 1, "is not a pprof profile"},
		{"missing file", []string{"cpu", "--file", filepath.Join(dir, "nope")}, 1, "no such file"},
		{"not a pprof endpoint", []string{"heap", "--target", html.URL}, 1, "is not a pprof profile (it starts with \"<!doctype html>"},
		{"404", []string{"heap", "--target", notFound.URL}, 1, "HTTP 404; does the service import net/http/pprof, and is the path prefix"},
		{"refused", []string{"heap", "--target", "http://127.0.0.1:1"}, 1, "connection refused"},
		{"bad sample", []string{"heap", "--file", profileFixture("heap.pb.gz"), "--sample", "cpu"}, 2, `sample type "cpu" is not in the profile (it has alloc_objects, alloc_space, inuse_objects, inuse_space)`},
		{"bad kind", []string{"threads", "--file", profileFixture("heap.pb.gz")}, 2, `dbg profile "threads": want one of`},
		{"no source", []string{"heap"}, 2, "no profile source"},
		{"samples from file", []string{"heap", "--file", profileFixture("heap.pb.gz"), "--samples", "3"}, 2, "--samples takes profiles from --target"},
		{"several cpu files", []string{"cpu", "--file", profileFixture("cpu.pb.gz"), "--file", profileFixture("cpu.pb.gz")}, 2, "several --file are for leak detection in heap or goroutine"},
		{"several files, one wrong", []string{"heap", "--file", profileFixture("heap.pb.gz"), "--file", profileFixture("goroutine.pb.gz")}, 1, "is a goroutine profile"},
		{"samples of cpu", []string{"cpu", "--target", html.URL, "--samples", "3"}, 2, "heap or goroutine profiles only"},
		{"bad focus", []string{"heap", "--file", profileFixture("heap.pb.gz"), "--focus", "("}, 2, "--focus"},
		{"bad limit", []string{"heap", "--target", html.URL, "--memory-limit", "lots"}, 2, "--memory-limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, append([]string{"profile", "--timeout", "5s"}, c.args...)...)
			if code != c.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q lacks %q", errOut, c.want)
			}
			if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 {
				t.Errorf("error is %d lines, want one: %q", n+1, errOut)
			}
			if out != "" {
				t.Errorf("stdout on failure: %q", out)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "2GB": 2e9, "1.5G": 3 << 29, "1048576": 1 << 20, "64 KiB": 64 << 10} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1GB", "3 parsecs"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// leaky builds testdata/leaky (with extra environment, e.g. a GOEXPERIMENT) and starts it on a loopback
// port; it returns the base URL. The process is killed when the test ends.
func leaky(t *testing.T, env []string, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs testdata/leaky; skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "leaky")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go") // tests run by `go test` have it on PATH; just in case
	}
	build := exec.Command(gobin, "build", "-o", bin, "./testdata/leaky")
	build.Dir = ".."
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/leaky: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l := <-line:
		u, ok := strings.CutPrefix(l, "listening on ")
		if !ok {
			t.Fatalf("leaky said %q", l)
		}
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("leaky did not start within 30s")
	}
	return ""
}

// profileJSON runs dbg profile with JSON output. It reports failures with t.Errorf, so it may run on
// goroutines other than the test's.
func profileJSON(t *testing.T, args ...string) investigate.ProfileReport {
	t.Helper()
	code, out, errOut := runDbg(t, nil, append([]string{"profile", "-o", "json"}, args...)...)
	var rep investigate.ProfileReport
	if code != 0 {
		t.Errorf("dbg profile %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		return rep
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Errorf("%v: %s", err, out)
	}
	return rep
}

// TestProfileLeaky runs dbg against the real leaky program: the planted CPU burner, heap leak and
// goroutine leak are named first, and the steady allocator is not flagged.
func TestProfileLeaky(t *testing.T) {
	target := leaky(t, nil)
	save := t.TempDir()
	var wg sync.WaitGroup
	var cpu, heap, gor investigate.ProfileReport
	// The three captures are independent: run them together to keep the test short.
	wg.Add(3)
	go func() { defer wg.Done(); cpu = profileJSON(t, "cpu", "--target", target, "--seconds", "2") }()
	go func() {
		defer wg.Done()
		heap = profileJSON(t, "heap", "--target", target, "--samples", "5", "--interval", "1s", "--memory-limit", "4GiB", "--save", save)
	}()
	go func() {
		defer wg.Done()
		gor = profileJSON(t, "goroutine", "--target", target, "--samples", "4", "--interval", "1s")
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(cpu.Findings) == 0 || cpu.Findings[0].Kind != "cpu_hotspot" || cpu.Findings[0].Evidence["function"] != "main.burnCPU" {
		t.Errorf("cpu findings %+v", cpu.Findings)
	}
	if len(cpu.Top) == 0 || cpu.Top[0].Function != "main.burnCPU" || !strings.HasSuffix(cpu.Top[0].File, "testdata/leaky/main.go") || cpu.Top[0].Line == 0 {
		t.Errorf("cpu top %+v", cpu.Top)
	}
	if heap.Samples != 5 || len(heap.Findings) == 0 || heap.Findings[0].Kind != "memory_leak" || heap.Findings[0].Evidence["function"] != "main.leakHeap" {
		t.Errorf("heap: %d samples, findings %+v", heap.Samples, heap.Findings)
	} else {
		ev := heap.Findings[0].Evidence
		// leaky keeps 64 KiB every 20ms: 187.5 MiB a minute, less what the ticker drops under load.
		if g := ev["growth_bytes_per_min"].(float64); g < 60<<20 || g > 200<<20 {
			t.Errorf("leakHeap growth %.0f bytes/min", g)
		}
		if ev["fit"].(float64) < 0.9 || ev["time_to_limit_min"] == nil {
			t.Errorf("evidence %v", ev)
		}
	}
	for _, f := range heap.Findings {
		if strings.Contains(f.Evidence["function"].(string), "steadyAlloc") {
			t.Errorf("the steady allocator was flagged: %+v", f)
		}
	}
	if saved, _ := filepath.Glob(filepath.Join(save, "heap-*.pb.gz")); len(saved) != 5 {
		t.Errorf("--save kept %d profiles, want 5", len(saved))
	} else if b, err := os.ReadFile(saved[0]); err != nil {
		t.Error(err)
	} else if _, err := pprof.Parse(b, saved[0]); err != nil {
		t.Errorf("saved profile: %v", err)
	} else {
		// The saved profiles, given back as files in any order, tell the same story offline.
		args := []string{"heap"}
		for _, i := range []int{3, 0, 4, 1, 2} {
			args = append(args, "--file", saved[i])
		}
		off := profileJSON(t, args...)
		if off.Samples != 5 || len(off.Findings) == 0 || off.Findings[0].Evidence["function"] != "main.leakHeap" || off.WindowS < 3 {
			t.Errorf("offline: %d samples over %.1fs, findings %+v", off.Samples, off.WindowS, off.Findings)
		}
	}
	if len(gor.Findings) == 0 || gor.Findings[0].Kind != "goroutine_leak" {
		t.Fatalf("goroutine findings %+v", gor.Findings)
	}
	ev := gor.Findings[0].Evidence
	if ev["function"] != "main.leakGoroutines.func1" || ev["wait_state"] != "chan receive" ||
		!strings.HasPrefix(ev["created_by"].(string), "main.leakGoroutines (") || ev["growth"].(float64) < 50 {
		t.Errorf("goroutine leak evidence %v", ev)
	}
	if len(gor.Findings) != 1 {
		t.Errorf("more than the planted goroutine leak: %+v", gor.Findings[1:])
	}
}

// TestProfileInterrupted: Ctrl-C (the root context cancelled) ends sampling early and still reports.
func TestProfileInterrupted(t *testing.T) {
	target := leaky(t, nil, "-cpu=false")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(2500*time.Millisecond, cancel)
	f, out, errOut := testFactory(nil)
	start := time.Now()
	code := Run(ctx, f, []string{"profile", "heap", "--target", target, "--samples", "20", "--interval", "1s", "-o", "json"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v after the interrupt", d)
	}
	var rep investigate.ProfileReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Samples < 2 || rep.Samples > 4 || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "interrupted after") {
		t.Errorf("samples %d warnings %v", rep.Samples, rep.Warnings)
	}
	if len(rep.Top) == 0 {
		t.Error("no top table after the interrupt")
	}
}

// TestProfileErrorsAgainstLeaky: a wrong path prefix on a real target gives one clear line.
func TestProfileErrorsAgainstLeaky(t *testing.T) {
	target := leaky(t, nil, "-cpu=false")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--path-prefix", "/other"}, "is not a pprof profile (it starts with \"<html>"},
		{[]string{"--path-prefix", "/debug/pprof/nothing"}, "HTTP 404"},
	} {
		code, out, errOut := runDbg(t, nil, append([]string{"profile", "heap", "--target", target}, c.args...)...)
		if code != 1 || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", c.args, code, errOut, out)
		}
	}
}

// TestProfileGoroutineLeakProfile: with Go 1.26's goroutineleak profile (GOEXPERIMENT=goroutineleakprofile)
// one goroutine profile is enough: the runtime confirms the leak. Building the standard library with the
// experiment takes a minute the first time.
func TestProfileGoroutineLeakProfile(t *testing.T) {
	target := leaky(t, []string{"GOEXPERIMENT=goroutineleakprofile"}, "-cpu=false")
	time.Sleep(time.Second)
	rep := profileJSON(t, "goroutine", "--target", target)
	if t.Failed() {
		return
	}
	if len(rep.Findings) == 0 || rep.Findings[0].Evidence["function"] != "main.leakGoroutines.func1" || rep.Findings[0].Evidence["leaked"] == nil {
		t.Errorf("findings %+v", rep.Findings)
	}
}

func TestProfileProgressOnlyOnTTY(t *testing.T) {
	for _, tty := range []bool{false, true} {
		io, _, _, errOut := TestStreams()
		io.ErrTTY = tty
		p := newProfileProgress(io, "heap", 4)
		p.Fetching(0)
		p.Waiting(time.Second, 2)
		p.Done()
		got := errOut.String()
		if !tty && got != "" {
			t.Errorf("progress on a pipe: %q", got)
		}
		if tty && (!strings.Contains(got, "heap [==========          ] 2/4 next in 1s") || !strings.HasSuffix(got, "\r\x1b[K")) {
			t.Errorf("progress on a terminal: %q", got)
		}
	}
}

func TestProfileDiffBaseURLAndEmptyHint(t *testing.T) {
	heap, err := os.ReadFile(profileFixture("heap.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Write(heap)
	}))
	defer srv.Close()
	code, out, errOut := runDbg(t, map[string]string{"DBG_TARGET_TOKEN": "tok"}, "profile", "heap", "--file", profileFixture("heap-later.pb.gz"),
		"--diff-base", srv.URL+"/debug/pprof/heap", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep investigate.ProfileReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.DiffBase, srv.URL) || len(rep.Top) == 0 || rep.Top[0].Function != "main.leakHeap" || rep.Top[0].Flat <= 0 {
		t.Errorf("diff against a URL: base %q top %+v", rep.DiffBase, rep.Top)
	}
	if auth != "Bearer tok" {
		t.Errorf("the base URL was fetched without the target's auth: %q", auth)
	}
	// The same profile as its own base: nothing changed.
	code, out, _ = runDbg(t, nil, "profile", "heap", "--file", profileFixture("heap.pb.gz"), "--diff-base", profileFixture("heap.pb.gz"))
	if code != 0 || !strings.Contains(out, "No samples.") {
		t.Errorf("self-diff: exit %d\n%s", code, out)
	}
	// A mutex profile of a service that never enabled it says how to enable it.
	empty := t.TempDir() + "/mutex.pb"
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "contentions", Unit: "count"}, {Type: "delay", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "contentions", Unit: "count"}, Period: 1}
	f, err := os.Create(empty)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out, errOut = runDbg(t, nil, "profile", "mutex", "--file", empty)
	if code != 0 || !strings.Contains(out, "runtime.SetMutexProfileFraction") {
		t.Errorf("empty mutex profile: exit %d %s\n%s", code, errOut, out)
	}
}

// A target (or proxy) that refuses the debug=2 dump: goroutine sampling falls back to the binary profile
// and says what it cannot know.
func TestProfileGoroutineFallback(t *testing.T) {
	gp, err := os.ReadFile(profileFixture("goroutine.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		switch {
		case r.URL.Path != "/debug/pprof/goroutine":
			http.NotFound(w, r)
		case r.URL.Query().Get("debug") == "2":
			http.Error(w, "debug output disabled", http.StatusForbidden)
		default:
			w.Write(gp)
		}
	}))
	defer srv.Close()
	rep := profileJSON(t, "goroutine", "--target", srv.URL, "--samples", "3", "--interval", "50ms")
	if t.Failed() {
		return
	}
	if rep.Samples != 3 || len(rep.Findings) != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "no debug=2 goroutine dump") || !strings.Contains(rep.Warnings[0], "HTTP 403") {
		t.Errorf("samples %d findings %d warnings %q", rep.Samples, len(rep.Findings), rep.Warnings)
	}
	want := "/debug/pprof/goroutine?debug=2 /debug/pprof/goroutine? /debug/pprof/goroutine? /debug/pprof/goroutine?"
	if got := strings.Join(queries, " "); got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
}

// Function and file names come from the profiled binary: they must not reach the terminal raw.
func TestProfileSanitisesHostileNames(t *testing.T) {
	evil := "main.\x1b[31mred\x1b]0;pwned\x07\u202eevil"
	fn := &profile.Function{ID: 1, Name: evil, Filename: "/src/\x1b[2J.go"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn, Line: 3}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 1e7,
		Sample:   []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{10, 1e8}}},
		Location: []*profile.Location{loc}, Function: []*profile.Function{fn},
	}
	path := filepath.Join(t.TempDir(), "evil.pb.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, format := range []string{"table", "markdown", "json"} {
		code, out, errOut := runDbg(t, nil, "profile", "cpu", "--file", path, "-o", format)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		// JSON is data for programs and keeps the name as it is, but the encoder escapes the controls.
		bad := "\x1b\x07\u202e"
		if format == "json" {
			bad = "\x1b\x07"
		}
		if strings.ContainsAny(out, bad) {
			t.Errorf("%s output carries control characters: %q", format, out)
		}
		if !strings.Contains(out, "red") || !strings.Contains(out, "evil") {
			t.Errorf("%s output lost the name: %q", format, out)
		}
	}
}

// The overall deadline leaves room for the capture and for every sample, so a default --timeout never
// cuts a 60-second CPU profile or a five-sample leak run short.
func TestProfileOptionsDeadline(t *testing.T) {
	for _, c := range []struct {
		args []string
		min  time.Duration
	}{
		{[]string{"cpu", "--target", "http://127.0.0.1:6060"}, 30 * time.Second},
		{[]string{"cpu", "--target", "http://127.0.0.1:6060", "--seconds", "60"}, 100 * time.Second},
		{[]string{"heap", "--target", "http://127.0.0.1:6060", "--samples", "5", "--interval", "10s"}, 70 * time.Second},
		{[]string{"heap", "--file", "x.pb.gz"}, 30 * time.Second},
	} {
		f, _, _ := testFactory(nil)
		cmd := newCmdProfile(f)
		addGlobalFlags(cmd)
		if err := cmd.ParseFlags(c.args[1:]); err != nil {
			t.Fatal(err)
		}
		s, err := loadSettings(cmd, f)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := cmd.Flags().GetStringArray("file")
		o, timeout, err := profileOptions(s, f, c.args[0], files)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if timeout < c.min {
			t.Errorf("%v: deadline %v, want at least %v", c.args, timeout, c.min)
		}
		if c.args[0] == "cpu" && o.Seconds == 0 {
			t.Errorf("%v: no default capture length", c.args)
		}
	}
}
