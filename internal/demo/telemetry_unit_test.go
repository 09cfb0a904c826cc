package demo

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestLogShipperBatches(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/insert/jsonline" || r.Header.Get("Content-Type") != "application/stream+json" {
			t.Errorf("got %s %s with %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		queries = append(queries, r.URL.RawQuery)
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}))
	defer srv.Close()
	dropped, failed := prometheus.NewCounter(prometheus.CounterOpts{Name: "d"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "f"})
	s, err := newLogShipper(srv.URL, dropped, failed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1200 {
		s.Write([]byte(`{"msg":"line","i":` + itoa(i) + "}\n"))
	}
	s.Write([]byte(`{"msg":"no newline"}`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.close(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 1201 || len(queries) < 3 {
		t.Fatalf("%d lines in %d posts, want 1201 in 3 or more (batches of %d)", len(lines), len(queries), shipBatch)
	}
	if !strings.Contains(queries[0], "_stream_fields=service") || !strings.Contains(queries[0], "_msg_field=msg") {
		t.Errorf("query %q", queries[0])
	}
	if lines[1200] != `{"msg":"no newline"}` {
		t.Errorf("last line %q", lines[1200])
	}
	if counterValue(dropped) != 0 || counterValue(failed) != 0 {
		t.Errorf("dropped %g, failed %g", counterValue(dropped), counterValue(failed))
	}
}

// A VictoriaLogs that hangs must not block the service: the queue fills, lines are dropped and
// counted, and Write stays fast.
func TestLogShipperBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	defer close(release)
	dropped, failed := prometheus.NewCounter(prometheus.CounterOpts{Name: "d"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "f"})
	s, err := newLogShipper(srv.URL, dropped, failed)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n := shipQueue + shipBatch + 5000
	for range n {
		s.Write([]byte(`{"msg":"x"}` + "\n"))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("writing %d lines took %s", n, d)
	}
	if got := counterValue(dropped); got < 5000 {
		t.Errorf("dropped %g lines, want at least 5000", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s.close(ctx) // gives up at the deadline rather than wait for the hung server
}

func TestLogShipperURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9428", "ftp://x", "http://"} {
		if _, err := newLogShipper(u, prometheus.NewCounter(prometheus.CounterOpts{Name: "d"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "f"})); err == nil {
			t.Errorf("newLogShipper(%q) accepted", u)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
