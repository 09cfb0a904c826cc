package investigate

import (
	"net/netip"
	"time"
)

// Network evidence: what a packet capture says about TCP connections, the requests carried on them and
// TLS handshakes. A capture source (sources/pcap) decodes packets into these types and feeds them, in
// capture order, to a NetAnalyzer; the analyzer keeps bounded state per open connection and aggregates per
// server, so a capture of any size is analysed in one pass.

// Finding kinds for the network layer (../shared/DESIGN.md).
const (
	KindTCPRetransmits    = "tcp_retransmits"
	KindTCPResets         = "tcp_resets"
	KindConnectionRefused = "connection_refused"
	KindTLSFailure        = "tls_failure"
	// KindConnectionChurn is many short connections to a server where keep-alive was expected.
	KindConnectionChurn = "connection_churn"
)

// TCPFlags are the TCP header flags, bit for bit as on the wire.
type TCPFlags uint8

// TCP flag bits.
const (
	FlagFIN TCPFlags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Has reports whether every bit of f2 is set.
func (f TCPFlags) Has(f2 TCPFlags) bool { return f&f2 == f2 }

// TCPSegment is one TCP packet's header facts. Len is the payload length the IP header declares (which
// may exceed what the capture kept when the snapshot length cut it).
type TCPSegment struct {
	N        int64 // packet number in the capture, from 1 as Wireshark counts
	Time     time.Time
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    TCPFlags
	Window   uint16
	Len      int
}

// NetExchange is one request and its response: an HTTP/1.x exchange, an HTTP/2 stream or a gRPC call.
type NetExchange struct {
	Client, Server netip.AddrPort
	// Proto is "http/1.1", "http/1.0", "h2" or "grpc".
	Proto string
	// Method is the HTTP method, or "gRPC" for a gRPC call.
	Method string
	// Path is the request target as sent (the gRPC method for gRPC: /package.Service/Method).
	Path string
	// Status is the HTTP status, 0 when no response was seen.
	Status int
	// GRPCStatus is grpc-status, -1 when absent.
	GRPCStatus int
	// ResetCode is the HTTP/2 RST_STREAM error code when the stream was reset, -1 otherwise.
	ResetCode int
	// Start is the first request packet's time, End the response's first packet (HTTP) or the trailers
	// (gRPC); zero End means unanswered.
	Start, End            time.Time
	ReqPacket, RespPacket int64
	// Host is the request's Host header or :authority, which names the server when no --name does.
	Host string
	// TraceID comes from traceparent (W3C) or b3/uber-trace-id; CorrelationID from X-Correlation-ID or
	// X-Request-ID.
	TraceID, CorrelationID string
}

// TLSEvent is something seen in a TLS handshake's clear-text records.
type TLSEvent struct {
	N              int64
	Time           time.Time
	Client, Server netip.AddrPort
	// Kind is "client_hello", "server_hello", "alert", "encrypted" (application data began) or
	// "abandoned" (the connection closed after a ClientHello without a ServerHello).
	Kind string
	// FromServer says who sent it.
	FromServer bool
	// AlertLevel and AlertDescription are the alert's bytes (level 2 = fatal); -1 when not an alert.
	AlertLevel, AlertDescription int
	// SNI is the ClientHello's server name, when present.
	SNI string
}

// NetOptions tune the analysis. Zero values take the defaults of DefaultNetOptions.
type NetOptions struct {
	// SlowMs is the p99 at or above which an endpoint is a latency hotspot.
	SlowMs float64
	// MinRequests is how many exchanges an endpoint needs before it is judged.
	MinRequests int
	// MaxConnections caps the connection rows in the report (the worst first); totals count all.
	MaxConnections int
	// Names maps a server "host:port" to a service name for findings.
	Names map[string]string
}

// DefaultNetOptions are the thresholds docs/net.md explains.
func DefaultNetOptions() NetOptions {
	return NetOptions{SlowMs: 200, MinRequests: 3, MaxConnections: 200}
}

// NetReport is `dbg net`'s JSON contract.
type NetReport struct {
	Packets     int64           `json:"packets"`
	Window      NetWindow       `json:"window"`
	Flows       int             `json:"flows"`
	Endpoints   []NetEndpoint   `json:"endpoints"`
	Connections []NetConnection `json:"connections"`
	Servers     []NetServer     `json:"servers"`
	Findings    []Finding       `json:"findings"`
	Warnings    []string        `json:"warnings"`
	// Notes say what was not decoded and why (TLS payloads are encrypted).
	Notes []string `json:"notes"`
	// Exchanges is how many request/response pairs were reassembled; ConnectionsOmitted how many
	// connection rows the cap dropped.
	Exchanges          int `json:"exchanges"`
	ConnectionsOmitted int `json:"connections_omitted"`
}

// NetWindow is the time of the first and last packet.
type NetWindow struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMs float64   `json:"duration_ms"`
}

// NetEndpoint is one row of the per-endpoint table (tshark's -z http,tree with latency).
type NetEndpoint struct {
	Server   string         `json:"server"`
	Proto    string         `json:"proto"`
	Method   string         `json:"method"`
	Route    string         `json:"route"`
	Count    int            `json:"count"`
	Errors   int            `json:"errors"`
	P50Ms    float64        `json:"p50_ms"`
	P99Ms    float64        `json:"p99_ms"`
	MaxMs    float64        `json:"max_ms"`
	Statuses map[string]int `json:"statuses"`
	// Unanswered counts requests with no response in the capture.
	Unanswered     int      `json:"unanswered"`
	TraceIDs       []string `json:"trace_ids"`
	CorrelationIDs []string `json:"correlation_ids"`
}

// NetConnection is one row of the conversation table (tshark's -z conv,tcp with TCP analysis).
type NetConnection struct {
	Client      string    `json:"client"`
	Server      string    `json:"server"`
	Start       time.Time `json:"start"`
	DurationMs  float64   `json:"duration_ms"`
	Packets     int       `json:"packets"`
	BytesToSrv  int64     `json:"bytes_to_server"`
	BytesToCli  int64     `json:"bytes_to_client"`
	RTTMs       float64   `json:"rtt_ms"`
	Retransmits int       `json:"retransmits"`
	DupAcks     int       `json:"dup_acks"`
	ZeroWindows int       `json:"zero_windows"`
	Resets      int       `json:"resets"`
	// ResetBy is "client" or "server" for the first RST; State is the connection's state then.
	ResetBy  string `json:"reset_by,omitempty"`
	State    string `json:"state"`
	Refused  bool   `json:"refused"`
	Requests int    `json:"requests"`
	Proto    string `json:"proto,omitempty"`
	// FirstPacket is the connection's first packet number, for `tshark -Y frame.number==N`.
	FirstPacket int64 `json:"first_packet"`
}

// NetServer aggregates every connection to one server address (host:port).
type NetServer struct {
	Server           string  `json:"server"`
	Service          string  `json:"service,omitempty"`
	Connections      int     `json:"connections"`
	Attempts         int     `json:"attempts"`
	Refused          int     `json:"refused"`
	Unanswered       int     `json:"unanswered_syns"`
	ResetsByServer   int     `json:"resets_by_server"`
	ResetsByClient   int     `json:"resets_by_client"`
	DataSegments     int     `json:"data_segments"`
	Retransmits      int     `json:"retransmits"`
	RetransmitShare  float64 `json:"retransmit_share"`
	DupAcks          int     `json:"dup_acks"`
	ZeroWindows      int     `json:"zero_windows"`
	RTTP50Ms         float64 `json:"rtt_p50_ms"`
	RTTP99Ms         float64 `json:"rtt_p99_ms"`
	Requests         int     `json:"requests"`
	TLS              int     `json:"tls_connections"`
	Encrypted        int     `json:"encrypted_connections"`
	TLSFailures      int     `json:"tls_failures"`
	ShortConnections int     `json:"short_connections"`
}
