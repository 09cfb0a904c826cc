package investigate

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// twoStackProfile: 30 in "parse" under "main", 70 in "hash" under "main"; values per sample as given.
func twoStackProfile(parse, hash int64) *profile.Profile {
	return testProfile([]struct {
		stack []string
		v     int64
	}{{[]string{"parse", "main"}, parse}, {[]string{"hash", "main"}, hash}})
}

// TestFocusSharesAreOfTheWholeProfile: go tool pprof -focus=parse shows parse at 30%, not 100%.
func TestFocusSharesAreOfTheWholeProfile(t *testing.T) {
	p := twoStackProfile(30e9, 70e9)
	top, total := TopFunctions(p, TopOptions{Focus: regexp.MustCompile("^parse$")})
	if total != 100e9 {
		t.Fatalf("total %d, want the whole profile's 100s", total)
	}
	fs := CPUHotspots(top, total, "nanoseconds", CPUHotspotOptions{})
	if len(fs) != 1 || fs[0].Evidence["share"] != 0.3 || !strings.Contains(fs[0].Title, "30% of CPU") {
		t.Errorf("findings %+v", fs)
	}
}

// TestDeltaProfileTotalIsAbsolute: a delta (a --diff of two profiles, or a delta endpoint) with a
// shrinking function totals by size, as pprof's computeTotal does.
func TestDeltaProfileTotalIsAbsolute(t *testing.T) {
	_, total := TopFunctions(twoStackProfile(-30, 70), TopOptions{})
	if total != 100 {
		t.Errorf("total %d, want 100 (|−30| + 70)", total)
	}
}

func TestSampleForFollowsTheKind(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_objects"}, {Type: "alloc_space"}, {Type: "inuse_objects"}, {Type: "inuse_space"}}, DefaultSampleType: "alloc_space"}
	for kind, want := range map[string]string{"heap": "inuse_space", "allocs": "alloc_space", "": ""} {
		if got := SampleFor(p, kind, ""); got != want {
			t.Errorf("SampleFor(%q) = %q, want %q", kind, got, want)
		}
	}
	if SampleFor(p, "heap", "alloc_objects") != "alloc_objects" {
		t.Error("--sample was not kept")
	}
	if SampleFor(&profile.Profile{SampleType: []*profile.ValueType{{Type: "samples"}}}, "cpu", "") != "" {
		t.Error("a kind's default the profile lacks was chosen")
	}
}

func TestCPUHotspotsInMicroseconds(t *testing.T) {
	fs := CPUHotspots([]TopEntry{{Function: "f", Flat: 2_500_000, Cum: 2_500_000}}, 5_000_000, "microseconds", CPUHotspotOptions{})
	if len(fs) != 1 || fs[0].Evidence["unit"] != "seconds" || fs[0].Evidence["value"] != 2.5 {
		t.Errorf("findings %+v", fs)
	}
}
