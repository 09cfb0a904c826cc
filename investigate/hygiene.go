package investigate

import "strings"

// DefaultHousekeeping are the endpoints whose requests are not user traffic: health, readiness and
// liveness checks, metrics scrapes and the gRPC health service. A scrape of /metrics becomes a one-span
// trace that is fast, frequent and unlike every real request; in a sample it dilutes averages and gives
// every refutation check a false "others". A pattern ending in * is a prefix, else the path must match
// exactly (a query string is ignored).
var DefaultHousekeeping = []string{"/health*", "/healthz", "/ready*", "/live*", "/metrics", "grpc.health.v1.Health/*"}

// IsHousekeeping reports whether a trace's root request is one of the housekeeping endpoints.
func IsHousekeeping(tr *Trace, patterns []string) bool {
	if tr == nil || len(tr.Spans) == 0 || len(patterns) == 0 {
		return false
	}
	root := &tr.Spans[0]
	for i := range tr.Spans {
		if tr.Spans[i].ParentID == "" {
			root = &tr.Spans[i]
			break
		}
	}
	for _, c := range []string{RouteOf(root), root.Attrs.First("url.path", "http.target"), root.Operation} {
		if matchHousekeeping(c, patterns) {
			return true
		}
	}
	return false
}

func matchHousekeeping(s string, patterns []string) bool {
	if s == "" {
		return false
	}
	if _, p, ok := strings.Cut(s, " "); ok && !strings.Contains(p, " ") { // "GET /healthz"
		s = p
	}
	s, _, _ = strings.Cut(s, "?")
	for _, p := range patterns {
		if pre, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(s, pre) {
				return true
			}
		} else if s == p {
			return true
		}
	}
	return false
}

// WithoutHousekeeping drops the housekeeping traces and returns how many it dropped. When every trace
// is one, it keeps them all (the investigation is about that endpoint) and drops none.
func WithoutHousekeeping(ts []*Trace, patterns []string) ([]*Trace, int) {
	out := ts[:0:0]
	for _, t := range ts {
		if !IsHousekeeping(t, patterns) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return ts, 0
	}
	return out, len(ts) - len(out)
}
