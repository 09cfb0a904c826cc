package investigate

import (
	"net"
	"net/url"
	"strings"
)

// This file reads the OpenTelemetry semantic conventions, old and new names side by side: instrumentations
// in the field emit either, or both during a migration (OTEL_SEMCONV_STABILITY_OPT_IN=http/dup), and
// OpenTracing-era Jaeger clients emit their own (db.type, peer.service, sql.query). Every analysis asks
// these functions rather than naming attributes itself, so a new alias is added in one place.

// Peer names the downstream a client (or producer) span calls, by the conventions' precedence: the
// logical service name first (service.peer.name, then the older peer.service), then the address the
// client connected to (server.address with server.port, the older net.peer.name with net.peer.port, the
// host of url.full / http.url), then what kind of system it is (a database with its namespace, an RPC
// service, a messaging system with its destination), and the raw peer address only as a last resort.
// Empty when the span names none of them.
func Peer(s *Span) string {
	a := s.Attrs
	if p := a.First("service.peer.name", "peer.service"); p != "" {
		return p
	}
	if h := PeerHost(s); h != "" {
		return h
	}
	if sys := DBSystem(s); sys != "" {
		if ns := a.First("db.namespace", "db.name", "db.instance"); ns != "" {
			return sys + "/" + ns
		}
		return sys
	}
	if r := a.First("rpc.service"); r != "" {
		return r
	}
	if m := a.First("messaging.system"); m != "" {
		if d := a.First("messaging.destination.name", "messaging.destination"); d != "" {
			return m + "/" + d
		}
		return m
	}
	if d := a.First("messaging.destination.name", "messaging.destination"); d != "" {
		return d
	}
	if h := a.First("network.peer.address", "net.sock.peer.addr", "net.peer.ip", "peer.hostname", "peer.ipv4", "http.host"); h != "" {
		return hostPort(h, a.First("network.peer.port", "net.sock.peer.port", "net.peer.port", "peer.port"))
	}
	return ""
}

// PeerHost is the address a client span connected to (host or host:port), whatever name the service has:
// an uninstrumented dependency is best named by where the call went.
func PeerHost(s *Span) string {
	a := s.Attrs
	if h := a.First("server.address"); h != "" {
		return hostPort(h, a.First("server.port"))
	}
	if h := a.First("net.peer.name"); h != "" {
		return hostPort(h, a.First("net.peer.port"))
	}
	return urlHost(a.First("url.full", "http.url"))
}

func hostPort(h, port string) string {
	if port == "" || port == "0" || strings.HasSuffix(h, ":"+port) {
		return h
	}
	return net.JoinHostPort(h, port)
}

// urlHost is the host of an absolute URL, with its port when one was written; empty for a path.
func urlHost(raw string) string {
	if raw == "" || !strings.Contains(raw, "://") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// DBSystem is the database product a span talks to: db.system.name (semconv ≥ 1.26), db.system, the
// OpenTracing db.type, or "redis" for spans that carry only db.redis.* attributes. Empty for a span that
// is not a database call.
func DBSystem(s *Span) string {
	if v := s.Attrs.First("db.system.name", "db.system", "db.type"); v != "" {
		return v
	}
	for i := range s.Attrs {
		if strings.HasPrefix(s.Attrs[i].Key, "db.redis.") {
			return "redis"
		}
	}
	return ""
}

// DBStatement is the statement text a database span recorded, under any of the names instrumentations
// use: db.query.text (semconv ≥ 1.25), db.statement (earlier semconv and OpenTracing), sql.query (older
// Jaeger clients and their demos), and the Redis and MongoDB command attributes of older instrumentations.
// Empty when the span carries no text.
func DBStatement(s *Span) string {
	return s.Attrs.First("db.query.text", "db.statement", "sql.query", "db.redis.command", "redis.command", "redis.raw_command", "db.mongodb.query")
}

// IsDBSpan reports whether s is a database call: it names a database system or carries a statement.
func IsDBSpan(s *Span) bool { return DBSystem(s) != "" || DBStatement(s) != "" }

// DBOperation is the command a statement-less database span ran, upper-cased with its collection when
// known ("GET", "FIND orders"); empty when the span names no operation.
func DBOperation(s *Span) string {
	op := s.Attrs.First("db.operation.name", "db.operation", "db.redis.operation")
	if op == "" {
		return ""
	}
	if coll := s.Attrs.First("db.collection.name", "db.sql.table", "db.mongodb.collection", "db.cosmosdb.container"); coll != "" {
		return strings.ToUpper(op) + " " + coll
	}
	return strings.ToUpper(op)
}

// HTTPMethod is the request method under its new or old name.
func HTTPMethod(s *Span) string { return s.Attrs.First("http.request.method", "http.method") }

// HTTPURL is the full URL (or the target path) of an HTTP client span under its new or old name.
func HTTPURL(s *Span) string {
	return s.Attrs.First("url.full", "http.url", "http.target", "url.path")
}
