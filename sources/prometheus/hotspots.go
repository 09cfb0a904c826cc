package prometheus

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/dbgtool/dbg/investigate"
)

// HotspotQuery is what `dbg hotspots` asks for.
type HotspotQuery struct {
	Window  investigate.Window
	Service string // empty: every service
	// Override replaces the built-in conventions (the prometheus-convention config map).
	Override *Convention
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

// plan is the resolved metric layout the hotspot queries run over.
type plan struct {
	conv       Convention
	metric     string   // the histogram's _bucket series or the counter
	groups     []string // grouping labels: service label (if any), then the route labels
	svcLabel   string
	routeParts []string
	matchers   []string
}

func (p *plan) key(l map[string]string, service string) investigate.EndpointKey {
	k := investigate.EndpointKey{Service: service}
	if p.svcLabel != "" && l[p.svcLabel] != "" {
		k.Service = l[p.svcLabel]
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

// serviceMatcher filters label to service. On job, which is often "namespace/name", the name may come
// after a slash.
func serviceMatcher(label, service string) string {
	if label == "job" {
		return MatchRegex(label, "(?:.*/)?"+regexp.QuoteMeta(service))
	}
	return Match(label, service)
}

// resolve picks the route, service and status labels of metric from the label names it carries.
func resolve(c Convention, metric string, names []string, service string) (*plan, string) {
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	p := &plan{conv: c, metric: metric}
	for _, cand := range c.RouteLabels {
		parts := strings.Split(cand, "+")
		ok := true
		for _, part := range parts {
			ok = ok && has[part]
		}
		if ok {
			p.routeParts = parts
			break
		}
	}
	for _, cand := range c.ServiceLabels {
		if has[cand] && !slices.Contains(p.routeParts, cand) {
			p.svcLabel = cand
			break
		}
	}
	var note string
	if len(p.routeParts) == 0 {
		note = fmt.Sprintf("%s has none of the route labels %s; rows are per service", metric, strings.Join(c.RouteLabels, ", "))
	}
	if c.Selector != "" {
		p.matchers = append(p.matchers, c.Selector)
	}
	if service != "" {
		if p.svcLabel == "" {
			// The route label may itself name services (Istio's destination_service_name).
			for _, cand := range c.ServiceLabels {
				if has[cand] {
					p.svcLabel = cand
					break
				}
			}
		}
		if p.svcLabel == "" {
			note = strings.TrimLeft(note+"; ", "; ") + fmt.Sprintf("%s has none of the service labels %s, so --service cannot filter it", metric, strings.Join(c.ServiceLabels, ", "))
		} else {
			p.matchers = append(p.matchers, serviceMatcher(p.svcLabel, service))
		}
	}
	if p.svcLabel != "" {
		p.groups = append(p.groups, p.svcLabel)
	}
	p.groups = append(p.groups, p.routeParts...)
	return p, note
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

// Hotspots discovers which metric conventions the server holds, runs the latency, error, traffic and
// saturation queries for the window and its baseline, and returns what investigate.AnalyzeHotspots ranks,
// with every request it made. Missing metrics become notes on their table; a failing query is an error.
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
		convs = []Convention{*hq.Override}
	}
	// 1. Which of the known metric names exist (one call).
	var wanted []string
	for _, c := range convs {
		if c.Histogram != "" {
			wanted = append(wanted, c.Histogram+"_bucket")
		}
		wanted = append(wanted, c.CounterName())
	}
	for _, sc := range saturationChecks {
		wanted = append(wanted, sc.metrics...)
	}
	wanted = dedupe(wanted)
	quoted := make([]string, len(wanted))
	for i, n := range wanted {
		quoted[i] = regexp.QuoteMeta(n)
	}
	nameRE := MatchRegex("__name__", strings.Join(quoted, "|"))
	have := map[string]bool{}
	if hq.Service == "" {
		names, err := rec.labelValues(ctx, "__name__", []string{"{" + nameRE + "}"}, w.BaselineStart, w.End)
		if err != nil {
			return in, rec.reqs, err
		}
		for _, n := range names {
			have[n] = true
		}
	} else {
		// Only the metrics that carry this service under one of the service labels count, so a server
		// where services use different instrumentation picks the convention of this one.
		legacy, utf8 := serviceSelectors(convs, nameRE, hq.Service)
		names, err := rec.labelValues(ctx, "__name__", legacy, w.BaselineStart, w.End)
		if err != nil {
			return in, rec.reqs, err
		}
		if len(utf8) > 0 {
			// UTF-8 label names are PromQL only from Prometheus 3 on; a 2.x server rejects them, which
			// only means no such metric exists there.
			more, err := rec.labelValues(ctx, "__name__", utf8, w.BaselineStart, w.End)
			if err == nil {
				names = append(names, more...)
			}
		}
		for _, n := range names {
			have[n] = true
		}
	}

	// 2. The first convention with a duration histogram, and the first with a request counter.
	var latConv, reqConv *Convention
	for i := range convs {
		c := &convs[i]
		if latConv == nil && c.Histogram != "" && have[c.Histogram+"_bucket"] {
			latConv = c
		}
	}
	if latConv != nil && have[latConv.CounterName()] {
		reqConv = latConv
	}
	for i := range convs {
		if reqConv == nil && have[convs[i].CounterName()] {
			reqConv = &convs[i]
		}
	}
	in.Latency = &investigate.LatencyInput{}
	in.Requests = &investigate.RequestInput{}
	in.Saturation = &investigate.SaturationInput{}
	var histNames []string
	var counterNames []string
	for _, c := range convs {
		if c.Histogram != "" {
			histNames = append(histNames, c.Histogram)
		}
		counterNames = append(counterNames, c.CounterName())
	}
	forService := ""
	if hq.Service != "" {
		forService = fmt.Sprintf(" for service %q", hq.Service)
	}
	if latConv == nil {
		in.Latency.Note = "no request-duration histogram found" + forService + "; looked for " + strings.Join(dedupe(histNames), ", ")
	}
	if reqConv == nil {
		in.Requests.Note = "no request counter found" + forService + "; looked for " + strings.Join(dedupe(counterNames), ", ")
	}
	var names2 []string
	if latConv != nil {
		names2 = append(names2, latConv.Name)
	}
	if reqConv != nil && (latConv == nil || reqConv.Name != latConv.Name) {
		names2 = append(names2, reqConv.Name)
	}
	in.Convention = strings.Join(names2, ", ")

	// 3. Their labels (route, service, status).
	var latPlan, reqPlan *plan
	var latNames, reqNames []string
	var disc []job
	if latConv != nil {
		disc = append(disc, job{func(ctx context.Context) error {
			var err error
			latNames, err = rec.labelNames(ctx, Selector(latConv.Histogram+"_bucket"), w.BaselineStart, w.End)
			return err
		}})
	}
	if reqConv != nil {
		disc = append(disc, job{func(ctx context.Context) error {
			var err error
			reqNames, err = rec.labelNames(ctx, Selector(reqConv.CounterName()), w.BaselineStart, w.End)
			return err
		}})
	}
	if err := runJobs(ctx, disc, hq.Concurrency); err != nil {
		return in, rec.reqs, err
	}
	var jobs []job
	var mu sync.Mutex
	if latConv != nil {
		var note string
		latPlan, note = resolve(*latConv, latConv.Histogram+"_bucket", latNames, hq.Service)
		in.Latency.Note = note
		jobs = append(jobs, latencyJobs(rec, latPlan, in.Latency, hq.Service, w, win, rangeWin, step, &mu)...)
	}
	if reqConv != nil {
		var note string
		reqPlan, note = resolve(*reqConv, reqConv.CounterName(), reqNames, hq.Service)
		if !slices.Contains(reqNames, reqConv.StatusLabel) {
			note = strings.TrimLeft(note+"; ", "; ") + fmt.Sprintf("%s has no %s label, so errors cannot be told apart", reqConv.CounterName(), reqConv.StatusLabel)
		}
		in.Requests.Note = note
		jobs = append(jobs, requestJobs(rec, reqPlan, in.Requests, hq.Service, w, win, rangeWin, step, slices.Contains(reqNames, reqConv.StatusLabel), &mu)...)
	}
	satJobs, found := saturationJobs(rec, have, in.Saturation, hq.Service, w, win, rangeWin, step, &mu)
	jobs = append(jobs, satJobs...)
	if !found {
		var looked []string
		for _, sc := range saturationChecks {
			looked = append(looked, sc.metrics[0])
		}
		in.Saturation.Note = "no saturation metrics found" + forService + "; looked for " + strings.Join(dedupe(looked), ", ")
	}
	err := runJobs(ctx, jobs, hq.Concurrency)
	if err != nil && hq.Override != nil && IsBadQuery(err) {
		err.(*QueryError).Hint = "check the prometheus-convention override in the config file"
	}
	sort.Strings(rec.warns)
	in.Warnings = rec.warns
	if in.Saturation != nil {
		slices.SortStableFunc(in.Saturation.Rows, func(a, b investigate.SaturationObservation) int {
			return strings.Compare(a.Resource+"\x00"+a.Service+"\x00"+a.Operation, b.Resource+"\x00"+b.Service+"\x00"+b.Operation)
		})
	}
	return in, rec.reqs, err
}

// serviceSelectors are the match[] selectors that find the known metric names carrying service under
// any service label of the conventions or of the saturation checks: classic label names, and UTF-8
// ones (Prometheus 3) separately.
func serviceSelectors(convs []Convention, nameRE, service string) (legacy, utf8 []string) {
	var labels []string
	for _, c := range convs {
		labels = append(labels, c.ServiceLabels...)
	}
	for _, sc := range saturationChecks {
		labels = append(labels, sc.group[0])
	}
	for _, l := range dedupe(labels) {
		sel := "{" + nameRE + ", " + serviceMatcher(l, service) + "}"
		if legacyLabel.MatchString(l) {
			legacy = append(legacy, sel)
		} else {
			utf8 = append(utf8, sel)
		}
	}
	return legacy, utf8
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
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
			dst[p.key(x.Labels, service)] = x.Value
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
			dst[p.key(x.Labels, service)] = x.Resample(w.Start, w.End, step)
		}
		return nil
	}}
}

func latencyJobs(rec *recorder, p *plan, li *investigate.LatencyInput, service string, w investigate.Window, win, rangeWin string, step time.Duration, mu *sync.Mutex) []job {
	scale := ""
	if p.conv.MsPerUnit != 1 {
		scale = fmt.Sprintf(" * %g", p.conv.MsPerUnit)
	}
	q := func(quantile float64, rw string) string {
		return fmt.Sprintf("histogram_quantile(%g, sum by (%s) (rate(%s[%s])))%s", quantile, By(append([]string{"le"}, p.groups...)...),
			Selector(p.metric, p.matchers...), rw, scale)
	}
	li.Query, li.P50Query = q(0.99, win), q(0.5, win)
	li.Link = rec.s.link(q(0.99, rangeWin), w)
	li.P99, li.BaseP99 = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
	li.P50, li.BaseP50 = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
	li.Spark = map[investigate.EndpointKey][]float64{}
	return []job{
		instantInto(rec, p, service, li.Query, w.End, li.P99, mu),
		instantInto(rec, p, service, li.Query, w.BaselineEnd, li.BaseP99, mu),
		instantInto(rec, p, service, li.P50Query, w.End, li.P50, mu),
		instantInto(rec, p, service, li.P50Query, w.BaselineEnd, li.BaseP50, mu),
		rangeInto(rec, p, service, q(0.99, rangeWin), w, step, li.Spark, mu),
	}
}

func requestJobs(rec *recorder, p *plan, ri *investigate.RequestInput, service string, w investigate.Window, win, rangeWin string, step time.Duration, hasStatus bool, mu *sync.Mutex) []job {
	by := By(p.groups...)
	sum := func(rw string, extra ...string) string {
		sel := Selector(p.metric, append(slices.Clone(p.matchers), extra...)...)
		if by == "" {
			return fmt.Sprintf("sum(rate(%s[%s]))", sel, rw)
		}
		return fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, sel, rw)
	}
	errM := MatchRegex(p.conv.StatusLabel, p.conv.ErrorRegex)
	ri.RateQuery = sum(win)
	ri.ErrorQuery = sum(win, errM)
	ri.RatioQuery = ri.ErrorQuery + " / " + ri.RateQuery
	ri.RateLink = rec.s.link(sum(rangeWin), w)
	ri.RatioLink = rec.s.link(sum(rangeWin, errM)+" / "+sum(rangeWin), w)
	ri.Rate, ri.BaseRate = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
	ri.Errors, ri.BaseErrors = map[investigate.EndpointKey]float64{}, map[investigate.EndpointKey]float64{}
	ri.RateSpark, ri.ErrorSpark = map[investigate.EndpointKey][]float64{}, map[investigate.EndpointKey][]float64{}
	jobs := []job{
		instantInto(rec, p, service, ri.RateQuery, w.End, ri.Rate, mu),
		instantInto(rec, p, service, ri.RateQuery, w.BaselineEnd, ri.BaseRate, mu),
		rangeInto(rec, p, service, sum(rangeWin), w, step, ri.RateSpark, mu),
	}
	if hasStatus {
		jobs = append(jobs,
			instantInto(rec, p, service, ri.ErrorQuery, w.End, ri.Errors, mu),
			instantInto(rec, p, service, ri.ErrorQuery, w.BaselineEnd, ri.BaseErrors, mu),
			rangeInto(rec, p, service, sum(rangeWin, errM), w, step, ri.ErrorSpark, mu))
	}
	return jobs
}
