package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// TestSelectTracesNormalisesIDs: a short ID finds its zero-padded form, and a 32-digit ID finds the same
// trace written in 16 digits (and the other way round).
func TestSelectTracesNormalisesIDs(t *testing.T) {
	all := []*investigate.Trace{{ID: "0000000000000011"}, {ID: "00000000000000001234567890abcdef"}, {ID: "4bf92f3577b34da6a3ce929d0e0e4736"}}
	cases := map[string]string{
		"11":                                "0000000000000011",
		"00000000000000000000000000000011":  "0000000000000011",
		"1234567890ABCDEF":                  "00000000000000001234567890abcdef",
		" 4BF92F3577B34DA6A3CE929D0E0E4736": "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	for in, want := range cases {
		got, err := selectTraces(all, []string{in}, "f.json")
		if err != nil || len(got) != 1 || got[0].ID != want {
			t.Errorf("%q: got %v %v, want %s", in, got, err, want)
		}
	}
	if _, err := selectTraces(all, []string{"12"}, "f.json"); err == nil {
		t.Error("an unknown ID was found")
	}
}

// TestTraceDetectorThresholdsFromConfig: the span detectors' thresholds are tunable in the config file.
func TestTraceDetectorThresholdsFromConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("trace-detectors:\n  consecutive_http:\n    min_span: 300ms\n    min_count: 4\n  slow_db_query.min: 1s\n"), 0o644)
	s, err := settingsFor(t, nil, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, err := traceAnalysisOptions(s)
	if err != nil {
		t.Fatal(err)
	}
	if o.Detectors.HTTPMinSpan != 300*time.Millisecond || o.Detectors.HTTPMinCount != 4 || o.Detectors.SlowQueryMin != time.Second {
		t.Errorf("detectors %+v", o.Detectors)
	}
	os.WriteFile(cfg, []byte("trace-detectors:\n  consecutive_http:\n    min_spam: 300ms\n"), 0o644)
	s, _ = settingsFor(t, nil, "--config", cfg)
	if _, err := traceAnalysisOptions(s); err == nil || !strings.Contains(err.Error(), "consecutive_http.min_spam") {
		t.Errorf("a misspelt threshold: %v", err)
	}
}
