package investigate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is the time range under investigation and the baseline it is compared with.
type Window struct {
	Start         time.Time
	End           time.Time
	BaselineStart time.Time
	BaselineEnd   time.Time
}

// Length is the window's duration.
func (w Window) Length() time.Duration { return w.End.Sub(w.Start) }

// ParseWindow is dbg's one time-window parser. since is a duration counted back from until ("30m",
// "2h", "1d") or an absolute time; until is an absolute time or empty for now; baseline is how far back
// the comparison window is shifted ("1d" for the same window a day earlier), empty for the window of the
// same length just before since. Absolute times are RFC 3339 or Unix seconds.
func ParseWindow(since, until, baseline string, now time.Time) (Window, error) {
	var w Window
	w.End = now
	if strings.TrimSpace(until) != "" && until != "now" {
		t, err := ParseTime(until)
		if err != nil {
			return w, fmt.Errorf("--until %q: %w", until, err)
		}
		w.End = t
	}
	if strings.TrimSpace(since) == "" {
		since = "30m"
	}
	if d, err := ParseDuration(since); err == nil {
		if d <= 0 {
			return w, fmt.Errorf("--since %q: must be a positive duration", since)
		}
		w.Start = w.End.Add(-d)
	} else {
		t, terr := ParseTime(since)
		if terr != nil {
			return w, fmt.Errorf("--since %q: not a duration (30m, 2h, 1d) nor a time (RFC 3339 or Unix seconds)", since)
		}
		w.Start = t
	}
	if !w.Start.Before(w.End) {
		return w, fmt.Errorf("--since %s is not before --until %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	shift := w.Length()
	if strings.TrimSpace(baseline) != "" {
		d, err := ParseDuration(baseline)
		if err != nil || d <= 0 {
			return w, fmt.Errorf("--baseline %q: want a positive duration such as 30m or 1d", baseline)
		}
		shift = d
	}
	w.BaselineStart = w.Start.Add(-shift)
	w.BaselineEnd = w.End.Add(-shift)
	return w, nil
}

// ParseDuration extends time.ParseDuration with days ("1d", "1d12h") and weeks ("1w").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var total time.Duration
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		if i := strings.Index(s, unit.suffix); i > 0 {
			n, err := strconv.ParseFloat(s[:i], 64)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			total += time.Duration(n * float64(unit.d))
			s = s[i+1:]
		}
	}
	if s == "" {
		if total == 0 {
			return 0, fmt.Errorf("bad duration")
		}
		return total, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return total + d, nil
}

// ParseTime accepts RFC 3339 (with or without fractional seconds) and Unix seconds.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 (2026-01-02T15:04:05Z) or Unix seconds")
}
