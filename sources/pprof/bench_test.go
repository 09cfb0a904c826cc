package pprof

import (
	"bytes"
	"testing"

	"github.com/dbgtool/dbg/internal/profgen"
	"github.com/dbgtool/dbg/investigate"
)

// BenchmarkTopLargeProfile is what `dbg profile cpu --file F` does with a large profile: decode and
// aggregate the top table. scripts/bench-profile.sh compares the whole command with go tool pprof -top.
func BenchmarkTopLargeProfile(b *testing.B) {
	var buf bytes.Buffer
	if err := profgen.Generate(profgen.Config{Seed: 1, Functions: 20000, Samples: 200000}).Write(&buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		p, err := Parse(data, "bench")
		if err != nil {
			b.Fatal(err)
		}
		idx, _ := investigate.SampleIndex(p, "")
		top, _ := investigate.TopFunctions(p, investigate.TopOptions{Sample: idx})
		if len(top) == 0 {
			b.Fatal("empty top")
		}
	}
}

// BenchmarkAllocationSites is the per-sample analysis of leak detection on a real heap profile.
func BenchmarkAllocationSites(b *testing.B) {
	p, err := Parse(fixture(b, "heap-later.pb.gz"), "heap")
	if err != nil {
		b.Fatal(err)
	}
	idx, _ := investigate.SampleIndex(p, "inuse_space")
	for b.Loop() {
		investigate.AllocationSites(p, idx, 3)
	}
}
