package pcap

import (
	"bytes"
	"net/netip"
	"slices"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// Each TCP connection's two byte streams are put back in sequence order (retransmitted bytes dropped,
// segments that arrive early held in a small queue) and handed to the connection's protocol decoder.
// When bytes are missing from the capture for good, the decoder is told of the gap and resynchronises
// (HTTP/1) or stops (HTTP/2: the HPACK state is lost with the bytes).

const (
	maxQueued     = 64        // early segments held per direction before a gap is declared
	maxQueueBytes = 512 << 10 // and their bytes
	maxStreams    = 1 << 18
)

type chunk struct {
	n    int64
	t    time.Time
	data []byte
}

type early struct {
	seq uint32
	chunk
}

type half struct {
	init   bool
	next   uint32
	queue  []early
	queued int
	fin    bool
}

// app is a protocol decoder over one connection. dir 0 is client to server.
type app interface {
	data(dir int, c chunk)
	gap(dir int)
	close()
}

type stream struct {
	client, server netip.AddrPort
	dir            [2]half
	app            app
	detect         [2][]byte
	first          [2]chunk // the first chunk of each direction's detect bytes, for its time
	decided        bool
	last           time.Time
}

type streams struct {
	a     *investigate.NetAnalyzer
	m     map[connKey]*stream
	count int
	gaps  int
	h2bad int
}

type connKey struct{ a, b netip.AddrPort }

func keyOf(x, y netip.AddrPort) connKey {
	if x.Compare(y) < 0 {
		return connKey{x, y}
	}
	return connKey{y, x}
}

func newStreams(a *investigate.NetAnalyzer) *streams {
	return &streams{a: a, m: map[connKey]*stream{}}
}

func (ss *streams) segment(seg investigate.TCPSegment, payload []byte) {
	k := keyOf(seg.Src, seg.Dst)
	s := ss.m[k]
	syn := seg.Flags.Has(investigate.FlagSYN)
	if s != nil && syn && !seg.Flags.Has(investigate.FlagACK) && s.client == seg.Src && (s.dir[0].fin || s.dir[0].init && s.dir[0].next != seg.Seq+1) {
		ss.end(k, s) // a new connection on a reused 4-tuple
		s = nil
	}
	if s == nil {
		if len(payload) == 0 && !syn {
			return // a bare ACK, FIN or RST of a connection we never saw carry data
		}
		if len(ss.m) >= maxStreams {
			ss.sweep(seg.Time, 30*time.Second)
			if len(ss.m) >= maxStreams {
				return
			}
		}
		s = &stream{}
		switch {
		case syn && !seg.Flags.Has(investigate.FlagACK):
			s.client, s.server = seg.Src, seg.Dst
		case syn:
			s.client, s.server = seg.Dst, seg.Src
		case seg.Src.Port() < seg.Dst.Port():
			s.client, s.server = seg.Dst, seg.Src
		default:
			s.client, s.server = seg.Src, seg.Dst
		}
		ss.m[k] = s
	}
	s.last = seg.Time
	d := 0
	if seg.Src != s.client {
		d = 1
	}
	h := &s.dir[d]
	if syn {
		h.init, h.next = true, seg.Seq+1
	} else if !h.init && len(payload) > 0 {
		h.init, h.next = true, seg.Seq
	}
	if len(payload) > 0 {
		ss.deliver(s, d, seg.Seq, chunk{n: seg.N, t: seg.Time, data: payload})
	}
	if seg.Flags.Has(investigate.FlagFIN) {
		h.fin = true
	}
	if seg.Flags.Has(investigate.FlagRST) || (s.dir[0].fin && s.dir[1].fin) {
		ss.end(k, s)
	}
	if ss.count++; ss.count >= 1<<16 {
		ss.count = 0
		ss.sweep(seg.Time, 5*time.Minute)
	}
}

// seqDiff is a-b in sequence space.
func seqDiff(a, b uint32) int32 { return int32(a - b) }

func (ss *streams) deliver(s *stream, d int, seq uint32, c chunk) {
	h := &s.dir[d]
	off := seqDiff(h.next, seq)
	switch {
	case off > 0: // starts before what we have: a retransmission, perhaps with new bytes at the end
		if int(off) >= len(c.data) {
			return
		}
		c.data = c.data[off:]
	case off < 0: // bytes before it are missing so far: hold it
		if len(h.queue) < maxQueued && h.queued+len(c.data) <= maxQueueBytes {
			c.data = bytes.Clone(c.data)
			h.queue = append(h.queue, early{seq: seq, chunk: c})
			h.queued += len(c.data)
			return
		}
		// The queue is full: the missing bytes are not in the capture. Skip to the earliest held segment.
		ss.skip(s, d)
		ss.deliver(s, d, seq, c)
		return
	}
	ss.feed(s, d, c)
	h.next += uint32(len(c.data))
	ss.drain(s, d)
}

// drain delivers held segments that have become contiguous.
func (ss *streams) drain(s *stream, d int) {
	h := &s.dir[d]
	for len(h.queue) > 0 {
		i := slices.IndexFunc(h.queue, func(e early) bool { return seqDiff(e.seq, h.next) <= 0 })
		if i < 0 {
			return
		}
		e := h.queue[i]
		h.queue = slices.Delete(h.queue, i, i+1)
		h.queued -= len(e.data)
		if off := seqDiff(h.next, e.seq); int(off) < len(e.data) {
			e.data = e.data[off:]
			ss.feed(s, d, e.chunk)
			h.next += uint32(len(e.data))
		}
	}
}

// skip declares the bytes before the earliest held segment lost and resumes there.
func (ss *streams) skip(s *stream, d int) {
	h := &s.dir[d]
	if len(h.queue) == 0 {
		return
	}
	lo := h.queue[0].seq
	for _, e := range h.queue[1:] {
		if seqDiff(e.seq, lo) < 0 {
			lo = e.seq
		}
	}
	ss.gaps++
	if s.app != nil {
		s.app.gap(d)
	}
	h.next = lo
	ss.drain(s, d)
}

func (ss *streams) feed(s *stream, d int, c chunk) {
	if s.decided {
		if s.app != nil {
			s.app.data(d, c)
		}
		return
	}
	if len(s.detect[d]) == 0 {
		s.first[d] = c
	}
	s.detect[d] = append(s.detect[d], c.data...)
	// The client's first bytes name the protocol. A server may speak first (an HTTP/2 server's SETTINGS
	// can reach the wire before the client's preface), so unknown server bytes wait for the client's.
	kind, sure := "", false
	if len(s.detect[0]) > 0 {
		kind, sure = detect(0, s.detect[0])
		sure = sure || len(s.detect[0]) >= 64
	} else {
		kind, sure = detect(1, s.detect[1])
		sure = kind != "" || len(s.detect[1]) >= 16<<10
	}
	if !sure {
		return
	}
	s.decided = true
	bufs, first := s.detect, s.first
	s.detect, s.first = [2][]byte{}, [2]chunk{}
	if s.app = ss.newApp(s, kind); s.app == nil {
		return
	}
	for dir := 0; dir < 2; dir++ {
		if len(bufs[dir]) > 0 {
			s.app.data(dir, chunk{n: first[dir].n, t: first[dir].t, data: bufs[dir]})
		}
	}
}

func (ss *streams) newApp(s *stream, kind string) app {
	if kind == "" {
		return nil
	}
	ss.a.Mark(s.client, s.server, kind)
	emit := ss.a.Exchange
	switch kind {
	case "http/1.1":
		return newH1(s.client, s.server, emit)
	case "h2":
		return newH2(s.client, s.server, emit, func() { ss.h2bad++ })
	case "tls":
		return newTLS(s.client, s.server, ss.a.TLS)
	}
	return nil
}

var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// detect names the protocol from a stream's first bytes, and whether it is sure yet.
func detect(d int, b []byte) (string, bool) {
	if d == 0 {
		if len(b) < len(h2Preface) && bytes.HasPrefix(h2Preface, b) {
			return "", false
		}
		if bytes.HasPrefix(b, h2Preface) {
			return "h2", true
		}
	}
	if len(b) >= 3 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 {
		return "tls", true
	}
	if d == 1 {
		if bytes.HasPrefix(b, []byte("HTTP/1.")) {
			return "http/1.1", true
		}
		return "", false
	}
	if d == 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			return "", len(b) >= 16
		}
		if isMethod(b[:sp]) {
			return "http/1.1", true
		}
	}
	return "", true
}

func isMethod(m []byte) bool {
	switch string(m) {
	case "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE":
		return true
	}
	return false
}

func (ss *streams) end(k connKey, s *stream) {
	for d := 0; d < 2; d++ {
		for len(s.dir[d].queue) > 0 {
			ss.skip(s, d)
		}
	}
	if s.app != nil {
		s.app.close()
	}
	delete(ss.m, k)
}

func (ss *streams) sweep(now time.Time, idle time.Duration) {
	for k, s := range ss.m {
		if now.Sub(s.last) > idle {
			ss.end(k, s)
		}
	}
}

func (ss *streams) finish() {
	keys := make([]connKey, 0, len(ss.m))
	for k := range ss.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y connKey) int {
		if c := x.a.Compare(y.a); c != 0 {
			return c
		}
		return x.b.Compare(y.b)
	})
	for _, k := range keys {
		ss.end(k, ss.m[k])
	}
	if ss.gaps > 0 {
		ss.a.Warn("%d gaps in TCP byte streams (packets missing from the capture): the requests around them are not paired", ss.gaps)
	}
	if ss.h2bad > 0 {
		ss.a.Warn("%d HTTP/2 connections stopped decoding at a gap or damaged frame (HPACK state is lost with missing bytes)", ss.h2bad)
	}
}
