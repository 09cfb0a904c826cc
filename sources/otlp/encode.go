package otlp

import (
	"encoding/hex"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/dbgtool/dbg/investigate"
)

// FromTraces converts investigate traces to pdata, one ResourceSpans per service, so they can be sent to
// an OTLP receiver or written as OTLP JSON.
func FromTraces(traces []*investigate.Trace) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, t := range traces {
		bySvc := map[string]ptrace.SpanSlice{}
		for i := range t.Spans {
			s := &t.Spans[i]
			ss, ok := bySvc[s.Service]
			if !ok {
				rs := td.ResourceSpans().AppendEmpty()
				ra := rs.Resource().Attributes()
				ra.PutStr("service.name", s.Service)
				for _, kv := range s.Resource {
					if kv.Key != "service.name" {
						ra.PutStr(kv.Key, kv.Value)
					}
				}
				sc := rs.ScopeSpans().AppendEmpty()
				sc.Scope().SetName("dbg")
				ss = sc.Spans()
				bySvc[s.Service] = ss
			}
			ps := ss.AppendEmpty()
			tid := s.TraceID
			if tid == "" {
				tid = t.ID
			}
			ps.SetTraceID(traceID(tid))
			ps.SetSpanID(spanID(s.SpanID))
			if s.ParentID != "" {
				ps.SetParentSpanID(spanID(s.ParentID))
			}
			ps.SetName(s.Operation)
			ps.SetKind(ptrace.SpanKind(s.Kind))
			ps.SetStartTimestamp(pcommon.NewTimestampFromTime(s.Start))
			ps.SetEndTimestamp(pcommon.NewTimestampFromTime(s.Start.Add(s.Duration)))
			for _, kv := range s.Attrs {
				if kv.Key != "span.kind" {
					ps.Attributes().PutStr(kv.Key, kv.Value)
				}
			}
			switch s.Status {
			case investigate.StatusError:
				ps.Status().SetCode(ptrace.StatusCodeError)
			case investigate.StatusOK:
				ps.Status().SetCode(ptrace.StatusCodeOk)
			}
			ps.Status().SetMessage(s.StatusMessage)
			for _, e := range s.Events {
				pe := ps.Events().AppendEmpty()
				pe.SetName(e.Name)
				pe.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
				for _, kv := range e.Attrs {
					pe.Attributes().PutStr(kv.Key, kv.Value)
				}
			}
			for _, l := range s.Links {
				pl := ps.Links().AppendEmpty()
				pl.SetTraceID(traceID(l.TraceID))
				pl.SetSpanID(spanID(l.SpanID))
			}
		}
	}
	return td
}

// EncodeJSON writes traces as OTLP JSON.
func EncodeJSON(traces []*investigate.Trace) ([]byte, error) {
	var m ptrace.JSONMarshaler
	return m.MarshalTraces(FromTraces(traces))
}

func traceID(s string) pcommon.TraceID {
	var id pcommon.TraceID
	b, _ := hex.DecodeString(leftPad(s, 32))
	copy(id[:], b)
	return id
}

func spanID(s string) pcommon.SpanID {
	var id pcommon.SpanID
	b, _ := hex.DecodeString(leftPad(s, 16))
	copy(id[:], b)
	return id
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
