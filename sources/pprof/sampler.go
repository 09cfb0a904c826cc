package pprof

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/pprof/profile"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/safeio"
)

// Fetcher is what sampling needs from a live target; *Source is one.
type Fetcher interface {
	Fetch(ctx context.Context, r Request) (*Raw, error)
	BaseURL() string
}

// Loaded is one parsed profile, from wherever it came.
type Loaded struct {
	Profile *profile.Profile
	Dump    []investigate.GoroutineStack // set for a debug=2 goroutine dump
	From    string                       // for error messages: "the heap profile at URL", "profile file F"
	Taken   time.Time
}

// ParseLoaded parses a profile or a goroutine dump; at is its time when the profile carries none.
// Decompression draws from the run's budget b (nil: the default limit).
func ParseLoaded(data []byte, from string, at time.Time, b *safeio.Budget) (*Loaded, error) {
	if IsGoroutineDump(data) {
		gs, err := ParseGoroutineDump(data, from)
		if err != nil {
			return nil, err
		}
		return &Loaded{Profile: ProfileFromGoroutines(gs), Dump: gs, From: from, Taken: at}, nil
	}
	p, err := ParseBudget(data, from, b)
	if err != nil {
		return nil, err
	}
	if p.TimeNanos != 0 {
		at = time.Unix(0, p.TimeNanos).UTC()
	}
	return &Loaded{Profile: p, From: from, Taken: at}, nil
}

// LoadFile reads a profile file ("-": stdin), drawing from the run's budget b. A dump carries no time
// of its own: it is the file's modification time, or now for stdin.
func LoadFile(path string, stdin io.Reader, now time.Time, b *safeio.Budget) (*Loaded, error) {
	if path == "-" {
		data, err := safeio.ReadAll(b.Reader(stdin), safeio.DefaultMaxReadBytes, "the profile on stdin", safeio.RaiseBudget)
		if err != nil {
			return nil, fmt.Errorf("profile from stdin: %w", err)
		}
		return ParseLoaded(data, "profile file stdin", now, b)
	}
	data, err := ReadFileBudget(path, b)
	if err != nil {
		return nil, err
	}
	at := now
	if st, err := os.Stat(path); err == nil {
		at = st.ModTime()
	}
	return ParseLoaded(data, "profile file "+path, at, b)
}

// FetchLoaded fetches one profile, saves it into saveDir when set, and parses it (drawing from b).
// saved is the path it was kept at.
func FetchLoaded(ctx context.Context, f Fetcher, req Request, saveDir string, b *safeio.Budget) (l *Loaded, saved string, err error) {
	raw, err := f.Fetch(ctx, req)
	if err != nil {
		return nil, "", err
	}
	if saveDir != "" {
		if saved, err = Save(saveDir, raw); err != nil {
			return nil, "", err
		}
	}
	l, err = ParseLoaded(raw.Data, "the "+req.Kind+" profile at "+raw.URL, raw.Time, b)
	return l, saved, err
}

// Progress hears about sampling, to draw a bar; every method may be a no-op.
type Progress interface {
	Fetching(i int)
	Waiting(d time.Duration, i int)
	Done()
}

// Sampler takes heap or goroutine profiles over time — Samples of them Interval apart from Source, or
// one from each of Files — and reduces each to what leak detection compares. `dbg profile --samples`
// and the checklist's resource step both use it.
type Sampler struct {
	Kind     string // "heap" or "goroutine"
	Source   Fetcher
	Files    []string // instead of Source: profiles of one service over time, in any order
	Samples  int
	Interval time.Duration
	SaveDir  string    // keep every fetched profile here ("" : not kept)
	Progress Progress  // nil: none
	Stdin    io.Reader // for a file "-"
	Now      func() time.Time
	Budget   *safeio.Budget // the run's memory budget; nil: the default limits
}

// Samples are what a Sampler collected, in time order.
type Samples struct {
	Kind       string
	Heap       []investigate.SiteSnapshot
	Sites      map[string]investigate.Site
	Goroutines []investigate.GoroutineSnapshot
	Last       *Loaded  // the latest profile, for the top table
	Saved      []string // paths of the profiles kept in SaveDir
	Warnings   []string
	Stopped    string        // "" when every sample was taken; "interrupted" or "stopped by the --timeout"
	Window     time.Duration // first to last sample (files: by their times; live: wall time sampled)
}

// N is the number of samples taken.
func (s *Samples) N() int { return max(len(s.Heap), len(s.Goroutines)) }

// Findings runs the leak analysis over the samples.
func (s *Samples) Findings(mem investigate.MemoryLeakOptions, g investigate.GoroutineLeakOptions) []investigate.Finding {
	if s.Kind == "heap" {
		return investigate.MemoryLeaks(s.Heap, s.Sites, mem)
	}
	return investigate.GoroutineLeaks(s.Goroutines, g)
}

// Run samples. Ctrl-C or the deadline ends live sampling early: what was collected is returned, with
// Stopped saying why, unless not even the first sample came.
func (sm *Sampler) Run(ctx context.Context) (*Samples, error) {
	now := sm.Now
	if now == nil {
		now = time.Now
	}
	prog := sm.Progress
	if prog == nil {
		prog = noProgress{}
	}
	out := &Samples{Kind: sm.Kind, Sites: map[string]investigate.Site{}}
	start := time.Now()
	useDump := true
	n := sm.Samples
	if sm.Files != nil {
		n = len(sm.Files)
	}
	for i := 0; i < n; i++ {
		if sm.Files != nil {
			l, err := LoadFile(sm.Files[i], sm.Stdin, now(), sm.Budget)
			if err != nil {
				return nil, err
			}
			if err := CheckKind(l.Profile, sm.Kind, l.From); err != nil {
				return nil, err
			}
			if out.Last == nil || !l.Taken.Before(out.Last.Taken) {
				out.Last = l
			}
			if err := out.add(l); err != nil {
				return nil, err
			}
			continue
		}
		if i > 0 {
			prog.Waiting(sm.Interval, i)
			if err := httpx.SleepCtx(ctx, sm.Interval); err != nil {
				out.Stopped = stoppedBy(ctx)
				break
			}
		}
		prog.Fetching(i)
		l, err := sm.fetch(ctx, i, &useDump, out)
		if err != nil {
			if ctx.Err() != nil && out.Last != nil {
				out.Stopped = stoppedBy(ctx)
				break
			}
			prog.Done()
			return nil, err
		}
		if err := CheckKind(l.Profile, sm.Kind, l.From); err != nil {
			prog.Done()
			return nil, err
		}
		out.Last = l
		if err := out.add(l); err != nil {
			prog.Done()
			return nil, err
		}
	}
	prog.Done()
	if out.Last == nil {
		return nil, fmt.Errorf("dbg profile %s: interrupted before the first sample", sm.Kind)
	}
	// Files may come in any order: the analysis wants time order.
	slices.SortStableFunc(out.Heap, func(a, b investigate.SiteSnapshot) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(out.Goroutines, func(a, b investigate.GoroutineSnapshot) int { return a.Time.Compare(b.Time) })
	out.Window = time.Since(start)
	if sm.Files != nil {
		switch {
		case len(out.Heap) > 0:
			out.Window = out.Heap[len(out.Heap)-1].Time.Sub(out.Heap[0].Time)
		case len(out.Goroutines) > 0:
			out.Window = out.Goroutines[len(out.Goroutines)-1].Time.Sub(out.Goroutines[0].Time)
		}
	}
	if out.Stopped == "" && useDump && sm.Source != nil && sm.Kind == "goroutine" {
		saved, warn := ConfirmLeaked(ctx, sm.Source, sm.SaveDir, &out.Goroutines[len(out.Goroutines)-1])
		out.Saved = append(out.Saved, saved...)
		out.Warnings = append(out.Warnings, warn...)
	}
	return out, nil
}

// fetch takes sample i: a heap profile after a GC, or the debug=2 goroutine dump (wait states and
// creators), falling back once to the binary goroutine profile when a proxy or old target has no dump.
func (sm *Sampler) fetch(ctx context.Context, i int, useDump *bool, out *Samples) (*Loaded, error) {
	get := func(req Request) (*Loaded, error) {
		l, saved, err := FetchLoaded(ctx, sm.Source, req, sm.SaveDir, sm.Budget)
		if saved != "" {
			out.Saved = append(out.Saved, saved)
		}
		return l, err
	}
	switch {
	case sm.Kind == "heap":
		return get(Request{Kind: "heap", GC: true})
	case *useDump:
		l, err := get(Request{Kind: "goroutine", Debug: 2})
		if err != nil && ctx.Err() == nil && i == 0 && !errors.Is(err, ErrNotFound) {
			*useDump = false
			out.Warnings = append(out.Warnings, "no debug=2 goroutine dump ("+err.Error()+"); wait states and creators are unknown")
			return get(Request{Kind: "goroutine"})
		}
		return l, err
	default:
		return get(Request{Kind: "goroutine"})
	}
}

// add reduces one profile to what leak detection compares: in-use bytes per allocation site, or
// goroutine groups.
func (s *Samples) add(l *Loaded) error {
	if s.Kind == "heap" {
		idx, err := investigate.SampleIndex(l.Profile, "inuse_space")
		if err != nil {
			return fmt.Errorf("%s: %v", l.From, err)
		}
		vals, ss, total := investigate.AllocationSites(l.Profile, idx, 3)
		for k, site := range ss {
			s.Sites[k] = site
		}
		s.Heap = append(s.Heap, investigate.SiteSnapshot{Time: l.Taken, Values: vals, Total: total})
		return nil
	}
	gs := l.Dump
	if gs == nil {
		gs = GoroutinesFromProfile(l.Profile)
	}
	s.Goroutines = append(s.Goroutines, investigate.GoroutineSnapshot{Time: l.Taken, Groups: investigate.GroupGoroutines(gs)})
	return nil
}

// ConfirmLeaked asks the target for Go 1.26's goroutineleak profile (debug=2, so goroutines carry the
// runtime's "(leaked)" mark) and marks the groups of last that it confirms, adding confirmed groups
// last lacks. A target that does not serve the profile is no error: nothing is marked.
func ConfirmLeaked(ctx context.Context, f Fetcher, saveDir string, last *investigate.GoroutineSnapshot) (saved, warnings []string) {
	snap, saved, warnings := FetchLeaked(ctx, f, saveDir)
	if snap == nil {
		return saved, warnings
	}
	for k, g := range snap.Groups {
		if lg, ok := last.Groups[k]; ok {
			lg.Leaked = g.Leaked
		} else if g.Leaked > 0 {
			last.Groups[k] = g
		}
	}
	return saved, warnings
}

// FetchLeaked fetches the goroutineleak profile as one snapshot; nil when the target does not serve
// it (not an error: older Go) or it could not be read (said in warnings).
func FetchLeaked(ctx context.Context, f Fetcher, saveDir string) (snap *investigate.GoroutineSnapshot, saved, warnings []string) {
	raw, err := f.Fetch(ctx, Request{Kind: "goroutineleak", Debug: 2})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil, nil
		}
		return nil, nil, []string{"goroutineleak profile: " + err.Error()}
	}
	if saveDir != "" {
		if path, err := Save(saveDir, raw); err == nil {
			saved = append(saved, path)
		}
	}
	gs, err := ParseGoroutineDump(raw.Data, "the goroutineleak profile at "+raw.URL)
	if err != nil {
		return nil, saved, []string{err.Error()}
	}
	return &investigate.GoroutineSnapshot{Time: raw.Time, Groups: investigate.GroupGoroutines(gs)}, saved, nil
}

// LeakFindings samples a target's heap and goroutine profiles at once, samples of each interval apart,
// and returns the leak findings (service filled in where the profile names none) and one line per
// kind saying what was sampled: the checklist's resource step.
func LeakFindings(ctx context.Context, f *Source, service string, samples int, interval time.Duration, now func() time.Time) ([]investigate.Finding, []string, error) {
	kinds := []string{"heap", "goroutine"}
	res := make([]*Samples, len(kinds))
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Go(func() {
			sm := &Sampler{Kind: kind, Source: f, Samples: samples, Interval: interval, Now: now, Budget: f.Budget()}
			res[i], errs[i] = sm.Run(ctx)
		})
	}
	wg.Wait()
	var out []investigate.Finding
	var queries []string
	for i, r := range res {
		if errs[i] != nil {
			return out, queries, errs[i]
		}
		queries = append(queries, fmt.Sprintf("pprof %s %s: %d samples %s apart", kinds[i], f.BaseURL(), samples, interval))
		for _, fd := range r.Findings(investigate.MemoryLeakOptions{}, investigate.GoroutineLeakOptions{}) {
			if fd.Service == "" {
				fd.Service = service
			}
			out = append(out, fd)
		}
	}
	return out, queries, nil
}

// stoppedBy says why sampling ended early.
func stoppedBy(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "stopped by the --timeout"
	}
	return "interrupted"
}

type noProgress struct{}

func (noProgress) Fetching(int)               {}
func (noProgress) Waiting(time.Duration, int) {}
func (noProgress) Done()                      {}
