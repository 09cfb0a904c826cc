// Package prometheus reads metrics from Prometheus (and the backends that speak its HTTP API: Thanos,
// Mimir, VictoriaMetrics) through client_golang's v1 API, with dbg's shared HTTP setup (auth, retries,
// size limit, redacted errors). It turns answers into investigate types and builds the PromQL of
// `dbg hotspots`; ranking is investigate's job.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// Source is one Prometheus-API endpoint.
type Source struct {
	api     v1.API
	base    string // redacted base URL, for errors and graph links
	name    string
	timeout time.Duration
}

// New builds a source over the endpoint's settings (URL, token or basic auth, CA file, headers, timeout).
func New(ep httpx.Endpoint) (*Source, error) {
	if ep.Name == "" {
		ep.Name = "Prometheus"
	}
	if ep.Flag == "" {
		ep.Flag = "--prometheus-url"
	}
	hc, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(api.Config{Address: hc.BaseURL(), RoundTripper: hc.RoundTripper()})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ep.Name, err)
	}
	return &Source{api: v1.NewAPI(c), base: strings.TrimRight(hc.BaseURL(), "/"), name: ep.Name, timeout: hc.Endpoint().Timeout}, nil
}

// BaseURL is the endpoint without credentials.
func (s *Source) BaseURL() string { return s.base }

// QueryError is a query the server refused or could not run. It names the server and the query and
// says what to check.
type QueryError struct {
	Backend string
	URL     string
	Query   string
	Type    string // the API's error type: bad_data, execution, timeout, ...
	Msg     string
	// Hint is what to check next, set by the caller that knows where the query came from.
	Hint string
}

func (e *QueryError) Error() string {
	q := e.Query
	if len(q) > 160 {
		q = q[:160] + "…"
	}
	msg := fmt.Sprintf("%s at %s could not run %s: %s", e.Backend, e.URL, q, e.Msg)
	hint := e.Hint
	switch {
	case hint != "":
	case strings.Contains(e.Msg, "too many samples"):
		hint = "the query is over the server's --query.max-samples; use a shorter --since or --service"
	case e.Type == string(v1.ErrBadData):
		hint = "the PromQL is not valid for this server"
	case e.Type == string(v1.ErrTimeout):
		hint = "the server's query timeout ran out; use a shorter --since or --service"
	}
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// IsBadQuery reports whether err says the server rejected a query as invalid PromQL.
func IsBadQuery(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe) && qe.Type == string(v1.ErrBadData)
}

// wrap turns client_golang's errors into one line naming the server, the query and what to check.
func (s *Source) wrap(query string, err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) { // our RoundTripper's error is already redacted and explained
		err = ue.Err
	}
	var ae *v1.Error
	if errors.As(err, &ae) {
		switch ae.Type {
		case v1.ErrClient, v1.ErrServer:
			detail := strings.Join(strings.Fields(ae.Detail), " ")
			if len(detail) > 200 {
				detail = detail[:200] + "…"
			}
			code := ae.Msg[strings.LastIndex(ae.Msg, " ")+1:] // "client error: 404"
			msg := fmt.Sprintf("%s at %s answered HTTP %s", s.name, s.base, code)
			if detail != "" {
				msg += ": " + detail
			}
			switch {
			case code == "401" || code == "403":
				msg += " (check the token or username/password in the config or DBG_* environment)"
			case code == "404":
				msg += " (check --prometheus-url and its path prefix)"
			}
			return errors.New(msg)
		case v1.ErrBadResponse:
			msg, _ := decodeFailure(errors.New(ae.Msg))
			if msg == "" {
				msg = ae.Msg
			}
			if strings.Contains(ae.Msg, "found <") {
				msg = "an HTML page, not the API's JSON"
			}
			return fmt.Errorf("%s at %s: unexpected answer (%s); is %s a Prometheus API endpoint?", s.name, s.base, msg, s.base)
		case v1.ErrCanceled:
			return fmt.Errorf("%s at %s: cancelled", s.name, s.base)
		}
		return &QueryError{Backend: s.name, URL: s.base, Query: query, Type: string(ae.Type), Msg: ae.Msg}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s at %s: no answer within the timeout for %s; raise --timeout or narrow the query: %w", s.name, s.base, query, err)
	}
	if msg, ok := decodeFailure(err); ok {
		return fmt.Errorf("%s at %s: unexpected answer, not the Prometheus API's JSON (%s); is %s a Prometheus API endpoint?", s.name, s.base, msg, s.base)
	}
	if strings.Contains(err.Error(), s.name) {
		return err
	}
	return fmt.Errorf("%s at %s: %w", s.name, s.base, err)
}

// decodeFailure recognises client_golang's errors for a 200 answer that is not the API's JSON (another
// service, a wrong path) and returns their short form: jsoniter appends a dump of the body.
func decodeFailure(err error) (string, bool) {
	msg := err.Error()
	for _, marker := range []string{"decode slice", "ReadObject", "readObjectStart", "invalid character", "unknown value type", "expect "} {
		if strings.Contains(msg, marker) {
			if i := strings.Index(msg, "|..."); i >= 0 {
				msg = msg[:i]
			}
			if i := strings.Index(msg, ", error found"); i >= 0 {
				msg = msg[:i]
			}
			if r := []rune(msg); len(r) > 120 {
				msg = string(r[:120]) + "…"
			}
			return msg, true
		}
	}
	return "", false
}

func (s *Source) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout > 0 {
		return context.WithTimeout(ctx, s.timeout)
	}
	return context.WithCancel(ctx)
}

// Query runs an instant query at t and returns its samples and the server's warnings. A scalar answer
// is one sample without labels.
func (s *Source) Query(ctx context.Context, query string, t time.Time) ([]investigate.Sample, []string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, warns, err := s.api.Query(ctx, query, t)
	if err != nil {
		return nil, warns, s.wrap(query, err)
	}
	var out []investigate.Sample
	switch v := v.(type) {
	case model.Vector:
		out = make([]investigate.Sample, 0, len(v))
		for _, smp := range v {
			out = append(out, investigate.Sample{Labels: labels(smp.Metric), Value: float64(smp.Value)})
		}
	case *model.Scalar:
		out = []investigate.Sample{{Labels: map[string]string{}, Value: float64(v.Value)}}
	case model.Matrix:
		for _, ss := range v {
			if n := len(ss.Values); n > 0 {
				out = append(out, investigate.Sample{Labels: labels(ss.Metric), Value: float64(ss.Values[n-1].Value)})
			}
		}
	}
	return out, warns, nil
}

// QueryRange runs a range query and returns its series.
func (s *Source) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]investigate.Series, []string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, warns, err := s.api.QueryRange(ctx, query, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		return nil, warns, s.wrap(query, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, warns, fmt.Errorf("%s at %s: range query %s answered a %s, not a matrix", s.name, s.base, query, v.Type())
	}
	out := make([]investigate.Series, 0, len(m))
	for _, ss := range m {
		pts := make([]investigate.Point, len(ss.Values))
		for i, p := range ss.Values {
			pts[i] = investigate.Point{T: p.Timestamp.Time().UTC(), V: float64(p.Value)}
		}
		out = append(out, investigate.Series{Labels: labels(ss.Metric), Points: pts})
	}
	return out, warns, nil
}

// LabelNames lists the label names of the series matching any of matches in [start, end].
func (s *Source) LabelNames(ctx context.Context, matches []string, start, end time.Time) ([]string, []string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	names, warns, err := s.api.LabelNames(ctx, matches, start, end)
	if err != nil {
		return nil, warns, s.wrap("label names of "+strings.Join(matches, " or "), err)
	}
	return names, warns, nil
}

// LabelValues lists the values of label over the series matching any of matches in [start, end].
func (s *Source) LabelValues(ctx context.Context, label string, matches []string, start, end time.Time) ([]string, []string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	vals, warns, err := s.api.LabelValues(ctx, label, matches, start, end)
	if err != nil {
		return nil, warns, s.wrap("values of "+label+" in "+strings.Join(matches, " or "), err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	sort.Strings(out)
	return out, warns, nil
}

// Series lists the label sets of the series matching any of matches in [start, end].
func (s *Source) Series(ctx context.Context, matches []string, start, end time.Time) ([]map[string]string, []string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	sets, warns, err := s.api.Series(ctx, matches, start, end)
	if err != nil {
		return nil, warns, s.wrap("series "+strings.Join(matches, " or "), err)
	}
	out := make([]map[string]string, len(sets))
	for i, ls := range sets {
		out[i] = labels(model.Metric(ls))
	}
	return out, warns, nil
}

// Metadata is the server's metric metadata (type, help, unit per family), where it serves it:
// Prometheus keeps it for the targets it scrapes, so history loaded from blocks has none.
func (s *Source) Metadata(ctx context.Context) (map[string][]v1.Metadata, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	m, err := s.api.Metadata(ctx, "", "")
	if err != nil {
		return nil, s.wrap("metadata", err)
	}
	return m, nil
}

// Check runs a trivial query, for `dbg doctor`.
func (s *Source) Check(ctx context.Context) error {
	_, _, err := s.Query(ctx, "vector(1)", time.Time{})
	return err
}

// GraphLink is the Prometheus UI link that graphs query over [start, end].
func (s *Source) GraphLink(query string, start, end time.Time) string {
	q := url.Values{}
	q.Set("g0.expr", query)
	q.Set("g0.tab", "0")
	q.Set("g0.range_input", model.Duration(end.Sub(start).Round(time.Second)).String())
	q.Set("g0.end_input", end.UTC().Format("2006-01-02 15:04:05"))
	return s.base + "/graph?" + q.Encode()
}

func labels(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}
