package investigate

import (
	"net/netip"
	"testing"
	"time"
)

func TestHostName(t *testing.T) {
	for in, want := range map[string]string{
		"shipping:8080": "shipping", "shipping.shop.svc.cluster.local:8080": "shipping", "shipping.shop": "shipping",
		"10.0.3.7:8080": "", "[fd00::1]:443": "", "api.example.com": "api.example.com", "": "",
	} {
		if got := hostName(in); got != want {
			t.Errorf("hostName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A server is named by the Host its requests carry, unless --name says otherwise.
func TestServerNamedByHost(t *testing.T) {
	srv := netip.MustParseAddrPort("10.0.3.7:8080")
	cli := netip.MustParseAddrPort("10.0.0.1:40000")
	at := time.Unix(1000, 0)
	for _, names := range []map[string]string{nil, {"10.0.3.7:8080": "shipping-v2"}} {
		a := NewNetAnalyzer(NetOptions{Names: names})
		a.Packet(at)
		a.Segment(TCPSegment{N: 1, Time: at, Src: cli, Dst: srv, Seq: 1, Flags: FlagSYN})
		a.Segment(TCPSegment{N: 2, Time: at, Src: srv, Dst: cli, Seq: 9, Flags: FlagRST | FlagACK})
		for i := 0; i < 3; i++ {
			a.Exchange(NetExchange{Client: cli, Server: srv, Proto: "http/1.1", Method: "GET", Path: "/x", Status: 503, GRPCStatus: -1, ResetCode: -1, Start: at, End: at.Add(time.Millisecond), Host: "shipping.shop.svc.cluster.local:8080"})
		}
		r := a.Report()
		want := "shipping"
		if names != nil {
			want = "shipping-v2"
		}
		for _, f := range r.Findings {
			if f.Service != want || f.Evidence["server"] != "10.0.3.7:8080" {
				t.Errorf("names %v: finding %s on %q (server %v), want %q", names, f.Kind, f.Service, f.Evidence["server"], want)
			}
		}
		if len(r.Findings) < 2 {
			t.Errorf("want refused and error findings, got %d", len(r.Findings))
		}
	}
}

func TestJoinEdges(t *testing.T) {
	edges := []Edge{{Caller: "checkout", Peer: "shipping"}}
	fs := []Finding{
		{Kind: KindConnectionRefused, Service: "shipping", Title: "12.0% of connection attempts to 10.0.3.7:8080 refused", Evidence: map[string]any{"server": "10.0.3.7:8080"}},
		{Kind: KindTCPResets, Service: "10.0.9.9:5432", Title: "resets", Evidence: map[string]any{"server": "10.0.9.9:5432"}},
		{Kind: KindDependency, Service: "payment", Title: "payment→ledger: 4.0% of requests rejected by the circuit breaker (UO)", Evidence: map[string]any{"peer": "ledger", "response_flag": "UO"}},
		{Kind: KindSlowSpan, Service: "shipping", Title: "slow"},
	}
	got := JoinEdges(fs, edges, "checkout")
	if got[0].Title != "checkout→shipping fails: 12.0% of connection attempts to 10.0.3.7:8080 refused" || got[0].Service != "shipping" || got[0].Evidence["edge"] != "checkout→shipping" {
		t.Errorf("refused: %+v", got[0])
	}
	if got[1].Evidence["caller"] != "checkout" {
		t.Errorf("a server no edge names belongs to the investigated service's connections: %+v", got[1])
	}
	if got[2].Title != fs[2].Title || got[2].Service != "payment" {
		t.Errorf("a mesh edge keeps its own caller: %+v", got[2])
	}
	if got[3].Title != "slow" {
		t.Errorf("a non-network finding changed: %+v", got[3])
	}
}
