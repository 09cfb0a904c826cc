package cmd

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/otlp"
)

// TestDBSearchesWindowAndBaseline checks that dbg db asks Jaeger twice, for the window and for the
// baseline, for the service given, and ranks what comes back.
func TestDBSearchesWindowAndBaseline(t *testing.T) {
	all := tracegen.DBWorkload(1)
	var asked []investigate.TraceQuery
	find := func(_ context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
		asked = append(asked, q)
		var out []*investigate.Trace
		for _, tr := range all {
			if st := tr.Spans[0].Start; !st.Before(q.Start) && st.Before(q.End) {
				out = append(out, tr)
			}
		}
		return out, nil
	}
	io, _, out, _ := TestStreams()
	opts := &DBOptions{IO: io, Format: render.FormatJSON, Query: investigate.DefaultQueryOptions(), Limit: 100, Find: find,
		Since: "30m", Until: "2026-11-03T03:42:00Z"}
	opts.Query.Service = "orders"
	if err := dbRun(context.Background(), opts, time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || asked[0].Service != "orders" || !asked[0].Start.Equal(tracegen.DBWindow.Start) ||
		!asked[1].Start.Equal(tracegen.DBWindow.BaselineStart) || !asked[1].End.Equal(tracegen.DBWindow.BaselineEnd) || asked[0].Limit != 100 {
		t.Fatalf("queries %+v", asked)
	}
	var rep investigate.QueryReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Queries[0].Statement != tracegen.DBSlowQuery || rep.Queries[0].Change != investigate.ChangeSlower {
		t.Errorf("first %+v", rep.Queries[0])
	}
}

// TestDBRealJaeger feeds the bundled database incident to a real Jaeger and checks that dbg db finds
// the same answer over its API as from the file.
func TestDBRealJaeger(t *testing.T) {
	j := testserver.Jaeger(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := otlp.EncodeJSON(tracegen.DBWorkload(1))
	if err != nil {
		t.Fatal(err)
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := tracegen.PostOTLP(ctx, j.OTLPHTTP, td); err != nil {
		t.Fatal(err)
	}
	args := []string{"db", "--service", "orders", "--until", "2026-11-03T03:42:00Z", "--since", "30m", "-o", "json"}
	var rep investigate.QueryReport
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, stderr := runDbg(t, nil, append(args, "--jaeger-url", j.QueryHTTP)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Requests == 20 && rep.BaselineRequests == 20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond) // ingestion is asynchronous
	}
	// orders serves 12 order and 8 customer requests in each half hour.
	if rep.Requests != 20 || rep.BaselineRequests != 20 {
		t.Fatalf("requests %d, baseline %d; want 20 and 20", rep.Requests, rep.BaselineRequests)
	}
	first := map[string]any{}
	for _, f := range rep.Findings {
		if _, ok := first[f.Kind]; !ok {
			first[f.Kind] = f.Evidence["statement"]
		}
	}
	if first[investigate.KindSlowQuery] != tracegen.DBSlowQuery || first[investigate.KindNPlusOne] != tracegen.DBNPlusOne {
		t.Errorf("first by kind over Jaeger: %v", first)
	}
}
