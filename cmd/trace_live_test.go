package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/jaeger"
)

const checkoutTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// variant is the bundled checkout trace under another ID, its durations scaled by factor.
func variant(id string, factor float64) *investigate.Trace {
	tr := tracegen.Checkout(1)
	tr.ID = id
	for i := range tr.Spans {
		s := &tr.Spans[i]
		s.TraceID = id
		s.Start = tracegen.Epoch.Add(time.Duration(float64(s.Start.Sub(tracegen.Epoch)) * factor))
		s.Duration = time.Duration(float64(s.Duration) * factor)
	}
	return tr
}

// fakeJaeger answers like a Jaeger v1 without the v3 API: classic traces, search and services.
func fakeJaeger(t *testing.T, seen *[]string) *httptest.Server {
	t.Helper()
	traces := map[string]*investigate.Trace{
		checkoutTraceID:                    tracegen.Checkout(1),
		"00000000000000000000000000000002": variant("00000000000000000000000000000002", 0.5),
		"00000000000000000000000000000003": variant("00000000000000000000000000000003", 2),
	}
	write := func(w http.ResponseWriter, ts ...*investigate.Trace) {
		var b bytes.Buffer
		if err := jaeger.EncodeClassic(&b, ts); err != nil {
			t.Error(err)
		}
		w.Write(b.Bytes())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			*seen = append(*seen, r.Header.Get("Authorization"))
		}
		switch p := r.URL.Path; {
		case p == "/api/services":
			w.Write([]byte(`{"data":["frontend","checkout","payment"],"total":3}`))
		case p == "/api/traces":
			write(w, traces["00000000000000000000000000000002"], traces[checkoutTraceID], traces["00000000000000000000000000000003"])
		case strings.HasPrefix(p, "/api/traces/"):
			tr, ok := traces[strings.TrimPrefix(p, "/api/traces/")]
			if !ok {
				http.Error(w, `{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`, 404)
				return
			}
			write(w, tr)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTraceLiveMatchesFile(t *testing.T) {
	srv := fakeJaeger(t, nil)
	const ui = "https://jaeger.example.com"
	for _, format := range []string{"table", "json", "markdown"} {
		t.Run(format, func(t *testing.T) {
			code, fromFile, stderr := runDbg(t, nil, "trace", "--file", "../testdata/traces/checkout.json", "--jaeger-ui-url", ui, "-o", format)
			if code != 0 {
				t.Fatalf("file: exit %d: %s", code, stderr)
			}
			code, live, stderr := runDbg(t, nil, "trace", checkoutTraceID, "--jaeger-url", srv.URL, "--jaeger-ui-url", ui, "-o", format)
			if code != 0 {
				t.Fatalf("live: exit %d: %s", code, stderr)
			}
			if live != fromFile {
				t.Errorf("live output differs from --file:\n%s", firstDiff(fromFile, live))
			}
			if !strings.Contains(live, ui+"/trace/"+checkoutTraceID+"?uiFind=") {
				t.Errorf("no span deep link in the output")
			}
		})
	}
}

func TestTraceLiveErrors(t *testing.T) {
	srv := fakeJaeger(t, nil)
	// A port that accepts connections and never answers: Jaeger hung, or something else listening.
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	slow := hung.Addr().String()
	tests := []struct {
		name     string
		args     []string
		code     int
		stderrRe string
	}{
		{"not found", []string{"trace", "abcdef", "--jaeger-url", srv.URL}, 1,
			`^dbg: trace abcdef not found in Jaeger at ` + regexp.QuoteMeta(srv.URL) + ` \(check the ID and that the trace is still retained\)\n$`},
		{"one of several not found", []string{"trace", checkoutTraceID, "abcdef", "--jaeger-url", srv.URL}, 1, `trace abcdef not found in Jaeger at`},
		{"bad ID", []string{"trace", "not-an-id", "--jaeger-url", srv.URL}, 1, `trace ID "not-an-id": want 1 to 32 hex digits`},
		{"refused", []string{"trace", "abc", "--jaeger-url", "http://127.0.0.1:1"}, 1, `^dbg: Jaeger at http://127.0.0.1:1/api/v3/traces/abc: connection refused; is Jaeger running there, and is --jaeger-url right\?\n$`},
		{"no source", []string{"trace", "abc"}, 2, `no trace source; set --jaeger-url`},
		{"search flag without service", []string{"trace", "--operation", "x", "--jaeger-url", srv.URL}, 2, `--operation searches Jaeger and needs --service`},
		{"search without jaeger", []string{"trace", "--service", "checkout"}, 2, `searching needs Jaeger; set --jaeger-url`},
		{"bad tag", []string{"trace", "--service", "checkout", "--tag", "novalue", "--jaeger-url", srv.URL}, 2, `--tag "novalue": want key=value`},
		{"bad scheme", []string{"trace", "abc", "--jaeger-url", "ftp://x"}, 1, `scheme "ftp" is not http, https, grpc or grpcs`},
		{"slow http", []string{"trace", "abc", "--jaeger-url", "http://" + slow, "--timeout", "400ms"}, 1,
			`^dbg: Jaeger at http://` + slow + `/api/v3/traces/abc: no answer within 400ms; is Jaeger overloaded, or is the query too broad\? \(raise --timeout\)\n$`},
		{"slow grpc", []string{"trace", "abc", "--jaeger-url", "grpc://" + slow, "--timeout", "400ms"}, 1,
			`^dbg: Jaeger at grpc://` + slow + ` \(GetTrace\): no answer within 400ms; is Jaeger overloaded, or is the query too broad\? \(raise --timeout\)\n$`},
		{"refused grpc", []string{"trace", "abc", "--jaeger-url", "grpc://127.0.0.1:1"}, 1,
			`^dbg: Jaeger at grpc://127.0.0.1:1 \(GetTrace\): connection refused; is Jaeger running there, and is --jaeger-url right \(gRPC query port 16685\)\?\n$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runDbg(t, nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (%s)", code, tc.code, stderr)
			}
			if !regexp.MustCompile(tc.stderrRe).MatchString(stderr) {
				t.Errorf("stderr %q does not match %q", stderr, tc.stderrRe)
			}
		})
	}
}

func TestTraceSearchCommand(t *testing.T) {
	var seen []string
	srv := fakeJaeger(t, &seen)
	env := map[string]string{"DBG_JAEGER_URL": srv.URL, "DBG_JAEGER_TOKEN": "env-TOKEN-secret"}
	code, out, stderr := runDbg(t, env, "trace", "--service", "checkout", "--since", "2h", "--tag", "user.tier=gold", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res render.TraceSearch
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Traces) != 3 || res.Traces[0].TraceID != "00000000000000000000000000000003" || res.Traces[2].TraceID != "00000000000000000000000000000002" {
		t.Fatalf("not slowest first: %+v", res.Traces)
	}
	if res.Traces[0].Worst == nil || !res.Traces[0].Error || res.Traces[0].Link != srv.URL+"/trace/00000000000000000000000000000003" {
		t.Errorf("summary: %+v", res.Traces[0])
	}
	if res.Aggregate != nil || res.Tags["user.tier"] != "gold" || res.Limit != 20 || !res.End.Equal(time.Date(2026, 11, 3, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("search echo: %+v", res)
	}

	code, out, stderr = runDbg(t, env, "trace", "--service", "checkout", "--analyze")
	if code != 0 {
		t.Fatalf("analyze: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"FINDINGS ACROSS TRACES", "N+1 recurs in 2 of 3 traces", "CRITICAL PATH TIME BY OPERATION", "fraud-check", "TRACES, SLOWEST FIRST"} {
		if !strings.Contains(out, want) {
			t.Errorf("analyze output lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = runDbg(t, env, "trace", "--service", "checkout", "--analyze", "-o", "json")
	res = render.TraceSearch{}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Aggregate == nil {
		t.Fatalf("analyze json: %v", err)
	}
	for _, f := range res.Aggregate.Findings {
		span, _ := f.Evidence["span_id"].(string)
		if span == "" {
			span, _ = f.Evidence["parent_span_id"].(string)
		}
		want := srv.URL + "/trace/" + f.TraceIDs[0] + "?uiFind=" + span
		if span == "" || len(f.Links) != 1 || f.Links[0] != want {
			t.Errorf("%s %s: links %v, want %s", f.Kind, f.Operation, f.Links, want)
		}
	}
	if strings.Contains(out+stderr, "env-TOKEN-secret") {
		t.Error("token in output")
	}
	if seen[0] != "Bearer env-TOKEN-secret" {
		t.Errorf("token not sent: %q", seen[0])
	}
}

func TestServiceCompletion(t *testing.T) {
	srv := fakeJaeger(t, nil)
	code, out, stderr := runDbg(t, map[string]string{"DBG_JAEGER_URL": srv.URL}, "__complete", "trace", "--service", "ch")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out, "checkout\n:4\n") {
		t.Errorf("completion: %q", out)
	}
	// An unreachable Jaeger completes nothing, quickly.
	start := time.Now()
	_, out, _ = runDbg(t, map[string]string{"DBG_JAEGER_URL": "http://127.0.0.1:1"}, "__complete", "trace", "--service", "")
	if !strings.HasPrefix(out, ":4\n") || time.Since(start) > 3*time.Second {
		t.Errorf("completion against a dead Jaeger: %q after %s", out, time.Since(start))
	}
}

// TestTraceRealJaeger runs dbg trace against a real Jaeger over each API: the output for the bundled
// trace is byte for byte the --file output, and a search finds and ranks the workload.
func TestTraceRealJaeger(t *testing.T) {
	j := testserver.Jaeger(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	otlpJSON, err := os.ReadFile("../testdata/traces/checkout.otlp.json")
	if err != nil {
		t.Fatal(err)
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(otlpJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := tracegen.PostOTLP(ctx, j.OTLPHTTP, td); err != nil {
		t.Fatal(err)
	}
	// The test factory's clock is 2026-11-03T04:00Z; the workload sits in the window before it.
	wl, _ := tracegen.Workload(7, 30, time.Date(2026, 11, 3, 3, 50, 0, 0, time.UTC))
	if err := tracegen.PostOTLP(ctx, j.OTLPHTTP, wl); err != nil {
		t.Fatal(err)
	}
	const ui = "https://jaeger.example.com"
	_, want, _ := runDbg(t, nil, "trace", "--file", "../testdata/traces/checkout.json", "--jaeger-ui-url", ui, "-o", "json")
	for _, url := range []string{j.QueryHTTP, "grpc://" + j.QueryGRPC} {
		code, got, stderr := runDbg(t, nil, "trace", checkoutTraceID, "--jaeger-url", url, "--jaeger-ui-url", ui, "-o", "json")
		if code != 0 || got != want {
			t.Errorf("%s: exit %d (%s); output differs from --file:\n%s", url, code, stderr, firstDiff(want, got))
		}
		code, _, stderr = runDbg(t, nil, "trace", "0123456789abcdef0123456789abcdef", "--jaeger-url", url)
		if code != 1 || stderr != "dbg: trace 0123456789abcdef0123456789abcdef not found in Jaeger at "+url+" (check the ID and that the trace is still retained)\n" {
			t.Errorf("%s: not found: exit %d, %q", url, code, stderr)
		}
		code, out, stderr := runDbg(t, nil, "trace", "--service", "checkout", "--since", "15m", "--analyze", "--jaeger-url", url, "-o", "json")
		if code != 0 {
			t.Fatalf("%s: search: exit %d: %s", url, code, stderr)
		}
		var res render.TraceSearch
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Traces) != 30 || res.Aggregate == nil || res.Aggregate.TraceCount != 30 {
			t.Fatalf("%s: %d traces found, want 30", url, len(res.Traces))
		}
		for i := 1; i < len(res.Traces); i++ {
			if res.Traces[i].DurationMs > res.Traces[i-1].DurationMs {
				t.Fatalf("%s: not slowest first at %d", url, i)
			}
		}
		var n1 *investigate.Finding
		for i, f := range res.Aggregate.Findings {
			if f.Kind == investigate.KindNPlusOne {
				n1 = &res.Aggregate.Findings[i]
				break
			}
		}
		// Every 4th trace of the workload has 12 sequential queries: 8 of 30.
		if n1 == nil || n1.Evidence["traces"] != float64(8) || n1.Evidence["count"] != float64(12) {
			t.Errorf("%s: aggregated N+1: %+v", url, n1)
		}
	}
}
