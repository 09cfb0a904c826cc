package investigate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// LinearFit is a least-squares line y = Intercept + Slope·x and how well it explains the points.
type LinearFit struct {
	Slope     float64
	Intercept float64
	// R2 is the coefficient of determination, 0..1; 0 when y does not vary (a flat line is no trend).
	R2 float64
	N  int
}

// FitLine fits a least-squares line through the points (xs[i], ys[i]).
func FitLine(xs, ys []float64) LinearFit {
	n := min(len(xs), len(ys))
	f := LinearFit{N: n}
	if n < 2 {
		return f
	}
	var mx, my float64
	for i := 0; i < n; i++ {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, sxy, syy float64
	for i := 0; i < n; i++ {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		f.Intercept = my
		return f
	}
	f.Slope = sxy / sxx
	f.Intercept = my - f.Slope*mx
	if syy > 0 {
		f.R2 = (sxy * sxy) / (sxx * syy)
		if f.R2 > 1 {
			f.R2 = 1
		}
	}
	return f
}

// Site is an allocation site: the function that allocated, first outside the runtime, and its callers.
type Site struct {
	Function string
	File     string
	Line     int64
	Callers  []string
}

// SiteSnapshot is one heap profile reduced to in-use bytes per allocation site key, at one time.
type SiteSnapshot struct {
	Time   time.Time
	Values map[string]float64
	// Total is the whole profile's in-use value at that time.
	Total float64
}

// isRuntimeFrame says whether a function belongs to the runtime's allocation or scheduling machinery,
// which is never the site a person should look at.
func isRuntimeFrame(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") ||
		strings.HasPrefix(fn, "sync.") || strings.HasPrefix(fn, "sync/atomic.") || fn == "time.Sleep"
}

// isAllocFrame says whether a runtime function is one of the allocator's entry points, which every
// allocation passes through.
func isAllocFrame(fn string) bool {
	for _, p := range []string{"runtime.malloc", "runtime.newobject", "runtime.make", "runtime.grow", "runtime.newarray", "runtime.rawstring", "runtime.rawbyteslice"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// AllocationSites reduces a heap profile to the given sample type's value per allocation site: the first
// frame from the leaf outside the runtime, plus up to callers of its callers. It returns the values by
// site key, the sites, and the total.
func AllocationSites(p *profile.Profile, sample, callers int) (map[string]float64, map[string]Site, float64) {
	values := map[string]float64{}
	sites := map[string]Site{}
	nt := len(p.SampleType)
	if sample < 0 || sample >= nt {
		return values, sites, 0
	}
	ix := indexStacks(p)
	frames := ix.frames
	var total float64
	var b strings.Builder
	for s, smp := range p.Sample {
		v := float64(sampleValue(smp, sample))
		if v == 0 {
			continue
		}
		total += v
		st := ix.stack(s)
		if len(st) == 0 {
			continue
		}
		k := 0
		for k < len(st) && isRuntimeFrame(frames[st[k]].Function) {
			k++
		}
		if k == len(st) { // all runtime (goroutine stacks, timers): skip only the allocator's entry points
			k = 0
			for k < len(st)-1 && isAllocFrame(frames[st[k]].Function) {
				k++
			}
		}
		leaf := frames[st[k]]
		var cs []string
		for j := k + 1; j < len(st) && len(cs) < callers; j++ {
			fn := frames[st[j]].Function
			if len(cs) > 0 && cs[len(cs)-1] == fn {
				continue
			}
			if fn == leaf.Function && len(cs) == 0 {
				continue
			}
			cs = append(cs, fn)
		}
		b.Reset()
		b.WriteString(leaf.Function)
		for _, c := range cs {
			b.WriteString(" <- ")
			b.WriteString(c)
		}
		key := b.String()
		if _, ok := sites[key]; !ok {
			sites[key] = Site{Function: leaf.Function, File: leaf.File, Line: leaf.Line, Callers: cs}
		}
		values[key] += v
	}
	return values, sites, total
}

// MemoryLeakOptions set when growth counts as a leak.
type MemoryLeakOptions struct {
	// MinFit is the least R² of the growth line; default 0.9. With five samples, pure noise reaches 0.9
	// with a rising slope less than 1% of the time (0.8: about 2%).
	MinFit float64
	// MinGrowthPerMin is the least growth in bytes a minute; default 64 KiB.
	MinGrowthPerMin float64
	// MinSamples is the least number of snapshots; default 3.
	MinSamples int
	// MemoryLimit is the process's memory limit in bytes, 0 when unknown; with it, findings carry the
	// projected time until the heap reaches it.
	MemoryLimit float64
	// Max caps the number of findings; default 10.
	Max int
}

func (o *MemoryLeakOptions) defaults() {
	if o.MinFit <= 0 {
		o.MinFit = 0.9
	}
	if o.MinGrowthPerMin <= 0 {
		o.MinGrowthPerMin = 64 << 10
	}
	if o.MinSamples < 3 {
		o.MinSamples = 3
	}
	if o.Max <= 0 {
		o.Max = 10
	}
}

// minutesSince turns times into minutes after the first.
func minutesSince(ts []time.Time) []float64 {
	xs := make([]float64, len(ts))
	for i, t := range ts {
		xs[i] = t.Sub(ts[0]).Minutes()
	}
	return xs
}

// MemoryLeaks finds allocation sites whose in-use bytes grow steadily across the snapshots: a
// least-squares slope of at least MinGrowthPerMin with a fit of at least MinFit, not just last minus first
// (a sawtooth that happens to end high is not a leak). Findings are ranked by growth rate.
func MemoryLeaks(snaps []SiteSnapshot, sites map[string]Site, o MemoryLeakOptions) []Finding {
	o.defaults()
	if len(snaps) < o.MinSamples {
		return []Finding{}
	}
	ts := make([]time.Time, len(snaps))
	for i, s := range snaps {
		ts[i] = s.Time
	}
	xs := minutesSince(ts)
	window := ts[len(ts)-1].Sub(ts[0])
	keys := map[string]bool{}
	for _, s := range snaps {
		for k := range s.Values {
			keys[k] = true
		}
	}
	heapNow := snaps[len(snaps)-1].Total
	type cand struct {
		key string
		fit LinearFit
		now float64
	}
	var cands []cand
	ys := make([]float64, len(snaps))
	for k := range keys {
		for i, s := range snaps {
			ys[i] = s.Values[k]
		}
		fit := FitLine(xs, ys)
		if fit.Slope < o.MinGrowthPerMin || fit.R2 < o.MinFit {
			continue
		}
		cands = append(cands, cand{k, fit, ys[len(ys)-1]})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(b.fit.Slope, a.fit.Slope); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	var growthSum float64
	for _, c := range cands {
		growthSum += c.fit.Slope
	}
	out := []Finding{}
	for rank, c := range cands {
		if rank >= o.Max {
			break
		}
		site := sites[c.key]
		fn := site.Function
		if fn == "" {
			fn = c.key
		}
		perHour := c.fit.Slope * 60
		rel := 1.0
		if heapNow > 0 {
			rel = min(1, perHour/heapNow)
		}
		score := 0.4 + 0.3*rel + 0.25*c.fit.Slope/growthSum
		ev := map[string]any{
			"function":             fn,
			"growth_bytes_per_min": int64(math.Round(c.fit.Slope)),
			"fit":                  round3(c.fit.R2),
			"inuse_bytes":          int64(c.now),
			"heap_inuse_bytes":     int64(heapNow),
			"callers":              strings.Join(site.Callers, " <- "),
			"samples":              len(snaps),
			"window_s":             round3(window.Seconds()),
		}
		if site.File != "" {
			ev["file"] = site.File
			ev["line"] = site.Line
		}
		title := fmt.Sprintf("%s holds %s more every minute (fit %.2f over %d samples)", fn, FormatBytes(c.fit.Slope), c.fit.R2, len(snaps))
		if o.MemoryLimit > 0 {
			left := o.MemoryLimit - heapNow
			mins := math.Max(0, left/c.fit.Slope)
			ev["time_to_limit_min"] = round3(mins)
			ev["memory_limit_bytes"] = int64(o.MemoryLimit)
			title += fmt.Sprintf("; the heap reaches the %s limit in about %s", FormatBytes(o.MemoryLimit), humanMinutes(mins))
			switch {
			case mins < 60:
				score = max(score, 0.9)
			case mins < 24*60:
				score = max(score, 0.7)
			}
		}
		// Rank strictly by growth: later candidates never outscore earlier ones.
		score -= float64(rank) * 1e-4
		out = append(out, Finding{
			Kind: KindMemoryLeak, Score: clamp01(score), Operation: fn, Title: title, Evidence: ev,
			Recommendation: "Find what keeps references to what " + fn + " allocates (a growing map, slice, cache without eviction, or a goroutine that never ends); compare two heap profiles with `go tool pprof -diff_base`.",
		})
	}
	for i := range out {
		out[i].Normalize()
	}
	return out
}

// GoroutineStack is one goroutine (Count 1, from a debug=2 dump) or a group of identical stacks (from a
// goroutine profile), top of the stack first.
type GoroutineStack struct {
	Frames []ProfileFrame
	Count  int
	// State is the wait reason or status ("chan receive", "select", "running"), empty when unknown.
	State string
	// WaitMinutes is how long it has been blocked, as the runtime reports it (whole minutes).
	WaitMinutes int
	// CreatedBy is the function whose go statement started it, and where.
	CreatedBy     string
	CreatedByFile string
	CreatedByLine int64
	// Leaked is set when the runtime's goroutineleak detector marked it as leaked.
	Leaked bool
}

// GoroutineGroup is goroutines with one stack signature.
type GoroutineGroup struct {
	Key string
	// Function is the first frame outside the runtime and sync packages: where they block.
	Function string
	File     string
	Line     int64
	// BlockedIn is the top frame (often a runtime function like runtime.gopark or runtime.chanrecv1).
	BlockedIn      string
	State          string
	MaxWaitMinutes int
	CreatedBy      string
	Count          int
	Leaked         int
}

// GroupGoroutines groups goroutines by stack signature (functions and lines, top first) and creator.
func GroupGoroutines(gs []GoroutineStack) map[string]*GoroutineGroup {
	out := map[string]*GoroutineGroup{}
	var b strings.Builder
	for _, g := range gs {
		b.Reset()
		for _, f := range g.Frames {
			fmt.Fprintf(&b, "%s:%d;", f.Function, f.Line)
		}
		b.WriteString("@")
		b.WriteString(g.CreatedBy)
		key := b.String()
		gr, ok := out[key]
		if !ok {
			gr = &GoroutineGroup{Key: key, State: g.State, CreatedBy: g.CreatedBy}
			if g.CreatedBy != "" && g.CreatedByFile != "" {
				gr.CreatedBy = fmt.Sprintf("%s (%s)", g.CreatedBy, shortFile(g.CreatedByFile, g.CreatedByLine))
			}
			if len(g.Frames) > 0 {
				gr.BlockedIn = g.Frames[0].Function
				k := 0
				for k < len(g.Frames)-1 && isRuntimeFrame(g.Frames[k].Function) {
					k++
				}
				gr.Function, gr.File, gr.Line = g.Frames[k].Function, g.Frames[k].File, g.Frames[k].Line
			}
			out[key] = gr
		}
		n := max(g.Count, 1)
		gr.Count += n
		if g.Leaked {
			gr.Leaked += n
		}
		if g.State != "" && gr.State == "" {
			gr.State = g.State
		}
		gr.MaxWaitMinutes = max(gr.MaxWaitMinutes, g.WaitMinutes)
	}
	return out
}

// GoroutineSnapshot is the goroutine groups at one time.
type GoroutineSnapshot struct {
	Time   time.Time
	Groups map[string]*GoroutineGroup
}

// GoroutineLeakOptions set when a growing group counts as a leak.
type GoroutineLeakOptions struct {
	// MinFit is the least R² of the growth line; default 0.9.
	MinFit float64
	// MinGrowth is the least growth of the group across the window (by the fitted line); default 5.
	MinGrowth float64
	// MinSamples is the least number of snapshots; default 3.
	MinSamples int
	// Max caps the number of findings; default 10.
	Max int
}

// GoroutineLeaks finds goroutine groups whose count keeps growing across the snapshots (a least-squares
// line with a good fit), and groups the runtime's leak detector marked as leaked in the last snapshot.
// Findings are ranked by growth rate; confirmed leaks come first.
func GoroutineLeaks(snaps []GoroutineSnapshot, o GoroutineLeakOptions) []Finding {
	if o.MinFit <= 0 {
		o.MinFit = 0.9
	}
	if o.MinGrowth <= 0 {
		o.MinGrowth = 5
	}
	if o.MinSamples < 3 {
		o.MinSamples = 3
	}
	if o.Max <= 0 {
		o.Max = 10
	}
	if len(snaps) == 0 {
		return []Finding{}
	}
	last := snaps[len(snaps)-1]
	type cand struct {
		g      *GoroutineGroup
		fit    LinearFit
		growth float64
	}
	var cands []cand
	if len(snaps) >= o.MinSamples {
		ts := make([]time.Time, len(snaps))
		for i, s := range snaps {
			ts[i] = s.Time
		}
		xs := minutesSince(ts)
		span := xs[len(xs)-1]
		ys := make([]float64, len(snaps))
		for k, g := range last.Groups {
			for i, s := range snaps {
				ys[i] = 0
				if sg, ok := s.Groups[k]; ok {
					ys[i] = float64(sg.Count)
				}
			}
			fit := FitLine(xs, ys)
			growth := fit.Slope * span
			if fit.Slope <= 0 || fit.R2 < o.MinFit || growth < o.MinGrowth {
				if g.Leaked == 0 {
					continue
				}
			}
			cands = append(cands, cand{g, fit, growth})
		}
	} else {
		for _, g := range last.Groups {
			if g.Leaked > 0 {
				cands = append(cands, cand{g: g})
			}
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := boolCmp(b.g.Leaked > 0, a.g.Leaked > 0); c != 0 {
			return c
		}
		if c := cmp.Compare(b.fit.Slope, a.fit.Slope); c != 0 {
			return c
		}
		if c := cmp.Compare(b.g.Count, a.g.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.g.Key, b.g.Key)
	})
	out := []Finding{}
	for rank, c := range cands {
		if rank >= o.Max {
			break
		}
		g := c.g
		ev := map[string]any{
			"function":   g.Function,
			"count":      g.Count,
			"growth":     round3(c.growth),
			"created_by": g.CreatedBy,
			"blocked_in": g.BlockedIn,
			"wait_state": g.State,
			"samples":    len(snaps),
		}
		if len(snaps) >= o.MinSamples {
			ev["growth_per_min"] = round3(c.fit.Slope)
			ev["fit"] = round3(c.fit.R2)
		}
		if g.MaxWaitMinutes > 0 {
			ev["wait_minutes"] = g.MaxWaitMinutes
		}
		if g.File != "" {
			ev["file"] = g.File
			ev["line"] = g.Line
		}
		state := ""
		if g.State != "" {
			state = " in " + g.State
		}
		var title string
		score := 0.5 + 0.3*min(1, c.fit.Slope/600) + 0.15*c.fit.R2
		if g.Leaked > 0 {
			ev["leaked"] = g.Leaked
			title = fmt.Sprintf("%d goroutines leaked%s at %s (the runtime's leak detector confirms it)", g.Leaked, state, g.Function)
			score = max(score, 0.9)
		} else {
			title = fmt.Sprintf("%d goroutines blocked%s at %s, %+.0f over %d samples (fit %.2f)", g.Count, state, g.Function, c.growth, len(snaps), c.fit.R2)
		}
		if g.CreatedBy != "" {
			title += ", started by " + g.CreatedBy
		}
		score -= float64(rank) * 1e-4
		out = append(out, Finding{
			Kind: KindGoroutineLeak, Score: clamp01(score), Operation: g.Function, Title: title, Evidence: ev,
			Recommendation: "Make sure every goroutine started at " + orUnknown(g.CreatedBy) + " can finish: whoever should send to, receive from or close what it waits on must do so, or give it a context to give up on.",
		})
	}
	for i := range out {
		out[i].Normalize()
	}
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func orUnknown(s string) string {
	if s == "" {
		return "the creating site"
	}
	return s
}

// FormatBytes prints a byte count with a binary unit ("1.5 MiB").
func FormatBytes(b float64) string {
	neg := b < 0
	if neg {
		b = -b
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	s := fmt.Sprintf("%.1f %s", b, units[i])
	if i == 0 {
		s = fmt.Sprintf("%.0f B", b)
	}
	if neg {
		return "-" + s
	}
	return s
}

// humanMinutes prints a time to come in the unit a person plans with.
func humanMinutes(m float64) string {
	switch {
	case m < 1:
		return "a minute"
	case m < 90:
		return fmt.Sprintf("%.0f min", m)
	case m < 48*60:
		return fmt.Sprintf("%.1f h", m/60)
	}
	return fmt.Sprintf("%.0f days", m/(24*60))
}
