package pprof

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// seriesTarget serves the goroutine-series fixtures one after another (a service whose goroutines
// keep growing), fails the debug=2 dump (a proxy), answers 404 to the goroutineleak profile, and cancels after
// stopAfter profiles when set.
type seriesTarget struct {
	t         *testing.T
	n         int
	stopAfter int
	cancel    context.CancelFunc
	kinds     []string
}

func (s *seriesTarget) BaseURL() string { return "http://target.test" }

func (s *seriesTarget) Fetch(_ context.Context, r Request) (*Raw, error) {
	s.kinds = append(s.kinds, fmt.Sprintf("%s/%d", r.Kind, r.Debug))
	if r.Kind == "goroutineleak" {
		return nil, ErrNotFound
	}
	if r.Debug > 0 {
		return nil, errors.New("HTTP 502 from a proxy")
	}
	s.n++
	if s.stopAfter > 0 && s.n == s.stopAfter {
		s.cancel()
	}
	data := fixture(s.t, fmt.Sprintf("goroutine-series-%d.pb.gz", min(s.n, 4)))
	return &Raw{Kind: r.Kind, URL: "http://target.test/debug/pprof/goroutine", Data: data, Time: time.Unix(int64(1000+s.n), 0)}, nil
}

func TestSamplerFindsGrowingGoroutines(t *testing.T) {
	tgt := &seriesTarget{t: t}
	sm := &Sampler{Kind: "goroutine", Source: tgt, Samples: 4, Interval: time.Millisecond}
	got, err := sm.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.N() != 4 || got.Stopped != "" {
		t.Fatalf("%d samples, stopped %q", got.N(), got.Stopped)
	}
	// The first sample asks for the dump, falls back to the binary profile once, and never asks again.
	if tgt.kinds[0] != "goroutine/2" || tgt.kinds[1] != "goroutine/0" || tgt.kinds[2] != "goroutine/0" || len(got.Warnings) != 1 {
		t.Errorf("requests %v, warnings %v", tgt.kinds, got.Warnings)
	}
	fs := got.Findings(investigate.MemoryLeakOptions{}, investigate.GoroutineLeakOptions{})
	if len(fs) == 0 || fs[0].Kind != investigate.KindGoroutineLeak {
		t.Fatalf("findings %+v", fs)
	}
}

func TestSamplerInterruptedKeepsWhatItHas(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tgt := &seriesTarget{t: t, stopAfter: 2, cancel: cancel}
	sm := &Sampler{Kind: "goroutine", Source: tgt, Samples: 5, Interval: 20 * time.Millisecond}
	got, err := sm.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.N() != 2 || got.Stopped != "interrupted" || got.Last == nil {
		t.Errorf("%d samples, stopped %q", got.N(), got.Stopped)
	}
}

func TestSamplerFilesInAnyOrder(t *testing.T) {
	var files []string
	for _, i := range []int{3, 1, 4, 2} {
		files = append(files, filepath.Join("..", "..", "testdata", "profiles", fmt.Sprintf("heap-series-%d.pb.gz", i)))
	}
	got, err := (&Sampler{Kind: "heap", Files: files}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(got.Heap); i++ {
		if got.Heap[i].Time.Before(got.Heap[i-1].Time) {
			t.Fatalf("samples out of time order at %d", i)
		}
	}
	if fs := got.Findings(investigate.MemoryLeakOptions{}, investigate.GoroutineLeakOptions{}); len(fs) == 0 || fs[0].Kind != investigate.KindMemoryLeak {
		t.Errorf("findings %+v", fs)
	}
	if got.Window <= 0 || got.Window > time.Minute {
		t.Errorf("window %s: want the profiles' own span", got.Window)
	}
}
