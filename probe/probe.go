// Package probe sends controlled HTTP traffic to one URL and measures it: `dbg probe`, the checklist's
// `--probe`, and the baseline/inject/clear phases of `dbg chaos run`. The load itself is vegeta's
// (github.com/tsenart/vegeta): its Attacker paces the requests and its Metrics summarise them; this
// package adds what an on-call engineer needs on top — a correlation ID and a W3C traceparent on every
// request (so the probe's requests can be found in Jaeger and the logs), error classes, a bounded
// request budget, a same-host rule, and a pass/fail gate.
//
// It imports no other dbg package.
package probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Limits a run stays inside unless the caller sets AllowLargeLoad (`--allow-large-load`): a typo in
// --rate or --duration must not turn a probe into a load test of production.
const (
	// DefaultMaxRequests is the most requests one run sends without the override.
	DefaultMaxRequests = 5000
	// DefaultMaxRate is the highest rate (requests per second) without the override.
	DefaultMaxRate = 200.0
	// MaxBody bounds the request body and what is read of each response.
	MaxBody = 10 << 20
	// maxRedirects bounds redirects followed on the same host.
	maxRedirects = 10
)

// Options say what to send.
type Options struct {
	URL    string
	Method string
	Header http.Header
	Body   []byte
	// Rate is the requests sent per Per (vegeta's Rate); Per defaults to a second.
	Rate vegeta.Rate
	// Duration bounds the run by time, Requests by count; when both are set the first reached wins.
	Duration time.Duration
	Requests int
	// Concurrency caps the requests in flight (vegeta's workers); 0 means 50.
	Concurrency int
	// Timeout is each request's limit, 0 means 30 s.
	Timeout time.Duration
	// AllowLargeLoad lifts DefaultMaxRequests and DefaultMaxRate.
	AllowLargeLoad bool
	// InsecureSkipVerify turns off TLS certificate checks.
	InsecureSkipVerify bool
	// Buckets are the histogram's bucket bounds; nil picks them from the latencies seen.
	Buckets []time.Duration
	// Progress, when set, is called about every Interval with the results so far (a TTY progress line).
	Progress func(Progress)
	// Interval is how often Progress is called; 0 means 250 ms.
	Interval time.Duration
}

// Progress is a snapshot of a running probe.
type Progress struct {
	Sent, Planned int
	Failed        int
	Elapsed       time.Duration
	P99           time.Duration
}

// ErrTooLarge is returned when a run would exceed the default request or rate ceiling.
var ErrTooLarge = errors.New("probe: over the default ceiling")

// Planned is the number of requests the options ask for (rate × duration, or Requests).
func (o Options) Planned() int {
	n := 0
	if o.Duration > 0 && o.Rate.Freq > 0 {
		per := o.Rate.Per
		if per <= 0 {
			per = time.Second
		}
		n = int(float64(o.Rate.Freq) * float64(o.Duration) / float64(per))
	}
	if o.Requests > 0 && (n == 0 || o.Requests < n) {
		n = o.Requests
	}
	return n
}

// RatePerSecond is the asked rate in requests per second.
func (o Options) RatePerSecond() float64 {
	per := o.Rate.Per
	if per <= 0 {
		per = time.Second
	}
	return float64(o.Rate.Freq) * float64(time.Second) / float64(per)
}

// Validate checks the options before anything is sent: a URL with a host, a bound, the ceilings.
func (o Options) Validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("probe URL %q: want http(s)://host[:port]/path", o.URL)
	}
	if o.Rate.Freq <= 0 {
		return errors.New("probe: --rate must be above 0 (e.g. 50/s)")
	}
	if o.Duration <= 0 && o.Requests <= 0 {
		return errors.New("probe: set --duration or --requests: a probe is always bounded")
	}
	if o.Duration < 0 || o.Requests < 0 || o.Concurrency < 0 || o.Timeout < 0 {
		return errors.New("probe: --duration, --requests, --concurrency and --timeout cannot be negative")
	}
	if len(o.Body) > MaxBody {
		return fmt.Errorf("probe: the body is %d bytes; the limit is %d", len(o.Body), MaxBody)
	}
	if o.AllowLargeLoad {
		return nil
	}
	if n := o.Planned(); n > DefaultMaxRequests {
		return fmt.Errorf("%w: %d requests planned (rate × duration), the limit is %d; lower --rate/--duration/--requests, or pass --allow-large-load if you mean it", ErrTooLarge, n, DefaultMaxRequests)
	}
	if r := o.RatePerSecond(); r > DefaultMaxRate {
		return fmt.Errorf("%w: %.0f requests/s asked, the limit is %.0f/s; pass --allow-large-load if you mean it", ErrTooLarge, r, DefaultMaxRate)
	}
	return nil
}

// Run sends the traffic and summarises it. It returns an error only when nothing could be sent (bad
// options, a cancelled context before the first request); failed requests are part of the result.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.Concurrency == 0 {
		o.Concurrency = 50
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Rate.Per <= 0 {
		o.Rate.Per = time.Second
	}
	target, _ := url.Parse(o.URL)
	run := newRunID()
	offHost := &atomic.Int64{}
	tagger := &tagTransport{run: run, next: newTransport(o)}
	client := &http.Client{
		Transport: tagger,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !strings.EqualFold(req.URL.Hostname(), target.Hostname()) {
				offHost.Add(1)
				return http.ErrUseLastResponse // never to another host: the redirect is the answer
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
	workers := uint64(o.Concurrency)
	atk := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.Timeout(o.Timeout),
		vegeta.Workers(min(workers, 10)),
		vegeta.MaxWorkers(workers),
		vegeta.MaxBody(MaxBody),
	)
	header := o.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: o.Method, URL: o.URL, Body: o.Body, Header: header})
	planned := o.Planned()
	pacer := countPacer{Pacer: o.Rate, max: uint64(planned)}

	var col collector
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if o.Progress != nil {
		interval := o.Interval
		if interval <= 0 {
			interval = 250 * time.Millisecond
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					o.Progress(col.progress(planned))
				}
			}
		}()
	}
	started := time.Now()
	results := atk.Attack(targeter, pacer, o.Duration, "dbg-probe")
	cancelled := false
	for {
		select {
		case r, ok := <-results:
			if !ok {
				goto done
			}
			col.add(r)
		case <-ctx.Done():
			if !cancelled {
				atk.Stop()
				cancelled = true
			}
		}
	}
done:
	close(stop)
	wg.Wait()
	if col.count() == 0 && ctx.Err() != nil {
		return nil, fmt.Errorf("probe %s: %w", o.URL, ctx.Err())
	}
	res := col.result(o, run, started, offHost.Load())
	res.Interrupted = cancelled
	return res, nil
}

// countPacer stops a vegeta pacer after max hits (0: never), so --requests N sends exactly N.
type countPacer struct {
	vegeta.Pacer
	max uint64
}

func (p countPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.max > 0 && hits >= p.max {
		return 0, true
	}
	return p.Pacer.Pace(elapsed, hits)
}

func newTransport(o Options) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // every request goes to the URL's own host, never through an environment proxy
	tr.MaxIdleConnsPerHost = o.Concurrency
	tr.MaxConnsPerHost = o.Concurrency
	tr.ResponseHeaderTimeout = o.Timeout
	if o.InsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	}
	return tr
}

// runID is 8 random bytes naming one run; with a request's sequence number it makes the request's
// trace ID and correlation ID, so a result maps back to its trace without a table.
type runID [8]byte

func newRunID() runID {
	var r runID
	_, _ = rand.Read(r[:])
	return r
}

// TraceID is the W3C trace ID of request seq of this run: the run's 8 bytes, then seq big-endian.
func (r runID) TraceID(seq uint64) string {
	var b [16]byte
	copy(b[:8], r[:])
	binary.BigEndian.PutUint64(b[8:], seq)
	return hex.EncodeToString(b[:])
}

// CorrelationID is the X-Correlation-ID of request seq.
func (r runID) CorrelationID(seq uint64) string {
	return "dbg-probe-" + hex.EncodeToString(r[:]) + "-" + strconv.FormatUint(seq, 10)
}

// tagTransport puts X-Correlation-ID and traceparent on each request. vegeta numbers every hit and
// sends the number as X-Vegeta-Seq before the client runs, so the IDs derive from the same number the
// result carries.
type tagTransport struct {
	run  runID
	next http.RoundTripper
}

func (t *tagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	seq, err := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	if err != nil {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	var span [8]byte
	_, _ = rand.Read(span[:])
	r.Header.Set("X-Correlation-ID", t.run.CorrelationID(seq))
	r.Header.Set("traceparent", "00-"+t.run.TraceID(seq)+"-"+hex.EncodeToString(span[:])+"-01")
	return t.next.RoundTrip(r)
}

// ReadBody reads a --body value: "@path" is a file's contents, anything else is the body itself.
func ReadBody(v string, readFile func(string) ([]byte, error)) ([]byte, error) {
	if !strings.HasPrefix(v, "@") {
		return []byte(v), nil
	}
	b, err := readFile(v[1:])
	if err != nil {
		return nil, fmt.Errorf("--body %s: %w", v, err)
	}
	if len(b) > MaxBody {
		return nil, fmt.Errorf("--body %s: %d bytes, the limit is %d", v, len(b), MaxBody)
	}
	return bytes.Clone(b), nil
}
