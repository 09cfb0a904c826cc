package render

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// NetOptions choose what the `dbg net` table shows.
type NetOptions struct {
	Options
	// Source names the capture ("capture.pcap", "stdin").
	Source string
	// Connections caps the conversation rows shown (the worst first); JSON has every kept row.
	Connections int
}

// Net writes a capture analysis the way a tshark user reads one: a summary line, findings, Expert
// Info counts, the per-server conversation table (-z conv,tcp with TCP analysis), the per-endpoint
// request table (-z http,tree with latency), then the worst connections.
func Net(w io.Writer, r investigate.NetReport, md bool, o NetOptions) error {
	p := newPrinter(w, md, o.Options)
	st := p.style()
	head := fmt.Sprintf("%s: %d packets, %d TCP conversations, %d requests, %s → %s (%.1f s)",
		Clean(o.Source), r.Packets, r.Flows, r.Exchanges,
		r.Window.Start.UTC().Format("2006-01-02T15:04:05.000Z"), r.Window.End.UTC().Format("15:04:05.000Z"), r.Window.DurationMs/1000)
	if md {
		fmt.Fprintf(w, "## dbg net\n\n%s\n\n", mdText(head))
	} else {
		fmt.Fprintln(w, st.bold(head))
	}
	for _, warn := range r.Warnings {
		p.warning(warn)
	}
	for _, n := range r.Notes {
		p.note(n)
	}
	p.section("Findings")
	if err := findingsTable(p, r.Findings); err != nil {
		return err
	}
	evidence(p, r.Findings)
	p.section("Expert info")
	fmt.Fprintln(w, expertLine(r))
	if len(r.Servers) > 0 {
		p.section("TCP by server (as tshark -z conv,tcp, summed per server, with TCP analysis)")
		rows := [][]string{}
		for _, s := range r.Servers {
			name := p.cell(s.Server, 0)
			if s.Service != "" {
				name += " (" + p.cell(s.Service, 0) + ")"
			}
			rows = append(rows, []string{name, fmt.Sprint(s.Connections), fmt.Sprint(s.Refused), fmt.Sprint(s.Unanswered),
				fmt.Sprintf("%d/%d", s.ResetsByServer, s.ResetsByClient), fmt.Sprint(s.Retransmits),
				fmt.Sprintf("%.1f%%", 100*s.RetransmitShare), fmt.Sprint(s.DupAcks), fmt.Sprint(s.ZeroWindows),
				fmt.Sprintf("%.2f", s.RTTP50Ms), fmt.Sprintf("%.2f", s.RTTP99Ms), fmt.Sprint(s.Requests), fmt.Sprint(s.TLSFailures)})
		}
		if err := p.table([]string{"SERVER", "CONNS", "REFUSED", "NO-ANSWER", "RST S/C", "RETRANS", "SHARE", "DUP-ACK", "ZERO-WIN", "RTT P50", "RTT P99", "REQUESTS", "TLS-FAIL"}, rows); err != nil {
			return err
		}
	}
	if len(r.Endpoints) > 0 {
		p.section("Requests by endpoint (as tshark -z http,tree, with latency; gRPC by method)")
		rows := [][]string{}
		for _, e := range r.Endpoints {
			rows = append(rows, []string{p.cell(e.Server, 0), e.Proto, p.cell(e.Method, 0), p.cell(e.Route, 60),
				fmt.Sprint(e.Count), fmt.Sprint(e.Errors), fmt.Sprint(e.Unanswered), statuses(e.Statuses),
				fmt.Sprintf("%.2f", e.P50Ms), fmt.Sprintf("%.2f", e.P99Ms), fmt.Sprintf("%.2f", e.MaxMs)})
		}
		if err := p.table([]string{"SERVER", "PROTO", "METHOD", "ROUTE", "COUNT", "ERRORS", "NO-RESP", "STATUS", "P50 MS", "P99 MS", "MAX MS"}, rows); err != nil {
			return err
		}
	}
	conns := worstConnections(r.Connections, o.Connections)
	if len(conns) > 0 {
		title := fmt.Sprintf("Connections (%d of %d, the worst first; --output json for all kept)", len(conns), r.Flows)
		p.section(title)
		rows := [][]string{}
		for _, c := range conns {
			rows = append(rows, []string{p.cell(c.Client, 0) + " ↔ " + p.cell(c.Server, 0), fmt.Sprint(c.FirstPacket), fmt.Sprint(c.Packets),
				fmt.Sprint(c.BytesToSrv), fmt.Sprint(c.BytesToCli), fmt.Sprintf("%.1f", c.DurationMs), fmt.Sprintf("%.2f", c.RTTMs),
				fmt.Sprint(c.Retransmits), resetCell(c), c.State, fmt.Sprint(c.Requests), c.Proto})
		}
		return p.table([]string{"CONVERSATION", "FIRST", "FRAMES", "BYTES →", "BYTES ←", "DURATION MS", "RTT MS", "RETRANS", "RST", "STATE", "REQUESTS", "PROTO"}, rows)
	}
	return nil
}

func resetCell(c investigate.NetConnection) string {
	if c.Resets == 0 {
		return "-"
	}
	return fmt.Sprintf("%d by %s", c.Resets, c.ResetBy)
}

func statuses(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", Clean(k), m[k]))
	}
	s := strings.Join(parts, " ")
	return Truncate(s, 40)
}

// expertLine sums the TCP analysis flags as Wireshark's Expert Info groups them: warnings for
// retransmissions, resets, zero windows and refused connections, notes for duplicate ACKs.
func expertLine(r investigate.NetReport) string {
	var retx, rst, zw, dup, refused, unans, tlsf int
	for _, s := range r.Servers {
		retx += s.Retransmits
		rst += s.ResetsByServer + s.ResetsByClient
		zw += s.ZeroWindows
		dup += s.DupAcks
		refused += s.Refused
		unans += s.Unanswered
		tlsf += s.TLSFailures
	}
	return fmt.Sprintf("Warnings: %d retransmissions, %d connection resets, %d refused, %d unanswered SYNs, %d zero windows, %d TLS failures; Notes: %d duplicate ACKs",
		retx, rst, refused, unans, zw, tlsf, dup)
}

func worstConnections(cs []investigate.NetConnection, n int) []investigate.NetConnection {
	if n <= 0 {
		n = 20
	}
	out := append([]investigate.NetConnection(nil), cs...)
	score := func(c investigate.NetConnection) int {
		s := c.Retransmits + c.DupAcks + c.ZeroWindows
		if c.Resets > 0 {
			s += 1000
		}
		if c.Refused {
			s += 2000
		}
		return s
	}
	sort.SliceStable(out, func(i, j int) bool { return score(out[i]) > score(out[j]) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
