package cmd

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/pprof"
	"github.com/dbgtool/dbg/sources/safeio"
)

func init() { register(newCmdProfile) }

// ProfileOptions is everything `dbg profile` needs, resolved from flags and config.
type ProfileOptions struct {
	IO   *IOStreams
	Kind string
	// Source fetches from --target; nil when reading --file.
	Source pprof.Fetcher
	// File is a profile file (binary, gzipped or not, or a goroutine dump); "-" for stdin.
	File string
	// Files are several profiles of one service over time (e.g. from --save), for leak detection
	// without a live target; their times come from the profiles, or the files' modification times.
	Files   []string
	SaveDir string
	Sample  string
	Seconds int
	// DiffBase is a profile file or URL to subtract; DiffEndpoint carries the auth for a URL.
	DiffBase     string
	DiffEndpoint httpx.Endpoint
	Focus        *regexp.Regexp
	TopN         int
	// Samples > 1 with Interval turns on leak detection (heap: memory, goroutine: goroutines).
	Samples  int
	Interval time.Duration
	Memory   investigate.MemoryLeakOptions
	Gorout   investigate.GoroutineLeakOptions
	CPU      investigate.CPUHotspotOptions
	Format   render.Format
	Render   render.Options
	Now      func() time.Time
	// Budget is the run's memory budget; decompressing a profile draws from it.
	Budget *safeio.Budget
}

func newCmdProfile(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "profile heap|cpu|goroutine|allocs|mutex|block",
		Short: "Top functions of a Go profile, CPU hotspots, and memory and goroutine leaks over time",
		Long: `Read a Go profile from a service's net/http/pprof endpoints (--target http://host:6060) or a file
(--file, gzipped or not; a debug=2 goroutine dump too) and show the functions that cost the most, by their
own (flat) and cumulative value, with file:line. The heaviest CPU functions become cpu_hotspot findings.

Leak detection: --samples N --interval D takes N profiles D apart. For heap it reports allocation sites
whose in-use bytes grow steadily (a least-squares line with a good fit, ranked by growth rate, with the
time until --memory-limit when given); for goroutine it reports groups of goroutines with one stack whose
count keeps growing, where they block, since when, and which go statement started them. Ctrl-C ends
sampling early and still reports.`,
		Example: `  dbg profile cpu --target http://localhost:6060 --seconds 10
  dbg profile heap --target http://localhost:6060 --samples 5 --interval 10s --memory-limit 2GiB
  dbg profile goroutine --target http://localhost:6060 --samples 5 --interval 10s
  dbg profile heap --file heap.pb.gz --sample alloc_space --focus 'myapp/'
  dbg profile heap --target http://localhost:6060 --diff-base heap-before.pb.gz`,
		Args:      argsUsage(cobra.ExactArgs(1)),
		ValidArgs: pprof.Kinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			files, _ := cmd.Flags().GetStringArray("file")
			opts, timeout, err := profileOptions(s, f, args[0], files)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return profileRun(ctx, opts)
		},
	}
	fl := c.Flags()
	fl.StringArray("file", nil, `read a profile file instead of --target ("-" for stdin); several files of heap or goroutine profiles over time: leak detection`)
	fl.String("save", "", "keep every fetched profile in this directory, for go tool pprof")
	fl.String("sample", "", "sample type to rank by: inuse_space, inuse_objects, alloc_space, alloc_objects, cpu, samples, delay, contentions (default: the profile's own)")
	fl.Int("seconds", 0, "capture length for cpu (default 10) and, when set, a delta profile for the others")
	fl.String("diff-base", "", "a profile file or URL to subtract: show what grew and shrank")
	fl.String("focus", "", "keep only stacks through a function matching this regular expression")
	fl.Int("top", 20, "rows in the top table (0: all)")
	fl.Int("samples", 1, "profiles to take for leak detection (heap, goroutine); 5 or more is good")
	fl.String("interval", "10s", "time between leak-detection samples")
	fl.String("memory-limit", "", "the service's memory limit (e.g. 2GiB), to project when a leak reaches it")
	fl.String("path-prefix", pprof.DefaultPathPrefix, "where the target serves net/http/pprof")
	return c
}

// profileOptions resolves flags and config into options and the overall deadline.
func profileOptions(s *Settings, f *Factory, kind string, files []string) (*ProfileOptions, time.Duration, error) {
	if !slices.Contains(pprof.Kinds, kind) {
		return nil, 0, usageErrorf("dbg profile %q: want one of %s", kind, strings.Join(pprof.Kinds, ", "))
	}
	o := &ProfileOptions{IO: f.IO, Kind: kind, SaveDir: s.String("save"), Budget: s.Budget(),
		Sample: s.String("sample"), Seconds: s.Int("seconds"), DiffBase: s.String("diff-base"),
		TopN: s.Int("top"), Samples: s.Int("samples"), Now: f.Now}
	var err error
	if o.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
		return nil, 0, err
	}
	o.Render = s.RenderOptions(f)
	if o.Seconds < 0 || o.TopN < 0 || o.Samples < 0 {
		return nil, 0, usageErrorf("dbg profile: --seconds, --top and --samples cannot be negative")
	}
	if kind == "cpu" && o.Seconds == 0 {
		o.Seconds = 10
	}
	if o.Interval, err = s.Duration("interval"); err != nil {
		return nil, 0, err
	}
	switch {
	case len(files) == 1:
		o.File = files[0]
	case len(files) > 1:
		if kind != "heap" && kind != "goroutine" {
			return nil, 0, usageErrorf("dbg profile %s: several --file are for leak detection in heap or goroutine profiles", kind)
		}
		if slices.Contains(files, "-") {
			return nil, 0, usageErrorf("dbg profile %s: stdin (-) is for a single --file", kind)
		}
		o.Files, o.Samples = files, len(files)
	}
	if o.Samples > 1 && o.Files == nil {
		if kind != "heap" && kind != "goroutine" {
			return nil, 0, usageErrorf("dbg profile %s: --samples detects leaks in heap or goroutine profiles only", kind)
		}
		if o.File != "" {
			return nil, 0, usageErrorf("dbg profile %s: --samples takes profiles from --target over time, not from --file", kind)
		}
		if o.Interval <= 0 {
			return nil, 0, usageErrorf("dbg profile: --interval must be positive")
		}
	}
	if pat := s.String("focus"); pat != "" {
		if o.Focus, err = regexp.Compile(pat); err != nil {
			return nil, 0, usageErrorf("--focus %q: %v", pat, err)
		}
	}
	if lim := s.String("memory-limit"); lim != "" {
		b, err := parseByteSize(lim)
		if err != nil {
			return nil, 0, usageErrorf("--memory-limit %q: %v", lim, err)
		}
		o.Memory.MemoryLimit = float64(b)
	}
	if s.IsSet("leak-min-fit") {
		o.Memory.MinFit = s.v.GetFloat64("leak-min-fit")
		o.Gorout.MinFit = o.Memory.MinFit
	}
	if g := s.String("memory-leak-min-growth"); g != "" {
		b, err := parseByteSize(g)
		if err != nil {
			return nil, 0, usageErrorf("memory-leak-min-growth %q: %v", g, err)
		}
		o.Memory.MinGrowthPerMin = float64(b)
	}
	if s.IsSet("goroutine-leak-min-growth") {
		o.Gorout.MinGrowth = s.v.GetFloat64("goroutine-leak-min-growth")
	}
	if s.IsSet("cpu-hotspot-min-share") {
		o.CPU.MinShare = s.v.GetFloat64("cpu-hotspot-min-share")
	}
	ep := s.Endpoint("target")
	o.DiffEndpoint = ep
	timeout := s.Timeout()
	switch {
	case o.File != "" || o.Files != nil:
		// --file wins over a target from the config or environment: reading a file needs no network.
	case ep.URL == "":
		return nil, 0, usageErrorf("dbg profile %s: no profile source; set --target http://host:6060 (or DBG_TARGET) or use --file", kind)
	default:
		src, err := pprof.New(ep, s.String("path-prefix"))
		if err != nil {
			return nil, 0, err
		}
		o.Source = src
		req := pprof.CaptureTimeout(time.Duration(o.Seconds)*time.Second, ep.Timeout)
		timeout = max(timeout, req+5*time.Second)
		if o.Samples > 1 {
			timeout += time.Duration(o.Samples-1)*o.Interval + time.Duration(o.Samples)*ep.Timeout
		}
	}
	return o, timeout, nil
}

// profileRun takes or reads the profile(s), analyses them and writes the report.
func profileRun(ctx context.Context, o *ProfileOptions) error {
	rep := &investigate.ProfileReport{Kind: o.Kind}
	var err error
	switch {
	case o.Source != nil:
		rep.Target = o.Source.BaseURL()
	case o.Files != nil:
		rep.Target = fmt.Sprintf("%s (and %d more files)", o.Files[0], len(o.Files)-1)
	default:
		rep.Target = o.File
	}
	if o.Samples > 1 {
		err = profileLeaks(ctx, o, rep)
	} else {
		err = profileOnce(ctx, o, rep)
	}
	if err != nil {
		return err
	}
	rep.Normalize()
	return render.Profile(o.IO.Out, rep, o.Format, o.Render)
}

func profileOnce(ctx context.Context, o *ProfileOptions, rep *investigate.ProfileReport) error {
	var l *pprof.Loaded
	var err error
	if o.Source != nil {
		req := pprof.Request{Kind: o.Kind, Seconds: o.Seconds, GC: o.Kind == "heap" && o.Seconds == 0}
		var saved string
		l, saved, err = pprof.FetchLoaded(ctx, o.Source, req, o.SaveDir, o.Budget)
		if saved != "" {
			rep.Saved = append(rep.Saved, saved)
		}
	} else {
		l, err = pprof.LoadFile(o.File, o.IO.In, o.Now(), o.Budget)
	}
	if err != nil {
		return err
	}
	if err := pprof.CheckKind(l.Profile, o.Kind, l.From); err != nil {
		return err
	}
	idx, err := investigate.SampleIndex(l.Profile, investigate.SampleFor(l.Profile, o.Kind, o.Sample))
	if err != nil {
		return usageErrorf("--sample: %s: %v", l.From, err)
	}
	st := l.Profile.SampleType[idx]
	rep.SampleType, rep.Unit = st.Type, st.Unit
	top, total := investigate.TopFunctions(l.Profile, investigate.TopOptions{Sample: idx, Focus: o.Focus})
	rep.Total = total
	if o.DiffBase != "" {
		base, err := loadDiffBase(ctx, o)
		if err != nil {
			return err
		}
		if err := pprof.CheckKind(base.Profile, o.Kind, base.From); err != nil {
			return err
		}
		bidx, err := investigate.SampleIndex(base.Profile, st.Type)
		if err != nil {
			return fmt.Errorf("--diff-base %s: %v", base.From, err)
		}
		btop, _ := investigate.TopFunctions(base.Profile, investigate.TopOptions{Sample: bidx, Focus: o.Focus})
		top = investigate.DiffTop(top, btop, false)
		rep.DiffBase = base.From
	}
	switch {
	case o.Kind == "cpu" && o.DiffBase == "":
		rep.Findings = investigate.CPUHotspots(top, total, st.Unit, o.CPU)
	case o.Kind == "goroutine" && l.Dump != nil:
		snap := investigate.GoroutineSnapshot{Time: l.Taken, Groups: investigate.GroupGoroutines(l.Dump)}
		rep.Findings = investigate.GoroutineLeaks([]investigate.GoroutineSnapshot{snap}, o.Gorout)
	case o.Kind == "goroutine" && o.Source != nil:
		// Go 1.26's goroutineleak profile: the runtime confirms a leak from one profile.
		snap, saved, warns := pprof.FetchLeaked(ctx, o.Source, o.SaveDir)
		rep.Saved, rep.Warnings = append(rep.Saved, saved...), append(rep.Warnings, warns...)
		if snap != nil {
			rep.Findings = investigate.GoroutineLeaks([]investigate.GoroutineSnapshot{*snap}, o.Gorout)
		}
	}
	rep.Top = capProfileTop(top, o.TopN)
	if total == 0 && o.DiffBase == "" && o.Focus == nil {
		rep.Warnings = append(rep.Warnings, emptyProfileHint(o.Kind))
	}
	return nil
}

// emptyProfileHint says why a profile may hold no samples.
func emptyProfileHint(kind string) string {
	switch kind {
	case "mutex":
		return "the mutex profile is empty: the service records it only after runtime.SetMutexProfileFraction(n > 0)"
	case "block":
		return "the block profile is empty: the service records it only after runtime.SetBlockProfileRate(n > 0)"
	case "cpu":
		return "no CPU samples: the service was idle during the capture; capture longer (--seconds) or under load"
	}
	return "the profile holds no samples"
}

func capProfileTop(top []investigate.TopEntry, n int) []investigate.TopEntry {
	if n > 0 && len(top) > n {
		return top[:n]
	}
	return top
}

func loadDiffBase(ctx context.Context, o *ProfileOptions) (*pprof.Loaded, error) {
	if strings.HasPrefix(o.DiffBase, "http://") || strings.HasPrefix(o.DiffBase, "https://") {
		ep := o.DiffEndpoint
		ep.Name, ep.Flag = "--diff-base", "--diff-base"
		raw, err := pprof.FetchURL(ctx, ep, o.DiffBase)
		if err != nil {
			return nil, err
		}
		return pprof.ParseLoaded(raw.Data, "--diff-base "+raw.URL, raw.Time, o.Budget)
	}
	l, err := pprof.LoadFile(o.DiffBase, o.IO.In, o.Now(), o.Budget)
	if err != nil {
		return nil, fmt.Errorf("--diff-base: %w", err)
	}
	return l, nil
}

// profileLeaks takes o.Samples profiles o.Interval apart (pprof.Sampler) and reports what grows. Ctrl-C
// or the deadline ends sampling early; what was collected is still analysed.
func profileLeaks(ctx context.Context, o *ProfileOptions, rep *investigate.ProfileReport) error {
	sm := &pprof.Sampler{Kind: o.Kind, Source: o.Source, Files: o.Files, Samples: o.Samples, Interval: o.Interval,
		SaveDir: o.SaveDir, Progress: newProfileProgress(o.IO, o.Kind, o.Samples), Stdin: o.IO.In, Now: o.Now, Budget: o.Budget}
	got, err := sm.Run(ctx)
	if err != nil {
		return err
	}
	n := got.N()
	rep.Samples = n
	rep.WindowS = float64(got.Window.Milliseconds()) / 1000
	rep.Saved = append(rep.Saved, got.Saved...)
	rep.Warnings = append(rep.Warnings, got.Warnings...)
	if got.Stopped != "" {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("sampling %s after %d of %d samples", got.Stopped, n, o.Samples))
	}
	if n < 3 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d samples are too few to tell steady growth from noise; take 3 or more", n))
	}
	sample := o.Sample
	if sample == "" && o.Kind == "heap" {
		sample = "inuse_space"
	}
	idx, err := investigate.SampleIndex(got.Last.Profile, sample)
	if err != nil {
		return usageErrorf("--sample: %s: %v", got.Last.From, err)
	}
	st := got.Last.Profile.SampleType[idx]
	rep.SampleType, rep.Unit = st.Type, st.Unit
	top, total := investigate.TopFunctions(got.Last.Profile, investigate.TopOptions{Sample: idx, Focus: o.Focus})
	rep.Top, rep.Total = capProfileTop(top, o.TopN), total
	rep.Findings = got.Findings(o.Memory, o.Gorout)
	return nil
}

// profileProgress draws a one-line bar on stderr while sampling, only when stderr is a terminal.
type profileProgress struct {
	w     io.Writer
	on    bool
	kind  string
	total int
}

func newProfileProgress(io *IOStreams, kind string, total int) *profileProgress {
	return &profileProgress{w: io.ErrOut, on: io.ErrTTY, kind: kind, total: total}
}

func (p *profileProgress) draw(done int, what string) {
	if !p.on {
		return
	}
	const width = 20
	filled := width * done / max(p.total, 1)
	fmt.Fprintf(p.w, "\r\x1b[K%s [%s%s] %d/%d %s (Ctrl-C reports now)", p.kind, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, p.total, what)
}

func (p *profileProgress) Fetching(i int) { p.draw(i, "taking sample") }

func (p *profileProgress) Waiting(d time.Duration, i int) { p.draw(i, "next in "+d.String()) }

func (p *profileProgress) Done() {
	if p.on {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
