package tracegen

import (
	"fmt"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// DBWindow is the half hour DBWorkload's incident traces fall in; the half hour before it is the
// baseline.
var DBWindow = investigate.Window{
	Start: Epoch, End: Epoch.Add(30 * time.Minute),
	BaselineStart: Epoch.Add(-30 * time.Minute), BaselineEnd: Epoch,
}

// DB workload statements with known answers, as fingerprints.
const (
	// DBSlowQuery is the planted slow query: it took ~3ms in the baseline and ~450ms in the window (an
	// index dropped, so PostgreSQL scans orders sequentially).
	DBSlowQuery = "SELECT id, status, total, created_at FROM orders WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?"
	// DBNPlusOne is the planted N+1: the baseline loaded an order's products with one IN query; the window
	// loads them one query per line, 30 per request.
	DBNPlusOne = "SELECT id, name, price FROM products WHERE id = ?"
	// DBOldLoop is a small loop present in both windows (8 flag lookups a request): an N+1 that ranks
	// below the planted one.
	DBOldLoop = "SELECT value FROM feature_flags WHERE name = ?"
	// DBSearch is slow in both windows (a leading-wildcard ILIKE): a slow_query that ranks below the
	// planted one.
	DBSearch = "SELECT id, name, price FROM products WHERE name ILIKE ? ORDER BY name LIMIT ?"
)

// DBWorkload builds the bundled database incident: traces of an orders service and a catalog service
// over DBWindow and its baseline. In the window,
//   - GET /api/customers/{id}/orders runs DBSlowQuery at ~450ms (3ms in the baseline),
//   - GET /api/orders/{id} runs DBNPlusOne 30 times per request (one IN query in the baseline),
//   - both windows loop over feature flags (DBOldLoop) and run a slow product search (DBSearch),
//   - users are loaded with a $1 placeholder (a statement that cannot be explained from the trace).
func DBWorkload(seed uint64) []*investigate.Trace {
	var out []*investigate.Trace
	n := 0
	for _, incident := range []bool{false, true} {
		t0 := DBWindow.BaselineStart
		if incident {
			t0 = DBWindow.Start
		}
		// Interleave the endpoints over the half hour, as real traffic would.
		for k := 0; k < 12; k++ {
			at := t0.Add(time.Duration(k)*145*time.Second + 3*time.Second)
			out = append(out, orderTrace(seed+uint64(n), n, at, incident))
			n++
			if k < 8 {
				out = append(out, customerOrdersTrace(seed+uint64(n), n, at.Add(20*time.Second), incident))
				n++
			}
			if k%2 == 0 {
				out = append(out, catalogTrace(seed+uint64(n), n, at.Add(40*time.Second)))
				n++
			}
		}
	}
	return out
}

func dbTraceID(n int) string { return fmt.Sprintf("d0b0%028x", n+1) }

func pg(stmt string) []investigate.Attr {
	return []investigate.Attr{attr("db.system", "postgresql"), attr("db.name", "shop"), attr("db.statement", stmt),
		attr("server.address", "pg-primary.shop.svc"), attr("network.peer.port", "5432")}
}

// frontend wraps a service's server span in a frontend request, so the endpoint of a query is the
// nearest server span (the service's), not the root.
func (b *builder) frontend(route, svc string, dur time.Duration) int {
	root := b.span(-1, "frontend", "GET "+route, investigate.KindServer, 0, dur,
		attr("http.request.method", "GET"), attr("http.route", route), attr("http.response.status_code", "200"))
	cli := b.span(root, "frontend", "GET "+route, investigate.KindClient, ms, dur-2*ms,
		attr("http.request.method", "GET"), attr("peer.service", svc), attr("url.full", "http://"+svc+":8080/api"+route))
	return cli
}

func orderTrace(seed uint64, n int, at time.Time, incident bool) *investigate.Trace {
	b := newBuilder(seed, dbTraceID(n), at)
	const srv, cli = investigate.KindServer, investigate.KindClient
	orderID := 5000 + n*13
	lines := 30
	dur := 40*ms + 8*8*ms
	if incident {
		dur += time.Duration(lines) * 4 * ms
	}
	c := b.frontend("/orders/{id}", "orders", dur)
	h := b.span(c, "orders", "GET /api/orders/{id}", srv, 2*ms, dur-4*ms,
		attr("http.request.method", "GET"), attr("http.route", "/api/orders/{id}"))
	off := 3 * ms
	d := b.jitter(2*ms, 0.2)
	b.span(h, "orders", "SELECT orders", cli, off, d, pg(fmt.Sprintf("SELECT id, customer_id, status, total FROM orders WHERE id = %d", orderID))...)
	off += d + ms/4
	d = b.jitter(time.Millisecond, 0.2)
	b.span(h, "orders", "SELECT users", cli, off, d, pg("SELECT id, email, name FROM users WHERE id = $1")...)
	off += d + ms/4
	for k := 0; k < 8; k++ {
		d = b.jitter(7*ms, 0.1)
		b.span(h, "orders", "SELECT feature_flags", cli, off, d, pg(fmt.Sprintf("SELECT value FROM feature_flags WHERE name = 'flag_%d'", k))...)
		off += d + ms/4
	}
	if incident {
		for k := 0; k < lines; k++ {
			d = b.jitter(3*ms, 0.25)
			b.span(h, "orders", "SELECT products", cli, off, d, pg(fmt.Sprintf("SELECT id, name, price FROM products WHERE id = %d", 100+(orderID+k*37)%900))...)
			off += d + ms/2
		}
	} else {
		ids := make([]string, lines)
		for k := range ids {
			ids[k] = fmt.Sprint(100 + (orderID+k*37)%900)
		}
		d = b.jitter(6*ms, 0.2)
		b.span(h, "orders", "SELECT products", cli, off, d, pg("SELECT id, name, price FROM products WHERE id IN ("+strings.Join(ids, ", ")+")")...)
	}
	return b.tr
}

func customerOrdersTrace(seed uint64, n int, at time.Time, incident bool) *investigate.Trace {
	b := newBuilder(seed, dbTraceID(n), at)
	const srv, cli = investigate.KindServer, investigate.KindClient
	customer := 1 + (n*7919)%20000
	q := 3 * ms
	if incident {
		q = b.jitter(450*ms, 0.15)
	}
	dur := q + 20*ms
	c := b.frontend("/customers/{id}/orders", "orders", dur)
	h := b.span(c, "orders", "GET /api/customers/{id}/orders", srv, 2*ms, dur-4*ms,
		attr("http.request.method", "GET"), attr("http.route", "/api/customers/{id}/orders"))
	b.span(h, "orders", "SELECT orders", cli, 3*ms, q, pg(fmt.Sprintf(
		"SELECT id, status, total, created_at\n  FROM orders\n WHERE customer_id = %d\n ORDER BY created_at DESC\n LIMIT 20", customer))...)
	b.span(h, "orders", "UPDATE customers", cli, 4*ms+q, 2*ms, pg(fmt.Sprintf("UPDATE customers SET last_seen_at = now() WHERE id = %d", customer))...)
	return b.tr
}

func catalogTrace(seed uint64, n int, at time.Time) *investigate.Trace {
	b := newBuilder(seed, dbTraceID(n), at)
	const srv, cli = investigate.KindServer, investigate.KindClient
	terms := []string{"shoe", "lamp", "desk", "mug", "sock"}
	q := b.jitter(120*ms, 0.1)
	dur := q + 15*ms
	c := b.frontend("/search", "catalog", dur)
	h := b.span(c, "catalog", "GET /api/search", srv, 2*ms, dur-4*ms,
		attr("http.request.method", "GET"), attr("http.route", "/api/search"))
	b.span(h, "catalog", "SELECT categories", cli, 3*ms, 4*ms, pg("/* catalog:categories */ SELECT id, name FROM categories ORDER BY name")...)
	b.span(h, "catalog", "SELECT products", cli, 8*ms, q, pg(fmt.Sprintf("SELECT id, name, price FROM products WHERE name ILIKE '%%%s%%' ORDER BY name LIMIT 50", terms[n%len(terms)]))...)
	b.span(h, "catalog", "INSERT audit_log", cli, 9*ms+q, ms, pg(fmt.Sprintf("INSERT INTO audit_log (actor, action, at) VALUES ('u-%d', 'search', now())", n))...)
	return b.tr
}
