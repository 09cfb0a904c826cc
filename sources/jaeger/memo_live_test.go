package jaeger

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
)

// TestLiveMemoWindowSample: on a real Jaeger, the memo's window sample (the first traces of the larger,
// failing-trace search) is the set a search for the limit alone returns, over every API dbg uses.
func TestLiveMemoWindowSample(t *testing.T) {
	if testing.Short() {
		t.Skip("full tier: a real Jaeger")
	}
	j := testserver.Jaeger(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now().UTC()
	td, _ := tracegen.Workload(0x5ca1e, 60, now.Add(-10*time.Minute))
	if err := tracegen.PostOTLPBatched(ctx, j.OTLPHTTP, td, 60); err != nil {
		t.Fatal(err)
	}
	q := investigate.TraceQuery{Service: "checkout", Start: now.Add(-time.Hour), End: now.Add(time.Minute), Limit: 8}
	ids := func(ts []*investigate.Trace) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.ID)
		}
		slices.Sort(out)
		return out
	}
	for name, c := range liveAPIs(t, j) {
		t.Run(name, func(t *testing.T) {
			var alone []*investigate.Trace
			for range 50 { // ingestion is asynchronous
				var err error
				if alone, err = c.Search(ctx, q); err != nil {
					t.Fatal(err)
				}
				if all, _ := c.Search(ctx, investigate.TraceQuery{Service: q.Service, Start: q.Start, End: q.End, Limit: 100}); len(all) == 60 {
					alone, _ = c.Search(ctx, q)
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			m := NewMemo(c)
			qe := q
			qe.Errors = true
			if _, err := m.Search(ctx, qe); err != nil {
				t.Fatal(err)
			}
			held, err := m.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if a, h := ids(alone), ids(held); !slices.Equal(a, h) || len(a) != q.Limit {
				t.Errorf("window sample from the memo %v, a search for %d alone %v", h, q.Limit, a)
			}
		})
	}
}
