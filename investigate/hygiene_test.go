package investigate_test

import (
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

func rootTrace(op string, attrs ...string) *investigate.Trace {
	var a investigate.Attrs
	for i := 0; i+1 < len(attrs); i += 2 {
		a = append(a, investigate.Attr{Key: attrs[i], Value: attrs[i+1]})
	}
	return &investigate.Trace{ID: op, Spans: []investigate.Span{{SpanID: "r", Service: "s", Operation: op, Attrs: a}}}
}

// TestHousekeepingExcluded: health, readiness, liveness, metrics and gRPC health requests are not user
// traffic and leave the sample; routes that merely start alike stay.
func TestHousekeepingExcluded(t *testing.T) {
	cases := []struct {
		tr   *investigate.Trace
		want bool
	}{
		{rootTrace("GET /metrics"), true},
		{rootTrace("/healthz"), true},
		{rootTrace("GET", "http.route", "/health/live", "http.request.method", "GET"), true},
		{rootTrace("HTTP GET", "url.path", "/readyz"), true},
		{rootTrace("GET /livez?verbose=1"), true},
		{rootTrace("grpc.health.v1.Health/Check"), true},
		{rootTrace("Check", "rpc.service", "grpc.health.v1.Health", "rpc.method", "Check"), true},
		{rootTrace("GET /metrics/export"), false},
		{rootTrace("GET /dispatch"), false},
		{rootTrace("GET /api/healthcare"), false},
		{rootTrace("SQL SELECT"), false},
	}
	for _, c := range cases {
		if got := investigate.IsHousekeeping(c.tr, investigate.DefaultHousekeeping); got != c.want {
			t.Errorf("%s %v: %v, want %v", c.tr.Spans[0].Operation, c.tr.Spans[0].Attrs, got, c.want)
		}
	}
	all := []*investigate.Trace{rootTrace("GET /metrics"), rootTrace("GET /dispatch"), rootTrace("/healthz")}
	if out, n := investigate.WithoutHousekeeping(all, investigate.DefaultHousekeeping); len(out) != 1 || n != 2 {
		t.Errorf("kept %d, dropped %d; want 1 and 2", len(out), n)
	}
	only := []*investigate.Trace{rootTrace("GET /metrics"), rootTrace("/healthz")}
	if out, n := investigate.WithoutHousekeeping(only, investigate.DefaultHousekeeping); len(out) != 2 || n != 0 {
		t.Errorf("only housekeeping: kept %d, dropped %d; want all kept (the investigation is about them)", len(out), n)
	}
	if out, n := investigate.WithoutHousekeeping(all, nil); len(out) != 3 || n != 0 {
		t.Errorf("no patterns: kept %d, dropped %d", len(out), n)
	}
}
