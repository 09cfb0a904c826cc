// Package incidentgen writes incident bundles with a planted root cause, for the checklist's tests, its
// benchmark and the README's demo: a small shop (frontend → checkout → inventory, payment → fraud-check,
// shipping → redis) observed for a baseline window and an incident window, with traces, the metrics a
// Prometheus would have computed from the same requests, logs, and profile findings where the fault is a
// leak. The analysis never sees which fault was planted: that goes in the manifest's truth, for scoring.
package incidentgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/bundle"
)

// Scenario names.
const (
	Healthy        = "healthy"
	SlowDependency = "slow-dependency"
	NPlusOneDeploy = "n-plus-one-after-deploy"
	ErrorBurst     = "error-burst"
	MemoryLeak     = "memory-leak"
	TrafficSpike   = "traffic-spike"
)

// Scenarios lists every scenario with the truth a correct investigation names first.
var Scenarios = []struct {
	Name                     string
	Kind, Service, Operation string
}{
	{Healthy, "", "", ""},
	{SlowDependency, investigate.KindSlowSpan, "fraud-check", "POST /score"},
	{NPlusOneDeploy, investigate.KindNPlusOne, "inventory", "SELECT items"},
	{ErrorBurst, investigate.KindErrorOrigin, "shipping", "GET"},
	{MemoryLeak, investigate.KindMemoryLeak, "payment", ""},
	{TrafficSpike, investigate.KindTrafficSpike, "frontend", "GET /checkout"},
}

// Options size a bundle.
type Options struct {
	Traces int // traces per window (baseline and incident); the traffic spike multiplies the incident's
	Logs   int // extra background log lines per window
	Seed   uint64
	// ExtraEndpoints adds idle endpoints to the metrics (five series each), to size benchmarks.
	ExtraEndpoints int
}

// End is the end of the incident window in generated bundles.
var End = time.Date(2026, 11, 3, 3, 30, 0, 0, time.UTC)

const windowLen = 30 * time.Minute

type gen struct {
	rng      *rand.Rand
	scenario string
	ids      uint64
}

// Generate builds the bundle of a scenario.
func Generate(scenario string, o Options) (*bundle.Contents, error) {
	known := false
	var truth map[string]string
	for _, s := range Scenarios {
		if s.Name == scenario {
			known = true
			truth = map[string]string{"scenario": s.Name, "kind": s.Kind, "service": s.Service, "operation": s.Operation}
		}
	}
	if !known {
		return nil, fmt.Errorf("unknown scenario %q", scenario)
	}
	if o.Traces <= 0 {
		o.Traces = 200
	}
	g := &gen{rng: rand.New(rand.NewPCG(o.Seed+1, o.Seed^0xdb9)), scenario: scenario}
	w := investigate.Window{Start: End.Add(-windowLen), End: End, BaselineStart: End.Add(-2 * windowLen), BaselineEnd: End.Add(-windowLen)}
	c := &bundle.Contents{HasTraces: true, HasMetrics: true, HasLogs: true, HasProfiles: scenario == MemoryLeak,
		Metrics: map[string]investigate.HotspotInput{}}
	c.Manifest = bundle.Manifest{
		ToolVersion: "incidentgen", Created: End, Service: "frontend",
		Window:   bundle.Range{Start: w.Start, End: w.End},
		Baseline: bundle.Range{Start: w.BaselineStart, End: w.BaselineEnd},
		Sources:  map[string]string{"traces": "generated", "metrics": "generated", "logs": "generated"},
		Queries:  []string{},
		Truth:    truth,
	}
	nIncident := o.Traces
	if scenario == TrafficSpike {
		nIncident = o.Traces * 5
	}
	var base, inc []*investigate.Trace
	for i := 0; i < o.Traces; i++ {
		at := w.BaselineStart.Add(time.Duration(float64(windowLen) * (float64(i) + g.rng.Float64()) / float64(o.Traces)))
		base = append(base, g.request(at, false))
	}
	for i := 0; i < nIncident; i++ {
		at := w.Start.Add(time.Duration(float64(windowLen) * (float64(i) + g.rng.Float64()) / float64(nIncident)))
		inc = append(inc, g.request(at, true))
	}
	c.Traces = append(append([]*investigate.Trace{}, base...), inc...)
	c.Metrics[""] = metricsFrom(base, inc, w, scenario)
	addIdleEndpoints(c.Metrics[""], o.ExtraEndpoints, g)
	c.Logs = g.logs(base, inc, o.Logs, w)
	if scenario == MemoryLeak {
		c.ProfileFindings = leakFindings(w)
		c.Manifest.Sources["profiles"] = "generated"
	}
	return c, nil
}

func (g *gen) id() string {
	g.ids++
	return fmt.Sprintf("%016x", g.ids*0x9e3779b97f4a7c15)
}

func (g *gen) jit(d time.Duration, pct float64) time.Duration {
	return (d + time.Duration((g.rng.Float64()*2-1)*pct*float64(d))).Round(time.Microsecond)
}

type tb struct {
	g  *gen
	tr *investigate.Trace
}

func (b *tb) span(parent int, svc, op string, kind investigate.SpanKind, start time.Time, d time.Duration, version string, attrs ...string) int {
	s := investigate.Span{TraceID: b.tr.ID, SpanID: b.g.id(), Service: svc, Operation: op, Kind: kind, Start: start.Round(time.Microsecond), Duration: d,
		Resource: investigate.Attrs{{Key: "service.name", Value: svc}, {Key: "service.version", Value: version}}}
	s.Attrs = investigate.Attrs{{Key: "span.kind", Value: kind.String()}}
	for i := 0; i+1 < len(attrs); i += 2 {
		s.Attrs = append(s.Attrs, investigate.Attr{Key: attrs[i], Value: attrs[i+1]})
	}
	if parent >= 0 {
		s.ParentID = b.tr.Spans[parent].SpanID
	}
	b.tr.Spans = append(b.tr.Spans, s)
	return len(b.tr.Spans) - 1
}

func (b *tb) fail(i int, typ, msg string) {
	s := &b.tr.Spans[i]
	s.Status = investigate.StatusError
	s.StatusMessage = msg
	s.Events = append(s.Events, investigate.Event{Name: "exception", Time: s.End(),
		Attrs: investigate.Attrs{{Key: "exception.type", Value: typ}, {Key: "exception.message", Value: msg}}})
}

func (b *tb) setAttr(i int, k, v string) {
	s := &b.tr.Spans[i]
	for j := range s.Attrs {
		if s.Attrs[j].Key == k {
			s.Attrs[j].Value = v
			return
		}
	}
	s.Attrs = append(s.Attrs, investigate.Attr{Key: k, Value: v})
}

const ms = time.Millisecond

// request builds one checkout request; incident is true in the incident window, where the scenario's
// fault applies.
func (g *gen) request(at time.Time, incident bool) *investigate.Trace {
	b := &tb{g: g, tr: &investigate.Trace{ID: g.id() + g.id()}}
	fault := func(name string) bool { return incident && g.scenario == name }
	srv, cli := investigate.KindServer, investigate.KindClient
	invVersion := "1.14.2"
	if fault(NPlusOneDeploy) {
		invVersion = "1.15.0"
	}
	tier := []string{"free", "gold", "free", "free", "enterprise"}[g.rng.IntN(5)]
	t := at
	// Children first, so the parents' durations cover them.
	type call struct {
		start time.Time
		dur   time.Duration
	}
	root := b.span(-1, "frontend", "GET /checkout", srv, t, 0, "2.3.1", "http.route", "/checkout", "http.request.method", "GET", "http.response.status_code", "200", "user.tier", tier)
	coCall := b.span(root, "frontend", "POST /api/checkout", cli, t.Add(2*ms), 0, "2.3.1", "peer.service", "checkout", "http.request.method", "POST", "url.full", "http://checkout:8080/api/checkout")
	co := b.span(coCall, "checkout", "POST /api/checkout", srv, t.Add(3*ms), 0, "4.0.7", "http.route", "/api/checkout", "http.request.method", "POST", "http.response.status_code", "200")
	cur := t.Add(5 * ms)
	// inventory
	invCall := b.span(co, "checkout", "GET /api/items", cli, cur, 0, "4.0.7", "peer.service", "inventory", "http.request.method", "GET", "url.full", "http://inventory:8080/api/items?cart=991")
	inv := b.span(invCall, "inventory", "GET /api/items", srv, cur.Add(ms), 0, invVersion, "http.route", "/api/items", "http.request.method", "GET", "http.response.status_code", "200")
	ic := cur.Add(2 * ms)
	if fault(NPlusOneDeploy) {
		b.span(inv, "inventory", "SELECT cart_items", cli, ic, g.jit(3*ms, 0.2), invVersion, "db.system", "postgresql", "db.statement", "SELECT item_id FROM cart_items WHERE cart_id = 991")
		ic = ic.Add(4 * ms)
		n := 8 + g.rng.IntN(8)
		for k := 0; k < n; k++ {
			d := g.jit(6*ms, 0.3)
			b.span(inv, "inventory", "SELECT items", cli, ic, d, invVersion, "db.system", "postgresql",
				"db.statement", fmt.Sprintf("SELECT id, name, price FROM items WHERE id = %d", 1000+g.rng.IntN(5000)))
			ic = ic.Add(d + 300*time.Microsecond)
		}
	} else {
		d := g.jit(9*ms, 0.25)
		b.span(inv, "inventory", "SELECT items", cli, ic, d, invVersion, "db.system", "postgresql",
			"db.statement", fmt.Sprintf("SELECT id, name, price FROM items WHERE id IN (%d, %d, %d)", g.rng.IntN(5000), g.rng.IntN(5000), g.rng.IntN(5000)))
		ic = ic.Add(d)
	}
	b.finish(inv, ic.Add(ms))
	b.finish(invCall, ic.Add(2*ms))
	cur = ic.Add(3 * ms)
	// payment → fraud-check
	payCall := b.span(co, "checkout", "POST /api/pay", cli, cur, 0, "4.0.7", "peer.service", "payment", "http.request.method", "POST", "url.full", "http://payment:8080/api/pay")
	pay := b.span(payCall, "payment", "POST /api/pay", srv, cur.Add(ms), 0, "3.2.0", "http.route", "/api/pay", "http.request.method", "POST", "http.response.status_code", "200")
	pc := cur.Add(2 * ms)
	fraudCall := b.span(pay, "payment", "POST /score", cli, pc, 0, "3.2.0", "peer.service", "fraud-check", "http.request.method", "POST", "url.full", "http://fraud-check:8080/score")
	fraudD := g.jit(35*ms, 0.3)
	if fault(SlowDependency) {
		fraudD = g.jit(620*ms, 0.25)
	}
	fraud := b.span(fraudCall, "fraud-check", "POST /score", srv, pc.Add(ms), fraudD, "1.9.4", "http.route", "/score", "http.request.method", "POST", "http.response.status_code", "200")
	b.span(fraud, "fraud-check", "model.evaluate", investigate.KindInternal, pc.Add(2*ms), g.jit(12*ms, 0.2), "1.9.4")
	pc = pc.Add(fraudD + 2*ms)
	b.finish(fraudCall, pc)
	gw := b.span(pay, "payment", "POST /v1/charges", cli, pc.Add(ms), g.jit(40*ms, 0.2), "3.2.0", "peer.service", "gateway", "http.request.method", "POST", "url.full", "https://gateway.example/v1/charges")
	pc = b.tr.Spans[gw].End().Add(ms)
	b.finish(pay, pc)
	b.finish(payCall, pc.Add(ms))
	cur = pc.Add(2 * ms)
	// shipping → redis
	shipCall := b.span(co, "checkout", "GET /api/quote", cli, cur, 0, "4.0.7", "peer.service", "shipping", "http.request.method", "GET", "url.full", "http://shipping:8080/api/quote?zip=94107")
	ship := b.span(shipCall, "shipping", "GET /api/quote", srv, cur.Add(ms), 0, "2.0.1", "http.route", "/api/quote", "http.request.method", "GET", "http.response.status_code", "200")
	redisD := g.jit(2*ms, 0.3)
	failing := fault(ErrorBurst) && g.rng.Float64() < 0.45
	if failing {
		redisD = g.jit(200*ms, 0.02)
	}
	redis := b.span(ship, "shipping", "GET", cli, cur.Add(2*ms), redisD, "2.0.1", "db.system", "redis", "db.statement", "GET quote:94107", "peer.service", "redis")
	sc := cur.Add(2*ms + redisD + ms)
	b.finish(ship, sc)
	b.finish(shipCall, sc.Add(ms))
	cur = sc.Add(2 * ms)
	if failing {
		b.fail(redis, "redis.PoolTimeoutError", "redis: connection pool timeout after 200ms")
		b.fail(ship, "UpstreamUnavailable", "redis unavailable")
		b.setAttr(ship, "http.response.status_code", "503")
		b.setAttr(shipCall, "http.response.status_code", "503")
		b.fail(co, "ShippingQuoteError", "shipping quote failed: upstream returned 503")
		b.setAttr(co, "http.response.status_code", "500")
		b.setAttr(coCall, "http.response.status_code", "500")
		b.setAttr(root, "http.response.status_code", "500")
		b.fail(root, "HTTPError", "checkout failed")
	}
	b.finish(co, cur)
	b.finish(coCall, cur.Add(ms))
	b.finish(root, cur.Add(3*ms))
	return b.tr
}

func (b *tb) finish(i int, end time.Time) {
	s := &b.tr.Spans[i]
	s.Duration = end.Sub(s.Start).Round(time.Microsecond)
}

// metricsFrom computes what Prometheus would report for each server endpoint from the same requests:
// p50/p99 latency, request and 5xx rates, and saturation readings.
func metricsFrom(base, inc []*investigate.Trace, w investigate.Window, scenario string) investigate.HotspotInput {
	type acc struct {
		durs      []float64
		n, errs   int
		buckets   [30][]float64
		bucketN   [30]float64
		bucketErr [30]float64
	}
	collect := func(ts []*investigate.Trace, start time.Time) map[investigate.EndpointKey]*acc {
		m := map[investigate.EndpointKey]*acc{}
		for _, t := range ts {
			for i := range t.Spans {
				s := &t.Spans[i]
				if s.Kind != investigate.KindServer {
					continue
				}
				k := investigate.EndpointKey{Service: s.Service, Operation: s.Operation}
				a := m[k]
				if a == nil {
					a = &acc{}
					m[k] = a
				}
				d := float64(s.Duration.Microseconds()) / 1000
				a.durs = append(a.durs, d)
				a.n++
				isErr := investigate.SpanIsError(s)
				if isErr {
					a.errs++
				}
				bi := int(s.Start.Sub(start) * 30 / windowLen)
				bi = max(0, min(29, bi))
				a.buckets[bi] = append(a.buckets[bi], d)
				a.bucketN[bi]++
				if isErr {
					a.bucketErr[bi]++
				}
			}
		}
		return m
	}
	// The traces are a 1-in-10 sample of the requests, as a head sampler would keep.
	const sampling = 10.0
	secs := windowLen.Seconds()
	bm, im := collect(base, w.BaselineStart), collect(inc, w.Start)
	lat := &investigate.LatencyInput{Query: `histogram_quantile(0.99, sum by (le, service, handler) (rate(http_request_duration_seconds_bucket[5m])))`,
		P50Query: `histogram_quantile(0.5, ...)`,
		P99:      map[investigate.EndpointKey]float64{}, BaseP99: map[investigate.EndpointKey]float64{},
		P50: map[investigate.EndpointKey]float64{}, BaseP50: map[investigate.EndpointKey]float64{}, Spark: map[investigate.EndpointKey][]float64{}}
	req := &investigate.RequestInput{RateQuery: `sum by (service, handler) (rate(http_requests_total[5m]))`,
		ErrorQuery: `sum by (service, handler) (rate(http_requests_total{code=~"5.."}[5m]))`,
		RatioQuery: `sum by (service, handler) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (service, handler) (rate(http_requests_total[5m]))`,
		Rate:       map[investigate.EndpointKey]float64{}, BaseRate: map[investigate.EndpointKey]float64{},
		Errors: map[investigate.EndpointKey]float64{}, BaseErrors: map[investigate.EndpointKey]float64{},
		RateSpark: map[investigate.EndpointKey][]float64{}, ErrorSpark: map[investigate.EndpointKey][]float64{}}
	for k, a := range im {
		sort.Float64s(a.durs)
		lat.P99[k], lat.P50[k] = q(a.durs, 0.99), q(a.durs, 0.5)
		req.Rate[k] = float64(a.n) * sampling / secs
		req.Errors[k] = float64(a.errs) * sampling / secs
		var sp, rs, es []float64
		for i := range a.buckets {
			sort.Float64s(a.buckets[i])
			if len(a.buckets[i]) == 0 {
				sp = append(sp, math.NaN())
			} else {
				sp = append(sp, q(a.buckets[i], 0.99))
			}
			rs = append(rs, a.bucketN[i]*sampling/(secs/30))
			es = append(es, a.bucketErr[i]*sampling/(secs/30))
		}
		lat.Spark[k], req.RateSpark[k], req.ErrorSpark[k] = sp, rs, es
	}
	for k, a := range bm {
		sort.Float64s(a.durs)
		lat.BaseP99[k], lat.BaseP50[k] = q(a.durs, 0.99), q(a.durs, 0.5)
		req.BaseRate[k] = float64(a.n) * sampling / secs
		req.BaseErrors[k] = float64(a.errs) * sampling / secs
	}
	sat := &investigate.SaturationInput{}
	heapBase, heapNow := 180e6, 185e6
	cpuBase, cpuNow := 0.02, 0.03
	if scenario == MemoryLeak {
		heapNow = 610e6
	}
	if scenario == TrafficSpike {
		cpuNow = 0.41
	}
	for _, svc := range []string{"frontend", "checkout", "payment"} {
		hb, hn, cb, cn := heapBase, heapBase*1.02, cpuBase, cpuBase*1.1
		if svc == "payment" {
			hn = heapNow
		}
		if svc == "frontend" {
			cn = cpuNow
		}
		sat.Rows = append(sat.Rows,
			investigate.SaturationObservation{Resource: "heap", Service: svc, Value: hn, Baseline: hb, Unit: "bytes",
				Query: fmt.Sprintf(`go_memstats_heap_inuse_bytes{service=%q}`, svc)},
			investigate.SaturationObservation{Resource: "cpu_throttling", Service: svc, Value: cn, Baseline: cb, Limit: 1, Unit: "ratio", WarnAt: 0.25,
				Query: fmt.Sprintf(`rate(container_cpu_cfs_throttled_periods_total{container=%q}[5m]) / rate(container_cpu_cfs_periods_total{container=%q}[5m])`, svc, svc)})
	}
	return investigate.HotspotInput{Window: w, Convention: "classic", Latency: lat, Requests: req, Saturation: sat}
}

func q(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted)-1)+0.5))]
}

// logs writes what the services would log: a line per handled request with its trace, errors where the
// fault makes them, and background noise that differs only in IDs and numbers.
func (g *gen) logs(base, inc []*investigate.Trace, extra int, w investigate.Window) []investigate.LogRecord {
	var out []investigate.LogRecord
	emit := func(ts []*investigate.Trace) {
		for _, t := range ts {
			for i := range t.Spans {
				s := &t.Spans[i]
				if s.Kind != investigate.KindServer {
					continue
				}
				r := investigate.LogRecord{Time: s.End(), Service: s.Service, Level: "info", TraceID: t.ID, SpanID: s.SpanID,
					Message: fmt.Sprintf("handled %s in %dms", s.Operation, s.Duration.Milliseconds()), Fields: map[string]string{}}
				if investigate.SpanIsError(s) {
					typ, msg := investigate.ErrorDetail(s)
					r.Level = "error"
					r.Message = fmt.Sprintf("request failed: %s (attempt %d, pool=%d/%d)", msg, 1+g.rng.IntN(3), 20, 20)
					r.Fields["error.type"] = typ
				}
				out = append(out, r)
			}
		}
	}
	emit(base)
	emit(inc)
	for _, win := range [][2]time.Time{{w.BaselineStart, w.BaselineEnd}, {w.Start, w.End}} {
		for i := 0; i < extra; i++ {
			at := win[0].Add(time.Duration(g.rng.Int64N(int64(windowLen))))
			out = append(out, investigate.LogRecord{Time: at, Service: "checkout", Level: "info",
				Message: fmt.Sprintf("cache refresh took %dms for %d keys", 5+g.rng.IntN(50), 100+g.rng.IntN(900)), Fields: map[string]string{}})
		}
	}
	investigate.SortLogs(out)
	return out
}

// leakFindings runs the real leak analysis on heap snapshots of payment: one site growing steadily, one
// allocating the same amount every time (not a leak).
func leakFindings(w investigate.Window) []investigate.Finding {
	var snaps []investigate.SiteSnapshot
	for i := 0; i < 6; i++ {
		at := w.End.Add(-time.Duration(5-i) * 10 * time.Second)
		grow := 40e6 + float64(i)*9e6
		steady := 25e6 + float64((i*7)%3)*1e5
		snaps = append(snaps, investigate.SiteSnapshot{Time: at, Values: map[string]float64{"leak": grow, "steady": steady}, Total: grow + steady + 100e6})
	}
	sites := map[string]investigate.Site{
		"leak":   {Function: "github.com/shop/payment/internal/cache.(*SessionCache).Put", File: "internal/cache/session.go", Line: 88, Callers: []string{"github.com/shop/payment/internal/api.(*Handler).Pay"}},
		"steady": {Function: "encoding/json.(*decodeState).object", File: "encoding/json/decode.go", Line: 640, Callers: []string{"github.com/shop/payment/internal/api.(*Handler).Pay"}},
	}
	fs := investigate.MemoryLeaks(snaps, sites, investigate.MemoryLeakOptions{MemoryLimit: 1 << 30})
	for i := range fs {
		fs[i].Service = "payment"
	}
	return fs
}

// addIdleEndpoints adds n steady endpoints: latency, rates and sparklines equal in both windows.
func addIdleEndpoints(in investigate.HotspotInput, n int, g *gen) {
	for i := 0; i < n; i++ {
		k := investigate.EndpointKey{Service: fmt.Sprintf("svc-%02d", i%20), Operation: fmt.Sprintf("GET /api/v1/resource%d", i)}
		p99 := 20 + g.rng.Float64()*30
		rate := 1 + g.rng.Float64()*5
		in.Latency.P99[k], in.Latency.BaseP99[k] = p99, p99*(0.95+0.1*g.rng.Float64())
		in.Latency.P50[k], in.Latency.BaseP50[k] = p99/3, p99/3
		in.Requests.Rate[k], in.Requests.BaseRate[k] = rate, rate*(0.9+0.2*g.rng.Float64())
		in.Requests.Errors[k], in.Requests.BaseErrors[k] = 0, 0
		sp := make([]float64, 30)
		for j := range sp {
			sp[j] = p99 * (0.9 + 0.2*g.rng.Float64())
		}
		in.Latency.Spark[k], in.Requests.RateSpark[k], in.Requests.ErrorSpark[k] = sp, sp, make([]float64, 30)
	}
}
