package safeio

import (
	"errors"
	"fmt"
	"io"
)

// ErrTooDeep is wrapped by the error for JSON nested deeper than the limit.
var ErrTooDeep = errors.New("JSON nested too deep")

// DepthError says where a JSON document went past the nesting limit.
type DepthError struct {
	Offset int64 // byte offset of the opening bracket past the limit
	Limit  int
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("JSON nested more than %d levels deep at byte %d: not telemetry (a nesting bomb?)", e.Limit, e.Offset)
}

// Is makes errors.Is(err, ErrTooDeep) true.
func (e *DepthError) Is(target error) bool { return target == ErrTooDeep }

// depthScanner follows JSON nesting byte by byte: brackets outside strings, with escapes.
type depthScanner struct {
	max    int
	depth  int
	off    int64
	inStr  bool
	escape bool
}

func (d *depthScanner) scan(p []byte) error {
	for i, c := range p {
		switch {
		case d.inStr:
			switch {
			case d.escape:
				d.escape = false
			case c == '\\':
				d.escape = true
			case c == '"':
				d.inStr = false
			}
		case c == '"':
			d.inStr = true
		case c == '[' || c == '{':
			d.depth++
			if d.depth > d.max {
				return &DepthError{Offset: d.off + int64(i), Limit: d.max}
			}
		case c == ']' || c == '}':
			if d.depth > 0 {
				d.depth--
			}
		}
	}
	d.off += int64(len(p))
	return nil
}

// CheckJSONDepth fails when b nests deeper than max (MaxJSONDepth when max <= 0). It does not validate
// the rest of the syntax; the decoder that follows does.
func CheckJSONDepth(b []byte, max int) error {
	if max <= 0 {
		max = MaxJSONDepth
	}
	d := depthScanner{max: max}
	return d.scan(b)
}

// JSONDepthReader passes r through and fails as soon as the bytes nest deeper than max (MaxJSONDepth
// when max <= 0), before the decoder behind it builds anything. When sniff is set, the check only
// applies when the first non-blank byte opens a JSON object or array, so the same reader can wrap a
// body whose format is not known yet (a pprof profile, a text dump).
func JSONDepthReader(r io.Reader, max int, sniff bool) io.Reader {
	if max <= 0 {
		max = MaxJSONDepth
	}
	return &depthReader{r: r, d: depthScanner{max: max}, sniff: sniff}
}

type depthReader struct {
	r     io.Reader
	d     depthScanner
	sniff bool
	off   bool // sniffed: not JSON
	seen  bool // the first non-blank byte was seen
	err   error
}

func (dr *depthReader) Read(p []byte) (int, error) {
	if dr.err != nil {
		return 0, dr.err
	}
	n, err := dr.r.Read(p)
	if n > 0 && !dr.off {
		chunk := p[:n]
		if dr.sniff && !dr.seen {
			for _, c := range chunk {
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
					continue
				}
				dr.seen = true
				if c != '{' && c != '[' {
					dr.off = true
				}
				break
			}
		}
		if !dr.off {
			if serr := dr.d.scan(chunk); serr != nil {
				dr.err = serr
				return 0, serr
			}
		}
	}
	return n, err
}
