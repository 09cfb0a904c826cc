package cmd

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/internal/incidentgen"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/bundle"
)

// BenchmarkChecklistBundle is `dbg checklist --from B --trace-limit 2000 -o json` end to end, bundle
// loading included, on a bundle of 2,000 traces, ~220 metric series and ~106,000 log lines.
// scripts/bench-checklist.sh times the binary on the same bundle.
func BenchmarkChecklistBundle(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "bundle")
	c, err := incidentgen.Generate(incidentgen.SlowDependency, incidentgen.Options{Traces: 1000, Logs: 47000, Seed: 11, ExtraEndpoints: 38})
	if err != nil {
		b.Fatal(err)
	}
	if err := bundle.Write(dir, c); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, _, _ := testFactory(nil)
		f.IO.Out = io.Discard
		src, bc, _, err := buildChecklistSources(nil, f, dir, "")
		if err != nil {
			b.Fatal(err)
		}
		inv := &checklist.Investigation{Service: bc.Manifest.Service, Window: bc.Window(), Sources: src, Options: checklist.DefaultOptions(), Now: f.Now}
		inv.Options.TraceLimit = 2000
		if err := checklistRun(context.Background(), &ChecklistOptions{IO: f.IO, Inv: inv, Format: render.FormatJSON}); err != nil {
			b.Fatal(err)
		}
	}
}
