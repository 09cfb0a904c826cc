package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dbgtool/dbg/sources/httpx"
)

func TestHTTPProber(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get("X-Correlation-Id"))
		n++
		if n == 2 {
			w.WriteHeader(503) // not retried: a probe measures what users get
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	res, err := httpProber{ep: httpx.Endpoint{Name: "probe target", URL: srv.URL}, count: 3}.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || len(seen) != 3 || res[1].Status != 503 || res[0].Status != 200 || res[2].Error != "" {
		t.Fatalf("results %+v, server saw %v", res, seen)
	}
	for i, r := range res {
		if !strings.HasPrefix(r.CorrelationID, "dbg-probe-") || seen[i] != r.CorrelationID {
			t.Errorf("request %d: sent %q, server saw %q", i, r.CorrelationID, seen[i])
		}
	}
	if code, _, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/healthy", "--probe", srv.URL); code != 2 || !strings.Contains(errOut, "--probe") {
		t.Errorf("--probe with --from: %d %q", code, errOut)
	}
}
