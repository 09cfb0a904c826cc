package investigate

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// ProfileFrame is one function at one source line of a profile's stacks.
type ProfileFrame struct {
	Function string
	File     string
	Line     int64
}

// A profile is google/pprof's *profile.Profile, used as it is. stacks is the index the analyses walk:
// frames interned by function and line, inlined calls as their own frames (leaf first), so a profile of
// a million samples is walked through three flat slices. It is built for one call and never kept.
type stacks struct {
	frames []ProfileFrame
	start  []int32 // sample i's frames are data[start[i]:start[i+1]]
	data   []int32
}

// LocationFrames are the frames of one location, leaf first: its lines are listed callee first, the last
// one being the caller the others were inlined into; an unsymbolized location's address stands in for
// the function.
func LocationFrames(loc *profile.Location) []ProfileFrame {
	if len(loc.Line) == 0 {
		return []ProfileFrame{{Function: fmt.Sprintf("0x%x", loc.Address)}}
	}
	out := make([]ProfileFrame, len(loc.Line))
	for i, ln := range loc.Line {
		out[i].Line = ln.Line
		if ln.Function != nil {
			out[i].Function, out[i].File = ln.Function.Name, ln.Function.Filename
		}
	}
	return out
}

func indexStacks(p *profile.Profile) *stacks {
	st := &stacks{}
	type fkey struct {
		fn   *profile.Function
		line int64
	}
	frameIdx := map[fkey]int32{}
	// Frames of each location, flat: location k's are locData[locStart[k]:locStart[k+1]]. Locations are
	// found by ID through a dense table when IDs are dense (they are, in Go's profiles), else a map.
	locStart := make([]int32, 1, len(p.Location)+1)
	locData := make([]int32, 0, len(p.Location)*2)
	var maxID uint64
	for _, loc := range p.Location {
		maxID = max(maxID, loc.ID)
	}
	var dense []int32
	var sparse map[*profile.Location]int32
	if maxID <= uint64(4*len(p.Location)+16) {
		dense = make([]int32, maxID+1)
		for i := range dense {
			dense[i] = -1
		}
	} else {
		sparse = make(map[*profile.Location]int32, len(p.Location))
	}
	for k, loc := range p.Location {
		for _, ln := range loc.Line {
			key := fkey{ln.Function, ln.Line}
			id, ok := frameIdx[key]
			if !ok {
				id = int32(len(st.frames))
				frameIdx[key] = id
				f := ProfileFrame{Line: ln.Line}
				if ln.Function != nil {
					f.Function, f.File = ln.Function.Name, ln.Function.Filename
				}
				st.frames = append(st.frames, f)
			}
			locData = append(locData, id)
		}
		if len(loc.Line) == 0 { // unsymbolized: the address stands in for the function
			locData = append(locData, int32(len(st.frames)))
			st.frames = append(st.frames, LocationFrames(loc)[0])
		}
		locStart = append(locStart, int32(len(locData)))
		if dense != nil {
			dense[loc.ID] = int32(k)
		} else {
			sparse[loc] = int32(k)
		}
	}
	// A parsed profile's samples point at its locations, whose IDs CheckValid made unique.
	index := func(loc *profile.Location) int32 {
		if dense != nil {
			if loc.ID < uint64(len(dense)) {
				return dense[loc.ID]
			}
			return -1
		}
		if k, ok := sparse[loc]; ok {
			return k
		}
		return -1
	}
	st.start = make([]int32, 1, len(p.Sample)+1)
	st.data = make([]int32, 0, len(p.Sample)*16)
	for _, s := range p.Sample {
		for _, loc := range s.Location {
			if k := index(loc); k >= 0 {
				st.data = append(st.data, locData[locStart[k]:locStart[k+1]]...)
			}
		}
		st.start = append(st.start, int32(len(st.data)))
	}
	return st
}

func (st *stacks) stack(i int) []int32 { return st.data[st.start[i]:st.start[i+1]] }

// sampleValue is sample s's value of sample type t, 0 when the sample has fewer values.
func sampleValue(s *profile.Sample, t int) int64 {
	if t < len(s.Value) {
		return s.Value[t]
	}
	return 0
}

// SampleIndex finds a sample type by name; empty name means the profile's default (or its last type, as
// pprof does).
func SampleIndex(p *profile.Profile, name string) (int, error) {
	if len(p.SampleType) == 0 {
		return 0, fmt.Errorf("the profile has no sample types")
	}
	if name == "" {
		name = p.DefaultSampleType
		if name == "" {
			return len(p.SampleType) - 1, nil
		}
	}
	for i, st := range p.SampleType {
		if st.Type == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("sample type %q is not in the profile (it has %s)", name, strings.Join(SampleTypeNames(p), ", "))
}

// SampleTypeNames lists the sample types.
func SampleTypeNames(p *profile.Profile) []string {
	out := make([]string, len(p.SampleType))
	for i, st := range p.SampleType {
		out[i] = st.Type
	}
	return out
}

// ProfileKindOf guesses which runtime profile a profile is from its sample types: cpu, heap (also allocs:
// the two have the same types), goroutine, contention (mutex and block), threadcreate, or "" when it is
// none of Go's.
func ProfileKindOf(p *profile.Profile) string {
	has := map[string]bool{}
	for _, st := range p.SampleType {
		has[st.Type] = true
	}
	switch {
	case has["cpu"] || (p.PeriodType != nil && p.PeriodType.Type == "cpu"):
		return "cpu"
	case has["inuse_space"] || has["alloc_space"]:
		return "heap"
	case has["goroutine"] || has["goroutines"]:
		return "goroutine"
	case has["contentions"] || has["delay"]:
		return "contention"
	case has["threadcreate"]:
		return "threadcreate"
	}
	return ""
}

// TopEntry is one function's share of a profile: flat is what it spent itself, cum what it and its
// callees spent. File and line are the function's heaviest line.
type TopEntry struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int64  `json:"line"`
	Flat     int64  `json:"flat"`
	Cum      int64  `json:"cum"`
}

// TopOptions narrow and order a top list.
type TopOptions struct {
	// Sample is the index of the sample type to rank by.
	Sample int
	// Focus keeps only samples with a frame whose function matches; nil keeps all.
	Focus *regexp.Regexp
	// ByCum orders by cumulative value instead of flat.
	ByCum bool
}

// TopFunctions aggregates a profile by function, sorted by flat (or cum) value, largest first, and
// returns the profile's total as go tool pprof computes it: the sum of absolute values (a delta profile's
// negative samples count by their size, not against the positive ones) over every sample, --focus or not,
// so shares of a focused table are shares of the whole profile (pprof's default; its
// -relative_percentages is the other choice). Recursion counts a function's cum once per sample.
func TopFunctions(p *profile.Profile, o TopOptions) ([]TopEntry, int64) {
	nt := len(p.SampleType)
	if nt == 0 || o.Sample < 0 || o.Sample >= nt {
		return []TopEntry{}, 0
	}
	ix := indexStacks(p)
	frames := ix.frames
	// Intern functions; per frame, its function's index.
	funcIdx := make(map[string]int32, len(frames)/2)
	frameFunc := make([]int32, len(frames))
	var names []string
	for i, f := range frames {
		id, ok := funcIdx[f.Function]
		if !ok {
			id = int32(len(names))
			funcIdx[f.Function] = id
			names = append(names, f.Function)
		}
		frameFunc[i] = id
	}
	var focus []bool
	if o.Focus != nil {
		focus = make([]bool, len(frames))
		for i, f := range frames {
			focus[i] = o.Focus.MatchString(f.Function)
		}
	}
	frameFlat := make([]int64, len(frames))
	frameCum := make([]int64, len(frames))
	funcFlat := make([]int64, len(names))
	funcCum := make([]int64, len(names))
	seenFrame := make([]int32, len(frames))
	seenFunc := make([]int32, len(names))
	for i := range seenFrame {
		seenFrame[i] = -1
	}
	for i := range seenFunc {
		seenFunc[i] = -1
	}
	var total int64
	for s, smp := range p.Sample {
		v := sampleValue(smp, o.Sample)
		if v == 0 {
			continue
		}
		total += abs64(v)
		st := ix.stack(s)
		if focus != nil && !anyFocus(st, focus) {
			continue
		}
		if len(st) == 0 {
			continue
		}
		leaf := st[0]
		frameFlat[leaf] += v
		funcFlat[frameFunc[leaf]] += v
		s32 := int32(s)
		for _, fr := range st {
			if seenFrame[fr] != s32 {
				seenFrame[fr] = s32
				frameCum[fr] += v
			}
			if fn := frameFunc[fr]; seenFunc[fn] != s32 {
				seenFunc[fn] = s32
				funcCum[fn] += v
			}
		}
	}
	// Each function's heaviest line: most flat, then most cum.
	best := make([]int32, len(names))
	for i := range best {
		best[i] = -1
	}
	for fr := range frames {
		fn := frameFunc[fr]
		b := best[fn]
		if b < 0 || frameFlat[fr] > frameFlat[b] || (frameFlat[fr] == frameFlat[b] && frameCum[fr] > frameCum[b]) {
			best[fn] = int32(fr)
		}
	}
	out := make([]TopEntry, 0, len(names))
	for fn, name := range names {
		if funcFlat[fn] == 0 && funcCum[fn] == 0 {
			continue
		}
		f := frames[best[fn]]
		out = append(out, TopEntry{Function: name, File: f.File, Line: f.Line, Flat: funcFlat[fn], Cum: funcCum[fn]})
	}
	SortTop(out, o.ByCum)
	return out, total
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// DefaultSampleTypes is the sample type each `dbg profile` kind ranks by when --sample is not given
// (docs/profile.md's table). The kind decides, not the file: Go's heap and allocs profiles are one
// profile with one default sample type each endpoint sets, so a file saved from /allocs read as heap
// (or the other way round) would otherwise rank by the other endpoint's figure.
var DefaultSampleTypes = map[string]string{
	"cpu": "cpu", "heap": "inuse_space", "allocs": "alloc_space", "goroutine": "goroutine",
	"mutex": "delay", "block": "delay",
}

// SampleFor is the sample type to rank a kind's profile by: the one asked for, else the kind's default
// when the profile has it, else the profile's own default (empty).
func SampleFor(p *profile.Profile, kind, asked string) string {
	if asked != "" {
		return asked
	}
	if d := DefaultSampleTypes[kind]; d != "" {
		for _, st := range p.SampleType {
			if st.Type == d {
				return d
			}
		}
	}
	return ""
}

func anyFocus(st []int32, focus []bool) bool {
	for _, fr := range st {
		if focus[fr] {
			return true
		}
	}
	return false
}

// SortTop orders entries by the absolute flat (or cum) value, then the other, then name, so diffs rank
// shrinkage alongside growth and equal values come out in a stable order.
func SortTop(es []TopEntry, byCum bool) {
	abs := func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}
	slices.SortFunc(es, func(a, b TopEntry) int {
		ka, kb, sa, sb := abs(a.Flat), abs(b.Flat), abs(a.Cum), abs(b.Cum)
		if byCum {
			ka, kb, sa, sb = sa, sb, ka, kb
		}
		if c := cmp.Compare(kb, ka); c != 0 {
			return c
		}
		if c := cmp.Compare(sb, sa); c != 0 {
			return c
		}
		return cmp.Compare(a.Function, b.Function)
	})
}

// DiffTop subtracts base from cur function by function: positive values grew, negative shrank. Functions
// only in base appear with negative values. The result is sorted by the size of the change.
func DiffTop(cur, base []TopEntry, byCum bool) []TopEntry {
	idx := make(map[string]int, len(cur))
	out := make([]TopEntry, len(cur), len(cur)+len(base))
	copy(out, cur)
	for i, e := range out {
		idx[e.Function] = i
	}
	for _, b := range base {
		if i, ok := idx[b.Function]; ok {
			out[i].Flat -= b.Flat
			out[i].Cum -= b.Cum
			continue
		}
		out = append(out, TopEntry{Function: b.Function, File: b.File, Line: b.Line, Flat: -b.Flat, Cum: -b.Cum})
	}
	kept := out[:0]
	for _, e := range out {
		if e.Flat != 0 || e.Cum != 0 {
			kept = append(kept, e)
		}
	}
	SortTop(kept, byCum)
	return kept
}

// CPUHotspotOptions set when a function's CPU share becomes a finding.
type CPUHotspotOptions struct {
	// MinShare is the least flat share of the total (0..1); default 0.05.
	MinShare float64
	// Max caps the number of findings; default 5.
	Max int
}

// CPUHotspots turns the heaviest functions of a CPU profile's top list into cpu_hotspot findings. total
// is the profile's total; unit the sample unit ("nanoseconds").
func CPUHotspots(top []TopEntry, total int64, unit string, o CPUHotspotOptions) []Finding {
	if o.MinShare <= 0 {
		o.MinShare = 0.05
	}
	if o.Max <= 0 {
		o.Max = 5
	}
	var out []Finding
	if total <= 0 {
		return []Finding{}
	}
	byFlat := slices.Clone(top)
	SortTop(byFlat, false)
	for _, e := range byFlat {
		if len(out) >= o.Max {
			break
		}
		share := float64(e.Flat) / float64(total)
		if share < o.MinShare {
			break
		}
		value, vunit := float64(e.Flat), unit
		shown := fmt.Sprintf("%d %s", e.Flat, unit)
		if scale, ok := secondsPer[unit]; ok {
			value, vunit = round3(float64(e.Flat)*scale), "seconds"
			shown = fmt.Sprintf("%.2fs", value)
		}
		out = append(out, Finding{
			Kind:      KindCPUHotspot,
			Score:     clamp01(0.1 + 1.2*share),
			Operation: e.Function,
			Title:     fmt.Sprintf("%s burns %.0f%% of CPU (%s on its own)", e.Function, share*100, shown),
			Evidence: map[string]any{
				"function": e.Function, "value": value, "unit": vunit, "share": round3(share),
				"cum_share": round3(float64(e.Cum) / float64(total)), "file": e.File, "line": e.Line,
			},
			Recommendation: "Look at " + shortFile(e.File, e.Line) + ": is this work needed on every call, or can it be cached, batched or made cheaper?",
		})
	}
	return RankFindings(out)
}

// secondsPer is how many seconds one unit of a time-valued sample type is.
var secondsPer = map[string]float64{"nanoseconds": 1e-9, "microseconds": 1e-6, "milliseconds": 1e-3, "seconds": 1}

func shortFile(file string, line int64) string {
	if file == "" {
		return "the function"
	}
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
			file = file[j+1:]
		}
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// ProfileReport is the `dbg profile` result; its JSON form is the public contract
// {kind, target, sample_type, top: [{function, file, line, flat, cum}], findings} plus context.
type ProfileReport struct {
	Kind       string `json:"kind"`
	Target     string `json:"target"`
	SampleType string `json:"sample_type"`
	// Unit is the sample type's unit: bytes, nanoseconds, count.
	Unit string `json:"unit"`
	// Total is the sum of the sample type over the kept samples (after --focus).
	Total int64 `json:"total"`
	// DiffBase names the base profile when flat and cum are differences (positive: grew).
	DiffBase string `json:"diff_base,omitempty"`
	// Samples is the number of profiles taken for leak detection (0 for a single profile).
	Samples int `json:"samples,omitempty"`
	// Window is how long sampling took, in seconds.
	WindowS  float64    `json:"window_s,omitempty"`
	Top      []TopEntry `json:"top"`
	Findings []Finding  `json:"findings"`
	Warnings []string   `json:"warnings"`
	// Saved lists the files --save wrote.
	Saved []string `json:"saved,omitempty"`
}

// Normalize makes nil lists empty, so JSON shows [] rather than null.
func (r *ProfileReport) Normalize() {
	if r.Top == nil {
		r.Top = []TopEntry{}
	}
	r.Findings = RankFindings(r.Findings)
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
}
