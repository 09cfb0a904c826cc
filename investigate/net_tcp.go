package investigate

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// NetAnalyzer consumes a capture's packets in order and keeps, per open TCP connection, the state
// Wireshark's TCP analysis keeps (next expected sequence number and last ACK per direction), folding
// each finished connection into its server's totals. Its memory is bounded by the open connections, the
// connection rows kept for the report and a reservoir of latency samples per endpoint.
type NetAnalyzer struct {
	o         NetOptions
	packets   int64
	first     time.Time
	last      time.Time
	conns     map[connKey]*tcpConn
	servers   map[netip.AddrPort]*serverAgg
	endpoints map[endpointKey]*endpointAgg
	rows      []NetConnection
	omitted   int
	flows     int
	exchanges int
	warnings  []string
	sinceSwp  int
	rng       *rand.Rand
	dropped   int
}

type connKey struct{ a, b netip.AddrPort }

func keyOf(x, y netip.AddrPort) connKey {
	if x.Compare(y) < 0 {
		return connKey{x, y}
	}
	return connKey{y, x}
}

type tcpDir struct {
	seqInit  bool
	nextSeq  uint32
	ackInit  bool
	lastAck  uint32
	lastWin  uint16
	bytes    int64
	dataSegs int
	fin      bool
}

type tcpConn struct {
	client, server        netip.AddrPort
	start, last           time.Time
	firstN                int64
	synSeen, synAckSeen   bool
	synTime, synAckTime   time.Time
	established           bool
	rtt                   time.Duration
	dir                   [2]tcpDir // 0: client to server, 1: server to client
	packets               int
	retransmits, synRetx  int
	dupAcks, zeroWin      int
	resets                int
	resetBy, resetState   string
	refused               bool
	requests              int
	proto                 string
	retxN, resetN, zeroWN []int64
	retxT, resetT         time.Time
}

const evidencePackets = 10

func appendN(s []int64, n int64) []int64 {
	if len(s) < evidencePackets {
		return append(s, n)
	}
	return s
}

// seqAfter reports whether a comes after b in sequence space (RFC 1323 wrap-around).
func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }

// NewNetAnalyzer starts an analysis.
func NewNetAnalyzer(o NetOptions) *NetAnalyzer {
	d := DefaultNetOptions()
	if o.SlowMs <= 0 {
		o.SlowMs = d.SlowMs
	}
	if o.MinRequests <= 0 {
		o.MinRequests = d.MinRequests
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = d.MaxConnections
	}
	return &NetAnalyzer{
		o: o, conns: map[connKey]*tcpConn{}, servers: map[netip.AddrPort]*serverAgg{},
		endpoints: map[endpointKey]*endpointAgg{}, rng: rand.New(rand.NewPCG(1, 2)),
	}
}

// Packet counts a packet of any protocol and extends the window.
func (a *NetAnalyzer) Packet(t time.Time) {
	a.packets++
	if a.first.IsZero() || t.Before(a.first) {
		a.first = t
	}
	if t.After(a.last) {
		a.last = t
	}
}

// Warn records a warning for the report (a damaged or cut capture, state limits reached).
func (a *NetAnalyzer) Warn(format string, args ...any) {
	if len(a.warnings) < 20 {
		a.warnings = append(a.warnings, fmt.Sprintf(format, args...))
	}
}

const maxOpenConns = 1 << 20

// Segment analyses one TCP segment.
func (a *NetAnalyzer) Segment(s TCPSegment) {
	k := keyOf(s.Src, s.Dst)
	c := a.conns[k]
	isSYN := s.Flags.Has(FlagSYN) && !s.Flags.Has(FlagACK)
	if c != nil && isSYN && (c.resets > 0 || (c.dir[0].fin && c.dir[1].fin)) && c.client == s.Src {
		a.fold(k, c) // the 4-tuple is reused by a new connection
		c = nil
	}
	if c == nil {
		if len(a.conns) >= maxOpenConns {
			a.sweep(s.Time, 30*time.Second)
			if len(a.conns) >= maxOpenConns {
				a.dropped++
				return
			}
		}
		c = &tcpConn{start: s.Time, firstN: s.N}
		switch {
		case isSYN:
			c.client, c.server = s.Src, s.Dst
		case s.Flags.Has(FlagSYN | FlagACK):
			c.client, c.server = s.Dst, s.Src
		case s.Src.Port() < s.Dst.Port() || (s.Src.Port() == s.Dst.Port() && s.Src.Addr().Less(s.Dst.Addr())):
			// Mid-connection: take the lower port as the server, as Wireshark's conversation table does.
			c.client, c.server = s.Dst, s.Src
		default:
			c.client, c.server = s.Src, s.Dst
		}
		a.conns[k] = c
		a.flows++
	}
	a.track(c, s)
	if a.sinceSwp++; a.sinceSwp >= 1<<16 {
		a.sinceSwp = 0
		a.sweep(s.Time, 5*time.Minute)
	}
}

func (a *NetAnalyzer) track(c *tcpConn, s TCPSegment) {
	c.packets++
	c.last = s.Time
	d := 0
	if s.Src != c.client {
		d = 1
	}
	me, peer := &c.dir[d], &c.dir[1-d]
	syn, fin, rst := s.Flags.Has(FlagSYN), s.Flags.Has(FlagFIN), s.Flags.Has(FlagRST)
	switch {
	case syn && !s.Flags.Has(FlagACK) && d == 0:
		if !c.synSeen {
			c.synSeen, c.synTime = true, s.Time
		}
	case syn && s.Flags.Has(FlagACK) && d == 1:
		if !c.synAckSeen {
			c.synAckSeen, c.synAckTime = true, s.Time
		}
	case d == 0 && c.synAckSeen && !c.established && s.Flags.Has(FlagACK) && !rst:
		c.established = true
		if c.synSeen {
			// Wireshark's iRTT: SYN to the ACK of the SYN/ACK, as seen where the capture was taken.
			c.rtt = s.Time.Sub(c.synTime)
		}
	}
	if rst {
		c.resets++
		if c.resets == 1 {
			c.resetBy = "client"
			if d == 1 {
				c.resetBy = "server"
			}
			c.resetState = c.state()
			c.resetT = s.Time
			if d == 1 && c.synSeen && !c.synAckSeen {
				c.refused = true
			}
		}
		c.resetN = appendN(c.resetN, s.N)
		return
	}
	// Sequence analysis: a segment that carries sequence space (data, SYN, FIN) and ends at or before
	// what this direction already sent is a retransmission; a 1-byte probe just below it is a keep-alive.
	span := uint32(s.Len)
	if syn {
		span++
	}
	if fin {
		span++
	}
	if span > 0 {
		end := s.Seq + span
		keepAlive := s.Len <= 1 && !syn && !fin && me.seqInit && s.Seq == me.nextSeq-1
		if me.seqInit && !seqAfter(end, me.nextSeq) && !keepAlive {
			c.retransmits++
			if syn {
				c.synRetx++
			}
			if c.retxT.IsZero() {
				c.retxT = s.Time
			}
			c.retxN = appendN(c.retxN, s.N)
		} else if !me.seqInit || seqAfter(end, me.nextSeq) {
			me.nextSeq, me.seqInit = end, true
		}
		if s.Len > 0 {
			me.dataSegs++
			me.bytes += int64(s.Len)
		}
	}
	if fin {
		me.fin = true
	}
	if s.Flags.Has(FlagACK) {
		pure := s.Len == 0 && !syn && !fin
		if pure && me.ackInit && s.Ack == me.lastAck && s.Window == me.lastWin && peer.seqInit && seqAfter(peer.nextSeq, s.Ack) {
			c.dupAcks++
		}
		me.ackInit, me.lastAck, me.lastWin = true, s.Ack, s.Window
	}
	if s.Window == 0 && !syn {
		c.zeroWin++
		c.zeroWN = appendN(c.zeroWN, s.N)
	}
}

// state names the connection's state as netstat would on the client side.
func (c *tcpConn) state() string {
	switch {
	case c.dir[0].fin && c.dir[1].fin:
		return "CLOSING"
	case c.dir[0].fin || c.dir[1].fin:
		return "FIN_WAIT"
	case c.established || (!c.synSeen && c.packets > 1):
		return "ESTABLISHED"
	case c.synAckSeen:
		return "SYN_RECEIVED"
	case c.synSeen:
		return "SYN_SENT"
	}
	return "UNKNOWN"
}

// sweep folds connections idle for longer than idle, and finished ones idle for two seconds.
func (a *NetAnalyzer) sweep(now time.Time, idle time.Duration) {
	for k, c := range a.conns {
		gone := now.Sub(c.last)
		if gone > idle || ((c.resets > 0 || (c.dir[0].fin && c.dir[1].fin)) && gone > 2*time.Second) {
			a.fold(k, c)
		}
	}
}

func (a *NetAnalyzer) server(addr netip.AddrPort) *serverAgg {
	s := a.servers[addr]
	if s == nil {
		s = &serverAgg{addr: addr}
		a.servers[addr] = s
	}
	return s
}

// fold closes a connection's books: its totals go to its server, its row to the connection table.
func (a *NetAnalyzer) fold(k connKey, c *tcpConn) {
	delete(a.conns, k)
	s := a.server(c.server)
	s.add(c)
	state := c.state()
	if c.resets > 0 {
		state = "RESET"
	}
	if c.refused {
		state = "REFUSED"
	}
	a.rows = append(a.rows, NetConnection{
		Client: c.client.String(), Server: c.server.String(), Start: c.start,
		DurationMs: Ms(c.last.Sub(c.start)), Packets: c.packets,
		BytesToSrv: c.dir[0].bytes, BytesToCli: c.dir[1].bytes, RTTMs: Ms(c.rtt),
		Retransmits: c.retransmits, DupAcks: c.dupAcks, ZeroWindows: c.zeroWin, Resets: c.resets,
		ResetBy: c.resetBy, State: state, Refused: c.refused, Requests: c.requests, Proto: c.proto,
		FirstPacket: c.firstN,
	})
	if len(a.rows) > 4*a.o.MaxConnections {
		a.trimRows(2 * a.o.MaxConnections)
	}
}

// badness orders connection rows: refused, reset, lossy, then busiest.
func badness(r NetConnection) int64 {
	var b int64
	if r.Refused {
		b += 1 << 40
	}
	b += int64(r.Resets) << 32
	b += int64(r.Retransmits+r.ZeroWindows+r.DupAcks) << 20
	return b + int64(r.Packets)
}

func (a *NetAnalyzer) trimRows(n int) {
	slices.SortStableFunc(a.rows, func(x, y NetConnection) int {
		if c := cmp.Compare(badness(y), badness(x)); c != 0 {
			return c
		}
		return cmp.Compare(x.FirstPacket, y.FirstPacket)
	})
	if len(a.rows) > n {
		a.omitted += len(a.rows) - n
		a.rows = a.rows[:n]
	}
}

// Mark tells the analyzer which application protocol a connection carries ("http/1.1", "h2", "tls").
func (a *NetAnalyzer) Mark(client, server netip.AddrPort, proto string) {
	if c := a.conns[keyOf(client, server)]; c != nil && c.proto == "" {
		c.proto = proto
		if proto == "tls" {
			a.server(server).tls++
		}
	}
}
