package investigate

import (
	"math"
	"time"
)

// Point is one sample of a time series.
type Point struct {
	T time.Time
	V float64
}

// Series is one labelled time series, as a metric source returns it for a range query.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Sample is one labelled value, as a metric source returns it for an instant query.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Resample lays the series' points on the grid start, start+step, ..., end, so series of one query line
// up for sparklines; a grid slot without a point is NaN.
func (s Series) Resample(start, end time.Time, step time.Duration) []float64 {
	if step <= 0 || end.Before(start) {
		return nil
	}
	n := int(end.Sub(start)/step) + 1
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	for _, p := range s.Points {
		off := p.T.Sub(start)
		if off < 0 {
			continue
		}
		i := int((off + step/2) / step)
		if i < n {
			out[i] = p.V
		}
	}
	return out
}
