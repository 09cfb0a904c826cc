// Package files reads telemetry from local files: trace exports (Jaeger JSON: API answers, UI downloads,
// single-trace objects and the anonymizer's bare span arrays; OTLP JSON: the collector's file exporter,
// Jaeger's /api/v3 and Tempo's answers with base64 IDs), detected from their content.
package files

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/otlp"
	"github.com/dbgtool/dbg/sources/safeio"
)

// TraceFormat is a trace file's detected format.
type TraceFormat string

// Formats ReadTraces understands.
const (
	FormatJaeger TraceFormat = "jaeger-json"
	FormatOTLP   TraceFormat = "otlp-json"
)

// MaxTraceFileSize bounds what ReadTraces loads, so a wrong path (a disk image, /dev/zero) fails fast.
const MaxTraceFileSize = 4 << 30

// ReadTraceFile reads the traces in path. Errors name the file and what is wrong with it.
func ReadTraceFile(path string) ([]*investigate.Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trace file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("trace file %s: is a directory", path)
	}
	ts, err := ReadTraces(f)
	if err != nil {
		return nil, fmt.Errorf("trace file %s: %w", path, err)
	}
	return ts, nil
}

// ReadTraces reads a Jaeger JSON or OTLP JSON document from r. Jaeger JSON is decoded as it streams in;
// OTLP JSON is read whole first because pdata's unmarshaler takes a byte slice.
func ReadTraces(r io.Reader) ([]*investigate.Trace, error) {
	// The nesting depth is checked as the bytes arrive, so a nesting bomb fails at its first few hundred
	// bytes instead of after the whole file is in memory.
	br := bufio.NewReaderSize(safeio.JSONDepthReader(r, 0, false), 1<<16)
	head, err := br.Peek(1 << 16)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	format, err := DetectTraceFormat(head)
	if err != nil {
		return nil, err
	}
	if format == FormatJaeger {
		counter := &countingReader{r: io.LimitReader(br, MaxTraceFileSize+1)}
		ts, err := jaeger.DecodeClassic(counter)
		if counter.n > MaxTraceFileSize {
			return nil, fmt.Errorf("larger than %d GiB; is this a trace export?", MaxTraceFileSize>>30)
		}
		return checkTraces(ts, format, err, counter.n)
	}
	b, err := io.ReadAll(io.LimitReader(br, MaxTraceFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxTraceFileSize {
		return nil, fmt.Errorf("larger than %d GiB; is this a trace export?", MaxTraceFileSize>>30)
	}
	return DecodeTraces(b)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// DecodeTraces detects the format of b and decodes it.
func DecodeTraces(b []byte) ([]*investigate.Trace, error) {
	format, err := DetectTraceFormat(b)
	if err != nil {
		return nil, err
	}
	var ts []*investigate.Trace
	switch format {
	case FormatOTLP:
		ts, err = otlp.DecodeJSON(b)
	default:
		ts, err = jaeger.DecodeClassic(bytes.NewReader(b))
	}
	return checkTraces(ts, format, err, int64(len(b)))
}

func checkTraces(ts []*investigate.Trace, format TraceFormat, err error, size int64) ([]*investigate.Trace, error) {
	if err != nil {
		return nil, describeJSONError(size, err)
	}
	spans := 0
	for _, t := range ts {
		spans += len(t.Spans)
	}
	if spans == 0 {
		return nil, fmt.Errorf("no spans in the %s document", format)
	}
	return ts, nil
}

// DetectTraceFormat looks at the document's keys without decoding it.
func DetectTraceFormat(b []byte) (TraceFormat, error) {
	trimmed := bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return "", errors.New("empty file")
	}
	head := trimmed[:min(len(trimmed), 1<<16)]
	if bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(head[:max(0, len(head)-4)]) {
		return "", errors.New("binary data, not JSON; want a Jaeger JSON export or OTLP JSON")
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		return "", errors.New("not JSON (does not start with '{'); want a Jaeger JSON export or OTLP JSON")
	}
	switch {
	case bytes.Contains(head, []byte(`"resourceSpans"`)) || bytes.Contains(head, []byte(`"resource_spans"`)) ||
		bytes.Contains(head, []byte(`"batches"`)) || bytes.Contains(head, []byte(`"scopeSpans"`)) ||
		bytes.Contains(head, []byte(`"instrumentationLibrarySpans"`)):
		return FormatOTLP, nil
	case bytes.Contains(head, []byte(`"spans"`)) || bytes.Contains(head, []byte(`"data"`)) || bytes.Contains(head, []byte(`"traceID"`)):
		return FormatJaeger, nil
	}
	return "", errors.New(`JSON without "data", "spans" or "resourceSpans": not a Jaeger export or OTLP JSON`)
}

func describeJSONError(size int64, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("truncated JSON (ends after %d bytes)", size)
	case errors.As(err, &se):
		if se.Offset >= size-1 {
			return fmt.Errorf("truncated JSON (ends after %d bytes)", size)
		}
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Errorf("unexpected JSON shape at byte %d: field %q is %s, want %s", te.Offset, te.Field, te.Value, te.Type)
	}
	return err
}
