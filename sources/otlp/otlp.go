// Package otlp converts OpenTelemetry trace data (OTLP JSON, as files or as Jaeger's /api/v3 answers)
// into investigate types, through the OpenTelemetry collector's pdata model.
package otlp

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/safeio"
)

// DecodeJSON parses OTLP JSON and returns one trace per trace ID, in the order each ID first appears. It
// takes the collector's shape (`{"resourceSpans":[...]}`, hex IDs) and the shapes other tools answer with:
// Tempo's `/api/traces/{id}` (`{"batches":[...]}`, IDs in base64 as protobuf's JSON mapping writes bytes,
// the older `instrumentationLibrarySpans`) and its `/api/v2/traces/{id}` (`{"trace":{"resourceSpans":[...]}}`).
func DecodeJSON(b []byte) ([]*investigate.Trace, error) {
	// pdata's decoder recurses into deep nesting before it notices the shape is wrong (a 100 MB file of
	// '[' took 4.7 GB): the depth is checked first, in one pass that allocates nothing.
	if err := safeio.CheckJSONDepth(b, 0); err != nil {
		return nil, fmt.Errorf("OTLP JSON: %w", err)
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(b)
	if err == nil && td.SpanCount() > 0 {
		return Convert(td), nil
	}
	// The fast path failed or found nothing: rewrite the other shapes into the collector's and try again.
	nb, changed, nerr := normalizeJSON(b)
	if nerr != nil || !changed {
		if err == nil {
			return Convert(td), nil
		}
		return nil, fmt.Errorf("OTLP JSON: %w", err)
	}
	td, err2 := u.UnmarshalTraces(nb)
	if err2 != nil {
		if err == nil {
			err = err2
		}
		return nil, fmt.Errorf("OTLP JSON: %w", err)
	}
	return Convert(td), nil
}

// Convert turns pdata traces into investigate traces, grouping spans by trace ID.
func Convert(td ptrace.Traces) []*investigate.Trace {
	byID := map[pcommon.TraceID]*investigate.Trace{}
	var order []*investigate.Trace
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resource := attrs(rs.Resource().Attributes())
		service, _ := resource.Get("service.name")
		if service == "" {
			service = "unknown"
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				ps := spans.At(k)
				tid := ps.TraceID()
				tr := byID[tid]
				if tr == nil {
					tr = &investigate.Trace{ID: TraceIDString(tid)}
					byID[tid] = tr
					order = append(order, tr)
				}
				tr.Spans = append(tr.Spans, convertSpan(ps, tr.ID, service, resource))
			}
		}
	}
	return order
}

// TraceIDString is the lower-case hex form Jaeger and dbg print; empty for the all-zero ID.
func TraceIDString(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func spanIDString(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func convertSpan(ps ptrace.Span, traceID, service string, resource investigate.Attrs) investigate.Span {
	s := investigate.Span{
		TraceID:   traceID,
		SpanID:    spanIDString(ps.SpanID()),
		ParentID:  spanIDString(ps.ParentSpanID()),
		Service:   service,
		Operation: ps.Name(),
		Kind:      investigate.SpanKind(ps.Kind()),
		Start:     ps.StartTimestamp().AsTime().UTC(),
		Attrs:     attrs(ps.Attributes()),
		Resource:  resource,
	}
	if end := ps.EndTimestamp(); end != 0 {
		s.Duration = time.Duration(int64(end) - int64(ps.StartTimestamp()))
	}
	switch ps.Status().Code() {
	case ptrace.StatusCodeError:
		s.Status = investigate.StatusError
	case ptrace.StatusCodeOk:
		s.Status = investigate.StatusOK
	}
	s.StatusMessage = ps.Status().Message()
	if ev := ps.Events(); ev.Len() > 0 {
		s.Events = make([]investigate.Event, ev.Len())
		for i := 0; i < ev.Len(); i++ {
			e := ev.At(i)
			s.Events[i] = investigate.Event{Name: e.Name(), Time: e.Timestamp().AsTime().UTC(), Attrs: attrs(e.Attributes())}
		}
	}
	if ls := ps.Links(); ls.Len() > 0 {
		for i := 0; i < ls.Len(); i++ {
			l := ls.At(i)
			s.Links = append(s.Links, investigate.Link{TraceID: TraceIDString(l.TraceID()), SpanID: spanIDString(l.SpanID()), Type: investigate.RefFollowsFrom})
		}
	}
	return s
}

func attrs(m pcommon.Map) investigate.Attrs {
	if m.Len() == 0 {
		return nil
	}
	out := make(investigate.Attrs, 0, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		out = append(out, investigate.Attr{Key: k, Value: v.AsString()})
		return true
	})
	return out
}
