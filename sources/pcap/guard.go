package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxBlock bounds one pcapng block: a packet of the largest snapshot length tcpdump takes (262144)
// plus options fits many times over.
const maxBlock = 4 << 20

// maxSnap is the snapshot length the readers are held to: gopacket sizes its packet buffer from the
// file's declared snapshot length, so a damaged header must not make it allocate gigabytes.
const maxSnap = 1 << 20

// ngGuard passes a pcapng stream through block by block, refusing blocks whose lengths disagree with
// their contents before gopacket's reader sizes a buffer from them, and clamping interface snapshot
// lengths. It parses only the framing (type, length, byte order); gopacket parses the rest.
type ngGuard struct {
	r     io.Reader
	buf   []byte
	off   int
	order binary.ByteOrder
	err   error
}

var errCorrupt = errors.New("corrupt pcapng block")

func (g *ngGuard) Read(p []byte) (int, error) {
	if g.off >= len(g.buf) {
		if g.err != nil {
			return 0, g.err
		}
		if err := g.next(); err != nil {
			g.err = err
			if g.off >= len(g.buf) {
				return 0, err
			}
		}
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

func (g *ngGuard) next() error {
	g.buf, g.off = g.buf[:0], 0
	var hdr [12]byte
	n, err := io.ReadFull(g.r, hdr[:8])
	if err != nil {
		if n > 0 {
			g.buf = append(g.buf, hdr[:n]...)
			return io.ErrUnexpectedEOF
		}
		return err
	}
	typ := hdr[0:4]
	if binary.LittleEndian.Uint32(typ) == 0x0A0D0D0A { // section header: its byte-order magic follows
		if _, err := io.ReadFull(g.r, hdr[8:12]); err != nil {
			return io.ErrUnexpectedEOF
		}
		switch binary.LittleEndian.Uint32(hdr[8:12]) {
		case 0x1A2B3C4D:
			g.order = binary.LittleEndian
		case 0x4D3C2B1A:
			g.order = binary.BigEndian
		default:
			return errCorrupt
		}
	}
	if g.order == nil {
		return errCorrupt
	}
	length := g.order.Uint32(hdr[4:8])
	if length < 12 || length > maxBlock || length%4 != 0 {
		return fmt.Errorf("%w: length %d", errCorrupt, length)
	}
	if cap(g.buf) < int(length) {
		g.buf = make([]byte, 0, length)
	}
	g.buf = g.buf[:length]
	head := 8
	if binary.LittleEndian.Uint32(typ) == 0x0A0D0D0A {
		head = 12
	}
	copy(g.buf, hdr[:head])
	if m, err := io.ReadFull(g.r, g.buf[head:]); err != nil {
		g.buf = g.buf[:head+m]
		return io.ErrUnexpectedEOF
	}
	body := g.buf[8 : length-4]
	switch g.order.Uint32(typ) {
	case 1: // interface description: clamp the snapshot length
		if len(body) < 8 {
			return errCorrupt
		}
		if s := g.order.Uint32(body[4:8]); s == 0 || s > maxSnap {
			g.order.PutUint32(body[4:8], maxSnap)
		}
	case 6: // enhanced packet: captured length must fit the block
		if len(body) < 20 || int(g.order.Uint32(body[12:16])) > len(body)-20 {
			return errCorrupt
		}
	case 3: // simple packet: gopacket takes the original length as captured
		if len(body) < 4 || int(g.order.Uint32(body[0:4])) > len(body)-4 {
			return errCorrupt
		}
	case 2: // obsolete packet block
		if len(body) < 20 || int(g.order.Uint32(body[12:16])) > len(body)-20 {
			return errCorrupt
		}
	}
	return nil
}
