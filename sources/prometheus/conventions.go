package prometheus

import (
	"fmt"
	"regexp"
	"strings"
)

// Convention says how a family of instrumentation names its request metrics: which histogram holds the
// durations, which counter the requests, which label the route, the status and the service.
type Convention struct {
	Name string
	// Histogram is the duration histogram's name without _bucket.
	Histogram string
	// MsPerUnit converts the histogram's unit to milliseconds: 1000 for seconds, 1 for milliseconds.
	MsPerUnit float64
	// Counter counts requests with a status label; empty: the histogram's _count.
	Counter string
	// StatusLabel holds the response status on Counter.
	StatusLabel string
	// ErrorRegex matches the StatusLabel values that are server-side failures ("5..").
	ErrorRegex string
	// RouteLabels are candidate route labels, first present wins; "a+b" groups by both and shows "a/b".
	RouteLabels []string
	// ServiceLabels are candidate service labels, first present wins.
	ServiceLabels []string
	// Selector holds extra PromQL matchers every request query gets (Istio: reporter="destination").
	Selector string
	// Override is true for a convention from the config file, so errors point there.
	Override bool
	// Edge marks a proxy's view of the services behind it (a mesh, an ingress): a service's own
	// metrics are preferred for it.
	Edge bool
}

var (
	// endpoint comes last: the Prometheus operator puts the scrape port's name in it.
	httpRoutes   = []string{"route", "http_route", "handler", "path", "uri", "endpoint"}
	httpServices = []string{"service", "service_name", "app", "application", "job"}
	otelServices = []string{"service_name", "service", "job"}
	grpcErrors   = "Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"
)

// Conventions are the built-in request-metric conventions, in the order discovery tries them.
var Conventions = []Convention{
	{Name: "prometheus-http", Histogram: "http_request_duration_seconds", MsPerUnit: 1000, Counter: "http_requests_total",
		StatusLabel: "code", ErrorRegex: "5..", RouteLabels: httpRoutes, ServiceLabels: httpServices},
	{Name: "opentelemetry-http", Histogram: "http_server_request_duration_seconds", MsPerUnit: 1000,
		StatusLabel: "http_response_status_code", ErrorRegex: "5..", RouteLabels: []string{"http_route"}, ServiceLabels: otelServices},
	{Name: "opentelemetry-http-ms", Histogram: "http_server_request_duration_milliseconds", MsPerUnit: 1,
		StatusLabel: "http_response_status_code", ErrorRegex: "5..", RouteLabels: []string{"http_route"}, ServiceLabels: otelServices},
	{Name: "opentelemetry-http-utf8", Histogram: "http.server.request.duration_seconds", MsPerUnit: 1000,
		StatusLabel: "http.response.status_code", ErrorRegex: "5..", RouteLabels: []string{"http.route"},
		ServiceLabels: append([]string{"service.name"}, otelServices...)},
	{Name: "opentelemetry-http-utf8-nosuffix", Histogram: "http.server.request.duration", MsPerUnit: 1000,
		StatusLabel: "http.response.status_code", ErrorRegex: "5..", RouteLabels: []string{"http.route"},
		ServiceLabels: append([]string{"service.name"}, otelServices...)},
	{Name: "grpc", Histogram: "grpc_server_handling_seconds", MsPerUnit: 1000, Counter: "grpc_server_handled_total",
		StatusLabel: "grpc_code", ErrorRegex: grpcErrors, RouteLabels: []string{"grpc_service+grpc_method", "grpc_method"},
		ServiceLabels: []string{"service", "app", "job"}},
	{Name: "istio", Histogram: "istio_request_duration_milliseconds", MsPerUnit: 1, Counter: "istio_requests_total",
		StatusLabel: "response_code", ErrorRegex: "5..", RouteLabels: []string{"request_operation", "destination_service_name"},
		ServiceLabels: []string{"destination_workload", "destination_app", "destination_service_name"},
		Selector:      `reporter="destination"`, Edge: true},
}

// CounterName is the metric the request and error rates come from.
func (c Convention) CounterName() string {
	if c.Counter != "" {
		return c.Counter
	}
	return c.Histogram + "_count"
}

// ParseOverride reads the prometheus-convention config map: name, histogram, unit (seconds or
// milliseconds), counter, status-label, error-regex, route-labels, service-labels, selector.
func ParseOverride(m map[string]any) (*Convention, error) {
	if len(m) == 0 {
		return nil, nil
	}
	c := &Convention{Name: "config", MsPerUnit: 1000, ErrorRegex: "5..", Override: true}
	str := func(k string) string {
		if v, ok := m[k]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		return ""
	}
	list := func(k string) []string {
		switch v := m[k].(type) {
		case []any:
			out := make([]string, 0, len(v))
			for _, x := range v {
				out = append(out, fmt.Sprint(x))
			}
			return out
		case string:
			return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
		}
		return nil
	}
	known := map[string]bool{"name": true, "histogram": true, "unit": true, "counter": true, "status-label": true,
		"error-regex": true, "route-labels": true, "service-labels": true, "selector": true}
	for k := range m {
		if !known[k] {
			return nil, fmt.Errorf("prometheus-convention: unknown key %q (want name, histogram, unit, counter, status-label, error-regex, route-labels, service-labels, selector)", k)
		}
	}
	if n := str("name"); n != "" {
		c.Name = n
	}
	c.Histogram = strings.TrimSuffix(str("histogram"), "_bucket")
	switch u := str("unit"); u {
	case "", "s", "seconds":
	case "ms", "milliseconds":
		c.MsPerUnit = 1
	default:
		return nil, fmt.Errorf("prometheus-convention: unit %q: want seconds or milliseconds", u)
	}
	c.Counter = str("counter")
	c.StatusLabel = str("status-label")
	if r := str("error-regex"); r != "" {
		if _, err := regexp.Compile(r); err != nil {
			return nil, fmt.Errorf("prometheus-convention: error-regex %q: %v", r, err)
		}
		c.ErrorRegex = r
	}
	c.RouteLabels = list("route-labels")
	c.ServiceLabels = list("service-labels")
	c.Selector = str("selector")
	if c.Histogram == "" && c.Counter == "" {
		return nil, fmt.Errorf("prometheus-convention: set histogram or counter")
	}
	if len(c.RouteLabels) == 0 {
		c.RouteLabels = httpRoutes
	}
	if len(c.ServiceLabels) == 0 {
		c.ServiceLabels = httpServices
	}
	if c.StatusLabel == "" {
		c.StatusLabel = "code"
	}
	return c, nil
}
