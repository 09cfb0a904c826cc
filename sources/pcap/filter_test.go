package pcap

import (
	"net/netip"
	"strings"
	"testing"
)

func TestFilter(t *testing.T) {
	pkt := PacketInfo{Proto: 6, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.3.7"), SrcPort: 40000, DstPort: 8080}
	udp := PacketInfo{Proto: 17, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.53"), SrcPort: 5353, DstPort: 53}
	v6 := PacketInfo{IPv6: true, Proto: 6, Src: netip.MustParseAddr("fd00::1"), Dst: netip.MustParseAddr("fd00::2"), SrcPort: 1, DstPort: 443}
	cases := []struct {
		expr          string
		tcp, udp, ip6 bool
	}{
		{"", true, true, true},
		{"port 8080", true, false, false},
		{"tcp port 8080", true, false, false},
		{"udp", false, true, false},
		{"dst port 8080", true, false, false},
		{"src port 8080", false, false, false},
		{"host 10.0.3.7", true, false, false},
		{"src host 10.0.0.1 and dst port 53", false, true, false},
		{"net 10.0.0.0/16", true, true, false},
		{"net 10.0.3.0 mask 255.255.255.0", true, false, false},
		{"port 53 or 443", false, true, true},
		{"not port 8080", false, true, true},
		{"!(port 8080 || port 53)", false, false, true},
		{"ip6", false, false, true},
		{"ip and tcp", true, false, false},
		{"portrange 8000-9000", true, false, false},
		{"src or dst port 53", false, true, false},
		{"host fd00::2 && tcp", false, false, true},
		{"tcp && (dst port 8080 or dst port 443)", true, false, true},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got := [3]bool{f.Match(pkt), f.Match(udp), f.Match(v6)}; got != [3]bool{c.tcp, c.udp, c.ip6} {
			t.Errorf("%q: tcp/udp/ip6 = %v, want %v", c.expr, got, [3]bool{c.tcp, c.udp, c.ip6})
		}
	}
	for _, bad := range []string{"tcp[13] & 2 != 0", "port", "host example.com", "port 8080 and", "(port 1", "vlan 100", "ether host aa:bb:cc:dd:ee:ff", "portrange 9-1", "net 10.0.0.0 mask 255.0.255.0"} {
		if _, err := ParseFilter(bad); err == nil || !strings.Contains(err.Error(), "--filter") {
			t.Errorf("%q: want an error naming --filter, got %v", bad, err)
		}
	}
}
