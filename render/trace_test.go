package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// TestTraceMicroseconds: a trace of 30 µs spans must not print 0.0 everywhere on its critical path and
// in its statistics.
func TestTraceMicroseconds(t *testing.T) {
	t0 := time.Unix(100, 0)
	tr := &investigate.Trace{ID: "1", Spans: []investigate.Span{
		{TraceID: "1", SpanID: "a", Service: "cache", Operation: "get", Start: t0, Duration: 80 * time.Microsecond},
		{TraceID: "1", SpanID: "b", ParentID: "a", Service: "cache", Operation: "lookup", Start: t0.Add(10 * time.Microsecond), Duration: 30 * time.Microsecond},
	}}
	rep := investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
	var buf bytes.Buffer
	if err := Trace(&buf, rep, FormatTable, Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"0.030", "0.050", "0.080"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s ms:\n%s", want, out)
		}
	}
	if msCell(12.34) != "12.3" || msCell(0) != "0.0" {
		t.Errorf("msCell(12.34)=%q msCell(0)=%q", msCell(12.34), msCell(0))
	}
}

func TestProfileValueUnits(t *testing.T) {
	cases := map[[2]string]string{
		{"1500", "microseconds"}: "1.5ms",
		{"2", "seconds"}:         "2.00s",
		{"42", "count"}:          "42",
		{"7", "objects"}:         "7 objects",
		{"2048", "bytes"}:        "2.0 KiB",
	}
	for in, want := range cases {
		var v int64
		fmt.Sscan(in[0], &v)
		if got := ProfileValue(v, in[1]); got != want {
			t.Errorf("ProfileValue(%s %s) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
