package pcap

import (
	"encoding/binary"
	"net/netip"

	"github.com/dbgtool/dbg/investigate"
)

// TLS: only the clear-text part of a handshake is read (record headers, the ClientHello's server name,
// the ServerHello, alerts sent before encryption starts). Once application data flows the rest is
// encrypted and skipped; dbg says so instead of guessing at what it carries.

type tlsSide struct {
	hdr     []byte // a record header being assembled
	skip    int    // record bytes still to skip
	body    []byte // the first bytes of the current record's body
	want    int
	typ     byte
	changed bool // ChangeCipherSpec sent: later records are encrypted
}

type tlsConn struct {
	client, server netip.AddrPort
	side           [2]tlsSide
	emit           func(investigate.TLSEvent)
	hello, shello  bool
	failed, done   bool
	cur            chunk
}

func newTLS(client, server netip.AddrPort, emit func(investigate.TLSEvent)) *tlsConn {
	return &tlsConn{client: client, server: server, emit: emit}
}

func (t *tlsConn) event(dir int, kind string) investigate.TLSEvent {
	return investigate.TLSEvent{
		N: t.cur.n, Time: t.cur.t, Client: t.client, Server: t.server, Kind: kind, FromServer: dir == 1,
		AlertLevel: -1, AlertDescription: -1,
	}
}

func (t *tlsConn) data(dir int, c chunk) {
	if t.done {
		return
	}
	t.cur = c
	s := &t.side[dir]
	b := c.data
	for len(b) > 0 && !t.done {
		if s.skip > 0 {
			take := min(s.skip, len(b))
			if need := s.want - len(s.body); need > 0 {
				s.body = append(s.body, b[:min(need, take)]...)
			}
			s.skip -= take
			b = b[take:]
			if len(s.body) == s.want && s.want > 0 {
				t.record(dir, s.typ, s.body)
				s.want = 0
			}
			continue
		}
		need := 5 - len(s.hdr)
		take := min(need, len(b))
		s.hdr = append(s.hdr, b[:take]...)
		b = b[take:]
		if len(s.hdr) < 5 {
			return
		}
		typ, length := s.hdr[0], int(binary.BigEndian.Uint16(s.hdr[3:5]))
		s.hdr = s.hdr[:0]
		if typ < 20 || typ > 24 || length > 1<<14+2048 {
			t.done = true // not TLS records (or out of step): stop reading
			return
		}
		s.typ, s.skip, s.body = typ, length, s.body[:0]
		s.want = min(length, 512) // enough for an alert, a ServerHello, or a ClientHello's SNI
		if length == 0 {
			continue
		}
	}
}

func (t *tlsConn) record(dir int, typ byte, body []byte) {
	s := &t.side[dir]
	switch typ {
	case 20:
		s.changed = true
	case 21:
		if len(body) == 2 && !s.changed {
			e := t.event(dir, "alert")
			e.AlertLevel, e.AlertDescription = int(body[0]), int(body[1])
			if t.hello {
				e.SNI = ""
			}
			if e.AlertLevel == 2 {
				t.failed = true
			}
			t.emit(e)
		}
	case 22:
		if s.changed || len(body) < 1 {
			return
		}
		switch {
		case body[0] == 1 && dir == 0 && !t.hello:
			t.hello = true
			e := t.event(dir, "client_hello")
			e.SNI = sni(body)
			t.emit(e)
		case body[0] == 2 && dir == 1:
			t.shello = true
		}
	case 23:
		t.emit(t.event(dir, "encrypted"))
		t.done = true
	}
}

// sni reads the server_name extension of a ClientHello (RFC 8446 section 4.1.2, RFC 6066 section 3).
func sni(b []byte) string {
	p := 4 + 2 + 32 // handshake header, legacy_version, random
	next := func(lenBytes int) bool {
		if p+lenBytes > len(b) {
			return false
		}
		n := 0
		for i := 0; i < lenBytes; i++ {
			n = n<<8 | int(b[p+i])
		}
		p += lenBytes + n
		return p <= len(b)
	}
	if !next(1) || !next(2) || !next(1) { // session id, cipher suites, compression methods
		return ""
	}
	if p+2 > len(b) {
		return ""
	}
	end := min(p+2+int(binary.BigEndian.Uint16(b[p:])), len(b))
	p += 2
	for p+4 <= end {
		typ, n := binary.BigEndian.Uint16(b[p:]), int(binary.BigEndian.Uint16(b[p+2:]))
		p += 4
		if typ == 0 && p+5 <= end && p+n <= end {
			l := int(binary.BigEndian.Uint16(b[p+3:]))
			if p+5+l <= end && b[p+2] == 0 {
				return string(b[p+5 : p+5+l])
			}
			return ""
		}
		p += n
	}
	return ""
}

func (t *tlsConn) gap(int) { t.done = true }

// close: a ClientHello answered by neither a ServerHello nor an alert is an abandoned handshake.
func (t *tlsConn) close() {
	if t.hello && !t.shello && !t.failed {
		e := t.event(0, "abandoned")
		t.emit(e)
	}
}
