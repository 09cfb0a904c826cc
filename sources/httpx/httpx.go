// Package httpx is dbg's one HTTP client setup, shared by every source: timeouts, retries with backoff
// for what may succeed next time, a response size limit, auth (bearer, basic, CA file) and errors that
// name the backend and URL but never a credential.
package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Endpoint is one configured backend.
type Endpoint struct {
	// Name is the backend as users know it ("Jaeger", "Prometheus"), used in errors.
	Name string
	// Flag is the flag that sets URL ("--jaeger-url"), used in hints.
	Flag               string
	URL                string
	Token              string // bearer token; never printed
	Username           string
	Password           string // never printed
	CAFile             string
	InsecureSkipVerify bool
	Headers            map[string]string // e.g. X-Scope-OrgID; values never printed
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
	// MaxBytes bounds a response body; 0 means 256 MiB.
	MaxBytes int64
	// Retries is how many times a retryable failure is tried again; 0 means 3, negative means none.
	Retries int
}

// Client talks to one Endpoint.
type Client struct {
	ep   Endpoint
	base *url.URL
	hc   *http.Client
	// Sleep waits between retries; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// New validates the endpoint and builds its client.
func New(ep Endpoint) (*Client, error) {
	if ep.Name == "" {
		ep.Name = "backend"
	}
	if strings.TrimSpace(ep.URL) == "" {
		return nil, fmt.Errorf("%s: no URL configured; set %s or the config file", ep.Name, flagOr(ep))
	}
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("%s: %s %q is not an http(s):// URL", ep.Name, flagOr(ep), Redact(ep.URL))
	}
	if u.User != nil { // credentials in the URL move to basic auth and out of every printed URL
		if ep.Username == "" {
			ep.Username = u.User.Username()
			ep.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	if ep.Timeout <= 0 {
		ep.Timeout = 30 * time.Second
	}
	if ep.MaxBytes <= 0 {
		ep.MaxBytes = 256 << 20
	}
	if ep.Retries == 0 {
		ep.Retries = 3
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: ep.InsecureSkipVerify} //nolint:gosec // only when the user asks
	if ep.CAFile != "" {
		pem, err := os.ReadFile(ep.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: CA file: %w", ep.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: CA file %s holds no PEM certificate", ep.Name, ep.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsCfg,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Client{ep: ep, base: u, hc: &http.Client{Transport: tr}, Sleep: sleepCtx}, nil
}

func flagOr(ep Endpoint) string {
	if ep.Flag != "" {
		return ep.Flag
	}
	return "the URL"
}

// BaseURL is the endpoint's URL without credentials, safe to print.
func (c *Client) BaseURL() string { return c.base.String() }

// Endpoint returns the configuration the client was built with.
func (c *Client) Endpoint() Endpoint { return c.ep }

// Request is one call.
type Request struct {
	Method string // default GET
	Path   string // joined to the base URL's path
	Query  url.Values
	Body   []byte
	Header http.Header
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Backend string
	URL     string // redacted
	Code    int
	Body    string // the start of the body, for the message
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s at %s answered HTTP %d", e.Backend, e.URL, e.Code)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	switch {
	case e.Code == 401 || e.Code == 403:
		msg += " (check the token or username/password in the config or DBG_* environment)"
	case e.Code == 404:
		msg += " (check the URL and path prefix)"
	}
	return msg
}

// ErrTooLarge is wrapped by errors for responses over the size limit.
var ErrTooLarge = errors.New("response larger than the size limit")

// Do sends the request, retrying with backoff on 429, 502, 503, 504 and on connection resets, and returns
// the whole body (bounded by MaxBytes).
func (c *Client) Do(ctx context.Context, r Request) ([]byte, error) {
	resp, err := c.Open(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return c.ReadAll(resp.Body, r.Path)
}

// ReadAll reads a body up to the size limit.
func (c *Client) ReadAll(body io.Reader, path string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, c.ep.MaxBytes+1))
	if err != nil {
		return nil, c.wrap(path, fmt.Errorf("reading the response: %w", err))
	}
	if int64(len(b)) > c.ep.MaxBytes {
		return nil, c.wrap(path, fmt.Errorf("%w of %d MiB; raise the max response size in the config if this is expected", ErrTooLarge, c.ep.MaxBytes>>20))
	}
	return b, nil
}

// Open sends the request with the same retries as Do and returns the response with its body unread, for
// callers that stream. The caller closes the body. Non-2xx answers are returned as *StatusError.
func (c *Client) Open(ctx context.Context, r Request) (*http.Response, error) {
	u := c.URL(r.Path, r.Query)
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		ctxReq, cancel := context.WithTimeout(ctx, c.ep.Timeout)
		resp, err := c.send(ctxReq, r, u)
		retryable, wait := false, backoff
		if err != nil {
			retryable = isTransient(err) && ctx.Err() == nil
		} else if resp.StatusCode == 429 || resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504 {
			retryable = true
			if ra := retryAfter(resp.Header.Get("Retry-After")); ra > 0 {
				wait = min(ra, 30*time.Second)
			}
		}
		if err == nil && (!retryable || attempt >= c.ep.Retries) {
			if resp.StatusCode/100 != 2 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				resp.Body.Close()
				cancel()
				return nil, &StatusError{Backend: c.ep.Name, URL: Redact(u), Code: resp.StatusCode, Body: snippet([]byte(c.scrub(string(b))))}
			}
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		cancel()
		if !retryable || attempt >= c.ep.Retries {
			return nil, c.wrap(r.Path, c.explain(err, ctx))
		}
		if serr := c.Sleep(ctx, wait); serr != nil {
			return nil, c.wrap(r.Path, serr)
		}
		backoff *= 2
	}
}

// URL joins path and query to the base URL.
func (c *Client) URL(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.TrimLeft(path, "/")
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (c *Client) send(ctx context.Context, r Request, u string) (*http.Response, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	for k, v := range c.ep.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", "dbg")
	switch {
	case c.ep.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.ep.Token)
	case c.ep.Username != "":
		req.SetBasicAuth(c.ep.Username, c.ep.Password)
	}
	return c.hc.Do(req)
}

func (c *Client) wrap(path string, err error) error {
	var se *StatusError
	if errors.As(err, &se) {
		return err
	}
	return fmt.Errorf("%s at %s: %w", c.ep.Name, Redact(c.URL(path, nil)), err)
}

// explain turns transport errors into what the user should check next.
func (c *Client) explain(err error, parent context.Context) error {
	switch {
	case errors.Is(err, context.Canceled) || parent.Err() == context.Canceled:
		return errors.New("cancelled")
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connection refused; is %s running there, and is %s right?", c.ep.Name, flagOr(c.ep))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("no answer within %s; is %s overloaded, or is the query too broad? (raise --timeout)", c.ep.Timeout, c.ep.Name)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot resolve host %q; check %s", dnsErr.Name, flagOr(c.ep))
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return fmt.Errorf("TLS certificate not trusted; set the CA file in the config (or insecure-skip-verify if you must)")
	}
	return errors.New(stripURLs(err.Error()))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err)
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Redact removes credentials from a URL string (userinfo, and the values of query parameters that look
// like secrets) so it can go into an error or a report.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	q := u.Query()
	changed := false
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "token") || strings.Contains(lk, "key") || strings.Contains(lk, "secret") ||
			strings.Contains(lk, "password") || strings.Contains(lk, "auth") {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// stripURLs drops the quoted URL net/http puts in its errors (we print our redacted one instead).
func stripURLs(s string) string {
	for _, verb := range []string{"Get ", "Post ", "Put ", "Delete ", "Head "} {
		if strings.HasPrefix(s, verb+"\"") {
			if i := strings.Index(s[len(verb)+1:], "\": "); i >= 0 {
				return s[len(verb)+1+i+3:]
			}
		}
	}
	return s
}

// scrub removes the endpoint's own secrets from text a server sent back (some proxies echo the request
// headers in their error pages).
func (c *Client) scrub(s string) string {
	var secrets []string
	if c.ep.Token != "" {
		secrets = append(secrets, c.ep.Token)
	}
	if c.ep.Password != "" {
		secrets = append(secrets, c.ep.Password,
			base64.StdEncoding.EncodeToString([]byte(c.ep.Username+":"+c.ep.Password)))
	}
	for _, v := range c.ep.Headers {
		if len(v) >= 8 {
			secrets = append(secrets, v)
		}
	}
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "REDACTED")
	}
	return s
}

// snippet is the start of an error body on one line, for messages.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
