package prometheus

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/dbgtool/dbg/investigate"
)

// Discovery finds the request metrics of a server by their shape, not by a fixed list of names: every
// duration histogram (a _bucket family with le) or summary (a quantile label) and every request counter
// whose labels look like a route, a status and a service. The built-in conventions are exact matches
// tried first; each family found is used for the services whose series it holds, so a Spring service, a
// Go service with its own prefix and an ingress in front of both are each read in their own names.

// Use is one metric family discovery settled on, the services it is used for and why.
type Use struct {
	// Convention is the built-in or override name, or "shape" for a family found by its labels.
	Convention string `json:"convention"`
	// Role is "latency" (a histogram or summary) or "requests" (a counter, or a histogram's _count).
	Role   string `json:"role"`
	Metric string `json:"metric"` // the series queried: name_bucket, name (summary), name_count, name_total
	Kind   string `json:"kind"`   // histogram, summary, counter
	// Route, ServiceLabel and StatusLabel are the labels that name the endpoint, the service and the
	// response status; ErrorMatch is the matcher that selects failures.
	Route        []string `json:"route_labels"`
	ServiceLabel string   `json:"service_label,omitempty"`
	StatusLabel  string   `json:"status_label,omitempty"`
	ErrorMatch   string   `json:"error_match,omitempty"`
	Selector     string   `json:"selector,omitempty"`
	Unit         string   `json:"unit,omitempty"` // seconds, milliseconds, microseconds (latency only)
	Services     []string `json:"services"`
	Why          string   `json:"why"`

	// Query plumbing, not printed.
	msPerUnit float64
	countOnly bool    // a summary without quantiles: requests only, no latency percentiles
	targets   targets // with --service: the instances and pods of the service's series
	// whole: the only family of its role, so its services were not asked for (it reads them all);
	// Services is filled from the rows its queries return.
	whole     bool
	seen      map[string]bool
	quantiles [2]string                  // summary: the p99-ish and p50 quantile label values
	raw       map[string]map[string]bool // service → the raw label values that name it
	plan      *plan
	rank      rankKey
}

// rankKey orders candidates for one service: a service's own instrumentation before a proxy's view of
// it (its routes are the service's own), then exact conventions in their order, then by shape: a status
// label, a separate counter, request-ish words in the name, label coverage.
type rankKey struct {
	edge    bool
	noState bool // requests: no status label, so no error table
	exact   int  // index in the convention list; len+1 for shape
	summary bool
	derived bool // requests from a histogram's _count rather than a counter
	words   int  // request-ish words (negated when compared: more is better)
	cover   int
	breadth int // services the family holds (with --service: that service's series in it)
	name    string
}

func (a rankKey) less(b rankKey) bool {
	switch {
	case a.edge != b.edge:
		return !a.edge
	case a.noState != b.noState:
		return !a.noState
	case a.exact != b.exact:
		return a.exact < b.exact
	case a.summary != b.summary:
		return !a.summary
	case a.derived != b.derived:
		return !a.derived
	case a.words != b.words:
		return a.words > b.words
	case a.cover != b.cover:
		return a.cover > b.cover
	case a.breadth != b.breadth:
		return a.breadth > b.breadth
	}
	return a.name < b.name
}

var (
	// shapeRoutes are the labels that name an endpoint, in the order tried; "a+b" is both, shown "a/b".
	// endpoint comes late: the Prometheus operator puts the scrape port's name in it.
	shapeRoutes = []string{"http_route", "route", "rt_route", "uri", "path", "handler", "url", "url_path", "http_target",
		"grpc_service+grpc_method", "rpc_service+rpc_method", "grpc_method", "rpc_method", "endpoint", "request_operation", "operation", "span_name"}
	// identityLabels name the service a series belongs to. exported_service is the exporter's own label
	// when the scrape's service label took the plain name (the NGINX ingress controller's backend
	// service); job comes late because one job often scrapes many services (kubernetes-pods).
	identityLabels = []string{"exported_service", "service", "service_name", "application", "app", "app_kubernetes_io_name",
		"destination_workload", "deployment", "job", "container"}
	// statusLabels hold the response status, in the order tried: an explicit classification first.
	statusLabels = []string{"classification", "outcome", "grpc_code", "grpc_status", "rpc_grpc_status_code", "response_code",
		"http_response_status_code", "http_status_code", "status_code", "http_status", "status", "code", "error"}
	// grpcFailures are the gRPC codes that are the server's fault, by name and number.
	grpcFailures = "(?i:unknown|deadline_?exceeded|unimplemented|internal|unavailable|data_?loss)"
	// wordWeights: words in a family's name that say it measures requests (2) or time (1).
	requestWords = map[string]int{"request": 2, "requests": 2, "response": 2, "http": 2, "rpc": 2, "grpc": 2, "handler": 2,
		"server": 2, "spanmetrics": 2, "api": 1, "latency": 1, "duration": 1, "handling": 1, "handled": 1, "calls": 1, "span": 1}
	// notRequests are families that measure the monitoring itself or the client side of a call.
	notRequests = regexp.MustCompile(`^(prometheus|promhttp|go|process|scrape|net_conntrack|grafana|alertmanager)_|(^|_)client(_|$)|_bytes(_|$)|_size(_|$)`)
	// edgeWords mark a proxy's view of the services behind it.
	// Span metrics (the OpenTelemetry collector's spanmetrics connector, Tempo's metrics generator) are a
	// view derived from traces: like a proxy's, used for the services that have nothing of their own.
	edgeWords = regexp.MustCompile(`(^|_)(ingress|traefik|envoy|istio|linkerd|haproxy|nginx|kong|gateway|proxy|span|spanmetrics)(_|$)`)
	timeUnits = []struct {
		suffix, unit string
		ms           float64
	}{
		{"_seconds", "seconds", 1000}, {"_milliseconds", "milliseconds", 1}, {"_ms", "milliseconds", 1},
		{"_microseconds", "microseconds", 0.001}, {"_us", "microseconds", 0.001}, {"_nanoseconds", "nanoseconds", 1e-6},
	}
)

// ErrorMatcher is the matcher selecting failed requests on a status label, from the forms services
// really use: HTTP codes ("503") and classes ("5xx"), words (Micrometer's outcome="SERVER_ERROR",
// Linkerd's classification="failure", "error"), gRPC codes by name or number, error="true".
func ErrorMatcher(label string) string {
	var re string
	switch l := strings.ToLower(label); {
	case l == "classification":
		re = "failure"
	case l == "outcome":
		re = "SERVER_ERROR"
	case l == "error":
		re = "(?i:true)|1"
	case strings.Contains(l, "grpc"):
		re = grpcFailures + "|2|4|12|13|14|15"
	default:
		re = "5..|(?i:(?:status_code_)?error|server_error|fail(?:ure|ed)?|unknown|deadline_?exceeded|unimplemented|internal|unavailable|data_?loss)"
	}
	return MatchRegex(label, re)
}

// unitOf reads a latency family's unit from its name, else from the metadata. ok is false when neither
// says.
func unitOf(name, metaUnit string) (unit string, msPer float64, from string, ok bool) {
	for _, u := range timeUnits {
		if strings.HasSuffix(name, u.suffix) {
			return u.unit, u.ms, "name suffix " + u.suffix, true
		}
	}
	for _, u := range timeUnits {
		if metaUnit != "" && (metaUnit == u.unit || "_"+metaUnit == u.suffix) {
			return u.unit, u.ms, "metadata unit " + metaUnit, true
		}
	}
	return "", 0, "", false
}

// unitFromBounds reads the unit from a histogram's bucket bounds when nothing else says it: Prometheus
// clients default to seconds (DefBuckets end at 10); bounds in the thousands are milliseconds.
func unitFromBounds(les []string) (unit string, msPer float64, from string) {
	top := 0.0
	for _, s := range les {
		if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(v, 0) {
			top = max(top, v)
		}
	}
	switch {
	case top == 0:
		return "seconds", 1000, "no unit in the name or metadata and no finite bucket: seconds, the Prometheus base unit"
	case top <= 120:
		return "seconds", 1000, fmt.Sprintf("bucket bounds (largest finite le %g): seconds", top)
	case top <= 600000:
		return "milliseconds", 1, fmt.Sprintf("bucket bounds (largest finite le %g): milliseconds", top)
	}
	return "microseconds", 0.001, fmt.Sprintf("bucket bounds (largest finite le %g): microseconds", top)
}

func nameWords(name string) int {
	n := 0
	for _, w := range strings.Split(name, "_") {
		n += requestWords[w]
	}
	return n
}

// serviceName is the service a raw identity value names: "namespace/name" (a job) is name, Traefik's
// "name@provider" is name.
func serviceName(label, v string) string {
	if label == "job" {
		if i := strings.LastIndex(v, "/"); i >= 0 {
			v = v[i+1:]
		}
	}
	if i := strings.LastIndex(v, "@"); i > 0 {
		v = v[:i]
	}
	return v
}

// candidate is a family that may hold request metrics, before its labels are known.
type candidate struct {
	conv    *Convention // exact match of a built-in or the override
	exact   int
	base    string // histogram/summary name without suffix, or the counter's name
	kind    string // histogram, summary, counter
	role    string
	metric  string // the series the queries read
	probe   string // the series the label calls read (a histogram's _count: 12x fewer series than _bucket)
	meta    v1.Metadata
	labels  []string
	use     *Use
	skipped string
	// countOnly: a summary with _count and _sum and no quantiles, so no latency.
	countOnly bool
}

// findCandidates turns the server's metric names (and metadata, where served) into candidate families.
func findCandidates(names []string, meta map[string][]v1.Metadata, convs []Convention) []*candidate {
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	metaOf := func(n string) v1.Metadata {
		if m := meta[n]; len(m) > 0 {
			return m[0]
		}
		return v1.Metadata{}
	}
	var out []*candidate
	taken := map[string]bool{} // role+metric
	add := func(c *candidate) {
		if taken[c.role+" "+c.metric] {
			return
		}
		taken[c.role+" "+c.metric] = true
		out = append(out, c)
	}
	for i := range convs {
		c := &convs[i]
		if c.Histogram != "" && has[c.Histogram+"_bucket"] {
			add(&candidate{conv: c, exact: i, base: c.Histogram, kind: "histogram", role: "latency", metric: c.Histogram + "_bucket",
				probe: probeOf(c.Histogram, has), meta: metaOf(c.Histogram)})
		}
		if c.Histogram != "" && c.Counter != "" && has[c.Counter] {
			// The convention's own counter holds its requests: its histogram's _count is no second family.
			taken["requests "+c.Histogram+"_count"] = true
		}
		if n := c.CounterName(); has[n] {
			kind := "counter"
			if c.Counter == "" {
				kind = "histogram"
			}
			add(&candidate{conv: c, exact: i, base: strings.TrimSuffix(n, "_count"), kind: kind, role: "requests", metric: n, probe: n, meta: metaOf(n)})
		}
	}
	shape := len(convs) + 1
	for _, n := range names {
		if notRequests.MatchString(n) || !legacyMetric.MatchString(n) {
			continue
		}
		switch {
		case strings.HasSuffix(n, "_bucket") && has[strings.TrimSuffix(n, "_bucket")+"_count"]:
			base := strings.TrimSuffix(n, "_bucket")
			if nameWords(base) == 0 {
				continue
			}
			add(&candidate{exact: shape, base: base, kind: "histogram", role: "latency", metric: n, probe: base + "_count", meta: metaOf(base)})
			add(&candidate{exact: shape, base: base, kind: "histogram", role: "requests", metric: base + "_count", probe: base + "_count", meta: metaOf(base)})
		case has[n+"_count"] && has[n+"_sum"] && !has[n+"_bucket"] && (metaOf(n).Type == "" || metaOf(n).Type == v1.MetricTypeSummary):
			if nameWords(n) == 0 {
				continue
			}
			add(&candidate{exact: shape, base: n, kind: "summary", role: "latency", metric: n, probe: n + "_count", meta: metaOf(n)})
			add(&candidate{exact: shape, base: n, kind: "summary", role: "requests", metric: n + "_count", probe: n + "_count", meta: metaOf(n)})
		case strings.HasSuffix(n, "_count") && has[strings.TrimSuffix(n, "_count")+"_sum"] && !has[strings.TrimSuffix(n, "_count")+"_bucket"] &&
			!has[strings.TrimSuffix(n, "_count")]:
			// A summary without quantiles (Micrometer's default Timer): requests and errors from its
			// _count, and no latency percentiles to read.
			base := strings.TrimSuffix(n, "_count")
			if nameWords(base) == 0 {
				continue
			}
			add(&candidate{exact: shape, base: base, kind: "summary", role: "requests", metric: n, probe: n, meta: metaOf(base), countOnly: true})
		case strings.HasSuffix(n, "_total") || metaOf(n).Type == v1.MetricTypeCounter || metaOf(strings.TrimSuffix(n, "_total")).Type == v1.MetricTypeCounter ||
			strings.HasSuffix(n, "_requests"):
			if strings.HasSuffix(n, "_count") || strings.HasSuffix(n, "_sum") || strings.HasSuffix(n, "_seconds_total") || nameWords(n) < 2 ||
				strings.Contains(n, "error") || strings.Contains(n, "fail") {
				continue
			}
			add(&candidate{exact: shape, base: n, kind: "counter", role: "requests", metric: n, probe: n, meta: metaOf(strings.TrimSuffix(n, "_total"))})
		}
	}
	return out
}

func probeOf(hist string, has map[string]bool) string {
	if has[hist+"_count"] {
		return hist + "_count"
	}
	return hist + "_bucket"
}

// maxCandidates bounds the label calls discovery makes on a server with many request-ish families.
const maxCandidates = 24

// resolve picks a candidate's route, service and status labels from its label names and says why; nil
// when its labels do not have the shape of request metrics.
func (c *candidate) resolve(serviceLabel string) *Use {
	has := map[string]bool{}
	for _, l := range c.labels {
		has[l] = true
	}
	u := &Use{Convention: "shape", Role: c.role, Metric: c.metric, Kind: c.kind, Route: []string{}, Services: []string{}}
	routes, services, status := shapeRoutes, identityLabels, ""
	if c.conv != nil {
		u.Convention = c.conv.Name
		routes, services, status = c.conv.RouteLabels, c.conv.ServiceLabels, c.conv.StatusLabel
		u.Selector = c.conv.Selector
	}
	if serviceLabel != "" {
		services = append([]string{serviceLabel}, services...)
	}
	for _, cand := range routes {
		parts := strings.Split(cand, "+")
		ok := true
		for _, p := range parts {
			ok = ok && has[p]
		}
		if ok {
			u.Route = parts
			break
		}
	}
	for _, l := range services {
		if has[l] && !slices.Contains(u.Route, l) {
			u.ServiceLabel = l
			break
		}
	}
	if status != "" && has[status] {
		u.StatusLabel = status
		u.ErrorMatch = MatchRegex(status, c.conv.ErrorRegex)
	} else {
		for _, l := range statusLabels {
			if has[l] {
				u.StatusLabel, u.ErrorMatch = l, ErrorMatcher(l)
				break
			}
		}
	}
	if c.conv == nil {
		// Both sides of a call report it (Istio's reporter, Linkerd's direction): keep the server's.
		switch {
		case has["reporter"]:
			u.Selector = `reporter="destination"`
		case has["direction"]:
			u.Selector = `direction="inbound"`
		case has["span_kind"]:
			// Span metrics: a server span is the service answering; a client span is its caller's view.
			u.Selector = `span_kind=~"SPAN_KIND_SERVER|SERVER|server"`
		}
	}
	var why []string
	switch c.kind {
	case "histogram":
		if c.role == "latency" && !has["le"] && c.probe == c.metric {
			c.skipped = "no le label"
			return nil
		}
		if c.role == "requests" {
			why = append(why, "the _count of histogram "+c.base)
		} else {
			why = append(why, "histogram ("+c.base+"_bucket with le)")
		}
	case "summary":
		// The labels come from name_count, which has no quantile label: the quantiles are read next.
		if c.countOnly {
			why = append(why, "the _count of "+c.base+" (no buckets, no quantiles)")
		} else if c.role == "requests" {
			why = append(why, "the _count of summary "+c.base)
		} else {
			why = append(why, "summary ("+c.base+" with quantile)")
		}
	default:
		if c.meta.Type == v1.MetricTypeCounter && !strings.HasSuffix(c.base, "_total") {
			why = append(why, "counter (its type from the metadata)")
		} else {
			why = append(why, "counter")
		}
	}
	if c.conv != nil {
		why = append([]string{"built-in name"}, why...)
		if c.conv.Override {
			why[0] = "prometheus-convention override"
		}
	} else {
		// By shape: a route label, or (Traefik's per-service histograms) a service and a status label
		// on a family named for requests.
		if len(u.Route) == 0 && (u.ServiceLabel == "" || u.StatusLabel == "" || nameWords(c.base) < 2) {
			c.skipped = "no route label, and not a per-service request metric"
			return nil
		}
		if c.role == "requests" && c.kind == "counter" && u.StatusLabel == "" && len(u.Route) == 0 {
			c.skipped = "no route or status label"
			return nil
		}
	}
	if len(u.Route) > 0 {
		why = append(why, "route "+strings.Join(u.Route, "+"))
	} else {
		why = append(why, "no route label: rows per service")
	}
	if u.ServiceLabel != "" {
		why = append(why, "service "+u.ServiceLabel)
	}
	if u.StatusLabel != "" {
		why = append(why, "status "+u.StatusLabel)
	} else if c.role == "requests" {
		why = append(why, "no status label: traffic only")
	}
	if u.Selector != "" {
		why = append(why, "only "+u.Selector)
	}
	if c.role == "latency" {
		if c.conv != nil {
			u.msPerUnit = c.conv.MsPerUnit
			u.Unit = map[float64]string{1000: "seconds", 1: "milliseconds", 0.001: "microseconds"}[u.msPerUnit]
			why = append(why, "unit "+u.Unit)
		} else if unit, ms, from, ok := unitOf(c.base, c.meta.Unit); ok {
			u.Unit, u.msPerUnit = unit, ms
			why = append(why, "unit "+unit+" from the "+from)
		}
	}
	u.Why = strings.Join(why, ", ")
	u.countOnly = c.countOnly
	edge := c.conv != nil && c.conv.Edge || c.conv == nil && (edgeWords.MatchString(c.base) || has["reporter"] || has["direction"] || has["span_kind"])
	cover := len(u.Route)
	if u.ServiceLabel != "" {
		cover++
	}
	if u.StatusLabel != "" {
		cover++
	}
	u.rank = rankKey{edge: edge, noState: c.role == "requests" && u.StatusLabel == "", exact: c.exact, summary: c.kind == "summary",
		derived: c.role == "requests" && c.kind != "counter", words: nameWords(c.base), cover: cover, name: c.metric}
	return u
}

// discovery is what discover found: the families used, per role, best first.
type discovery struct {
	uses    []*Use
	skipped []string // "name: why", for --explain
	names   map[string]bool
}

// discover finds the request-metric families of the server (for one service when service is set).
// listServices asks for every family's services even when one family per role needs no choice (for
// `dbg doctor`, which runs no queries to learn them from).
func discover(ctx context.Context, rec *recorder, hq HotspotQuery, convs []Convention, listServices bool) (*discovery, error) {
	w := hq.Window
	d := &discovery{names: map[string]bool{}}
	var names []string
	var meta map[string][]v1.Metadata
	err := runJobs(ctx, []job{
		{func(ctx context.Context) error {
			var err error
			names, err = rec.labelValues(ctx, "__name__", nil, w.BaselineStart, w.End)
			return err
		}},
		{func(ctx context.Context) error {
			// Where served (Prometheus keeps it for scraped targets only; not for backfilled blocks).
			meta = rec.metadata(ctx)
			return nil
		}},
	}, hq.Concurrency)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		d.names[n] = true
	}
	cands := findCandidates(names, meta, convs)
	slices.SortStableFunc(cands, func(a, b *candidate) int {
		if a.exact != b.exact {
			return a.exact - b.exact
		}
		return nameWords(b.base) - nameWords(a.base)
	})
	if len(cands) > maxCandidates {
		for _, c := range cands[maxCandidates:] {
			d.skipped = append(d.skipped, c.metric+": over the first "+strconv.Itoa(maxCandidates)+" candidates")
		}
		cands = cands[:maxCandidates]
	}
	// The label names of each family (one call for both roles of a histogram: they share the probe).
	probes := map[string][]string{}
	var mu sync.Mutex
	var jobs []job
	for _, c := range cands {
		if _, ok := probes[c.probe]; ok {
			continue
		}
		probes[c.probe] = nil
		probe := c.probe
		jobs = append(jobs, job{func(ctx context.Context) error {
			ls, err := rec.labelNames(ctx, Selector(probe), w.BaselineStart, w.End)
			mu.Lock()
			probes[probe] = ls
			mu.Unlock()
			return err
		}})
	}
	if err := runJobs(ctx, jobs, hq.Concurrency); err != nil {
		return nil, err
	}
	var found []*candidate
	for _, c := range cands {
		c.labels = probes[c.probe]
		if c.use = c.resolve(hq.ServiceLabel); c.use == nil {
			d.skipped = append(d.skipped, c.metric+": "+c.skipped)
			continue
		}
		found = append(found, c)
	}
	// Which services each family holds: the values of its service label (with --service, that service's
	// series, matched on every identity label the family has, so the label that really carries the name
	// is the one every query uses), the bucket bounds of a histogram without a unit, a summary's quantiles.
	// A role with one family needs no choice between families: its services come from its rows.
	perRole := map[string]int{}
	for _, c := range found {
		perRole[c.role]++
	}
	jobs = nil
	memo := &valuesMemo{rec: rec, w: w, mu: &mu, waiting: map[string][]func([]string){}, sets: map[string][]func([]map[string]string){}}
	for _, c := range found {
		c.use.whole = hq.Service == "" && !listServices && perRole[c.role] == 1 && c.use.ServiceLabel != ""
		jobs = append(jobs, c.identityJobs(hq, memo)...)
	}
	if err := runJobs(ctx, jobs, hq.Concurrency); err != nil {
		return nil, err
	}
	for _, c := range found {
		if hq.Service != "" && len(c.use.Services) == 0 {
			continue
		}
		if hq.Service == "" {
			c.use.rank.breadth = len(c.use.Services)
		}
		d.uses = append(d.uses, c.use)
	}
	sort.SliceStable(d.uses, func(i, j int) bool {
		if d.uses[i].Role != d.uses[j].Role {
			return d.uses[i].Role == "latency"
		}
		return d.uses[i].rank.less(d.uses[j].rank)
	})
	d.assign(hq.Service)
	return d, nil
}

// identityJobs fill in which services a family holds, and what the unit and quantiles are when only
// the data says.
func (c *candidate) identityJobs(hq HotspotQuery, memo *valuesMemo) []job {
	u := c.use
	u.raw = map[string]map[string]bool{}
	addRaw := func(label, v string) {
		s := serviceName(label, v)
		if u.raw[s] == nil {
			u.raw[s] = map[string]bool{}
			u.Services = append(u.Services, s)
		}
		u.raw[s][v] = true
	}
	var jobs []job
	switch {
	case hq.Service != "":
		// One series call for every family, bounded to the service: a match[] per family and identity
		// label present; the answer's __name__ says which family a series is of.
		var labels, matches []string
		for _, l := range append([]string{hq.ServiceLabel}, identityLabels...) {
			if l != "" && slices.Contains(c.labels, l) && !slices.Contains(u.Route, l) && !slices.Contains(labels, l) {
				labels = append(labels, l)
				matches = append(matches, Selector(c.probe, serviceMatcher(l, hq.Service)))
			}
		}
		if u.ServiceLabel != "" && !slices.Contains(labels, u.ServiceLabel) {
			labels = append([]string{u.ServiceLabel}, labels...)
			matches = append(matches, Selector(c.probe, serviceMatcher(u.ServiceLabel, hq.Service)))
		}
		if len(matches) == 0 {
			return nil
		}
		if j, ok := memo.scoped(matches, func(sets []map[string]string) {
			// The identity label is the first, in the family's order, whose value names the service.
			order := append([]string{u.ServiceLabel}, labels...)
			for _, l := range order {
				for _, s := range sets {
					if s["__name__"] != c.probe {
						continue
					}
					if v := s[l]; v != "" && (serviceName(l, v) == hq.Service || v == hq.Service) {
						u.ServiceLabel = l
						addRaw(l, v)
						u.rank.breadth++
						u.targets.add(s)
					}
				}
				if len(u.raw) > 0 {
					break
				}
			}
		}); ok {
			jobs = append(jobs, j)
		}
	case u.whole:
		u.seen = map[string]bool{}
	case u.ServiceLabel != "":
		// Both roles of a histogram ask the same question: one call answers both.
		if j, ok := memo.values(u.ServiceLabel, Selector(c.probe, u.Selector), func(vals []string) {
			for _, v := range vals {
				addRaw(u.ServiceLabel, v)
			}
		}); ok {
			jobs = append(jobs, j)
		}
	default:
		u.Services = []string{""}
	}
	if c.role == "latency" && c.kind == "histogram" && u.msPerUnit == 0 {
		if j, ok := memo.values("le", Selector(c.metric, u.Selector), func(les []string) {
			unit, ms, from := unitFromBounds(les)
			u.Unit, u.msPerUnit = unit, ms
			u.Why += ", unit " + unit + " from the " + from
		}); ok {
			jobs = append(jobs, j)
		}
	}
	if c.role == "latency" && c.kind == "summary" {
		if u.msPerUnit == 0 {
			u.Unit, u.msPerUnit = "seconds", 1000
			u.Why += ", no unit in the name or metadata: seconds, the Prometheus base unit"
		}
		if j, ok := memo.values("quantile", Selector(c.metric, u.Selector), func(qs []string) {
			u.quantiles = pickQuantiles(qs)
			u.Why += fmt.Sprintf(", quantiles %s and %s", orNone(u.quantiles[0]), orNone(u.quantiles[1]))
		}); ok {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// valuesMemo sends each label-values (or series) question once and hands the answer to everyone who
// asked: both roles of a histogram ask the same.
type valuesMemo struct {
	rec     *recorder
	w       investigate.Window
	mu      *sync.Mutex
	waiting map[string][]func([]string)
	sets    map[string][]func([]map[string]string)
	matches []string // the --service series call's match[]
}

// scoped adds matches to the one series call of --service and use to those it answers; the job goes
// to the first asker only, and sends every match added before it runs.
func (m *valuesMemo) scoped(matches []string, use func([]map[string]string)) (job, bool) {
	m.matches = append(m.matches, matches...)
	return askOnce(m.sets, "scoped", m.mu, use, func(ctx context.Context) ([]map[string]string, error) {
		return m.rec.series(ctx, investigate.Distinct(m.matches), m.w.BaselineStart, m.w.End)
	})
}

// values registers use for the values of label on the series of match; the job goes to the first
// asker only.
func (m *valuesMemo) values(label, match string, use func([]string)) (job, bool) {
	return askOnce(m.waiting, label+"\x00"+match, m.mu, use, func(ctx context.Context) ([]string, error) {
		return m.rec.labelValues(ctx, label, []string{match}, m.w.BaselineStart, m.w.End)
	})
}

// askOnce adds use to the askers of key and returns the job that fetches the answer and hands it to
// every asker, to the first asker only.
func askOnce[T any](askers map[string][]func(T), key string, mu *sync.Mutex, use func(T), fetch func(context.Context) (T, error)) (job, bool) {
	_, asked := askers[key]
	askers[key] = append(askers[key], use)
	if asked {
		return job{}, false
	}
	return job{func(ctx context.Context) error {
		v, err := fetch(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, f := range askers[key] {
			f(v)
		}
		return nil
	}}, true
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// pickQuantiles chooses a summary's tail quantile (0.99, else the highest below 1) and its median (0.5).
func pickQuantiles(qs []string) [2]string {
	var out [2]string
	best := -1.0
	for _, q := range qs {
		v, err := strconv.ParseFloat(q, 64)
		if err != nil || v >= 1 {
			continue
		}
		if v == 0.99 || (best != 0.99 && v > best) {
			best, out[0] = v, q
		}
		if v == 0.5 {
			out[1] = q
		}
	}
	return out
}

// assign gives each service, per role, to the best family that holds it, and drops families left
// with no service. With --service only the best family of each role remains.
func (d *discovery) assign(service string) {
	owner := map[string]*Use{}
	var kept []*Use
	for _, u := range d.uses {
		if u.whole {
			kept = append(kept, u)
			continue
		}
		var mine []string
		for _, s := range u.Services {
			k := u.Role + "\x00" + s
			if owner[k] == nil && (s != "" || !d.hasRole(u.Role, kept)) {
				owner[k] = u
				mine = append(mine, s)
			}
		}
		if len(mine) > 0 && (service == "" || !d.hasRole(u.Role, kept)) {
			u.Services = mine
			kept = append(kept, u)
		}
	}
	d.uses = kept
}

func (d *discovery) hasRole(role string, uses []*Use) bool {
	for _, u := range uses {
		if u.Role == role {
			return true
		}
	}
	return false
}

// targets are the instances and pods a service's series come from.
type targets struct{ instances, pods map[string]bool }

func (t *targets) add(s map[string]string) {
	if t.instances == nil {
		t.instances, t.pods = map[string]bool{}, map[string]bool{}
	}
	if v := s["instance"]; v != "" {
		t.instances[v] = true
	}
	if v := s["pod"]; v != "" {
		t.pods[v] = true
	}
}

// scope is the saturation scope of service: its processes as the request families chosen for it saw
// them.
func (d *discovery) scope(service string) satScope {
	sc := satScope{service: service}
	if service == "" {
		return sc
	}
	inst, pods := map[string]bool{}, map[string]bool{}
	for _, u := range d.uses {
		maps.Copy(inst, u.targets.instances)
		maps.Copy(pods, u.targets.pods)
	}
	sc.instances, sc.pods = slices.Sorted(maps.Keys(inst)), slices.Sorted(maps.Keys(pods))
	return sc
}

// owns reports whether the family is the one used for service.
func (u *Use) owns(service string) bool {
	return u.whole || slices.Contains(u.Services, service) || (len(u.Services) == 1 && u.Services[0] == "")
}

// identity is the service matcher every query of this family uses for service: its own label, and the
// raw values seen for it.
func (u *Use) identity(service string) string {
	if service == "" || u.ServiceLabel == "" {
		return ""
	}
	var vals []string
	for v := range u.raw[service] {
		vals = append(vals, v)
	}
	sort.Strings(vals)
	switch len(vals) {
	case 0:
		return serviceMatcher(u.ServiceLabel, service)
	case 1:
		return Match(u.ServiceLabel, vals[0])
	}
	for i, v := range vals {
		vals[i] = regexp.QuoteMeta(v)
	}
	return MatchRegex(u.ServiceLabel, strings.Join(vals, "|"))
}
