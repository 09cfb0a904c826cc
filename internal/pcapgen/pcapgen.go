// Package pcapgen writes synthetic packet captures with known answers: TCP conversations built packet by
// packet with gopacket's serializer (handshakes, HTTP/1.1 and HTTP/2 exchanges, retransmissions, resets,
// refused connections, TLS alerts), for the fast tests, the fuzz seeds and the benchmark's large capture.
// The full tier does not use it: it captures real traffic with tcpdump.
package pcapgen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/http2/hpack"
)

// Writer writes packets to a pcap or pcapng stream.
type Writer struct {
	pcap  *pcapgo.Writer
	ng    *pcapgo.NgWriter
	buf   gopacket.SerializeBuffer
	Count int
	isn   uint32 // initial sequence numbers differ per connection, as real stacks make them
}

func (w *Writer) nextISN() uint32 {
	w.isn += 0x9e3779b1
	return w.isn
}

// NewWriter starts a capture; ng selects pcapng.
func NewWriter(w io.Writer, ng bool) (*Writer, error) {
	out := &Writer{buf: gopacket.NewSerializeBuffer()}
	if ng {
		nw, err := pcapgo.NewNgWriter(w, layers.LinkTypeEthernet)
		if err != nil {
			return nil, err
		}
		out.ng = nw
		return out, nil
	}
	out.pcap = pcapgo.NewWriter(w)
	if err := out.pcap.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return out, nil
}

// Flush finishes a pcapng stream (a no-op for pcap).
func (w *Writer) Flush() error {
	if w.ng != nil {
		return w.ng.Flush()
	}
	return nil
}

// Segment is one TCP segment to write.
type Segment struct {
	At       time.Time
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	SYN, ACK bool
	FIN, RST bool
	PSH      bool
	Window   uint16
	Payload  []byte
}

// Write serialises one TCP/IPv4 segment in an Ethernet frame.
func (w *Writer) Write(s Segment) error {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: s.Src.Addr().AsSlice(), DstIP: s.Dst.Addr().AsSlice()}
	win := s.Window
	if win == 0 && !s.RST {
		win = 65535
	}
	if s.Window == 1 { // 1 asks for a zero window (0 means "default")
		win = 0
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.Src.Port()), DstPort: layers.TCPPort(s.Dst.Port()), Seq: s.Seq, Ack: s.Ack,
		SYN: s.SYN, ACK: s.ACK, FIN: s.FIN, RST: s.RST, PSH: s.PSH, Window: win}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return err
	}
	if err := gopacket.SerializeLayers(w.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(s.Payload)); err != nil {
		return err
	}
	data := w.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: s.At, CaptureLength: len(data), Length: len(data)}
	w.Count++
	if w.ng != nil {
		return w.ng.WritePacket(ci, data)
	}
	return w.pcap.WritePacket(ci, data)
}

// Conn is one TCP connection being written: it tracks both sides' sequence numbers.
type Conn struct {
	w              *Writer
	Client, Server netip.AddrPort
	cseq, sseq     uint32
	Now            time.Time
	err            error
}

// Dial writes a three-way handshake with the given round trip and returns the connection.
func (w *Writer) Dial(client, server netip.AddrPort, at time.Time, rtt time.Duration) *Conn {
	c := &Conn{w: w, Client: client, Server: server, cseq: w.nextISN(), sseq: w.nextISN(), Now: at}
	c.put(Segment{Src: client, Dst: server, Seq: c.cseq, SYN: true})
	c.Now = c.Now.Add(rtt / 2)
	c.put(Segment{Src: server, Dst: client, Seq: c.sseq, Ack: c.cseq + 1, SYN: true, ACK: true})
	c.Now = c.Now.Add(rtt / 2)
	c.cseq++
	c.sseq++
	c.put(Segment{Src: client, Dst: server, Seq: c.cseq, Ack: c.sseq, ACK: true})
	return c
}

// Refused writes a SYN answered by RST/ACK: a port nothing listens on.
func (w *Writer) Refused(client, server netip.AddrPort, at time.Time) error {
	c := &Conn{w: w, Client: client, Server: server, cseq: w.nextISN(), Now: at}
	c.put(Segment{Src: client, Dst: server, Seq: c.cseq, SYN: true})
	c.Now = c.Now.Add(50 * time.Microsecond)
	c.put(Segment{Src: server, Dst: client, Seq: 0, Ack: c.cseq + 1, RST: true, ACK: true})
	return c.err
}

func (c *Conn) put(s Segment) {
	if c.err == nil {
		s.At = c.Now
		c.err = c.w.Write(s)
	}
}

// Err is the first write error.
func (c *Conn) Err() error { return c.err }

// Send writes payload from the client (toServer) or the server, in MSS-sized segments, each ACKed.
// lose drops nothing from the capture but writes each segment whose index is in lose twice (a
// retransmission after a timeout of rto).
func (c *Conn) Send(toServer bool, payload []byte, after time.Duration, lose map[int]bool) {
	c.Now = c.Now.Add(after)
	const mss = 1448
	for i := 0; len(payload) > 0; i++ {
		n := min(mss, len(payload))
		part := payload[:n]
		payload = payload[n:]
		src, dst, seq, ack := c.Client, c.Server, &c.cseq, c.sseq
		if !toServer {
			src, dst, seq, ack = c.Server, c.Client, &c.sseq, c.cseq
		}
		c.put(Segment{Src: src, Dst: dst, Seq: *seq, Ack: ack, ACK: true, PSH: len(payload) == 0, Payload: part})
		if lose[i] {
			c.Now = c.Now.Add(200 * time.Millisecond)
			c.put(Segment{Src: src, Dst: dst, Seq: *seq, Ack: ack, ACK: true, PSH: len(payload) == 0, Payload: part})
		}
		*seq += uint32(n)
		c.Now = c.Now.Add(20 * time.Microsecond)
		ackSeq, ackAck := c.sseq, c.cseq
		if !toServer {
			ackSeq, ackAck = c.cseq, c.sseq
		}
		c.put(Segment{Src: dst, Dst: src, Seq: ackSeq, Ack: ackAck, ACK: true})
	}
}

// Close writes the FIN exchange, the client first.
func (c *Conn) Close() error {
	c.Now = c.Now.Add(100 * time.Microsecond)
	c.put(Segment{Src: c.Client, Dst: c.Server, Seq: c.cseq, Ack: c.sseq, FIN: true, ACK: true})
	c.cseq++
	c.put(Segment{Src: c.Server, Dst: c.Client, Seq: c.sseq, Ack: c.cseq, FIN: true, ACK: true})
	c.sseq++
	c.put(Segment{Src: c.Client, Dst: c.Server, Seq: c.cseq, Ack: c.sseq, ACK: true})
	return c.err
}

// Reset writes a RST from the server (or the client).
func (c *Conn) Reset(byServer bool) error {
	c.Now = c.Now.Add(100 * time.Microsecond)
	if byServer {
		c.put(Segment{Src: c.Server, Dst: c.Client, Seq: c.sseq, Ack: c.cseq, RST: true, ACK: true})
	} else {
		c.put(Segment{Src: c.Client, Dst: c.Server, Seq: c.cseq, Ack: c.sseq, RST: true, ACK: true})
	}
	return c.err
}

// ZeroWindow writes a pure ACK from the client advertising a zero window.
func (c *Conn) ZeroWindow() {
	c.put(Segment{Src: c.Client, Dst: c.Server, Seq: c.cseq, Ack: c.sseq, ACK: true, Window: 1})
}

// HTTPRequest is an HTTP/1.1 request's bytes, with a traceparent when trace is set. It carries no Host
// header, so the servers are known by address (a Host header names a server in dbg net).
func HTTPRequest(method, path, trace string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nUser-Agent: pcapgen\r\n", method, path)
	if trace != "" {
		fmt.Fprintf(&b, "traceparent: 00-%s-00f067aa0ba902b7-01\r\nX-Request-ID: req-%s\r\n", trace, trace[:8])
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// HTTPResponse is an HTTP/1.1 response with a Content-Length body (chunked when chunked is set).
func HTTPResponse(status int, body string, chunked bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n", status, statusText(status))
	if chunked {
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for len(body) > 0 {
			n := min(7, len(body))
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.Bytes()
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.Bytes()
}

func statusText(s int) string {
	switch s {
	case 200:
		return "OK"
	case 503:
		return "Service Unavailable"
	case 404:
		return "Not Found"
	}
	return "Status"
}

// H2 builds HTTP/2 frames with one HPACK encoder per direction, as real peers do.
type H2 struct {
	enc  [2]*hpack.Encoder
	bufs [2]*bytes.Buffer
}

// NewH2 starts an HTTP/2 connection's frame builder.
func NewH2() *H2 {
	h := &H2{}
	for i := range h.enc {
		h.bufs[i] = &bytes.Buffer{}
		h.enc[i] = hpack.NewEncoder(h.bufs[i])
	}
	return h
}

// Preface is the client connection preface followed by an empty SETTINGS frame.
func Preface() []byte {
	return append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Frame(0x4, 0, 0, nil)...)
}

// Frame is one HTTP/2 frame.
func Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := make([]byte, 9, 9+len(payload))
	b[0], b[1], b[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	b[3], b[4] = typ, flags
	binary.BigEndian.PutUint32(b[5:], stream)
	return append(b, payload...)
}

// Headers is a HEADERS frame (END_HEADERS, and END_STREAM when end) with fields encoded by the side's
// encoder (dir 0 client, 1 server). Fields are name, value pairs.
func (h *H2) Headers(dir int, stream uint32, end bool, fields ...string) []byte {
	h.bufs[dir].Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = h.enc[dir].WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	flags := byte(0x4)
	if end {
		flags |= 0x1
	}
	return Frame(0x1, flags, stream, bytes.Clone(h.bufs[dir].Bytes()))
}

// Data is a DATA frame.
func Data(stream uint32, end bool, payload []byte) []byte {
	var flags byte
	if end {
		flags = 0x1
	}
	return Frame(0x0, flags, stream, payload)
}

// TLSClientHello is a minimal ClientHello record naming host in SNI.
func TLSClientHello(host string) []byte {
	var ext bytes.Buffer
	name := []byte(host)
	sn := make([]byte, 0, 5+len(name))
	sn = binary.BigEndian.AppendUint16(sn, uint16(3+len(name)))
	sn = append(sn, 0)
	sn = binary.BigEndian.AppendUint16(sn, uint16(len(name)))
	sn = append(sn, name...)
	ext.Write([]byte{0, 0})
	_ = binary.Write(&ext, binary.BigEndian, uint16(len(sn)))
	ext.Write(sn)
	var body bytes.Buffer
	body.Write([]byte{3, 3})
	body.Write(make([]byte, 32))
	body.WriteByte(0)                 // session id
	body.Write([]byte{0, 2, 0x13, 1}) // one cipher suite
	body.Write([]byte{1, 0})          // null compression
	_ = binary.Write(&body, binary.BigEndian, uint16(ext.Len()))
	body.Write(ext.Bytes())
	hs := append([]byte{1, byte(body.Len() >> 16), byte(body.Len() >> 8), byte(body.Len())}, body.Bytes()...)
	return append([]byte{22, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

// TLSAlert is a clear-text alert record.
func TLSAlert(level, desc byte) []byte { return []byte{21, 3, 3, 0, 2, level, desc} }
