package investigate

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// The rules below are documented, with their reasons, in docs/net.md ("How findings are graded").

// wsHost is the Wireshark display filter matching one server address and port.
func wsHost(ap netip.AddrPort) string {
	f := "ip.addr"
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		f = "ipv6.addr"
	}
	return fmt.Sprintf("%s==%s && tcp.port==%d", f, ap.Addr().Unmap(), ap.Port())
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func packetList(ns []int64) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ",")
}

func share(n, of int) float64 {
	if of <= 0 {
		return 0
	}
	return round3(float64(n) / float64(of))
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func topKey(m map[string]int) string {
	best, n := "", -1
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if m[k] > n {
			best, n = k, m[k]
		}
	}
	return best
}

func (a *NetAnalyzer) findings(r NetReport) []Finding {
	var out []Finding
	secs := r.Window.DurationMs / 1000
	for _, s := range a.sortedServers() {
		srv := s.addr.String()
		svc := a.serviceOf(srv)
		base := func(kind string) Finding {
			return Finding{Kind: kind, Service: svc, Evidence: map[string]any{"server": srv}}
		}
		if s.refused > 0 {
			sh := share(s.refused, s.attempts)
			f := base(KindConnectionRefused)
			f.Score = 0.3 + 0.6*sh
			f.Title = fmt.Sprintf("%s of connection attempts to %s refused: %d SYNs answered by RST", pct(sh), srv, s.refused)
			f.Evidence["refused"], f.Evidence["attempts"], f.Evidence["share"] = s.refused, s.attempts, sh
			f.Evidence["packets"], f.Evidence["first_at"], f.Evidence["flow"] = packetList(s.refusedN), rfc(s.refusedT), s.refusedFlow
			f.Evidence["query"] = wsHost(s.addr) + " && tcp.flags.reset==1"
			f.Recommendation = "Nothing listens on " + srv + " (or a firewall rejects): check the pod is ready, the Service's targetPort and the container port."
			out = append(out, f)
		}
		data := s.retransmits - s.synRetx
		dataShare := share(data, s.dataSegs)
		unans := share(s.unanswered, s.attempts)
		if (data >= 3 && dataShare >= 0.005) || s.unanswered > 0 {
			f := base(KindTCPRetransmits)
			f.Score = math.Max(0.25+math.Min(0.6, dataShare*6), 0.3+0.5*unans)
			switch {
			case data >= 3 && dataShare >= 0.005:
				f.Title = fmt.Sprintf("%s of TCP segments to and from %s retransmitted (%d of %d): packets are being lost", pct(dataShare), srv, data, s.dataSegs)
			default:
				f.Title = fmt.Sprintf("%d of %d connection attempts to %s never answered (SYN retransmitted, no SYN/ACK)", s.unanswered, s.attempts, srv)
			}
			f.Evidence["retransmits"], f.Evidence["data_segments"], f.Evidence["share"] = data, s.dataSegs, dataShare
			f.Evidence["syn_retransmits"], f.Evidence["unanswered_syns"], f.Evidence["dup_acks"] = s.synRetx, s.unanswered, s.dupAcks
			f.Evidence["packets"], f.Evidence["first_at"], f.Evidence["flow"] = packetList(s.retxN), rfc(s.retxT), s.retxFlow
			f.Evidence["query"] = wsHost(s.addr) + " && tcp.analysis.retransmission"
			f.Recommendation = "Loss on the path to " + srv + ": check interface drops (ip -s link), conntrack and firewall drops, the node's network and the pod's CPU throttling."
			out = append(out, f)
		}
		resets := s.resetsSrv + s.resetsCli
		rsh := share(resets, s.conns)
		if resets > 0 && (rsh >= 0.05 || resets >= 5) {
			f := base(KindTCPResets)
			by, n := "server", s.resetsSrv
			if s.resetsCli > s.resetsSrv {
				by, n = "client", s.resetsCli
			}
			state := topKey(s.resetStates)
			f.Score = 0.3 + 0.5*rsh
			f.Title = fmt.Sprintf("%d of %d connections to %s reset (%d by the %s, mostly in %s)", resets, s.conns, srv, n, by, state)
			f.Evidence["resets"], f.Evidence["connections"], f.Evidence["share"] = resets, s.conns, rsh
			f.Evidence["by_server"], f.Evidence["by_client"], f.Evidence["state"] = s.resetsSrv, s.resetsCli, state
			f.Evidence["packets"], f.Evidence["first_at"], f.Evidence["flow"] = packetList(s.resetN), rfc(s.resetT), s.resetFlow
			f.Evidence["query"] = wsHost(s.addr) + " && tcp.flags.reset==1"
			if by == "server" {
				f.Recommendation = "The server at " + srv + " aborts connections: look for crashes, a proxy's idle timeout or a full accept queue there."
			} else {
				f.Recommendation = "Clients abort connections to " + srv + ": look for client timeouts shorter than the server's latency."
			}
			out = append(out, f)
		}
		if s.tlsFail > 0 {
			f := base(KindTLSFailure)
			f.Score = 0.4 + 0.5*share(s.tlsFail, max(s.tls, s.tlsFail))
			alert := topKey(s.alerts)
			f.Title = fmt.Sprintf("%d TLS handshakes with %s failed: %s", s.tlsFail, srv, alert)
			f.Evidence["failures"], f.Evidence["tls_connections"], f.Evidence["alerts"] = s.tlsFail, s.tls, s.alerts
			f.Evidence["packets"], f.Evidence["flow"], f.Evidence["sni"] = packetList(s.tlsN), s.tlsFlow, s.sni
			f.Evidence["query"] = wsHost(s.addr) + " && tls.alert_message"
			f.Recommendation = "Compare the client's and server's certificates, CA bundle, TLS versions and ALPN; in a mesh, check the PeerAuthentication and DestinationRule TLS modes agree."
			out = append(out, f)
		}
		if s.zeroWin > 0 {
			f := base(KindSaturation)
			f.Score = 0.3 + math.Min(0.4, float64(s.zeroWin)/100)
			f.Title = fmt.Sprintf("%d TCP zero-window advertisements on connections with %s: a receiver is not reading fast enough", s.zeroWin, srv)
			f.Evidence["resource"], f.Evidence["value"], f.Evidence["limit"] = "tcp_receive_window", s.zeroWin, 0
			f.Evidence["packets"], f.Evidence["query"] = packetList(s.zeroWN), wsHost(s.addr)+" && tcp.analysis.zero_window"
			f.Recommendation = "The side advertising a zero window is stalled: check its CPU, GC pauses and whether it reads its socket."
			out = append(out, f)
		}
		if s.established >= 50 && secs > 0 && share(s.short, s.established) >= 0.9 && float64(s.requests) <= 1.2*float64(s.established) {
			f := base(KindConnectionChurn)
			rate := float64(s.established) / secs
			if rate >= 5 {
				f.Score = 0.2 + math.Min(0.3, rate/1000)
				f.Title = fmt.Sprintf("%d short connections to %s (%.0f/s), about one request each: keep-alive is off or the client does not reuse its pool", s.established, srv, rate)
				f.Evidence["connections"], f.Evidence["per_second"], f.Evidence["requests"] = s.established, round3(rate), s.requests
				f.Evidence["short_connections"], f.Evidence["query"] = s.short, wsHost(s.addr)+" && tcp.flags.syn==1 && tcp.flags.ack==0"
				f.Recommendation = "Enable HTTP keep-alive / connection pooling in the client of " + srv + "; each new connection costs a handshake and a port."
				out = append(out, f)
			}
		}
	}
	out = append(out, a.endpointFindings(secs)...)
	return out
}

func (a *NetAnalyzer) endpointFindings(secs float64) []Finding {
	var out []Finding
	eps := a.sortedEndpoints()
	totalErr, totalN := 0, 0
	for _, e := range eps {
		totalErr += e.errors
		totalN += e.count
	}
	for _, e := range eps {
		srv := e.key.server.String()
		op := strings.TrimSpace(e.key.method + " " + e.key.route)
		ids := e.traceIDs
		base := func(kind string) Finding {
			return Finding{Kind: kind, Service: a.serviceOf(srv), Operation: op, Evidence: map[string]any{"server": srv, "proto": e.key.proto}}
		}
		if e.errors > 0 && e.count >= a.o.MinRequests {
			ratio := share(e.errors, e.count)
			baseRatio := share(totalErr-e.errors, totalN-e.count)
			if ratio >= 0.05 || e.errors >= 5 {
				f := base(KindErrorHotspot)
				f.Score = 0.3 + 0.6*ratio
				f.Title = fmt.Sprintf("%s on %s fails %s of requests (%d of %d)", op, srv, pct(ratio), e.errors, e.count)
				rate := 0.0
				if secs > 0 {
					rate = round3(float64(e.errors) / secs)
				}
				f.Evidence["error_rate"], f.Evidence["error_ratio"], f.Evidence["baseline_error_ratio"] = rate, ratio, baseRatio
				f.Evidence["statuses"], f.Evidence["packets"] = e.statuses, packetList(e.errN)
				f.Evidence["query"] = endpointFilter(e)
				if len(e.errTraces) > 0 {
					ids = e.errTraces
				}
				f.TraceIDs = append([]string{}, ids...)
				f.Recommendation = followUp(ids, e.corrIDs)
				out = append(out, f)
			}
		}
		if e.seen >= a.o.MinRequests {
			d := durations(e.lat)
			p99 := Ms(percentile(d, 0.99))
			if p99 >= a.o.SlowMs {
				others := a.otherLatencies(e)
				bp := Ms(percentile(others, 0.99))
				ratio := 0.0
				if bp > 0 {
					ratio = round3(p99 / bp)
				}
				f := base(KindLatencyHotspot)
				f.Score = 0.3 + 0.3*math.Min(1, p99/(5*a.o.SlowMs)) + 0.3*math.Min(1, math.Log10(math.Max(ratio, 1))/2)
				f.Title = fmt.Sprintf("%s on %s is slow: p99 %.0f ms over %d requests (others: p99 %.0f ms)", op, srv, p99, e.seen, bp)
				f.Evidence["p99_ms"], f.Evidence["p50_ms"], f.Evidence["baseline_p99_ms"], f.Evidence["ratio"] = p99, Ms(percentile(d, 0.5)), bp, ratio
				f.Evidence["packets"], f.Evidence["query"] = packetList(e.slowN), endpointFilter(e)
				f.TraceIDs = append([]string{}, ids...)
				f.Recommendation = followUp(ids, e.corrIDs)
				out = append(out, f)
			}
		}
	}
	return out
}

// otherLatencies pools every other endpoint's latency samples: a capture has no earlier window, so the
// rest of the traffic in it is the baseline.
func (a *NetAnalyzer) otherLatencies(self *endpointAgg) []time.Duration {
	var all []float64
	for _, e := range a.endpoints {
		if e != self {
			all = append(all, e.lat...)
		}
	}
	return durations(all)
}

func endpointFilter(e *endpointAgg) string {
	h := wsHost(e.key.server)
	switch e.key.proto {
	case "grpc":
		return h + " && grpc && http2.header.value==\"" + e.key.route + "\""
	case "h2":
		return h + " && http2.headers.method==\"" + e.key.method + "\""
	}
	return h + " && http.request.method==\"" + e.key.method + "\""
}

func followUp(traceIDs, corrIDs []string) string {
	switch {
	case len(traceIDs) > 0:
		return "Open a request from the capture in its trace: dbg trace " + traceIDs[0]
	case len(corrIDs) > 0:
		return "Find the server's log lines for a request from the capture: dbg logs --correlation-id " + corrIDs[0]
	}
	return "The requests carried no traceparent or X-Request-ID header; compare with the server's own latency metrics (dbg hotspots)."
}
