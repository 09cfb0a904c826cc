package investigate

import (
	"fmt"
	"strings"
	"testing"
)

func TestPeerPrecedenceOldAndNewNames(t *testing.T) {
	cases := []struct {
		name  string
		attrs []string
		want  string
	}{
		{"new service name wins", []string{"service.peer.name", "billing", "peer.service", "old", "server.address", "h"}, "billing"},
		{"old service name", []string{"peer.service", "payment-gateway", "http.url", "https://api.payment-gateway.example/v1/charge"}, "payment-gateway"},
		{"server.address with port", []string{"server.address", "db.internal", "server.port", "5432", "db.system", "postgresql"}, "db.internal:5432"},
		{"net.peer.name (old) with port", []string{"net.peer.name", "cache", "net.peer.port", "6379", "db.system", "redis"}, "cache:6379"},
		{"host of url.full", []string{"url.full", "https://api.payment-gateway.example/v1/charges?x=1", "http.request.method", "POST"}, "api.payment-gateway.example"},
		{"host of http.url (old)", []string{"http.url", "http://inventory:8080/items", "http.method", "GET"}, "inventory:8080"},
		{"db system and namespace (new)", []string{"db.system.name", "postgresql", "db.namespace", "shop"}, "postgresql/shop"},
		{"db.system (old)", []string{"db.system", "mysql"}, "mysql"},
		{"OpenTracing db.type and db.instance", []string{"db.type", "sql", "db.instance", "orders"}, "sql/orders"},
		{"rpc service", []string{"rpc.system", "grpc", "rpc.service", "hipstershop.CartService", "rpc.method", "GetCart"}, "hipstershop.CartService"},
		{"messaging system and destination", []string{"messaging.system", "kafka", "messaging.destination.name", "orders"}, "kafka/orders"},
		{"peer address last", []string{"network.peer.address", "10.0.0.7", "network.peer.port", "443"}, "10.0.0.7:443"},
		{"old socket address", []string{"net.sock.peer.addr", "10.0.0.8"}, "10.0.0.8"},
		{"a path is not a host", []string{"http.target", "/api/x"}, ""},
		{"nothing", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sp("a", "", 0, 10, kind(KindClient), withAttrs(c.attrs...))
			if got := Peer(&s); got != c.want {
				t.Errorf("Peer = %q, want %q", got, c.want)
			}
		})
	}
}

func TestSlowSpansGroupByPeerAndNameUninstrumentedDependency(t *testing.T) {
	// Two client spans with the same operation name to different downstreams: the first (by start) names no
	// peer service, only a URL; the second is the slow one, to a third party that sends no spans.
	tr := trace(
		sp("r", "", 0, 1300, svcOp("payment", "POST /pay"), kind(KindServer)),
		sp("a", "r", 10, 100, svcOp("payment", "HTTP POST"), kind(KindClient), withAttrs("http.method", "POST", "http.url", "http://fraud:8080/score")),
		sp("a2", "a", 15, 80, svcOp("fraud", "POST /score"), kind(KindServer)),
		sp("b", "r", 150, 1100, svcOp("payment", "HTTP POST"), kind(KindClient),
			withAttrs("peer.service", "payment-gateway", "http.method", "POST", "http.url", "https://api.payment-gateway.example/v1/charges")),
	)
	rep := AnalyzeTrace(tr, DefaultTraceOptions())
	var slow []Finding
	for _, f := range rep.Findings {
		if f.Kind == KindSlowSpan {
			slow = append(slow, f)
		}
	}
	if len(slow) == 0 {
		t.Fatalf("no slow span: %+v", rep.Findings)
	}
	f := slow[0]
	if f.Evidence["peer"] != "payment-gateway" || f.Evidence["self_ms"] != 1100.0 || f.Evidence["uninstrumented"] != true {
		t.Errorf("top slow span evidence %v, want peer payment-gateway, 1100 ms, uninstrumented", f.Evidence)
	}
	want := "payment waits 1.10s on payment-gateway at api.payment-gateway.example, which sends no spans"
	if !strings.HasPrefix(f.Title, want) {
		t.Errorf("title %q, want it to start %q", f.Title, want)
	}
	if strings.Contains(f.Recommendation, "add spans or profile it") || !strings.Contains(f.Recommendation, "timeout") {
		t.Errorf("recommendation %q does not fit a remote call", f.Recommendation)
	}
	for _, g := range slow[1:] {
		if g.Evidence["peer"] == "payment-gateway" {
			t.Errorf("the fraud call was grouped with the gateway's: %v", g.Evidence)
		}
	}
}

func TestSlowSpanInstrumentedClientNotCalledUninstrumented(t *testing.T) {
	// The server started late: the client's self time is network or queueing, not a dark dependency.
	tr := trace(
		sp("r", "", 0, 1000, svcOp("api", "GET /"), kind(KindServer)),
		sp("c", "r", 0, 1000, svcOp("api", "GET"), kind(KindClient), withAttrs("peer.service", "inventory")),
		sp("s", "c", 800, 150, svcOp("inventory", "GET /items"), kind(KindServer)),
	)
	f := findKind(AnalyzeTrace(tr, DefaultTraceOptions()).Findings, KindSlowSpan)
	if f == nil || f.Evidence["uninstrumented"] != false || strings.Contains(f.Title, "sends no spans") {
		t.Fatalf("finding %+v: the callee sent spans", f)
	}
}

func TestSeverityHasAnAbsoluteFloor(t *testing.T) {
	// A 100 µs request whose one child takes 90% of it: true, but not critical.
	tr := trace(
		sp("r", "", 0, 0.1, svcOp("api", "GET /health"), kind(KindServer)),
		sp("c", "r", 0.005, 0.09, svcOp("api", "SELECT 1"), kind(KindClient), withAttrs("db.system", "postgresql")),
	)
	rep := AnalyzeTrace(tr, DefaultTraceOptions())
	f := findKind(rep.Findings, KindSlowSpan)
	if f == nil {
		t.Fatalf("no slow span at all: %+v", rep.Findings)
	}
	if f.Severity.Rank() < SeverityLow.Rank() {
		t.Errorf("a 90 µs span is %s (score %.2f); want low or info", f.Severity, f.Score)
	}
	// The same shape at 1 s keeps its weight.
	big := trace(
		sp("r", "", 0, 1000, svcOp("api", "GET /health"), kind(KindServer)),
		sp("c", "r", 50, 900, svcOp("api", "SELECT 1"), kind(KindClient), withAttrs("db.system", "postgresql")),
	)
	if g := findKind(AnalyzeTrace(big, DefaultTraceOptions()).Findings, KindSlowSpan); g == nil || g.Severity != SeverityCritical {
		t.Errorf("a 900 ms span in a 1 s request: %+v, want critical", g)
	}
	if TimeWeight(100e3) != 0.1 || TimeWeight(50e6) != 1 || TimeWeight(5e6) <= 0.1 || TimeWeight(5e6) >= 1 {
		t.Errorf("TimeWeight(100µs, 50ms, 5ms) = %v %v %v", TimeWeight(100e3), TimeWeight(50e6), TimeWeight(5e6))
	}
}

func TestStatementsUnderEveryName(t *testing.T) {
	cases := []struct {
		attrs []string
		want  string
	}{
		{[]string{"db.query.text", "SELECT * FROM a WHERE id = 1"}, "SELECT * FROM a WHERE id = ?"},
		{[]string{"db.statement", "SELECT * FROM a WHERE id = 2"}, "SELECT * FROM a WHERE id = ?"},
		{[]string{"peer.service", "mysql", "sql.query", "SELECT * FROM customer WHERE customer_id = 7"}, "SELECT * FROM customer WHERE customer_id = ?"},
		{[]string{"db.system.name", "redis", "db.operation.name", "hget"}, "HGET"},
		{[]string{"db.system", "mongodb", "db.operation.name", "find", "db.collection.name", "orders"}, "FIND orders"},
		{[]string{"db.redis.database_index", "0"}, "op"},
	}
	for _, c := range cases {
		s := sp("a", "", 0, 10, svcOp("svc", "op"), kind(KindClient), withAttrs(c.attrs...))
		_, fp, ok := IsStatementSpan(&s)
		if !ok || fp != c.want {
			t.Errorf("%v: fingerprint %q ok=%v, want %q", c.attrs, fp, ok, c.want)
		}
	}
	// sql.query alone (a public demo's MySQL spans) is seen by the N+1 detector and by dbg db's analysis.
	spans := []Span{sp("r", "", 0, 500, svcOp("customer", "HTTP GET /customer"), kind(KindServer))}
	for i := 0; i < 6; i++ {
		spans = append(spans, sp(fmt.Sprintf("q%d", i), "r", float64(10+i*60), 50, svcOp("mysql", "SQL SELECT"), kind(KindClient),
			withAttrs("peer.service", "mysql", "sql.query", fmt.Sprintf("select * from customer where customer_id = %d", 100+i))))
	}
	tr := trace(spans...)
	f := findKind(AnalyzeTrace(tr, DefaultTraceOptions()).Findings, KindNPlusOne)
	if f == nil || f.Evidence["statement"] != "SELECT * FROM customer WHERE customer_id = ?" {
		t.Errorf("N+1 over sql.query: %+v", f)
	}
	q := AnalyzeQueries([]*Trace{tr}, DefaultQueryOptions())
	if q.Statements != 6 || len(q.Queries) != 1 {
		t.Errorf("dbg db's analysis saw %d statements in %d queries, want 6 in 1", q.Statements, len(q.Queries))
	}
}

// TestSlowSpanPeerIsTheCalleesService: a client span that names only an address calls a service that sent
// spans; the slow-span finding names that service (as the dependency edges do), not the address.
func TestSlowSpanPeerIsTheCalleesService(t *testing.T) {
	tr := trace(
		sp("r", "", 0, 1000, svcOp("api", "GET /"), kind(KindServer)),
		sp("c", "r", 0, 1000, svcOp("api", "HTTP GET"), kind(KindClient), withAttrs("http.method", "GET", "http.url", "http://10.0.0.7:8080/items")),
		sp("s", "c", 700, 290, svcOp("inventory", "GET /items"), kind(KindServer)),
	)
	f := findKind(AnalyzeTrace(tr, DefaultTraceOptions()).Findings, KindSlowSpan)
	if f == nil || f.Evidence["peer"] != "inventory" || f.Evidence["peer_address"] != "10.0.0.7:8080" {
		t.Fatalf("finding %+v", f)
	}
}
