package pcap

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/pcapgen"
	"github.com/dbgtool/dbg/investigate"
)

// FuzzRead: any bytes as a capture (pcap or pcapng) must give a report or an error, never a panic, a
// hang or an allocation sized by a damaged header.
func FuzzRead(f *testing.F) {
	f.Add(tiny(f, false))
	f.Add(tiny(f, true))
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a := investigate.NewNetAnalyzer(investigate.DefaultNetOptions())
		_, _ = Read(bytes.NewReader(data), a, Options{MaxPackets: 10000})
		_ = a.Report()
	})
}

// tiny is a small capture for fuzz seeds: large seeds make every mutation slow.
func tiny(t testing.TB, ng bool) []byte {
	var b bytes.Buffer
	w, err := pcapgen.NewWriter(&b, ng)
	if err != nil {
		t.Fatal(err)
	}
	at := pcapgen.IncidentAt
	c := w.Dial(fzClient, fzServer, at, time.Millisecond)
	c.Send(true, pcapgen.HTTPRequest("GET", "/x/1", pcapgen.TraceID(1)), time.Millisecond, map[int]bool{0: true})
	c.Send(false, pcapgen.HTTPResponse(200, "ok", true), time.Millisecond, nil)
	_ = c.Reset(true)
	_ = w.Refused(fzClient, netip.MustParseAddrPort("10.0.0.3:1"), at)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var (
	fzClient = netip.MustParseAddrPort("10.0.0.1:40000")
	fzServer = netip.MustParseAddrPort("10.0.0.2:8080")
)

// feedSplit feeds a client and a server byte stream to a decoder in chunks cut at the fuzzer's points.
func feedSplit(a app, req, resp []byte, cut uint8) {
	step := int(cut%64) + 1
	t := time.Unix(0, 0)
	for i, j := 0, 0; i < len(req) || j < len(resp); {
		if i < len(req) {
			e := min(i+step, len(req))
			a.data(0, chunk{n: int64(i), t: t, data: req[i:e]})
			i = e
		}
		if j < len(resp) {
			e := min(j+step, len(resp))
			a.data(1, chunk{n: int64(j), t: t, data: resp[j:e]})
			j = e
		}
		if cut%7 == 0 {
			a.gap(int(cut) % 2)
		}
		t = t.Add(time.Millisecond)
	}
	a.close()
}

// FuzzHTTP1 drives HTTP/1 reassembly with arbitrary request and response streams cut anywhere.
func FuzzHTTP1(f *testing.F) {
	req := append(pcapgen.HTTPRequest("GET", "/a/1", pcapgen.TraceID(1)), pcapgen.HTTPRequest("HEAD", "/b", "")...)
	resp := append(pcapgen.HTTPResponse(200, "hello world, chunked", true), pcapgen.HTTPResponse(503, "", false)...)
	f.Add(req, resp, uint8(5))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 x\r\n\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, req, resp []byte, cut uint8) {
		n := 0
		h := newH1(fzClient, fzServer, func(e investigate.NetExchange) { n++ })
		feedSplit(h, req, resp, cut)
		if n > len(req) {
			t.Fatalf("%d exchanges from %d request bytes", n, len(req))
		}
	})
}

// FuzzHTTP2 drives HTTP/2 frame and HPACK decoding with arbitrary streams.
func FuzzHTTP2(f *testing.F) {
	h := pcapgen.NewH2()
	req := append(pcapgen.Preface(), h.Headers(0, 1, false, ":method", "POST", ":path", "/a.B/C", "content-type", "application/grpc")...)
	req = append(req, pcapgen.Data(1, true, []byte{0, 0, 0, 0, 0})...)
	resp := append(h.Headers(1, 1, false, ":status", "200"), pcapgen.Data(1, false, []byte{1, 2, 3})...)
	resp = append(resp, h.Headers(1, 1, true, "grpc-status", "14")...)
	f.Add(req, resp, uint8(3))
	f.Fuzz(func(t *testing.T, req, resp []byte, cut uint8) {
		c := newH2(fzClient, fzServer, func(investigate.NetExchange) {}, func() {})
		feedSplit(c, append(append([]byte{}, h2Preface...), req...), resp, cut)
	})
}

// FuzzTLS drives the TLS record reader.
func FuzzTLS(f *testing.F) {
	f.Add(pcapgen.TLSClientHello("a.example"), pcapgen.TLSAlert(2, 40), uint8(2))
	f.Fuzz(func(t *testing.T, req, resp []byte, cut uint8) {
		feedSplit(newTLS(fzClient, fzServer, func(investigate.TLSEvent) {}), req, resp, cut)
	})
}
