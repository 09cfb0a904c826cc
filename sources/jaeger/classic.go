// Package jaeger reads traces from Jaeger: the classic JSON shape of its HTTP API and UI exports
// (`{"data":[{traceID, spans, processes}]}`), converted at the edge into investigate types.
package jaeger

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/dbgtool/dbg/investigate"
)

// The wire structs mirror Jaeger's UI model (jaeger: internal/uimodel/model.go) with just the fields dbg
// reads; they are converted to investigate.Trace immediately.
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
	return decodeClassicStream(r)
}
