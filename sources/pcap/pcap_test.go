package pcap

import (
	"bytes"
	"testing"

	"github.com/dbgtool/dbg/internal/pcapgen"
	"github.com/dbgtool/dbg/investigate"
)

func incident(t testing.TB, ng bool, rounds int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgen.NewWriter(&b, ng)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgen.Incident(w, rounds); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func analyse(t testing.TB, data []byte, f *Filter) investigate.NetReport {
	t.Helper()
	a := investigate.NewNetAnalyzer(investigate.DefaultNetOptions())
	if _, err := Read(bytes.NewReader(data), a, Options{Filter: f}); err != nil {
		t.Fatal(err)
	}
	return a.Report()
}

func TestIncidentFindings(t *testing.T) {
	for _, ng := range []bool{false, true} {
		r := analyse(t, incident(t, ng, 12), nil)
		got := map[string]string{}
		for _, f := range r.Findings {
			got[f.Kind+" "+f.Service] = f.Title
			t.Logf("%s %s %.2f %s", f.Kind, f.Service, f.Score, f.Title)
		}
		want := []string{
			"latency_hotspot " + pcapgen.Slow.String(),
			"error_hotspot " + pcapgen.Failing.String(),
			"connection_refused " + pcapgen.Closed.String(),
			"tcp_resets " + pcapgen.Resetting.String(),
			"tcp_retransmits " + pcapgen.Lossy.String(),
			"error_hotspot " + pcapgen.GRPC.String(),
			"tls_failure " + pcapgen.TLSBroken.String(),
		}
		for _, w := range want {
			if _, ok := got[w]; !ok {
				t.Errorf("ng=%v: missing finding %q", ng, w)
			}
		}
		for k := range got {
			if bytes.Contains([]byte(k), []byte(pcapgen.Healthy.String())) {
				t.Errorf("finding at the healthy server: %s", k)
			}
		}
		for _, e := range r.Endpoints {
			t.Logf("%s %s %s %s n=%d err=%d p50=%v p99=%v un=%d", e.Server, e.Proto, e.Method, e.Route, e.Count, e.Errors, e.P50Ms, e.P99Ms, e.Unanswered)
		}
		t.Logf("warnings %v", r.Warnings)
	}
}
