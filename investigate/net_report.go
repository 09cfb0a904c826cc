package investigate

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

type serverAgg struct {
	addr                    netip.AddrPort
	conns, attempts         int
	refused, unanswered     int
	resetsSrv, resetsCli    int
	dataSegs, retransmits   int
	synRetx                 int
	dupAcks, zeroWin        int
	requests                int
	tls, tlsFail            int
	short, established      int
	rtts                    []time.Duration
	first, last             time.Time
	retxN, resetN, refusedN []int64
	zeroWN, tlsN            []int64
	retxT, resetT, refusedT time.Time
	retxFlow, resetFlow     string
	refusedFlow, tlsFlow    string
	alerts                  map[string]int
	resetStates             map[string]int
	hosts                   map[string]int
	benignResets            int
	sni                     string
	encrypted               int
}

func firstTime(t *time.Time, v time.Time) {
	if !v.IsZero() && (t.IsZero() || v.Before(*t)) {
		*t = v
	}
}

func flowName(c *tcpConn) string { return c.client.String() + " → " + c.server.String() }

func (s *serverAgg) add(c *tcpConn) {
	s.conns++
	firstTime(&s.first, c.start)
	if c.last.After(s.last) {
		s.last = c.last
	}
	if c.synSeen {
		s.attempts++
	}
	switch {
	case c.refused:
		s.refused++
		for _, n := range c.resetN {
			s.refusedN = appendN(s.refusedN, n)
		}
		firstTime(&s.refusedT, c.resetT)
		if s.refusedFlow == "" {
			s.refusedFlow = flowName(c)
		}
	case c.resets > 0 && c.resetState == "CLOSING":
		s.benignResets++ // a RST after both FINs discards unread data; the exchange itself completed
	case c.resets > 0:
		if s.resetStates == nil {
			s.resetStates = map[string]int{}
		}
		s.resetStates[c.resetState]++
		if c.resetBy == "server" {
			s.resetsSrv++
		} else {
			s.resetsCli++
		}
		for _, n := range c.resetN {
			s.resetN = appendN(s.resetN, n)
		}
		firstTime(&s.resetT, c.resetT)
		if s.resetFlow == "" {
			s.resetFlow = flowName(c)
		}
	}
	if c.synSeen && !c.synAckSeen && !c.refused {
		s.unanswered++
	}
	if c.established {
		s.established++
		if len(s.rtts) < 100000 {
			s.rtts = append(s.rtts, c.rtt)
		}
		if c.last.Sub(c.start) < time.Second && c.requests <= 1 {
			s.short++
		}
	}
	s.dataSegs += c.dir[0].dataSegs + c.dir[1].dataSegs
	s.retransmits += c.retransmits
	s.synRetx += c.synRetx
	if c.retransmits > 0 {
		for _, n := range c.retxN {
			s.retxN = appendN(s.retxN, n)
		}
		firstTime(&s.retxT, c.retxT)
		if s.retxFlow == "" {
			s.retxFlow = flowName(c)
		}
	}
	s.dupAcks += c.dupAcks
	s.zeroWin += c.zeroWin
	for _, n := range c.zeroWN {
		s.zeroWN = appendN(s.zeroWN, n)
	}
}

type endpointKey struct {
	server               netip.AddrPort
	proto, method, route string
}

type endpointAgg struct {
	key        endpointKey
	count      int
	errors     int
	unanswered int
	lat        []float64
	seen       int
	statuses   map[string]int
	traceIDs   []string
	corrIDs    []string
	errTraces  []string
	errN       []int64
	slowN      []int64
	first      time.Time
}

const latencyReservoir = 100000

// grpcServerError reports whether a gRPC status is the server's failure rather than the caller's
// (the split SRE practice makes between 5xx and 4xx).
func grpcServerError(code int) bool {
	switch code {
	case 2, 4, 8, 10, 12, 13, 14, 15: // Unknown, DeadlineExceeded, ResourceExhausted, Aborted, Unimplemented, Internal, Unavailable, DataLoss
		return true
	}
	return false
}

// Exchange records one request/response pair.
func (a *NetAnalyzer) Exchange(e NetExchange) {
	a.exchanges++
	if c := a.conns[keyOf(e.Client, e.Server)]; c != nil {
		c.requests++
	}
	sa := a.server(e.Server)
	sa.requests++
	if h := hostName(e.Host); h != "" && (len(sa.hosts) < 20 || sa.hosts[h] > 0) {
		if sa.hosts == nil {
			sa.hosts = map[string]int{}
		}
		sa.hosts[h]++
	}
	route := TemplatePath(e.Path)
	if e.Proto == "grpc" {
		route = e.Path
	}
	k := endpointKey{server: e.Server, proto: e.Proto, method: e.Method, route: route}
	ep := a.endpoints[k]
	if ep == nil {
		if len(a.endpoints) >= 10000 {
			k.route = "{other}"
			ep = a.endpoints[k]
		}
		if ep == nil {
			ep = &endpointAgg{key: k, statuses: map[string]int{}, first: e.Start}
			a.endpoints[k] = ep
		}
	}
	ep.count++
	status := "none"
	failed := false
	switch {
	case e.Proto == "grpc" && e.GRPCStatus >= 0:
		status = "grpc " + strconv.Itoa(e.GRPCStatus)
		failed = grpcServerError(e.GRPCStatus)
	case e.ResetCode >= 0:
		status = "RST_STREAM " + strconv.Itoa(e.ResetCode)
		failed = true
	case e.Status > 0:
		status = strconv.Itoa(e.Status)
		failed = e.Status >= 500
	}
	if len(ep.statuses) < 50 || ep.statuses[status] > 0 {
		ep.statuses[status]++
	}
	if e.TraceID != "" && len(ep.traceIDs) < 20 {
		ep.traceIDs = append(ep.traceIDs, e.TraceID)
	}
	if e.CorrelationID != "" && len(ep.corrIDs) < 20 {
		ep.corrIDs = append(ep.corrIDs, e.CorrelationID)
	}
	if failed {
		ep.errors++
		ep.errN = appendN(ep.errN, e.ReqPacket)
		if e.TraceID != "" && len(ep.errTraces) < 20 {
			ep.errTraces = append(ep.errTraces, e.TraceID)
		}
	}
	if e.End.IsZero() {
		ep.unanswered++
		return
	}
	ms := float64(e.End.Sub(e.Start).Microseconds()) / 1000
	if ms >= a.o.SlowMs {
		ep.slowN = appendN(ep.slowN, e.ReqPacket)
	}
	ep.seen++
	if len(ep.lat) < latencyReservoir {
		ep.lat = append(ep.lat, ms)
	} else if j := a.rng.IntN(ep.seen); j < latencyReservoir {
		ep.lat[j] = ms
	}
}

// TLS records a clear-text TLS handshake event.
func (a *NetAnalyzer) TLS(e TLSEvent) {
	s := a.server(e.Server)
	if e.SNI != "" && s.sni == "" {
		s.sni = e.SNI
	}
	switch e.Kind {
	case "encrypted":
		s.encrypted++
	case "alert", "abandoned":
		if e.Kind == "alert" && e.AlertLevel != 2 {
			return // a warning-level alert (close_notify) is a normal close
		}
		s.tlsFail++
		s.tlsN = appendN(s.tlsN, e.N)
		if s.tlsFlow == "" {
			s.tlsFlow = e.Client.String() + " → " + e.Server.String()
		}
		if s.alerts == nil {
			s.alerts = map[string]int{}
		}
		name := "closed after ClientHello, no ServerHello"
		if e.Kind == "alert" {
			by := "client"
			if e.FromServer {
				by = "server"
			}
			name = TLSAlertName(e.AlertDescription) + " (sent by " + by + ")"
		}
		s.alerts[name]++
	}
}

// Report folds the open connections and returns the report with its ranked findings.
func (a *NetAnalyzer) Report() NetReport {
	keys := make([]connKey, 0, len(a.conns))
	for k := range a.conns {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y connKey) int {
		return cmp.Compare(a.conns[x].firstN, a.conns[y].firstN)
	})
	for _, k := range keys {
		a.fold(k, a.conns[k])
	}
	a.trimRows(a.o.MaxConnections)
	slices.SortStableFunc(a.rows, func(x, y NetConnection) int { return cmp.Compare(x.FirstPacket, y.FirstPacket) })
	if a.dropped > 0 {
		a.Warn("%d segments not analysed: more than %d connections open at once", a.dropped, maxOpenConns)
	}
	r := NetReport{
		Packets: a.packets, Flows: a.flows, Exchanges: a.exchanges, ConnectionsOmitted: a.omitted,
		Window:      NetWindow{Start: a.first, End: a.last, DurationMs: Ms(a.last.Sub(a.first))},
		Connections: a.rows, Warnings: a.warnings,
	}
	if r.Connections == nil {
		r.Connections = []NetConnection{}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	r.Endpoints = a.endpointRows()
	r.Servers = a.serverRows()
	r.Notes = []string{}
	for _, s := range r.Servers {
		if s.TLS > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d TLS connections to %s (%d reached application data): their payload is encrypted and not decoded; only handshake failures are judged", s.TLS, s.Server, s.Encrypted))
		}
	}
	r.Findings = RankFindings(a.findings(r))
	return r
}

// serviceOf names a server: --name first, then the Host (or :authority) its requests carried, else
// its address.
func (a *NetAnalyzer) serviceOf(addr string) string {
	if n := a.o.Names[addr]; n != "" {
		return n
	}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		if s := a.servers[ap]; s != nil && len(s.hosts) > 0 {
			return topKey(s.hosts)
		}
	}
	return addr
}

// hostName is the service a Host header names: the port dropped, a Kubernetes FQDN cut to the service
// (shipping.shop.svc.cluster.local → shipping); an IP literal names nothing.
func hostName(h string) string {
	h = strings.TrimSpace(strings.ToLower(h))
	if h == "" {
		return ""
	}
	if hp, _, err := net.SplitHostPort(h); err == nil {
		h = hp
	}
	h = strings.Trim(h, "[]")
	if _, err := netip.ParseAddr(h); err == nil || len(h) > 253 {
		return ""
	}
	if i := strings.Index(h, ".svc"); i > 0 {
		h = h[:i]
	}
	if first, rest, ok := strings.Cut(h, "."); ok && !strings.Contains(rest, ".") {
		return first // service.namespace
	}
	return h
}

func (a *NetAnalyzer) sortedEndpoints() []*endpointAgg {
	eps := make([]*endpointAgg, 0, len(a.endpoints))
	for _, e := range a.endpoints {
		eps = append(eps, e)
	}
	slices.SortFunc(eps, func(x, y *endpointAgg) int {
		if c := x.key.server.Compare(y.key.server); c != 0 {
			return c
		}
		if c := cmp.Compare(x.key.route, y.key.route); c != 0 {
			return c
		}
		return cmp.Compare(x.key.method+x.key.proto, y.key.method+y.key.proto)
	})
	return eps
}

func durations(ms []float64) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, v := range ms {
		out[i] = time.Duration(v * float64(time.Millisecond))
	}
	slices.Sort(out)
	return out
}

func (a *NetAnalyzer) endpointRows() []NetEndpoint {
	out := []NetEndpoint{}
	for _, e := range a.sortedEndpoints() {
		d := durations(e.lat)
		row := NetEndpoint{
			Server: e.key.server.String(), Proto: e.key.proto, Method: e.key.method, Route: e.key.route,
			Count: e.count, Errors: e.errors, Unanswered: e.unanswered, Statuses: e.statuses,
			P50Ms: Ms(percentile(d, 0.5)), P99Ms: Ms(percentile(d, 0.99)),
			TraceIDs: orEmpty(e.traceIDs), CorrelationIDs: orEmpty(e.corrIDs),
		}
		if len(d) > 0 {
			row.MaxMs = Ms(d[len(d)-1])
		}
		out = append(out, row)
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *NetAnalyzer) sortedServers() []*serverAgg {
	ss := make([]*serverAgg, 0, len(a.servers))
	for _, s := range a.servers {
		ss = append(ss, s)
	}
	slices.SortFunc(ss, func(x, y *serverAgg) int { return x.addr.Compare(y.addr) })
	return ss
}

func (a *NetAnalyzer) serverRows() []NetServer {
	out := []NetServer{}
	for _, s := range a.sortedServers() {
		slices.Sort(s.rtts)
		row := NetServer{
			Server: s.addr.String(), Connections: s.conns, Attempts: s.attempts, Refused: s.refused,
			Unanswered: s.unanswered, ResetsByServer: s.resetsSrv, ResetsByClient: s.resetsCli,
			DataSegments: s.dataSegs, Retransmits: s.retransmits, DupAcks: s.dupAcks, ZeroWindows: s.zeroWin,
			RTTP50Ms: Ms(percentile(s.rtts, 0.5)), RTTP99Ms: Ms(percentile(s.rtts, 0.99)),
			Requests: s.requests, TLS: s.tls, Encrypted: s.encrypted, TLSFailures: s.tlsFail, ShortConnections: s.short,
		}
		if n := a.serviceOf(row.Server); n != row.Server {
			row.Service = n
		}
		if s.dataSegs > 0 {
			row.RetransmitShare = round3(float64(s.retransmits-s.synRetx) / float64(s.dataSegs))
		}
		out = append(out, row)
	}
	return out
}

// TLSAlertName names a TLS alert description (RFC 8446 section 6, RFC 5246 section 7.2).
func TLSAlertName(d int) string {
	names := map[int]string{
		0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
		22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
		42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
		45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
		49: "access_denied", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
		71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
		90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
		110: "unsupported_extension", 112: "unrecognized_name", 113: "bad_certificate_status_response",
		115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
	}
	if n, ok := names[d]; ok {
		return n
	}
	return "alert " + strconv.Itoa(d)
}
