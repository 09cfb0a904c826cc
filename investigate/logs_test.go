package investigate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAttachLogs(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tr := &Trace{ID: "abc", Spans: []Span{
		{TraceID: "abc", SpanID: "root", Service: "frontend", Operation: "GET /checkout", Start: ms(0), Duration: 100 * time.Millisecond},
		{TraceID: "abc", SpanID: "co", ParentID: "root", Service: "checkout", Operation: "place", Start: ms(10), Duration: 80 * time.Millisecond},
		{TraceID: "abc", SpanID: "db", ParentID: "co", Service: "checkout", Operation: "INSERT", Start: ms(20), Duration: 10 * time.Millisecond},
		{TraceID: "abc", SpanID: "pay", ParentID: "co", Service: "payment", Operation: "charge", Start: ms(40), Duration: 30 * time.Millisecond},
	}}
	tree := BuildTree(tr)
	logs := []LogRecord{
		{Time: ms(50), Service: "payment", SpanID: "pay", Message: "by span id"},
		{Time: ms(25), Service: "checkout", Message: "inside db span by time"},
		{Time: ms(60), Service: "checkout", Message: "inside place only"},
		{Time: ms(5), Service: "frontend", SpanID: "PAY", TraceID: "ABC", Message: "span id differs in case"},
		{Time: ms(500), Service: "checkout", Message: "after every span"},
		{Time: ms(15), Service: "unknown", Message: "no span of this service"},
		{Time: ms(15), Service: "checkout", SpanID: "other", TraceID: "xyz", Message: "another trace's span"},
	}
	att := AttachLogs(tree, logs)
	where := map[string]string{}
	for i, rs := range att.BySpan {
		for _, r := range rs {
			where[r.Message] = tr.Spans[i].SpanID
		}
	}
	for _, r := range att.Unattached {
		where[r.Message] = "-"
	}
	want := map[string]string{
		"by span id": "pay", "inside db span by time": "db", "inside place only": "co", "span id differs in case": "pay",
		"after every span": "-", "no span of this service": "-", "another trace's span": "-",
	}
	for msg, span := range want {
		if where[msg] != span {
			t.Errorf("%q under %q, want %q", msg, where[msg], span)
		}
	}
	if att.BySpanID != 2 || att.ByTime != 2 || len(att.Unattached) != 3 {
		t.Errorf("by id %d, by time %d, unattached %d", att.BySpanID, att.ByTime, len(att.Unattached))
	}
	if len(tr.Spans) != 4 || tr.Spans[0].SpanID != "root" {
		t.Error("AttachLogs changed the trace")
	}
}

func TestParseLogTime(t *testing.T) {
	want := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	for _, s := range []string{"2023-11-14T22:13:20Z", "2023-11-14 22:13:20", "1700000000", "1700000000000", "1700000000000000",
		"1700000000000000000", "1700000000.000", "2023-11-14T23:13:20+01:00"} {
		got, ok := ParseLogTime(s)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseLogTime(%q) = %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "yesterday", "12", "99999999999999999999999", "2023-13-45T99:00:00Z"} {
		if _, ok := ParseLogTime(s); ok {
			t.Errorf("ParseLogTime(%q) accepted", s)
		}
	}
}

func TestRecordFromFieldsAndMatch(t *testing.T) {
	kv := map[string]string{"@timestamp": "2026-11-25T10:00:00Z", "message": "m", "service.name": "api", "log.level": "ERROR",
		"trace.id": "0af7651916cd43dd8448eb211c80319c", "x-request-id": "r1", "http.status": "500"}
	r := RecordFromFields(kv, DefaultFieldNames())
	if r.Message != "m" || r.Service != "api" || r.Level != "ERROR" || r.CorrelationID != "r1" || len(r.Fields) != 1 || r.Fields["http.status"] != "500" {
		t.Errorf("record %+v", r)
	}
	tests := []struct {
		q    LogQuery
		want bool
	}{
		{LogQuery{Level: "error"}, true},
		{LogQuery{TraceID: "0AF7651916CD43DD8448EB211C80319C"}, true},
		{LogQuery{Service: "API"}, false},
		{LogQuery{Grep: "m"}, true},
		{LogQuery{Start: r.Time.Add(time.Second)}, false},
		{LogQuery{End: r.Time}, false},
		{LogQuery{CorrelationID: "r1", Level: "ERROR"}, true},
	}
	for _, tt := range tests {
		if got := tt.q.Match(&r); got != tt.want {
			t.Errorf("Match(%+v) = %v", tt.q, got)
		}
	}
	b, _ := json.Marshal(LogRecord{Message: "x"})
	if !strings.Contains(string(b), `"time":null`) || !strings.Contains(string(b), `"fields":{}`) {
		t.Errorf("zero record JSON %s", b)
	}
}
