// Package jaeger reads traces from Jaeger: the classic JSON shape of its HTTP API and UI exports
// (`{"data":[{traceID, spans, processes}]}`), converted at the edge into investigate types.
package jaeger

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/safeio"
)

// The wire structs mirror Jaeger's UI model (jaeger: internal/uimodel/model.go) with just the fields dbg
// reads; they are converted to investigate.Trace immediately.
type wireResponse struct {
	Data   []wireTrace  `json:"data"`
	Errors []wireError  `json:"errors"`
	Spans  []wireSpan   `json:"spans"` // a bare trace object
	ID     string       `json:"traceID"`
	Procs  wireProcsMap `json:"processes"`
}

type wireError struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID"`
}

type wireTrace struct {
	TraceID   string       `json:"traceID"`
	Spans     []wireSpan   `json:"spans"`
	Processes wireProcsMap `json:"processes"`
	Warnings  []string     `json:"warnings"`
}

type wireProcsMap map[string]wireProcess

type wireProcess struct {
	ServiceName string    `json:"serviceName"`
	Tags        []wireTag `json:"tags"`
}

type wireSpan struct {
	TraceID       string       `json:"traceID"`
	SpanID        string       `json:"spanID"`
	ParentSpanID  string       `json:"parentSpanID,omitempty"` // older exports
	OperationName string       `json:"operationName"`
	References    []wireRef    `json:"references"`
	StartTime     int64        `json:"startTime"` // microseconds since the epoch
	Duration      int64        `json:"duration"`  // microseconds
	Tags          []wireTag    `json:"tags"`
	Logs          []wireLog    `json:"logs"`
	ProcessID     string       `json:"processID"`
	Process       *wireProcess `json:"process,omitempty"` // embedded form of some exports
	Warnings      []string     `json:"warnings"`
}

type wireRef struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type wireTag struct {
	Key   string    `json:"key"`
	Value wireValue `json:"value"`
}

type wireLog struct {
	Timestamp int64     `json:"timestamp"`
	Fields    []wireTag `json:"fields"`
}

// wireValue keeps a tag value's text: strings unquoted, numbers and booleans as written. It avoids the
// interface{} allocation a generic decode would make per tag.
type wireValue string

func (v *wireValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		if bytes.IndexByte(b, '\\') < 0 {
			*v = wireValue(b[1 : len(b)-1])
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = wireValue(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*v = ""
		return nil
	}
	*v = wireValue(b)
	return nil
}

// ErrNotFound is returned when Jaeger answers that a trace does not exist.
var ErrNotFound = errors.New("trace not found")

// DecodeClassic reads Jaeger's classic JSON: an API response or UI export `{"data":[...]}`, an array of
// trace objects, or a bare trace object `{"traceID":..., "spans":[...], "processes":{...}}`. It streams:
// the document is never held in memory whole.
func DecodeClassic(r io.Reader) ([]*investigate.Trace, error) {
	return decodeClassicStream(safeio.JSONDepthReader(r, 0, false))
}

func convertTags(tags []wireTag) investigate.Attrs {
	if len(tags) == 0 {
		return nil
	}
	out := make(investigate.Attrs, len(tags))
	for i, t := range tags {
		out[i] = investigate.Attr{Key: t.Key, Value: string(t.Value)}
	}
	return out
}

func convertClassic(wt *wireTrace) *investigate.Trace {
	tr := &investigate.Trace{ID: wt.TraceID, Spans: make([]investigate.Span, len(wt.Spans))}
	tr.Warnings = append(tr.Warnings, wt.Warnings...)
	type proc struct {
		service  string
		resource investigate.Attrs
	}
	procs := make(map[string]proc, len(wt.Processes))
	for id, p := range wt.Processes {
		procs[id] = proc{p.ServiceName, convertTags(p.Tags)}
	}
	missingProc := 0
	for i := range wt.Spans {
		ws := &wt.Spans[i]
		s := &tr.Spans[i]
		s.TraceID = ws.TraceID
		if tr.ID == "" {
			tr.ID = ws.TraceID
		}
		s.SpanID = ws.SpanID
		s.Operation = ws.OperationName
		s.Start = time.UnixMicro(ws.StartTime).UTC()
		s.Duration = time.Duration(ws.Duration) * time.Microsecond
		if p, ok := procs[ws.ProcessID]; ok {
			s.Service, s.Resource = p.service, p.resource
		} else if ws.Process != nil {
			s.Service, s.Resource = ws.Process.ServiceName, convertTags(ws.Process.Tags)
		} else {
			missingProc++
			s.Service = "unknown"
		}
		s.ParentID = ws.ParentSpanID
		for _, ref := range ws.References {
			follows := ref.RefType == "FOLLOWS_FROM"
			if s.ParentID == "" && (ref.TraceID == "" || ref.TraceID == ws.TraceID) {
				s.ParentID = ref.SpanID
				s.FollowsFrom = follows
				continue
			}
			if ref.SpanID == s.ParentID {
				continue
			}
			typ := investigate.RefChildOf
			if follows {
				typ = investigate.RefFollowsFrom
			}
			s.Links = append(s.Links, investigate.Link{TraceID: ref.TraceID, SpanID: ref.SpanID, Type: typ})
		}
		s.Attrs = convertTags(ws.Tags)
		s.Kind = investigate.ParseSpanKind(string(tagValue(ws.Tags, "span.kind")))
		switch tagValue(ws.Tags, "otel.status_code") {
		case "ERROR":
			s.Status = investigate.StatusError
		case "OK":
			s.Status = investigate.StatusOK
		}
		if v := tagValue(ws.Tags, "error"); v == "true" {
			s.Status = investigate.StatusError
		}
		s.StatusMessage = string(tagValue(ws.Tags, "otel.status_description"))
		if len(ws.Logs) > 0 {
			s.Events = make([]investigate.Event, len(ws.Logs))
			for j, l := range ws.Logs {
				attrs := convertTags(l.Fields)
				name := attrs.First("event", "message")
				s.Events[j] = investigate.Event{Name: name, Time: time.UnixMicro(l.Timestamp).UTC(), Attrs: attrs}
			}
		}
	}
	if missingProc > 0 {
		tr.Warnings = append(tr.Warnings, strconv.Itoa(missingProc)+" span(s) name a processID missing from processes; service shown as \"unknown\"")
	}
	return tr
}

func tagValue(tags []wireTag, key string) wireValue {
	for i := range tags {
		if tags[i].Key == key {
			return tags[i].Value
		}
	}
	return ""
}
