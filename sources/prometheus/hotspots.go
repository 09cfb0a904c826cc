package prometheus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/dbgtool/dbg/investigate"
)

// HotspotQuery is what `dbg hotspots` asks for.
type HotspotQuery struct {
	Window  investigate.Window
	Service string // empty: every service
	// Override is a convention tried before the built-ins (the prometheus-convention config map); it
	// adds to them, it does not replace them.
	Override *Convention
	// ServiceLabel is a label that names services, tried before the built-in identity labels
	// (prometheus-service-label in the config).
	ServiceLabel string
	// Points is the number of sparkline points over the window (30 when 0).
	Points int
	// Concurrency bounds the queries in flight (4 when 0).
	Concurrency int
}

// Request is one API call the hotspot queries made, for --explain and for replaying them elsewhere
// (the benchmark sends the same requests with curl).
type Request struct {
	API    string            `json:"api"` // query, query_range, labels, label_values
	Params map[string]string `json:"params"`
	Match  []string          `json:"match,omitempty"` // labels, label_values: the match[] selectors
	Label  string            `json:"label,omitempty"` // label_values: the label
	Took   time.Duration     `json:"-"`
}

// recorder runs the source's calls and keeps what it sent.
type recorder struct {
	s     *Source
	mu    sync.Mutex
	reqs  []Request
	warns []string
}

func (r *recorder) add(req Request, warns []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	for _, w := range warns {
		if !slices.Contains(r.warns, w) {
			r.warns = append(r.warns, w)
		}
	}
}

func unix(t time.Time) string {
	return fmt.Sprintf("%.3f", float64(t.UnixNano())/1e9)
}

func (r *recorder) query(ctx context.Context, q string, t time.Time) ([]investigate.Sample, error) {
	start := time.Now()
	out, warns, err := r.s.Query(ctx, q, t)
	r.add(Request{API: "query", Params: map[string]string{"query": q, "time": unix(t)}, Took: time.Since(start)}, warns)
	return out, err
}

func (r *recorder) queryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]investigate.Series, error) {
	t0 := time.Now()
	out, warns, err := r.s.QueryRange(ctx, q, start, end, step)
	r.add(Request{API: "query_range", Params: map[string]string{"query": q, "start": unix(start), "end": unix(end),
		"step": fmt.Sprint(step.Seconds())}, Took: time.Since(t0)}, warns)
	return out, err
}

func (r *recorder) labelNames(ctx context.Context, match string, start, end time.Time) ([]string, error) {
	t0 := time.Now()
	out, warns, err := r.s.LabelNames(ctx, []string{match}, start, end)
	r.add(Request{API: "labels", Match: []string{match}, Params: map[string]string{"start": unix(start), "end": unix(end)}, Took: time.Since(t0)}, warns)
	return out, err
}

func (r *recorder) series(ctx context.Context, match []string, start, end time.Time) ([]map[string]string, error) {
	t0 := time.Now()
	out, warns, err := r.s.Series(ctx, match, start, end)
	r.add(Request{API: "series", Match: match, Params: map[string]string{"start": unix(start), "end": unix(end)}, Took: time.Since(t0)}, warns)
	return out, err
}

// metadata asks for the metric metadata; a server that does not serve it (or answers an error) only
// means discovery goes by names and labels alone.
func (r *recorder) metadata(ctx context.Context) map[string][]v1.Metadata {
	t0 := time.Now()
	out, err := r.s.Metadata(ctx)
	r.add(Request{API: "metadata", Params: map[string]string{}, Took: time.Since(t0)}, nil)
	if err != nil {
		return nil
	}
	return out
}

func (r *recorder) labelValues(ctx context.Context, label string, match []string, start, end time.Time) ([]string, error) {
	t0 := time.Now()
	out, warns, err := r.s.LabelValues(ctx, label, match, start, end)
	r.add(Request{API: "label_values", Label: label, Match: match, Params: map[string]string{"start": unix(start), "end": unix(end)}, Took: time.Since(t0)}, warns)
	return out, err
}

// promDuration formats d as a PromQL duration ("30m", "1d").
func promDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return model.Duration(d).String()
}

// plan is the resolved metric layout the hotspot queries of one family run over.
type plan struct {
	use        *Use
	metric     string   // the histogram's _bucket series, the summary, or the counter
	groups     []string // grouping labels: service label (if any), then the route labels
	svcLabel   string
	routeParts []string
	matchers   []string
}

func (p *plan) key(l map[string]string, service string) investigate.EndpointKey {
	k := investigate.EndpointKey{Service: service}
	if p.svcLabel != "" && l[p.svcLabel] != "" {
		k.Service = serviceName(p.svcLabel, l[p.svcLabel])
	}
	parts := make([]string, 0, len(p.routeParts))
	for _, r := range p.routeParts {
		parts = append(parts, l[r])
	}
	k.Operation = strings.Join(parts, "/")
	if k.Operation == "" {
		k.Operation = k.Service
	}
	return k
}

// keeps reports whether a row belongs to this family: its service is read in this family's names.
func (p *plan) keeps(k investigate.EndpointKey, service string) bool {
	if p.svcLabel == "" {
		return true
	}
	return service != "" || p.use.owns(k.Service)
}

// saw records a row's service for a family whose services were not asked for (the caller holds the
// lock).
func (p *plan) saw(k investigate.EndpointKey) {
	if p.use.seen != nil {
		p.use.seen[k.Service] = true
	}
}

// serviceMatcher filters label to service. On job, which is often "namespace/name", the name may come
// after a slash; Traefik's "name@provider" is name.
func serviceMatcher(label, service string) string {
	if label == "job" {
		return MatchRegex(label, "(?:.*/)?"+regexp.QuoteMeta(service))
	}
	if label == "service" || label == "exported_service" {
		return MatchRegex(label, regexp.QuoteMeta(service)+"(?:@.*)?")
	}
	return Match(label, service)
}

// planFor builds the query layout of a family discovery chose.
func planFor(u *Use, service string) *plan {
	p := &plan{use: u, metric: u.Metric, svcLabel: u.ServiceLabel, routeParts: u.Route}
	if u.Selector != "" {
		p.matchers = append(p.matchers, u.Selector)
	}
	if m := u.identity(service); m != "" {
		p.matchers = append(p.matchers, m)
	}
	if p.svcLabel != "" {
		p.groups = append(p.groups, p.svcLabel)
	}
	p.groups = append(p.groups, p.routeParts...)
	return p
}

// job is one query whose answer lands in a table.
type job struct {
	run func(ctx context.Context) error
}

func runJobs(ctx context.Context, jobs []job, n int) error {
	if n <= 0 {
		n = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j job) {
			defer wg.Done()
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			if err := j.run(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}(j)
	}
	wg.Wait()
	return first
}

// Hotspots discovers the server's request metrics (by shape; the built-in conventions and the override
// first), runs the latency, error, traffic and saturation queries for the window and its baseline, and
// returns what investigate.AnalyzeHotspots ranks, with every request it made. Each service is read in
// the family that holds it. Missing metrics become notes on their table; a failing query is an error.
func (s *Source) Hotspots(ctx context.Context, hq HotspotQuery) (investigate.HotspotInput, []Request, error) {
	w := hq.Window
	in := investigate.HotspotInput{Window: w}
	rec := &recorder{s: s}
	points := hq.Points
	if points <= 0 {
		points = 30
	}
	step := (w.Length() / time.Duration(points)).Round(time.Second)
	if step < time.Second {
		step = time.Second
	}
	win := promDuration(w.Length())
	rangeWin := promDuration(max(2*step, time.Minute))

	convs := Conventions
	if hq.Override != nil {
		convs = append([]Convention{*hq.Override}, Conventions...)
	}
	d, err := discover(ctx, rec, hq, convs, false)
	if err != nil {
		return in, rec.reqs, overrideHint(err, hq)
	}
	in.Latency = &investigate.LatencyInput{}
	in.Requests = &investigate.RequestInput{}
	in.Saturation = &investigate.SaturationInput{}
	forService := ""
	if hq.Service != "" {
		forService = fmt.Sprintf(" for service %q", hq.Service)
	}
	var histNames, counterNames, used []string
	for _, c := range convs {
		if c.Histogram != "" {
			histNames = append(histNames, c.Histogram)
		}
		counterNames = append(counterNames, c.CounterName())
	}
	var jobs []job
	var mu sync.Mutex
	var nLat, nReq int
	for _, u := range d.uses {
		if !slices.Contains(used, u.label()) {
			used = append(used, u.label())
		}
		p := planFor(u, hq.Service)
		if u.Role == "latency" {
			nLat++
			jobs = append(jobs, latencyJobs(rec, p, in.Latency, hq.Service, w, win, rangeWin, step, &mu)...)
		} else {
			nReq++
			jobs = append(jobs, requestJobs(rec, p, in.Requests, hq.Service, w, win, rangeWin, step, &mu)...)
		}
	}
	in.Convention = strings.Join(used, ", ")
	if nLat == 0 {
		in.Latency.Note = "no request-duration histogram found" + forService + "; looked for " + strings.Join(investigate.Distinct(histNames), ", ") +
			" and any histogram or summary with a route or service label"
	}
	if nReq == 0 {
		in.Requests.Note = "no request counter found" + forService + "; looked for " + strings.Join(investigate.Distinct(counterNames), ", ") +
			" and any request counter with a route or status label"
	}
	var notes []string
	for _, u := range d.uses {
		if u.Role == "requests" && u.StatusLabel == "" {
			notes = append(notes, fmt.Sprintf("%s has no status label, so errors cannot be told apart", u.Metric))
		}
		if len(u.Route) == 0 && u.Role == "latency" {
			in.Latency.Note = strings.TrimLeft(in.Latency.Note+"; ", "; ") + fmt.Sprintf("%s has no route label; rows are per service", u.Metric)
		}
	}
	for _, u := range d.uses {
		if !u.countOnly {
			continue
		}
		// Its services have request counts but no latency family: say why the latency table lacks them.
		var bare []string
		for _, svc := range servicesOf(&plan{use: u}, hq.Service) {
			if !slices.ContainsFunc(d.uses, func(o *Use) bool { return o.Role == "latency" && o.owns(svc) }) {
				bare = append(bare, svc)
			}
		}
		if len(bare) > 0 || u.whole && nLat == 0 {
			base := strings.TrimSuffix(u.Metric, "_count")
			in.Latency.Note = strings.TrimLeft(in.Latency.Note+"; ", "; ") + fmt.Sprintf("%s has only _count and _sum (no buckets, no quantiles), so no percentiles%s: "+
				"export it as a histogram (Micrometer: management.metrics.distribution.percentiles-histogram.<timer>=true)", base, forList(bare))
		}
	}
	if len(notes) > 0 {
		in.Requests.Note = strings.TrimLeft(in.Requests.Note+"; "+strings.Join(notes, "; "), "; ")
	}
	have, scope := d.names, d.scope(hq.Service)
	if hq.Service != "" {
		// Only the saturation metrics that carry this service (one call), so a service without them
		// sends none of their queries.
		if have, err = saturationNames(ctx, rec, scope, w); err != nil {
			return in, rec.reqs, err
		}
	}
	satJobs, found := saturationJobs(rec, have, in.Saturation, scope, w, win, rangeWin, step, &mu)
	jobs = append(jobs, satJobs...)
	if !found {
		var looked []string
		for _, sc := range saturationChecks {
			looked = append(looked, sc.metrics[0])
		}
		in.Saturation.Note = "no saturation metrics found" + forService + "; looked for " + strings.Join(investigate.Distinct(looked), ", ")
	}
	err = overrideHint(runJobs(ctx, jobs, hq.Concurrency), hq)
	for _, u := range d.uses {
		if u.whole {
			u.Services = slices.Sorted(maps.Keys(u.seen))
		}
	}
	in.Conventions = d.conventions()
	sort.Strings(rec.warns)
	in.Warnings = rec.warns
	if in.Saturation != nil {
		slices.SortStableFunc(in.Saturation.Rows, func(a, b investigate.SaturationObservation) int {
			return strings.Compare(a.Resource+"\x00"+a.Service+"\x00"+a.Operation, b.Resource+"\x00"+b.Service+"\x00"+b.Operation)
		})
	}
	return in, rec.reqs, err
}

func forList(svcs []string) string {
	if len(svcs) == 0 || len(svcs) == 1 && svcs[0] == "" {
		return ""
	}
	if len(svcs) > 6 {
		return fmt.Sprintf(" for %s and %d more", strings.Join(svcs[:6], ", "), len(svcs)-6)
	}
	return " for " + strings.Join(svcs, ", ")
}

// saturationNames are the saturation metrics whose series carry the service under their grouping
// label (job or container), or come from its instances or pods.
func saturationNames(ctx context.Context, rec *recorder, scope satScope, w investigate.Window) (map[string]bool, error) {
	var names, labels []string
	for _, sc := range saturationChecks {
		names = append(names, sc.metrics...)
		labels = append(labels, sc.group[0])
	}
	quoted := investigate.Distinct(names)
	for i, n := range quoted {
		quoted[i] = regexp.QuoteMeta(n)
	}
	nameRE := MatchRegex("__name__", strings.Join(quoted, "|"))
	var match []string
	for _, l := range investigate.Distinct(labels) {
		match = append(match, "{"+nameRE+", "+scope.matcher(l)+"}")
	}
	vals, err := rec.labelValues(ctx, "__name__", match, w.BaselineStart, w.End)
	have := map[string]bool{}
	for _, v := range vals {
		have[v] = true
	}
	return have, err
}

// Conventions runs discovery alone (for `dbg doctor`): which metric families the server holds for
// request latency and request counts, the services read from each, and why.
func (s *Source) Conventions(ctx context.Context, hq HotspotQuery) ([]investigate.ConventionUse, error) {
	convs := Conventions
	if hq.Override != nil {
		convs = append([]Convention{*hq.Override}, Conventions...)
	}
	d, err := discover(ctx, &recorder{s: s}, hq, convs, true)
	if err != nil {
		return nil, overrideHint(err, hq)
	}
	return d.conventions(), nil
}

func (d *discovery) conventions() []investigate.ConventionUse {
	out := make([]investigate.ConventionUse, 0, len(d.uses))
	for _, u := range d.uses {
		out = append(out, investigate.ConventionUse{Convention: u.label(), Role: u.Role, Metric: u.Metric,
			Services: slices.Clone(u.Services), Why: u.Why})
	}
	return out
}

// overrideHint points a query the server rejected at the override, when there is one.
func overrideHint(err error, hq HotspotQuery) error {
	var qe *QueryError
	if hq.Override != nil && IsBadQuery(err) && errors.As(err, &qe) {
		qe.Hint = "check the prometheus-convention override in the config file"
	}
	return err
}

// label is how a family's convention is named to the user: the built-in's name, or the family's
// name and "by shape".
func (u *Use) label() string {
	if u.Convention == "shape" {
		base := strings.TrimSuffix(strings.TrimSuffix(u.Metric, "_bucket"), "_count")
		return base + " (by shape)"
	}
	return u.Convention
}

func (s *Source) link(q string, w investigate.Window) string { return s.GraphLink(q, w.Start, w.End) }

// instantInto runs q at t and stores each sample by its endpoint key.
func instantInto(rec *recorder, p *plan, service, q string, t time.Time, dst map[investigate.EndpointKey]float64, mu *sync.Mutex) job {
	return job{func(ctx context.Context) error {
		smp, err := rec.query(ctx, q, t)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, x := range smp {
			if math.IsNaN(x.Value) || math.IsInf(x.Value, 0) {
				continue
			}
			if k := p.key(x.Labels, service); p.keeps(k, service) {
				dst[k] = x.Value
				p.saw(k)
			}
		}
		return nil
	}}
}

func rangeInto(rec *recorder, p *plan, service, q string, w investigate.Window, step time.Duration, dst map[investigate.EndpointKey][]float64, mu *sync.Mutex) job {
	return job{func(ctx context.Context) error {
		ss, err := rec.queryRange(ctx, q, w.Start, w.End, step)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, x := range ss {
			if k := p.key(x.Labels, service); p.keeps(k, service) {
				dst[k] = x.Resample(w.Start, w.End, step)
				p.saw(k)
			}
		}
		return nil
	}}
}

// servicesOf are the services whose rows a family's queries fill ("" for a family without a service
// label).
func servicesOf(p *plan, service string) []string {
	if service != "" {
		return []string{service}
	}
	return p.use.Services
}

func latencyJobs(rec *recorder, p *plan, li *investigate.LatencyInput, service string, w investigate.Window, win, rangeWin string, step time.Duration, mu *sync.Mutex) []job {
	scale := ""
	if ms := p.use.msPerUnit; ms != 1 && ms != 0 {
		scale = fmt.Sprintf(" * %g", ms)
	}
	var q func(quantile int, rw string) string
	if p.use.Kind == "summary" {
		// A summary's quantiles are computed in each process and cannot be aggregated: the window's
		// figure is each series' average over the window, and the worst instance.
		q = func(i int, rw string) string {
			qv := p.use.quantiles[i]
			if qv == "" {
				return ""
			}
			sel := Selector(p.metric, append(slices.Clone(p.matchers), Match("quantile", qv))...)
			if by := By(p.groups...); by != "" {
				return fmt.Sprintf("max by (%s) (avg_over_time(%s[%s]))%s", by, sel, rw, scale)
			}
			return fmt.Sprintf("max(avg_over_time(%s[%s]))%s", sel, rw, scale)
		}
	} else {
		q = func(i int, rw string) string {
			return fmt.Sprintf("histogram_quantile(%g, sum by (%s) (rate(%s[%s])))%s", []float64{0.99, 0.5}[i], By(append([]string{"le"}, p.groups...)...),
				Selector(p.metric, p.matchers...), rw, scale)
		}
	}
	qs := investigate.LatencyQueries{Query: q(0, win), P50Query: q(1, win), Link: rec.s.link(q(0, rangeWin), w)}
	if li.P99 == nil {
		li.Query, li.P50Query, li.Link = qs.Query, qs.P50Query, qs.Link
		li.P99, li.BaseP99 = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
		li.P50, li.BaseP50 = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
		li.Spark = map[investigate.EndpointKey][]float64{}
	}
	if li.Queries == nil {
		li.Queries = map[string]investigate.LatencyQueries{}
	}
	for _, svc := range servicesOf(p, service) {
		li.Queries[svc] = qs
	}
	if qs.Query == "" {
		return nil
	}
	jobs := []job{
		instantInto(rec, p, service, qs.Query, w.End, li.P99, mu),
		instantInto(rec, p, service, qs.Query, w.BaselineEnd, li.BaseP99, mu),
		rangeInto(rec, p, service, q(0, rangeWin), w, step, li.Spark, mu),
	}
	if qs.P50Query != "" {
		jobs = append(jobs, instantInto(rec, p, service, qs.P50Query, w.End, li.P50, mu),
			instantInto(rec, p, service, qs.P50Query, w.BaselineEnd, li.BaseP50, mu))
	}
	return jobs
}

func requestJobs(rec *recorder, p *plan, ri *investigate.RequestInput, service string, w investigate.Window, win, rangeWin string, step time.Duration, mu *sync.Mutex) []job {
	by := By(p.groups...)
	sum := func(rw string, extra ...string) string {
		sel := Selector(p.metric, append(slices.Clone(p.matchers), extra...)...)
		if by == "" {
			return fmt.Sprintf("sum(rate(%s[%s]))", sel, rw)
		}
		return fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, sel, rw)
	}
	hasStatus := p.use.ErrorMatch != ""
	errM := p.use.ErrorMatch
	qs := investigate.RequestQueries{RateQuery: sum(win), RateLink: rec.s.link(sum(rangeWin), w)}
	if hasStatus {
		qs.ErrorQuery = sum(win, errM)
		qs.RatioQuery = qs.ErrorQuery + " / " + qs.RateQuery
		qs.RatioLink = rec.s.link(sum(rangeWin, errM)+" / "+sum(rangeWin), w)
	}
	if ri.Rate == nil {
		ri.RateQuery, ri.ErrorQuery, ri.RatioQuery, ri.RateLink, ri.RatioLink = qs.RateQuery, qs.ErrorQuery, qs.RatioQuery, qs.RateLink, qs.RatioLink
		ri.Rate, ri.BaseRate = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
		ri.Errors, ri.BaseErrors = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
		ri.RateSpark, ri.ErrorSpark = map[investigate.EndpointKey][]float64{}, map[investigate.EndpointKey][]float64{}
	}
	if ri.Queries == nil {
		ri.Queries = map[string]investigate.RequestQueries{}
	}
	for _, svc := range servicesOf(p, service) {
		ri.Queries[svc] = qs
	}
	jobs := []job{
		instantInto(rec, p, service, qs.RateQuery, w.End, ri.Rate, mu),
		instantInto(rec, p, service, qs.RateQuery, w.BaselineEnd, ri.BaseRate, mu),
		rangeInto(rec, p, service, sum(rangeWin), w, step, ri.RateSpark, mu),
	}
	if hasStatus {
		jobs = append(jobs,
			instantInto(rec, p, service, qs.ErrorQuery, w.End, ri.Errors, mu),
			instantInto(rec, p, service, qs.ErrorQuery, w.BaselineEnd, ri.BaseErrors, mu),
			rangeInto(rec, p, service, sum(rangeWin, errM), w, step, ri.ErrorSpark, mu))
	}
	return jobs
}
