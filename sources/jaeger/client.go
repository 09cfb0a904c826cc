package jaeger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// NotFoundError says a trace ID is unknown to the Jaeger that was asked. It wraps ErrNotFound.
type NotFoundError struct {
	ID  string
	URL string // redacted
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("trace %s not found in Jaeger at %s (check the ID and that the trace is still retained)", e.ID, e.URL)
}

// Unwrap makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// backend is one of Jaeger's query APIs. Every method takes the caller's context and returns errors that
// name the URL but no credential.
type backend interface {
	trace(ctx context.Context, id string) (*investigate.Trace, error)
	search(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error)
	services(ctx context.Context) ([]string, error)
	operations(ctx context.Context, service string) ([]string, error)
	close() error
}

// Client reads traces from a Jaeger query service over its HTTP API (http://, https://) or its gRPC API
// (grpc://, grpcs://). It is safe for concurrent use.
type Client struct {
	b   backend
	url string
	// secrets are scrubbed from every error, in case a server or proxy echoes a credential back.
	secrets []string
	// Concurrency bounds the trace fetches Traces runs at once; 0 means 8.
	Concurrency int
}

// DefaultConcurrency is how many traces Traces fetches at once unless told otherwise: enough to hide
// round trips, few enough not to burden a query service that is already struggling.
const DefaultConcurrency = 8

// New builds a client for ep.URL; the scheme picks the API. Nothing is sent until the first call.
func New(ep httpx.Endpoint) (*Client, error) {
	if ep.Name == "" {
		ep.Name = "Jaeger"
	}
	if ep.Flag == "" {
		ep.Flag = "--jaeger-url"
	}
	raw := strings.TrimSpace(ep.URL)
	if raw == "" {
		return nil, fmt.Errorf("Jaeger: no URL configured; set --jaeger-url (or DBG_JAEGER_URL, or jaeger-url in the config file)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("Jaeger: --jaeger-url %q is not a URL; want http(s)://host:16686 or grpc(s)://host:16685", httpx.Redact(raw))
	}
	secrets := secretsOf(ep, u)
	switch u.Scheme {
	case "http", "https":
		hc, err := httpx.New(ep)
		if err != nil {
			return nil, scrub(err, secrets)
		}
		return &Client{b: &httpBackend{c: hc}, url: hc.BaseURL(), secrets: secrets}, nil
	case "grpc", "grpcs":
		gb, err := newGRPC(ep, u)
		if err != nil {
			return nil, scrub(err, secrets)
		}
		return &Client{b: gb, url: gb.url, secrets: secrets}, nil
	}
	return nil, fmt.Errorf("Jaeger: --jaeger-url %q: scheme %q is not http, https, grpc or grpcs", httpx.Redact(raw), u.Scheme)
}

func secretsOf(ep httpx.Endpoint, u *url.URL) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 4 { // shorter values would scrub ordinary words out of messages
			out = append(out, s)
		}
	}
	add(ep.Token)
	add(ep.Password)
	for _, v := range ep.Headers {
		add(v)
	}
	user, pass := ep.Username, ep.Password
	if u.User != nil {
		p, _ := u.User.Password()
		add(p)
		if user == "" {
			user, pass = u.User.Username(), p
		}
	}
	if user != "" || pass != "" {
		// The Authorization header as sent, in case a proxy echoes it.
		add(base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)))
	}
	return out
}

// scrubbedError is an error whose message had credentials removed; errors.Is/As still see the cause.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func scrub(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		clean = strings.ReplaceAll(clean, s, "REDACTED")
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

// URL is the endpoint without credentials, safe to print.
func (c *Client) URL() string { return c.url }

// Close releases the connection.
func (c *Client) Close() error { return c.b.close() }

// NormalizeTraceID checks that id is a Jaeger trace ID (1 to 32 hex digits) and returns it in lower case.
func NormalizeTraceID(id string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(id))
	if s == "" || len(s) > 32 {
		return "", fmt.Errorf("trace ID %q: want 1 to 32 hex digits", truncateID(id))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", fmt.Errorf("trace ID %q: want 1 to 32 hex digits", truncateID(id))
		}
	}
	return s, nil
}

func truncateID(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Trace fetches one trace. An unknown ID is a *NotFoundError.
func (c *Client) Trace(ctx context.Context, id string) (*investigate.Trace, error) {
	nid, err := NormalizeTraceID(id)
	if err != nil {
		return nil, err
	}
	tr, err := c.b.trace(ctx, nid)
	if err != nil {
		return nil, scrub(err, c.secrets)
	}
	if len(tr.Spans) == 0 {
		return nil, &NotFoundError{ID: id, URL: c.url}
	}
	return tr, nil
}

// Traces fetches several traces concurrently, at most Concurrency at a time, and returns them in the
// order of ids. The first failure cancels the rest and is returned.
func (c *Client) Traces(ctx context.Context, ids []string) ([]*investigate.Trace, error) {
	for _, id := range ids {
		if _, err := NormalizeTraceID(id); err != nil {
			return nil, err
		}
	}
	out := make([]*investigate.Trace, len(ids))
	if len(ids) == 1 {
		tr, err := c.Trace(ctx, ids[0])
		if err != nil {
			return nil, err
		}
		out[0] = tr
		return out, nil
	}
	n := c.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	n = min(n, len(ids))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				tr, err := c.Trace(ctx, ids[i])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				out[i] = tr
			}
		}()
	}
feed:
	for i := range ids {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Search finds traces matching q, each with all its spans, in the order Jaeger returns them.
func (c *Client) Search(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	if strings.TrimSpace(q.Service) == "" {
		return nil, errors.New("Jaeger search: a service is required (--service)")
	}
	q, ask := searchSize(q)
	ts, err := c.b.search(ctx, ask)
	if err != nil {
		return nil, scrub(err, c.secrets)
	}
	return filterSearch(ts, q), nil
}

// searchSize returns q with its default limit and the search to send Jaeger for it.
func searchSize(q investigate.TraceQuery) (investigate.TraceQuery, investigate.TraceQuery) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	ask := q
	if q.Errors {
		// The error filter runs here, on what Jaeger returns: ask for more so that rare failures among
		// many successes still fill the list.
		ask.Errors = false
		ask.Limit = min(q.Limit*errorsOverfetch, q.Limit+maxOverfetch)
	}
	return q, ask
}

// With Query.Errors, Search asks Jaeger for errorsOverfetch times the limit, at most maxOverfetch more.
const (
	errorsOverfetch = 5
	maxOverfetch    = 1000
)

// filterSearch drops what Jaeger returned but q excludes (empty traces; traces without an error span when
// q.Errors) and caps the answer at q.Limit.
func filterSearch(ts []*investigate.Trace, q investigate.TraceQuery) []*investigate.Trace {
	out := ts[:0]
	for _, t := range ts {
		if t == nil || len(t.Spans) == 0 {
			continue
		}
		if q.Errors && !hasError(t) {
			continue
		}
		out = append(out, t)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func hasError(t *investigate.Trace) bool {
	for i := range t.Spans {
		if investigate.SpanIsError(&t.Spans[i]) {
			return true
		}
	}
	return false
}

// Services lists the services Jaeger knows, sorted.
func (c *Client) Services(ctx context.Context) ([]string, error) {
	s, err := c.b.services(ctx)
	return s, scrub(err, c.secrets)
}

// Operations lists the operations of one service, sorted.
func (c *Client) Operations(ctx context.Context, service string) ([]string, error) {
	ops, err := c.b.operations(ctx, service)
	return ops, scrub(err, c.secrets)
}

// Check asks Jaeger for its services: the cheapest call that proves the URL, credentials and TLS work.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.Services(ctx)
	return err
}
