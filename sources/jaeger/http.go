package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/otlp"
)

// Which HTTP API a Jaeger answers: v3 (OTLP JSON, Jaeger ≥ 1.35 and v2) or classic (/api/traces, every
// version). Unknown until the first trace fetch shows it.
const (
	apiUnknown int32 = iota
	apiV3
	apiClassic
)

type httpBackend struct {
	c   *httpx.Client
	api atomic.Int32
}

func (h *httpBackend) close() error { return nil }

// errNoV3 says the v3 route is missing: an older Jaeger, or a proxy that serves the UI for unknown paths.
var errNoV3 = errors.New("no /api/v3 on this Jaeger")

// notHTTP says the port answered, but not in HTTP/1: typically the gRPC query port given as http://.
func (h *httpBackend) notHTTP(err error) error {
	if err != nil && strings.Contains(err.Error(), "malformed HTTP response") {
		return &causeError{msg: fmt.Sprintf("Jaeger at %s does not answer HTTP; is --jaeger-url the query HTTP port (16686)? For the gRPC port (16685) write grpc://", h.c.BaseURL()), err: err}
	}
	return err
}

func (h *httpBackend) trace(ctx context.Context, id string) (*investigate.Trace, error) {
	tr, err := h.traceAny(ctx, id)
	return tr, h.notHTTP(err)
}

func (h *httpBackend) traceAny(ctx context.Context, id string) (*investigate.Trace, error) {
	if h.api.Load() != apiClassic {
		tr, err := h.traceV3(ctx, id)
		if !errors.Is(err, errNoV3) {
			if err == nil {
				h.api.Store(apiV3)
			}
			return tr, err
		}
		h.api.Store(apiClassic)
	}
	return h.traceClassic(ctx, id)
}

func (h *httpBackend) notFound(id string) error { return &NotFoundError{ID: id, URL: h.c.BaseURL()} }

func (h *httpBackend) traceV3(ctx context.Context, id string) (*investigate.Trace, error) {
	path := "/api/v3/traces/" + url.PathEscape(id)
	b, err := h.c.Do(ctx, httpx.Request{Path: path, Header: jsonAccept})
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) && se.Code == 404 {
			if isJaegerError(se.Body) {
				return nil, h.notFound(id)
			}
			return nil, errNoV3
		}
		return nil, err
	}
	if !looksJSON(b) {
		return nil, errNoV3 // the UI's index.html, served for any unknown path
	}
	ts, err := DecodeV3(b)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, h.notFound(id)
		}
		return nil, h.decodeErr(path, b, err)
	}
	return pick(ts, id), nil
}

func (h *httpBackend) traceClassic(ctx context.Context, id string) (*investigate.Trace, error) {
	path := "/api/traces/" + url.PathEscape(id)
	b, err := h.c.Do(ctx, httpx.Request{Path: path, Header: jsonAccept})
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) && se.Code == 404 && isJaegerError(se.Body) {
			return nil, h.notFound(id)
		}
		return nil, err
	}
	ts, err := DecodeClassic(bytes.NewReader(b))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, h.notFound(id)
		}
		return nil, h.decodeErr(path, b, err)
	}
	return pick(ts, id), nil
}

func (h *httpBackend) decodeErr(path string, body []byte, err error) error {
	if httpx.IsHTML(body) {
		return fmt.Errorf("Jaeger at %s answered with an HTML page, not JSON; is --jaeger-url Jaeger's query API (port 16686), not the UI behind a login proxy?", httpx.Redact(h.c.URL(path, nil)))
	}
	return fmt.Errorf("Jaeger at %s: unreadable answer (%w); is this Jaeger's query API (port 16686)?", httpx.Redact(h.c.URL(path, nil)), err)
}

// pick returns the trace with the wanted ID (ignoring leading zeros), or a trace holding every span when
// the answer does not say which is which.
func pick(ts []*investigate.Trace, id string) *investigate.Trace {
	want := strings.TrimLeft(id, "0")
	for _, t := range ts {
		if strings.TrimLeft(strings.ToLower(t.ID), "0") == want {
			return t
		}
	}
	all := &investigate.Trace{ID: id}
	for _, t := range ts {
		all.Spans = append(all.Spans, t.Spans...)
		all.Warnings = append(all.Warnings, t.Warnings...)
	}
	return all
}

var jsonAccept = map[string][]string{"Accept": {"application/json"}}

func looksJSON(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// isJaegerError tells Jaeger's own "not found" (a JSON error document) from a 404 for a missing route.
func isJaegerError(body string) bool {
	return strings.Contains(body, `"httpCode"`) || strings.Contains(body, `"errors"`) || strings.Contains(body, `"error"`)
}

// v3Response is the v3 HTTP gateway's envelope: {"result": <OTLP TracesData>} or {"error": {...}}.
type v3Response struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		HTTPCode int    `json:"httpCode"`
		Message  string `json:"message"`
	} `json:"error"`
}

// DecodeV3 reads an answer of Jaeger's v3 HTTP API (`{"result": {"resourceSpans": [...]}}`) into traces.
// A not-found error document is ErrNotFound.
func DecodeV3(b []byte) ([]*investigate.Trace, error) {
	var r v3Response
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.Error != nil {
		if r.Error.HTTPCode == 404 {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("jaeger error %d: %s", r.Error.HTTPCode, r.Error.Message)
	}
	if len(r.Result) == 0 {
		// Neither "result" nor "error": another JSON document, not "trace not found".
		return nil, errors.New(`not a Jaeger /api/v3 answer (no "result" or "error")`)
	}
	if bytes.Equal(r.Result, []byte("null")) {
		return nil, ErrNotFound
	}
	return otlp.DecodeJSON(r.Result)
}

// search uses the v3 API when it can (it answers several times faster than the classic one, which
// converts every span to the UI model), and the classic API for tag searches, which v3's HTTP gateway
// cannot express, and for Jaegers without v3.
func (h *httpBackend) search(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	ts, err := h.searchAny(ctx, q)
	return ts, h.notHTTP(err)
}

func (h *httpBackend) searchAny(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	if len(q.Tags) == 0 && h.api.Load() != apiClassic {
		ts, err := h.searchV3(ctx, q)
		if !errors.Is(err, errNoV3) {
			return ts, err
		}
		h.api.Store(apiClassic)
	}
	return h.searchClassic(ctx, q)
}

func (h *httpBackend) searchClassic(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	qs := url.Values{}
	qs.Set("service", q.Service)
	if q.Operation != "" {
		qs.Set("operation", q.Operation)
	}
	if !q.Start.IsZero() {
		qs.Set("start", strconv.FormatInt(q.Start.UnixMicro(), 10))
	}
	if !q.End.IsZero() {
		qs.Set("end", strconv.FormatInt(q.End.UnixMicro(), 10))
	}
	if q.MinDuration > 0 {
		qs.Set("minDuration", q.MinDuration.String())
	}
	if q.MaxDuration > 0 {
		qs.Set("maxDuration", q.MaxDuration.String())
	}
	if len(q.Tags) > 0 {
		// The tag map goes as JSON, so no user value is ever spliced into Jaeger's k:v tag syntax.
		tj, err := json.Marshal(q.Tags)
		if err != nil {
			return nil, err
		}
		qs.Set("tags", string(tj))
	}
	qs.Set("limit", strconv.Itoa(q.Limit))
	b, err := h.c.Do(ctx, httpx.Request{Path: "/api/traces", Query: qs, Header: jsonAccept})
	if err != nil {
		return nil, err
	}
	ts, err := DecodeClassic(bytes.NewReader(b))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, h.decodeErr("/api/traces", b, err)
	}
	return ts, nil
}

// searchV3 searches through /api/v3/traces, which cannot match tags. errNoV3 means the route is missing.
func (h *httpBackend) searchV3(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	qs := url.Values{}
	qs.Set("query.service_name", q.Service)
	if q.Operation != "" {
		qs.Set("query.operation_name", q.Operation)
	}
	end := q.End
	if end.IsZero() {
		end = time.Now()
	}
	start := q.Start
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	qs.Set("query.start_time_min", start.UTC().Format(time.RFC3339Nano))
	qs.Set("query.start_time_max", end.UTC().Format(time.RFC3339Nano))
	if q.MinDuration > 0 {
		qs.Set("query.duration_min", q.MinDuration.String())
	}
	if q.MaxDuration > 0 {
		qs.Set("query.duration_max", q.MaxDuration.String())
	}
	qs.Set("query.num_traces", strconv.Itoa(q.Limit))
	b, err := h.c.Do(ctx, httpx.Request{Path: "/api/v3/traces", Query: qs, Header: jsonAccept})
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) && se.Code == 404 {
			if isJaegerError(se.Body) {
				return nil, nil // "No traces found"
			}
			return nil, errNoV3
		}
		return nil, err
	}
	if !looksJSON(b) {
		return nil, errNoV3
	}
	ts, err := DecodeV3(b)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, h.decodeErr("/api/v3/traces", b, err)
	}
	return ts, nil
}

// listResponse is the classic API's answer for services and operations: {"data": ["a", "b"]}.
type listResponse struct {
	Data []string `json:"data"`
}

// v3Services and v3Operations are the v3 API's answers.
type v3Services struct {
	Services []string `json:"services"`
}

type v3Operations struct {
	Operations []struct {
		Name string `json:"name"`
	} `json:"operations"`
}

func (h *httpBackend) services(ctx context.Context) ([]string, error) {
	s, err := h.servicesAny(ctx)
	return s, h.notHTTP(err)
}

func (h *httpBackend) servicesAny(ctx context.Context) ([]string, error) {
	if h.api.Load() != apiClassic {
		b, err := h.c.Do(ctx, httpx.Request{Path: "/api/v3/services", Header: jsonAccept})
		if err == nil && looksJSON(b) {
			var r v3Services
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, h.decodeErr("/api/v3/services", b, err)
			}
			return sorted(r.Services), nil
		}
		var se *httpx.StatusError
		if err != nil && !(errors.As(err, &se) && se.Code == 404) {
			return nil, err
		}
	}
	b, err := h.c.Do(ctx, httpx.Request{Path: "/api/services", Header: jsonAccept})
	if err != nil {
		return nil, err
	}
	var r listResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, h.decodeErr("/api/services", b, err)
	}
	return sorted(r.Data), nil
}

func (h *httpBackend) operations(ctx context.Context, service string) ([]string, error) {
	// The classic path carries the service as a path segment; escape it so a name cannot change the path.
	path := "/api/services/" + url.PathEscape(service) + "/operations"
	b, err := h.c.Do(ctx, httpx.Request{Path: path, Header: jsonAccept})
	if err == nil {
		var r listResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, h.decodeErr(path, b, err)
		}
		return sorted(r.Data), nil
	}
	b, err2 := h.c.Do(ctx, httpx.Request{Path: "/api/v3/operations", Query: url.Values{"service": {service}}, Header: jsonAccept})
	if err2 != nil {
		return nil, err
	}
	var r v3Operations
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, h.decodeErr("/api/v3/operations", b, err)
	}
	out := make([]string, 0, len(r.Operations))
	for _, o := range r.Operations {
		out = append(out, o.Name)
	}
	return sorted(out), nil
}

// sorted is the distinct names of s in order (never nil).
func sorted(s []string) []string {
	out := investigate.Distinct(s)
	sort.Strings(out)
	return out
}
