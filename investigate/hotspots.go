package investigate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// EndpointKey names one row of the hotspot tables: a service and its endpoint (route, gRPC method, or
// destination service for a mesh).
type EndpointKey struct {
	Service   string
	Operation string
}

// LatencyInput is what a metric source measured for the latency table: p99 and p50 per endpoint in the
// window and in the baseline, in milliseconds, and the p99 over the window for the sparkline.
type LatencyInput struct {
	Query    string // the p99 PromQL
	P50Query string
	Link     string // a graph link for Query
	Note     string // why the table is empty (no histogram found), empty otherwise
	P99      map[EndpointKey]float64
	BaseP99  map[EndpointKey]float64
	P50      map[EndpointKey]float64
	BaseP50  map[EndpointKey]float64
	Spark    map[EndpointKey][]float64
	// Queries holds, per service, the PromQL of that service's rows when the server names the metrics
	// of services differently (each service is read in its own convention); Query otherwise.
	Queries map[string]LatencyQueries `json:",omitempty"`
}

// LatencyQueries are the PromQL behind one service's latency rows.
type LatencyQueries struct {
	Query, P50Query, Link string
}

func (in *LatencyInput) queriesFor(service string) LatencyQueries {
	if q, ok := in.Queries[service]; ok {
		return q
	}
	return LatencyQueries{Query: in.Query, P50Query: in.P50Query, Link: in.Link}
}

// RequestInput is what a metric source measured for the error and traffic tables: request and error
// rates (per second) per endpoint in the window and the baseline, and their sparklines.
type RequestInput struct {
	RateQuery  string
	ErrorQuery string
	RatioQuery string // the error ratio as one PromQL expression, for the evidence and the graph link
	RateLink   string
	RatioLink  string
	Note       string
	Rate       map[EndpointKey]float64
	BaseRate   map[EndpointKey]float64
	Errors     map[EndpointKey]float64
	BaseErrors map[EndpointKey]float64
	RateSpark  map[EndpointKey][]float64
	ErrorSpark map[EndpointKey][]float64
	// Queries holds, per service, the PromQL of that service's rows (see LatencyInput.Queries).
	Queries map[string]RequestQueries `json:",omitempty"`
}

// RequestQueries are the PromQL behind one service's error and traffic rows.
type RequestQueries struct {
	RateQuery, ErrorQuery, RatioQuery, RateLink, RatioLink string
}

func (in *RequestInput) queriesFor(service string) RequestQueries {
	if q, ok := in.Queries[service]; ok {
		return q
	}
	return RequestQueries{RateQuery: in.RateQuery, ErrorQuery: in.ErrorQuery, RatioQuery: in.RatioQuery, RateLink: in.RateLink, RatioLink: in.RatioLink}
}

// ConventionUse is one metric family the source read and the services it read it for, with why it
// was chosen (the labels that matched): what `--explain` and `dbg doctor` show.
type ConventionUse struct {
	Convention string   `json:"convention"`
	Role       string   `json:"role"` // latency or requests
	Metric     string   `json:"metric"`
	Services   []string `json:"services"`
	Why        string   `json:"why"`
}

// SaturationObservation is one resource reading: a value, its limit when one is known (0 otherwise) and
// the same reading in the baseline.
type SaturationObservation struct {
	Resource  string // cpu_throttling, memory, goroutines, heap, open_fds, db_pool, circuit_breaker, bulkhead
	Service   string
	Operation string // instance, pool or breaker name when the metric has one
	Value     float64
	Limit     float64
	Baseline  float64
	Unit      string // "ratio", "bytes", "count"
	// WarnAt is the fraction of Limit from which the reading is a finding (0.8 when 0). Readings without
	// a limit are findings when they grew to GrowthAt times the baseline (2 when 0).
	WarnAt   float64
	GrowthAt float64
	Query    string
	Link     string
	Spark    []float64
}

// SaturationInput is the saturation table's input.
type SaturationInput struct {
	Note string
	Rows []SaturationObservation
}

// HotspotInput is everything `dbg hotspots` measured; a nil part was not measured.
type HotspotInput struct {
	Window     Window
	Convention string
	// Conventions are the metric families used and the services each was used for.
	Conventions []ConventionUse `json:",omitempty"`
	Latency     *LatencyInput
	Requests    *RequestInput
	Saturation  *SaturationInput
	Warnings    []string
}

// HotspotOptions are the thresholds that turn a table row into a finding.
type HotspotOptions struct {
	// MinLatencyRatio is how much slower than the baseline p99 an endpoint must be (1.5).
	MinLatencyRatio float64
	// MinLatencyMs ignores endpoints whose p99 is below this (1 ms).
	MinLatencyMs float64
	// MinErrorRatio is the smallest error ratio worth a finding (0.01).
	MinErrorRatio float64
	// MinErrorIncrease is how many times the baseline error ratio it must be (2).
	MinErrorIncrease float64
	// MinTrafficRatio is the rate change, either way, that is a spike or a drop (2: double or half).
	MinTrafficRatio float64
	// MinRate ignores endpoints below this many requests per second in both windows (0.01).
	MinRate float64
	// MaxRows caps each table (0: no cap).
	MaxRows int
}

// DefaultHotspotOptions are the thresholds used unless configured.
func DefaultHotspotOptions() HotspotOptions {
	return HotspotOptions{MinLatencyRatio: 1.5, MinLatencyMs: 1, MinErrorRatio: 0.01, MinErrorIncrease: 2,
		MinTrafficRatio: 2, MinRate: 0.01, MaxRows: 15}
}

// TimeRange is a window in the JSON output.
type TimeRange struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// HotspotReport is the `dbg hotspots` JSON contract: {window, baseline, findings, tables}.
type HotspotReport struct {
	Window   TimeRange     `json:"window"`
	Baseline TimeRange     `json:"baseline"`
	Findings []Finding     `json:"findings"`
	Tables   HotspotTables `json:"tables"`
	Warnings []string      `json:"warnings"`
}

// HotspotTables are the ranked tables, most abnormal first.
type HotspotTables struct {
	Convention    string          `json:"convention"`
	Conventions   []ConventionUse `json:"conventions"`
	Latency       LatencyTable    `json:"latency"`
	Errors        ErrorTable      `json:"errors"`
	TrafficSpikes TrafficTable    `json:"traffic_spikes"`
	TrafficDrops  TrafficTable    `json:"traffic_drops"`
	Saturation    SaturationTable `json:"saturation"`
}

// LatencyTable ranks endpoints by how much slower than the baseline they are.
type LatencyTable struct {
	Query string       `json:"query"`
	Note  string       `json:"note,omitempty"`
	Rows  []LatencyRow `json:"rows"`
}

// LatencyRow is one endpoint's latency. A ratio of 0 means no baseline.
type LatencyRow struct {
	Service       string    `json:"service"`
	Operation     string    `json:"operation"`
	P99Ms         float64   `json:"p99_ms"`
	BaselineP99Ms float64   `json:"baseline_p99_ms"`
	P50Ms         float64   `json:"p50_ms"`
	BaselineP50Ms float64   `json:"baseline_p50_ms"`
	Ratio         float64   `json:"ratio"`
	Regression    bool      `json:"regression"`
	Score         float64   `json:"score"`
	Sparkline     []float64 `json:"sparkline"`
}

// ErrorTable ranks endpoints by error ratio and its growth over the baseline.
type ErrorTable struct {
	Query string     `json:"query"`
	Note  string     `json:"note,omitempty"`
	Rows  []ErrorRow `json:"rows"`
}

// ErrorRow is one endpoint's errors.
type ErrorRow struct {
	Service            string    `json:"service"`
	Operation          string    `json:"operation"`
	ErrorRate          float64   `json:"error_rate"`
	ErrorRatio         float64   `json:"error_ratio"`
	BaselineErrorRatio float64   `json:"baseline_error_ratio"`
	Rate               float64   `json:"rate"`
	Regression         bool      `json:"regression"`
	Score              float64   `json:"score"`
	Sparkline          []float64 `json:"sparkline"`
}

// TrafficTable ranks endpoints by the change of their request rate, one direction per table.
type TrafficTable struct {
	Query string       `json:"query"`
	Note  string       `json:"note,omitempty"`
	Rows  []TrafficRow `json:"rows"`
}

// TrafficRow is one endpoint's request rate against the baseline.
type TrafficRow struct {
	Service      string    `json:"service"`
	Operation    string    `json:"operation"`
	Rate         float64   `json:"rate"`
	BaselineRate float64   `json:"baseline_rate"`
	Ratio        float64   `json:"ratio"`
	Anomaly      bool      `json:"anomaly"`
	Score        float64   `json:"score"`
	Sparkline    []float64 `json:"sparkline"`
	// change is |log2| of the rate change, unclamped, so a 50x drop ranks above a 20x one.
	change float64
}

// SaturationTable ranks resources by how close to their limit (or how far above the baseline) they are.
type SaturationTable struct {
	Note string          `json:"note,omitempty"`
	Rows []SaturationRow `json:"rows"`
}

// SaturationRow is one resource reading.
type SaturationRow struct {
	Resource  string    `json:"resource"`
	Service   string    `json:"service"`
	Operation string    `json:"operation"`
	Value     float64   `json:"value"`
	Limit     float64   `json:"limit"`
	Baseline  float64   `json:"baseline"`
	Unit      string    `json:"unit"`
	Saturated bool      `json:"saturated"`
	Score     float64   `json:"score"`
	Query     string    `json:"query"`
	Sparkline []float64 `json:"sparkline"`
}

// AnalyzeHotspots ranks what a metric source measured into the hotspot tables and findings. It is pure:
// the same input gives the same report.
func AnalyzeHotspots(in HotspotInput, o HotspotOptions) *HotspotReport {
	rep := &HotspotReport{
		Window:   TimeRange{Start: in.Window.Start.UTC(), End: in.Window.End.UTC()},
		Baseline: TimeRange{Start: in.Window.BaselineStart.UTC(), End: in.Window.BaselineEnd.UTC()},
		Warnings: append([]string{}, in.Warnings...),
	}
	rep.Tables.Convention = in.Convention
	rep.Tables.Conventions = append([]ConventionUse{}, in.Conventions...)
	for i := range rep.Tables.Conventions {
		if rep.Tables.Conventions[i].Services == nil {
			rep.Tables.Conventions[i].Services = []string{}
		}
	}
	var fs []Finding
	if in.Latency != nil {
		var f []Finding
		rep.Tables.Latency, f = latencyTable(in.Latency, o)
		fs = append(fs, f...)
	} else {
		rep.Tables.Latency = LatencyTable{Rows: []LatencyRow{}}
	}
	if in.Requests != nil {
		var f []Finding
		rep.Tables.Errors, f = errorTable(in.Requests, o)
		fs = append(fs, f...)
		rep.Tables.TrafficSpikes, rep.Tables.TrafficDrops, f = trafficTables(in.Requests, o)
		fs = append(fs, f...)
	} else {
		rep.Tables.Errors = ErrorTable{Rows: []ErrorRow{}}
		rep.Tables.TrafficSpikes = TrafficTable{Rows: []TrafficRow{}}
		rep.Tables.TrafficDrops = TrafficTable{Rows: []TrafficRow{}}
	}
	if in.Saturation != nil {
		var f []Finding
		rep.Tables.Saturation, f = saturationTable(in.Saturation, o)
		fs = append(fs, f...)
	} else {
		rep.Tables.Saturation = SaturationTable{Rows: []SaturationRow{}}
	}
	rep.Findings = RankFindings(fs)
	return rep
}

func keysOf(ms ...map[EndpointKey]float64) []EndpointKey {
	seen := map[EndpointKey]bool{}
	var out []EndpointKey
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	slices.SortFunc(out, func(a, b EndpointKey) int {
		if c := cmp.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return cmp.Compare(a.Operation, b.Operation)
	})
	return out
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

func capRows[T any](rows []T, n int) []T {
	if n > 0 && len(rows) > n {
		return rows[:n]
	}
	if rows == nil {
		return []T{}
	}
	return rows
}

func spark(m map[EndpointKey][]float64, k EndpointKey) []float64 {
	if s, ok := m[k]; ok {
		out := make([]float64, len(s))
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				out[i] = -1 // JSON cannot hold NaN; -1 marks a gap (no metric here is negative)
			} else {
				out[i] = round3(v)
			}
		}
		return out
	}
	return []float64{}
}

func evidenceLinks(link string) []string {
	if link == "" {
		return nil
	}
	return []string{link}
}

func latencyTable(in *LatencyInput, o HotspotOptions) (LatencyTable, []Finding) {
	t := LatencyTable{Query: in.Query, Note: in.Note}
	var fs []Finding
	for _, k := range keysOf(in.P99) {
		r := LatencyRow{Service: k.Service, Operation: k.Operation,
			P99Ms: round3(finite(in.P99[k])), BaselineP99Ms: round3(finite(in.BaseP99[k])),
			P50Ms: round3(finite(in.P50[k])), BaselineP50Ms: round3(finite(in.BaseP50[k])),
			Sparkline: spark(in.Spark, k)}
		if r.P99Ms <= 0 {
			continue
		}
		if r.BaselineP99Ms > 0 {
			r.Ratio = round3(r.P99Ms / r.BaselineP99Ms)
			if r.Ratio > 1 {
				r.Score = clamp01(math.Log2(r.Ratio) / 3) // 8x slower is as bad as it gets
			}
		}
		r.Regression = r.BaselineP99Ms > 0 && r.Ratio >= o.MinLatencyRatio && r.P99Ms >= o.MinLatencyMs
		if r.Regression {
			q := in.queriesFor(k.Service)
			fs = append(fs, Finding{
				Kind: KindLatencyHotspot, Score: r.Score, Service: r.Service, Operation: r.Operation,
				Title: fmt.Sprintf("%s p99 %s, %.1fx its baseline %s", r.Operation, FormatMs(r.P99Ms), r.Ratio, FormatMs(r.BaselineP99Ms)),
				Evidence: map[string]any{"p99_ms": r.P99Ms, "baseline_p99_ms": r.BaselineP99Ms, "ratio": r.Ratio,
					"p50_ms": r.P50Ms, "baseline_p50_ms": r.BaselineP50Ms, "query": q.Query, "graph": q.Link},
				Links:          evidenceLinks(q.Link),
				Recommendation: "Open a slow trace of this endpoint (dbg trace) to see which span took the time; compare with recent deploys.",
			})
		}
		t.Rows = append(t.Rows, r)
	}
	slices.SortStableFunc(t.Rows, func(a, b LatencyRow) int {
		if a.Regression != b.Regression {
			if a.Regression {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Ratio, a.Ratio); c != 0 {
			return c
		}
		return cmp.Compare(b.P99Ms, a.P99Ms)
	})
	t.Rows = capRows(t.Rows, o.MaxRows)
	return t, fs
}

func errorTable(in *RequestInput, o HotspotOptions) (ErrorTable, []Finding) {
	t := ErrorTable{Query: in.RatioQuery, Note: in.Note}
	var fs []Finding
	for _, k := range keysOf(in.Errors, in.Rate) {
		rate, errs := finite(in.Rate[k]), finite(in.Errors[k])
		if errs <= 0 || rate <= 0 {
			continue
		}
		r := ErrorRow{Service: k.Service, Operation: k.Operation, ErrorRate: round3(errs), Rate: round3(rate),
			ErrorRatio: round3(min(1, errs/rate)), Sparkline: spark(in.ErrorSpark, k)}
		if br := finite(in.BaseRate[k]); br > 0 {
			r.BaselineErrorRatio = round3(min(1, finite(in.BaseErrors[k])/br))
		}
		increase := (r.ErrorRatio + 0.001) / (r.BaselineErrorRatio + 0.001)
		r.Score = clamp01(0.5*min(1, r.ErrorRatio/0.2) + 0.5*clamp01(math.Log2(max(increase, 1))/5))
		r.Regression = r.ErrorRatio >= o.MinErrorRatio && increase >= o.MinErrorIncrease
		if r.Regression {
			q := in.queriesFor(k.Service)
			fs = append(fs, Finding{
				Kind: KindErrorHotspot, Score: r.Score, Service: r.Service, Operation: r.Operation,
				Title: fmt.Sprintf("%s fails %.1f%% of requests (%.2f/s), baseline %.1f%%", r.Operation, 100*r.ErrorRatio, r.ErrorRate, 100*r.BaselineErrorRatio),
				Evidence: map[string]any{"error_rate": r.ErrorRate, "error_ratio": r.ErrorRatio,
					"baseline_error_ratio": r.BaselineErrorRatio, "rate": r.Rate, "query": q.RatioQuery, "graph": q.RatioLink},
				Links:          evidenceLinks(q.RatioLink),
				Recommendation: "Find where the errors start: dbg logs --service for the exceptions, or an erroring trace (dbg trace).",
			})
		}
		t.Rows = append(t.Rows, r)
	}
	slices.SortStableFunc(t.Rows, func(a, b ErrorRow) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(b.ErrorRate, a.ErrorRate)
	})
	t.Rows = capRows(t.Rows, o.MaxRows)
	return t, fs
}

func trafficTables(in *RequestInput, o HotspotOptions) (TrafficTable, TrafficTable, []Finding) {
	spikes := TrafficTable{Query: in.RateQuery, Note: in.Note}
	drops := TrafficTable{Query: in.RateQuery, Note: in.Note}
	var fs []Finding
	for _, k := range keysOf(in.Rate, in.BaseRate) {
		rate, base := finite(in.Rate[k]), finite(in.BaseRate[k])
		if rate < o.MinRate && base < o.MinRate {
			continue
		}
		r := TrafficRow{Service: k.Service, Operation: k.Operation, Rate: round3(rate), BaselineRate: round3(base),
			Sparkline: spark(in.RateSpark, k)}
		// +MinRate keeps a new or vanished endpoint finite and ranks it by the rate it gained or lost.
		floor := max(o.MinRate, 1e-6)
		change := (rate + floor) / (base + floor)
		if base > 0 {
			r.Ratio = round3(rate / base)
		}
		r.change = math.Abs(math.Log2(change))
		r.Score = clamp01(r.change / 4) // 16x either way is as bad as a finding's score gets
		r.Anomaly = change >= o.MinTrafficRatio || change <= 1/o.MinTrafficRatio
		if r.Anomaly {
			what, kind := "spike", "up"
			if change < 1 {
				what, kind = "drop", "down"
			}
			q := in.queriesFor(k.Service)
			factor := max(change, 1/change)
			if r.Ratio > 0 {
				factor = max(r.Ratio, 1/r.Ratio)
			}
			fs = append(fs, Finding{
				Kind: KindTrafficSpike, Score: r.Score, Service: r.Service, Operation: r.Operation,
				Title: fmt.Sprintf("traffic %s: %s at %.2f req/s, baseline %.2f req/s (%s %.1fx)", what, r.Operation, r.Rate, r.BaselineRate, kind, factor),
				Evidence: map[string]any{"rate": r.Rate, "baseline_rate": r.BaselineRate, "ratio": r.Ratio,
					"direction": what, "query": q.RateQuery, "graph": q.RateLink},
				Links:          evidenceLinks(q.RateLink),
				Recommendation: trafficAdvice(what),
			})
		}
		if change >= 1 {
			spikes.Rows = append(spikes.Rows, r)
		} else {
			drops.Rows = append(drops.Rows, r)
		}
	}
	for _, t := range []*TrafficTable{&spikes, &drops} {
		slices.SortStableFunc(t.Rows, func(a, b TrafficRow) int {
			if c := cmp.Compare(b.change, a.change); c != 0 {
				return c
			}
			return cmp.Compare(b.Rate+b.BaselineRate, a.Rate+a.BaselineRate)
		})
		t.Rows = capRows(t.Rows, o.MaxRows)
	}
	return spikes, drops, fs
}

func trafficAdvice(what string) string {
	if what == "drop" {
		return "Traffic that vanished is a symptom: check the callers, the load balancer and whether the endpoint is still routed."
	}
	return "Find who sends the extra traffic (a retry storm, a batch job, a client release) and whether rate limits hold."
}

func saturationTable(in *SaturationInput, o HotspotOptions) (SaturationTable, []Finding) {
	t := SaturationTable{Note: in.Note}
	var fs []Finding
	for _, s := range in.Rows {
		r := SaturationRow{Resource: s.Resource, Service: s.Service, Operation: s.Operation,
			Value: round3(finite(s.Value)), Limit: round3(finite(s.Limit)), Baseline: round3(finite(s.Baseline)),
			Unit: s.Unit, Query: s.Query, Sparkline: spark(map[EndpointKey][]float64{{}: s.Spark}, EndpointKey{})}
		if s.Spark == nil {
			r.Sparkline = []float64{}
		}
		warn, growth := s.WarnAt, s.GrowthAt
		if warn <= 0 {
			warn = 0.8
		}
		if growth <= 0 {
			growth = 2
		}
		var title string
		if r.Limit > 0 {
			util := r.Value / r.Limit
			r.Score = clamp01((util - warn*0.75) / (1 - warn*0.75))
			r.Saturated = util >= warn
			title = fmt.Sprintf("%s %s at %.0f%% of its limit", r.Service, s.Resource, 100*util)
			if s.Resource == "circuit_breaker" {
				title = fmt.Sprintf("%s circuit breaker %s is open", r.Service, r.Operation)
			}
		} else if r.Baseline > 0 {
			g := r.Value / r.Baseline
			if g > 1 {
				r.Score = clamp01(math.Log2(g) / 3)
			}
			r.Saturated = g >= growth
			title = fmt.Sprintf("%s %s grew %.1fx over the baseline (%s → %s)", r.Service, s.Resource, g, fmtNum(r.Baseline), fmtNum(r.Value))
		}
		if r.Saturated {
			fs = append(fs, Finding{
				Kind: KindSaturation, Score: r.Score, Service: r.Service, Operation: r.Operation, Title: title,
				Evidence: map[string]any{"resource": s.Resource, "value": r.Value, "limit": r.Limit, "unit": r.Unit,
					"baseline": r.Baseline, "query": s.Query, "graph": s.Link},
				Links:          evidenceLinks(s.Link),
				Recommendation: saturationAdvice(s.Resource),
			})
		}
		t.Rows = append(t.Rows, r)
	}
	slices.SortStableFunc(t.Rows, func(a, b SaturationRow) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Resource, b.Resource); c != 0 {
			return c
		}
		return cmp.Compare(a.Service+a.Operation, b.Service+b.Operation)
	})
	t.Rows = capRows(t.Rows, o.MaxRows)
	return t, fs
}

func saturationAdvice(resource string) string {
	switch resource {
	case "cpu_throttling":
		return "The container hits its CPU limit: raise the limit or find the CPU hotspot (dbg profile cpu)."
	case "memory":
		return "Close to the memory limit an OOM kill follows: check for a leak (dbg profile heap) or raise the limit."
	case "goroutines", "heap":
		return "Steady growth is a leak until proven otherwise: dbg profile goroutine / heap, twice, and compare."
	case "open_fds":
		return "File descriptors near the limit: look for unclosed connections or response bodies."
	case "db_pool":
		return "The connection pool is exhausted: requests queue for a connection; look for slow queries or leaked transactions."
	case "circuit_breaker", "bulkhead":
		return "Calls are being rejected to protect a dependency: look at that dependency's errors and latency."
	}
	return ""
}

func fmtNum(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.1fGi", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1fMi", v/(1<<20))
	case v >= 10000:
		return fmt.Sprintf("%.0fk", v/1000)
	}
	return fmt.Sprintf("%.0f", v)
}
