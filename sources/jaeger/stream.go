package jaeger

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/dbgtool/dbg/investigate"
)

// streamDecoder reads Jaeger's classic JSON straight into investigate spans with json-iterator's
// streaming Iterator: no copy of the whole document and no intermediate wire structs. On a 200,000-span
// export encoding/json took longer than Python's json.load and held the bytes, the wire structs and
// the converted spans at once (docs/performance.md has the figures).
type streamDecoder struct {
	it     *jsoniter.Iterator
	err    error
	intern map[string]string
	field  string // the numeric field being read, for errors
}

// maxInterned bounds the intern table: keys and short repeated values, not every unique statement.
const maxInterned = 1 << 16

func decodeClassicStream(r io.Reader) ([]*investigate.Trace, error) {
	d := &streamDecoder{it: jsoniter.Parse(jsoniter.ConfigDefault, r, 256<<10), intern: make(map[string]string, 1024)}
	var traces []*investigate.Trace
	var apiErrs []wireError
	switch d.it.WhatIsNext() {
	case jsoniter.ArrayValue: // an array of trace objects, or of spans (the anonymizer's output)
		loose := map[string]*pendingTrace{}
		var looseOrder []*pendingTrace
		d.it.ReadArrayCB(func(*jsoniter.Iterator) bool {
			if t := d.traceOrSpan(loose, &looseOrder); t != nil {
				traces = append(traces, t)
			}
			return d.ok()
		})
		for _, p := range looseOrder {
			traces = append(traces, p.finish())
		}
	case jsoniter.ObjectValue:
		bare := &pendingTrace{}
		isBare := false
		d.it.ReadObjectCB(func(_ *jsoniter.Iterator, key string) bool {
			switch key {
			case "data":
				if d.it.WhatIsNext() == jsoniter.ObjectValue { // one trace: {"data":{"traceID":...,"spans":[...]}}
					if t := d.trace(); t != nil {
						traces = append(traces, t)
					}
					break
				}
				if d.expect(jsoniter.ArrayValue, "data") {
					d.it.ReadArrayCB(func(*jsoniter.Iterator) bool {
						if t := d.trace(); t != nil {
							traces = append(traces, t)
						}
						return d.ok()
					})
				}
			case "errors":
				if d.expect(jsoniter.ArrayValue, "errors") {
					d.it.ReadArrayCB(func(*jsoniter.Iterator) bool {
						var e wireError
						d.object("errors", func(k string) {
							switch k {
							case "code":
								e.Code = d.it.ReadInt()
							case "msg":
								e.Msg = d.str()
							case "traceID":
								e.TraceID = d.str()
							default:
								d.it.Skip()
							}
						})
						apiErrs = append(apiErrs, e)
						return d.ok()
					})
				}
			default:
				if d.traceField(bare, key) {
					isBare = true
				} else {
					d.it.Skip() // "total", "limit", "offset" of an API answer
				}
			}
			return d.ok()
		})
		if isBare && d.ok() {
			traces = append(traces, bare.finish())
		}
	default:
		d.fail("the document is not a JSON object or array")
	}
	if d.err == nil && d.it.Error != nil && d.it.Error != io.EOF {
		d.err = d.it.Error
	}
	if d.err != nil {
		return nil, d.describe()
	}
	if len(traces) == 0 && len(apiErrs) > 0 {
		if apiErrs[0].Code == 404 {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("jaeger error %d: %s", apiErrs[0].Code, apiErrs[0].Msg)
	}
	return traces, nil
}

type pendingTrace struct {
	tr       investigate.Trace
	procIDs  []string
	procs    map[string]wireProcessConv
	embedded []int // spans that carried their own process
}

type wireProcessConv struct {
	service  string
	resource investigate.Attrs
}

func (d *streamDecoder) ok() bool { return d.err == nil && (d.it.Error == nil || d.it.Error == io.EOF) }

func (d *streamDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = shapeError{fmt.Sprintf(format, args...)}
	}
}

type shapeError struct{ msg string }

func (e shapeError) Error() string { return e.msg }

// describe turns iterator errors into the one line a user reads.
func (d *streamDecoder) describe() error {
	var se shapeError
	if errors.As(d.err, &se) {
		return fmt.Errorf("unexpected JSON shape: %s", se.msg)
	}
	msg := d.err.Error()
	// At the end of the input jsoniter reports a NUL "found" character or an unclosed container.
	if strings.Contains(msg, "EOF") || strings.Contains(msg, "incomplete") || strings.Contains(msg, "\x00") ||
		strings.Contains(msg, "not ended") {
		return fmt.Errorf("truncated JSON: %w", io.ErrUnexpectedEOF)
	}
	// jsoniter appends a long context dump; keep the head.
	if i := strings.Index(msg, ", error found in"); i > 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("invalid JSON: %s", msg)
}

// expect checks the next value's type; null counts as absent (skipped, false).
func (d *streamDecoder) expect(want jsoniter.ValueType, field string) bool {
	got := d.it.WhatIsNext()
	if got == want {
		return true
	}
	if got == jsoniter.NilValue {
		d.it.Skip()
		return false
	}
	if got == jsoniter.InvalidValue {
		if d.it.Error == nil {
			d.it.ReportError("read "+field, "unexpected end or character")
		}
		return false
	}
	d.fail("field %q is %s, want %s", field, typeName(got), typeName(want))
	return false
}

func typeName(t jsoniter.ValueType) string {
	switch t {
	case jsoniter.StringValue:
		return "a string"
	case jsoniter.NumberValue:
		return "a number"
	case jsoniter.BoolValue:
		return "a boolean"
	case jsoniter.ArrayValue:
		return "an array"
	case jsoniter.ObjectValue:
		return "an object"
	case jsoniter.NilValue:
		return "null"
	}
	return "invalid"
}

func (d *streamDecoder) object(field string, fn func(key string)) {
	if !d.expect(jsoniter.ObjectValue, field) {
		return
	}
	d.it.ReadObjectCB(func(_ *jsoniter.Iterator, key string) bool {
		fn(key)
		return d.ok()
	})
}

func (d *streamDecoder) array(field string, fn func()) {
	if !d.expect(jsoniter.ArrayValue, field) {
		return
	}
	d.it.ReadArrayCB(func(*jsoniter.Iterator) bool {
		fn()
		return d.ok()
	})
}

// str reads a string (numbers and booleans as their text, null as empty), interning short ones: span
// names, services and attribute keys repeat across 100k spans.
func (d *streamDecoder) str() string {
	switch d.it.WhatIsNext() {
	case jsoniter.StringValue:
		return d.internStr(d.it.ReadString())
	case jsoniter.NumberValue:
		return d.internStr(string(d.it.ReadNumber()))
	case jsoniter.BoolValue:
		if d.it.ReadBool() {
			return "true"
		}
		return "false"
	case jsoniter.NilValue:
		d.it.Skip()
		return ""
	case jsoniter.InvalidValue:
		d.it.Skip()
		return ""
	}
	d.it.Skip() // objects and arrays as tag values: not something dbg reads
	return ""
}

func (d *streamDecoder) internStr(s string) string {
	if len(s) > 48 {
		return s
	}
	if v, ok := d.intern[s]; ok {
		return v
	}
	if len(d.intern) < maxInterned {
		d.intern[s] = s
	}
	return s
}

func (d *streamDecoder) int64() int64 {
	switch d.it.WhatIsNext() {
	case jsoniter.NumberValue:
		n := d.it.ReadNumber()
		if v, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return v
		}
		if f, err := strconv.ParseFloat(string(n), 64); err == nil {
			return int64(f)
		}
		return 0
	case jsoniter.StringValue: // some exporters quote 64-bit numbers
		s := d.it.ReadString()
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil && s != "" {
			d.fail("field %q is %q, want a number", d.field, truncateID(s))
		}
		return v
	}
	d.it.Skip()
	return 0
}

func (d *streamDecoder) trace() *investigate.Trace {
	p := &pendingTrace{}
	d.object("data[]", func(key string) {
		if !d.traceField(p, key) {
			d.it.Skip()
		}
	})
	if !d.ok() {
		return nil
	}
	return p.finish()
}

// traceField reads one key of a trace object; false when the key is not a trace key (and not consumed).
func (d *streamDecoder) traceField(p *pendingTrace, key string) bool {
	switch key {
	case "traceID":
		p.tr.ID = d.str()
	case "spans":
		d.array("spans", func() { d.span(p) })
	case "processes":
		p.procs = map[string]wireProcessConv{}
		d.object("processes", func(id string) { p.procs[id] = d.process() })
	case "warnings":
		d.array("warnings", func() { p.tr.Warnings = append(p.tr.Warnings, d.str()) })
	default:
		return false
	}
	return true
}

func (d *streamDecoder) process() wireProcessConv {
	var pc wireProcessConv
	d.object("process", func(k string) {
		switch k {
		case "serviceName":
			pc.service = d.str()
		case "tags":
			pc.resource = d.tags("tags")
		default:
			d.it.Skip()
		}
	})
	return pc
}

func (d *streamDecoder) tags(field string) investigate.Attrs {
	var out investigate.Attrs
	d.array(field, func() {
		var a investigate.Attr
		d.object(field+"[]", func(k string) {
			switch k {
			case "key":
				a.Key = d.str()
			case "value":
				a.Value = d.str()
			default:
				d.it.Skip()
			}
		})
		out = append(out, a)
	})
	return out
}

// spanState collects one span's fields as they stream in.
type spanState struct {
	s          investigate.Span
	procID     string
	embedded   *wireProcessConv
	refs       []investigate.Link
	refFollows []bool
	isSpan     bool // a span-only key was seen
}

func (d *streamDecoder) span(p *pendingTrace) {
	var st spanState
	d.object("spans[]", func(k string) {
		if !d.spanField(&st, k) {
			d.it.Skip()
		}
	})
	if !d.ok() {
		return
	}
	d.addSpan(p, &st)
}

// spanField reads one key of a span object; false when the key is not a span key (and not consumed).
func (d *streamDecoder) spanField(st *spanState, k string) bool {
	s := &st.s
	switch k {
	case "traceID":
		s.TraceID = d.str()
		return true
	case "spanID":
		s.SpanID = d.str()
	case "parentSpanID":
		s.ParentID = d.str()
	case "operationName":
		s.Operation = d.str()
	case "references":
		d.array("references", func() {
			var l investigate.Link
			follows := false
			d.object("references[]", func(k string) {
				switch k {
				case "refType":
					follows = d.str() == "FOLLOWS_FROM"
				case "traceID":
					l.TraceID = d.str()
				case "spanID":
					l.SpanID = d.str()
				default:
					d.it.Skip()
				}
			})
			st.refs = append(st.refs, l)
			st.refFollows = append(st.refFollows, follows)
		})
	case "startTime":
		d.field = k
		s.Start = time.UnixMicro(d.int64()).UTC()
	case "duration":
		d.field = k
		s.Duration = time.Duration(d.int64()) * time.Microsecond
	case "tags":
		s.Attrs = d.tags("tags")
	case "logs":
		d.array("logs", func() {
			var e investigate.Event
			d.object("logs[]", func(k string) {
				switch k {
				case "timestamp":
					d.field = "timestamp"
					e.Time = time.UnixMicro(d.int64()).UTC()
				case "fields":
					e.Attrs = d.tags("fields")
				default:
					d.it.Skip()
				}
			})
			e.Name = e.Attrs.First("event", "message")
			s.Events = append(s.Events, e)
		})
	case "processID":
		st.procID = d.str()
	case "process":
		if d.it.WhatIsNext() == jsoniter.ObjectValue {
			pc := d.process()
			st.embedded = &pc
		} else {
			d.it.Skip()
		}
	default:
		return false
	}
	st.isSpan = true
	return true
}

func (d *streamDecoder) addSpan(p *pendingTrace, st *spanState) {
	s := st.s
	for i, l := range st.refs {
		if s.ParentID == "" && (l.TraceID == "" || l.TraceID == s.TraceID) {
			s.ParentID, s.FollowsFrom = l.SpanID, st.refFollows[i]
			continue
		}
		if l.SpanID == s.ParentID {
			continue
		}
		if st.refFollows[i] {
			l.Type = investigate.RefFollowsFrom
		}
		s.Links = append(s.Links, l)
	}
	applySpanTags(&s)
	if st.embedded != nil {
		s.Service, s.Resource = st.embedded.service, st.embedded.resource
		p.embedded = append(p.embedded, len(p.tr.Spans))
	}
	p.tr.Spans = append(p.tr.Spans, s)
	p.procIDs = append(p.procIDs, st.procID)
}

// traceOrSpan reads one element of a top-level array: a trace object (returned), or a bare span, which
// joins the loose trace of its trace ID (finished by the caller once the array ends).
func (d *streamDecoder) traceOrSpan(loose map[string]*pendingTrace, order *[]*pendingTrace) *investigate.Trace {
	p := &pendingTrace{}
	var st spanState
	isTrace := false
	d.object("[]", func(key string) {
		switch key {
		case "traceID":
			p.tr.ID = d.str()
			st.s.TraceID = p.tr.ID
		case "spans", "processes":
			isTrace = true
			d.traceField(p, key)
		case "warnings":
			d.traceField(p, key)
		default:
			if !d.spanField(&st, key) {
				d.it.Skip()
			}
		}
	})
	if !d.ok() {
		return nil
	}
	if isTrace || !st.isSpan {
		return p.finish()
	}
	lp := loose[st.s.TraceID]
	if lp == nil {
		lp = &pendingTrace{}
		lp.tr.ID = st.s.TraceID
		loose[st.s.TraceID] = lp
		*order = append(*order, lp)
	}
	d.addSpan(lp, &st)
	return nil
}

// applySpanTags derives kind and status from the tags Jaeger writes; the classic JSON and the gRPC API
// both read a span through it. The status follows Jaeger's own reading of its spans (the OpenTelemetry
// Collector's Jaeger translator, which Jaeger v2 runs): a true "error" tag is the ultimate truth;
// without it otel.status_code decides, and an OK there is final, as the OpenTelemetry API defines it
// (a status set to Ok overrides any Error set before or after). Values are compared case-insensitively.
func applySpanTags(s *investigate.Span) {
	errTag, okCode, errCode := false, false, false
	for _, a := range s.Attrs {
		switch a.Key {
		case "span.kind":
			s.Kind = investigate.ParseSpanKind(a.Value)
		case "otel.status_code":
			switch strings.ToUpper(a.Value) {
			case "OK":
				okCode = true
			case "ERROR":
				errCode = true
			}
		case "error":
			errTag = errTag || strings.EqualFold(a.Value, "true")
		case "otel.status_description":
			s.StatusMessage = a.Value
		}
	}
	switch {
	case errTag:
		s.Status = investigate.StatusError
	case okCode:
		s.Status = investigate.StatusOK
	case errCode:
		s.Status = investigate.StatusError
	}
}

// finish resolves process IDs (processes may come after spans in the document).
func (p *pendingTrace) finish() *investigate.Trace {
	missing := 0
	emb := 0
	for i := range p.tr.Spans {
		s := &p.tr.Spans[i]
		if emb < len(p.embedded) && p.embedded[emb] == i {
			emb++
			continue
		}
		if pc, ok := p.procs[p.procIDs[i]]; ok {
			s.Service, s.Resource = pc.service, pc.resource
		} else {
			s.Service = "unknown"
			missing++
		}
		if p.tr.ID == "" {
			p.tr.ID = s.TraceID
		}
	}
	if p.tr.ID == "" && len(p.tr.Spans) > 0 {
		p.tr.ID = p.tr.Spans[0].TraceID
	}
	if missing > 0 {
		p.tr.Warnings = append(p.tr.Warnings, strconv.Itoa(missing)+" span(s) name a processID missing from processes; service shown as \"unknown\"")
	}
	t := p.tr
	return &t
}
