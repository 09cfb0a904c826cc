package httpx

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// RoundTripper returns an http.RoundTripper with the endpoint's setup, for sources that must hand a
// transport to a backend's own client library (Prometheus' client_golang): User-Agent on every request;
// auth and extra headers only on requests to the configured origin (a library's client follows
// redirects through this transport, so a hop to another origin goes without them); the same retries as
// Do for what may succeed next time (request bodies are replayed through GetBody); a redirect that turned
// a POST into a GET (dropping the query) is an error; the size limit, the run's budget and the JSON
// nesting limit, enforced while the library reads the body; non-2xx bodies scrubbed of credentials
// before the library sees them. Errors are the same redacted ones as Do's.
func (c *Client) RoundTripper() http.RoundTripper { return &roundTripper{c: c} }

type roundTripper struct{ c *Client }

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	c := rt.c
	ctx := req.Context()
	if req.Response != nil && req.Response.Request != nil {
		if err := c.lostBody(req, req.Response.Request); err != nil {
			return nil, c.wrap(req.URL.Path, err)
		}
	}
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		r := req.Clone(ctx)
		if attempt > 0 && req.Body != nil && req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
		}
		c.authorize(r)
		resp, err := c.hc.Transport.RoundTrip(r)
		retryable, wait, waitErr := c.retryDecision(ctx, resp, err, backoff)
		canReplay := req.Body == nil || req.GetBody != nil
		if err == nil && waitErr == nil && (!retryable || attempt >= c.ep.Retries || !canReplay) {
			if resp.StatusCode/100 != 2 {
				// The library puts the body in its error: scrub it here, the one place that knows the secrets.
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				resp.Body = io.NopCloser(bytes.NewReader([]byte(c.Scrub(string(b)))))
				resp.ContentLength = -1
				resp.Header.Del("Content-Length")
				return resp, nil
			}
			resp.Body = &boundBody{r: c.bound(resp.Body), rc: resp.Body, c: c, path: req.URL.Path}
			return resp, nil
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if waitErr != nil {
			return nil, c.wrap(req.URL.Path, waitErr)
		}
		if !retryable || attempt >= c.ep.Retries || !canReplay {
			return nil, c.wrap(req.URL.Path, c.explain(err, ctx))
		}
		if serr := c.Sleep(ctx, wait); serr != nil {
			return nil, c.wrap(req.URL.Path, c.explain(serr, ctx))
		}
		backoff *= 2
	}
}

// boundBody fails a read past a limit instead of silently truncating, with the error Do would give.
type boundBody struct {
	r    io.Reader
	rc   io.ReadCloser
	c    *Client
	path string
}

func (b *boundBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		return n, b.c.readError(b.path, err)
	}
	return n, err
}

func (b *boundBody) Close() error { return b.rc.Close() }
