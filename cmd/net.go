package cmd

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/pcap"
)

func init() { register(newCmdNet) }

// NetOptions is everything `dbg net` needs, resolved from flags and config.
type NetOptions struct {
	IO     *IOStreams
	File   string // a pcap or pcapng file; "-" for stdin
	Filter *pcap.Filter
	Net    investigate.NetOptions
	Format render.Format
	Render render.Options
	// Connections caps the conversation rows in the table.
	Connections int
	FailOn      investigate.Severity
}

func newCmdNet(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "net",
		Short: "Read a packet capture: TCP loss, resets, refused connections, HTTP/gRPC latency and errors, TLS failures",
		Long: `Read a pcap or pcapng capture (tcpdump -w, kubectl sniff, Wireshark) in one streaming pass and report what a
network engineer looks for in Wireshark: per TCP conversation the handshake RTT, retransmissions and their
share, duplicate ACKs, zero windows, resets (who sent them, in which state) and connections refused (SYN
answered by RST); connection churn; HTTP/1.x requests paired with their responses (pipelining-safe), HTTP/2
and gRPC over cleartext (h2c) with HPACK, each by server, method and templated route with p50/p99 latency and
errors; TLS handshake failures and alerts (the payload of TLS connections is encrypted and is not guessed at).

Findings are ranked like every dbg finding, with the packet numbers, times and a Wireshark display filter to
check each one. Requests that carried traceparent or X-Request-ID headers link back: dbg trace ID,
dbg logs --correlation-id ID.

--filter takes tcpdump's syntax for the common forms (host, net, port, portrange, src/dst, tcp, udp, ip, ip6,
and/or/not). tcpdump compiles filters with libpcap, which needs cgo; dbg evaluates these forms itself and
refuses others rather than guess.`,
		Example: `  tcpdump -i any -nn -s 0 -w capture.pcap port 8080     # then:
  dbg net --file capture.pcap
  dbg net --file capture.pcapng --filter "host 10.0.3.7 and port 8080" --output json
  kubectl sniff checkout-7d9f -o - | dbg net --file -
  dbg net policy --from shop/checkout --to shop/payment --port 8080 -f k8s/`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts, err := netOptionsFrom(f, s)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return netRun(ctx, opts)
		},
	}
	fl := c.Flags()
	fl.String("file", "", `a pcap or pcapng capture ("-" for stdin)`)
	fl.String("filter", "", `tcpdump filter: host, net, port, portrange, src/dst, tcp, udp, ip, ip6, and/or/not`)
	fl.Float64("slow", investigate.DefaultNetOptions().SlowMs, "an endpoint whose p99 is at least this many milliseconds is a latency hotspot")
	fl.Int("min-requests", investigate.DefaultNetOptions().MinRequests, "requests an endpoint needs before it is judged")
	fl.Int("connections", 20, "conversation rows in the table (the worst first)")
	fl.StringArray("name", nil, "name a server in findings: HOST:PORT=SERVICE (repeatable)")
	fl.String("fail-on", "", "exit 3 when a finding at or above this severity is found (critical, high, medium, low)")
	c.AddCommand(newCmdNetPolicy(f))
	return c
}

func netOptionsFrom(f *Factory, s *Settings) (*NetOptions, error) {
	o := &NetOptions{IO: f.IO, File: s.String("file"), Connections: s.Int("connections")}
	if o.File == "" {
		return nil, usageErrorf("dbg net: --file is required (a pcap or pcapng capture, - for stdin)")
	}
	flt, err := pcap.ParseFilter(s.String("filter"))
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	o.Filter = flt
	o.Net = investigate.DefaultNetOptions()
	if v := s.v.GetFloat64("slow"); v > 0 {
		o.Net.SlowMs = v
	}
	if v := s.Int("min-requests"); v > 0 {
		o.Net.MinRequests = v
	}
	names, err := parseNames(s.v.GetStringSlice("name"))
	if err != nil {
		return nil, err
	}
	o.Net.Names = names
	if v := s.String("fail-on"); v != "" {
		sev, ok := investigate.ParseSeverity(v)
		if !ok || sev == investigate.SeverityInfo {
			return nil, usageErrorf("--fail-on %q: want critical, high, medium or low", v)
		}
		o.FailOn = sev
	}
	if o.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
		return nil, err
	}
	o.Render = s.RenderOptions(f)
	return o, nil
}

// parseNames reads --name HOST:PORT=SERVICE values.
func parseNames(vals []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range vals {
		addr, name, ok := strings.Cut(v, "=")
		ap, err := netip.ParseAddrPort(strings.TrimSpace(addr))
		if !ok || err != nil || strings.TrimSpace(name) == "" {
			return nil, usageErrorf("--name %q: want HOST:PORT=SERVICE, e.g. 10.0.3.7:8080=shipping", v)
		}
		m[ap.String()] = strings.TrimSpace(name)
	}
	return m, nil
}

// openCapture opens --file (or stdin for "-") and names it for messages.
func openCapture(path string, stdin io.Reader) (io.Reader, string, func(), error) {
	if path == "-" {
		return stdin, "stdin", func() {}, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, "", nil, fmt.Errorf("dbg net: open capture: %w", err)
	}
	return fh, path, func() { fh.Close() }, nil
}

// analyzeCapture reads a capture file with the default thresholds (the checklist's --pcap).
func analyzeCapture(ctx context.Context, path string) (investigate.NetReport, error) {
	in, name, done, err := openCapture(path, nil)
	if err != nil {
		return investigate.NetReport{}, err
	}
	defer done()
	rep, _, err := pcap.Analyze(ctxReader{ctx, in}, pcap.Options{}, investigate.DefaultNetOptions())
	if err != nil {
		return rep, fmt.Errorf("capture %s: %w", render.Clean(name), err)
	}
	return rep, nil
}

func netRun(ctx context.Context, o *NetOptions) error {
	in, name, done, err := openCapture(o.File, o.IO.In)
	if err != nil {
		return err
	}
	defer done()
	rep, _, err := pcap.Analyze(ctxReader{ctx, in}, pcap.Options{Filter: o.Filter}, o.Net)
	if err != nil {
		return fmt.Errorf("dbg net: %s: %w (check it is a pcap or pcapng file: tcpdump -w writes one)", render.Clean(name), err)
	}
	stopped := ctx.Err()
	if stopped != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("stopped after --timeout: only the first %d packets are analysed", rep.Packets))
	}
	switch o.Format {
	case render.FormatJSON:
		err = render.JSON(o.IO.Out, rep)
	default:
		err = render.Net(o.IO.Out, rep, o.Format == render.FormatMarkdown, render.NetOptions{Options: o.Render, Source: name, Connections: o.Connections})
	}
	if err != nil {
		return err
	}
	if stopped != nil {
		return fmt.Errorf("dbg net: %s: stopped after --timeout (raise --timeout for a larger capture): %w", render.Clean(name), stopped)
	}
	return failOn(o.FailOn, rep.Findings)
}

// ctxReader stops a long read when the context ends (--timeout, Ctrl-C).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
