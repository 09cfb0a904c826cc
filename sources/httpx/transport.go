package httpx

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// RoundTripper returns an http.RoundTripper with the endpoint's setup, for sources that must hand a
// transport to a backend's own client library (Prometheus' client_golang): auth, extra headers and
// User-Agent on every request, the same retries with backoff as Do for what may succeed next time (429,
// 502, 503, 504, connection resets; request bodies are replayed through GetBody), and the response size
// limit, enforced while the library reads the body. Errors are the same redacted ones as Do's.
func (c *Client) RoundTripper() http.RoundTripper { return &roundTripper{c: c} }

type roundTripper struct{ c *Client }

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	c := rt.c
	ctx := req.Context()
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
		for k, v := range c.ep.Headers {
			r.Header.Set(k, v)
		}
		r.Header.Set("User-Agent", "dbg")
		switch {
		case c.ep.Token != "":
			r.Header.Set("Authorization", "Bearer "+c.ep.Token)
		case c.ep.Username != "":
			r.SetBasicAuth(c.ep.Username, c.ep.Password)
		}
		resp, err := c.hc.Transport.RoundTrip(r)
		retryable, wait := false, backoff
		if err != nil {
			retryable = isTransient(err) && ctx.Err() == nil
		} else if resp.StatusCode == 429 || resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504 {
			retryable = true
			if ra := retryAfter(resp.Header.Get("Retry-After")); ra > 0 {
				wait = min(ra, 30*time.Second)
			}
		}
		canReplay := req.Body == nil || req.GetBody != nil
		if err == nil && (!retryable || attempt >= c.ep.Retries || !canReplay) {
			resp.Body = &limitedBody{rc: resp.Body, left: c.ep.MaxBytes, c: c, path: req.URL.Path}
			return resp, nil
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if !retryable || attempt >= c.ep.Retries || !canReplay {
			return nil, c.wrap(req.URL.Path, c.explain(err, ctx))
		}
		if serr := c.Sleep(ctx, wait); serr != nil {
			return nil, c.wrap(req.URL.Path, serr)
		}
		backoff *= 2
	}
}

// limitedBody fails a read past the size limit instead of silently truncating.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	c    *Client
	path string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.c.wrap(b.path, fmt.Errorf("%w of %d MiB; raise the max response size in the config if this is expected", ErrTooLarge, b.c.ep.MaxBytes>>20))
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, b.c.wrap(b.path, fmt.Errorf("%w of %d MiB; raise the max response size in the config if this is expected", ErrTooLarge, b.c.ep.MaxBytes>>20))
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
