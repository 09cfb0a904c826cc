package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// millis is a duration in milliseconds as people read latency: 1.20s, 340ms, 12.5ms, 800µs.
func millis(ms float64) string { return investigate.FormatMs(ms) }

// millisOrDash is millis, with "-" for a figure that was not measured (zero or less).
func millisOrDash(ms float64) string {
	if ms <= 0 {
		return "-"
	}
	return millis(ms)
}

// msCell is a table cell of milliseconds with one decimal, to the microsecond below 0.1 ms: a 30 µs
// span reads 0.030, not 0.0 (traces of in-process work and caches are made of such spans).
func msCell(ms float64) string {
	if ms != 0 && ms < 0.1 && ms > -0.1 {
		return fmt.Sprintf("%.3f", ms)
	}
	return fmt.Sprintf("%.1f", ms)
}

// internalEvidence are scoring figures the JSON keeps for scripts that re-rank; a person reads the
// finding's score and severity instead.
var internalEvidence = map[string]bool{"max_score": true, "mean_score": true}

// formattedUnits are the units humanNumber writes into the values themselves.
var formattedUnits = map[string]bool{"bytes": true, "ratio": true, "seconds": true, "nanoseconds": true}

// evidenceField is one evidence key with its value as a person reads it.
type evidenceField struct{ Key, Value string }

// humanEvidence lists a finding's evidence in key order, each value sanitised and in human units:
// bytes as KiB/MiB/GiB (per minute for a growth), *_ms, *_s and *_min as durations, figures without
// exponents; empty values, a limit of 0 (no known limit) and internal scoring keys are left out.
func humanEvidence(ev map[string]any) []evidenceField {
	unit, _ := ev["unit"].(string)
	var out []evidenceField
	for _, k := range sortedKeys(ev) {
		if internalEvidence[k] || k == "unit" && formattedUnits[unit] {
			continue // a known unit is in the values themselves
		}
		if v, ok := humanValue(k, ev[k], unit); ok && v != "" {
			out = append(out, evidenceField{Clean(k), v})
		}
	}
	return out
}

func humanValue(key string, v any, unit string) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return Clean(x), true
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = Clean(s)
		}
		return strings.Join(parts, ", "), len(x) > 0
	case float64:
		return humanNumber(key, x, unit)
	case float32:
		return humanNumber(key, float64(x), unit)
	case int:
		return humanNumber(key, float64(x), unit)
	case int64:
		return humanNumber(key, float64(x), unit)
	case int32:
		return humanNumber(key, float64(x), unit)
	}
	return Clean(fmt.Sprint(v)), true
}

// humanNumber formats a figure by what its key says it measures.
func humanNumber(key string, f float64, unit string) (string, bool) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "", false
	case (key == "limit" || strings.HasSuffix(key, "_limit")) && f <= 0:
		return "", false // no known limit: a 0 would read as "the limit is zero"
	case strings.HasSuffix(key, "_bytes_per_min"):
		return investigate.FormatBytes(f) + "/min", true
	case strings.HasSuffix(key, "_bytes"):
		return investigate.FormatBytes(f), true
	case strings.HasSuffix(key, "_ms"):
		return millis(f), true
	case strings.HasSuffix(key, "_s") || strings.HasSuffix(key, "_seconds"):
		return millis(f * 1000), true
	case strings.HasSuffix(key, "_min") && !strings.HasSuffix(key, "_per_min"):
		if f >= 60 {
			return fmt.Sprintf("%.1f h", f/60), true
		}
		return fmt.Sprintf("%.1f min", f), true
	case key == "value" || key == "limit" || key == "baseline":
		switch unit {
		case "bytes", "ratio":
			return satValue(f, unit), true
		case "seconds":
			return millis(f * 1000), true
		case "nanoseconds":
			return millis(f / 1e6), true
		}
	}
	return plainNumber(f), true
}

// plainNumber writes a figure without an exponent: integers whole, others to three decimals (or
// three significant digits when smaller).
func plainNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	if math.Abs(f) >= 0.001 {
		return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', 3, 64)
}
