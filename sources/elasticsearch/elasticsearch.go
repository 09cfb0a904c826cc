// Package elasticsearch reads logs from Elasticsearch and OpenSearch with _search. The query is a
// bool/filter built as Go structs and encoded as JSON, never by concatenating strings; results past
// 10,000 hits are paged with search_after, inside a point in time where the server offers one
// (Elasticsearch 7.10+ _pit, OpenSearch 2.4+ _search/point_in_time).
package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/logline"
)

// Fields are the document fields queried and read. The defaults are ECS.
type Fields struct {
	Time, Service, Level, Message, TraceID, SpanID string
	// CorrelationID lists the fields a correlation ID may be in; any of them matches.
	CorrelationID []string
	// Renames maps other field names as typed in a query to the document field (duration → event.duration).
	Renames map[string]string
}

// ECSFields are the Elastic Common Schema names.
func ECSFields() Fields {
	return Fields{Time: "@timestamp", Service: "service.name", Level: "log.level", Message: "message",
		TraceID: "trace.id", SpanID: "span.id", CorrelationID: []string{"labels.correlation_id", "http.request.id", "correlation_id"}}
}

// Config is the index and the field mapping.
type Config struct {
	// Index is the index pattern searched; default logs-*.
	Index string
	// Fields overrides ECS names field by field (empty keeps the ECS name).
	Fields Fields
	// PageSize is the hits per request; default 1000 (at most 10,000).
	PageSize int
	// NoPIT turns off the point in time (for users without the privilege to open one).
	NoPIT bool
	// KeepAlive is how long the point in time lives between pages; default 1m.
	KeepAlive string
}

// Client queries one Elasticsearch or OpenSearch cluster.
type Client struct {
	http  *httpx.Client
	cfg   Config
	names investigate.FieldNames
}

// New builds a client. The index pattern is checked: it goes into the URL path.
func New(ep httpx.Endpoint, cfg Config) (*Client, error) {
	if ep.Name == "" {
		ep.Name = "Elasticsearch"
	}
	h, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	if cfg.Index == "" {
		cfg.Index = "logs-*"
	}
	if strings.ContainsAny(cfg.Index, "/?#\\ \"<>|") || strings.HasPrefix(cfg.Index, "_") || strings.Contains(cfg.Index, "..") {
		return nil, fmt.Errorf("elasticsearch: index pattern %q: use index names, wildcards and commas only", cfg.Index)
	}
	ecs := ECSFields()
	f := &cfg.Fields
	for _, p := range []struct {
		dst *string
		def string
	}{{&f.Time, ecs.Time}, {&f.Service, ecs.Service}, {&f.Level, ecs.Level},
		{&f.Message, ecs.Message}, {&f.TraceID, ecs.TraceID}, {&f.SpanID, ecs.SpanID}} {
		if *p.dst == "" {
			*p.dst = p.def
		}
	}
	if len(f.CorrelationID) == 0 {
		f.CorrelationID = ecs.CorrelationID
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	cfg.PageSize = min(cfg.PageSize, 10000)
	if cfg.KeepAlive == "" {
		cfg.KeepAlive = "1m"
	}
	names := investigate.DefaultFieldNames().Prepend(investigate.FieldNames{
		Time: []string{f.Time}, Service: []string{f.Service}, Level: []string{f.Level}, Message: []string{f.Message},
		TraceID: []string{f.TraceID}, SpanID: []string{f.SpanID}, CorrelationID: f.CorrelationID,
	})
	return &Client{http: h, cfg: cfg, names: names}, nil
}

// Check reads the cluster's root document, for `dbg doctor`.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.http.Do(ctx, httpx.Request{Path: "/"})
	return err
}

// Clause is one query clause: {"term": {...}}, {"range": {...}}, {"bool": {...}}.
type Clause map[string]any

// BoolQuery is the bool query of the request.
type BoolQuery struct {
	Filter             []Clause `json:"filter,omitempty"`
	Should             []Clause `json:"should,omitempty"`
	MustNot            []Clause `json:"must_not,omitempty"`
	MinimumShouldMatch int      `json:"minimum_should_match,omitempty"`
}

// PIT is the point in time of a request.
type PIT struct {
	ID        string `json:"id"`
	KeepAlive string `json:"keep_alive"`
}

// SearchRequest is the _search body.
type SearchRequest struct {
	Size           int                         `json:"size"`
	Query          map[string]BoolQuery        `json:"query"`
	Sort           []map[string]map[string]any `json:"sort"`
	SearchAfter    []json.RawMessage           `json:"search_after,omitempty"`
	PIT            *PIT                        `json:"pit,omitempty"`
	TrackTotalHits bool                        `json:"track_total_hits"`
}

// BuildRequest turns q into a _search body: the time range and q.Filter() compiled by Compile, each
// clause holding the user's value as a JSON string or number.
func BuildRequest(q investigate.LogQuery, f Fields, size int) (SearchRequest, error) {
	var filters []Clause
	rng := map[string]any{"format": "strict_date_optional_time_nanos"}
	if !q.Start.IsZero() {
		rng["gte"] = q.Start.UTC().Format(time.RFC3339Nano)
	}
	if !q.End.IsZero() {
		rng["lt"] = q.End.UTC().Format(time.RFC3339Nano)
	}
	if len(rng) > 1 {
		filters = append(filters, Clause{"range": map[string]any{f.Time: rng}})
	}
	if e := q.Filter(); e != nil {
		parts := []*investigate.LogExpr{e}
		if e.Op == investigate.ExprAnd {
			parts = e.Args
		}
		for _, p := range parts {
			c, err := Compile(p, f)
			if err != nil {
				return SearchRequest{}, err
			}
			filters = append(filters, c)
		}
	}
	if filters == nil {
		filters = []Clause{{"match_all": map[string]any{}}}
	}
	return SearchRequest{
		Size:  size,
		Query: map[string]BoolQuery{"bool": {Filter: filters}},
		Sort:  []map[string]map[string]any{{f.Time: {"order": "asc"}}},
	}, nil
}

// Compile turns a parsed log query into one query DSL clause, built as Go values and encoded as JSON
// (never query_string): message words and phrases → match_phrase on the message field, field:value →
// term (level: terms of its usual spellings), wildcards → wildcard with '*' and '?' of the value
// escaped, comparisons → range, _exists_ → exists, AND → bool.filter, OR → bool.should, NOT →
// bool.must_not. A duration comparison is an error: Elasticsearch stores durations as plain numbers
// whose unit only the mapping knows.
func Compile(e *investigate.LogExpr, f Fields) (Clause, error) {
	switch e.Op {
	case investigate.ExprAnd, investigate.ExprOr, investigate.ExprNot:
		cs := make([]Clause, len(e.Args))
		for i, a := range e.Args {
			c, err := Compile(a, f)
			if err != nil {
				return nil, err
			}
			cs[i] = c
		}
		switch e.Op {
		case investigate.ExprAnd:
			return Clause{"bool": BoolQuery{Filter: cs}}, nil
		case investigate.ExprOr:
			return Clause{"bool": BoolQuery{Should: cs, MinimumShouldMatch: 1}}, nil
		}
		return Clause{"bool": BoolQuery{MustNot: cs}}, nil
	}
	t := &e.Term
	names := f.names(t.Field)
	anyOf := func(mk func(name string) Clause) Clause {
		if len(names) == 1 {
			return mk(names[0])
		}
		var should []Clause
		for _, n := range names {
			should = append(should, mk(n))
		}
		return Clause{"bool": BoolQuery{Should: should, MinimumShouldMatch: 1}}
	}
	switch t.Kind {
	case investigate.TermText, investigate.TermContains:
		return Clause{"match_phrase": map[string]any{f.Message: t.Value}}, nil
	case investigate.TermEq:
		if t.Field == investigate.FieldLevel {
			return anyOf(func(n string) Clause { return Clause{"terms": map[string]any{n: levelSpellings(t.Value)}} }), nil
		}
		return anyOf(func(n string) Clause { return Clause{"term": map[string]any{n: t.Value}} }), nil
	case investigate.TermWildcard:
		v := map[string]any{"value": wildcardValue(t)}
		if t.Field == "" {
			v["case_insensitive"] = true
			return Clause{"wildcard": map[string]any{f.Message: v}}, nil
		}
		return anyOf(func(n string) Clause { return Clause{"wildcard": map[string]any{n: v}} }), nil
	case investigate.TermRange:
		if t.IsDur {
			return nil, fmt.Errorf("elasticsearch: %s:%s%s: Elasticsearch compares numbers, and only the index mapping knows a duration field's unit; write the number in that unit (%s:%s%d for milliseconds)",
				t.Field, t.Cmp, t.Dur, t.Field, t.Cmp, t.Dur.Milliseconds())
		}
		op := map[string]string{">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[t.Cmp]
		return anyOf(func(n string) Clause { return Clause{"range": map[string]any{n: map[string]any{op: t.Num}}} }), nil
	case investigate.TermExists:
		return anyOf(func(n string) Clause { return Clause{"exists": map[string]any{"field": n}} }), nil
	}
	return Clause{"match_all": map[string]any{}}, nil
}

// levelSpellings are the level as given, lower, upper and title case: keyword fields are exact.
func levelSpellings(l string) []string {
	vals := []string{l}
	if l == "" {
		return vals
	}
	for _, v := range []string{strings.ToLower(l), strings.ToUpper(l), strings.ToUpper(l[:1]) + strings.ToLower(l[1:])} {
		if !contains(vals, v) {
			vals = append(vals, v)
		}
	}
	return vals
}

// wildcardValue writes the pattern for a wildcard query: '*' between the pieces, and '*', '?' and
// '\' inside them escaped with '\', so only the user's stars are wildcards.
func wildcardValue(t *investigate.LogTerm) string {
	return investigate.WildcardPattern(t, "*", strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace)
}

// names are the document fields of a canonical field.
func (f Fields) names(field string) []string {
	switch field {
	case investigate.FieldService:
		return []string{f.Service}
	case investigate.FieldLevel:
		return []string{f.Level}
	case investigate.FieldMessage:
		return []string{f.Message}
	case investigate.FieldTraceID:
		return []string{f.TraceID}
	case investigate.FieldSpanID:
		return []string{f.SpanID}
	case investigate.FieldCorrelationID:
		return f.CorrelationID
	}
	if r := f.Renames[field]; r != "" {
		return []string{r}
	}
	return []string{field}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SearchResponse is the part of the _search answer dbg reads.
type SearchResponse struct {
	PITID    string `json:"pit_id"`
	TimedOut bool   `json:"timed_out"`
	Shards   struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Skipped    int `json:"skipped"`
		Failed     int `json:"failed"`
		Failures   []struct {
			Index  string `json:"index"`
			Reason struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"reason"`
		} `json:"failures"`
	} `json:"_shards"`
	Hits struct {
		Hits []Hit `json:"hits"`
	} `json:"hits"`
}

// Hit is one document.
type Hit struct {
	Index  string            `json:"_index"`
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// DecodeResponse parses a _search answer; failed shards and timeouts become warnings (partial results).
func DecodeResponse(b []byte) (*SearchResponse, []string, error) {
	var r SearchResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("not a _search answer: %w", err)
	}
	// Every _search answer has hits.hits (empty when nothing matched); without it, {} or another JSON
	// document would read as "no log lines" and exit 0.
	var shape struct {
		Hits *struct {
			Hits *json.RawMessage `json:"hits"`
		} `json:"hits"`
	}
	if json.Unmarshal(b, &shape) != nil || shape.Hits == nil || shape.Hits.Hits == nil {
		return nil, nil, errors.New(`not a _search answer (no "hits.hits"); is the URL Elasticsearch or OpenSearch, and the index right?`)
	}
	var warnings []string
	if r.TimedOut {
		warnings = append(warnings, "the search timed out on the server; results are partial")
	}
	if r.Shards.Failed > 0 {
		w := fmt.Sprintf("%d of %d shards failed; results are partial", r.Shards.Failed, r.Shards.Total)
		if len(r.Shards.Failures) > 0 {
			fr := r.Shards.Failures[0]
			w += fmt.Sprintf(" (%s: %s)", fr.Reason.Type, fr.Reason.Reason)
		}
		warnings = append(warnings, w)
	}
	return &r, warnings, nil
}

// Record turns a hit into a record.
func (c *Client) Record(h Hit) (investigate.LogRecord, error) {
	kv, err := logline.DecodeJSON(h.Source)
	if err != nil {
		return investigate.LogRecord{}, fmt.Errorf("document %s: _source: %w", h.ID, err)
	}
	r := investigate.RecordFromFields(kv, c.names)
	return r, nil
}

// Explain is the first _search request Logs sends for q, for --explain.
func (c *Client) Explain(_ context.Context, q investigate.LogQuery) (investigate.LogRequest, error) {
	size := c.cfg.PageSize
	if q.Limit > 0 {
		size = min(size, q.Limit)
	}
	req, err := BuildRequest(q, c.cfg.Fields, size)
	if err != nil {
		return investigate.LogRequest{}, err
	}
	body, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		return investigate.LogRequest{}, err
	}
	return investigate.LogRequest{Backend: "Elasticsearch", Method: "POST", URL: c.http.BaseURL() + "/" + c.cfg.Index + "/_search",
		Query: string(body)}, nil
}

// Logs streams the records matching q in time order, page by page with search_after.
func (c *Client) Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	var warnings []string
	size := c.cfg.PageSize
	if q.Limit > 0 {
		size = min(size, q.Limit)
	}
	req, err := BuildRequest(q, c.cfg.Fields, size)
	if err != nil {
		return nil, err
	}
	pit, flavor, err := c.openPIT(ctx)
	if err != nil {
		// The server is overloaded or failing (429, 5xx, no answer) after the client's retries:
		// searching without a point in time would only send the same load again.
		return nil, fmt.Errorf("elasticsearch: opening a point in time: %w", err)
	}
	if pit != "" {
		defer func() { c.closePIT(pit, flavor) }() // the id the server sent last
	} else {
		// Without a point in time, _doc breaks ties between equal timestamps.
		req.Sort = append(req.Sort, map[string]map[string]any{"_doc": {"order": "asc"}})
	}
	sent := 0
	for {
		path := "/" + c.cfg.Index + "/_search"
		if pit != "" {
			req.PIT = &PIT{ID: pit, KeepAlive: c.cfg.KeepAlive}
			path = "/_search"
		}
		body, err := json.Marshal(req)
		if err != nil {
			return warnings, err
		}
		raw, err := c.http.Do(ctx, httpx.Request{Method: http.MethodPost, Path: path, Body: body,
			Header: http.Header{"Content-Type": {"application/json"}}})
		if err != nil {
			return warnings, fmt.Errorf("elasticsearch: _search: %w", err)
		}
		resp, warn, err := DecodeResponse(raw)
		for _, w := range warn {
			if !contains(warnings, w) {
				warnings = append(warnings, w)
			}
		}
		if err != nil {
			return warnings, fmt.Errorf("elasticsearch at %s: %w", c.http.BaseURL(), err)
		}
		if resp.PITID != "" && pit != "" {
			pit = resp.PITID
		}
		for _, h := range resp.Hits.Hits {
			rec, err := c.Record(h)
			if err != nil {
				return warnings, fmt.Errorf("elasticsearch at %s: %w", c.http.BaseURL(), err)
			}
			if err := emit(rec); err != nil {
				return warnings, err
			}
			sent++
			if q.Limit > 0 && sent >= q.Limit {
				return warnings, nil
			}
		}
		hits := resp.Hits.Hits
		if len(hits) < req.Size {
			return warnings, nil
		}
		last := hits[len(hits)-1].Sort
		if len(last) == 0 {
			return warnings, fmt.Errorf("elasticsearch at %s: hits carry no sort values, cannot page past %d", c.http.BaseURL(), sent)
		}
		req.SearchAfter = last
		if q.Limit > 0 {
			req.Size = min(size, q.Limit-sent)
		}
	}
}

type pitFlavor int

const (
	pitES pitFlavor = iota + 1
	pitOpenSearch
)

// openPIT opens a point in time: Elasticsearch's _pit first, then OpenSearch's; none when neither
// offers one (older servers, missing privileges: 400/403/404/405), and paging goes on without one. Any
// other failure (429, 5xx, a timeout) is returned: the PIT and the search are one unit, retried once
// by the client, not each in turn.
func (c *Client) openPIT(ctx context.Context) (string, pitFlavor, error) {
	if c.cfg.NoPIT {
		return "", 0, nil
	}
	q := url.Values{"keep_alive": {c.cfg.KeepAlive}}
	if b, err := c.http.Do(ctx, httpx.Request{Method: http.MethodPost, Path: "/" + c.cfg.Index + "/_pit", Query: q}); err == nil {
		var r struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &r) == nil && r.ID != "" {
			return r.ID, pitES, nil
		}
	} else if !isUnsupported(err) {
		return "", 0, err
	}
	if b, err := c.http.Do(ctx, httpx.Request{Method: http.MethodPost, Path: "/" + c.cfg.Index + "/_search/point_in_time", Query: q}); err == nil {
		var r struct {
			PITID string `json:"pit_id"`
		}
		if json.Unmarshal(b, &r) == nil && r.PITID != "" {
			return r.PITID, pitOpenSearch, nil
		}
	} else if !isUnsupported(err) {
		return "", 0, err
	}
	return "", 0, nil
}

func isUnsupported(err error) bool {
	var se *httpx.StatusError
	return errors.As(err, &se) && (se.Code == 400 || se.Code == 404 || se.Code == 405 || se.Code == 403)
}

// closePIT releases the point in time; failures only cost the server memory until keep_alive ends.
func (c *Client) closePIT(id string, f pitFlavor) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var body []byte
	path := "/_pit"
	if f == pitOpenSearch {
		path = "/_search/point_in_time"
		body, _ = json.Marshal(map[string][]string{"pit_id": {id}})
	} else {
		body, _ = json.Marshal(map[string]string{"id": id})
	}
	_, _ = c.http.Do(ctx, httpx.Request{Method: http.MethodDelete, Path: path, Body: body,
		Header: http.Header{"Content-Type": {"application/json"}}})
}
