package cmd

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dbgtool/dbg/sources/bundle"
	"github.com/dbgtool/dbg/sources/jaeger"
)

// recordingJaeger serves a bundle's traces through Jaeger's classic /api/traces search (the shape
// sources/jaeger's tests and EncodeClassic use; /api/v3 answers 404 like a Jaeger without it) and
// records every request and every trace ID it sends.
type recordingJaeger struct {
	b        *bundle.Contents
	mu       sync.Mutex
	requests map[string]int // "path?query" -> times asked
	sent     map[string]int // trace ID -> times downloaded
	bytes    int
}

func (j *recordingJaeger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.mu.Lock()
	j.requests[r.URL.Path+"?"+r.URL.RawQuery]++
	j.mu.Unlock()
	if r.URL.Path != "/api/traces" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	micros := func(k string) time.Time {
		n, _ := strconv.ParseInt(q.Get(k), 10, 64)
		return time.UnixMicro(n)
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	ts := j.b.SearchTraces(q.Get("service"), micros("start"), micros("end"), false, limit)
	var buf bytes.Buffer
	if err := jaeger.EncodeClassic(&buf, ts); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	j.mu.Lock()
	for _, t := range ts {
		j.sent[t.ID]++
	}
	j.bytes += buf.Len()
	j.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// TestChecklistFetchesEachTraceOnce: one live checklist run asks Jaeger no question twice and downloads
// no trace twice, whether the window holds fewer traces than the limit (the window sample is every
// trace) or more (the failing-trace search over-fetches and the window sample is part of it).
func TestChecklistFetchesEachTraceOnce(t *testing.T) {
	b, err := bundle.Open(filepath.Join("..", "testdata", "incidents", "error-burst"))
	if err != nil {
		t.Fatal(err)
	}
	w := b.Window()
	inWindow := len(b.SearchTraces(b.Manifest.Service, w.Start, w.End, false, 0))
	for _, limit := range []int{inWindow + 10, max(1, inWindow/10)} {
		t.Run("limit="+strconv.Itoa(limit), func(t *testing.T) {
			rec := &recordingJaeger{b: b, requests: map[string]int{}, sent: map[string]int{}}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			rep, _, _ := runChecklistJSON(t, "--jaeger-url", srv.URL, "--service", b.Manifest.Service,
				"--since", w.Start.Format(time.RFC3339), "--until", w.End.Format(time.RFC3339),
				"--trace-limit", strconv.Itoa(limit))
			for req, n := range rec.requests {
				if n > 1 {
					t.Errorf("asked Jaeger %d times: %s", n, req)
				}
			}
			twice, sends := 0, 0
			for _, n := range rec.sent {
				sends += n
				if n > 1 {
					twice++
				}
			}
			if twice > 0 {
				t.Errorf("%d of %d traces downloaded more than once", twice, len(rec.sent))
			}
			if len(rec.sent) == 0 || rep.Steps[3].Status == "" {
				t.Fatalf("no traces served (%d requests): the test measures nothing", len(rec.requests))
			}
			t.Logf("window %d traces, limit %d: %d requests, %d traces sent (%d distinct), %d bytes", inWindow, limit, len(rec.requests), sends, len(rec.sent), rec.bytes)
		})
	}
}
