package pcapgen

import (
	"fmt"
	"net/netip"
	"time"
)

// Servers of the Incident capture, each with one fault (or none).
var (
	Client     = netip.MustParseAddr("10.99.0.2")
	Healthy    = netip.MustParseAddrPort("10.99.0.10:8080")
	Slow       = netip.MustParseAddrPort("10.99.0.11:8080")
	Failing    = netip.MustParseAddrPort("10.99.0.12:8080")
	Closed     = netip.MustParseAddrPort("10.99.0.13:9000")
	Resetting  = netip.MustParseAddrPort("10.99.0.14:8080")
	Lossy      = netip.MustParseAddrPort("10.99.0.15:8080")
	GRPC       = netip.MustParseAddrPort("10.99.0.16:50051")
	TLSBroken  = netip.MustParseAddrPort("10.99.0.17:443")
	IncidentAt = time.Date(2026, 11, 3, 3, 40, 0, 0, time.UTC)
)

// TraceID is the traceparent trace ID the n-th generated request carries.
func TraceID(n int) string { return fmt.Sprintf("4bf92f3577b34da6a3ce929d%08x", n) }

// Incident writes a capture where each server above shows its fault: Healthy answers quickly over
// keep-alive (requests pipelined two at a time), Slow answers GET /orders/{id} after 400 ms, Failing
// answers 503 to a third of its requests, nothing listens on Closed, Resetting resets each connection
// after the request, Lossy's segments are retransmitted (every fifth), GRPC answers UNAVAILABLE (14) to
// a quarter of its calls over h2c, and TLSBroken rejects the handshake with a handshake_failure alert.
func Incident(w *Writer, rounds int) error {
	at := IncidentAt
	port := uint16(40000)
	next := func() netip.AddrPort {
		if port++; port > 60000 { // ephemeral ports wrap, as a long-running client's do
			port = 20000
		}
		return netip.AddrPortFrom(Client, port)
	}
	n := 0
	for r := 0; r < rounds; r++ {
		at = at.Add(50 * time.Millisecond)
		// Healthy: keep-alive, two pipelined requests then two responses.
		c := w.Dial(next(), Healthy, at, 300*time.Microsecond)
		for i := 0; i < 2; i++ {
			n++
			c.Send(true, append(HTTPRequest("GET", fmt.Sprintf("/items/%d", 100+n), TraceID(n)), HTTPRequest("GET", "/health", "")...), time.Millisecond, nil)
			c.Send(false, append(HTTPResponse(200, "ok item", i == 1), HTTPResponse(200, "ok", false)...), 2*time.Millisecond, nil)
		}
		if err := c.Close(); err != nil {
			return err
		}
		// Slow.
		n++
		c = w.Dial(next(), Slow, at, 300*time.Microsecond)
		c.Send(true, HTTPRequest("GET", fmt.Sprintf("/orders/%d", 5000+r), TraceID(n)), time.Millisecond, nil)
		c.Send(false, HTTPResponse(200, `{"id":1}`, false), 400*time.Millisecond, nil)
		if err := c.Close(); err != nil {
			return err
		}
		// Failing.
		n++
		c = w.Dial(next(), Failing, at, 300*time.Microsecond)
		c.Send(true, HTTPRequest("POST", "/pay", TraceID(n)), time.Millisecond, nil)
		status := 200
		if r%3 == 0 {
			status = 503
		}
		c.Send(false, HTTPResponse(status, "upstream", false), 3*time.Millisecond, nil)
		if err := c.Close(); err != nil {
			return err
		}
		// Closed.
		if err := w.Refused(next(), Closed, at.Add(time.Millisecond)); err != nil {
			return err
		}
		// Resetting.
		n++
		c = w.Dial(next(), Resetting, at, 300*time.Microsecond)
		c.Send(true, HTTPRequest("GET", "/stock", TraceID(n)), time.Millisecond, nil)
		if err := c.Reset(true); err != nil {
			return err
		}
		// Lossy: a large response, every fifth segment sent twice.
		n++
		c = w.Dial(next(), Lossy, at, 300*time.Microsecond)
		c.Send(true, HTTPRequest("GET", "/report", TraceID(n)), time.Millisecond, nil)
		body := make([]byte, 10*1448)
		for i := range body {
			body[i] = 'a' + byte(i%26)
		}
		c.Send(false, HTTPResponse(200, string(body), false), 2*time.Millisecond, map[int]bool{0: true, 5: true})
		if err := c.Close(); err != nil {
			return err
		}
		// gRPC over h2c: one call per round.
		n++
		c = w.Dial(next(), GRPC, at, 300*time.Microsecond)
		h := NewH2()
		req := append(Preface(), h.Headers(0, 1, false, ":method", "POST", ":scheme", "http", ":path", "/shop.Inventory/Reserve",
			":authority", "10.99.0.16:50051", "content-type", "application/grpc", "traceparent", "00-"+TraceID(n)+"-00f067aa0ba902b7-01")...)
		req = append(req, Data(1, true, []byte{0, 0, 0, 0, 2, 8, 1})...)
		c.Send(true, req, time.Millisecond, nil)
		code := "0"
		if r%4 == 0 {
			code = "14"
		}
		resp := append(Frame(0x4, 0, 0, nil), h.Headers(1, 1, false, ":status", "200", "content-type", "application/grpc")...)
		resp = append(resp, Data(1, false, []byte{0, 0, 0, 0, 0})...)
		resp = append(resp, h.Headers(1, 1, true, "grpc-status", code, "grpc-message", "no stock service")...)
		c.Send(false, resp, 5*time.Millisecond, nil)
		if err := c.Close(); err != nil {
			return err
		}
		// TLS refused by the server.
		if r%5 == 0 {
			c = w.Dial(next(), TLSBroken, at, 300*time.Microsecond)
			c.Send(true, TLSClientHello("payments.internal"), time.Millisecond, nil)
			c.Send(false, TLSAlert(2, 40), time.Millisecond, nil)
			if err := c.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}
