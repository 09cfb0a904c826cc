// Package pcap reads packet captures (pcap and pcapng, as tcpdump, kubectl sniff and Wireshark write
// them) with gopacket's pure-Go readers and layer decoders, reassembles TCP byte streams, decodes
// HTTP/1.x, HTTP/2 (with HPACK) and gRPC over cleartext, and TLS handshake records, and feeds what it
// finds to an investigate.NetAnalyzer. It streams: memory is bounded by the open connections, never by
// the size of the file.
package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/dbgtool/dbg/investigate"
)

// Options configure a read.
type Options struct {
	// Filter keeps only matching packets (nil keeps all).
	Filter *Filter
	// MaxPackets stops after this many packets (0: no limit).
	MaxPackets int64
}

// Stats says what the reader saw, for the report's warnings.
type Stats struct {
	Format    string // "pcap" or "pcapng"
	LinkType  string
	Read      int64 // packets read from the file
	Matched   int64 // packets that passed the filter
	NotIP     int64
	Fragments int64
	Cut       int64 // packets the snapshot length cut short
	Undecoded int64 // packets whose headers could not be decoded
}

// ErrNotCapture is returned when the input is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng capture (first bytes are neither a pcap nor a pcapng magic number)")

type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Read decodes a capture from r into a. It returns an error only when nothing could be read; damage
// after the first packet (a file cut mid-packet, a corrupt record) stops the read with a warning in a,
// and the packets before it are analysed.
func Read(r io.Reader, a *investigate.NetAnalyzer, o Options) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(4)
	if err != nil {
		return st, ErrNotCapture
	}
	var pr packetReader
	var link layers.LinkType
	var ng *pcapgo.NgReader
	switch binary.LittleEndian.Uint32(magic) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		st.Format = "pcap"
		pc, err := pcapgo.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("pcap header: %w", err)
		}
		if s := pc.Snaplen(); s == 0 || s > maxSnap {
			pc.SetSnaplen(maxSnap)
		}
		pr, link = pc, pc.LinkType()
	case 0x0a0d0d0a:
		st.Format = "pcapng"
		ng, err = safeNg(&ngGuard{r: br})
		if err != nil {
			return st, fmt.Errorf("pcapng section header: %w", err)
		}
		pr, link = ng, ng.LinkType()
	default:
		return st, ErrNotCapture
	}
	st.LinkType = link.String()
	d := newDecoder(a)
	var n int64
	for o.MaxPackets == 0 || n < o.MaxPackets {
		data, ci, err := safeRead(pr)
		if err != nil {
			if err != io.EOF {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					a.Warn("the capture ends mid-packet after packet %d (file cut short): the packets before it are analysed", n)
				} else {
					a.Warn("the capture is damaged after packet %d (%s): the packets before it are analysed", n, oneLine(err))
				}
				if n == 0 {
					d.finish()
					return st, fmt.Errorf("%s: no packet could be read: %s", st.Format, oneLine(err))
				}
			}
			break
		}
		n++
		st.Read++
		lt := link
		if ng != nil && len(ci.AncillaryData) > 0 {
			if l, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				lt = l
			}
		}
		if ci.CaptureLength < ci.Length {
			st.Cut++
		}
		d.packet(n, ci.Timestamp, lt, data, o.Filter, &st)
	}
	d.finish()
	if st.Cut > 0 {
		a.Warn("%d of %d packets were cut by the snapshot length (tcpdump -s): their payload past the cut is not analysed", st.Cut, st.Read)
	}
	if st.Undecoded > 0 {
		a.Warn("%d packets had headers that could not be decoded and were skipped", st.Undecoded)
	}
	if st.Fragments > 0 {
		a.Warn("%d IP fragments were not reassembled", st.Fragments)
	}
	return st, nil
}

// safeRead turns a panic inside gopacket's readers (a damaged interface block can divide by zero)
// into an error: a damaged capture ends the read, never the process.
func safeRead(pr packetReader) (data []byte, ci gopacket.CaptureInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			data, err = nil, fmt.Errorf("%w: reader failed: %v", errCorrupt, p)
		}
	}()
	return pr.ZeroCopyReadPacketData()
}

func safeNg(r io.Reader) (ng *pcapgo.NgReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			ng, err = nil, fmt.Errorf("%w: reader failed: %v", errCorrupt, p)
		}
	}()
	return pcapgo.NewNgReader(r, pcapgo.NgReaderOptions{WantMixedLinkType: true})
}

func oneLine(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// linkSLL2 is LINKTYPE_LINUX_SLL2 (276) as gopacket v1.1.19 holds it: its LinkType is a uint8, so the
// readers keep the low byte. 20 is not an assigned link type, so the low byte is unambiguous.
const linkSLL2 = layers.LinkType(276 & 0xff)

// decoder turns link-layer frames into analyzer calls.
type decoder struct {
	a       *investigate.NetAnalyzer
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	p4, p6  *gopacket.DecodingLayerParser
	types   []gopacket.LayerType
	streams *streams
}

func newDecoder(a *investigate.NetAnalyzer) *decoder {
	d := &decoder{a: a}
	d.p4 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, &d.ip4, &d.ip6, &d.tcp, &d.udp)
	d.p6 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv6, &d.ip4, &d.ip6, &d.tcp, &d.udp)
	for _, p := range []*gopacket.DecodingLayerParser{d.p4, d.p6} {
		p.IgnoreUnsupported = true
	}
	d.streams = newStreams(a)
	return d
}

// network finds the IP header behind the link-layer header: 4 or 6, and the offset.
func network(lt layers.LinkType, b []byte) (int, int) {
	ethertype := func(t uint16) int {
		switch t {
		case 0x0800:
			return 4
		case 0x86dd:
			return 6
		}
		return 0
	}
	switch lt {
	case layers.LinkTypeEthernet:
		off := 12
		for off+2 <= len(b) {
			t := binary.BigEndian.Uint16(b[off:])
			if t == 0x8100 || t == 0x88a8 { // VLAN tags
				off += 4
				continue
			}
			return ethertype(t), off + 2
		}
	case layers.LinkTypeLinuxSLL: // tcpdump -i any (libpcap before 1.10)
		if len(b) >= 16 {
			return ethertype(binary.BigEndian.Uint16(b[14:])), 16
		}
	case linkSLL2: // LINKTYPE_LINUX_SLL2: tcpdump -i any (libpcap 1.10 and later)
		if len(b) >= 20 {
			return ethertype(binary.BigEndian.Uint16(b[0:])), 20
		}
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) >= 4 {
			fam := binary.LittleEndian.Uint32(b)
			if lt == layers.LinkTypeLoop || fam > 0xffff {
				fam = binary.BigEndian.Uint32(b)
			}
			switch fam {
			case 2:
				return 4, 4
			case 10, 24, 28, 30:
				return 6, 4
			}
		}
	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		if len(b) > 0 {
			switch b[0] >> 4 {
			case 4:
				return 4, 0
			case 6:
				return 6, 0
			}
		}
	}
	return 0, 0
}

func (d *decoder) packet(n int64, ts time.Time, lt layers.LinkType, data []byte, f *Filter, st *Stats) {
	ver, off := network(lt, data)
	if ver == 0 {
		st.NotIP++
		if f == nil || f.root == nil {
			d.a.Packet(ts)
		}
		return
	}
	p := d.p4
	if ver == 6 {
		p = d.p6
	}
	d.types = d.types[:0]
	if err := p.DecodeLayers(data[off:], &d.types); err != nil && len(d.types) == 0 {
		st.Undecoded++
		return
	}
	var info PacketInfo
	var ipPayload int
	haveIP, haveTCP, haveUDP := false, false, false
	for _, t := range d.types {
		switch t {
		case layers.LayerTypeIPv4:
			if haveIP {
				continue // an IP-in-IP tunnel: keep the outer addresses
			}
			haveIP = true
			info.Src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			info.Dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
			info.Proto = uint8(d.ip4.Protocol)
			ipPayload = int(d.ip4.Length) - int(d.ip4.IHL)*4
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				st.Fragments++
				return
			}
		case layers.LayerTypeIPv6:
			if haveIP {
				continue
			}
			haveIP = true
			info.IPv6 = true
			info.Src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			info.Dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
			info.Proto = uint8(d.ip6.NextHeader)
			ipPayload = int(d.ip6.Length)
		case layers.LayerTypeTCP:
			haveTCP = true
			info.SrcPort, info.DstPort, info.Proto = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort), 6
		case layers.LayerTypeUDP:
			haveUDP = true
			info.SrcPort, info.DstPort, info.Proto = uint16(d.udp.SrcPort), uint16(d.udp.DstPort), 17
		}
	}
	if !haveIP {
		st.Undecoded++
		return
	}
	if !f.Match(info) {
		return
	}
	st.Matched++
	d.a.Packet(ts)
	_ = haveUDP
	if !haveTCP {
		return
	}
	payload := d.tcp.Payload
	declared := ipPayload - int(d.tcp.DataOffset)*4
	if declared < len(payload) || ipPayload <= 0 {
		declared = len(payload) // TSO captures report IP length 0; trailers pad short frames
		if declared < 0 {
			declared = 0
		}
	}
	if len(payload) > declared {
		payload = payload[:declared]
	}
	seg := investigate.TCPSegment{
		N: n, Time: ts,
		Src: netip.AddrPortFrom(info.Src, info.SrcPort), Dst: netip.AddrPortFrom(info.Dst, info.DstPort),
		Seq: d.tcp.Seq, Ack: d.tcp.Ack, Window: d.tcp.Window, Len: declared,
		Flags: tcpFlags(&d.tcp),
	}
	d.a.Segment(seg)
	d.streams.segment(seg, payload)
}

func tcpFlags(t *layers.TCP) investigate.TCPFlags {
	var f investigate.TCPFlags
	set := func(b bool, v investigate.TCPFlags) {
		if b {
			f |= v
		}
	}
	set(t.FIN, investigate.FlagFIN)
	set(t.SYN, investigate.FlagSYN)
	set(t.RST, investigate.FlagRST)
	set(t.PSH, investigate.FlagPSH)
	set(t.ACK, investigate.FlagACK)
	set(t.URG, investigate.FlagURG)
	set(t.ECE, investigate.FlagECE)
	set(t.CWR, investigate.FlagCWR)
	return f
}

func (d *decoder) finish() { d.streams.finish() }

// Analyze reads a whole capture from r and returns the report: the one call `dbg net` and the
// checklist make.
func Analyze(r io.Reader, o Options, no investigate.NetOptions) (investigate.NetReport, Stats, error) {
	a := investigate.NewNetAnalyzer(no)
	st, err := Read(r, a, o)
	if err != nil {
		return investigate.NetReport{}, st, err
	}
	return a.Report(), st, nil
}
