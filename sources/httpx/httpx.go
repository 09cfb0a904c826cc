// Package httpx is dbg's one HTTP client setup, shared by every source: timeouts, retries with backoff
// for what may succeed next time (never past the deadline), a response size limit and the run's shared
// memory budget (safeio), a JSON nesting limit on every body, auth (bearer, basic, CA file) sent only to
// the configured origin, and errors that name the backend and URL but never a credential: every byte of
// server text in an error passes Scrub, the one scrubbing path.
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
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbgtool/dbg/sources/safeio"
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
	// Budget is the run's memory budget, shared by every source of the run; every body read draws from
	// it. Nil: only MaxBytes bounds a response.
	Budget *safeio.Budget
}

// maxBytesKey is the config key that raises the endpoint's per-response limit.
func (ep Endpoint) maxBytesKey() string {
	key := strings.TrimSuffix(strings.TrimPrefix(ep.Flag, "--"), "-url")
	if key == "" {
		return "the max response size in the config"
	}
	return key + "-max-response-bytes in the config (env DBG_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_")) + "_MAX_RESPONSE_BYTES)"
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
	c := &Client{ep: ep, base: u, Sleep: SleepCtx}
	c.hc = &http.Client{Transport: tr, CheckRedirect: c.checkRedirect}
	return c, nil
}

// maxRedirects bounds a redirect chain (net/http's default is 10 too; a loop ends here).
const maxRedirects = 10

// checkRedirect keeps credentials on the configured origin and refuses redirects that would lose the
// request body. net/http already drops Authorization for another host name, but not for another port or
// scheme on the same host, and it copies the configured extra headers (X-Scope-OrgID, API keys) to any
// host: both are removed here for every hop that leaves the origin.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects (a redirect loop?); point %s at the final URL", maxRedirects, flagOr(c.ep))
	}
	if err := c.lostBody(req, via[0]); err != nil {
		return err
	}
	if !c.SameOrigin(req.URL) {
		req.Header.Del("Authorization")
		for k := range c.ep.Headers {
			req.Header.Del(k)
		}
	}
	return nil
}

// lostBody is the error for a redirect that turned a request with a body into one without (a 301, 302
// or 303 answer to a POST: the client follows with a GET and no query).
func (c *Client) lostBody(req, first *http.Request) error {
	if first.Method != http.MethodGet && first.Method != http.MethodHead && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		return fmt.Errorf("%s redirected a %s to %s as a %s, which would drop the query; point %s at the URL that answers (the redirect target) or fix the proxy",
			c.ep.Name, first.Method, Redact(req.URL.String()), req.Method, flagOr(c.ep))
	}
	return nil
}

// SameOrigin says whether u has the configured URL's scheme, host and port (default ports filled in):
// the only place credentials are sent.
func (c *Client) SameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Hostname(), c.base.Hostname()) && port(u) == port(c.base)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
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

// tooLarge is the per-response limit's error: errors.Is(err, ErrTooLarge) holds.
type tooLarge struct{ *safeio.LimitError }

func (e tooLarge) Is(target error) bool { return target == ErrTooLarge || target == safeio.ErrLimit }
func (e tooLarge) Unwrap() error        { return e.LimitError }
func (e tooLarge) Error() string {
	return fmt.Sprintf("response larger than the size limit of %s; raise %s if this is expected", safeio.Size(e.Limit), e.Raise)
}

// ErrWaitTooLong is wrapped when the server asked to be retried later than the deadline allows.
var ErrWaitTooLong = errors.New("the server asked to wait longer than the deadline allows")

// Do sends the request, retrying with backoff on 429, 502, 503, 504 and on connection resets, and returns
// the whole body (bounded by MaxBytes).
func (c *Client) Do(ctx context.Context, r Request) ([]byte, error) {
	resp, err := c.Open(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body) // bounded by Open
	if err != nil {
		return nil, c.readError(r.Path, err)
	}
	return b, nil
}

// ReadAll reads a body up to the size limit, drawing from the run's budget.
func (c *Client) ReadAll(body io.Reader, path string) ([]byte, error) {
	b, err := io.ReadAll(c.bound(body))
	if err != nil {
		return nil, c.readError(path, err)
	}
	return b, nil
}

// bound wraps a response body (already decompressed when the server sent Content-Encoding: gzip) in
// the limits every body gets: the per-response size, the run's budget and the JSON nesting depth.
func (c *Client) bound(body io.Reader) io.Reader {
	r := safeio.LimitReader(body, c.ep.MaxBytes, "the response", c.ep.maxBytesKey())
	r = c.ep.Budget.Reader(r)
	return safeio.JSONDepthReader(r, safeio.MaxJSONDepth, true)
}

// readError says what went wrong reading a body, naming the limit that was hit.
func (c *Client) readError(path string, err error) error {
	var le *safeio.LimitError
	var de *safeio.DepthError
	switch {
	case errors.As(err, &le):
		if le.What == "the response" {
			return c.wrap(path, tooLarge{le})
		}
		return c.wrap(path, err)
	case errors.As(err, &de):
		return c.wrap(path, err)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return c.wrap(path, fmt.Errorf("the answer did not arrive within %s (raise --timeout)", c.ep.Timeout))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return c.wrap(path, errors.New("the answer was cut off (unexpected EOF: the connection closed before the body ended); try again, or check a proxy in between"))
	}
	return c.wrap(path, fmt.Errorf("reading the response: %s", stripURLs(err.Error())))
}

// Open sends the request with the same retries as Do and returns the response with its body unread, for
// callers that stream; the body is bounded like Do's (size, budget, nesting). The caller closes the body.
// Non-2xx answers are returned as *StatusError.
func (c *Client) Open(parent context.Context, r Request) (*http.Response, error) {
	u := c.URL(r.Path, r.Query)
	backoff := 200 * time.Millisecond
	// The endpoint's timeout bounds the whole call, retries and waits included: --timeout 5s never
	// becomes 10 s of retrying (when the caller has no earlier deadline of its own).
	ctx, cancel := context.WithTimeout(parent, c.ep.Timeout)
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, r, u)
		retryable, wait, waitErr := c.retryDecision(ctx, resp, err, backoff)
		if err == nil && waitErr == nil && (!retryable || attempt >= c.ep.Retries) {
			if resp.StatusCode/100 != 2 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				cancel()
				return nil, &StatusError{Backend: c.ep.Name, URL: Redact(u), Code: resp.StatusCode, Body: snippet([]byte(c.Scrub(string(b))))}
			}
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel, r: c.bound(resp.Body)}
			return resp, nil
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if waitErr != nil {
			cancel()
			return nil, c.wrap(r.Path, waitErr)
		}
		if !retryable || attempt >= c.ep.Retries {
			cancel()
			if err == nil {
				return nil, &StatusError{Backend: c.ep.Name, URL: Redact(u), Code: resp.StatusCode, Body: fmt.Sprintf("still failing after %d tries", attempt+1)}
			}
			return nil, c.wrap(r.Path, c.explain(err, parent))
		}
		if serr := c.Sleep(ctx, wait); serr != nil {
			cancel()
			return nil, c.wrap(r.Path, c.explain(serr, parent))
		}
		backoff *= 2
	}
}

// retryDecision says whether an attempt's outcome is worth another try and after how long. A request
// that ran out of time is not retried: the next try would take as long again, past what --timeout
// promised. Nothing is retried once the caller's deadline passed, or when the wait would end after it:
// then waitErr says what the server asked for (a Retry-After of an hour is reported, not slept on).
func (c *Client) retryDecision(ctx context.Context, resp *http.Response, err error, backoff time.Duration) (retryable bool, wait time.Duration, waitErr error) {
	wait = backoff
	if ctx.Err() != nil {
		return false, 0, nil
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return false, 0, nil
		}
		return isTransient(err), wait, nil
	}
	switch resp.StatusCode {
	case 429, 502, 503, 504:
	default:
		return false, 0, nil
	}
	if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
		wait = ra
		if dl, has := ctx.Deadline(); (has && time.Now().Add(ra).After(dl)) || ra > maxRetryAfter {
			return false, 0, fmt.Errorf("%w: HTTP %d with Retry-After %s (the server asked to wait %s before trying again); try later, or raise --timeout", ErrWaitTooLong, resp.StatusCode, strings.TrimSpace(resp.Header.Get("Retry-After")), ra.Round(time.Second))
		}
	}
	if dl, has := ctx.Deadline(); has && time.Now().Add(wait).After(dl) {
		return false, 0, nil
	}
	return true, wait, nil
}

// maxRetryAfter is the longest Retry-After dbg waits for, deadline or not.
const maxRetryAfter = 30 * time.Second

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
	c.authorize(req)
	return c.hc.Do(req)
}

// authorize sets the User-Agent, and the configured headers and credentials when req goes to the
// configured origin (never anywhere else).
func (c *Client) authorize(req *http.Request) {
	req.Header.Set("User-Agent", "dbg")
	if !c.SameOrigin(req.URL) {
		req.Header.Del("Authorization")
		for k := range c.ep.Headers {
			req.Header.Del(k)
		}
		return
	}
	for k, v := range c.ep.Headers {
		req.Header.Set(k, v)
	}
	switch {
	case c.ep.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.ep.Token)
	case c.ep.Username != "":
		req.SetBasicAuth(c.ep.Username, c.ep.Password)
	}
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
	return errors.New(c.Scrub(stripURLs(err.Error())))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// SleepCtx waits d, or until ctx is done (then it returns ctx.Err()): the one cancellable sleep of
// every poll and retry loop.
func SleepCtx(ctx context.Context, d time.Duration) error {
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
	r      io.Reader // the bounded body
}

func (c *cancelOnClose) Read(p []byte) (int, error) { return c.r.Read(p) }

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

// credentialPattern matches credentials in server text whoever they belong to: Authorization values
// (Bearer, Basic, token schemes), and key=value / "key": "value" pairs whose key names a secret.
var credentialPattern = regexp.MustCompile(`(?i)(\b(?:bearer|basic|token|negotiate|digest)\s+)[A-Za-z0-9._~+/=:-]{6,}|` +
	`((?:authorization|api[_-]?key|x-api-key|token|secret|password|passwd)["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token)\s+)?)[^\s"',;&]{4,}`)

// Scrub removes credentials from text a server sent back (some proxies echo the request headers in
// their error pages): the endpoint's own secrets (token, password, basic-auth string, header values)
// wherever they appear, and anything shaped like a credential. It is the one scrubbing path: every
// source's error text from a server goes through it.
func (c *Client) Scrub(s string) string {
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
	return ScrubText(s)
}

// ScrubText removes anything shaped like a credential from text (for server text that reaches an error
// without a Client at hand).
func ScrubText(s string) string {
	return credentialPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := credentialPattern.FindStringSubmatch(m)
		switch {
		case sub[1] != "":
			return sub[1] + "REDACTED"
		case sub[2] != "":
			return sub[2] + "REDACTED"
		}
		return "REDACTED"
	})
}

// IsHTML says whether a body is an HTML page (a UI, a login page, a proxy's error page) rather than an
// API answer.
func IsHTML(b []byte) bool {
	t := bytes.TrimLeft(b[:min(len(b), 512)], " \t\r\n\ufeff")
	l := strings.ToLower(string(t[:min(len(t), 64)]))
	return strings.HasPrefix(l, "<!doctype html") || strings.HasPrefix(l, "<html") || strings.HasPrefix(l, "<head") || strings.HasPrefix(l, "<body")
}

// snippet is the start of an error body on one line, for messages: HTML pages reduced to a note, at
// most 200 characters. Terminal controls stay for the printer's sanitizer (render.Clean) to remove.
func snippet(b []byte) string {
	if IsHTML(b) {
		return "(an HTML page, not an API answer)"
	}
	s := strings.TrimSpace(string(b))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
