package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
)

// maxNormalizeDepth bounds the nesting normalizeJSON walks: OTLP is at most a dozen levels deep (kvlist
// and array values nest further, but IDs never sit below the span).
const maxNormalizeDepth = 64

// normalizeJSON rewrites Tempo's and protobuf-JSON's variants of OTLP JSON into the collector's shape:
// a "batches" or "trace" wrapper becomes "resourceSpans", "instrumentationLibrarySpans" becomes
// "scopeSpans" (and "instrumentationLibrary" "scope"), and base64 trace, span and parent IDs become hex.
// changed is false when there was nothing to rewrite.
func normalizeJSON(b []byte) (out []byte, changed bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false, err
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, false, nil
	}
	if tr, ok := top["trace"].(map[string]any); ok && top["resourceSpans"] == nil {
		top, changed = tr, true
	}
	if bs, ok := top["batches"]; ok && top["resourceSpans"] == nil {
		top = map[string]any{"resourceSpans": bs}
		changed = true
	}
	if fixIDs(top, 0) {
		changed = true
	}
	if !changed {
		return nil, false, nil
	}
	out, err = json.Marshal(top)
	return out, true, err
}

// fixIDs walks v renaming the old scope keys and turning base64 IDs into hex; true when it changed
// something.
func fixIDs(v any, depth int) bool {
	if depth > maxNormalizeDepth {
		return false
	}
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for old, nu := range map[string]string{"instrumentationLibrarySpans": "scopeSpans", "instrumentationLibrary": "scope"} {
			if val, ok := x[old]; ok {
				if _, has := x[nu]; !has {
					x[nu] = val
				}
				delete(x, old)
				changed = true
			}
		}
		for key, size := range map[string]int{"traceId": 16, "spanId": 8, "parentSpanId": 8, "trace_id": 16, "span_id": 8, "parent_span_id": 8} {
			if s, ok := x[key].(string); ok {
				if h, ok := base64ID(s, size); ok {
					x[key] = h
					changed = true
				}
			}
		}
		for k, val := range x {
			if k == "attributes" || k == "value" {
				continue // attribute values are data, never IDs
			}
			if fixIDs(val, depth+1) {
				changed = true
			}
		}
	case []any:
		for _, e := range x {
			if fixIDs(e, depth+1) {
				changed = true
			}
		}
	}
	return changed
}

// base64ID decodes s as a size-byte ID in standard or URL base64 and returns it in hex; false when s is
// already hex (or not an ID at all).
func base64ID(s string, size int) (string, bool) {
	if len(s) == hex.EncodedLen(size) {
		if _, err := hex.DecodeString(s); err == nil {
			return "", false
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == size {
			return hex.EncodeToString(b), true
		}
	}
	return "", false
}
