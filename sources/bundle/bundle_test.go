package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/hostile"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/safeio"
)

func sample() *Contents {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Contents{
		Manifest: Manifest{ToolVersion: "test", Service: "checkout", Window: Range{t0, t0.Add(30 * time.Minute)},
			Sources: map[string]string{"traces": "Jaeger"}, Queries: []string{"q1"}, Failed: map[string]string{"metrics": "Prometheus: HTTP 500"}},
		Traces:    []*investigate.Trace{{ID: "abc", Spans: []investigate.Span{{TraceID: "abc", SpanID: "s1", Service: "checkout", Operation: "GET /", Start: t0.Add(time.Minute), Duration: time.Second}}}},
		Logs:      []investigate.LogRecord{{Time: t0.Add(time.Minute), Service: "checkout", Level: "error", Message: "boom"}},
		HasTraces: true, HasLogs: true,
	}
}

// TestRoundTrip: a directory and a .tar.gz give back what was written, failures included.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"dir", "b.tar.gz"} {
		path := filepath.Join(t.TempDir(), name)
		if err := Write(path, sample()); err != nil {
			t.Fatal(err)
		}
		c, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Manifest.Format != FormatVersion || c.Manifest.Service != "checkout" || len(c.Traces) != 1 || len(c.Traces[0].Spans) != 1 ||
			len(c.Logs) != 1 || c.Logs[0].Message != "boom" || c.HasMetrics || c.Failure("metrics") != "Prometheus: HTTP 500" || c.Failure("traces") != "" {
			t.Errorf("%s: read back %+v", name, c)
		}
	}
	// A capture that found no traces is an answer, not a damaged bundle.
	empty := sample()
	empty.Traces = nil
	path := filepath.Join(t.TempDir(), "empty")
	if err := Write(path, empty); err != nil {
		t.Fatal(err)
	}
	if c, err := Open(path); err != nil || !c.HasTraces || len(c.Traces) != 0 {
		t.Errorf("empty traces: %v %+v", err, c)
	}
}

// TestVersions: format 1 (before Failed) and 2 are read; a newer or missing one is refused by name.
func TestVersions(t *testing.T) {
	for _, c := range []struct {
		manifest string
		want     string
	}{
		{`{"format":1,"service":"a"}`, ""},
		{`{"format":2,"service":"a","failed":{"traces":"down"}}`, ""},
		{`{"format":3,"service":"a"}`, "newer than this dbg understands"},
		{`{"service":"a"}`, "no format version"},
		{`[1,2]`, "manifest.json"},
		{`not json`, "not JSON"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ManifestFile), []byte(c.manifest), 0o644)
		_, err := Open(dir)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: err %v, want %q", c.manifest, err, c.want)
		}
	}
}

func tarGz(t *testing.T, entries ...[2]string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		tw.WriteHeader(&tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1]))})
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	zw.Close()
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	os.WriteFile(path, buf.Bytes(), 0o644)
	return path
}

// TestDamagedArchives: each damage is one line naming what is wrong.
func TestDamagedArchives(t *testing.T) {
	manifest := [2]string{ManifestFile, `{"format":2,"service":"a"}`}
	good := tarGz(t, manifest, [2]string{TracesFile, `{"data":[]}`})
	raw, _ := os.ReadFile(good)
	trunc := filepath.Join(t.TempDir(), "t.tar.gz")
	os.WriteFile(trunc, raw[:len(raw)/2], 0o644)
	notGz := filepath.Join(t.TempDir(), "n.tar.gz")
	os.WriteFile(notGz, []byte("PK\x03\x04 a zip"), 0o644)
	cases := []struct{ name, path, want string }{
		{"truncated", trunc, "truncated"},
		{"not gzip", notGz, "not a directory or a .tar.gz bundle"},
		{"duplicate", tarGz(t, manifest, manifest), "twice"},
		{"no manifest", tarGz(t, [2]string{TracesFile, `{"data":[]}`}), "not a dbg bundle"},
		{"nesting bomb", tarGz(t, manifest, [2]string{TracesFile, `{"data":` + strings.Repeat("[", 5000)}), "nested more than"},
		{"bad log line", tarGz(t, manifest, [2]string{LogsFile, "{\"message\":1}\n"}), "logs.jsonl line 1"},
		{"missing", filepath.Join(t.TempDir(), "nope.tar.gz"), "no such file"},
	}
	for _, c := range cases {
		_, err := Open(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := Open(good); err != nil {
		t.Errorf("good archive: %v", err)
	}
}

// TestTarBomb: unknown entries are skipped unread (192 MiB of them cost no memory); a known entry
// over the budget, and an archive that decompresses past it, fail naming --max-read-bytes; a known
// entry of one repeated byte fails on its first bytes.
func TestTarBomb(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, names []string, n int64) string {
		path := filepath.Join(dir, name)
		f, _ := os.Create(path)
		if err := hostile.TarBomb(f, names, n); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return path
	}
	unknown := write("unknown.tar.gz", []string{"a.bin", "b.bin"}, 96<<20)
	before := hostile.Allocated()
	_, err := OpenBudget(unknown, safeio.NewBudget(1<<30))
	if err != nil {
		t.Errorf("unknown entries: %v", err)
	}
	if d := hostile.Allocated() - before; d > 32<<20 {
		t.Errorf("skipping 192 MiB of unknown entries allocated %d MiB", d>>20)
	}
	_, err = OpenBudget(unknown, safeio.NewBudget(64<<20))
	if !errors.Is(err, safeio.ErrLimit) || !strings.Contains(err.Error(), "--max-read-bytes") || !strings.Contains(err.Error(), "decompressed archive") {
		t.Errorf("archive past the budget: %v", err)
	}
	// One byte repeated in a known entry: "not JSON" at once, whatever its size.
	spaces := write("spaces.tar.gz", []string{TracesFile}, 64<<20)
	before = hostile.Allocated()
	_, err = OpenBudget(spaces, safeio.NewBudget(1<<30))
	if err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("64 MiB of spaces in traces.json: %v", err)
	}
	if d := hostile.Allocated() - before; d > 32<<20 {
		t.Errorf("allocated %d MiB", d>>20)
	}
	big := tarGz(t, [2]string{ManifestFile, `{"format":2}`}, [2]string{LogsFile, strings.Repeat(`{"message":"x"}`+"\n", 1<<16)})
	if _, err := OpenBudget(big, safeio.NewBudget(512<<10)); !errors.Is(err, safeio.ErrLimit) || !strings.Contains(err.Error(), LogsFile) {
		t.Errorf("known entry over the budget: %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	m := []byte(`{"format":2,"service":"a"}`)
	tw.WriteHeader(&tar.Header{Name: ManifestFile, Mode: 0o644, Size: int64(len(m))})
	tw.Write(m)
	tw.Close()
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.tar.gz")
		os.WriteFile(path, b, 0o644)
		OpenBudget(path, safeio.NewBudget(8<<20)) // must not panic or exceed the budget
	})
}
