package safeio

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/internal/hostile"
)

// TestGunzipBomb: 256 MiB of zeros (256 KB compressed) stops at the limit, allocating about the limit.
func TestGunzipBomb(t *testing.T) {
	var bomb bytes.Buffer
	if err := hostile.GzipRepeat(&bomb, 0, 256<<20); err != nil {
		t.Fatal(err)
	}
	before := hostile.Allocated()
	_, err := GunzipBytes(bomb.Bytes(), 16<<20, "profile file x.pb.gz", RaiseBudget)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != 16<<20 || !strings.Contains(err.Error(), "--max-read-bytes") || !strings.Contains(err.Error(), "16 MiB") {
		t.Fatalf("err = %v", err)
	}
	if d := hostile.Allocated() - before; d > 128<<20 {
		t.Errorf("allocated %d MiB for a 16 MiB limit", d>>20)
	}
	// gzip in gzip is unwrapped, within the same limit per layer
	var inner, outer bytes.Buffer
	hostile.GzipRepeat(&inner, 'a', 1000)
	io.Copy(&outer, bytes.NewReader(gz(t, inner.Bytes())))
	out, err := GunzipBytes(outer.Bytes(), 1<<20, "x", RaiseBudget)
	if err != nil || len(out) != 1000 {
		t.Errorf("two layers: %d bytes, %v", len(out), err)
	}
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := newGzipWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestLimitReader(t *testing.T) {
	b, err := ReadAll(strings.NewReader("0123456789"), 10, "x", "k")
	if err != nil || string(b) != "0123456789" {
		t.Errorf("at the limit: %q %v", b, err)
	}
	_, err = ReadAll(strings.NewReader("0123456789a"), 10, "the file", "--k")
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "the file went over the limit of 10 bytes; raise --k") {
		t.Errorf("over: %v", err)
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(100)
	if _, err := io.ReadAll(b.Reader(strings.NewReader(strings.Repeat("x", 60)))); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b.Reader(strings.NewReader(strings.Repeat("x", 60)))); !errors.Is(err, ErrLimit) {
		t.Errorf("second read of the run: %v, want the budget", err)
	}
	var nilBudget *Budget
	if err := nilBudget.Take(1 << 40); err != nil {
		t.Errorf("nil budget: %v", err)
	}
}

// TestJSONDepth: brackets inside strings (with escapes) do not count; the bomb fails at the limit's
// byte, reading no further; sniffing leaves non-JSON alone.
func TestJSONDepth(t *testing.T) {
	ok := `{"a":"[[[[{{{\"[[[","b":[[1,2],{"c":"]]]"}]}`
	if err := CheckJSONDepth([]byte(ok), 3); err != nil {
		t.Errorf("depth 3 document: %v", err)
	}
	if err := CheckJSONDepth([]byte(`[[[[`), 3); !errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), "at byte 3") {
		t.Errorf("depth 4: %v", err)
	}
	// 2 GiB of '[' through the reader: fails after the first chunk.
	pr, pw := io.Pipe()
	go func() { hostile.Repeat(pw, '[', 2<<30); pw.Close() }()
	n, err := io.Copy(io.Discard, JSONDepthReader(pr, 0, false))
	pr.Close()
	if !errors.Is(err, ErrTooDeep) || n > 1<<20 {
		t.Errorf("bomb: read %d bytes, err %v", n, err)
	}
	if _, err := io.Copy(io.Discard, JSONDepthReader(strings.NewReader("\x1f\x8b"+strings.Repeat("[", 1000)), 3, true)); err != nil {
		t.Errorf("sniffed non-JSON: %v", err)
	}
	if _, err := io.Copy(io.Discard, JSONDepthReader(strings.NewReader("  \n"+strings.Repeat("[", 1000)), 3, true)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("sniffed JSON: %v", err)
	}
}

func FuzzJSONDepth(f *testing.F) {
	for _, s := range []string{`{"a":[1]}`, `"[[["`, `[[[[[[`, `{"\"":"\\"}`, "\x1f\x8b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckJSONDepth(b, 4)
		_, rerr := io.Copy(io.Discard, JSONDepthReader(bytes.NewReader(b), 4, false))
		if (err == nil) != (rerr == nil) {
			t.Fatalf("CheckJSONDepth %v but the reader %v", err, rerr)
		}
	})
}

func newGzipWriter(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }
