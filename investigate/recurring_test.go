package investigate_test

import (
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// TestMaterialQueryChange: a statement is this incident's only when new, called more, or slower at p99 by
// a material margin — a few milliseconds over a small sample is noise.
func TestMaterialQueryChange(t *testing.T) {
	cases := []struct {
		ev   map[string]any
		want bool
	}{
		{map[string]any{"change": "new"}, true},
		{map[string]any{"change": "more_calls"}, true},
		{map[string]any{"change": "slower", "p99_ms": 15.7, "baseline_p99_ms": 10.2}, false},
		{map[string]any{"change": "slower", "p99_ms": 480.0, "baseline_p99_ms": 6.0}, true},
		{map[string]any{"change": "faster", "p99_ms": 4.0, "baseline_p99_ms": 40.0}, false},
		{map[string]any{"change": ""}, false},
		{map[string]any{}, false},
	}
	for _, c := range cases {
		if got := investigate.MaterialQueryChange(c.ev); got != c.want {
			t.Errorf("%v: %v, want %v", c.ev, got, c.want)
		}
	}
}
