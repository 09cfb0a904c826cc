package pcap

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

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

// Many one-request connections a second to one server are churn; a receiver advertising a zero window
// is a stalled reader. Neither appears at a server that keeps its connections and reads.
func TestChurnAndZeroWindow(t *testing.T) {
	var b bytes.Buffer
	w, err := pcapgen.NewWriter(&b, false)
	if err != nil {
		t.Fatal(err)
	}
	at := pcapgen.IncidentAt
	churny := netip.MustParseAddrPort("10.99.1.1:8080")
	stalled := netip.MustParseAddrPort("10.99.1.2:8080")
	for i := 0; i < 100; i++ {
		c := w.Dial(netip.AddrPortFrom(pcapgen.Client, uint16(30000+i)), churny, at.Add(time.Duration(i)*5*time.Millisecond), 200*time.Microsecond)
		c.Send(true, pcapgen.HTTPRequest("GET", "/ping", ""), time.Millisecond, nil)
		c.Send(false, pcapgen.HTTPResponse(200, "pong", false), time.Millisecond, nil)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c := w.Dial(netip.AddrPortFrom(pcapgen.Client, 40000), stalled, at, time.Millisecond)
	c.Send(true, pcapgen.HTTPRequest("GET", "/report", ""), time.Millisecond, nil)
	c.Send(false, make([]byte, 3000), time.Millisecond, nil)
	c.ZeroWindow()
	c.ZeroWindow()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := analyse(t, b.Bytes(), nil)
	got := map[string]bool{}
	for _, f := range r.Findings {
		got[f.Kind+" "+f.Service] = true
	}
	if !got["connection_churn "+churny.String()] || !got["saturation "+stalled.String()] {
		t.Errorf("findings %v", got)
	}
	if got["connection_churn "+stalled.String()] || got["saturation "+churny.String()] {
		t.Errorf("a fault at the wrong server: %v", got)
	}
}
