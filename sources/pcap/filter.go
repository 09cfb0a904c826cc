package pcap

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Filter is a capture filter in tcpdump's syntax, for the forms people type to narrow a capture: host,
// net (CIDR or "mask"), port and portrange with src/dst qualifiers, the protocols ip, ip6, tcp, udp and
// icmp, and/or/not (also &&, ||, !) with parentheses. tcpdump compiles filters with libpcap into BPF;
// calling libpcap needs cgo, which dbg does not use, so these forms are evaluated here on the decoded
// headers. Any other form (byte offsets such as tcp[13], vlan, ether, greater/less) is refused with an
// error rather than approximated.
type Filter struct{ root node }

// PacketInfo is what a filter looks at.
type PacketInfo struct {
	IPv6     bool
	Proto    uint8 // IP protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6
	Src, Dst netip.Addr
	// SrcPort and DstPort are 0 for protocols without ports.
	SrcPort, DstPort uint16
}

// Match reports whether the packet passes. A nil filter passes everything.
func (f *Filter) Match(p PacketInfo) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.match(p)
}

type node interface{ match(PacketInfo) bool }

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ n node }

func (n andNode) match(p PacketInfo) bool { return n.l.match(p) && n.r.match(p) }
func (n orNode) match(p PacketInfo) bool  { return n.l.match(p) || n.r.match(p) }
func (n notNode) match(p PacketInfo) bool { return !n.n.match(p) }

type dirQ int

const (
	dirAny dirQ = iota
	dirSrc
	dirDst
	dirBoth
)

type prim struct {
	proto  string // "", ip, ip6, tcp, udp, icmp
	dir    dirQ
	typ    string // host, net, port, portrange, or "" for a bare protocol
	prefix netip.Prefix
	lo, hi uint16
}

func (q prim) match(p PacketInfo) bool {
	switch q.proto {
	case "ip":
		if p.IPv6 {
			return false
		}
	case "ip6":
		if !p.IPv6 {
			return false
		}
	case "tcp":
		if p.Proto != 6 {
			return false
		}
	case "udp":
		if p.Proto != 17 {
			return false
		}
	case "icmp":
		if p.Proto != 1 && p.Proto != 58 {
			return false
		}
	}
	switch q.typ {
	case "":
		return true
	case "host", "net":
		return q.side(q.prefix.Contains(p.Src.Unmap()), q.prefix.Contains(p.Dst.Unmap()))
	default: // port, portrange
		if p.Proto != 6 && p.Proto != 17 {
			return false
		}
		in := func(x uint16) bool { return x >= q.lo && x <= q.hi }
		return q.side(in(p.SrcPort), in(p.DstPort))
	}
}

func (q prim) side(src, dst bool) bool {
	switch q.dir {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return src && dst
	}
	return src || dst
}

// ParseFilter parses a tcpdump filter expression; an empty one matches everything.
func ParseFilter(expr string) (*Filter, error) {
	toks := tokenize(expr)
	if len(toks) == 0 {
		return &Filter{}, nil
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err == nil && p.i < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.i])
	}
	if err != nil {
		return nil, fmt.Errorf("--filter %q: %w (supported: host, net, port, portrange with src/dst, ip, ip6, tcp, udp, icmp, and/or/not; libpcap's BPF compiler needs cgo, so other forms are not evaluated)", expr, err)
	}
	return &Filter{root: n}, nil
}

func tokenize(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			out = append(out, string(c))
			i++
		case c == '!' && (i+1 >= len(s) || s[i+1] != '='):
			out = append(out, "not")
			i++
		case strings.HasPrefix(s[i:], "&&"):
			out = append(out, "and")
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			out = append(out, "or")
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()!&|", rune(s[j])) {
				j++
			}
			if j == i {
				out = append(out, s[i:i+1])
				j++
			}
			out = append(out, strings.ToLower(s[i:j]))
			i = j
		}
	}
	return out
}

type parser struct {
	toks []string
	i    int
	last prim // qualifiers carried to a bare id, as tcpdump does ("port 80 or 443")
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	for err == nil && p.peek() == "or" {
		p.i++
		var r node
		if r, err = p.and(); err == nil {
			l = orNode{l, r}
		}
	}
	return l, err
}

func (p *parser) and() (node, error) {
	l, err := p.unary()
	for err == nil && p.peek() == "and" {
		p.i++
		var r node
		if r, err = p.unary(); err == nil {
			l = andNode{l, r}
		}
	}
	return l, err
}

func (p *parser) unary() (node, error) {
	switch p.peek() {
	case "not":
		p.i++
		n, err := p.unary()
		return notNode{n}, err
	case "(":
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		return n, nil
	case "":
		return nil, fmt.Errorf("expression ends early")
	}
	return p.primitive()
}

func (p *parser) primitive() (node, error) {
	q := prim{}
	explicit := false
	if t := p.peek(); t == "ip" || t == "ip6" || t == "tcp" || t == "udp" || t == "icmp" {
		q.proto, explicit = t, true
		p.i++
	}
	switch p.peek() {
	case "src", "dst":
		q.dir, explicit = dirSrc, true
		if p.peek() == "dst" {
			q.dir = dirDst
		}
		p.i++
		if t := p.peek(); t == "or" || t == "and" {
			// "src or dst port 80", "src and dst host h"
			if p.i+1 < len(p.toks) && (p.toks[p.i+1] == "src" || p.toks[p.i+1] == "dst") {
				q.dir = dirAny
				if t == "and" {
					q.dir = dirBoth
				}
				p.i += 2
			}
		}
	}
	switch t := p.peek(); t {
	case "host", "net", "port", "portrange":
		q.typ, explicit = t, true
		p.i++
	default:
		if !explicit {
			if t == "" || isKeyword(t) {
				return nil, fmt.Errorf("unsupported filter form %q", t)
			}
			// A bare id keeps the previous primitive's qualifiers, or is a host.
			q = p.last
			if q.typ == "" {
				q.typ = "host"
			}
		} else if q.dir == dirAny && q.typ == "" {
			return q, nil // a bare protocol: "tcp"
		} else if q.typ == "" {
			q.typ = "host"
		}
	}
	id := p.peek()
	if id == "" || isKeyword(id) {
		return nil, fmt.Errorf("%s needs a value", q.typ)
	}
	p.i++
	var err error
	switch q.typ {
	case "host":
		var a netip.Addr
		if a, err = netip.ParseAddr(id); err != nil {
			return nil, fmt.Errorf("host %q: want an IP address (names are not resolved)", id)
		}
		q.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	case "net":
		q.prefix, err = p.network(id)
	case "port":
		var n uint64
		if n, err = strconv.ParseUint(id, 10, 16); err != nil {
			return nil, fmt.Errorf("port %q: want a number 0-65535 (service names are not resolved)", id)
		}
		q.lo, q.hi = uint16(n), uint16(n)
	case "portrange":
		lo, hi, ok := strings.Cut(id, "-")
		a, e1 := strconv.ParseUint(lo, 10, 16)
		b, e2 := strconv.ParseUint(hi, 10, 16)
		if !ok || e1 != nil || e2 != nil || a > b {
			return nil, fmt.Errorf("portrange %q: want LOW-HIGH", id)
		}
		q.lo, q.hi = uint16(a), uint16(b)
	}
	if err != nil {
		return nil, err
	}
	p.last = q
	return q, nil
}

func (p *parser) network(id string) (netip.Prefix, error) {
	if strings.Contains(id, "/") {
		pf, err := netip.ParsePrefix(id)
		if err != nil {
			return pf, fmt.Errorf("net %q: want a CIDR such as 10.0.0.0/8", id)
		}
		return pf.Masked(), nil
	}
	a, err := netip.ParseAddr(id)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("net %q: want a CIDR such as 10.0.0.0/8", id)
	}
	bits := a.BitLen()
	if p.peek() == "mask" {
		p.i++
		m, err := netip.ParseAddr(p.peek())
		if err != nil || !m.Is4() || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("net %s mask: want an IPv4 mask", id)
		}
		p.i++
		b := m.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		bits = 0
		for v&(1<<31) != 0 {
			bits++
			v <<= 1
		}
		if v != 0 {
			return netip.Prefix{}, fmt.Errorf("net %s mask %s: not a contiguous mask", id, m)
		}
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

func isKeyword(t string) bool {
	switch t {
	case "and", "or", "not", "(", ")", "src", "dst", "host", "net", "port", "portrange", "mask",
		"ip", "ip6", "tcp", "udp", "icmp":
		return true
	}
	return false
}
