// Package profgen generates large, realistic-looking pprof profiles for benchmarks: many functions in
// many files, deep stacks with inlined frames, a skewed distribution of sample values.
package profgen

import (
	"fmt"
	"math/rand/v2"

	"github.com/google/pprof/profile"
)

// Config sizes the profile.
type Config struct {
	Seed      uint64
	Functions int // distinct functions
	Samples   int // distinct stacks
	MaxDepth  int
	// Kind is "cpu" or "heap": the sample types follow the runtime's.
	Kind string
}

// Generate builds a profile. The same Config gives the same profile.
func Generate(c Config) *profile.Profile {
	if c.Functions <= 0 {
		c.Functions = 5000
	}
	if c.Samples <= 0 {
		c.Samples = 200000
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = 32
	}
	r := rand.New(rand.NewPCG(c.Seed, 7))
	p := &profile.Profile{TimeNanos: 1_700_000_000_000_000_000}
	switch c.Kind {
	case "heap":
		p.SampleType = []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}}
		p.DefaultSampleType = "inuse_space"
		p.PeriodType = &profile.ValueType{Type: "space", Unit: "bytes"}
		p.Period = 512 * 1024
	default:
		p.SampleType = []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}
		p.PeriodType = &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}
		p.Period = 10_000_000
		p.DurationNanos = 30e9
	}
	m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x4000000, File: "/usr/local/bin/service", HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
	p.Mapping = []*profile.Mapping{m}
	pkgs := []string{"main", "github.com/acme/shop/internal/cart", "github.com/acme/shop/internal/payment", "net/http", "encoding/json", "database/sql", "github.com/jackc/pgx/v5/pgconn", "runtime", "google.golang.org/grpc", "github.com/acme/shop/internal/inventory"}
	for i := 0; i < c.Functions; i++ {
		pkg := pkgs[i%len(pkgs)]
		p.Function = append(p.Function, &profile.Function{
			ID: uint64(i + 1), Name: fmt.Sprintf("%s.(*handler%d).serveStep%d", pkg, i/37, i),
			SystemName: fmt.Sprintf("%s.(*handler%d).serveStep%d", pkg, i/37, i),
			Filename:   fmt.Sprintf("/src/%s/file%d.go", pkg, i/20), StartLine: int64(10 + i%400),
		})
	}
	// Locations: several per function (different lines), some with an inlined frame.
	nloc := c.Functions * 3
	for i := 0; i < nloc; i++ {
		f := p.Function[r.IntN(c.Functions)]
		loc := &profile.Location{ID: uint64(i + 1), Mapping: m, Address: 0x400000 + uint64(i)*16,
			Line: []profile.Line{{Function: f, Line: f.StartLine + int64(r.IntN(60))}}}
		if r.IntN(4) == 0 {
			g := p.Function[r.IntN(c.Functions)]
			loc.Line = append([]profile.Line{{Function: g, Line: g.StartLine + 3}}, loc.Line...)
		}
		p.Location = append(p.Location, loc)
	}
	// Stacks share prefixes (call trees), as real ones do: each sample extends a random earlier stack.
	stacks := make([][]*profile.Location, 0, c.Samples)
	for i := 0; i < c.Samples; i++ {
		var st []*profile.Location
		if i > 0 && r.IntN(5) != 0 {
			base := stacks[r.IntN(len(stacks))]
			cut := r.IntN(len(base) + 1)
			st = append(st, base[len(base)-cut:]...) // keep the root side
		}
		for len(st) < 2 || (len(st) < c.MaxDepth && r.IntN(6) != 0) {
			st = append([]*profile.Location{p.Location[r.IntN(nloc)]}, st...) // leaf first
		}
		stacks = append(stacks, st)
		v := int64(1 + r.ExpFloat64()*20)
		s := &profile.Sample{Location: st}
		if c.Kind == "heap" {
			sz := int64(16 << r.IntN(12))
			s.Value = []int64{v, v * sz, v / 2, v / 2 * sz}
			s.NumLabel = map[string][]int64{"bytes": {sz}}
		} else {
			s.Value = []int64{v, v * 10_000_000}
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}
