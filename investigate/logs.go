package investigate

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// LogRecord is one log line, normalised from whichever store or file it came from. Its JSON form is the
// record of the `dbg logs` contract.
type LogRecord struct {
	Time          time.Time `json:"time"`
	Service       string    `json:"service"`
	Level         string    `json:"level"`
	Message       string    `json:"message"`
	TraceID       string    `json:"trace_id"`
	SpanID        string    `json:"span_id"`
	CorrelationID string    `json:"correlation_id"`
	// Fields are the record's other fields (labels, structured metadata, parsed keys), as strings.
	Fields map[string]string `json:"fields"`
}

// MarshalJSON writes the record with fields as {} rather than null and the time in RFC 3339.
func (r LogRecord) MarshalJSON() ([]byte, error) {
	type plain LogRecord
	p := struct {
		Time *time.Time `json:"time"`
		plain
	}{plain: plain(r)}
	if !r.Time.IsZero() {
		p.Time = &r.Time
	}
	if p.Fields == nil {
		p.Fields = map[string]string{}
	}
	return json.Marshal(p)
}

// ErrorType is the record's structured error type (error.type, error_type, exception.type, ...), empty
// when it has none. Pattern mining groups by it.
func (r *LogRecord) ErrorType() string {
	for _, k := range ErrorTypeFields {
		if v := r.Fields[k]; v != "" {
			return v
		}
	}
	return ""
}

// ErrorTypeFields are the field names that carry an error's type, in the order they are looked up.
var ErrorTypeFields = []string{"error.type", "error_type", "errorType", "exception.type", "exception_type", "exc_type"}

// LogQuery is what a log source is asked for. Sources send every value as escaped or structured data;
// nothing here is ever spliced into a query string.
type LogQuery struct {
	Start, End    time.Time
	Service       string
	TraceID       string
	CorrelationID string
	// Level matches the record's level case-insensitively ("error" matches "ERROR").
	Level string
	// Grep is a literal substring of the message.
	Grep string
	// Limit caps the records returned; 0 means no cap.
	Limit int
	// Expr is the parsed query (`dbg logs 'QUERY'`), joined by AND with the fields above; nil for none.
	Expr *LogExpr
}

// LogRequest is a compiled log query as its backend receives it: what --explain prints and the
// checklist lists as a step's queries.
type LogRequest struct {
	Backend string `json:"backend"`
	Method  string `json:"method,omitempty"`
	URL     string `json:"url,omitempty"`
	// Query is the LogQL or LogsQL text, or the _search body as JSON.
	Query string `json:"query"`
	// Params are the other request parameters (start, end, limit, index).
	Params map[string]string `json:"params,omitempty"`
}

// String is the request on one header line ("VictoriaLogs POST URL start=… end=…") and the query
// after it.
func (r LogRequest) String() string {
	var b strings.Builder
	b.WriteString("# " + r.Backend)
	if r.Method != "" {
		b.WriteString(" " + r.Method)
	}
	if r.URL != "" {
		b.WriteString(" " + r.URL)
	}
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + r.Params[k])
	}
	b.WriteString("\n" + r.Query)
	return b.String()
}

// sameID compares trace or span IDs the way backends print them: case-insensitively and ignoring the
// leading zeros Jaeger drops from 64-bit IDs.
func sameID(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	return a != "" && b != "" && strings.EqualFold(strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0"))
}

// FieldNames are the candidate field names for each part of a LogRecord, first match wins. Sources
// that read key/value records (JSON lines, logfmt, VictoriaLogs, Elasticsearch _source) share them so a
// trace ID is found under the same names everywhere.
type FieldNames struct {
	Time, Service, Level, Message, TraceID, SpanID, CorrelationID []string
}

// DefaultFieldNames covers OpenTelemetry, ECS, Datadog, logrus/zap/slog/zerolog defaults and the common
// X-Correlation-ID / X-Request-ID spellings.
func DefaultFieldNames() FieldNames {
	return FieldNames{
		Time:    []string{"time", "timestamp", "ts", "@timestamp", "_time", "t", "datetime", "date"},
		Service: []string{"service", "service.name", "service_name", "serviceName", "app", "application", "component", "logger.service"},
		Level:   []string{"level", "lvl", "severity", "log.level", "severity_text", "severityText", "loglevel", "detected_level", "levelname"},
		Message: []string{"msg", "message", "_msg", "log", "body", "Body", "MESSAGE", "text"},
		TraceID: []string{"trace_id", "traceId", "traceID", "trace.id", "TraceId", "dd.trace_id", "otelTraceID", "trace"},
		SpanID:  []string{"span_id", "spanId", "spanID", "span.id", "SpanId", "dd.span_id", "otelSpanID"},
		CorrelationID: []string{"correlation_id", "correlationId", "correlationID", "correlation.id", "x-correlation-id",
			"x_correlation_id", "X-Correlation-ID", "request_id", "requestId", "requestID", "request.id", "x-request-id",
			"x_request_id", "X-Request-ID"},
	}
}

// Prepend returns names with the given overrides looked up first (from a config mapping).
func (n FieldNames) Prepend(o FieldNames) FieldNames {
	pre := func(first, rest []string) []string {
		if len(first) == 0 {
			return rest
		}
		return append(append([]string{}, first...), rest...)
	}
	return FieldNames{
		Time: pre(o.Time, n.Time), Service: pre(o.Service, n.Service), Level: pre(o.Level, n.Level),
		Message: pre(o.Message, n.Message), TraceID: pre(o.TraceID, n.TraceID), SpanID: pre(o.SpanID, n.SpanID),
		CorrelationID: pre(o.CorrelationID, n.CorrelationID),
	}
}

// RecordFromFields builds a record from flat key/value fields. The keys used for the record's own
// parts are left out of Fields. A time that does not parse stays in Fields and the record's Time is zero.
func RecordFromFields(kv map[string]string, names FieldNames) LogRecord {
	var r LogRecord
	take := func(keys []string) string {
		for _, k := range keys {
			if v, ok := kv[k]; ok && v != "" {
				delete(kv, k)
				return v
			}
		}
		return ""
	}
	for _, k := range names.Time {
		if v, ok := kv[k]; ok && v != "" {
			if t, ok := ParseLogTime(v); ok {
				r.Time = t
				delete(kv, k)
				break
			}
		}
	}
	r.Message = take(names.Message)
	r.Service = take(names.Service)
	r.Level = take(names.Level)
	r.TraceID = take(names.TraceID)
	r.SpanID = take(names.SpanID)
	r.CorrelationID = take(names.CorrelationID)
	if len(kv) > 0 {
		r.Fields = kv
	}
	return r
}

// ParseLogTime reads the timestamps log lines carry: RFC 3339 (with or without zone, 'T' or space),
// Unix seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), and fractional
// Unix seconds.
func ParseLogTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' && len(s) >= 10 && (len(s) < 5 || s[4] != '-') {
		return parseUnix(s)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05,999", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func parseUnix(s string) (time.Time, bool) {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var n int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' || i > 18 {
			return time.Time{}, false
		}
		n = n*10 + int64(c-'0')
	}
	var ns int64
	if hasFrac {
		for i := 0; i < 9; i++ {
			ns *= 10
			if i < len(frac) {
				c := frac[i]
				if c < '0' || c > '9' {
					return time.Time{}, false
				}
				ns += int64(c - '0')
			}
		}
	}
	switch {
	case n >= 1e17: // nanoseconds
		return time.Unix(0, n).UTC(), true
	case n >= 1e14: // microseconds
		return time.UnixMicro(n).UTC(), true
	case n >= 1e11: // milliseconds
		return time.UnixMilli(n).UTC(), true
	}
	return time.Unix(n, ns).UTC(), true
}

// SortLogs orders records by time, keeping the source's order among equal times.
func SortLogs(rs []LogRecord) {
	slices.SortStableFunc(rs, func(a, b LogRecord) int { return a.Time.Compare(b.Time) })
}

// AttachedLogs are a trace's log lines placed under the spans that wrote them.
type AttachedLogs struct {
	// BySpan holds the records of each span, indexed like Trace.Spans, in time order.
	BySpan [][]LogRecord
	// Unattached are records that match no span: another trace's ID, or a time outside every span of
	// their service.
	Unattached []LogRecord
	// BySpanID and ByTime count how records were placed.
	BySpanID, ByTime int
}

// AttachLogs places each record under a span of t: the span whose ID the record carries, or else the
// innermost span of the record's service whose time range holds the record's time (ties go to the span
// that started last). It never changes t.
func AttachLogs(t *Tree, logs []LogRecord) AttachedLogs {
	tr := t.Trace
	out := AttachedLogs{BySpan: make([][]LogRecord, len(tr.Spans)), Unattached: []LogRecord{}}
	byService := map[string][]int32{}
	for _, i := range t.Order {
		s := &tr.Spans[i]
		byService[s.Service] = append(byService[s.Service], i)
	}
	for _, r := range logs {
		if r.TraceID != "" && tr.ID != "" && !sameID(r.TraceID, tr.ID) {
			out.Unattached = append(out.Unattached, r) // another request's line
			continue
		}
		if r.SpanID != "" {
			if i, ok := lookupSpan(t, r.SpanID); ok {
				out.BySpan[i] = append(out.BySpan[i], r)
				out.BySpanID++
				continue
			}
		}
		best := int32(-1)
		if !r.Time.IsZero() {
			for _, i := range byService[r.Service] {
				s := &tr.Spans[i]
				if r.Time.Before(s.Start) || r.Time.After(s.End()) {
					continue
				}
				if best < 0 || s.Duration < tr.Spans[best].Duration ||
					(s.Duration == tr.Spans[best].Duration && s.Start.After(tr.Spans[best].Start)) {
					best = i
				}
			}
		}
		if best >= 0 {
			out.BySpan[best] = append(out.BySpan[best], r)
			out.ByTime++
			continue
		}
		out.Unattached = append(out.Unattached, r)
	}
	for i := range out.BySpan {
		SortLogs(out.BySpan[i])
	}
	SortLogs(out.Unattached)
	return out
}

func lookupSpan(t *Tree, id string) (int32, bool) {
	if i, ok := t.Lookup(id); ok {
		return i, true
	}
	for _, cand := range []string{strings.ToLower(id), strings.TrimLeft(strings.ToLower(id), "0")} {
		if i, ok := t.Lookup(cand); ok {
			return i, true
		}
	}
	// Span IDs may be printed with different case or zero padding than the trace source used.
	for _, i := range t.Order {
		if sameID(t.Span(i).SpanID, id) {
			return i, true
		}
	}
	return -1, false
}
