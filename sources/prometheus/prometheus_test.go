package prometheus

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// fakeAPI answers the Prometheus HTTP API calls dbg hotspots makes: every known metric name exists, every
// label exists, queries answer nothing. It records every PromQL it receives.
type fakeAPI struct {
	svc     string // the service every series belongs to ("shop" when empty)
	mu      sync.Mutex
	queries []string
	auth    []string
	status  int    // when set, every call answers this status
	body    string // with status
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Scope-OrgID"))
	if q := r.Form.Get("query"); q != "" {
		f.queries = append(f.queries, q)
	}
	f.queries = append(f.queries, r.Form["match[]"]...)
	status, body := f.status, f.body
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return
	}
	var data any
	switch {
	case strings.HasSuffix(r.URL.Path, "/label/__name__/values"):
		var names []string
		for _, c := range Conventions {
			names = append(names, c.Histogram+"_bucket", c.CounterName())
		}
		for _, sc := range saturationChecks {
			names = append(names, sc.metrics...)
		}
		data = names
	case strings.HasSuffix(r.URL.Path, "/values"):
		data = []string{f.service()}
	case strings.HasSuffix(r.URL.Path, "/series"):
		// One series of the service per match[], named by the selector's metric.
		var sets []map[string]string
		for _, m := range r.Form["match[]"] {
			name, _, _ := strings.Cut(m, "{")
			if name == "" {
				name, _ = strconv.Unquote(strings.SplitN(strings.TrimPrefix(m, "{"), ",", 2)[0])
			}
			sets = append(sets, map[string]string{"__name__": name, "service": f.service(), "job": f.service(), "handler": "/a", "code": "200"})
		}
		data = sets
	case strings.HasSuffix(r.URL.Path, "/labels"):
		data = []string{"__name__", "service", "handler", "code", "le", "job", "http_route", "http_response_status_code"}
	case strings.HasSuffix(r.URL.Path, "/query"):
		data = map[string]any{"resultType": "vector", "result": []any{}}
	case strings.HasSuffix(r.URL.Path, "/query_range"):
		data = map[string]any{"resultType": "matrix", "result": []any{}}
	default:
		w.WriteHeader(404)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data, "warnings": []string{"fake warning"}})
}

func (f *fakeAPI) service() string {
	if f.svc == "" {
		return "shop"
	}
	return f.svc
}

func testWindow() investigate.Window {
	end := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	w, _ := investigate.ParseWindow("30m", end.Format(time.RFC3339), "", end)
	return w
}

// skeleton replaces the content of every PromQL string literal with "S", so two queries that differ only
// in label values compare equal. It fails on an unterminated literal.
func skeleton(t *testing.T, q string) (string, []string) {
	t.Helper()
	var b strings.Builder
	var lits []string
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c != '"' && c != '\'' && c != '`' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for ; j < len(q) && q[j] != c; j++ {
			if q[j] == '\\' && c != '`' {
				j++
			}
		}
		if j >= len(q) {
			t.Fatalf("unterminated string literal in %s", q)
		}
		lit, err := strconv.Unquote(`"` + strings.ReplaceAll(q[i+1:j], `\'`, `'`) + `"`)
		if err != nil {
			t.Fatalf("literal %s in %s: %v", q[i:j+1], q, err)
		}
		lits = append(lits, lit)
		b.WriteString(`"S"`)
		i = j
	}
	return b.String(), lits
}

// TestHostileServiceNameCannotChangeQuery proves a service name is only ever a string literal: the
// queries built for hostile names have exactly the structure of those built for a plain name, and the
// literal holds the name itself.
func TestHostileServiceNameCannotChangeQuery(t *testing.T) {
	run := func(service string) []string {
		f := &fakeAPI{svc: service}
		srv := httptest.NewServer(f)
		defer srv.Close()
		s := newSource(t, srv.URL)
		if _, _, err := s.Hotspots(context.Background(), HotspotQuery{Window: testWindow(), Service: service}); err != nil {
			t.Fatal(err)
		}
		sort := slices.Clone(f.queries)
		slices.Sort(sort)
		return sort
	}
	plain := run("shop")
	if len(plain) < 10 || !slices.ContainsFunc(plain, func(q string) bool { return strings.HasPrefix(q, "histogram_quantile") }) {
		t.Fatalf("only %d queries, or none for latency: %q", len(plain), plain)
	}
	var want []string
	for _, q := range plain {
		sk, _ := skeleton(t, q)
		want = append(want, sk)
	}
	slices.Sort(want)
	for _, name := range []string{
		`shop"} or vector(1) or {x="`,
		`shop\"}) or up #`,
		"shop\n}[5m]))",
		`shop'`, "shop`", `.*`, "s\x00hop", "ünïcode\u202e",
	} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			var got []string
			for _, q := range run(name) {
				sk, lits := skeleton(t, q)
				got = append(got, sk)
				found := false
				for _, l := range lits {
					if l == name || strings.Contains(l, regexpQuoteMeta(name)) {
						found = true
					}
				}
				if !found && strings.Contains(q, "{") && sk != `{"S"}` { // label-names calls match the bare metric name
					t.Errorf("no literal holds the service name in %s (literals %q)", q, lits)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("query structure changed with service %q:\n got %q\nwant %q", name, got, want)
			}
		})
	}
}

func regexpQuoteMeta(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestPromQLBuilders(t *testing.T) {
	tests := []struct{ got, want string }{
		{Selector("http_requests_total"), "http_requests_total"},
		{Selector("http_requests_total", Match("code", "500"), ""), `http_requests_total{code="500"}`},
		{Selector("http.server.request.duration_bucket", Match("http.route", "/a")), `{"http.server.request.duration_bucket", "http.route"="/a"}`},
		{Selector("http.server.request.duration_count"), `{"http.server.request.duration_count"}`},
		{By("le", "service.name", "http.route", "le", ""), `le, "service.name", "http.route"`},
		{Match("service", `a"b\c`), `service="a\"b\\c"`},
		{MatchRegex("job", "(?:.*/)?"+regexpQuoteMeta("a.b")), `job=~"(?:.*/)?a\\.b"`},
		{serviceMatcher("job", "pay.ment"), `job=~"(?:.*/)?pay\\.ment"`},
		{serviceMatcher("service", "pay.ment"), `service=~"pay\\.ment(?:@.*)?"`},
		{serviceMatcher("app", "pay.ment"), `app="pay.ment"`},
		{promDuration(30 * time.Minute), "30m"},
		{promDuration(24 * time.Hour), "1d"},
		{promDuration(90 * time.Second), "1m30s"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %s, want %s", i, tt.got, tt.want)
		}
	}
}

// resolved is the Use discovery makes of convention c's family metric with these labels.
func resolved(t *testing.T, c Convention, role, metric string, labels []string, services ...string) *Use {
	t.Helper()
	kind := "histogram"
	if c.Counter != "" && role == "requests" {
		kind = "counter"
	}
	cand := &candidate{conv: &c, base: strings.TrimSuffix(metric, "_bucket"), kind: kind, role: role, metric: metric, probe: metric, labels: labels}
	u := cand.resolve("")
	if u == nil {
		t.Fatalf("%s not resolved: %s", metric, cand.skipped)
	}
	u.raw = map[string]map[string]bool{}
	for _, s := range services {
		u.Services = append(u.Services, s)
		u.raw[s] = map[string]bool{s: true}
	}
	return u
}

// TestUTF8Convention builds the queries for Prometheus 3's dotted OpenTelemetry names (the Prometheus
// run in tests is 2.x, which cannot store them): names and labels are quoted, never bare.
func TestUTF8Convention(t *testing.T) {
	var c Convention
	for _, cc := range Conventions {
		if cc.Name == "opentelemetry-http-utf8" {
			c = cc
		}
	}
	u := resolved(t, c, "latency", c.Histogram+"_bucket", []string{"__name__", "service.name", "http.route", "http.response.status_code", "le"}, "pay")
	li := &investigate.LatencyInput{}
	s := &Source{base: "http://p"}
	var mu sync.Mutex
	latencyJobs(&recorder{s: s}, planFor(u, "pay"), li, "pay", testWindow(), "30m", "2m", time.Minute, &mu)
	want := `histogram_quantile(0.99, sum by (le, "service.name", "http.route") (rate({"http.server.request.duration_seconds_bucket", "service.name"="pay"}[30m]))) * 1000`
	if li.Query != want {
		t.Errorf("query\n got %s\nwant %s", li.Query, want)
	}
	ri := &investigate.RequestInput{}
	ru := resolved(t, c, "requests", c.CounterName(), []string{"service.name", "http.route", "http.response.status_code"})
	requestJobs(&recorder{s: s}, planFor(ru, ""), ri, "", testWindow(), "30m", "2m", time.Minute, &mu)
	wantErr := `sum by ("service.name", "http.route") (rate({"http.server.request.duration_seconds_count", "http.response.status_code"=~"5.."}[30m]))`
	if ri.ErrorQuery != wantErr {
		t.Errorf("error query\n got %s\nwant %s", ri.ErrorQuery, wantErr)
	}
}

func TestResolveLabels(t *testing.T) {
	grpc := Conventions[5]
	p := planFor(resolved(t, grpc, "requests", "grpc_server_handled_total", []string{"grpc_service", "grpc_method", "grpc_code", "job"}), "")
	if !slices.Equal(p.groups, []string{"job", "grpc_service", "grpc_method"}) {
		t.Errorf("grpc groups = %v", p.groups)
	}
	k := p.key(map[string]string{"job": "prod/shop", "grpc_service": "a.B", "grpc_method": "Get"}, "")
	if k != (investigate.EndpointKey{Service: "shop", Operation: "a.B/Get"}) {
		t.Errorf("key = %+v", k)
	}
	classic := Conventions[0]
	u := resolved(t, classic, "requests", "http_requests_total", []string{"uri", "status", "endpoint"})
	if !slices.Equal(u.Route, []string{"uri"}) || u.StatusLabel != "status" || u.ErrorMatch != ErrorMatcher("status") {
		t.Errorf("route %v, status %s %s: want uri, and the status label found by shape when code is absent", u.Route, u.StatusLabel, u.ErrorMatch)
	}
	u = resolved(t, classic, "requests", "http_requests_total", []string{"code", "job"})
	if len(u.Route) != 0 || !strings.Contains(u.Why, "rows per service") {
		t.Errorf("route %v, why %q", u.Route, u.Why)
	}
}

func TestParseOverride(t *testing.T) {
	c, err := ParseOverride(map[string]any{"histogram": "req_latency_ms_bucket", "unit": "milliseconds",
		"counter": "reqs_total", "status-label": "status", "route-labels": []any{"op"}, "service-labels": "app"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Histogram != "req_latency_ms" || c.MsPerUnit != 1 || c.StatusLabel != "status" || c.RouteLabels[0] != "op" || c.ServiceLabels[0] != "app" || !c.Override {
		t.Errorf("override = %+v", c)
	}
	for _, bad := range []map[string]any{
		{"histogram": "x", "unit": "hours"},
		{"histogram": "x", "error-regex": "("},
		{"unit": "seconds"},
		{"histogram": "x", "colour": "red"},
	} {
		if _, err := ParseOverride(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if c, err := ParseOverride(nil); c != nil || err != nil {
		t.Errorf("empty override = %v, %v", c, err)
	}
}

// TestErrorsAreOneLine: 4xx and 5xx from a proxy in front of Prometheus, with auth configured, give one
// line naming the server, never the secret; auth and headers reach the server; warnings surface.
func TestErrorsAreOneLine(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{401, "unauthorized\n", "HTTP 401: unauthorized (check the token"},
		{403, "forbidden", "HTTP 403"},
		{404, "404 page not found", "check --prometheus-url and its path prefix"},
		{500, "<html>\n<b>boom</b>\n</html>", "HTTP 500: <html> <b>boom</b> </html>"},
		{502, "bad gateway", "HTTP 502"},
		{200, "{not json", "unexpected answer"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			f := &fakeAPI{status: tt.status, body: tt.body}
			srv := httptest.NewServer(f)
			defer srv.Close()
			s, err := New(httpx.Endpoint{URL: srv.URL, Token: "s3cret-token", Retries: -1, Headers: map[string]string{"X-Scope-OrgID": "team"}})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.Hotspots(context.Background(), HotspotQuery{Window: testWindow()})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, srv.URL) || strings.Contains(msg, "\n") || strings.Contains(msg, "s3cret") {
				t.Errorf("error = %q, want one line with %q and the URL, no secret", msg, tt.want)
			}
			if len(f.auth) == 0 || f.auth[0] != "Bearer s3cret-token|team" {
				t.Errorf("auth sent = %v", f.auth)
			}
		})
	}
	t.Run("basic auth and warnings", func(t *testing.T) {
		f := &fakeAPI{}
		srv := httptest.NewServer(f)
		defer srv.Close()
		s, _ := New(httpx.Endpoint{URL: srv.URL, Username: "u", Password: "p"})
		in, _, err := s.Hotspots(context.Background(), HotspotQuery{Window: testWindow()})
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Warnings) != 1 || in.Warnings[0] != "fake warning" {
			t.Errorf("warnings = %v", in.Warnings)
		}
		if f.auth[0] != "Basic dTpw|" {
			t.Errorf("auth = %v", f.auth[0])
		}
	})
}

// TestRetriesServerErrors: a 503 that clears is retried through the shared transport.
func TestRetriesServerErrors(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1767268800,"1"]}}`))
	}))
	defer srv.Close()
	s, err := New(httpx.Endpoint{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	smp, _, err := s.Query(context.Background(), "vector(1)", time.Time{})
	if err != nil || len(smp) != 1 || smp[0].Value != 1 || n != 2 {
		t.Fatalf("query = %v, %v after %d calls", smp, err, n)
	}
}

func TestGraphLink(t *testing.T) {
	s := &Source{base: "https://prom.example/prefix"}
	got := s.GraphLink(`sum(rate(x{a="b"}[5m]))`, time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	want := "https://prom.example/prefix/graph?g0.end_input=2026-01-01+12%3A00%3A00&g0.expr=sum%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29&g0.range_input=1h&g0.tab=0"
	if got != want {
		t.Errorf("link\n got %s\nwant %s", got, want)
	}
}

// FuzzQueryResponse feeds arbitrary bytes to the API decoding as a server's answer: an error or samples,
// never a panic.
func FuzzQueryResponse(f *testing.F) {
	f.Add([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]}]}}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"]]}]}}`))
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1,"x"]}}`))
	f.Add([]byte(`{"status":"success","data":[{"__name__":"a_bucket","le":"+Inf"}]}`))
	f.Add([]byte(`{"status":"success","data":{"a":[{"type":"counter","help":"h","unit":""}]}}`))
	var body []byte
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	s, err := New(httpx.Endpoint{URL: srv.URL, Retries: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mu.Lock()
		body = b
		mu.Unlock()
		_, _, _ = s.Query(context.Background(), "q", time.Unix(1, 0))
		_, _, _ = s.QueryRange(context.Background(), "q", time.Unix(1, 0), time.Unix(100, 0), time.Second)
		_, _, _ = s.LabelValues(context.Background(), "x", nil, time.Time{}, time.Time{})
		_, _, _ = s.LabelNames(context.Background(), []string{"x"}, time.Time{}, time.Time{})
		_, _, _ = s.Series(context.Background(), []string{"x"}, time.Time{}, time.Time{})
		_, _ = s.Metadata(context.Background())
	})
}
