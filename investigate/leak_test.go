package investigate

import (
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

func TestFitLine(t *testing.T) {
	cases := []struct {
		name      string
		xs, ys    []float64
		slope, r2 float64
		wantNoFit bool
	}{
		{"perfect line", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2, 1, false},
		{"flat", []float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0, 0, false},
		{"falling", []float64{0, 1, 2}, []float64{3, 2, 1}, -1, 1, false},
		{"one point", []float64{0}, []float64{1}, 0, 0, true},
		{"same x", []float64{1, 1, 1}, []float64{1, 2, 3}, 0, 0, false},
		{"sawtooth", []float64{0, 1, 2, 3, 4, 5}, []float64{0, 10, 0, 10, 0, 10}, 0.857, 0.0857, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := FitLine(c.xs, c.ys)
			if math.Abs(f.Slope-c.slope) > 1e-3 || math.Abs(f.R2-c.r2) > 1e-3 {
				t.Errorf("slope %.4f r2 %.4f, want %.4f %.4f", f.Slope, f.R2, c.slope, c.r2)
			}
		})
	}
}

func snaps(t0 time.Time, every time.Duration, series map[string][]float64) []SiteSnapshot {
	n := 0
	for _, s := range series {
		n = max(n, len(s))
	}
	out := make([]SiteSnapshot, n)
	for i := range out {
		out[i] = SiteSnapshot{Time: t0.Add(time.Duration(i) * every), Values: map[string]float64{}}
		for k, s := range series {
			out[i].Values[k] = s[i]
			out[i].Total += s[i]
		}
	}
	return out
}

func TestMemoryLeaks(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const mib = 1 << 20
	series := map[string][]float64{
		"main.leak":     {10 * mib, 20 * mib, 30 * mib, 40 * mib, 50 * mib},   // 10 MiB a minute
		"main.slowleak": {1 * mib, 1.5 * mib, 2 * mib, 2.4 * mib, 3.1 * mib},  // ~0.5 MiB a minute
		"main.steady":   {8 * mib, 8.1 * mib, 7.9 * mib, 8 * mib, 8.05 * mib}, // churn around a level
		"main.sawtooth": {1 * mib, 30 * mib, 2 * mib, 31 * mib, 40 * mib},     // ends high, no steady growth
		"main.freed":    {50 * mib, 40 * mib, 30 * mib, 20 * mib, 10 * mib},   // shrinking
		"main.tiny":     {1000, 2000, 3000, 4000, 5000},                       // steady but negligible
	}
	sites := map[string]Site{}
	for k := range series {
		sites[k] = Site{Function: k, Callers: []string{"main.caller"}}
	}
	fs := MemoryLeaks(snaps(t0, time.Minute, series), sites, MemoryLeakOptions{MemoryLimit: 1 << 30})
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want main.leak and main.slowleak: %+v", len(fs), fs)
	}
	if fs[0].Evidence["function"] != "main.leak" || fs[1].Evidence["function"] != "main.slowleak" {
		t.Errorf("order %v, %v: want the faster leak first", fs[0].Evidence["function"], fs[1].Evidence["function"])
	}
	if fs[0].Score <= fs[1].Score {
		t.Errorf("scores %.3f <= %.3f", fs[0].Score, fs[1].Score)
	}
	if g := fs[0].Evidence["growth_bytes_per_min"].(int64); g != 10*mib {
		t.Errorf("growth %d, want %d", g, 10*mib)
	}
	if fit := fs[0].Evidence["fit"].(float64); fit != 1 {
		t.Errorf("fit %v", fit)
	}
	// heap now: 50+3.1+8.05+40+10+0.005 MiB ≈ 111 MiB; 913 MiB left at 10 MiB/min ≈ 91 min.
	if ttl := fs[0].Evidence["time_to_limit_min"].(float64); ttl < 85 || ttl > 95 {
		t.Errorf("time to limit %.1f min, want about 91", ttl)
	}
	for _, f := range fs {
		if f.Kind != KindMemoryLeak || f.Evidence["callers"] != "main.caller" {
			t.Errorf("finding %+v", f)
		}
	}
	// Too few samples: nothing, whatever the values.
	if fs := MemoryLeaks(snaps(t0, time.Minute, map[string][]float64{"a": {1, 1e9}}), sites, MemoryLeakOptions{}); len(fs) != 0 {
		t.Errorf("two samples gave %d findings", len(fs))
	}
}

func TestGoroutineLeaks(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(fn, created string, n int) GoroutineStack {
		return GoroutineStack{Frames: []ProfileFrame{{Function: "runtime.gopark", Line: 1}, {Function: fn, File: "/src/x.go", Line: 9}},
			Count: n, State: "chan receive", WaitMinutes: 3, CreatedBy: created, CreatedByFile: "/src/x.go", CreatedByLine: 5}
	}
	counts := [][3]int{{10, 8, 100}, {20, 8, 90}, {30, 9, 110}, {41, 8, 95}, {50, 8, 105}}
	var ss []GoroutineSnapshot
	for i, c := range counts {
		gs := []GoroutineStack{mk("main.leaky", "main.start", c[0]), mk("main.pool", "main.init", c[1]), mk("main.handler", "net/http.(*Server).Serve", c[2])}
		ss = append(ss, GoroutineSnapshot{Time: t0.Add(time.Duration(i) * 10 * time.Second), Groups: GroupGoroutines(gs)})
	}
	fs := GoroutineLeaks(ss, GoroutineLeakOptions{})
	if len(fs) != 1 {
		t.Fatalf("got %d findings, want only main.leaky: %+v", len(fs), fs)
	}
	ev := fs[0].Evidence
	if ev["function"] != "main.leaky" || ev["count"] != 50 || ev["created_by"] != "main.start (src/x.go:5)" ||
		ev["wait_state"] != "chan receive" || ev["wait_minutes"] != 3 || ev["blocked_in"] != "runtime.gopark" {
		t.Errorf("evidence %v", ev)
	}
	if g := ev["growth"].(float64); g < 38 || g > 42 {
		t.Errorf("growth %v, want about 40", g)
	}
	// The runtime's leak detector marks a group as leaked: reported even from one snapshot.
	one := GroupGoroutines([]GoroutineStack{{Frames: []ProfileFrame{{Function: "main.stuck"}}, Count: 1, Leaked: true}, {Frames: []ProfileFrame{{Function: "main.fine"}}, Count: 1}})
	fs = GoroutineLeaks([]GoroutineSnapshot{{Time: t0, Groups: one}}, GoroutineLeakOptions{})
	if len(fs) != 1 || fs[0].Evidence["function"] != "main.stuck" || fs[0].Evidence["leaked"] != 1 {
		t.Errorf("confirmed leaks: %+v", fs)
	}
}

// testProfile builds a small CPU profile: stacks are leaf first, by function name, one location per
// function (at line len(name) of /src/name.go).
func testProfile(samples []struct {
	stack []string
	v     int64
}) *profile.Profile {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "cpu", Unit: "nanoseconds"}}}
	locs := map[string]*profile.Location{}
	for _, s := range samples {
		smp := &profile.Sample{Value: []int64{s.v}}
		for _, fn := range s.stack {
			loc := locs[fn]
			if loc == nil {
				f := &profile.Function{ID: uint64(len(p.Function) + 1), Name: fn, Filename: "/src/" + fn + ".go"}
				p.Function = append(p.Function, f)
				loc = &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: f, Line: int64(len(fn))}}}
				locs[fn] = loc
				p.Location = append(p.Location, loc)
			}
			smp.Location = append(smp.Location, loc)
		}
		p.Sample = append(p.Sample, smp)
	}
	return p
}

func TestTopFunctions(t *testing.T) {
	p := testProfile([]struct {
		stack []string
		v     int64
	}{
		{[]string{"hash", "handle", "main"}, 60},
		{[]string{"rec", "rec", "rec", "handle", "main"}, 30}, // recursion: cum counted once
		{[]string{"json", "handle", "main"}, 10},
		{[]string{"idle"}, 0},
	})
	top, total := TopFunctions(p, TopOptions{})
	if total != 100 {
		t.Errorf("total %d", total)
	}
	want := []TopEntry{
		{"hash", "/src/hash.go", 4, 60, 60},
		{"rec", "/src/rec.go", 3, 30, 30},
		{"json", "/src/json.go", 4, 10, 10},
		{"handle", "/src/handle.go", 6, 0, 100},
		{"main", "/src/main.go", 4, 0, 100},
	}
	if len(top) != len(want) {
		t.Fatalf("top %+v", top)
	}
	for i := range want {
		if top[i] != want[i] {
			t.Errorf("top[%d] = %+v, want %+v", i, top[i], want[i])
		}
	}
	focused, ftotal := TopFunctions(p, TopOptions{Focus: regexp.MustCompile(`^rec$`)})
	// The total stays the whole profile's, as go tool pprof -focus shows shares.
	if ftotal != 100 || len(focused) != 3 || focused[0].Function != "rec" {
		t.Errorf("focus: total %d top %+v", ftotal, focused)
	}
	diff := DiffTop(top, []TopEntry{{"hash", "", 0, 10, 10}, {"gone", "/src/gone.go", 1, 40, 40}, {"json", "", 0, 10, 10}}, false)
	if diff[0].Function != "hash" || diff[0].Flat != 50 || diff[1].Function != "gone" || diff[1].Flat != -40 {
		t.Errorf("diff %+v", diff)
	}
	for _, e := range diff {
		if e.Function == "json" {
			t.Errorf("unchanged function listed: %+v", e)
		}
	}
	fs := CPUHotspots(top, total, "nanoseconds", CPUHotspotOptions{MinShare: 0.2})
	if len(fs) != 2 || fs[0].Evidence["function"] != "hash" || fs[0].Kind != KindCPUHotspot || fs[1].Evidence["function"] != "rec" {
		t.Fatalf("hotspots %+v", fs)
	}
	fs = CPUHotspots([]TopEntry{{Function: "b", Flat: 3e9, Cum: 3e9}, {Function: "a", Flat: 6e9, Cum: 9e9}}, 1e10, "nanoseconds", CPUHotspotOptions{})
	for i, want := range []float64{6, 3} {
		if fs[i].Evidence["unit"] != "seconds" || fs[i].Evidence["value"] != want {
			t.Errorf("hotspot %d: value %v %v, want %v seconds", i, fs[i].Evidence["value"], fs[i].Evidence["unit"], want)
		}
	}
}

func TestAllocationSites(t *testing.T) {
	p := testProfile([]struct {
		stack []string
		v     int64
	}{
		{[]string{"runtime.mallocgc", "runtime.growslice", "main.leak", "main.loop", "main.main"}, 100},
		{[]string{"runtime.mallocgc", "main.leak", "main.loop", "main.main"}, 50},
		{[]string{"runtime.mallocgc", "runtime.malg", "runtime.newproc1"}, 7},
	})
	vals, sites, total := AllocationSites(p, 0, 2)
	if total != 157 {
		t.Errorf("total %v", total)
	}
	k := "main.leak <- main.loop <- main.main"
	if vals[k] != 150 || sites[k].Function != "main.leak" {
		t.Errorf("sites %v %v", vals, sites)
	}
	if vals["runtime.malg <- runtime.newproc1"] != 7 {
		t.Errorf("all-runtime stack: %v", vals)
	}
}

func TestHumanMinutes(t *testing.T) {
	for m, want := range map[float64]string{0.2: "a minute", 27.456: "27 min", 100: "1.7 h", 8866.8: "6 days"} {
		if got := humanMinutes(m); got != want {
			t.Errorf("humanMinutes(%v) = %q, want %q", m, got, want)
		}
	}
}
