package jaeger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/otlp"
)

const checkoutID = "4bf92f3577b34da6a3ce929d0e0e4736"

func v3Body(t testing.TB, trs ...*investigate.Trace) []byte {
	t.Helper()
	b, err := otlp.EncodeJSON(trs)
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte(`{"result":`), b...), '}')
}

func classicBody(t testing.TB, trs ...*investigate.Trace) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := EncodeClassic(&buf, trs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newTestClient points a client at srv with retries that do not sleep; waits records the pauses asked for.
func newTestClient(t *testing.T, ep httpx.Endpoint) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := New(ep)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	if hb, ok := c.b.(*httpBackend); ok {
		hb.c.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	}
	t.Cleanup(func() { c.Close() })
	return c, &waits
}

func TestTraceHTTPAPIs(t *testing.T) {
	want := tracegen.Checkout(1)
	v3 := v3Body(t, want)
	classic := classicBody(t, want)
	notFoundV3 := `{"error":{"httpCode":404,"message":"trace not found"}}`
	notFoundClassic := `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}`
	tests := []struct {
		name        string
		v3          func(w http.ResponseWriter)
		classic     func(w http.ResponseWriter)
		wantErr     string
		wantV3Calls int // over two fetches: the API found first is remembered
	}{
		{"v3", func(w http.ResponseWriter) { w.Write(v3) }, nil, "", 2},
		{"v3 missing: classic", func(w http.ResponseWriter) { http.Error(w, "404 page not found", 404) },
			func(w http.ResponseWriter) { w.Write(classic) }, "", 1},
		{"v3 path serves the UI: classic", func(w http.ResponseWriter) { w.Write([]byte("<!doctype html><html>")) },
			func(w http.ResponseWriter) { w.Write(classic) }, "", 1},
		{"v3 not found", func(w http.ResponseWriter) { http.Error(w, notFoundV3, 404) }, nil,
			"trace " + checkoutID + " not found in Jaeger at http://", 2},
		{"classic not found", func(w http.ResponseWriter) { http.Error(w, "404 page not found", 404) },
			func(w http.ResponseWriter) { http.Error(w, notFoundClassic, 404) }, "trace " + checkoutID + " not found in Jaeger at http://", 1},
		{"classic empty data", func(w http.ResponseWriter) { http.Error(w, "404 page not found", 404) },
			func(w http.ResponseWriter) { w.Write([]byte(`{"data":[]}`)) }, "not found in Jaeger", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v3Calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasPrefix(r.URL.Path, "/api/v3/traces/"):
					v3Calls.Add(1)
					tc.v3(w)
				case strings.HasPrefix(r.URL.Path, "/api/traces/") && tc.classic != nil:
					tc.classic(w)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			c, _ := newTestClient(t, httpx.Endpoint{URL: srv.URL})
			for range 2 {
				tr, err := c.Trace(context.Background(), strings.ToUpper(checkoutID))
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want %q", err, tc.wantErr)
					}
					if !errors.Is(err, ErrNotFound) {
						t.Fatalf("errors.Is(err, ErrNotFound) = false for %v", err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(tr.Spans) != len(want.Spans) || tr.ID != checkoutID {
					t.Fatalf("got trace %s with %d spans, want %s with %d", tr.ID, len(tr.Spans), checkoutID, len(want.Spans))
				}
				got := investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
				ref := investigate.AnalyzeTrace(want, investigate.DefaultTraceOptions())
				if fmt.Sprint(titles(got.Findings)) != fmt.Sprint(titles(ref.Findings)) {
					t.Fatalf("findings differ:\n got %v\nwant %v", titles(got.Findings), titles(ref.Findings))
				}
			}
			if n := int(v3Calls.Load()); n != tc.wantV3Calls {
				t.Errorf("v3 calls = %d, want %d", n, tc.wantV3Calls)
			}
		})
	}
}

func titles(fs []investigate.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Kind + " " + f.Service + " " + f.Title
	}
	return out
}

func TestTraceHTTPFailures(t *testing.T) {
	big := 1 << 30 // the handler offers 1 GiB; the client must stop at its limit
	tests := []struct {
		name      string
		handler   func(w http.ResponseWriter, r *http.Request, call int)
		ep        httpx.Endpoint
		wantErr   []string
		wantCalls int
		wantWaits []time.Duration
	}{
		{
			name:    "500 is not retried",
			handler: func(w http.ResponseWriter, _ *http.Request, _ int) { http.Error(w, "storage backend unavailable", 500) },
			wantErr: []string{"HTTP 500", "/api/v3/traces/" + checkoutID, "storage backend unavailable"}, wantCalls: 1,
		},
		{
			name: "429 waits Retry-After then succeeds",
			handler: func(w http.ResponseWriter, _ *http.Request, call int) {
				if call == 1 {
					w.Header().Set("Retry-After", "2")
					http.Error(w, "slow down", 429)
					return
				}
				w.Write(v3Body(t, tracegen.Checkout(1)))
			},
			wantCalls: 2, wantWaits: []time.Duration{2 * time.Second},
		},
		{
			name:      "503 retried with backoff, then reported",
			handler:   func(w http.ResponseWriter, _ *http.Request, _ int) { http.Error(w, "overloaded", 503) },
			wantErr:   []string{"HTTP 503"},
			wantCalls: 4, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond},
		},
		{
			name: "body shorter than its Content-Length",
			handler: func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Length", "100000")
				w.Write([]byte(`{"result":{"resourceSpans":[`))
			},
			wantErr: []string{"/api/v3/traces/" + checkoutID, "unexpected EOF"}, wantCalls: 1,
		},
		{
			name: "truncated JSON",
			handler: func(w http.ResponseWriter, _ *http.Request, _ int) {
				b := v3Body(t, tracegen.Checkout(1))
				w.Write(b[:len(b)/2])
			},
			wantErr: []string{"Jaeger at http://", "unreadable answer"}, wantCalls: 1,
		},
		{
			name: "1 GiB body refused past the limit",
			handler: func(w http.ResponseWriter, _ *http.Request, _ int) {
				chunk := bytes.Repeat([]byte(" "), 1<<16)
				w.Write([]byte(`{"result":`))
				for sent := 0; sent < big; sent += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			},
			ep:      httpx.Endpoint{MaxBytes: 1 << 20},
			wantErr: []string{"larger than the size limit", "1 MiB"}, wantCalls: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.handler(w, r, int(calls.Add(1)))
			}))
			defer srv.Close()
			ep := tc.ep
			ep.URL = srv.URL
			c, waits := newTestClient(t, ep)
			start := time.Now()
			_, err := c.Trace(context.Background(), checkoutID)
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if n := int(calls.Load()); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d", n, tc.wantCalls)
			}
			if fmt.Sprint(*waits) != fmt.Sprint(tc.wantWaits) && !(len(*waits) == 0 && len(tc.wantWaits) == 0) {
				t.Errorf("waits = %v, want %v", *waits, tc.wantWaits)
			}
		})
	}
}

func TestDownAndSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := ln.Addr().String()
	ln.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	tests := []struct {
		name, url string
		want      []string
	}{
		{"http refused", "http://" + refusedAddr, []string{"Jaeger at http://" + refusedAddr, "connection refused", "--jaeger-url"}},
		{"grpc refused", "grpc://" + refusedAddr, []string{"Jaeger at grpc://" + refusedAddr, "connection refused", "--jaeger-url"}},
		{"http slow", slow.URL, []string{"Jaeger at " + slow.URL, "no answer within 300ms", "--timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, httpx.Endpoint{URL: tc.url, Timeout: 300 * time.Millisecond, Retries: -1})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := c.Trace(ctx, checkoutID)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestCredentialsNeverLeak(t *testing.T) {
	const token, password, header = "tok-S3CRET-123", "pw-HUNTER2-xyz", "org-SECRET-456"
	var gotAuth []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		// A misbehaving proxy that echoes the request's credentials into its error page.
		http.Error(w, "denied: "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Scope-OrgID")+" "+r.URL.String(), 401)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	cases := []httpx.Endpoint{
		{URL: srv.URL, Token: token, Headers: map[string]string{"X-Scope-OrgID": header}},
		{URL: "http://admin:" + password + "@" + u.Host},
		{URL: srv.URL, Username: "admin", Password: password},
	}
	for i, ep := range cases {
		c, _ := newTestClient(t, ep)
		_, err1 := c.Trace(context.Background(), checkoutID)
		_, err2 := c.Search(context.Background(), investigate.TraceQuery{Service: "checkout", Tags: map[string]string{"k": "v"}})
		_, err3 := c.Services(context.Background())
		for _, err := range []error{err1, err2, err3} {
			if err == nil {
				t.Fatalf("case %d: no error", i)
			}
			msg := err.Error()
			for _, s := range []string{token, password, header, "YWRtaW46"} { // YWRtaW46 = base64("admin:")
				if strings.Contains(msg, s) {
					t.Errorf("case %d: error leaks %q: %s", i, s, msg)
				}
			}
			if !strings.Contains(msg, "401") {
				t.Errorf("case %d: error does not say what failed: %s", i, msg)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if gotAuth[0] != "Bearer "+token || !strings.HasPrefix(gotAuth[len(gotAuth)-1], "Basic ") {
		t.Errorf("credentials not sent: %q", gotAuth)
	}
}

func TestTracesBoundedConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		id := strings.TrimPrefix(r.URL.Path, "/api/v3/traces/")
		tr := tracegen.Checkout(1)
		tr.ID = id
		for i := range tr.Spans {
			tr.Spans[i].TraceID = id
		}
		w.Write(v3Body(t, tr))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, httpx.Endpoint{URL: srv.URL})
	c.Concurrency = 4
	ids := make([]string, 24)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", 0xabc000+i)
	}
	start := time.Now()
	ts, err := c.Traces(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range ts {
		if tr.ID != ids[i] {
			t.Fatalf("trace %d is %s, want %s (order kept)", i, tr.ID, ids[i])
		}
	}
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak concurrency %d, want 2..4", p)
	}
	// 24 fetches of 20ms, 4 at a time: ~120ms; one after another would be 480ms.
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("took %s: not concurrent", d)
	}

	// One unknown ID fails the whole call with its own message.
	ids[7] = "ffff"
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ffff") {
			http.Error(w, `{"error":{"httpCode":404,"message":"trace not found"}}`, 404)
			return
		}
		w.Write(v3Body(t, tracegen.Checkout(1)))
	})
	if _, err := c.Traces(context.Background(), ids); err == nil || !strings.Contains(err.Error(), "trace ffff not found in Jaeger at "+srv.URL) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Traces(context.Background(), []string{"zz-not-hex"}); err == nil || !strings.Contains(err.Error(), "hex digits") {
		t.Fatalf("bad ID: err = %v", err)
	}
}

func TestSearchHTTPQuery(t *testing.T) {
	var got url.Values
	ok := tracegen.Checkout(1)
	failed := tracegen.Checkout(2)
	failed.ID = "00000000000000000000000000000bad"
	for i := range failed.Spans {
		failed.Spans[i].TraceID = failed.ID
	}
	clean := tracegen.Checkout(3)
	clean.ID = "00000000000000000000000000000c1e"
	for i := range clean.Spans {
		clean.Spans[i].TraceID = clean.ID
		clean.Spans[i].Status = investigate.StatusUnset
		clean.Spans[i].Events = nil
		clean.Spans[i].Attrs = append(investigate.Attrs{}, clean.Spans[i].Attrs...)
		for j := range clean.Spans[i].Attrs {
			if strings.HasSuffix(clean.Spans[i].Attrs[j].Key, "status_code") || clean.Spans[i].Attrs[j].Key == "error" {
				clean.Spans[i].Attrs[j].Value = "200"
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/traces" {
			http.NotFound(w, r)
			return
		}
		got = r.URL.Query()
		w.Write(classicBody(t, ok, failed, clean))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, httpx.Endpoint{URL: srv.URL})
	start := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	q := investigate.TraceQuery{
		Service: "checkout", Operation: `POST /api/checkout?x=1&y="2"`, Start: start, End: start.Add(time.Hour),
		MinDuration: 500 * time.Millisecond, Tags: map[string]string{"user.tier": `gold" OR 1=1`}, Limit: 50,
	}
	ts, err := c.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("got %d traces, want 3", len(ts))
	}
	want := map[string]string{
		"service": "checkout", "operation": q.Operation, "start": "1793674800000000", "end": "1793678400000000",
		"minDuration": "500ms", "limit": "50", "tags": `{"user.tier":"gold\" OR 1=1"}`,
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("query %s = %q, want %q", k, got.Get(k), v)
		}
	}
	q.Errors, q.Tags, q.Limit = true, nil, 2
	ts, err = c.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("limit") != "10" {
		t.Errorf("errors-only search asked Jaeger for %s traces, want 5 × 2", got.Get("limit"))
	}
	if len(ts) != 2 || ts[0].ID != checkoutID || ts[1].ID != failed.ID {
		t.Fatalf("errors-only search: got %d traces", len(ts))
	}
	if _, err := c.Search(context.Background(), investigate.TraceQuery{}); err == nil {
		t.Fatal("search without a service: no error")
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x:1", "jaeger:16686", "ftp://user:pw-SECRET-1@host/", "grpcx://user:pw-SECRET-1@host:1"} {
		_, err := New(httpx.Endpoint{URL: u})
		if err == nil {
			t.Errorf("New(%q): no error", u)
			continue
		}
		if strings.Contains(err.Error(), "pw-SECRET-1") {
			t.Errorf("New(%q) leaks the password: %v", u, err)
		}
	}
}

// TestDecodeClassicAPIEnvelope reads the envelope Jaeger's /api/traces really sends: the trace list
// followed by total, limit, offset and errors.
func TestDecodeClassicAPIEnvelope(t *testing.T) {
	body := classicBody(t, tracegen.Checkout(1))
	body = bytes.TrimRight(body, "\n")
	body = append(body[:len(body)-1], []byte(`,"total":0,"limit":0,"offset":0,"errors":null}`)...)
	ts, err := DecodeClassic(bytes.NewReader(body))
	if err != nil || len(ts) != 1 || len(ts[0].Spans) != len(tracegen.Checkout(1).Spans) {
		t.Fatalf("got %d traces, %v", len(ts), err)
	}
	for _, doc := range []string{`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`, `{"data":null,"total":0}`} {
		if ts, err := DecodeClassic(strings.NewReader(doc)); err != nil || len(ts) != 0 {
			t.Errorf("%s: %d traces, %v", doc, len(ts), err)
		}
	}
}

// TestHTTPToGRPCPort: http:// pointed at a gRPC port names the mix-up.
func TestHTTPToGRPCPort(t *testing.T) {
	addr := strings.TrimPrefix(startFake(t, &fakeQuery{gotAuth: make(chan string, 1), spans: modelSpans(t)}), "grpc://")
	c, _ := newTestClient(t, httpx.Endpoint{URL: "http://" + addr, Retries: -1})
	_, err := c.Trace(context.Background(), checkoutID)
	want := "Jaeger at http://" + addr + " does not answer HTTP; is --jaeger-url the query HTTP port (16686)? For the gRPC port (16685) write grpc://"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v", err)
	}
}
