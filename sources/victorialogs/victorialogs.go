// Package victorialogs reads logs from VictoriaLogs over its LogsQL HTTP API (/select/logsql/query).
// Queries are built from structured inputs: every field name and value is a quoted LogsQL string, so a
// hostile service name or trace ID cannot change the query.
package victorialogs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/logline"
)

// Fields are the field names queried for each filter; a record matches when any of the names holds the
// value, so logs shipped by OpenTelemetry (service.name, trace_id) and by hand (service, traceId) are
// both found.
type Fields struct {
	Service, Level, TraceID, SpanID, CorrelationID []string
	// Renames maps other field names as typed in a query to the stored name (duration → duration_ms).
	Renames map[string]string
}

// DefaultFields are the names VictoriaLogs gets from OpenTelemetry, Vector, Promtail-style shippers and
// structured JSON loggers.
func DefaultFields() Fields {
	d := investigate.DefaultFieldNames()
	return Fields{
		Service:       []string{"service.name", "service", "service_name", "app"},
		Level:         []string{"level", "severity", "log.level", "severity_text", "detected_level"},
		TraceID:       []string{"trace_id", "traceId", "traceID", "trace.id"},
		SpanID:        []string{"span_id", "spanId", "spanID", "span.id"},
		CorrelationID: d.CorrelationID[:min(8, len(d.CorrelationID))],
	}
}

// Config selects the field names.
type Config struct {
	Fields Fields
	// Names are the names records are read with; the zero value means investigate.DefaultFieldNames.
	Names investigate.FieldNames
}

// Client queries one VictoriaLogs.
type Client struct {
	http  *httpx.Client
	cfg   Config
	names investigate.FieldNames
}

// New builds a client for ep.
func New(ep httpx.Endpoint, cfg Config) (*Client, error) {
	if ep.Name == "" {
		ep.Name = "VictoriaLogs"
	}
	h, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	if len(cfg.Fields.Service) == 0 {
		r := cfg.Fields.Renames
		cfg.Fields = DefaultFields()
		cfg.Fields.Renames = r
	}
	// _msg and _time are VictoriaLogs' own names for the message and the time.
	names := investigate.DefaultFieldNames().Prepend(investigate.FieldNames{Message: []string{"_msg"}, Time: []string{"_time"}}).Prepend(cfg.Names)
	return &Client{http: h, cfg: cfg, names: names}, nil
}

// Check asks the server for its health, for `dbg doctor`.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.http.Do(ctx, httpx.Request{Path: "/health"})
	return err
}

// Quote makes s one LogsQL string literal. LogsQL reads double-quoted strings with Go's escaping rules,
// so strconv.Quote escapes quotes, backslashes and control characters.
func Quote(s string) string { return strconv.Quote(s) }

// BuildQuery turns q into LogsQL: q.Filter() compiled by Compile, then sorted by time and limited.
// The time range goes in the start and end parameters, not here.
func BuildQuery(q investigate.LogQuery, f Fields) string {
	query := Compile(q.Filter(), f)
	if query == "" {
		query = "*"
	}
	query += " | sort by (_time)"
	if q.Limit > 0 {
		query += " | limit " + strconv.Itoa(q.Limit)
	}
	return query
}

// Compile turns a parsed log query into a LogsQL filter (empty for nil). Every field name and value
// is a quoted LogsQL string; numbers and durations are written by dbg; regexps are built with
// regexp.QuoteMeta. So nothing a user types can change the query's shape. Terms compile to:
// message words and phrases → i("…") (case-insensitive phrase), field:value → "f":="v" (level: a
// case-insensitive regexp), wildcards → "f":="prefix"* or an anchored regexp, comparisons → "f":>N,
// _exists_ → "f":*, NOT → !, OR → or. Canonical fields (service, level, trace_id, …) try each name
// in f.
func Compile(e *investigate.LogExpr, f Fields) string {
	if e == nil {
		return ""
	}
	return compile(e, f)
}

func compile(e *investigate.LogExpr, f Fields) string {
	switch e.Op {
	case investigate.ExprAnd, investigate.ExprOr:
		parts := make([]string, len(e.Args))
		for i, a := range e.Args {
			parts[i] = compile(a, f)
		}
		if e.Op == investigate.ExprAnd {
			return strings.Join(parts, " ")
		}
		return "(" + strings.Join(parts, " or ") + ")"
	case investigate.ExprNot:
		if inner := e.Args[0]; inner.Op == investigate.ExprAnd {
			return "!(" + compile(inner, f) + ")"
		}
		return "!" + compile(e.Args[0], f)
	}
	t := &e.Term
	names := f.names(t.Field)
	switch t.Kind {
	case investigate.TermText:
		return "i(" + Quote(t.Value) + ")"
	case investigate.TermContains:
		return "_msg:~" + Quote(regexp.QuoteMeta(t.Value))
	case investigate.TermEq:
		if t.Field == investigate.FieldLevel {
			return anyOf(names, "~"+Quote("(?i)^"+regexp.QuoteMeta(t.Value)+"$"))
		}
		return anyOf(names, "="+Quote(t.Value))
	case investigate.TermWildcard:
		if t.Field == "" {
			return "_msg:~" + Quote(investigate.MessagePattern(t))
		}
		if len(t.Parts) == 1 && !t.LeadStar && t.TrailStar {
			return anyOf(names, "="+Quote(t.Parts[0])+"*")
		}
		return anyOf(names, "~"+Quote(investigate.FieldPattern(t)))
	case investigate.TermRange:
		v := strconv.FormatFloat(t.Num, 'f', -1, 64)
		if t.IsDur {
			v = t.Dur.String()
		}
		return anyOf(names, t.Cmp+v)
	case investigate.TermExists:
		return anyOf(names, "*")
	}
	return "*"
}

// anyOf is the filter on any of the names: "a":F, or ("a":F or "b":F).
func anyOf(names []string, filter string) string {
	alts := make([]string, len(names))
	for i, n := range names {
		alts[i] = Quote(n) + ":" + filter
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " or ") + ")"
}

// names are the VictoriaLogs field names of a canonical field.
func (f Fields) names(field string) []string {
	var l []string
	switch field {
	case investigate.FieldService:
		l = f.Service
	case investigate.FieldLevel:
		l = f.Level
	case investigate.FieldTraceID:
		l = f.TraceID
	case investigate.FieldSpanID:
		l = f.SpanID
	case investigate.FieldCorrelationID:
		l = f.CorrelationID
	case investigate.FieldMessage:
		l = []string{"_msg"}
	default:
		if r := f.Renames[field]; r != "" {
			return []string{r}
		}
	}
	if len(l) == 0 {
		return []string{field}
	}
	return l
}

// Params are the HTTP query parameters for q.
func Params(q investigate.LogQuery, f Fields) url.Values {
	v := url.Values{"query": {BuildQuery(q, f)}}
	if !q.Start.IsZero() {
		v.Set("start", q.Start.UTC().Format(time.RFC3339Nano))
	}
	if !q.End.IsZero() {
		// end is inclusive in VictoriaLogs; the window is half-open.
		v.Set("end", q.End.Add(-time.Nanosecond).UTC().Format(time.RFC3339Nano))
	}
	return v
}

// Explain is the request Logs sends for q, for --explain.
func (c *Client) Explain(_ context.Context, q investigate.LogQuery) (investigate.LogRequest, error) {
	p := Params(q, c.cfg.Fields)
	r := investigate.LogRequest{Backend: "VictoriaLogs", Method: "POST", URL: c.http.BaseURL() + "/select/logsql/query",
		Query: p.Get("query"), Params: map[string]string{}}
	for _, k := range []string{"start", "end"} {
		if v := p.Get(k); v != "" {
			r.Params[k] = v
		}
	}
	return r, nil
}

// Logs streams the records matching q to emit in time order.
func (c *Client) Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	resp, err := c.http.Open(ctx, httpx.Request{Method: "POST", Path: "/select/logsql/query",
		Body:   []byte(Params(q, c.cfg.Fields).Encode()),
		Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}})
	if err != nil {
		return nil, fmt.Errorf("victorialogs: query: %w", err)
	}
	defer resp.Body.Close()
	var emitErr error // the caller's own error (a full pipe, a limit) is returned as it is
	err = Decode(resp.Body, c.names, func(r investigate.LogRecord) error {
		emitErr = emit(r)
		return emitErr
	})
	if emitErr != nil {
		return nil, emitErr
	}
	if err != nil {
		return nil, fmt.Errorf("victorialogs at %s: reading the answer: %w", c.http.BaseURL(), err)
	}
	return nil, nil
}

// MaxLine bounds one JSON line of the answer.
const MaxLine = 16 << 20

// Decode reads the JSON-lines answer of /select/logsql/query: one object per line whose values are
// strings, with _time, _msg and _stream among them.
func Decode(r io.Reader, names investigate.FieldNames, emit func(investigate.LogRecord) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		kv, err := logline.DecodeJSON(b)
		if err != nil {
			return fmt.Errorf("line %d is not a JSON object: %w", line, err)
		}
		_, hasTime := kv["_time"]
		_, hasMsg := kv["_msg"]
		if !hasTime && !hasMsg {
			// Every entry of /select/logsql/query carries _time and _msg: another JSON object is a wrong
			// answer (another service, a proxy), not a log line.
			return fmt.Errorf("line %d is not a VictoriaLogs entry (no _time or _msg); is this VictoriaLogs' /select/logsql/query?", line)
		}
		var ts time.Time
		if v, ok := kv["_time"]; ok {
			if t, ok := investigate.ParseLogTime(v); ok {
				ts = t
				delete(kv, "_time")
			}
		}
		delete(kv, "_stream_id")
		delete(kv, "_stream")
		rec := investigate.RecordFromFields(kv, names)
		if !ts.IsZero() {
			rec.Time = ts
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d is longer than the %d MiB line limit", line+1, MaxLine>>20)
		}
		return err
	}
	return nil
}
