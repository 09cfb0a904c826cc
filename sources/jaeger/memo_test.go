package jaeger

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// TestMemoAsksOnlyWhatItLacks: a held answer serves a later search of the same range when it is big
// enough or complete; a larger search of a truncated range, another range, or another memo asks again.
func TestMemoAsksOnlyWhatItLacks(t *testing.T) {
	var all []*investigate.Trace
	for i := range 30 {
		tr := tracegen.Checkout(uint64(i + 1))
		tr.ID = fmt.Sprintf("%032x", i+1)
		for j := range tr.Spans {
			tr.Spans[j].TraceID = tr.ID
		}
		all = append(all, tr)
	}
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/traces" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		w.Write(classicBody(t, all[:min(n, len(all))]...))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, httpx.Endpoint{URL: srv.URL})
	ctx := context.Background()
	start := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	q := investigate.TraceQuery{Service: "checkout", Start: start, End: start.Add(time.Hour), Limit: 5}
	m := NewMemo(c)
	step := func(name string, q investigate.TraceQuery, wantTraces int, wantAsked int64) {
		t.Helper()
		ts, err := m.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != wantTraces || asked.Load() != wantAsked {
			t.Errorf("%s: %d traces after %d requests, want %d after %d", name, len(ts), asked.Load(), wantTraces, wantAsked)
		}
	}
	step("first search", q, 5, 1)
	step("same again", q, 5, 1)
	qe := q
	qe.Errors = true
	direct, _ := c.Search(ctx, qe) // what the client answers alone (one request)
	step("errors search of a truncated range: a bigger question", qe, len(direct), 3)
	step("window search after it", q, 5, 3)
	q2 := q
	q2.Limit = 25
	step("as big as held", q2, 25, 3)
	q3 := q
	q3.Limit = 100
	step("bigger than held", q3, 30, 4)
	q3.Limit = 500
	step("bigger still, but the range was complete", q3, 30, 4)
	ob := q
	ob.Start = start.Add(-time.Hour)
	step("another range", ob, 5, 5)
	m = NewMemo(c)
	step("a new run", q, 5, 6)
}
