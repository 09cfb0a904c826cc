package probe

import (
	"errors"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Result is a probe's summary: the `dbg probe` JSON contract
// ({requests, rate, success_ratio, status_codes, errors, latency, histogram, trace_ids}) plus context.
type Result struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	// Started is when the first request went out.
	Started time.Time `json:"started"`
	// Requests is how many were sent; Planned how many the options asked for.
	Requests int `json:"requests"`
	Planned  int `json:"planned"`
	// Rate is the achieved request rate (per second) and TargetRate the asked one.
	Rate       float64 `json:"rate"`
	TargetRate float64 `json:"target_rate"`
	// Throughput is successful requests per second (vegeta's throughput).
	Throughput float64 `json:"throughput"`
	DurationMs float64 `json:"duration_ms"`
	// SuccessRatio is the share of requests answered with a status in [200, 400) (vegeta's success).
	SuccessRatio float64        `json:"success_ratio"`
	StatusCodes  map[string]int `json:"status_codes"`
	// Errors counts the requests that failed, by class (see Class*).
	Errors map[string]int `json:"errors"`
	// ErrorSamples are a few distinct error messages, as received (callers sanitise before printing).
	ErrorSamples []string `json:"error_samples"`
	Latency      Latency  `json:"latency"`
	Histogram    []Bucket `json:"histogram"`
	// TraceIDs are the W3C trace IDs of the slowest requests and of a few failed ones, to look up.
	TraceIDs []string `json:"trace_ids"`
	// CorrelationPrefix starts every request's X-Correlation-ID in this run (then "-<seq>").
	CorrelationPrefix string `json:"correlation_id_prefix"`
	// Interrupted says the run was stopped early (Ctrl-C, deadline): the figures cover what was sent.
	Interrupted bool `json:"interrupted,omitempty"`
	// Verdict is the --expect / --compare gate's outcome, when one was asked for.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Latency is the latency summary in milliseconds.
type Latency struct {
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Bucket is one histogram bar: requests with latency in [from_ms, to_ms); the last bucket's to_ms is 0
// (no upper bound).
type Bucket struct {
	FromMs float64 `json:"from_ms"`
	ToMs   float64 `json:"to_ms"`
	Count  int     `json:"count"`
}

// Error classes. A request is in at most one; an HTTP status >= 400 is counted under its class
// "http_4xx"/"http_5xx" too, so errors add up to the failed requests.
const (
	ClassTimeout  = "timeout"
	ClassRefused  = "refused"
	ClassReset    = "reset"
	ClassTLS      = "tls"
	ClassDNS      = "dns"
	ClassEOF      = "eof"
	ClassHTTP4xx  = "http_4xx"
	ClassHTTP5xx  = "http_5xx"
	ClassOffHost  = "redirect_off_host"
	ClassOther    = "other"
	maxSamples    = 5
	maxTraceIDs   = 10
	slowTraceIDs  = 5
	failedTraceID = 5
)

// Classify names the class of a failed request from vegeta's result: its status, or the transport
// error's text (vegeta keeps errors as strings, so the class comes from the messages Go's net, tls and
// http packages write).
func Classify(code uint16, errText string) string {
	if errText == "" && code >= 200 && code < 400 {
		return ""
	}
	e := strings.ToLower(errText)
	switch {
	case code >= 500:
		return ClassHTTP5xx
	case code >= 400:
		return ClassHTTP4xx
	case strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded"):
		return ClassTimeout
	case strings.Contains(e, "connection refused"):
		return ClassRefused
	case strings.Contains(e, "connection reset") || strings.Contains(e, "broken pipe"):
		return ClassReset
	case strings.Contains(e, "tls:") || strings.Contains(e, "x509:") || strings.Contains(e, "certificate"):
		return ClassTLS
	case strings.Contains(e, "no such host") || strings.Contains(e, "server misbehaving"):
		return ClassDNS
	case strings.HasSuffix(e, "eof") || strings.Contains(e, "server closed"):
		return ClassEOF
	}
	return ClassOther
}

// collector gathers vegeta results as they arrive.
type collector struct {
	mu      sync.Mutex
	metrics vegeta.Metrics
	lat     []time.Duration
	seqs    []uint64
	failed  []uint64
	classes map[string]int
	samples []string
	n, bad  int
}

func (c *collector) add(r *vegeta.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.metrics.Add(r)
	c.lat = append(c.lat, r.Latency)
	c.seqs = append(c.seqs, r.Seq)
	c.n++
	if cl := Classify(r.Code, r.Error); cl != "" {
		c.bad++
		if c.classes == nil {
			c.classes = map[string]int{}
		}
		c.classes[cl]++
		if len(c.failed) < failedTraceID {
			c.failed = append(c.failed, r.Seq)
		}
		if len(c.samples) < maxSamples && r.Error != "" && !contains(c.samples, r.Error) {
			c.samples = append(c.samples, r.Error)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *collector) progress(planned int) Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := Progress{Sent: c.n, Planned: planned, Failed: c.bad}
	if c.n > 0 {
		p.Elapsed = time.Since(c.metrics.Earliest)
		p.P99 = c.metrics.Latencies.Quantile(0.99)
	}
	return p
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (c *collector) result(o Options, run runID, started time.Time, offHost int64) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := &c.metrics
	m.Close()
	res := &Result{
		URL: o.URL, Method: o.Method, Started: started.UTC(), Requests: int(m.Requests), Planned: o.Planned(),
		TargetRate: round3(o.RatePerSecond()), StatusCodes: map[string]int{}, Errors: map[string]int{},
		ErrorSamples: append([]string{}, c.samples...), Histogram: []Bucket{}, TraceIDs: []string{},
		CorrelationPrefix: strings.TrimSuffix(run.CorrelationID(0), "0"),
	}
	if m.Requests == 0 {
		return res
	}
	res.Rate, res.Throughput, res.SuccessRatio = round3(m.Rate), round3(m.Throughput), round3(m.Success)
	res.DurationMs = ms(m.Duration + m.Wait)
	for k, v := range m.StatusCodes {
		res.StatusCodes[k] = v
	}
	for k, v := range c.classes {
		res.Errors[k] = v
	}
	if offHost > 0 {
		res.Errors[ClassOffHost] = int(offHost)
	}
	l := m.Latencies
	res.Latency = Latency{MinMs: ms(l.Min), MeanMs: ms(l.Mean), P50Ms: ms(l.P50), P90Ms: ms(l.P90), P95Ms: ms(l.P95), P99Ms: ms(l.P99), MaxMs: ms(l.Max)}
	res.Histogram = histogram(c.lat, o.Buckets)
	// The slowest requests first: they are the ones worth opening in Jaeger; then a few failed ones.
	idx := make([]int, len(c.lat))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return c.lat[idx[a]] > c.lat[idx[b]] })
	seen := map[uint64]bool{}
	for _, i := range idx[:min(slowTraceIDs, len(idx))] {
		seen[c.seqs[i]] = true
		res.TraceIDs = append(res.TraceIDs, run.TraceID(c.seqs[i]))
	}
	for _, s := range c.failed {
		if !seen[s] && len(res.TraceIDs) < maxTraceIDs {
			seen[s] = true
			res.TraceIDs = append(res.TraceIDs, run.TraceID(s))
		}
	}
	return res
}

func round3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// histogram counts latencies into vegeta's Histogram over the given bounds, or over bounds picked from
// the data: 1-2-5 steps from below the fastest to above the slowest, so the bars spread over what was
// seen whatever its scale.
func histogram(lat []time.Duration, bounds []time.Duration) []Bucket {
	if len(lat) == 0 {
		return []Bucket{}
	}
	if len(bounds) == 0 {
		bounds = autoBuckets(lat)
	}
	h := vegeta.Histogram{Buckets: vegeta.Buckets(bounds)}
	for _, d := range lat {
		h.Add(&vegeta.Result{Latency: d})
	}
	out := make([]Bucket, len(bounds))
	for i, b := range bounds {
		out[i] = Bucket{FromMs: ms(b), Count: int(h.Counts[i])}
		if i+1 < len(bounds) {
			out[i].ToMs = ms(bounds[i+1])
		}
	}
	return out
}

func autoBuckets(lat []time.Duration) []time.Duration {
	lo, hi := lat[0], lat[0]
	for _, d := range lat {
		lo, hi = min(lo, d), max(hi, d)
	}
	steps := []time.Duration{}
	for base := time.Duration(100 * time.Microsecond); base <= time.Hour; base *= 10 {
		steps = append(steps, base, 2*base, 5*base)
	}
	first, last := 0, len(steps)-1
	for i, s := range steps {
		if s <= lo {
			first = i
		}
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i] > hi {
			last = i
		}
	}
	out := []time.Duration{0}
	for _, s := range steps[first : last+1] {
		if s > 0 && s > out[len(out)-1] {
			out = append(out, s)
		}
	}
	if out[len(out)-1] <= hi {
		out = append(out, hi+1)
	}
	return out
}

// ErrNoData says a file or value did not hold a probe result.
var ErrNoData = errors.New("not a dbg probe JSON result (make one with dbg probe -o json)")
