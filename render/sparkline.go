package render

import (
	"math"
	"strings"
)

var sparkBars = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as one line of block characters scaled between the row's minimum and maximum,
// so the shape of a series fits in a table cell. NaN, infinite and negative values (gaps) are spaces;
// a series flat within 5% is a flat low line, so rounding noise does not look like a spike.
func Sparkline(values []float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if gap(v) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	var b strings.Builder
	for _, v := range values {
		switch {
		case gap(v):
			b.WriteByte(' ')
		case hi-lo <= 0.05*max(math.Abs(hi), math.Abs(lo)):
			b.WriteRune(sparkBars[1]) // flat within 5%: noise, not a shape
		default:
			i := int((v - lo) / (hi - lo) * float64(len(sparkBars)-1))
			b.WriteRune(sparkBars[max(0, min(i, len(sparkBars)-1))])
		}
	}
	return b.String()
}

func gap(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) || v < 0 }
