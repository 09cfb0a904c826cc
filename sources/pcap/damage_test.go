package pcap

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/internal/pcapgen"
	"github.com/dbgtool/dbg/investigate"
)

// A file cut mid-packet (a capture copied while tcpdump still wrote it) gives the packets before the cut
// and a warning.
func TestCutFile(t *testing.T) {
	for _, ng := range []bool{false, true} {
		full := incident(t, ng, 6)
		cut := full[:len(full)*2/3+7]
		r := analyse(t, cut, nil)
		whole := analyse(t, full, nil)
		if r.Packets == 0 || r.Packets >= whole.Packets {
			t.Fatalf("ng=%v: %d packets from the cut file, %d from the whole", ng, r.Packets, whole.Packets)
		}
		if !hasWarning(r, "mid-packet") && !hasWarning(r, "damaged") {
			t.Errorf("ng=%v: no warning for a cut file: %v", ng, r.Warnings)
		}
		if len(r.Findings) == 0 {
			t.Errorf("ng=%v: a cut file gave no findings", ng)
		}
	}
}

// A capture taken with a small snapshot length (tcpdump -s 96) keeps the headers: the TCP analysis is
// whole, HTTP is not decoded past the cut, and a warning says so.
func TestSnaplenCut(t *testing.T) {
	full := incident(t, false, 6)
	out := snap(t, full, 96)
	r := analyse(t, out, nil)
	if !hasWarning(r, "snapshot length") {
		t.Errorf("no snaplen warning: %v", r.Warnings)
	}
	kinds := map[string]bool{}
	for _, f := range r.Findings {
		kinds[f.Kind+" "+f.Service] = true
	}
	for _, w := range []string{"connection_refused " + pcapgen.Closed.String(), "tcp_resets " + pcapgen.Resetting.String(), "tcp_retransmits " + pcapgen.Lossy.String()} {
		if !kinds[w] {
			t.Errorf("snaplen-cut capture lost %q: %v", w, kinds)
		}
	}
}

// snap rewrites a pcap file keeping at most n bytes of each packet, as tcpdump -s n does.
func snap(t *testing.T, in []byte, n int) []byte {
	t.Helper()
	out := append([]byte{}, in[:24]...)
	binary.LittleEndian.PutUint32(out[16:], uint32(n))
	for p := 24; p+16 <= len(in); {
		incl := int(binary.LittleEndian.Uint32(in[p+8:]))
		hdr := append([]byte{}, in[p:p+16]...)
		keep := min(incl, n)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(keep))
		out = append(out, hdr...)
		out = append(out, in[p+16:p+16+keep]...)
		p += 16 + incl
	}
	return out
}

func hasWarning(r investigate.NetReport, s string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

func TestNotACapture(t *testing.T) {
	a := investigate.NewNetAnalyzer(investigate.DefaultNetOptions())
	for _, in := range [][]byte{nil, []byte("GET / HTTP/1.1\r\n"), {0x0a, 0x0d, 0x0d, 0x0a, 1, 2}} {
		if _, err := Read(bytes.NewReader(in), a, Options{}); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
