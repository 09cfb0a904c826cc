package files

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/internal/hostile"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/logline"
	"github.com/dbgtool/dbg/sources/safeio"
)

// stream is a reader of a hostile document written as it is read: 2 GiB never exist in memory.
func stream(write func(io.Writer) error) io.Reader {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	return pr
}

// TestTraceFileBombs: nesting bombs in OTLP and Jaeger JSON, and 2 GiB of one byte, fail on their
// first bytes with bounded memory (a 100 MB OTLP nesting bomb once took 4.7 GB).
func TestTraceFileBombs(t *testing.T) {
	cases := []struct {
		name  string
		write func(io.Writer) error
		want  error
		msg   string
	}{
		{"otlp nesting", func(w io.Writer) error { return hostile.OTLPNestingBomb(w, 2<<30) }, safeio.ErrTooDeep, "nested more than"},
		{"jaeger nesting", func(w io.Writer) error {
			io.WriteString(w, `{"data":`)
			return hostile.Repeat(w, '[', 2<<30)
		}, safeio.ErrTooDeep, "nested more than"},
		{"2 GiB of [", func(w io.Writer) error { return hostile.Repeat(w, '[', 2<<30) }, safeio.ErrTooDeep, "nested more than"},
		{"2 GiB of x", func(w io.Writer) error { return hostile.Repeat(w, 'x', 2<<30) }, nil, "not JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := hostile.Allocated()
			_, err := ReadTraces(stream(c.write))
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v", err)
			}
			if d := hostile.Allocated() - before; d > 16<<20 {
				t.Errorf("allocated %d MiB", d>>20)
			}
		})
	}
	b := []byte(`{"resourceSpans":` + strings.Repeat("[", 100000))
	if _, err := DecodeTraces(b); !errors.Is(err, safeio.ErrTooDeep) {
		t.Errorf("DecodeTraces: %v", err)
	}
}

// TestLogFileOneByte: 64 MiB on one line is read in bounded memory (the line is cut at MaxLogLine).
func TestLogFileOneByte(t *testing.T) {
	before := hostile.Allocated()
	n := 0
	err := ReadLogs(context.Background(), stream(func(w io.Writer) error { return hostile.Repeat(w, 'a', 64<<20) }),
		logline.NewParser(logline.FormatAuto, investigate.FieldNames{}, nil), func(investigate.LogRecord) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if d := hostile.Allocated() - before; d > 256<<20 {
		t.Errorf("allocated %d MiB for 64 MiB of input", d>>20)
	}
}
