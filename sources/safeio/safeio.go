// Package safeio bounds what dbg reads from outside: one memory budget per run that every response and
// file read draws from, limits on decompressed bytes, and a JSON nesting-depth check that runs while the
// bytes stream in, so a hostile backend or file costs a bounded amount of memory and fails fast with an
// error that names the limit and how to raise it. Every reader of untrusted bytes in sources/ goes
// through it; see docs/security.md.
package safeio

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// DefaultMaxReadBytes is the default run budget (flag --max-read-bytes, config max-read-bytes): what
// one run may read from all its sources and files together, decompressed.
const DefaultMaxReadBytes int64 = 1 << 30

// RaiseBudget is how a user raises the budget, for messages.
const RaiseBudget = "--max-read-bytes (config max-read-bytes, env DBG_MAX_READ_BYTES)"

// MaxJSONDepth bounds the nesting of every JSON document dbg reads. Real traces, logs and API answers
// nest fewer than 20 levels; a document nested deeper is a bomb, not telemetry.
const MaxJSONDepth = 256

// ErrLimit is wrapped by every error this package returns for input over a limit.
var ErrLimit = errors.New("over the read limit")

// LimitError says a read went over a limit: which, how large, and what raises it.
type LimitError struct {
	What  string // "the decompressed profile", "the run's reads"
	Limit int64
	Raise string // the flag or config key that raises the limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s went over the limit of %s; raise %s if this is expected", e.What, Size(e.Limit), e.Raise)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// Size prints a byte count the way the limits are set (MiB or GiB when round).
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Budget is what one run may read, shared by all its sources (safe for concurrent use). Bytes taken are
// never given back: what a run read is, roughly, what it holds.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes (DefaultMaxReadBytes when limit <= 0).
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		limit = DefaultMaxReadBytes
	}
	return &Budget{limit: limit}
}

// Limit is the budget's size; 0 for a nil budget (no run budget).
func (b *Budget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Used is how much was taken.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Take draws n bytes; it fails once the run has read more than the budget. A nil budget never fails.
func (b *Budget) Take(n int64) error {
	if b == nil || n <= 0 {
		return nil
	}
	if b.used.Add(n) > b.limit {
		return &LimitError{What: "this run's reads from all sources together", Limit: b.limit, Raise: RaiseBudget}
	}
	return nil
}

// Reader draws every byte read through it from the budget (a nil budget passes r through).
func (b *Budget) Reader(r io.Reader) io.Reader {
	if b == nil {
		return r
	}
	return &budgetReader{r: r, b: b}
}

type budgetReader struct {
	r   io.Reader
	b   *Budget
	err error
}

func (br *budgetReader) Read(p []byte) (int, error) {
	if br.err != nil {
		return 0, br.err
	}
	n, err := br.r.Read(p)
	if terr := br.b.Take(int64(n)); terr != nil {
		br.err = terr
		return 0, terr
	}
	return n, err
}

// LimitReader returns at most max bytes of r and then fails with a *LimitError (instead of silently
// truncating, as io.LimitReader does).
func LimitReader(r io.Reader, max int64, what, raise string) io.Reader {
	return &limitReader{r: r, left: max, err: &LimitError{What: what, Limit: max, Raise: raise}}
}

type limitReader struct {
	r    io.Reader
	left int64
	err  *LimitError
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, l.err
	}
	return n, err
}

// ReadAll reads r whole, failing with a *LimitError past max bytes.
func ReadAll(r io.Reader, max int64, what, raise string) ([]byte, error) {
	return io.ReadAll(LimitReader(r, max, what, raise))
}

// IsGzip says whether b starts with the gzip magic.
func IsGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// Gunzip returns a reader of r's decompressed bytes, failing past max decompressed bytes.
func Gunzip(r io.Reader, max int64, what, raise string) (io.Reader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	return LimitReader(zr, max, "decompressed "+what, raise), nil
}

// GunzipBytes decompresses b when it is gzip (repeatedly, for a gzip inside a gzip, up to three layers)
// with at most max decompressed bytes; other bytes are returned as they are. It decompresses twice:
// once counting, once into a buffer of exactly that size, so a bomb fails having allocated nothing
// (one pass into a growing buffer held about 2.5 times the limit at its peak).
func GunzipBytes(b []byte, max int64, what, raise string) ([]byte, error) {
	for layer := 0; IsGzip(b); layer++ {
		if layer == 3 {
			return nil, fmt.Errorf("%s is gzip inside gzip more than three times: not a profile or export", what)
		}
		n, err := gunzipTo(io.Discard, b, max, what, raise)
		if err != nil {
			return nil, err
		}
		out := bytes.NewBuffer(make([]byte, 0, n))
		if _, err := gunzipTo(out, b, max, what, raise); err != nil {
			return nil, err
		}
		b = out.Bytes()
	}
	return b, nil
}

func gunzipTo(w io.Writer, b []byte, max int64, what, raise string) (int64, error) {
	r, err := Gunzip(bufio.NewReader(bytes.NewReader(b)), max, what, raise)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		if errors.Is(err, ErrLimit) {
			return 0, err
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("%s: truncated profile or export (the gzip ends early); fetch or copy it again", what)
		}
		return 0, fmt.Errorf("%s: damaged gzip (%v)", what, err)
	}
	return n, nil
}
