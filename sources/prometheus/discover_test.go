package prometheus

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// matches applies a PromQL =~ matcher the way Prometheus does: the regex anchored at both ends.
func matches(t *testing.T, matcher, value string) bool {
	t.Helper()
	_, lit, ok := strings.Cut(matcher, "=~")
	if !ok {
		t.Fatalf("not a regex matcher: %s", matcher)
	}
	re, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("%s: %v", matcher, err)
	}
	return regexp.MustCompile("^(?:" + re + ")$").MatchString(value)
}

// TestErrorMatcher: failures in every form services write them match; successes and client errors
// do not.
func TestErrorMatcher(t *testing.T) {
	for _, tc := range []struct {
		label      string
		fail, okay []string
	}{
		{"code", []string{"500", "503", "5xx", "5XX"}, []string{"200", "404", "4xx", "2xx", "OK"}},
		{"status", []string{"500", "error", "ERROR", "SERVER_ERROR", "failure", "failed", "Unavailable", "DEADLINE_EXCEEDED"},
			[]string{"200", "ok", "success", "SUCCESS", "CLIENT_ERROR", "NotFound", "499"}},
		{"status_code", []string{"5xx", "502", "STATUS_CODE_ERROR"}, []string{"2xx", "3xx", "4xx", "STATUS_CODE_OK", "STATUS_CODE_UNSET"}},
		{"outcome", []string{"SERVER_ERROR"}, []string{"SUCCESS", "CLIENT_ERROR", "REDIRECTION", "UNKNOWN"}},
		{"classification", []string{"failure"}, []string{"success"}},
		{"error", []string{"true", "True", "1"}, []string{"false", "0", ""}},
		{"grpc_code", []string{"Unavailable", "Internal", "DeadlineExceeded", "DataLoss", "Unknown", "Unimplemented"},
			[]string{"OK", "NotFound", "InvalidArgument", "Canceled", "PermissionDenied", "ResourceExhausted"}},
		{"rpc_grpc_status_code", []string{"14", "13", "2", "4", "12", "15", "UNAVAILABLE"}, []string{"0", "5", "3", "1", "16"}},
	} {
		m := ErrorMatcher(tc.label)
		for _, v := range tc.fail {
			if !matches(t, m, v) {
				t.Errorf("%s: %q is a failure but %s does not match it", tc.label, v, m)
			}
		}
		for _, v := range tc.okay {
			if matches(t, m, v) {
				t.Errorf("%s: %q is no server failure but %s matches it", tc.label, v, m)
			}
		}
	}
}

func TestUnits(t *testing.T) {
	for _, tc := range []struct {
		name, meta, unit string
		ms               float64
		ok               bool
	}{
		{"http_server_requests_seconds", "", "seconds", 1000, true},
		{"response_latency_ms", "", "milliseconds", 1, true},
		{"rpc_latency_milliseconds", "", "milliseconds", 1, true},
		{"db_call_microseconds", "", "microseconds", 0.001, true},
		{"cart_request_latency", "seconds", "seconds", 1000, true},
		{"cart_request_latency", "", "", 0, false},
	} {
		unit, ms, _, ok := unitOf(tc.name, tc.meta)
		if unit != tc.unit || ms != tc.ms || ok != tc.ok {
			t.Errorf("unitOf(%s, %q) = %s %g %v", tc.name, tc.meta, unit, ms, ok)
		}
	}
	for _, tc := range []struct {
		les  []string
		unit string
	}{
		{[]string{"0.005", "0.1", "10", "+Inf"}, "seconds"},
		{[]string{"5", "50", "500", "10000", "+Inf"}, "milliseconds"},
		{[]string{"100", "10000", "5e+06", "+Inf"}, "microseconds"},
		{[]string{"+Inf"}, "seconds"},
	} {
		if unit, _, from := unitFromBounds(tc.les); unit != tc.unit || from == "" {
			t.Errorf("unitFromBounds(%v) = %s (%s), want %s", tc.les, unit, from, tc.unit)
		}
	}
}

func TestServiceNameAndQuantiles(t *testing.T) {
	for _, tc := range [][3]string{{"job", "prod/cart", "cart"}, {"service", "edge@file", "edge"}, {"service", "default-web-80@kubernetes", "default-web-80"},
		{"app", "a/b", "a/b"}, {"job", "cart", "cart"}} {
		if got := serviceName(tc[0], tc[1]); got != tc[2] {
			t.Errorf("serviceName(%s, %s) = %s, want %s", tc[0], tc[1], got, tc[2])
		}
	}
	if q := pickQuantiles([]string{"0.5", "0.9", "0.99", "0.999"}); q != [2]string{"0.99", "0.5"} {
		t.Errorf("quantiles = %v", q)
	}
	if q := pickQuantiles([]string{"0.75", "0.95"}); q != [2]string{"0.95", ""} {
		t.Errorf("quantiles = %v", q)
	}
}

// TestCandidatesByShape: which names become candidates, from names alone and from metadata.
func TestCandidatesByShape(t *testing.T) {
	names := []string{
		"http_server_requests_seconds_bucket", "http_server_requests_seconds_count", "http_server_requests_seconds_sum",
		"http_client_requests_seconds_bucket", "http_client_requests_seconds_count", // the client side
		"http_request_size_bytes_bucket", "http_request_size_bytes_count", // a size, not a duration
		"prometheus_http_request_duration_seconds_bucket", "prometheus_http_request_duration_seconds_count", // the monitoring itself
		"work_queue_seconds_bucket", "work_queue_seconds_count", // no request word
		"rpc_latency", "rpc_latency_count", "rpc_latency_sum", // a summary
		"nginx_ingress_controller_requests", "shop_http_errors_total", "checkout_http_served",
	}
	meta := map[string][]v1.Metadata{"checkout_http_served": {{Type: v1.MetricTypeCounter}}}
	got := map[string]bool{}
	for _, c := range findCandidates(names, meta, Conventions) {
		got[c.role+" "+c.metric] = true
	}
	for _, want := range []string{"latency http_server_requests_seconds_bucket", "requests http_server_requests_seconds_count",
		"latency rpc_latency", "requests rpc_latency_count", "requests nginx_ingress_controller_requests", "requests checkout_http_served"} {
		if !got[want] {
			t.Errorf("no candidate %s in %v", want, got)
		}
	}
	for _, not := range []string{"latency http_client_requests_seconds_bucket", "latency http_request_size_bytes_bucket",
		"latency prometheus_http_request_duration_seconds_bucket", "latency work_queue_seconds_bucket", "requests shop_http_errors_total"} {
		if got[not] {
			t.Errorf("%s is a candidate: %v", not, got)
		}
	}
}

// TestResolveShape: the route, identity and status labels of a family found by shape, the configured
// service label first, and a family without the shape of request metrics rejected.
func TestResolveShape(t *testing.T) {
	c := &candidate{exact: 99, base: "cart_request_latency", kind: "histogram", role: "latency", metric: "cart_request_latency_bucket",
		probe: "cart_request_latency_count", labels: []string{"endpoint", "job", "team_service", "status_code", "instance"}}
	u := c.resolve("")
	if u == nil || u.ServiceLabel != "job" || len(u.Route) != 1 || u.Route[0] != "endpoint" || u.StatusLabel != "status_code" {
		t.Fatalf("use = %+v", u)
	}
	if u = c.resolve("team_service"); u.ServiceLabel != "team_service" {
		t.Errorf("configured service label not used first: %+v", u)
	}
	mesh := &candidate{exact: 99, base: "response_latency_ms", kind: "histogram", role: "latency", metric: "response_latency_ms_bucket",
		probe: "response_latency_ms_count", labels: []string{"deployment", "direction", "status_code", "job"}}
	if u = mesh.resolve(""); u == nil || u.Selector != `direction="inbound"` || u.ServiceLabel != "deployment" || !u.rank.edge {
		t.Errorf("mesh use = %+v", u)
	}
	bare := &candidate{exact: 99, base: "work_duration_seconds", kind: "histogram", role: "latency", metric: "work_duration_seconds_bucket",
		probe: "work_duration_seconds_count", labels: []string{"job", "queue"}}
	if u = bare.resolve(""); u != nil {
		t.Errorf("a histogram without route or status is a request metric: %+v", u)
	}
}

// FuzzShape feeds arbitrary metric names, label names and values from a server to the candidate
// search, the shape check and the identity: no panic, and every PromQL literal built stays quoted.
func FuzzShape(f *testing.F) {
	f.Add("a_bucket\na_count\nb_total\nc\nc_count\nc_sum", "le\nroute\njob\ncode", "prod/x@y")
	f.Add("x_requests\n\xff_bucket", "direction\nspan_kind\nstatus", `"}) or vector(1)`)
	f.Fuzz(func(t *testing.T, names, labels, value string) {
		cands := findCandidates(strings.Split(names, "\n"), nil, Conventions)
		for _, c := range cands {
			c.labels = strings.Split(labels, "\n")
			u := c.resolve("")
			if u == nil {
				continue
			}
			u.raw = map[string]map[string]bool{}
			s := serviceName(u.ServiceLabel, value)
			u.raw[s] = map[string]bool{value: true}
			u.Services = []string{s}
			p := planFor(u, s)
			for _, m := range p.matchers {
				if strings.Count(m, `"`)-strings.Count(m, `\"`) < 2 {
					t.Fatalf("matcher %q is not a quoted literal", m)
				}
			}
		}
	})
}
