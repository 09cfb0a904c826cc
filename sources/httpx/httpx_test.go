package httpx

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/hostile"
	"github.com/dbgtool/dbg/sources/safeio"
)

func newClient(t *testing.T, ep Endpoint) *Client {
	t.Helper()
	if ep.Name == "" {
		ep.Name = "Test"
	}
	c, err := New(ep)
	if err != nil {
		t.Fatal(err)
	}
	c.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return c
}

// TestRetries: what may succeed next time is retried, a timeout is not (the next try would take as
// long again), nothing past the deadline, and a Retry-After beyond the deadline is reported, not slept.
func TestRetries(t *testing.T) {
	t.Run("503 then ok", func(t *testing.T) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.WriteHeader(503)
				return
			}
			io.WriteString(w, "ok")
		}))
		defer srv.Close()
		b, err := newClient(t, Endpoint{URL: srv.URL}).Do(context.Background(), Request{})
		if err != nil || string(b) != "ok" || n.Load() != 2 {
			t.Fatalf("got %q, %v after %d requests", b, err, n.Load())
		}
	})
	t.Run("no retry after a timeout", func(t *testing.T) {
		srv := hostile.New(hostile.Hang)
		defer srv.Close()
		start := time.Now()
		_, err := newClient(t, Endpoint{URL: srv.URL, Timeout: 200 * time.Millisecond}).Do(context.Background(), Request{})
		if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
			t.Fatalf("err = %v", err)
		}
		if el := time.Since(start); el > 1500*time.Millisecond || srv.Requests() != 1 {
			t.Errorf("took %s and %d requests for a 200ms timeout: want one try", el, srv.Requests())
		}
	})
	t.Run("Retry-After past the deadline", func(t *testing.T) {
		srv := hostile.New(hostile.RetryAfterHr)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c := newClient(t, Endpoint{URL: srv.URL})
		c.Sleep = SleepCtx
		start := time.Now()
		_, err := c.Do(ctx, Request{})
		if !errors.Is(err, ErrWaitTooLong) || !strings.Contains(err.Error(), "asked to wait 1h0m0s") {
			t.Fatalf("err = %v, want the hour the server asked for", err)
		}
		if time.Since(start) > time.Second || srv.Requests() != 1 {
			t.Errorf("waited %s, %d requests", time.Since(start), srv.Requests())
		}
	})
	t.Run("no retry past the deadline", func(t *testing.T) {
		srv := hostile.New(hostile.Status503)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		c := newClient(t, Endpoint{URL: srv.URL, Retries: 10})
		c.Sleep = SleepCtx
		start := time.Now()
		_, err := c.Do(ctx, Request{})
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 503 {
			t.Fatalf("err = %v, want the 503", err)
		}
		if time.Since(start) > 500*time.Millisecond {
			t.Errorf("took %s with a 100ms deadline", time.Since(start))
		}
	})
}

// TestLimits: the per-response size, the run's budget shared by two clients, a gzip-encoded bomb and a
// nesting bomb all fail with an error naming the limit and what raises it, without reading it all.
func TestLimits(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		srv := hostile.New(hostile.Oversized)
		defer srv.Close()
		_, err := newClient(t, Endpoint{URL: srv.URL, MaxBytes: 1 << 20, Flag: "--loki-url"}).Do(context.Background(), Request{})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "loki-max-response-bytes") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("budget shared", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hostile.Repeat(w, 'x', 600<<10)
		}))
		defer srv.Close()
		b := safeio.NewBudget(1 << 20)
		c1 := newClient(t, Endpoint{URL: srv.URL, Budget: b})
		c2 := newClient(t, Endpoint{URL: srv.URL, Budget: b})
		if _, err := c1.Do(context.Background(), Request{}); err != nil {
			t.Fatal(err)
		}
		_, err := c2.Do(context.Background(), Request{})
		if !errors.Is(err, safeio.ErrLimit) || !strings.Contains(err.Error(), "--max-read-bytes") {
			t.Fatalf("second client: %v, want the run budget", err)
		}
	})
	t.Run("gzip bomb", func(t *testing.T) {
		srv := hostile.New(hostile.GzipBomb)
		defer srv.Close()
		before := hostile.Allocated()
		_, err := newClient(t, Endpoint{URL: srv.URL, MaxBytes: 8 << 20}).Do(context.Background(), Request{})
		after := hostile.Allocated()
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
		if d := after - before; d > 64<<20 {
			t.Errorf("allocated %d MiB for an 8 MiB limit", d>>20)
		}
	})
	t.Run("nesting bomb", func(t *testing.T) {
		srv := hostile.New(hostile.NestingBomb)
		defer srv.Close()
		_, err := newClient(t, Endpoint{URL: srv.URL}).Do(context.Background(), Request{})
		if !errors.Is(err, safeio.ErrTooDeep) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestCredentialsStayOnOrigin: a redirect to another port of the same host (net/http keeps
// Authorization there) or another host gets neither the token nor the configured headers, through Do
// and through the RoundTripper a library drives; the same origin still gets them.
func TestCredentialsStayOnOrigin(t *testing.T) {
	for _, via := range []string{"Do", "RoundTripper"} {
		t.Run(via, func(t *testing.T) {
			srv := hostile.New(hostile.CrossOrigin)
			defer srv.Close()
			c := newClient(t, Endpoint{URL: srv.URL, Token: "s3cr3t-token", Headers: map[string]string{"X-Scope-OrgID": "tenant-secret"}})
			var err error
			if via == "Do" {
				_, err = c.Do(context.Background(), Request{Path: "/api/x"})
			} else {
				var resp *http.Response
				resp, err = (&http.Client{Transport: c.RoundTripper()}).Get(srv.URL + "/api/x")
				if err == nil {
					resp.Body.Close()
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.Other.Auth(); len(got) != 0 {
				t.Errorf("the other origin received %q", got)
			}
		})
	}
	rec := hostile.NewRecorder()
	defer rec.Close()
	c := newClient(t, Endpoint{URL: rec.URL, Token: "s3cr3t-token"})
	if _, err := c.Do(context.Background(), Request{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.Auth(); len(got) != 1 || got[0] != "Authorization: Bearer s3cr3t-token" {
		t.Errorf("the configured origin received %q", got)
	}
}

// TestRedirects: a loop ends with one line; a POST turned into a GET is an error saying so, not an
// empty query.
func TestRedirects(t *testing.T) {
	loop := hostile.New(hostile.RedirectLoop)
	defer loop.Close()
	_, err := newClient(t, Endpoint{URL: loop.URL, Flag: "--jaeger-url"}).Do(context.Background(), Request{})
	if err == nil || !strings.Contains(err.Error(), "redirect loop") {
		t.Errorf("loop: %v", err)
	}
	pg := hostile.New(hostile.PostToGet)
	defer pg.Close()
	c := newClient(t, Endpoint{URL: pg.URL, Flag: "--prometheus-url"})
	_, err = c.Do(context.Background(), Request{Method: "POST", Body: []byte("query=up")})
	if err == nil || !strings.Contains(err.Error(), "redirected a POST") || !strings.Contains(err.Error(), "drop the query") {
		t.Errorf("Do POST→GET: %v", err)
	}
	_, err = (&http.Client{Transport: c.RoundTripper()}).Post(pg.URL+"/api/v1/query", "application/x-www-form-urlencoded", strings.NewReader("query=up"))
	if err == nil || !strings.Contains(err.Error(), "redirected a POST") {
		t.Errorf("RoundTripper POST→GET: %v", err)
	}
}

// TestScrub: an echoed bearer token, basic-auth string or header value never reaches an error, through
// Do and through the body a library reads from the RoundTripper.
func TestScrub(t *testing.T) {
	for _, fault := range []hostile.Fault{hostile.Unauthorized, hostile.Forbidden} {
		srv := hostile.New(fault)
		for _, ep := range []Endpoint{
			{URL: srv.URL, Token: "tok-abcdef123456"},
			{URL: srv.URL, Username: "admin", Password: "hunter2-pass"},
			{URL: srv.URL, Headers: map[string]string{"X-Api-Key": "key-0123456789"}},
		} {
			c := newClient(t, ep)
			secrets := []string{"tok-abcdef123456", "hunter2-pass", "key-0123456789", base64.StdEncoding.EncodeToString([]byte("admin:hunter2-pass"))}
			_, err := c.Do(context.Background(), Request{})
			resp, rerr := (&http.Client{Transport: c.RoundTripper()}).Get(srv.URL)
			if rerr != nil {
				t.Fatal(rerr)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, sec := range secrets {
				if strings.Contains(err.Error(), sec) || strings.Contains(string(body), sec) {
					t.Errorf("%s: secret %q in %q / %q", fault, sec, err, body)
				}
			}
		}
		srv.Close()
	}
	if got := ScrubText(`{"authorization":"Bearer eyJhbGciOi.x.y","password=abc12345"}`); strings.Contains(got, "eyJhbGciOi") || strings.Contains(got, "abc12345") {
		t.Errorf("ScrubText left a credential: %q", got)
	}
	if got := ScrubText("no answer within 2s; check --timeout"); got != "no answer within 2s; check --timeout" {
		t.Errorf("ScrubText changed plain text: %q", got)
	}
}

// TestHTMLBody: an HTML page in an error is reduced to a note, not 200 characters of markup.
func TestHTMLBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		io.WriteString(w, "<!DOCTYPE html><html><body>"+strings.Repeat("<div>x</div>", 1000)+"</body></html>")
	}))
	defer srv.Close()
	_, err := newClient(t, Endpoint{URL: srv.URL, Retries: -1}).Do(context.Background(), Request{})
	if err == nil || !strings.Contains(err.Error(), "an HTML page") || len(err.Error()) > 300 {
		t.Errorf("err = %v", err)
	}
}
