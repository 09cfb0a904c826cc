package cmd

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

func TestMeshCommandFiles(t *testing.T) {
	dir := filepath.Join("..", "testdata", "envoy")
	files := strings.Join([]string{filepath.Join(dir, "clusters.json"), filepath.Join(dir, "stats.txt"), filepath.Join(dir, "config_dump.json")}, ",")
	code, out, errOut := runDbg(t, nil, "mesh", "--envoy-admin", files, "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep investigate.MeshReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Clusters) < 4 || len(rep.Routes) != 4 || len(rep.Findings) != 3 {
		t.Fatalf("clusters %d routes %d findings %d", len(rep.Clusters), len(rep.Routes), len(rep.Findings))
	}
	code, out, _ = runDbg(t, nil, "mesh", "--envoy-admin", dir)
	for _, want := range []string{"istioctl proxy-config clusters", "ISTIO_MUTUAL", "OPEN rq_pending", "ledger.shop"} {
		if code != 0 || !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("table (exit %d) lacks %q", code, want)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"mesh"}, ExitUsage, "--envoy-admin"},
		{[]string{"mesh", "--envoy-admin", filepath.Join(dir, "nothing.json")}, 1, "envoy admin file"},
		{[]string{"mesh", "--envoy-admin", dir, "--fail-on", "high"}, ExitFailOn, "--fail-on high"},
	} {
		code, _, errOut := runDbg(t, nil, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d %q", c.args, code, errOut)
		}
	}
}
