package pcap

import (
	"bufio"
	"bytes"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// HTTP/1.x: each direction is a sequence of messages (header block, then a body framed by
// Content-Length, chunked encoding, or the connection's close). Requests wait in a FIFO and each final
// response takes the oldest, which is what HTTP/1.1 pipelining guarantees (RFC 9112 section 9.3.2).
// Bodies are counted, never kept.

const maxHeader = 64 << 10

type h1state int

const (
	h1Headers h1state = iota
	h1Body            // remaining bytes of a Content-Length body
	h1ChunkSize
	h1ChunkData
	h1ChunkCRLF
	h1Trailer
	h1UntilClose
	h1Resync // bytes were lost: look for the next message start
	h1Dead
)

type h1dir struct {
	st        h1state
	hdr       []byte
	hdrN      int64
	hdrT      time.Time
	remaining int64
	line      []byte
}

type h1req struct {
	method, path string
	proto        string
	n            int64
	t            time.Time
	trace, corr  string
	host         string
}

type h1conn struct {
	client, server netip.AddrPort
	d              [2]h1dir
	pending        []h1req
	emit           func(investigate.NetExchange)
	switched       bool
}

func newH1(client, server netip.AddrPort, emit func(investigate.NetExchange)) *h1conn {
	return &h1conn{client: client, server: server, emit: emit}
}

func (h *h1conn) data(dir int, c chunk) {
	b := c.data
	d := &h.d[dir]
	for len(b) > 0 && d.st != h1Dead {
		switch d.st {
		case h1Resync:
			i := h.messageStart(dir, b)
			if i < 0 {
				return
			}
			b = b[i:]
			d.st = h1Headers
		case h1Headers:
			if len(d.hdr) == 0 {
				// Tolerate the blank lines RFC 9112 section 2.2 allows before a message.
				for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
					b = b[1:]
				}
				if len(b) == 0 {
					return
				}
				d.hdrN, d.hdrT = c.n, c.t
			}
			prev := len(d.hdr)
			d.hdr = append(d.hdr, b...)
			end := bytes.Index(d.hdr, []byte("\r\n\r\n"))
			sep := 4
			if end < 0 {
				if end = bytes.Index(d.hdr, []byte("\n\n")); end >= 0 {
					sep = 2
				}
			}
			if end < 0 {
				if len(d.hdr) > maxHeader {
					d.st = h1Resync
					d.hdr = d.hdr[:0]
				}
				return
			}
			consumed := end + sep - prev
			block := d.hdr[:end]
			d.hdr = d.hdr[:0]
			b = b[consumed:]
			if dir == 0 {
				h.request(block, d)
			} else {
				h.response(block, d)
			}
		case h1Body:
			n := min(int64(len(b)), d.remaining)
			b = b[n:]
			if d.remaining -= n; d.remaining == 0 {
				d.st = h1Headers
			}
		case h1UntilClose:
			return
		case h1ChunkSize, h1Trailer:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				d.line = append(d.line, b...)
				if len(d.line) > 4096 {
					d.st = h1Resync
				}
				return
			}
			line := strings.TrimSpace(string(append(d.line, b[:i]...)))
			d.line = d.line[:0]
			b = b[i+1:]
			if d.st == h1Trailer {
				if line == "" {
					d.st = h1Headers
				}
				continue
			}
			sz := line
			if j := strings.IndexByte(sz, ';'); j >= 0 {
				sz = sz[:j]
			}
			n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
			switch {
			case err != nil || n < 0:
				d.st = h1Resync
			case n == 0:
				d.st = h1Trailer
			default:
				d.st, d.remaining = h1ChunkData, n
			}
		case h1ChunkData:
			n := min(int64(len(b)), d.remaining)
			b = b[n:]
			if d.remaining -= n; d.remaining == 0 {
				d.st, d.remaining = h1ChunkCRLF, 2
			}
		case h1ChunkCRLF:
			for d.remaining > 0 && len(b) > 0 {
				if b[0] == '\n' {
					d.remaining = 0
				} else {
					d.remaining--
				}
				b = b[1:]
			}
			if d.remaining == 0 {
				d.st = h1ChunkSize
			}
		}
	}
}

// messageStart finds the start of the next request line (client) or status line (server).
func (h *h1conn) messageStart(dir int, b []byte) int {
	for i := 0; i < len(b); i++ {
		if i > 0 && b[i-1] != '\n' {
			continue
		}
		rest := b[i:]
		if dir == 1 && bytes.HasPrefix(rest, []byte("HTTP/1.")) {
			return i
		}
		if dir == 0 {
			if sp := bytes.IndexByte(rest, ' '); sp > 0 && sp < 8 && isMethod(rest[:sp]) {
				return i
			}
		}
	}
	return -1
}

func parseHeaders(block []byte) (string, textproto.MIMEHeader) {
	first, rest, _ := bytes.Cut(block, []byte("\n"))
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(bytes.TrimRight(rest, "\r\n"), "\r\n\r\n"...))))
	hdr, _ := r.ReadMIMEHeader() // a damaged header keeps the fields read before the damage
	return strings.TrimRight(string(first), "\r"), hdr
}

// bodyFraming sets what follows a header block: a sized body, a chunked one, none, or bytes until close.
func bodyFraming(d *h1dir, hdr textproto.MIMEHeader, untilClose bool) {
	d.st = h1Headers
	if te := strings.ToLower(hdr.Get("Transfer-Encoding")); strings.Contains(te, "chunked") {
		d.st = h1ChunkSize
		return
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64); err == nil && n > 0 {
			d.st, d.remaining = h1Body, n
		}
		return
	}
	if untilClose {
		d.st = h1UntilClose
	}
}

func (h *h1conn) request(block []byte, d *h1dir) {
	line, hdr := parseHeaders(block)
	parts := strings.SplitN(line, " ", 3)
	if len(parts) < 2 || !isMethod([]byte(parts[0])) {
		d.st = h1Resync
		return
	}
	r := h1req{method: parts[0], path: parts[1], proto: "http/1.1", n: d.hdrN, t: d.hdrT}
	if len(parts) == 3 && strings.HasPrefix(parts[2], "HTTP/1.0") {
		r.proto = "http/1.0"
	}
	r.trace, r.corr = ids(hdr.Get)
	r.host = hdr.Get("Host")
	if len(h.pending) < 10000 {
		h.pending = append(h.pending, r)
	}
	bodyFraming(d, hdr, false)
}

func (h *h1conn) response(block []byte, d *h1dir) {
	line, hdr := parseHeaders(block)
	parts := strings.SplitN(line, " ", 3)
	code := 0
	if len(parts) >= 2 && strings.HasPrefix(parts[0], "HTTP/1.") {
		code, _ = strconv.Atoi(parts[1])
	}
	if code < 100 || code > 999 {
		d.st = h1Resync
		return
	}
	if code >= 100 && code < 200 && code != 101 {
		d.st = h1Headers // 100 Continue and friends precede the final response
		return
	}
	var req *h1req
	if len(h.pending) > 0 {
		r := h.pending[0]
		h.pending = h.pending[1:]
		req = &r
	}
	if req != nil {
		h.emit(investigate.NetExchange{
			Client: h.client, Server: h.server, Proto: req.proto, Method: req.method, Path: req.path,
			Status: code, GRPCStatus: -1, ResetCode: -1, Start: req.t, End: d.hdrT,
			ReqPacket: req.n, RespPacket: d.hdrN, TraceID: req.trace, CorrelationID: req.corr, Host: req.host,
		})
	}
	switch {
	case code == 101:
		// The connection switched protocols (WebSocket, h2c upgrade): nothing more is HTTP/1.
		h.d[0].st, h.d[1].st = h1Dead, h1Dead
	case (req != nil && req.method == "HEAD") || code == 204 || code == 304:
		d.st = h1Headers
	default:
		bodyFraming(d, hdr, true)
	}
}

// ids takes the trace ID from W3C traceparent (or B3, Jaeger's uber-trace-id) and the correlation ID
// from X-Correlation-ID or X-Request-ID.
func ids(get func(string) string) (trace, corr string) {
	if tp := get("traceparent"); tp != "" {
		if p := strings.Split(tp, "-"); len(p) >= 4 && len(p[1]) == 32 {
			trace = p[1]
		}
	}
	if trace == "" {
		if b3 := get("X-B3-TraceId"); b3 != "" {
			trace = b3
		} else if b3 := get("b3"); b3 != "" {
			trace, _, _ = strings.Cut(b3, "-")
		} else if u := get("uber-trace-id"); u != "" {
			trace, _, _ = strings.Cut(u, ":")
		}
	}
	corr = get("X-Correlation-Id")
	if corr == "" {
		corr = get("X-Request-Id")
	}
	if len(trace) > 64 {
		trace = trace[:64]
	}
	if len(corr) > 128 {
		corr = corr[:128]
	}
	return trace, corr
}

// gap: bytes are missing in one direction. The requests waiting for responses can no longer be paired
// with certainty, so they are dropped (not counted as unanswered) and both directions resynchronise.
func (h *h1conn) gap(dir int) {
	h.pending = h.pending[:0]
	for i := range h.d {
		if h.d[i].st != h1Dead {
			h.d[i].st = h1Resync
			h.d[i].hdr = h.d[i].hdr[:0]
		}
	}
}

// close reports the requests that never got a response.
func (h *h1conn) close() {
	for _, r := range h.pending {
		h.emit(investigate.NetExchange{
			Client: h.client, Server: h.server, Proto: r.proto, Method: r.method, Path: r.path,
			GRPCStatus: -1, ResetCode: -1, Start: r.t, ReqPacket: r.n, TraceID: r.trace, CorrelationID: r.corr, Host: r.host,
		})
	}
	h.pending = nil
}
