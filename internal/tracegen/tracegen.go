// Package tracegen builds realistic traces with known answers for tests, fixtures and benchmarks: the
// bundled checkout trace (an N+1, a slow downstream call and an error) and large traces of any size.
// Everything is deterministic for a seed.
package tracegen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// Epoch is the start of generated traces: fixed, so fixtures and golden files do not change.
var Epoch = time.Date(2026, 11, 3, 3, 12, 0, 0, time.UTC)

type builder struct {
	tr  *investigate.Trace
	rng *rand.Rand
	t0  time.Time
	ids uint64
	res map[string]investigate.Attrs
}

func newBuilder(seed uint64, traceID string, t0 time.Time) *builder {
	return &builder{
		tr:  &investigate.Trace{ID: traceID},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		t0:  t0,
		res: map[string]investigate.Attrs{},
	}
}

func (b *builder) resource(svc string) investigate.Attrs {
	if r, ok := b.res[svc]; ok {
		return r
	}
	r := investigate.Attrs{
		{Key: "service.name", Value: svc}, {Key: "service.version", Value: "1.14.2"},
		{Key: "host.name", Value: svc + "-7d9f8b6c5-x2k4p"}, {Key: "telemetry.sdk.language", Value: "go"},
	}
	b.res[svc] = r
	return r
}

// span adds a span starting at offset from the trace start and returns its index.
func (b *builder) span(parent int, svc, op string, kind investigate.SpanKind, offset, dur time.Duration, attrs ...investigate.Attr) int {
	b.ids++
	s := investigate.Span{
		TraceID:   b.tr.ID,
		SpanID:    fmt.Sprintf("%016x", b.ids*0x9e3779b1+uint64(len(b.tr.Spans))),
		Service:   svc,
		Operation: op,
		Kind:      kind,
		// Microsecond precision: what Jaeger JSON can carry, so both fixture formats hold the same trace.
		Start:    b.t0.Add(offset).Round(time.Microsecond),
		Duration: dur.Round(time.Microsecond),
		Attrs:    append(investigate.Attrs{{Key: "span.kind", Value: kind.String()}}, attrs...),
		Resource: b.resource(svc),
	}
	if parent >= 0 {
		s.ParentID = b.tr.Spans[parent].SpanID
	}
	b.tr.Spans = append(b.tr.Spans, s)
	return len(b.tr.Spans) - 1
}

func (b *builder) fail(i int, typ, msg string) {
	s := &b.tr.Spans[i]
	s.Status = investigate.StatusError
	s.StatusMessage = msg
	s.Attrs = append(s.Attrs, investigate.Attr{Key: "error", Value: "true"})
	s.Events = append(s.Events, investigate.Event{
		Name: "exception", Time: s.End().Add(-time.Millisecond),
		Attrs: investigate.Attrs{{Key: "exception.type", Value: typ}, {Key: "exception.message", Value: msg}},
	})
}

func (b *builder) jitter(d time.Duration, pct float64) time.Duration {
	return d + time.Duration((b.rng.Float64()*2-1)*pct*float64(d))
}

func attr(k, v string) investigate.Attr { return investigate.Attr{Key: k, Value: v} }

const ms = time.Millisecond

// Checkout is the bundled incident trace: a checkout request where
//   - inventory loads cart items one query at a time (an N+1 of 12 sequential SELECTs),
//   - payment waits ~620ms on fraud-check (the slow downstream on the critical path),
//   - shipping's Redis lookup fails and the error propagates up to the frontend (the error origin),
//   - recommendations fans out 6 concurrent calls (a fan-out, not an N+1).
func Checkout(seed uint64) *investigate.Trace {
	b := newBuilder(seed, "4bf92f3577b34da6a3ce929d0e0e4736", Epoch)
	const srv, cli = investigate.KindServer, investigate.KindClient
	root := b.span(-1, "frontend", "GET /checkout", srv, 0, 1180*ms,
		attr("http.request.method", "GET"), attr("http.route", "/checkout"), attr("http.response.status_code", "500"),
		attr("user.tier", "gold"), attr("correlation_id", "c0ffee-42"))
	call := b.span(root, "frontend", "POST /api/checkout", cli, 4*ms, 1168*ms,
		attr("http.request.method", "POST"), attr("url.full", "http://checkout:8080/api/checkout"), attr("peer.service", "checkout"),
		attr("http.response.status_code", "500"))
	co := b.span(call, "checkout", "POST /api/checkout", srv, 6*ms, 1162*ms,
		attr("http.request.method", "POST"), attr("http.route", "/api/checkout"), attr("http.response.status_code", "500"))
	b.fail(co, "ShippingQuoteError", "shipping quote failed: upstream returned 503")

	// Inventory: one query for the cart, then one query per item (the N+1).
	invCall := b.span(co, "checkout", "GET /api/cart/{id}/items", cli, 10*ms, 128*ms,
		attr("http.request.method", "GET"), attr("url.full", "http://inventory:8080/api/cart/991/items"), attr("peer.service", "inventory"))
	inv := b.span(invCall, "inventory", "GET /api/cart/{id}/items", srv, 11*ms, 126*ms,
		attr("http.request.method", "GET"), attr("http.route", "/api/cart/{id}/items"))
	b.span(inv, "inventory", "SELECT cart_items", cli, 12*ms, 6*ms, attr("db.system", "postgresql"),
		attr("db.statement", "SELECT item_id, qty FROM cart_items WHERE cart_id = 991"), attr("db.name", "shop"))
	at := 19 * ms
	for k := 0; k < 12; k++ {
		d := b.jitter(8*ms, 0.2)
		b.span(inv, "inventory", "SELECT items", cli, at, d, attr("db.system", "postgresql"), attr("db.name", "shop"),
			attr("db.statement", fmt.Sprintf("SELECT id, name, price FROM items WHERE id = %d", 1040+k*7)))
		at += d + ms/2
	}

	// Payment: the slow downstream.
	payCall := b.span(co, "checkout", "POST /api/pay", cli, 142*ms, 690*ms,
		attr("http.request.method", "POST"), attr("url.full", "http://payment:8080/api/pay"), attr("peer.service", "payment"))
	pay := b.span(payCall, "payment", "POST /api/pay", srv, 143*ms, 687*ms, attr("http.route", "/api/pay"), attr("http.request.method", "POST"))
	b.span(pay, "payment", "SELECT accounts", cli, 146*ms, 9*ms, attr("db.system", "postgresql"),
		attr("db.statement", "SELECT balance FROM accounts WHERE user_id = 'u-1138'"))
	fraudCall := b.span(pay, "payment", "POST /score", cli, 158*ms, 624*ms,
		attr("http.request.method", "POST"), attr("url.full", "http://fraud-check:8080/score"), attr("peer.service", "fraud-check"))
	fraud := b.span(fraudCall, "fraud-check", "POST /score", srv, 160*ms, 620*ms, attr("http.route", "/score"))
	b.span(fraud, "fraud-check", "model.evaluate", investigate.KindInternal, 165*ms, 40*ms)
	b.span(pay, "payment", "POST /v1/charges", cli, 785*ms, 42*ms, attr("http.request.method", "POST"),
		attr("url.full", "https://gateway.example/v1/charges"), attr("peer.service", "gateway"))

	// Recommendations: six concurrent calls (fan-out).
	rec := b.span(co, "checkout", "recommendations", investigate.KindInternal, 840*ms, 95*ms)
	for k := 0; k < 6; k++ {
		b.span(rec, "checkout", "GET /api/recs/{id}", cli, 842*ms+time.Duration(k)*ms, b.jitter(85*ms, 0.05),
			attr("http.request.method", "GET"), attr("http.route", "/api/recs/{id}"), attr("peer.service", "recs"))
	}

	// Shipping: Redis fails, shipping answers 503, checkout fails.
	shipCall := b.span(co, "checkout", "GET /api/quote", cli, 940*ms, 226*ms,
		attr("http.request.method", "GET"), attr("url.full", "http://shipping:8080/api/quote?zip=94107"), attr("peer.service", "shipping"),
		attr("http.response.status_code", "503"))
	ship := b.span(shipCall, "shipping", "GET /api/quote", srv, 942*ms, 222*ms, attr("http.route", "/api/quote"), attr("http.response.status_code", "503"))
	b.fail(ship, "UpstreamUnavailable", "redis unavailable")
	redis := b.span(ship, "shipping", "GET", cli, 944*ms, 215*ms, attr("db.system", "redis"), attr("db.statement", "GET quote:94107"),
		attr("peer.service", "redis"))
	b.fail(redis, "redis.PoolTimeoutError", "redis: connection pool timeout after 200ms")
	return b.tr
}

// Large builds a trace of about n spans shaped like a busy batch request: a root fanning out to
// services, each doing sequential and concurrent work, with database calls and some errors. Span
// attributes are sized like real instrumentation (~500 bytes a span in Jaeger JSON).
func Large(n int, seed uint64, traceID string) *investigate.Trace {
	b := newBuilder(seed, traceID, Epoch)
	services := []string{"frontend", "checkout", "inventory", "payment", "shipping", "catalog", "users", "search"}
	total := time.Duration(n) * 50 * time.Microsecond
	root := b.span(-1, "frontend", "POST /api/batch", investigate.KindServer, 0, total,
		attr("http.request.method", "POST"), attr("http.route", "/api/batch"), attr("http.response.status_code", "200"))
	parents := []int{root}
	for len(b.tr.Spans) < n {
		p := parents[b.rng.IntN(len(parents))]
		ps := &b.tr.Spans[p]
		off := ps.Start.Sub(b.t0) + time.Duration(b.rng.Float64()*float64(ps.Duration)*0.8)
		maxDur := ps.End().Sub(b.t0) - off
		d := time.Duration(b.rng.Float64() * float64(maxDur))
		svc := services[b.rng.IntN(len(services))]
		switch b.rng.IntN(4) {
		case 0:
			i := b.span(p, svc, "SELECT orders", investigate.KindClient, off, d, attr("db.system", "postgresql"),
				attr("db.statement", fmt.Sprintf("SELECT id, status, total FROM orders WHERE customer_id = %d AND created_at > now() - interval '30 days'", b.rng.IntN(100000))),
				attr("db.name", "shop"), attr("server.address", "pg-primary.shop.svc.cluster.local"), attr("network.peer.port", "5432"))
			if b.rng.IntN(200) == 0 {
				b.fail(i, "pq.Error", "canceling statement due to statement timeout")
			}
		case 1:
			i := b.span(p, svc, "GET /api/items/{id}", investigate.KindClient, off, d, attr("http.request.method", "GET"),
				attr("url.full", fmt.Sprintf("http://%s.shop.svc.cluster.local:8080/api/items/%d", svc, b.rng.IntN(1e6))),
				attr("http.response.status_code", "200"), attr("peer.service", svc), attr("network.protocol.version", "1.1"))
			parents = append(parents, i)
		default:
			i := b.span(p, svc, "process", investigate.KindInternal, off, d, attr("thread.name", "worker-7"),
				attr("code.function", "github.com/shop/"+svc+"/internal/handler.(*Handler).Process"), attr("code.lineno", "142"))
			parents = append(parents, i)
		}
		if len(parents) > 4096 {
			parents = parents[len(parents)-2048:]
		}
	}
	return b.tr
}
