// Package loki reads logs from Grafana Loki's /loki/api/v1/query_range. LogQL is built from structured
// inputs: label values and line-filter strings are Go-quoted LogQL strings, label names are checked
// against Prometheus' label-name syntax, so no input can change the shape of the query. Results past
// Loki's per-query limit are paged by time.
package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/logline"
)

// Config says which labels hold what. Tenants (X-Scope-OrgID) and auth come from the endpoint.
type Config struct {
	// ServiceLabel is the stream label with the service name; default service_name (what Loki 3
	// derives from OpenTelemetry's service.name).
	ServiceLabel string
	// LevelLabel is the label or structured-metadata key with the level; default detected_level.
	LevelLabel string
	// TraceLabel, when set, filters trace IDs with a label filter on it (structured metadata such as
	// trace_id); when empty the trace ID is a line filter, which works for JSON and logfmt lines.
	TraceLabel string
	// PageSize is the limit per request; default 5000, Loki's default max_entries_limit_per_query.
	PageSize int
	// Names are extra field names for parsing lines.
	Names investigate.FieldNames
}

// Client queries one Loki.
type Client struct {
	http   *httpx.Client
	cfg    Config
	parser *logline.Parser
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New builds a client; a label name that is not a valid LogQL label is an error.
func New(ep httpx.Endpoint, cfg Config) (*Client, error) {
	if ep.Name == "" {
		ep.Name = "Loki"
	}
	h, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	if cfg.ServiceLabel == "" {
		cfg.ServiceLabel = "service_name"
	}
	if cfg.LevelLabel == "" {
		cfg.LevelLabel = "detected_level"
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 5000
	}
	for _, l := range []string{cfg.ServiceLabel, cfg.LevelLabel, cfg.TraceLabel} {
		if l != "" && !labelName.MatchString(l) {
			return nil, fmt.Errorf("loki: label name %q is not a LogQL label name ([a-zA-Z_][a-zA-Z0-9_]*)", l)
		}
	}
	return &Client{http: h, cfg: cfg, parser: logline.NewParser(logline.FormatAuto, cfg.Names, nil)}, nil
}

// Check asks Loki whether it is ready, for `dbg doctor`.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.http.Do(ctx, httpx.Request{Path: "/ready"})
	return err
}

// Quote makes s a LogQL string literal. LogQL reads double-quoted strings with Go's rules (strconv.Unquote).
func Quote(s string) string { return strconv.Quote(s) }

// BuildQuery turns q into LogQL. Label names come from Config (validated in New), never from q.
func BuildQuery(q investigate.LogQuery, cfg Config) string {
	var b strings.Builder
	if q.Service != "" {
		b.WriteString("{" + cfg.ServiceLabel + "=" + Quote(q.Service) + "}")
	} else {
		b.WriteString("{" + cfg.ServiceLabel + `=~".+"}`)
	}
	if q.TraceID != "" {
		if cfg.TraceLabel != "" {
			b.WriteString(" | " + cfg.TraceLabel + "=" + Quote(q.TraceID))
		} else {
			b.WriteString(" |= " + Quote(q.TraceID))
		}
	}
	if q.CorrelationID != "" {
		b.WriteString(" |= " + Quote(q.CorrelationID))
	}
	if q.Grep != "" {
		b.WriteString(" |= " + Quote(q.Grep))
	}
	if q.Level != "" {
		b.WriteString(" | " + cfg.LevelLabel + "=~" + Quote("(?i)"+regexp.QuoteMeta(q.Level)))
	}
	return b.String()
}

// Response is the query_range answer for a log query (resultType "streams"), as the Loki HTTP API
// documents it.
type Response struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string   `json:"resultType"`
		Result     []Stream `json:"result"`
	} `json:"data"`
	Warnings []string `json:"warnings"`
	// Error and ErrorType are set on failures answered with a JSON body.
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
}

// Stream is one label set and its entries: [ "<unix ns>", "<line>" ] or, with categorised labels,
// [ "<unix ns>", "<line>", {"structuredMetadata": {...}, "parsed": {...}} ].
type Stream struct {
	Stream map[string]string   `json:"stream"`
	Values [][]json.RawMessage `json:"values"`
}

// Entry is one decoded line.
type Entry struct {
	TS       int64
	Line     string
	Labels   map[string]string
	Metadata map[string]string
}

// DecodeResponse parses a query_range body into entries in time order.
func DecodeResponse(b []byte) ([]Entry, []string, error) {
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("not a query_range answer: %w", err)
	}
	if r.Status != "success" {
		msg := r.Error
		if msg == "" {
			msg = "status " + strconv.Quote(r.Status)
		}
		return nil, r.Warnings, fmt.Errorf("query failed: %s", msg)
	}
	if r.Data.ResultType != "streams" {
		return nil, r.Warnings, fmt.Errorf("answer is a %q, not log streams; is this a metric query?", r.Data.ResultType)
	}
	var out []Entry
	for _, s := range r.Data.Result {
		for i, v := range s.Values {
			if len(v) < 2 {
				return nil, r.Warnings, fmt.Errorf("stream entry %d has %d elements, want at least 2", i, len(v))
			}
			var tsStr, line string
			if err := json.Unmarshal(v[0], &tsStr); err != nil {
				return nil, r.Warnings, fmt.Errorf("stream entry %d: timestamp: %w", i, err)
			}
			ts, err := strconv.ParseInt(tsStr, 10, 64)
			if err != nil {
				return nil, r.Warnings, fmt.Errorf("stream entry %d: timestamp %q is not Unix nanoseconds", i, tsStr)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				return nil, r.Warnings, fmt.Errorf("stream entry %d: line: %w", i, err)
			}
			e := Entry{TS: ts, Line: line, Labels: s.Stream}
			if len(v) > 2 {
				var extra struct {
					StructuredMetadata map[string]string `json:"structuredMetadata"`
					Parsed             map[string]string `json:"parsed"`
				}
				if json.Unmarshal(v[2], &extra) == nil {
					e.Metadata = extra.StructuredMetadata
					for k, pv := range extra.Parsed {
						if e.Metadata == nil {
							e.Metadata = map[string]string{}
						}
						e.Metadata[k] = pv
					}
				}
			}
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return compareInt(a.TS, b.TS) })
	return out, r.Warnings, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Logs streams the records matching q in time order, paging forward by time: each page starts at the
// last timestamp of the one before, and the entries already sent at that nanosecond are skipped.
func (c *Client) Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	query := BuildQuery(q, c.cfg)
	start, end := q.Start, q.End
	if end.IsZero() {
		end = time.Now()
	}
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	var warnings []string
	seenAtStart := map[string]bool{} // entries at the current start nanosecond already emitted
	sent := 0
	for {
		if err := ctx.Err(); err != nil {
			return warnings, err
		}
		size := c.cfg.PageSize
		if q.Limit > 0 {
			size = min(size, q.Limit-sent+len(seenAtStart))
		}
		params := url.Values{
			"query":     {query},
			"start":     {strconv.FormatInt(start.UnixNano(), 10)},
			"end":       {strconv.FormatInt(end.UnixNano(), 10)},
			"limit":     {strconv.Itoa(size)},
			"direction": {"forward"},
		}
		body, err := c.http.Do(ctx, httpx.Request{Path: "/loki/api/v1/query_range", Query: params})
		if err != nil {
			return warnings, fmt.Errorf("loki: query_range: %w", err)
		}
		entries, warn, err := DecodeResponse(body)
		warnings = appendNew(warnings, warn...)
		if err != nil {
			return warnings, fmt.Errorf("loki at %s: %w", c.http.BaseURL(), err)
		}
		newOnes := 0
		var lastTS int64
		nextSeen := map[string]bool{}
		for _, e := range entries {
			key := entryKey(e)
			if e.TS == start.UnixNano() && seenAtStart[key] {
				continue
			}
			newOnes++
			if err := emit(c.record(e)); err != nil {
				return warnings, err
			}
			sent++
			if e.TS != lastTS {
				lastTS = e.TS
				clear(nextSeen)
			}
			nextSeen[key] = true
			if q.Limit > 0 && sent >= q.Limit {
				return warnings, nil
			}
		}
		if len(entries) < size {
			return warnings, nil
		}
		if newOnes == 0 {
			return warnings, fmt.Errorf("loki at %s: more than %d lines share the timestamp %s; raise loki-page-size",
				c.http.BaseURL(), size, time.Unix(0, lastTSOr(entries)).UTC().Format(time.RFC3339Nano))
		}
		if lastTS == start.UnixNano() {
			for k := range nextSeen {
				seenAtStart[k] = true
			}
		} else {
			seenAtStart = nextSeen
			nextSeen = map[string]bool{}
		}
		start = time.Unix(0, lastTS)
	}
}

func lastTSOr(es []Entry) int64 {
	if len(es) == 0 {
		return 0
	}
	return es[len(es)-1].TS
}

func entryKey(e Entry) string {
	keys := make([]string, 0, len(e.Labels))
	for k := range e.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k + "\x00" + e.Labels[k] + "\x00")
	}
	b.WriteString("\x01" + e.Line)
	return b.String()
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// record turns an entry into a record: the line is parsed (JSON, logfmt or plain), then labels and
// structured metadata fill what the line did not say.
func (c *Client) record(e Entry) investigate.LogRecord {
	r := c.parser.Parse(e.Line)
	r.Time = time.Unix(0, e.TS).UTC()
	kv := map[string]string{}
	for k, v := range e.Labels {
		kv[k] = v
	}
	for k, v := range e.Metadata {
		kv[k] = v
	}
	names := c.parser.Names
	names = names.Prepend(investigate.FieldNames{Service: []string{c.cfg.ServiceLabel}, Level: []string{c.cfg.LevelLabel}})
	if c.cfg.TraceLabel != "" {
		names = names.Prepend(investigate.FieldNames{TraceID: []string{c.cfg.TraceLabel}})
	}
	names.Message = nil // the line is the message
	names.Time = nil
	lab := investigate.RecordFromFields(kv, names)
	if r.Service == "" {
		r.Service = lab.Service
	}
	if r.Level == "" {
		r.Level = lab.Level
	}
	if r.TraceID == "" {
		r.TraceID = lab.TraceID
	}
	if r.SpanID == "" {
		r.SpanID = lab.SpanID
	}
	if r.CorrelationID == "" {
		r.CorrelationID = lab.CorrelationID
	}
	if len(lab.Fields) > 0 {
		if r.Fields == nil {
			r.Fields = map[string]string{}
		}
		for k, v := range lab.Fields {
			if _, ok := r.Fields[k]; !ok {
				r.Fields[k] = v
			}
		}
	}
	return r
}
