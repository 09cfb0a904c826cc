package investigate

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// VersionChanges finds services whose service.version in the window differs from the baseline's. A new
// version whose requests are worse than the old version's in the same window scores higher: the change
// is then a candidate root cause, not just an event.
func VersionChanges(window, baseline []*TraceReport) []Finding {
	collect := func(reps []*TraceReport) map[string]map[string]*versionStat {
		out := map[string]map[string]*versionStat{}
		for _, r := range reps {
			bad := r.RequestFailed()
			seen := map[[2]string]bool{}
			for _, i := range r.Tree.Order {
				s := r.Tree.Span(i)
				v, ok := s.Attr("service.version")
				if !ok || v == "" || seen[[2]string{s.Service, v}] {
					continue
				}
				seen[[2]string{s.Service, v}] = true
				m := out[s.Service]
				if m == nil {
					m = map[string]*versionStat{}
					out[s.Service] = m
				}
				st := m[v]
				if st == nil {
					st = &versionStat{first: s.Start}
					m[v] = st
				}
				if s.Start.Before(st.first) {
					st.first = s.Start
				}
				st.n++
				if bad {
					st.bad++
				}
				st.traceIDs = append(st.traceIDs, r.TraceID)
			}
		}
		return out
	}
	cur, base := collect(window), collect(baseline)
	// Slowness per version, from the server spans' durations; the baseline's too: when a rollout
	// replaced every instance, the old version no longer runs in the window and is compared as it ran
	// before.
	durByVersion, baseDurByVersion := serverMsByVersion(window), serverMsByVersion(baseline)
	var out []Finding
	services := make([]string, 0, len(cur))
	for s := range cur {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, svc := range services {
		old := base[svc]
		if len(old) == 0 {
			continue // no baseline to compare with
		}
		for v, st := range cur[svc] {
			if _, existed := old[v]; existed {
				continue
			}
			from := mostCommon(old)
			score := 0.4
			ev := map[string]any{"what": "service.version", "from": from, "to": v, "at": st.first.UTC().Format(time.RFC3339Nano), "traces": st.n}
			// Compare with the old version in the same window, when both ran.
			oldDur := durByVersion[[2]string{svc, from}]
			newDur := durByVersion[[2]string{svc, v}]
			if len(oldDur) < 3 && len(newDur) >= 3 {
				// A complete rollout: the old version as it ran in the baseline.
				oldDur = slices.Clone(baseDurByVersion[[2]string{svc, from}])
				ev["old_version_from"] = "baseline"
			}
			if len(oldDur) >= 3 && len(newDur) >= 3 {
				sort.Float64s(oldDur)
				sort.Float64s(newDur)
				o50, n50 := Quantile(oldDur, 0.5), Quantile(newDur, 0.5)
				ev["p50_ms"], ev["baseline_p50_ms"] = round3(n50), round3(o50)
				if o50 > 0 && n50/o50 >= 1.5 {
					score += 0.3
				}
			}
			prev, ok := cur[svc][from]
			if !ok || prev.n == 0 {
				prev, ok = old[from] // a complete rollout: the old version's error ratio in the baseline
			}
			if ok && prev.n > 0 {
				oldBad := float64(prev.bad) / float64(prev.n)
				newBad := float64(st.bad) / float64(st.n)
				ev["error_ratio"], ev["old_version_error_ratio"] = round3(newBad), round3(oldBad)
				if newBad >= 0.05 && newBad >= 2*oldBad {
					score += 0.3
				}
			}
			out = append(out, Finding{
				Kind: KindRecentChange, Service: svc, Operation: "service.version", Score: clamp01(score),
				Title:          fmt.Sprintf("%s runs a new version %s (was %s), first seen %s", svc, v, orDash(from), st.first.UTC().Format("15:04:05")),
				Evidence:       ev,
				TraceIDs:       capStrings(st.traceIDs, 10),
				Recommendation: fmt.Sprintf("If %s's symptom started with %s, roll back to %s, then compare the two versions' traces.", svc, v, orDash(from)),
			})
		}
	}
	return out
}

// serverMsByVersion lists the durations (ms) of the server spans of each service and version.
func serverMsByVersion(reps []*TraceReport) map[[2]string][]float64 {
	out := map[[2]string][]float64{}
	for _, r := range reps {
		for _, i := range r.Tree.Order {
			s := r.Tree.Span(i)
			if v, ok := s.Attr("service.version"); ok && s.Kind == KindServer {
				k := [2]string{s.Service, v}
				out[k] = append(out[k], float64(s.Duration.Microseconds())/1000)
			}
		}
	}
	return out
}

// versionStat counts one version's traces.
type versionStat struct {
	first    time.Time
	n, bad   int
	traceIDs []string
}

func mostCommon(m map[string]*versionStat) string {
	best, bestN := "", -1
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if m[k].n > bestN {
			best, bestN = k, m[k].n
		}
	}
	return best
}

// orDash shows an unknown version as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
