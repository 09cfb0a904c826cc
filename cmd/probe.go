package cmd

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/probe"
	"github.com/dbgtool/dbg/render"
)

func init() { register(newCmdProbe) }

// ProbeOptions is everything `dbg probe` needs.
type ProbeOptions struct {
	IO      *IOStreams
	Probe   probe.Options
	Expect  []probe.Expectation
	Compare *probe.Result // --compare: an earlier probe
	Format  render.Format
	Render  render.Options
}

func newCmdProbe(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "probe URL",
		Short: "Send controlled traffic to one URL and measure it (vegeta), with a pass/fail gate",
		Long: `Send requests to URL at a fixed rate (vegeta's attacker) for --duration or --requests, and report the
achieved rate, success ratio, status codes, error classes (timeout, refused, reset, tls, ...), latency
percentiles and a histogram. Every request carries a fresh X-Correlation-ID and a W3C traceparent, so
its trace and log lines can be found; the report lists the trace IDs of the slowest and failed ones.

--expect 'p99<300ms,errors<1%' or --compare EARLIER.json turn the run into a gate: exit code 3 when it
fails. A run is bounded: more than 5000 requests or 200 requests/s needs --allow-large-load, and no
request goes to a host other than URL's (a redirect elsewhere is recorded, not followed).
--timeout is each request's limit here.`,
		Example: `  dbg probe http://checkout.staging:8080/healthz --rate 50/s --duration 30s
  dbg probe https://api.staging/orders --method POST --body @order.json --header 'Content-Type: application/json' --requests 200
  dbg probe http://checkout:8080/ --expect 'p99<300ms,errors<1%'
  dbg probe http://checkout:8080/ -o json > before.json; dbg probe http://checkout:8080/ --compare before.json`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts, err := probeOptions(s, f, cmd, args[0])
			if err != nil {
				return err
			}
			return probeRun(cmd.Context(), opts)
		},
	}
	addProbeFlags(c, "10/s", 10*time.Second)
	c.Flags().String("expect", "", "a gate: comma-separated conditions on p50/p90/p95/p99/max/mean, errors, success, rate (p99<300ms,errors<1%); exit 3 when one fails")
	c.Flags().String("compare", "", "an earlier probe (-o json) to gate against: p50/p99 at most 20% (+5ms) slower, errors at most 1 point higher; exit 3 when worse")
	c.Flags().String("buckets", "", "histogram bucket bounds, e.g. 0,10ms,50ms,100ms,500ms (default: picked from the latencies)")
	return c
}

// addProbeFlags declares the traffic flags `dbg probe` and `dbg chaos run` share.
func addProbeFlags(c *cobra.Command, rate string, duration time.Duration) {
	fl := c.Flags()
	fl.String("rate", rate, "requests per period: 50/s, 300/1m, 5/100ms")
	fl.Duration("duration", duration, "how long to send (bounded by --requests too when both are set)")
	fl.Int("requests", 0, "send exactly this many requests (instead of rate × duration)")
	fl.Int("concurrency", 50, "most requests in flight at once")
	fl.String("method", http.MethodGet, "HTTP method")
	fl.StringArray("header", nil, "a request header 'Name: value' (repeatable)")
	fl.String("body", "", "request body: a string, or @FILE")
	fl.Bool("allow-large-load", false, "allow more than 5000 requests or 200 requests/s in one run (it is a load test then: be sure of the target)")
}

// probeTraffic turns the shared traffic flags into probe options for url.
func probeTraffic(s *Settings, cmd *cobra.Command, url string) (probe.Options, error) {
	o := probe.Options{URL: url, Method: strings.ToUpper(s.String("method")), Requests: s.Int("requests"),
		Concurrency: s.Int("concurrency"), AllowLargeLoad: s.Bool("allow-large-load"), InsecureSkipVerify: s.Bool("insecure-skip-verify")}
	var err error
	if o.Rate, err = probe.ParseRate(s.String("rate")); err != nil {
		return o, &UsageError{Err: err}
	}
	if o.Duration, err = s.Duration("duration"); err != nil {
		return o, err
	}
	if o.Requests > 0 && !cmd.Flags().Changed("duration") {
		o.Duration = 0 // --requests alone: exactly N, however long that takes
	}
	o.Timeout = s.Timeout()
	raw, _ := cmd.Flags().GetStringArray("header")
	if h, err := parseHeaders(raw); err != nil {
		return o, err
	} else if len(h) > 0 {
		o.Header = h
	}
	if b := s.String("body"); b != "" {
		if o.Body, err = probe.ReadBody(b, os.ReadFile); err != nil {
			return o, &UsageError{Err: err}
		}
	}
	if err := o.Validate(); err != nil {
		return o, &UsageError{Err: err}
	}
	return o, nil
}

func probeOptions(s *Settings, f *Factory, cmd *cobra.Command, url string) (*ProbeOptions, error) {
	opts := &ProbeOptions{IO: f.IO}
	var err error
	if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
		return nil, err
	}
	opts.Render = s.RenderOptions(f)
	if opts.Probe, err = probeTraffic(s, cmd, url); err != nil {
		return nil, err
	}
	if e := s.String("expect"); e != "" {
		if opts.Expect, err = probe.ParseExpect(e); err != nil {
			return nil, &UsageError{Err: err}
		}
	}
	if p := s.String("compare"); p != "" {
		if opts.Compare, err = readProbe("--compare", p); err != nil {
			return nil, err
		}
	}
	if b := s.String("buckets"); b != "" {
		for _, part := range strings.Split(b, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(part))
			if strings.TrimSpace(part) == "0" {
				d, err = 0, nil
			}
			if err != nil || d < 0 || len(opts.Probe.Buckets) > 0 && d <= opts.Probe.Buckets[len(opts.Probe.Buckets)-1] {
				return nil, usageErrorf("--buckets %q: want increasing durations, e.g. 0,10ms,50ms,100ms", b)
			}
			opts.Probe.Buckets = append(opts.Probe.Buckets, d)
		}
	}
	return opts, nil
}

func parseHeaders(raw []string) (http.Header, error) {
	h := http.Header{}
	for _, kv := range raw {
		k, v, ok := strings.Cut(kv, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") || strings.ContainsAny(v, "\r\n") {
			return nil, usageErrorf("--header %q: want 'Name: value'", kv)
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, nil
}

// probeRun sends the traffic, renders the result and applies the gate.
func probeRun(ctx context.Context, opts *ProbeOptions) error {
	po := opts.Probe
	if opts.IO.ErrTTY {
		// A live line on a terminal only; a pipe or a file gets the report and nothing else.
		po.Progress = func(p probe.Progress) { fmt.Fprint(opts.IO.ErrOut, "\r\x1b[K"+render.ProbeProgress(p)) }
	}
	res, err := probe.Run(ctx, po)
	if opts.IO.ErrTTY {
		fmt.Fprint(opts.IO.ErrOut, "\r\x1b[K")
	}
	if err != nil {
		return err
	}
	switch {
	case opts.Compare != nil:
		res.Verdict = probe.CompareTo(res, opts.Compare)
	case len(opts.Expect) > 0:
		res.Verdict = probe.Evaluate(res, opts.Expect)
	}
	if err := render.Probe(opts.IO.Out, res, opts.Format, opts.Render); err != nil {
		return err
	}
	if res.Verdict != nil && !res.Verdict.Pass {
		var failed []string
		for _, c := range res.Verdict.Checks {
			if !c.Pass {
				failed = append(failed, fmt.Sprintf("%s (measured %g)", c.Expr, c.Actual))
			}
		}
		return &ThresholdError{Msg: "probe gate failed: " + render.Clean(strings.Join(failed, "; "))}
	}
	return nil
}

// httpProber is the checklist's --probe: a short probe through the same engine, a few requests a
// second, whose correlation IDs step 7 then looks for in traces and logs.
type httpProber struct {
	opts probe.Options
}

func (p httpProber) Probe(ctx context.Context) (*probe.Result, error) { return probe.Run(ctx, p.opts) }

var _ checklist.Prober = httpProber{}
