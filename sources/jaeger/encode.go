package jaeger

import (
	"encoding/json"
	"io"
	"strconv"

	"github.com/dbgtool/dbg/investigate"
)

// EncodeClassic writes traces as Jaeger's classic JSON (`{"data":[...]}`), the shape Jaeger UI exports
// and /api/traces answers, so dbg's fixtures and bundles open in Jaeger UI too.
func EncodeClassic(w io.Writer, traces []*investigate.Trace) error {
	resp := struct {
		Data []wireTrace `json:"data"`
	}{Data: make([]wireTrace, 0, len(traces))}
	for _, t := range traces {
		resp.Data = append(resp.Data, toWire(t))
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(resp)
}

type wireTagOut struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// MarshalJSON writes a tag with Jaeger's type field; values that read as numbers or booleans keep that type.
func (t wireTag) MarshalJSON() ([]byte, error) {
	v := string(t.Value)
	out := wireTagOut{Key: t.Key, Type: "string", Value: v}
	if v == "true" || v == "false" {
		out.Type, out.Value = "bool", v == "true"
	} else if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v {
		out.Type, out.Value = "int64", n
	}
	return json.Marshal(out)
}

func fromAttrs(a investigate.Attrs) []wireTag {
	out := make([]wireTag, 0, len(a))
	for _, kv := range a {
		out = append(out, wireTag{Key: kv.Key, Value: wireValue(kv.Value)})
	}
	return out
}

func toWire(t *investigate.Trace) wireTrace {
	wt := wireTrace{TraceID: t.ID, Spans: make([]wireSpan, 0, len(t.Spans)), Processes: wireProcsMap{}}
	procID := map[string]string{}
	for i := range t.Spans {
		s := &t.Spans[i]
		pid, ok := procID[s.Service]
		if !ok {
			pid = "p" + strconv.Itoa(len(procID)+1)
			procID[s.Service] = pid
			var tags []wireTag
			for _, kv := range s.Resource {
				if kv.Key != "service.name" {
					tags = append(tags, wireTag{Key: kv.Key, Value: wireValue(kv.Value)})
				}
			}
			wt.Processes[pid] = wireProcess{ServiceName: s.Service, Tags: tags}
		}
		ws := wireSpan{
			TraceID: s.TraceID, SpanID: s.SpanID, OperationName: s.Operation,
			StartTime: s.Start.UnixMicro(), Duration: s.Duration.Microseconds(),
			Tags: fromAttrs(s.Attrs), ProcessID: pid, References: []wireRef{},
		}
		if ws.TraceID == "" {
			ws.TraceID = t.ID
		}
		if s.ParentID != "" {
			typ := "CHILD_OF"
			if s.FollowsFrom {
				typ = "FOLLOWS_FROM"
			}
			ws.References = append(ws.References, wireRef{RefType: typ, TraceID: ws.TraceID, SpanID: s.ParentID})
		}
		for _, l := range s.Links {
			typ := "FOLLOWS_FROM"
			if l.Type == investigate.RefChildOf {
				typ = "CHILD_OF"
			}
			ws.References = append(ws.References, wireRef{RefType: typ, TraceID: l.TraceID, SpanID: l.SpanID})
		}
		if _, has := s.Attrs.Get("span.kind"); !has && s.Kind != investigate.KindUnspecified {
			ws.Tags = append(ws.Tags, wireTag{Key: "span.kind", Value: wireValue(s.Kind.String())})
		}
		if s.Status == investigate.StatusError {
			if _, has := s.Attrs.Get("otel.status_code"); !has {
				ws.Tags = append(ws.Tags, wireTag{Key: "otel.status_code", Value: "ERROR"})
			}
			if s.StatusMessage != "" {
				ws.Tags = append(ws.Tags, wireTag{Key: "otel.status_description", Value: wireValue(s.StatusMessage)})
			}
		}
		for _, e := range s.Events {
			fields := append([]wireTag{{Key: "event", Value: wireValue(e.Name)}}, fromAttrs(e.Attrs)...)
			ws.Logs = append(ws.Logs, wireLog{Timestamp: e.Time.UnixMicro(), Fields: fields})
		}
		wt.Spans = append(wt.Spans, ws)
	}
	return wt
}
