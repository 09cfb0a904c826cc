package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/chaos"
	"github.com/dbgtool/dbg/render"
)

// ChaosProxyOptions is everything `dbg chaos proxy` needs.
type ChaosProxyOptions struct {
	IO     *IOStreams
	Config chaos.ProxyConfig
	Format render.Format
	// ready, when set, is told the running proxy (tests).
	ready func(*chaos.Proxy)
}

func newCmdChaosProxy(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream ADDR",
		Short: "A local fault-injecting TCP/HTTP proxy: latency, errors, bandwidth, blackhole, switched at runtime",
		Long: `Listen on --listen and forward to --upstream, injecting faults: --latency (± --jitter), --error-rate (answered
with --error-status in HTTP mode, otherwise a TCP reset), --bandwidth (bytes a second per connection and
direction), --blackhole (accept, never answer). Point a service's dependency address at the proxy to
reproduce a fault without a cluster and without changing code.

An --upstream of http://host:port selects HTTP mode (per-request faults and status codes); host:port relays
TCP (any protocol: PostgreSQL, Redis, gRPC). Faults switch at runtime through the admin endpoint, on
loopback unless --allow-remote-admin:

  curl -X PUT  ADMIN/faults -d '{"latency_ms":300,"jitter_ms":30}'
  curl -X PUT  ADMIN/faults -d '{"error_rate":0.2,"error_status":503}'
  curl -X DELETE ADMIN/faults          # clear
  curl ADMIN/faults                    # faults, bound and counters

--duration bounds the faults: when it has passed they are cleared, new ones are refused and the proxy
passes traffic through untouched until stopped (Ctrl-C), so the service behind it never loses its path.`,
		Example: `  dbg chaos proxy --listen 127.0.0.1:15432 --upstream 127.0.0.1:5432 --latency 300ms --duration 10m
  dbg chaos proxy --listen :8081 --upstream http://payment:8080 --admin 127.0.0.1:9901 --duration 30m
  dbg chaos proxy --listen :8081 --upstream http://payment:8080 --error-rate 0.2 --error-status 503`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts := &ChaosProxyOptions{IO: f.IO}
			if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON); err != nil {
				return err
			}
			if opts.Config, err = proxyConfig(s); err != nil {
				return err
			}
			return chaosProxyRun(cmd.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.String("listen", "127.0.0.1:0", "address to listen on")
	fl.String("upstream", "", "where to forward: host:port (TCP) or http://host:port (HTTP)")
	fl.String("mode", "", "tcp or http (default: http for an http:// upstream, tcp otherwise)")
	fl.String("admin", "127.0.0.1:0", "the admin endpoint's address (loopback only unless --allow-remote-admin)")
	fl.Bool("allow-remote-admin", false, "let the admin endpoint listen on a non-loopback address")
	fl.Duration("duration", 10*time.Minute, "how long faults may be on (at most 24h); then they are cleared")
	fl.Duration("latency", 0, "latency added to each request (HTTP) or client chunk (TCP)")
	fl.Duration("jitter", 0, "± spread of the latency")
	fl.Float64("error-rate", 0, "share of requests that fail (0..1)")
	fl.Int("error-status", 0, "HTTP mode: answer failed requests with this status (default: reset the connection)")
	fl.Int64("bandwidth", 0, "bytes a second per connection and direction (0: unlimited)")
	fl.Bool("blackhole", false, "accept and read, never forward or answer")
	return c
}

func proxyConfig(s *Settings) (chaos.ProxyConfig, error) {
	cfg := chaos.ProxyConfig{Listen: s.String("listen"), Upstream: strings.TrimSpace(s.String("upstream")), Admin: s.String("admin"),
		AllowRemoteAdmin: s.Bool("allow-remote-admin")}
	if cfg.Upstream == "" {
		return cfg, usageErrorf("dbg chaos proxy: --upstream is required (host:port, or http://host:port)")
	}
	switch m := s.String("mode"); m {
	case "":
		cfg.HTTP = strings.HasPrefix(cfg.Upstream, "http://") || strings.HasPrefix(cfg.Upstream, "https://")
	case "http", "tcp":
		cfg.HTTP = m == "http"
	default:
		return cfg, usageErrorf("--mode %q: want tcp or http", m)
	}
	var err error
	if cfg.Duration, err = s.Duration("duration"); err != nil {
		return cfg, err
	}
	if cfg.Duration <= 0 || cfg.Duration > 24*time.Hour {
		return cfg, usageErrorf("--duration %s: want more than 0 and at most 24h (faults never run unbounded)", cfg.Duration)
	}
	lat, err := s.Duration("latency")
	if err != nil {
		return cfg, err
	}
	jit, err := s.Duration("jitter")
	if err != nil {
		return cfg, err
	}
	cfg.Faults = chaos.ProxyFaults{LatencyMs: float64(lat) / 1e6, JitterMs: float64(jit) / 1e6, ErrorRate: s.v.GetFloat64("error-rate"),
		ErrorStatus: s.Int("error-status"), BandwidthBps: s.v.GetInt64("bandwidth"), Blackhole: s.Bool("blackhole")}
	if err := cfg.Faults.Validate(); err != nil {
		return cfg, &UsageError{Err: err}
	}
	return cfg, nil
}

// chaosProxyRun runs the proxy until ctx ends (Ctrl-C), then prints what it did.
func chaosProxyRun(ctx context.Context, opts *ChaosProxyOptions) error {
	p, err := chaos.StartProxy(opts.Config)
	if err != nil {
		return err
	}
	st := p.State()
	// The addresses go to stderr so a script can read them without mixing them into the -o json output.
	fmt.Fprintf(opts.IO.ErrOut, "dbg chaos proxy: %s %s → %s; admin %s/faults; faults: %s; until %s\n",
		st.Mode, st.Listen, render.Clean(st.Upstream), p.AdminURL(), st.Faults, st.Until.Format(time.RFC3339))
	if opts.ready != nil {
		opts.ready(p)
	}
	<-ctx.Done()
	final := p.State()
	p.Close()
	if opts.Format == render.FormatJSON {
		return render.JSON(opts.IO.Out, final)
	}
	s := final.Stats
	_, err = fmt.Fprintf(opts.IO.Out, "proxied %d connections, %d requests: %d delayed, %d errors (%d resets), %d blackholed\n",
		s.Connections, s.Requests, s.Delayed, s.Errors, s.Resets, s.Blackholed)
	return err
}
