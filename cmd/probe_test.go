package cmd

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbgtool/dbg/probe"
)

func TestProbeCommand(t *testing.T) {
	var hits, delayMs atomic.Int64
	delayMs.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Correlation-ID") == "" || r.Header.Get("traceparent") == "" || r.Header.Get("X-Env") != "staging" {
			w.WriteHeader(400)
			return
		}
		time.Sleep(time.Duration(delayMs.Load()) * time.Millisecond)
	}))
	defer srv.Close()

	code, out, errOut := runDbg(t, nil, "probe", srv.URL, "--rate", "100/s", "--requests", "30", "--header", "X-Env: staging", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet it got %q (the progress line belongs on a TTY only)", errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	for _, k := range []string{"requests", "rate", "success_ratio", "status_codes", "errors", "latency", "histogram", "trace_ids"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if doc["requests"].(float64) != 30 || hits.Load() != 30 || doc["success_ratio"].(float64) != 1 {
		t.Errorf("requests %v, server saw %d, success %v", doc["requests"], hits.Load(), doc["success_ratio"])
	}
	lat := doc["latency"].(map[string]any)
	if lat["p50_ms"].(float64) < 200 {
		t.Errorf("p50 %v below the server's 200 ms", lat["p50_ms"])
	}
	before := filepath.Join(t.TempDir(), "before.json")
	if err := os.WriteFile(before, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}

	// Step 9 of the checklist takes the probe as evidence.
	code, out, errOut = runDbg(t, nil, "checklist", "--from", "../testdata/incidents/healthy", "--verify-probe", before, "-o", "json")
	if code != 0 || !strings.Contains(out, `"probe after the fix: p99`) {
		t.Errorf("checklist --verify-probe: exit %d %s", code, errOut)
	}
	if code, _, errOut = runDbg(t, nil, "checklist", "--from", "../testdata/incidents/healthy", "--verify-probe", "../go.mod"); code != 1 || !strings.Contains(errOut, "not a dbg probe JSON result") {
		t.Errorf("--verify-probe of a non-probe file: exit %d %q", code, errOut)
	}

	delayMs.Store(10)
	// A failed --expect exits 3 and says which condition failed; a passing one exits 0.
	code, out, errOut = runDbg(t, nil, "probe", srv.URL, "--requests", "10", "--rate", "50/s", "--header", "X-Env: staging", "--expect", "p99<5ms,errors<1%")
	if code != ExitFailOn || !strings.Contains(errOut, "p99<5ms") || !strings.Contains(out, "verdict: FAIL") {
		t.Errorf("failed gate: exit %d, stderr %q\n%s", code, errOut, out)
	}
	if code, _, errOut = runDbg(t, nil, "probe", srv.URL, "--requests", "10", "--rate", "50/s", "--header", "X-Env: staging", "--expect", "p99<2s,errors<1%"); code != 0 {
		t.Errorf("passing gate: exit %d %s", code, errOut)
	}
	// --compare against the earlier, slower run passes (faster is never a regression); against a much
	// faster one it fails.
	if code, _, errOut = runDbg(t, nil, "probe", srv.URL, "--requests", "20", "--rate", "100/s", "--header", "X-Env: staging", "--compare", before); code != 0 {
		t.Errorf("compare with itself: exit %d %s", code, errOut)
	}
	fast := &probe.Result{URL: srv.URL, Requests: 10, SuccessRatio: 1, Latency: probe.Latency{P50Ms: 1, P99Ms: 2}}
	data, _ := json.Marshal(fast)
	fastFile := filepath.Join(t.TempDir(), "fast.json")
	os.WriteFile(fastFile, data, 0o644)
	if code, _, _ = runDbg(t, nil, "probe", srv.URL, "--requests", "10", "--rate", "100/s", "--compare", fastFile); code != ExitFailOn {
		t.Errorf("compare with a faster earlier run: exit %d, want 3", code)
	}

	// The ceiling: 100/s for 2 minutes is 12000 requests; refused before anything is sent.
	hits.Store(0)
	code, _, errOut = runDbg(t, nil, "probe", srv.URL, "--rate", "100/s", "--duration", "2m")
	if code != ExitUsage || !strings.Contains(errOut, "12000 requests") || !strings.Contains(errOut, "--allow-large-load") || hits.Load() != 0 {
		t.Errorf("oversized run: exit %d, %q, %d requests sent", code, errOut, hits.Load())
	}
	for _, bad := range [][]string{
		{"probe", "ftp://x"},
		{"probe", srv.URL, "--rate", "fast"},
		{"probe", srv.URL, "--header", "nocolon"},
		{"probe", srv.URL, "--expect", "p77<1ms"},
		{"probe", srv.URL, "--body", "@/nonexistent/body.json"},
		{"probe"},
	} {
		if code, _, errOut := runDbg(t, nil, bad...); code != ExitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errOut)
		}
	}
	if code, _, errOut := runDbg(t, nil, "checklist", "--from", "../testdata/incidents/healthy", "--probe", srv.URL); code != 2 || !strings.Contains(errOut, "--probe") {
		t.Errorf("--probe with --from: %d %q", code, errOut)
	}
}

func TestProbeProgressOnTTYOnly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	io, _, out, errOut := TestStreams()
	io.ErrTTY = true
	opts := &ProbeOptions{IO: io, Format: "table", Probe: probe.Options{URL: srv.URL, Rate: probe.PerSecond(20), Requests: 12, Interval: 50 * time.Millisecond}}
	if err := probeRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "probe: ") || !strings.Contains(errOut.String(), "/12") {
		t.Errorf("no progress line on a terminal: %q", errOut.String())
	}
	if strings.Contains(out.String(), "\r") || !strings.Contains(out.String(), "12 of 12 planned") {
		t.Errorf("report:\n%s", out.String())
	}
}
