package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRoundTripper: auth and headers on every request, retries replay the POST body, the size limit
// holds while a library reads the body, and errors never carry the secret.
func TestRoundTripper(t *testing.T) {
	var calls int
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Scope-OrgID") != "t1" || r.Header.Get("User-Agent") != "dbg" {
			w.WriteHeader(401)
			return
		}
		if calls == 1 {
			w.WriteHeader(503)
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", 2000)))
	}))
	defer srv.Close()
	c, err := New(Endpoint{Name: "Prometheus", URL: srv.URL, Token: "tok", Headers: map[string]string{"X-Scope-OrgID": "t1"}, MaxBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	c.Sleep = func(context.Context, time.Duration) error { return nil }
	hc := &http.Client{Transport: c.RoundTripper()}
	resp, err := hc.Post(srv.URL+"/api/v1/query", "application/x-www-form-urlencoded", strings.NewReader("query=up"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, ErrTooLarge) || strings.Contains(err.Error(), "tok") {
		t.Errorf("read error = %v, want ErrTooLarge without the token", err)
	}
	if calls != 2 || bodies[0] != "query=up" || bodies[1] != "query=up" {
		t.Errorf("calls %d bodies %q: want the 503 retried with the same body", calls, bodies)
	}

	srv.Close()
	_, err = hc.Get(srv.URL + "/api/v1/query")
	if err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "tok") {
		t.Errorf("down: %v", err)
	}
}
