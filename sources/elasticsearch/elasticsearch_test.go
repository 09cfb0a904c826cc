package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// Response shapes follow the official documentation:
//   - search API and its hits/_shards/timed_out fields:
//     https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-search
//   - search_after with a point in time, the pit_id in each answer and the sort values of each hit:
//     https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results
//   - OpenSearch's point in time (POST /<index>/_search/point_in_time → {"pit_id": ...},
//     DELETE /_search/point_in_time {"pit_id": [...]}):
//     https://docs.opensearch.org/latest/search-plugins/searching-data/point-in-time-api/
//   - error bodies {"error":{"root_cause":[...],"type":...,"reason":...},"status":400}:
//     https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions (common error shape)

type doc struct {
	ts  time.Time
	src map[string]any
}

// fakeES serves _search over docs sorted by @timestamp, paging with search_after on [millis, tiebreak].
type fakeES struct {
	t        *testing.T
	docs     []doc
	flavor   string // "es", "opensearch", "none" (no point in time at all)
	bodies   []map[string]any
	paths    []string
	closed   []string
	partial  bool
	searches int
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/_pit"):
		if f.flavor != "es" {
			w.WriteHeader(405)
			fmt.Fprintf(w, `{"error":"Incorrect HTTP method for uri [%s] and method [POST], allowed: [GET]","status":405}`, r.URL.Path)
			return
		}
		fmt.Fprint(w, `{"id":"46ToAwMDaWR5BXV1aWQyKwZub2RlXzMAAAAAAAAAACoBYwADaWR4"}`)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/_search/point_in_time"):
		if f.flavor != "opensearch" {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [_search]"}],"type":"index_not_found_exception","reason":"no such index [_search]"},"status":404}`)
			return
		}
		fmt.Fprint(w, `{"pit_id":"o463QQEPbXktaW5kZXgtMDAwMDAxFnNOWU43ckt3U3IyaFVpbGE1UWEtMncAARY","_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"creation_time":1658146050064}`)
	case r.Method == "DELETE":
		f.closed = append(f.closed, r.URL.Path+" "+string(body))
		fmt.Fprint(w, `{"succeeded":true,"num_freed":1}`)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/_search"):
		f.searches++
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"root_cause":[{"type":"parsing_exception","reason":"bad body"}],"type":"parsing_exception","reason":"bad body"},"status":400}`)
			return
		}
		f.bodies = append(f.bodies, req)
		if _, hasPIT := req["pit"]; hasPIT != (r.URL.Path == "/_search") {
			f.t.Errorf("pit in body %v but path %s", hasPIT, r.URL.Path)
		}
		size := int(req["size"].(float64))
		var after []float64
		if sa, ok := req["search_after"].([]any); ok {
			for _, v := range sa {
				after = append(after, v.(float64))
			}
		}
		hits := []map[string]any{}
		for i, d := range f.docs {
			key := []float64{float64(d.ts.UnixMilli()), float64(i)}
			if after != nil && (key[0] < after[0] || key[0] == after[0] && key[1] <= after[1]) {
				continue
			}
			if len(hits) == size {
				break
			}
			hits = append(hits, map[string]any{"_index": "logs-app-2026.11.25", "_id": fmt.Sprint(i), "_score": nil,
				"_source": d.src, "sort": key})
		}
		shards := map[string]any{"total": 2, "successful": 2, "skipped": 0, "failed": 0}
		if f.partial {
			shards = map[string]any{"total": 2, "successful": 1, "skipped": 0, "failed": 1, "failures": []any{map[string]any{
				"shard": 1, "index": "logs-app-2026.11.25", "node": "n1",
				"reason": map[string]any{"type": "node_not_connected_exception", "reason": "[n1] Node not connected"}}}}
		}
		resp := map[string]any{"took": 3, "timed_out": false, "_shards": shards,
			"hits": map[string]any{"total": map[string]any{"value": 10000, "relation": "gte"}, "max_score": nil, "hits": hits}}
		if r.URL.Path == "/_search" {
			resp["pit_id"] = fmt.Sprintf("pit-after-%d", f.searches)
		}
		json.NewEncoder(w).Encode(resp)
	default:
		http.NotFound(w, r)
	}
}

func ecsDoc(ts time.Time, svc, level, msg, trace string) doc {
	return doc{ts: ts, src: map[string]any{"@timestamp": ts.Format(time.RFC3339Nano), "service": map[string]any{"name": svc},
		"log": map[string]any{"level": level}, "message": msg, "trace": map[string]any{"id": trace}, "span": map[string]any{"id": "s-" + msg},
		"error": map[string]any{"type": "TimeoutError"}}}
}

func TestLogsPaginationFlavours(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var docs []doc
	for i := 0; i < 10005; i++ {
		docs = append(docs, ecsDoc(base.Add(time.Duration(i/3)*time.Millisecond), "payment", "ERROR", fmt.Sprintf("m%d", i), "t1"))
	}
	for _, flavor := range []string{"es", "opensearch", "none"} {
		t.Run(flavor, func(t *testing.T) {
			f := &fakeES{t: t, docs: docs, flavor: flavor}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c, err := New(httpx.Endpoint{URL: srv.URL, Username: "elastic", Password: "pw"}, Config{PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			_, err = c.Logs(context.Background(), investigate.LogQuery{TraceID: "t1", Start: base, End: base.Add(time.Hour)},
				func(r investigate.LogRecord) error {
					if want := fmt.Sprintf("m%d", n); r.Message != want {
						t.Fatalf("record %d is %q, want %q", n, r.Message, want)
					}
					if r.Service != "payment" || r.Level != "ERROR" || r.TraceID != "t1" || r.SpanID == "" || r.ErrorType() != "TimeoutError" {
						t.Fatalf("record %+v", r)
					}
					n++
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if n != 10005 {
				t.Errorf("read %d of 10005 docs", n)
			}
			if f.searches != 11 {
				t.Errorf("%d searches, want 11 pages of 1000", f.searches)
			}
			switch flavor {
			case "es":
				if len(f.closed) != 1 || !strings.HasPrefix(f.closed[0], "/_pit ") || !strings.Contains(f.closed[0], "pit-after-11") {
					t.Errorf("closed %v; want the last pit_id released with DELETE /_pit", f.closed)
				}
			case "opensearch":
				if len(f.closed) != 1 || !strings.HasPrefix(f.closed[0], "/_search/point_in_time ") {
					t.Errorf("closed %v", f.closed)
				}
			case "none":
				if len(f.closed) != 0 {
					t.Errorf("closed %v without a pit", f.closed)
				}
				sort := fmt.Sprint(f.bodies[0]["sort"])
				if !strings.Contains(sort, "_doc") {
					t.Errorf("no tiebreaker without a pit: %s", sort)
				}
			}
		})
	}
}

var hostile = []string{`pay"ment`, `a\" }, {"match_all": {}`, `{"bool":{"should":[]}}`, `\`, "x\ny", `*`, `logs-*/_delete_by_query`}

func TestBuildRequestHostileValues(t *testing.T) {
	for _, v := range hostile {
		q := investigate.LogQuery{Service: v, TraceID: v, CorrelationID: v, Level: v + "x", Grep: v,
			Start: time.Unix(1, 0), End: time.Unix(2, 0)}
		req, err := BuildRequest(q, ECSFields(), 10)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Query struct {
				Bool struct {
					Filter []map[string]map[string]any `json:"filter"`
				} `json:"bool"`
			} `json:"query"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		f := got.Query.Bool.Filter
		if len(f) != 6 {
			t.Fatalf("value %q: %d filter clauses, want 6: %s", v, len(f), b)
		}
		if f[1]["term"]["service.name"] != v || f[2]["term"]["trace.id"] != v || f[5]["match_phrase"]["message"] != v {
			t.Errorf("value %q not kept as data: %s", v, b)
		}
	}
}

func TestLogsErrorsAndPartialResults(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	t.Run("partial", func(t *testing.T) {
		f := &fakeES{t: t, docs: []doc{ecsDoc(base, "a", "info", "x", "t")}, flavor: "es", partial: true}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, _ := New(httpx.Endpoint{URL: srv.URL}, Config{})
		warn, err := c.Logs(context.Background(), investigate.LogQuery{Service: "a"}, func(investigate.LogRecord) error { return nil })
		if err != nil || len(warn) != 1 || !strings.Contains(warn[0], "1 of 2 shards failed") || !strings.Contains(warn[0], "Node not connected") {
			t.Errorf("warnings %v err %v", warn, err)
		}
	})
	t.Run("error", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"root_cause":[{"type":"query_shard_exception","reason":"failed to create query: field [log.level] of type [text]"}],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":400}`)
		}))
		defer srv.Close()
		c, _ := New(httpx.Endpoint{URL: srv.URL, Password: "hunter2", Username: "u"}, Config{NoPIT: true})
		_, err := c.Logs(context.Background(), investigate.LogQuery{Service: "a"}, func(investigate.LogRecord) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "failed to create query") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad index pattern", func(t *testing.T) {
		if _, err := New(httpx.Endpoint{URL: "http://x"}, Config{Index: "logs/../_all"}); err == nil {
			t.Error("accepted an index pattern with a path")
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"failed":0},"hits":{"hits":[{"_id":"1","_source":{"message":"x"},"sort":[1]}]}}`))
	f.Add([]byte(`{"timed_out":true,"_shards":{"total":2,"failed":1,"failures":[{"reason":{"type":"x","reason":"y"}}]},"hits":{"hits":[]}}`))
	f.Add([]byte(`{"hits":{"hits":[{"_source":{"service":{"name":{"deep":[1,{"x":null}]}}}}]}}`))
	c, _ := New(httpx.Endpoint{URL: "http://x"}, Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, err := DecodeResponse(b)
		if err != nil {
			return
		}
		for _, h := range r.Hits.Hits {
			_, _ = c.Record(h)
		}
	})
}
