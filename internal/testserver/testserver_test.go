package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/servers"
)

func get(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, body)
	}
	return body
}

func post(t *testing.T, u, contentType string, body []byte) []byte {
	t.Helper()
	resp, err := http.Post(u, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s: %s", u, resp.Status, out)
	}
	return out
}

// TestBuildTools builds every pinned tool into the cache (scripts/tools.sh
// runs it alone to show how long that takes).
func TestBuildTools(t *testing.T) {
	if testing.Short() {
		t.Skip("real server: run without -short")
	}
	for _, tl := range servers.Tools {
		start := time.Now()
		path, fresh, err := servers.BuildTool(context.Background(), tl.Name)
		if err != nil {
			t.Fatal(err)
		}
		state := "cached"
		if fresh {
			state = "built"
		}
		t.Logf("%s: %s %s in %s", tl.Name, state, path, time.Since(start).Round(100*time.Millisecond))
	}
}

func TestJaeger(t *testing.T) {
	j := Jaeger(t)
	const traceID = "5b8efff798038103d269b633813fc60c"
	now := time.Now()
	otlp := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
"scopeSpans":[{"scope":{"name":"testserver"},"spans":[{"traceId":%q,"spanId":"eee19b7ec3c1b174","name":"GET /cart","kind":2,
"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`, traceID, now.Add(-time.Second).UnixNano(), now.UnixNano())
	post(t, j.OTLPHTTP+"/v1/traces", "application/json", []byte(otlp))

	var got struct {
		Data []struct {
			TraceID string `json:"traceID"`
			Spans   []struct {
				OperationName string `json:"operationName"`
			} `json:"spans"`
		} `json:"data"`
	}
	if err := json.Unmarshal(get(t, j.QueryHTTP+"/api/traces/"+traceID), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 1 || got.Data[0].TraceID != traceID || len(got.Data[0].Spans) != 1 || got.Data[0].Spans[0].OperationName != "GET /cart" {
		t.Fatalf("trace not found as posted: %+v", got)
	}
	if !strings.Contains(string(get(t, j.QueryHTTP+"/api/v3/traces/"+traceID)), "GET /cart") {
		t.Fatal("api/v3 does not return the trace")
	}
	c, err := net.DialTimeout("tcp", j.QueryGRPC, 2*time.Second)
	if err != nil {
		t.Fatalf("query gRPC port: %v", err)
	}
	c.Close()
}

func TestTwoJaegers(t *testing.T) {
	a, b := Jaeger(t), Jaeger(t)
	if a.QueryHTTP == b.QueryHTTP || a.OTLPHTTP == b.OTLPHTTP {
		t.Fatalf("two Jaegers share ports: %+v %+v", a, b)
	}
}

func TestVictoriaLogs(t *testing.T) {
	v := VictoriaLogs(t)
	line := `{"ts":"2024-01-02T03:04:05Z","service":"payment","msg":"card declined for order 42","level":"error"}` + "\n"
	post(t, v.URL+"/insert/jsonline?_stream_fields=service&_time_field=ts&_msg_field=msg", "application/stream+json", []byte(line))
	q := v.URL + "/select/logsql/query?" + url.Values{"query": {`service:payment "card declined"`}}.Encode()
	deadline := time.Now().Add(15 * time.Second)
	for {
		body := get(t, q)
		if strings.Contains(string(body), "card declined for order 42") {
			var rec map[string]string
			if err := json.Unmarshal(bytes.SplitN(body, []byte("\n"), 2)[0], &rec); err != nil {
				t.Fatal(err)
			}
			if rec["_time"] != "2024-01-02T03:04:05Z" || rec["level"] != "error" {
				t.Fatalf("record: %v", rec)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingested line not found; last answer: %q", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestPrometheus(t *testing.T) {
	// Six samples a minute apart, three hours ago, with no trailing "# EOF".
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Minute).Unix()
	var om bytes.Buffer
	om.WriteString("# HELP dbg_test_requests_total Requests.\n# TYPE dbg_test_requests_total counter\n")
	for i := range 6 {
		fmt.Fprintf(&om, "dbg_test_requests_total{service=\"payment\"} %d %d\n", i*10, base+int64(i)*60)
	}
	dir := CreateBlocks(t, om.Bytes())
	blocks, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	if len(blocks) == 0 {
		t.Fatalf("promtool made no block in %s", dir)
	}
	p := Prometheus(t, dir)

	at := base + 4*60 + 30 // 30s after the fifth sample
	q := p.URL + "/api/v1/query?" + url.Values{"query": {`dbg_test_requests_total{service="payment"}`}, "time": {fmt.Sprint(at)}}.Encode()
	var got struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(get(t, q), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "success" || len(got.Data.Result) != 1 || got.Data.Result[0].Value[1] != "40" {
		t.Fatalf("instant query at %d: %+v", at, got)
	}
}

func TestPostgres(t *testing.T) {
	pg := Postgres(t)
	c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", pg.Host, pg.Port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	psql := filepath.Join(pg.BinDir, "psql")
	if _, err := exec.LookPath(psql); err != nil {
		t.Logf("no psql (%v): checked the port only", err)
		return
	}
	out, err := exec.Command(psql, pg.DSN, "-X", "-A", "-t", "-c", "select current_user || '@' || current_database()").CombinedOutput()
	if err != nil {
		t.Fatalf("psql %s: %v\n%s", pg.DSN, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "dbg@dbg" {
		t.Fatalf("psql: %q", got)
	}
}

func TestShortSkips(t *testing.T) {
	if !testing.Short() {
		t.Skip("checks -short behaviour")
	}
	ran := false
	t.Run("jaeger", func(t *testing.T) {
		defer func() { ran = true }()
		Jaeger(t)
		t.Fatal("Jaeger did not skip in -short mode")
	})
	if !ran {
		t.Fatal("subtest did not run")
	}
}
