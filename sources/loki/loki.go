// Package loki reads logs from Grafana Loki's /loki/api/v1/query_range. LogQL is built from structured
// inputs: label values and line-filter strings are Go-quoted LogQL strings, label names are checked
// against Prometheus' label-name syntax, so no input can change the shape of the query. Results past
// Loki's per-query limit are paged by time.
package loki

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
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
	// StreamLabels are the indexed labels besides ServiceLabel that field:value terms select streams
	// by (in the {…} selector rather than after a parser); default namespace, cluster, job.
	StreamLabels []string
	// Format is the parser stage for fields that are not labels: "json", "logfmt", or "" / "auto" to
	// detect it from one line of the selected streams.
	Format string
	// Renames maps other field names as typed in a query to the label name (duration → duration_ms).
	Renames map[string]string
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
	if cfg.StreamLabels == nil {
		cfg.StreamLabels = []string{"namespace", "cluster", "job"}
	}
	switch cfg.Format {
	case "", "auto", "json", "logfmt":
	default:
		return nil, fmt.Errorf("loki: loki-format %q: want json, logfmt or auto", cfg.Format)
	}
	for _, l := range append([]string{cfg.ServiceLabel, cfg.LevelLabel, cfg.TraceLabel}, cfg.StreamLabels...) {
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

// BuildQuery turns q into LogQL with the configured parser stage (json when auto has not been
// resolved). Label names come from Config (validated in New) or are sanitised as Loki's parsers
// sanitise keys; values are Go-quoted strings.
func BuildQuery(q investigate.LogQuery, cfg Config) (string, error) {
	return Compile(q.Filter(), cfg)
}

// Compile turns a parsed log query into LogQL: the stream selector from equality (and wildcard) terms
// on indexed labels (the service label and StreamLabels), line filters for message text and for trace
// and correlation IDs (|= for --grep and IDs, |~ "(?i)\\bword\\b" for words and phrases, != / !~
// for their negations), then, when other fields are filtered, the parser stage (| json or | logfmt)
// and label filters with and/or, numeric and duration comparisons, and | __error__="" so lines that
// failed to parse or convert are dropped rather than passed (as Loki's docs say it does otherwise).
// What LogQL cannot say is an error naming it: message text inside an OR with fields, or under a NOT
// of several terms.
func Compile(e *investigate.LogExpr, cfg Config) (string, error) {
	c, err := compileQuery(e, cfg)
	if err != nil {
		return "", err
	}
	return c.text(cfg.Format), nil
}

// compiled is a LogQL query in its parts, so the parser stage can be chosen after the selector and
// line filters have found a sample line.
type compiled struct {
	selector, lines, labels []string
	parse                   bool
}

func compileQuery(e *investigate.LogExpr, cfg Config) (*compiled, error) {
	if cfg.ServiceLabel == "" {
		cfg.ServiceLabel = "service_name"
	}
	if cfg.LevelLabel == "" {
		cfg.LevelLabel = "detected_level"
	}
	var selector, lines, labels []string
	parse := false
	var parts []*investigate.LogExpr
	if e != nil {
		parts = []*investigate.LogExpr{e}
		if e.Op == investigate.ExprAnd {
			parts = e.Args
		}
	}
	for _, p := range parts {
		if m, ok := cfg.streamMatcher(p); ok {
			selector = append(selector, m)
			continue
		}
		if l, ok, err := cfg.lineFilter(p); err != nil {
			return nil, err
		} else if ok {
			lines = append(lines, l)
			continue
		}
		l, needsParse, err := cfg.labelFilter(p, false)
		if err != nil {
			return nil, err
		}
		parse = parse || needsParse
		labels = append(labels, l)
	}
	positive := false
	for _, m := range selector {
		if !strings.Contains(m, "!") {
			positive = true
		}
	}
	if !positive {
		selector = append([]string{cfg.ServiceLabel + `=~".+"`}, selector...)
	}
	return &compiled{selector: selector, lines: lines, labels: labels, parse: parse}, nil
}

// sample is the query without the parser and label filters: what finds a line to detect the format.
func (c *compiled) sample() string {
	s := "{" + strings.Join(c.selector, ", ") + "}"
	for _, l := range c.lines {
		s += " " + l
	}
	return s
}

// text is the query with the parser stage format (json unless logfmt).
func (c *compiled) text(format string) string {
	var b strings.Builder
	b.WriteString(c.sample())
	if c.parse {
		if format != "logfmt" {
			format = "json"
		}
		b.WriteString(" | " + format)
	}
	for _, l := range c.labels {
		b.WriteString(" | " + l)
	}
	if c.parse {
		b.WriteString(` | __error__=""`)
	}
	return b.String()
}

// label is the Loki label of a canonical field: the configured labels, renames, else the name with
// every character Loki's json and logfmt parsers would replace replaced by '_'.
func (cfg Config) label(field string) string {
	switch field {
	case investigate.FieldService:
		return cfg.ServiceLabel
	case investigate.FieldLevel:
		return cfg.LevelLabel
	case investigate.FieldTraceID:
		if cfg.TraceLabel != "" {
			return cfg.TraceLabel
		}
	}
	if r := cfg.Renames[field]; r != "" {
		field = r
	}
	return SanitizeLabel(field)
}

// SanitizeLabel makes a field name a LogQL label name the way Loki's parsers do: every character
// outside [a-zA-Z0-9_] becomes '_', and a leading digit gets a '_' before it.
func SanitizeLabel(f string) string {
	var b strings.Builder
	for i, c := range f {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0
		if c >= '0' && c <= '9' && i == 0 {
			b.WriteByte('_')
			ok = true
		}
		if ok {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// indexed reports whether field is a stream label (in the selector rather than after a parser).
func (cfg Config) indexed(field string) bool {
	if field == investigate.FieldService {
		return true
	}
	return slices.Contains(cfg.StreamLabels, field)
}

// streamMatcher: an equality, negated equality or wildcard on an indexed label, or an OR of
// equalities on one (service:(a OR b) → service_name=~"a|b").
func (cfg Config) streamMatcher(e *investigate.LogExpr) (string, bool) {
	if e.Op == investigate.ExprOr {
		field := e.Args[0].Term.Field
		alts := make([]string, len(e.Args))
		for i, a := range e.Args {
			if a.Op != investigate.ExprTerm || a.Term.Kind != investigate.TermEq || a.Term.Field != field || !cfg.indexed(field) {
				return "", false
			}
			alts[i] = regexp.QuoteMeta(a.Term.Value)
		}
		return cfg.label(field) + "=~" + Quote(strings.Join(alts, "|")), true
	}
	neg := false
	if e.Op == investigate.ExprNot {
		neg, e = true, e.Args[0]
	}
	if e.Op != investigate.ExprTerm || !cfg.indexed(e.Term.Field) {
		return "", false
	}
	t := &e.Term
	name := cfg.label(t.Field)
	switch t.Kind {
	case investigate.TermEq:
		if neg {
			return name + "!=" + Quote(t.Value), true
		}
		return name + "=" + Quote(t.Value), true
	case investigate.TermWildcard:
		if neg {
			return name + "!~" + Quote(anchoredPattern(t)), true
		}
		return name + "=~" + Quote(anchoredPattern(t)), true
	}
	return "", false
}

// anchoredPattern is a field wildcard as a regexp for LogQL's matchers, which are anchored at both
// ends already.
func anchoredPattern(t *investigate.LogTerm) string {
	return investigate.WildcardPattern(t, ".*", regexp.QuoteMeta)
}

// textPattern is the regexp of a message word or phrase: case-insensitive, word boundaries where the
// phrase begins or ends with an ASCII word character.
func textPattern(v string) string {
	p := regexp.QuoteMeta(v)
	if v != "" && isASCIIWord(v[0]) {
		p = `\b` + p
	}
	if v != "" && isASCIIWord(v[len(v)-1]) {
		p += `\b`
	}
	return "(?i)" + p
}

func isASCIIWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// lineFilter: message text, --grep, a message wildcard, their negations, an OR of message texts, and
// a trace or correlation ID without a label configured for it.
func (cfg Config) lineFilter(e *investigate.LogExpr) (string, bool, error) {
	neg := false
	inner := e
	if e.Op == investigate.ExprNot {
		neg, inner = true, e.Args[0]
	}
	if inner.Op == investigate.ExprOr {
		alts := make([]string, 0, len(inner.Args))
		for _, a := range inner.Args {
			re, ok := messageRegexp(a)
			if !ok && a.Op == investigate.ExprTerm && a.Term.Kind == investigate.TermEq && cfg.lineID(a.Term.Field) {
				re, ok = regexp.QuoteMeta(a.Term.Value), true // trace_id:(a OR b): one line filter
			}
			if !ok {
				return "", false, nil
			}
			alts = append(alts, "(?:"+re+")")
		}
		if neg {
			return "!~ " + Quote(strings.Join(alts, "|")), true, nil
		}
		return "|~ " + Quote(strings.Join(alts, "|")), true, nil
	}
	if inner.Op != investigate.ExprTerm {
		return "", false, nil
	}
	t := &inner.Term
	switch {
	case t.Kind == investigate.TermContains:
		if neg {
			return "!= " + Quote(t.Value), true, nil
		}
		return "|= " + Quote(t.Value), true, nil
	case t.Kind == investigate.TermText || t.Kind == investigate.TermWildcard && t.Field == "":
		re, _ := messageRegexp(inner)
		if neg {
			return "!~ " + Quote(re), true, nil
		}
		return "|~ " + Quote(re), true, nil
	case !neg && t.Kind == investigate.TermEq && cfg.lineID(t.Field):
		// IDs are unique strings: a line filter finds them in JSON, logfmt and plain lines alike, and
		// is what Loki runs fastest.
		return "|= " + Quote(t.Value), true, nil
	}
	return "", false, nil
}

// lineID: trace and correlation IDs are found with line filters unless a label holds them.
func (cfg Config) lineID(field string) bool {
	return field == investigate.FieldTraceID && cfg.TraceLabel == "" || field == investigate.FieldCorrelationID
}

// messageRegexp is the RE2 text of a message term, for |~ and for alternations.
func messageRegexp(e *investigate.LogExpr) (string, bool) {
	if e.Op != investigate.ExprTerm {
		return "", false
	}
	t := &e.Term
	switch {
	case t.Kind == investigate.TermText:
		return textPattern(t.Value), true
	case t.Kind == investigate.TermContains:
		return regexp.QuoteMeta(t.Value), true
	case t.Kind == investigate.TermWildcard && t.Field == "":
		return investigate.MessagePattern(t), true
	}
	return "", false
}

// labelFilter is e as a label filter expression; negate pushes a NOT down (De Morgan, inverted
// comparisons). It reports whether the labels need the parser stage.
func (cfg Config) labelFilter(e *investigate.LogExpr, negate bool) (string, bool, error) {
	switch e.Op {
	case investigate.ExprNot:
		return cfg.labelFilter(e.Args[0], !negate)
	case investigate.ExprAnd, investigate.ExprOr:
		and := (e.Op == investigate.ExprAnd) != negate
		parts := make([]string, len(e.Args))
		parse := false
		for i, a := range e.Args {
			p, np, err := cfg.labelFilter(a, negate)
			if err != nil {
				return "", false, err
			}
			parts[i], parse = p, parse || np
		}
		sep := " or "
		if and {
			sep = " and "
		}
		return "(" + strings.Join(parts, sep) + ")", parse, nil
	}
	t := &e.Term
	if _, ok := messageRegexp(e); ok {
		return "", false, fmt.Errorf("loki: %s: LogQL filters message text with line filters, which cannot sit inside an OR with fields or under a NOT of several terms; "+
			"split the query in two, or filter the message field by name (msg:*text*)", e.String())
	}
	name := cfg.label(t.Field)
	// The service, level and configured trace labels exist without parsing (stream labels, structured
	// metadata); everything else is extracted by the parser.
	parse := !(t.Field == investigate.FieldService || t.Field == investigate.FieldLevel ||
		t.Field == investigate.FieldTraceID && cfg.TraceLabel != "" || cfg.indexed(t.Field))
	op := func(pos, neg string) string {
		if negate {
			return neg
		}
		return pos
	}
	switch t.Kind {
	case investigate.TermEq:
		if t.Field == investigate.FieldLevel {
			return name + op("=~", "!~") + Quote("(?i)"+regexp.QuoteMeta(t.Value)), parse, nil
		}
		return name + op("=", "!=") + Quote(t.Value), parse, nil
	case investigate.TermWildcard:
		return name + op("=~", "!~") + Quote(anchoredPattern(t)), parse, nil
	case investigate.TermExists:
		return name + op("!=", "=") + `""`, parse, nil
	case investigate.TermRange:
		cmp := t.Cmp
		if negate {
			cmp = map[string]string{">": "<=", ">=": "<", "<": ">=", "<=": ">"}[cmp]
		}
		v := strconv.FormatFloat(t.Num, 'f', -1, 64)
		if t.IsDur {
			v = t.Dur.String()
		}
		return name + " " + cmp + " " + v, parse, nil
	}
	return "", false, fmt.Errorf("loki: %s: no LogQL label filter for this term", e.String())
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
	if r.Status == "" && r.Error == "" {
		return nil, nil, errors.New(`not a Loki query_range answer (no "status"); is the URL Loki's HTTP API?`)
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
	slices.SortStableFunc(out, func(a, b Entry) int { return cmp.Compare(a.TS, b.TS) })
	return out, r.Warnings, nil
}

// query compiles q, detecting the parser stage from one line of the selected streams when Format is
// auto and the query filters on parsed fields.
func (c *Client) query(ctx context.Context, q investigate.LogQuery, start, end time.Time) (string, []string, error) {
	cq, err := compileQuery(q.Filter(), c.cfg)
	if err != nil {
		return "", nil, err
	}
	format := c.cfg.Format
	if cq.parse && (format == "" || format == "auto") {
		format = "json"
		params := url.Values{"query": {cq.sample()}, "start": {strconv.FormatInt(start.UnixNano(), 10)},
			"end": {strconv.FormatInt(end.UnixNano(), 10)}, "limit": {"1"}, "direction": {"backward"}}
		body, err := c.http.Do(ctx, httpx.Request{Path: "/loki/api/v1/query_range", Query: params})
		if err != nil {
			return "", nil, fmt.Errorf("loki: query_range (detecting the line format): %w", err)
		}
		entries, warn, err := DecodeResponse(body)
		if err != nil {
			return "", warn, fmt.Errorf("loki at %s: %w", c.http.BaseURL(), err)
		}
		if len(entries) > 0 && !strings.HasPrefix(strings.TrimSpace(entries[0].Line), "{") {
			format = "logfmt"
		}
	}
	return cq.text(format), nil, nil
}

// Explain is the query_range request Logs sends for q, for --explain. With Format auto it asks Loki
// for one line to detect the parser stage, as Logs does.
func (c *Client) Explain(ctx context.Context, q investigate.LogQuery) (investigate.LogRequest, error) {
	start, end := q.Start, q.End
	if end.IsZero() {
		end = time.Now()
	}
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	params := map[string]string{"start": start.UTC().Format(time.RFC3339Nano), "end": end.UTC().Format(time.RFC3339Nano),
		"direction": "forward", "limit": strconv.Itoa(c.cfg.PageSize)}
	query, _, err := c.query(ctx, q, start, end)
	if err != nil {
		cq, cerr := compileQuery(q.Filter(), c.cfg)
		if cerr != nil {
			return investigate.LogRequest{}, cerr
		}
		// Loki did not answer the format probe: show the query with | json and say so.
		query = cq.text("json")
		params["parser"] = "json(assumed:Loki-did-not-answer-the-format-probe;set-loki-format)"
	}
	return investigate.LogRequest{Backend: "Loki", Method: "GET", URL: c.http.BaseURL() + "/loki/api/v1/query_range", Query: query,
		Params: params}, nil
}

// Logs streams the records matching q in time order, paging forward by time: each page starts at the
// last timestamp of the one before, and the entries already sent at that nanosecond are skipped.
func (c *Client) Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	start, end := q.Start, q.End
	if end.IsZero() {
		end = time.Now()
	}
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	query, warnings, err := c.query(ctx, q, start, end)
	if err != nil {
		return warnings, err
	}
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
