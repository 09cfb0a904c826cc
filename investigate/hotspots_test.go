package investigate

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func hsWindow() Window {
	end := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	w, _ := ParseWindow("30m", end.Format(time.RFC3339), "", end)
	return w
}

func ek(op string) EndpointKey { return EndpointKey{Service: "shop", Operation: op} }

func TestLatencyHotspots(t *testing.T) {
	tests := []struct {
		name      string
		p99, base map[EndpointKey]float64
		wantFirst string
		wantFind  []string // operations with a latency_hotspot finding
	}{
		{
			name:      "regression ranks above a slower endpoint that was always slow",
			p99:       map[EndpointKey]float64{ek("/slow"): 800, ek("/always"): 2000, ek("/fast"): 20},
			base:      map[EndpointKey]float64{ek("/slow"): 100, ek("/always"): 2000, ek("/fast"): 20},
			wantFirst: "/slow", wantFind: []string{"/slow"},
		},
		{
			name:      "just under the ratio is no finding",
			p99:       map[EndpointKey]float64{ek("/a"): 149},
			base:      map[EndpointKey]float64{ek("/a"): 100},
			wantFirst: "/a", wantFind: nil,
		},
		{
			name:      "no baseline: listed, not a regression",
			p99:       map[EndpointKey]float64{ek("/new"): 900},
			base:      map[EndpointKey]float64{},
			wantFirst: "/new", wantFind: nil,
		},
		{
			name:      "NaN and zero p99 are dropped",
			p99:       map[EndpointKey]float64{ek("/nan"): math.NaN(), ek("/zero"): 0, ek("/ok"): 10},
			base:      map[EndpointKey]float64{ek("/ok"): 5},
			wantFirst: "/ok", wantFind: []string{"/ok"},
		},
		{
			name:      "sub-millisecond noise is not a regression",
			p99:       map[EndpointKey]float64{ek("/tiny"): 0.5},
			base:      map[EndpointKey]float64{ek("/tiny"): 0.1},
			wantFirst: "/tiny", wantFind: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := AnalyzeHotspots(HotspotInput{Window: hsWindow(), Latency: &LatencyInput{Query: "q", Link: "http://p/graph",
				P99: tt.p99, BaseP99: tt.base}}, DefaultHotspotOptions())
			rows := rep.Tables.Latency.Rows
			if len(rows) == 0 || rows[0].Operation != tt.wantFirst {
				t.Fatalf("rows = %+v, want %s first", rows, tt.wantFirst)
			}
			var got []string
			for _, f := range rep.Findings {
				got = append(got, f.Operation)
				if f.Kind != KindLatencyHotspot || f.Evidence["query"] != "q" || f.Evidence["baseline_p99_ms"] == nil || f.Links[0] != "http://p/graph" {
					t.Errorf("finding %+v lacks the contract's evidence", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.wantFind, ",") {
				t.Errorf("findings for %v, want %v", got, tt.wantFind)
			}
		})
	}
}

func TestErrorAndTrafficHotspots(t *testing.T) {
	in := &RequestInput{RateQuery: "rate", RatioQuery: "ratio",
		Rate:       map[EndpointKey]float64{ek("/err"): 6, ek("/const"): 10, ek("/spike"): 12, ek("/drop"): 0.2, ek("/steady"): 5, ek("/new"): 3},
		BaseRate:   map[EndpointKey]float64{ek("/err"): 6, ek("/const"): 10, ek("/spike"): 1, ek("/drop"): 10, ek("/steady"): 5, ek("/gone"): 4},
		Errors:     map[EndpointKey]float64{ek("/err"): 1.8, ek("/const"): 5, ek("/steady"): 0.025},
		BaseErrors: map[EndpointKey]float64{ek("/const"): 5, ek("/steady"): 0.025},
	}
	rep := AnalyzeHotspots(HotspotInput{Window: hsWindow(), Requests: in}, DefaultHotspotOptions())
	errs := rep.Tables.Errors.Rows
	if len(errs) != 3 || errs[0].Operation != "/err" || errs[0].ErrorRatio != 0.3 || errs[0].BaselineErrorRatio != 0 {
		t.Fatalf("errors = %+v", errs)
	}
	if errs[1].Operation != "/const" || errs[1].Regression {
		t.Errorf("a constant 50%% error ratio ranks second and is no regression: %+v", errs[1])
	}
	spikes, drops := rep.Tables.TrafficSpikes.Rows, rep.Tables.TrafficDrops.Rows
	// A new endpoint is the largest change (from nothing); the 12x spike follows.
	if spikes[0].Operation != "/new" || spikes[1].Operation != "/spike" {
		t.Errorf("spikes = %+v", spikes)
	}
	if drops[0].Operation != "/gone" || drops[1].Operation != "/drop" {
		t.Errorf("drops = %+v", drops)
	}
	kinds := map[string]int{}
	for _, f := range rep.Findings {
		kinds[f.Kind+" "+f.Operation]++
	}
	for _, want := range []string{"error_hotspot /err", "traffic_spike /spike", "traffic_spike /drop", "traffic_spike /gone", "traffic_spike /new"} {
		if kinds[want] != 1 {
			t.Errorf("finding %s: %d, have %v", want, kinds[want], kinds)
		}
	}
	if kinds["error_hotspot /const"] != 0 || kinds["traffic_spike /steady"] != 0 {
		t.Errorf("steady endpoints reported: %v", kinds)
	}
}

func TestSaturationHotspots(t *testing.T) {
	in := &SaturationInput{Rows: []SaturationObservation{
		{Resource: "open_fds", Service: "a", Value: 0.95, Limit: 1, Baseline: 0.2},
		{Resource: "open_fds", Service: "b", Value: 0.3, Limit: 1, Baseline: 0.3},
		{Resource: "goroutines", Service: "a", Value: 400, Baseline: 100},
		{Resource: "goroutines", Service: "b", Value: 120, Baseline: 100},
		{Resource: "cpu_throttling", Service: "c", Value: 0.3, Limit: 1, WarnAt: 0.25},
		{Resource: "memory", Service: "d", Value: math.NaN(), Limit: 100},
	}}
	rep := AnalyzeHotspots(HotspotInput{Window: hsWindow(), Saturation: in}, DefaultHotspotOptions())
	sat := map[string]bool{}
	for _, r := range rep.Tables.Saturation.Rows {
		sat[r.Resource+" "+r.Service] = r.Saturated
	}
	want := map[string]bool{"open_fds a": true, "open_fds b": false, "goroutines a": true, "goroutines b": false, "cpu_throttling c": true, "memory d": false}
	for k, v := range want {
		if sat[k] != v {
			t.Errorf("%s saturated = %v, want %v", k, sat[k], v)
		}
	}
	if len(rep.Findings) != 3 {
		t.Errorf("findings = %d, want 3", len(rep.Findings))
	}
}

// TestHotspotReportJSON: the contract's top-level keys, empty lists as [], no NaN anywhere.
func TestHotspotReportJSON(t *testing.T) {
	rep := AnalyzeHotspots(HotspotInput{Window: hsWindow(), Latency: &LatencyInput{
		P99: map[EndpointKey]float64{ek("/a"): 10}, Spark: map[EndpointKey][]float64{ek("/a"): {1, math.NaN(), math.Inf(1), 3}}}}, DefaultHotspotOptions())
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"window", "baseline", "findings", "tables"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	s := string(b)
	if strings.Contains(s, "null") {
		t.Errorf("null in %s", s)
	}
	if !strings.Contains(s, `"sparkline":[1,-1,-1,3]`) {
		t.Errorf("gaps not -1: %s", s)
	}
	if !strings.Contains(s, `"baseline":{"start":"2026-01-01T11:00:00Z","end":"2026-01-01T11:30:00Z"}`) {
		t.Errorf("baseline: %s", s)
	}
}

func TestResample(t *testing.T) {
	start := time.Unix(1000, 0)
	s := Series{Points: []Point{{start, 1}, {start.Add(2 * time.Minute), 3}, {start.Add(-time.Minute), 9}, {start.Add(time.Hour), 9}}}
	got := s.Resample(start, start.Add(3*time.Minute), time.Minute)
	if len(got) != 4 || got[0] != 1 || !math.IsNaN(got[1]) || got[2] != 3 || !math.IsNaN(got[3]) {
		t.Errorf("resample = %v", got)
	}
	if s.Resample(start, start, 0) != nil {
		t.Error("zero step")
	}
}

// BenchmarkAnalyzeHotspots ranks 2,000 endpoints.
func BenchmarkAnalyzeHotspots(b *testing.B) {
	in := HotspotInput{Window: hsWindow(), Latency: &LatencyInput{P99: map[EndpointKey]float64{}, BaseP99: map[EndpointKey]float64{},
		Spark: map[EndpointKey][]float64{}}, Requests: &RequestInput{Rate: map[EndpointKey]float64{}, BaseRate: map[EndpointKey]float64{},
		Errors: map[EndpointKey]float64{}, BaseErrors: map[EndpointKey]float64{}}}
	spark := make([]float64, 30)
	for i := range 2000 {
		k := EndpointKey{Service: "svc", Operation: "/r" + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + time.Duration(i).String()}
		in.Latency.P99[k], in.Latency.BaseP99[k], in.Latency.Spark[k] = float64(10+i%50), float64(10+i%30), spark
		in.Requests.Rate[k], in.Requests.BaseRate[k], in.Requests.Errors[k] = float64(1+i%9), float64(1+i%5), float64(i%3)*0.1
	}
	for b.Loop() {
		AnalyzeHotspots(in, DefaultHotspotOptions())
	}
}
