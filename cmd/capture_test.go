package cmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/sources/bundle"
)

// TestCaptureReplaysIdentically captures through the recorder (fed by a bundle standing in for the
// live backends) and checks the new bundle gives the same ranked answer offline.
func TestCaptureReplaysIdentically(t *testing.T) {
	for _, name := range []string{"error-burst", "memory-leak"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join("..", "testdata", "incidents", name)
			b, err := bundle.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			bs := bundleSources{b}
			f, out, _ := testFactory(nil)
			inv := &checklist.Investigation{Service: b.Manifest.Service, Window: b.Window(), Options: checklist.DefaultOptions(), Now: f.Now,
				Sources: checklist.Sources{Traces: bs, TracesName: "live", Metrics: bs, MetricsName: "live", Logs: bs, LogsName: "live"}}
			if b.HasProfiles {
				inv.Sources.Profiles, inv.Sources.ProfileName = bs, "live"
			}
			dest := filepath.Join(t.TempDir(), "captured.tar.gz")
			if err := captureRun(context.Background(), &ChecklistOptions{IO: f.IO, Inv: inv}, dest); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "wrote "+dest) {
				t.Errorf("stdout %q", out.String())
			}
			want, _, _ := runChecklistJSON(t, "--from", src)
			got, _, _ := runChecklistJSON(t, "--from", dest)
			if len(want.Findings) == 0 || len(got.Findings) != len(want.Findings) {
				t.Fatalf("replay has %d findings, original %d", len(got.Findings), len(want.Findings))
			}
			for i := range want.Findings {
				if got.Findings[i].Title != want.Findings[i].Title || got.Findings[i].Tier != want.Findings[i].Tier {
					t.Errorf("finding %d: %q (%s) vs %q (%s)", i, got.Findings[i].Title, got.Findings[i].Tier, want.Findings[i].Title, want.Findings[i].Tier)
				}
			}
			cb, err := bundle.Open(dest)
			if err != nil {
				t.Fatal(err)
			}
			if len(cb.Manifest.Queries) == 0 || cb.Manifest.Service != b.Manifest.Service || !cb.Manifest.Window.Start.Equal(b.Manifest.Window.Start) {
				t.Errorf("manifest %+v", cb.Manifest)
			}
		})
	}
	if code, _, errOut := runDbg(t, nil, "capture", "--service", "x"); code != 2 || !strings.Contains(errOut, "--out") {
		t.Errorf("capture without --out: %d %q", code, errOut)
	}
	if code, _, errOut := runDbg(t, nil, "capture", "--service", "x", "--out", t.TempDir()+"/b"); code != 2 || !strings.Contains(errOut, "no source configured") {
		t.Errorf("capture without sources: %d %q", code, errOut)
	}
}

func TestDoctor(t *testing.T) {
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer prom.Close()
	pprofSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`<html>goroutine heap allocs</html>`))
	}))
	defer pprofSrv.Close()
	code, out, errOut := runDbg(t, map[string]string{"DBG_JAEGER_URL": "http://127.0.0.1:1", "DBG_JAEGER_TOKEN": "s3cret-token-value"},
		"doctor", "--prometheus-url", prom.URL, "--target", pprofSrv.URL, "--timeout", "5s")
	if code != 1 || !strings.Contains(errOut, "Jaeger failed") {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
	for _, want := range []string{"Prometheus    ok", "pprof target  ok", "Jaeger        error", "connection refused", "loki          not_configured"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Error("doctor printed a secret")
	}
	if code, out, _ := runDbg(t, nil, "doctor", "--target", prom.URL); code != 1 || !strings.Contains(out, "does not list Go profiles") {
		t.Errorf("non-pprof target: exit %d\n%s", code, out)
	}
}
