package investigate

import (
	"net/url"
	"strings"
)

// TraceLink is the Jaeger UI deep link to a trace, or to one span in it when spanID is set; "" when
// the UI's address or the trace is unknown.
func TraceLink(ui, traceID, spanID string) string {
	if ui == "" || traceID == "" {
		return ""
	}
	u := strings.TrimRight(ui, "/") + "/trace/" + url.PathEscape(traceID)
	if spanID != "" {
		u += "?uiFind=" + url.QueryEscape(spanID)
	}
	return u
}

// LinkFindings is the one link pass every command runs over its findings: a finding without links
// gets a Jaeger UI deep link to the span its evidence names (span_id, else parent_span_id) in its
// first trace, or in traceID when it lists none. Findings that already carry links (a Prometheus
// graph, say) keep them. Nothing happens when ui is "".
func LinkFindings(fs []Finding, ui, traceID string) {
	if ui == "" {
		return
	}
	for i := range fs {
		f := &fs[i]
		if len(f.Links) > 0 {
			continue
		}
		tid := traceID
		if len(f.TraceIDs) > 0 {
			tid = f.TraceIDs[0]
		}
		span, _ := f.Evidence["span_id"].(string)
		if span == "" {
			span, _ = f.Evidence["parent_span_id"].(string)
		}
		if l := TraceLink(ui, tid, span); l != "" {
			f.Links = []string{l}
		}
	}
}
