package render

import (
	"math"
	"testing"
	"time"
)

func TestSparkline(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		in   []float64
		want string
	}{
		{nil, ""},
		{[]float64{0, 1, 2, 3, 4, 5, 6, 7}, "▁▂▃▄▅▆▇█"},
		{[]float64{5, 5, 5}, "▂▂▂"},
		{[]float64{100, 101, 102}, "▂▂▂"}, // within 5%: flat
		{[]float64{1, nan, -1, math.Inf(1), 8}, "▁   █"},
		{[]float64{nan, nan}, "  "},
		{[]float64{0, 0, 10, 10}, "▁▁██"},
	}
	for _, tt := range tests {
		if got := Sparkline(tt.in); got != tt.want {
			t.Errorf("Sparkline(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPromDur(t *testing.T) {
	for in, want := range map[float64]string{1800: "30m", 86400: "1d", 5400: "1h30m", 0: "0s", 90061: "1d1h1m1s"} {
		if got := promDur(secs(in)); got != want {
			t.Errorf("promDur(%v) = %s, want %s", in, got, want)
		}
	}
}

func secs(s float64) (d time.Duration) { return time.Duration(s * 1e9) }
