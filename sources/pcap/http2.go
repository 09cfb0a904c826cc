package pcap

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/dbgtool/dbg/investigate"
)

// HTTP/2 over cleartext (prior knowledge, as gRPC and mesh sidecars speak it): frames per RFC 9113
// section 4, header blocks decoded with HPACK (one decoder per direction, as each peer keeps its own
// dynamic table), a stream per request. gRPC is a stream whose request content-type is
// application/grpc; its status is the grpc-status trailer, its latency request start to trailers.

const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	frameGoAway       = 0x7
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	maxHeaderBlock = 256 << 10
	maxStreamsOpen = 10000
)

type h2side struct {
	buf       []byte
	preface   bool // the client's connection preface is still to be skipped
	skip      int  // payload bytes of a DATA frame still to skip
	skipEnd   bool // that DATA frame ends its stream
	skipID    uint32
	dec       *hpack.Decoder
	block     []byte
	blockID   uint32
	blockEnd  bool // END_STREAM was on the HEADERS frame that started the block
	inBlock   bool
	tableSize uint32
}

type h2stream struct {
	req        investigate.NetExchange
	gotHeaders bool
	grpc       bool
}

type h2conn struct {
	client, server netip.AddrPort
	side           [2]h2side
	streams        map[uint32]*h2stream
	emit           func(investigate.NetExchange)
	dead           bool
	onDead         func()
	cur            chunk
}

func newH2(client, server netip.AddrPort, emit func(investigate.NetExchange), onDead func()) *h2conn {
	h := &h2conn{client: client, server: server, emit: emit, onDead: onDead, streams: map[uint32]*h2stream{}}
	h.side[0].preface = true
	for i := range h.side {
		h.side[i].dec = hpack.NewDecoder(4096, nil)
		h.side[i].dec.SetMaxStringLength(maxHeader)
	}
	return h
}

func (h *h2conn) kill() {
	if !h.dead {
		h.dead = true
		h.onDead()
	}
	h.side[0].buf, h.side[1].buf = nil, nil
}

func (h *h2conn) data(dir int, c chunk) {
	if h.dead {
		return
	}
	s := &h.side[dir]
	h.cur = c
	b := c.data
	for len(b) > 0 && !h.dead {
		if s.skip > 0 {
			n := min(s.skip, len(b))
			s.skip -= n
			b = b[n:]
			if s.skip == 0 && s.skipEnd {
				h.endStream(dir, s.skipID)
			}
			continue
		}
		s.buf = append(s.buf, b...)
		b = nil
		if s.preface {
			if len(s.buf) < len(h2Preface) {
				return
			}
			s.buf = s.buf[len(h2Preface):]
			s.preface = false
		}
		for len(s.buf) >= 9 && !h.dead {
			length := int(s.buf[0])<<16 | int(s.buf[1])<<8 | int(s.buf[2])
			typ, flags := s.buf[3], s.buf[4]
			id := binary.BigEndian.Uint32(s.buf[5:9]) & 0x7fffffff
			if typ == frameData {
				// DATA is skipped as it streams by, never buffered.
				rest := s.buf[9:]
				s.skip, s.skipEnd, s.skipID = length, flags&flagEndStream != 0, id
				s.buf = nil
				if len(rest) > 0 {
					b = rest
				} else if length == 0 && s.skipEnd {
					h.endStream(dir, id)
				}
				break
			}
			if length > maxHeaderBlock {
				h.kill()
				return
			}
			if len(s.buf) < 9+length {
				break
			}
			h.frame(dir, typ, flags, id, s.buf[9:9+length])
			if h.dead {
				return
			}
			s.buf = s.buf[9+length:]
		}
		if len(s.buf) == 0 {
			s.buf = nil
		}
	}
}

func (h *h2conn) frame(dir int, typ, flags byte, id uint32, p []byte) {
	s := &h.side[dir]
	if s.inBlock && typ != frameContinuation {
		h.kill() // RFC 9113 section 6.10: nothing may interleave a header block
		return
	}
	switch typ {
	case frameHeaders:
		if flags&flagPadded != 0 {
			if len(p) < 1 || int(p[0]) > len(p)-1 {
				h.kill()
				return
			}
			p = p[1 : len(p)-int(p[0])]
		}
		if flags&flagPriority != 0 {
			if len(p) < 5 {
				h.kill()
				return
			}
			p = p[5:]
		}
		s.block = append(s.block[:0], p...)
		s.blockID, s.blockEnd, s.inBlock = id, flags&flagEndStream != 0, true
		if flags&flagEndHeaders != 0 {
			h.headerBlock(dir)
		}
	case frameContinuation:
		if !s.inBlock || id != s.blockID || len(s.block)+len(p) > maxHeaderBlock {
			h.kill()
			return
		}
		s.block = append(s.block, p...)
		if flags&flagEndHeaders != 0 {
			h.headerBlock(dir)
		}
	case frameRSTStream:
		if len(p) >= 4 {
			if st := h.streams[id]; st != nil {
				st.req.ResetCode = int(binary.BigEndian.Uint32(p))
				h.finishStream(id, st)
			}
		}
	case frameSettings:
		if flags&0x1 != 0 { // ACK
			return
		}
		for i := 0; i+6 <= len(p); i += 6 {
			if binary.BigEndian.Uint16(p[i:]) == 0x1 { // SETTINGS_HEADER_TABLE_SIZE: the peer's encoder may use up to this
				v := min(binary.BigEndian.Uint32(p[i+2:]), 1<<20)
				other := &h.side[1-dir]
				other.tableSize = v
				other.dec.SetAllowedMaxDynamicTableSize(max(v, 4096))
			}
		}
	}
}

func (h *h2conn) headerBlock(dir int) {
	s := &h.side[dir]
	s.inBlock = false
	fields, err := s.dec.DecodeFull(s.block)
	s.block = s.block[:0]
	if err != nil {
		h.kill() // the dynamic table is now out of step with the peer's
		return
	}
	get := func(name string) string {
		name = strings.ToLower(name)
		for _, f := range fields {
			if f.Name == name {
				return f.Value
			}
		}
		return ""
	}
	id := s.blockID
	st := h.streams[id]
	if dir == 0 {
		if st != nil || len(h.streams) >= maxStreamsOpen {
			return // request trailers, or too many open streams
		}
		st = &h2stream{req: investigate.NetExchange{
			Client: h.client, Server: h.server, Proto: "h2", Method: get(":method"), Path: get(":path"),
			GRPCStatus: -1, ResetCode: -1, Start: h.cur.t, ReqPacket: h.cur.n,
		}}
		if strings.HasPrefix(get("content-type"), "application/grpc") {
			st.grpc, st.req.Proto, st.req.Method = true, "grpc", "gRPC"
		}
		st.req.TraceID, st.req.CorrelationID = ids(get)
		st.req.Host = get(":authority")
		h.streams[id] = st
		return
	}
	if st == nil {
		return
	}
	if !st.gotHeaders {
		st.gotHeaders = true
		st.req.Status, _ = strconv.Atoi(get(":status"))
		st.req.RespPacket = h.cur.n
		if !st.grpc {
			st.req.End = h.cur.t // HTTP latency: to the response's first packet, as tshark's http2.time
		}
	}
	if g := get("grpc-status"); g != "" {
		st.req.GRPCStatus, _ = strconv.Atoi(g)
	}
	if s.blockEnd {
		h.endStream(dir, id)
	}
}

// endStream: END_STREAM from the server completes the exchange.
func (h *h2conn) endStream(dir int, id uint32) {
	if dir != 1 {
		return
	}
	if st := h.streams[id]; st != nil {
		h.finishStream(id, st)
	}
}

func (h *h2conn) finishStream(id uint32, st *h2stream) {
	delete(h.streams, id)
	if st.req.End.IsZero() && (st.gotHeaders || st.req.ResetCode >= 0) {
		st.req.End = h.cur.t
		if st.req.RespPacket == 0 {
			st.req.RespPacket = h.cur.n
		}
	}
	if st.grpc && st.req.GRPCStatus < 0 && st.gotHeaders && st.req.ResetCode < 0 {
		st.req.GRPCStatus = 2 // a gRPC response without grpc-status is UNKNOWN (grpc/doc/http-grpc-status-mapping.md)
	}
	h.emit(st.req)
}

func (h *h2conn) gap(int) { h.kill() }

// close emits the streams still open: requests with no complete response in the capture.
func (h *h2conn) close() {
	ids := make([]uint32, 0, len(h.streams))
	for id := range h.streams {
		ids = append(ids, id)
	}
	sortU32(ids)
	for _, id := range ids {
		st := h.streams[id]
		if !st.gotHeaders {
			st.req.End = time.Time{}
		}
		h.emit(st.req)
	}
	h.streams = nil
}

func sortU32(s []uint32) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
