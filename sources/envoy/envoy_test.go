package envoy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

func fixture(name string) string { return filepath.Join("..", "..", "testdata", "envoy", name) }

func byName(d *Dump, short string) *investigate.EnvoyCluster {
	for i := range d.Clusters {
		if investigate.ShortService(d.Clusters[i].FQDN) == short {
			return &d.Clusters[i]
		}
	}
	return nil
}

func checkLedger(t *testing.T, d *Dump) {
	t.Helper()
	l := byName(d, "ledger")
	if l == nil {
		t.Fatalf("no ledger cluster in %+v", d.Clusters)
	}
	if l.Direction != "outbound" || l.Port != "8080" || l.FQDN != "ledger.shop.svc.cluster.local" {
		t.Errorf("cluster name not split: %+v", l)
	}
	if len(l.Hosts) != 2 {
		t.Fatalf("hosts: %+v", l.Hosts)
	}
	ejected := 0
	for _, h := range l.Hosts {
		if len(h.Failed) > 0 && h.Failed[0] == "failed_outlier_check" {
			ejected++
			if h.Address != "10.0.3.8:8080" {
				t.Errorf("ejected host %s, want 10.0.3.8:8080", h.Address)
			}
		}
	}
	if ejected != 1 {
		t.Errorf("%d ejected hosts, want 1", ejected)
	}
	var def *investigate.CircuitBreaker
	for i := range l.Breakers {
		if l.Breakers[i].Priority == "DEFAULT" {
			def = &l.Breakers[i]
		}
	}
	if def == nil || def.MaxPendingRequests != 10 || def.MaxConnections != 100 {
		t.Errorf("default thresholds: %+v", l.Breakers)
	}
}

func TestClustersJSONAndText(t *testing.T) {
	for _, f := range []string{"clusters.json", "clusters.txt"} {
		d, err := ReadFiles([]string{fixture(f)})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		checkLedger(t, d)
	}
}

func TestAllFilesMerged(t *testing.T) {
	d, err := ReadFiles([]string{fixture("clusters.json"), fixture("stats.txt"), fixture("config_dump.json")})
	if err != nil {
		t.Fatal(err)
	}
	checkLedger(t, d)
	l := byName(d, "ledger")
	if l.TLSMode != "ISTIO_MUTUAL (auto: plaintext to pods without a sidecar)" || l.DestinationRule != "ledger.shop" || !l.OutlierDetect {
		t.Errorf("ledger config: tls %q, dr %q, outlier %v", l.TLSMode, l.DestinationRule, l.OutlierDetect)
	}
	if got := byName(d, "shipping").TLSMode; got != "ISTIO_MUTUAL" {
		t.Errorf("shipping tls %q", got)
	}
	if got := byName(d, "catalog").TLSMode; got != "DISABLE" {
		t.Errorf("catalog tls %q", got)
	}
	if got := byName(d, "payments-gateway.example.com").TLSMode; got != "SIMPLE" {
		t.Errorf("external tls %q", got)
	}
	if l.Stats["upstream_rq_pending_overflow"] != 42 {
		t.Errorf("ledger stats: %v", l.Stats)
	}
	open := false
	for _, b := range l.Breakers {
		if b.Priority == "DEFAULT" && len(b.Open) == 1 && b.Open[0] == "rq_pending" && b.RemainingPending == 0 {
			open = true
		}
	}
	if !open {
		t.Errorf("the pending breaker is open with nothing remaining: %+v", l.Breakers)
	}
	if len(d.Routes) != 4 || d.Routes[0].Match != "/api/*" || d.Routes[0].VirtualService != "ledger.shop" || !strings.Contains(d.Routes[0].Retries, "2 on connect-failure") {
		t.Errorf("routes: %+v", d.Routes)
	}
	fs := investigate.MeshFindings(nil, d.Clusters, investigate.MeshOptions{})
	got := map[string]bool{}
	for _, f := range fs {
		got[f.Kind+" "+f.Service] = true
		t.Logf("%s %s %.2f %s", f.Kind, f.Service, f.Score, f.Title)
	}
	for _, w := range []string{"saturation ledger", "dependency ledger", "dependency shipping"} {
		if !got[w] {
			t.Errorf("missing %s", w)
		}
	}
	for k := range got {
		if strings.HasSuffix(k, " catalog") {
			t.Errorf("finding at the healthy catalog: %s", k)
		}
	}
}

func TestStatsPrometheus(t *testing.T) {
	d, err := ReadFiles([]string{fixture("stats.prom")})
	if err != nil {
		t.Fatal(err)
	}
	l := byName(d, "ledger")
	if l == nil || l.Stats["upstream_rq_pending_overflow"] != 42 || l.Stats["outlier_detection.ejections_active"] != 1 {
		t.Fatalf("prometheus stats: %+v", d.Clusters)
	}
}

// The live client asks the documented paths and merges the answers; the httptest server replays the
// saved responses (Envoy cannot run here).
func TestAdminFetch(t *testing.T) {
	files := map[string]string{"/clusters": "clusters.json", "/stats": "stats.txt", "/config_dump": "config_dump.json"}
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RequestURI())
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, _ := os.ReadFile(fixture(f))
		w.Write(b)
	}))
	defer srv.Close()
	a, err := NewAdmin(httpx.Endpoint{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkLedger(t, d)
	if strings.Join(seen, " ") != "/config_dump /clusters?format=json /stats?format=json" {
		t.Errorf("requests: %v", seen)
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.json")
	os.WriteFile(bad, []byte(`{"unrelated": 1}`), 0o644)
	if _, err := ReadFiles([]string{bad}); err == nil || !strings.Contains(err.Error(), "not /config_dump") {
		t.Errorf("unrelated JSON: %v", err)
	}
	if _, err := ReadFiles([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzAdminResponse(f *testing.F) {
	for _, n := range []string{"clusters.json", "clusters.txt", "stats.txt", "stats.prom"} {
		b, _ := os.ReadFile(fixture(n))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newBuilder()
		_ = b.add(data, "fuzz")
		d := b.dump()
		_ = investigate.MeshFindings(nil, d.Clusters, investigate.MeshOptions{})
	})
}
