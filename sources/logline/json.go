// Package logline parses one log line (JSON, logfmt, or plain text) and JSON log objects (a JSON line, an Elasticsearch _source, a VictoriaLogs row)
// into the flat string fields investigate.RecordFromFields reads, so every log source finds a trace ID
// under the same names.
package logline

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// MaxDepth bounds how deep nested objects are flattened; deeper values are kept as JSON text.
const MaxDepth = 8

// Flatten writes obj's values into out with dotted keys ({"service":{"name":"x"}} → "service.name": "x").
// Strings stay as they are, numbers keep their JSON spelling, arrays and deep objects become JSON text.
func Flatten(obj map[string]any, out map[string]string) {
	flatten("", obj, out, 0)
}

func flatten(prefix string, obj map[string]any, out map[string]string, depth int) {
	for k, v := range obj {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if m, ok := v.(map[string]any); ok && depth < MaxDepth {
			flatten(key, m, out, depth+1)
			continue
		}
		out[key] = String(v)
	}
}

// String renders one decoded JSON value as text.
func String(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeJSON parses one JSON object into flat fields; numbers keep their exact spelling.
func DecodeJSON(b []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(obj))
	Flatten(obj, out)
	return out, nil
}
