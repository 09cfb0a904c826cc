package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func perSecond(n int) vegeta.Rate { return vegeta.Rate{Freq: n, Per: time.Second} }

func TestRequestsCountAndRate(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL, Rate: perSecond(100), Requests: 150})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 150 || hits.Load() != 150 {
		t.Fatalf("sent %d, server saw %d; want exactly 150", res.Requests, hits.Load())
	}
	// vegeta paces at 100/s: 150 requests take ~1.5 s; allow for a busy shared machine (vegeta paces open-loop, so load slows the run only a little).
	if res.Rate < 80 || res.Rate > 115 {
		t.Errorf("achieved rate %.1f/s, want about 100/s", res.Rate)
	}
	if res.SuccessRatio != 1 || res.StatusCodes["200"] != 150 || len(res.Errors) != 0 {
		t.Errorf("success %.3f codes %v errors %v", res.SuccessRatio, res.StatusCodes, res.Errors)
	}

	// By duration: 50/s for 2 s is about 100 requests.
	hits.Store(0)
	res, err = Run(context.Background(), Options{URL: srv.URL, Rate: perSecond(50), Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 90 || res.Requests > 102 || int64(res.Requests) != hits.Load() {
		t.Errorf("2 s at 50/s sent %d (server saw %d), want about 100", res.Requests, hits.Load())
	}
}

func TestLatencyMatchesServerDelay(t *testing.T) {
	const delay = 80 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(delay) }))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL, Rate: perSecond(40), Requests: 60, Concurrency: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Latency.P50Ms < 80 || res.Latency.P50Ms > 200 || res.Latency.P99Ms < 80 || res.Latency.P99Ms > 600 {
		t.Errorf("latency %+v, want p50 and p99 just above the server's 80 ms", res.Latency)
	}
	total := 0
	for _, b := range res.Histogram {
		total += b.Count
		if b.Count > 0 && b.ToMs != 0 && b.ToMs <= 80 {
			t.Errorf("bucket %+v holds requests faster than the server's delay", b)
		}
	}
	if total != 60 {
		t.Errorf("histogram counts %d requests, want 60: %+v", total, res.Histogram)
	}
}

func TestCorrelationAndTraceparent(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // trace ID → correlation ID
	tp := regexp.MustCompile(`^00-([0-9a-f]{32})-[0-9a-f]{16}-01$`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := tp.FindStringSubmatch(r.Header.Get("traceparent"))
		if m == nil {
			http.Error(w, "bad traceparent", 400)
			return
		}
		mu.Lock()
		seen[m[1]] = r.Header.Get("X-Correlation-ID")
		mu.Unlock()
		if r.Header.Get("X-Test") != "yes" || r.Method != http.MethodPost {
			http.Error(w, "header or method lost", 400)
		}
		if strings.HasSuffix(m[1], "3") {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL, Method: "POST", Body: []byte(`{}`), Header: http.Header{"X-Test": {"yes"}},
		Rate: perSecond(100), Requests: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 20 {
		t.Fatalf("server saw %d distinct trace IDs, want 20", len(seen))
	}
	if res.StatusCodes["400"] != 0 {
		t.Fatalf("server rejected requests: %v", res.StatusCodes)
	}
	if len(res.TraceIDs) == 0 {
		t.Fatal("no trace IDs in the result")
	}
	for _, id := range res.TraceIDs {
		c, ok := seen[id]
		if !ok {
			t.Errorf("trace ID %s in the result was never sent", id)
		}
		if !strings.HasPrefix(c, res.CorrelationPrefix) {
			t.Errorf("correlation ID %q does not start with the run's prefix %q", c, res.CorrelationPrefix)
		}
	}
	// Requests whose seq ends in 3 (3, 13) failed: their trace IDs are listed.
	failed := 0
	for _, id := range res.TraceIDs {
		if strings.HasSuffix(id, "3") {
			failed++
		}
	}
	if res.Errors[ClassHTTP5xx] != 2 || failed != 2 {
		t.Errorf("errors %v, failed trace IDs listed %d; want 2 and 2", res.Errors, failed)
	}
}

func TestErrorClasses(t *testing.T) {
	// refused: a port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	// reset: the server accepts, reads the request and closes with RST (linger 0).
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	go func() {
		for {
			c, err := rl.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}()
		}
	}()

	// timeout: the server answers after the client's limit.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()

	for _, tc := range []struct{ name, url, class string }{
		{"refused", closed, ClassRefused},
		{"reset", "http://" + rl.Addr().String(), ClassReset},
		{"timeout", slow.URL, ClassTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{URL: tc.url, Rate: perSecond(20), Requests: 5, Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors[tc.class] != 5 || res.SuccessRatio != 0 {
				t.Errorf("errors %v (samples %q), want 5 × %s", res.Errors, res.ErrorSamples, tc.class)
			}
		})
	}
}

func TestNoRequestToAnotherHost(t *testing.T) {
	var other atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other.Add(1) }))
	defer elsewhere.Close()
	// "localhost" is another host name than "127.0.0.1", even if it resolves to the same machine.
	away := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		if r.URL.Path == "/final" {
			return
		}
		http.Redirect(w, r, away+"/x", http.StatusFound)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL + "/away", Rate: perSecond(50), Requests: 5})
	if err != nil {
		t.Fatal(err)
	}
	if other.Load() != 0 || res.Errors[ClassOffHost] != 5 || res.StatusCodes["302"] != 5 {
		t.Errorf("other host got %d requests; errors %v codes %v", other.Load(), res.Errors, res.StatusCodes)
	}
	res, err = Run(context.Background(), Options{URL: srv.URL + "/same", Rate: perSecond(50), Requests: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCodes["200"] != 5 {
		t.Errorf("a same-host redirect was not followed: %v", res.StatusCodes)
	}
}

func TestCeiling(t *testing.T) {
	o := Options{URL: "http://127.0.0.1:1/", Rate: perSecond(100), Duration: time.Minute}
	if err := o.Validate(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "6000 requests") || !strings.Contains(err.Error(), "--allow-large-load") {
		t.Errorf("100/s for 1m: %v", err)
	}
	o.AllowLargeLoad = true
	if err := o.Validate(); err != nil {
		t.Errorf("with the override: %v", err)
	}
	o = Options{URL: "http://127.0.0.1:1/", Rate: perSecond(1000), Requests: 100}
	if err := o.Validate(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1000/s: %v", err)
	}
	for _, bad := range []Options{
		{URL: "ftp://x/", Rate: perSecond(1), Requests: 1},
		{URL: "http:///nohost", Rate: perSecond(1), Requests: 1},
		{URL: "http://x/", Rate: perSecond(1)},
		{URL: "http://x/", Requests: 1},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestExpectAndCompare(t *testing.T) {
	r := &Result{Requests: 100, SuccessRatio: 0.98, Rate: 49, Latency: Latency{P50Ms: 20, P99Ms: 310}}
	exp, err := ParseExpect("p99<300ms, errors<1%")
	if err != nil {
		t.Fatal(err)
	}
	v := Evaluate(r, exp)
	if v.Pass || v.Checks[0].Pass || v.Checks[1].Pass || v.Checks[1].Actual != 0.02 {
		t.Errorf("verdict %+v", v)
	}
	exp, _ = ParseExpect("p99<=1s,errors<0.05,rate>=45,p50<25")
	if v := Evaluate(r, exp); !v.Pass {
		t.Errorf("verdict %+v", v)
	}
	for _, bad := range []string{"", "p99", "p77<3ms", "p99<fast", "errors<120%", "errors<2"} {
		if _, err := ParseExpect(bad); err == nil {
			t.Errorf("--expect %q accepted", bad)
		}
	}
	before := &Result{Requests: 100, SuccessRatio: 1, Latency: Latency{P50Ms: 20, P99Ms: 100}}
	if v := CompareTo(r, before); v.Pass {
		t.Errorf("p99 100 → 310 passed: %+v", v)
	}
	same := &Result{Requests: 100, SuccessRatio: 0.995, Latency: Latency{P50Ms: 22, P99Ms: 110}}
	if v := CompareTo(same, before); !v.Pass {
		t.Errorf("a within-noise rerun failed: %+v", v)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"50/s": 50, "50": 50, "300/1m": 5, "5/100ms": 50, "120/m": 2} {
		r, err := ParseRate(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := (Options{Rate: r}).RatePerSecond(); got != want {
			t.Errorf("%s: %g/s, want %g", in, got, want)
		}
	}
	for _, bad := range []string{"", "0/s", "-1", "fast", "5/x"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	for text, want := range map[string]string{
		`Get "http://x": dial tcp 127.0.0.1:1: connect: connection refused`:                                 ClassRefused,
		`Get "http://x": read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer`:                 ClassReset,
		`Get "http://x": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`:        ClassTimeout,
		`Get "https://x": tls: failed to verify certificate: x509: certificate signed by unknown authority`: ClassTLS,
		`Get "http://nope": dial tcp: lookup nope: no such host`:                                            ClassDNS,
		`Get "http://x": EOF`: ClassEOF,
	} {
		if got := Classify(0, text); got != want {
			t.Errorf("%q: %s, want %s", text, got, want)
		}
	}
	if Classify(200, "") != "" || Classify(503, "503 Service Unavailable") != ClassHTTP5xx || Classify(404, "404 Not Found") != ClassHTTP4xx {
		t.Error("status classes")
	}
}
