// Package bundle reads and writes incident bundles: what the checklist read from live sources (traces,
// metric results, logs, profile findings) plus a manifest of the queries, the window and the tool
// version, as a directory or a .tar.gz. Every command's --from replays a bundle offline.
package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/files"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/otlp"
	"github.com/dbgtool/dbg/sources/safeio"
)

// FormatVersion is the bundle layout version in the manifest. 2 added Failed (a partial capture says
// which parts could not be read); 1 is read as a bundle without failures. A dbg that reads only 1
// refuses 2 ("newer than this dbg understands") rather than replaying a partial capture as complete.
const FormatVersion = 2

// minFormat is the oldest layout Open reads.
const minFormat = 1

// File names inside a bundle.
const (
	ManifestFile = "manifest.json"
	TracesFile   = "traces.json"   // Jaeger JSON: opens in Jaeger UI too
	MetricsFile  = "metrics.json"  // hotspot inputs per service
	LogsFile     = "logs.jsonl"    // one log record a line
	ProfileFile  = "profiles.json" // profile findings
)

// Manifest describes a bundle.
type Manifest struct {
	Format      int               `json:"format"`
	ToolVersion string            `json:"tool_version"`
	Created     time.Time         `json:"created"`
	Service     string            `json:"service"`
	Window      Range             `json:"window"`
	Baseline    Range             `json:"baseline"`
	Sources     map[string]string `json:"sources"` // kind → what it was read from (no credentials)
	Queries     []string          `json:"queries"`
	Changes     []Change          `json:"changes,omitempty"`
	// Failed maps a part that could not be captured ("traces", "metrics", "logs", "profiles") to why:
	// a replay reports that part as failed, never as not configured or empty.
	Failed map[string]string `json:"failed,omitempty"`
	// Truth is set by the fault-injection harness: what was planted, for accuracy scoring. dbg never
	// reads it when analysing.
	Truth map[string]string `json:"truth,omitempty"`
}

// Range is a time range.
type Range struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Change is a deploy marker.
type Change struct {
	At      time.Time `json:"at"`
	Service string    `json:"service"`
	What    string    `json:"what"`
	From    string    `json:"from"`
	To      string    `json:"to"`
}

// Contents is everything a bundle holds.
type Contents struct {
	Manifest Manifest
	Traces   []*investigate.Trace
	// Metrics maps a service ("" for all) to what the metric source measured for it.
	Metrics         map[string]investigate.HotspotInput
	Logs            []investigate.LogRecord
	ProfileFindings []investigate.Finding
	// Has says which parts were captured (a part that was not is "not configured" on replay).
	HasTraces, HasMetrics, HasLogs, HasProfiles bool
}

// Window is the manifest's window and baseline as an investigate.Window.
func (c *Contents) Window() investigate.Window {
	m := c.Manifest
	return investigate.Window{Start: m.Window.Start, End: m.Window.End, BaselineStart: m.Baseline.Start, BaselineEnd: m.Baseline.End}
}

// Write stores c at path: a directory, or a gzipped tar when path ends in .tar.gz or .tgz.
func Write(path string, c *Contents) error {
	parts, err := encode(c)
	if err != nil {
		return err
	}
	if strings.HasSuffix(path, ".tar.gz") || strings.HasSuffix(path, ".tgz") {
		return writeTar(path, parts)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("bundle %s: %w", path, err)
	}
	for _, p := range parts {
		if err := os.WriteFile(filepath.Join(path, p.name), p.data, 0o644); err != nil {
			return fmt.Errorf("bundle %s: %w", path, err)
		}
	}
	return nil
}

type part struct {
	name string
	data []byte
}

func encode(c *Contents) ([]part, error) {
	c.Manifest.Format = FormatVersion
	var parts []part
	if c.HasTraces {
		var b bytes.Buffer
		if err := jaeger.EncodeClassic(&b, c.Traces); err != nil {
			return nil, err
		}
		parts = append(parts, part{TracesFile, b.Bytes()})
	}
	if c.HasMetrics {
		m := map[string]investigate.HotspotInput{}
		for k, v := range c.Metrics {
			m[k] = scrubNaN(v)
		}
		b, err := json.MarshalIndent(m, "", " ")
		if err != nil {
			return nil, fmt.Errorf("bundle metrics: %w", err)
		}
		parts = append(parts, part{MetricsFile, b})
	}
	if c.HasLogs {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		for _, r := range c.Logs {
			if err := enc.Encode(r); err != nil {
				return nil, err
			}
		}
		parts = append(parts, part{LogsFile, b.Bytes()})
	}
	if c.HasProfiles {
		b, err := json.MarshalIndent(c.ProfileFindings, "", " ")
		if err != nil {
			return nil, err
		}
		parts = append(parts, part{ProfileFile, b})
	}
	b, err := json.MarshalIndent(c.Manifest, "", " ")
	if err != nil {
		return nil, err
	}
	return append([]part{{ManifestFile, b}}, parts...), nil
}

// scrubNaN replaces NaN and infinities (gaps in sparklines) with -1, the gap marker the hotspot tables
// use, because JSON cannot hold them.
func scrubNaN(in investigate.HotspotInput) investigate.HotspotInput {
	fix := func(m map[investigate.EndpointKey][]float64) {
		for k, s := range m {
			c := make([]float64, len(s))
			for i, v := range s {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					v = -1
				}
				c[i] = v
			}
			m[k] = c
		}
	}
	fixMap := func(m map[investigate.EndpointKey]float64) {
		for k, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				m[k] = 0
			}
		}
	}
	if in.Latency != nil {
		l := *in.Latency
		fix(l.Spark)
		for _, m := range []map[investigate.EndpointKey]float64{l.P99, l.BaseP99, l.P50, l.BaseP50} {
			fixMap(m)
		}
		in.Latency = &l
	}
	if in.Requests != nil {
		r := *in.Requests
		fix(r.RateSpark)
		fix(r.ErrorSpark)
		for _, m := range []map[investigate.EndpointKey]float64{r.Rate, r.BaseRate, r.Errors, r.BaseErrors} {
			fixMap(m)
		}
		in.Requests = &r
	}
	if in.Saturation != nil {
		s := *in.Saturation
		s.Rows = append([]investigate.SaturationObservation{}, s.Rows...)
		for i := range s.Rows {
			for j, v := range s.Rows[i].Spark {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					s.Rows[i].Spark[j] = -1
				}
			}
			for _, p := range []*float64{&s.Rows[i].Value, &s.Rows[i].Limit, &s.Rows[i].Baseline} {
				if math.IsNaN(*p) || math.IsInf(*p, 0) {
					*p = 0
				}
			}
		}
		in.Saturation = &s
	}
	return in
}

func writeTar(path string, parts []part) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, p := range parts {
		hdr := &tar.Header{Name: p.name, Mode: 0o644, Size: int64(len(p.data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(p.data); err != nil {
			return err
		}
	}
	for _, c := range []io.Closer{tw, gz, f} {
		if err := c.Close(); err != nil {
			return fmt.Errorf("bundle %s: %w", path, err)
		}
	}
	return nil
}

// fastJSON decodes the log lines: encoding/json took a third of replaying a 100,000-line bundle.
var fastJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// maxManifest bounds the manifest: a few KiB in any real bundle.
const maxManifest = 1 << 20

// known are the parts Open reads; every other archive entry is skipped unread.
var known = map[string]bool{ManifestFile: true, TracesFile: true, MetricsFile: true, LogsFile: true, ProfileFile: true}

// Open reads a bundle directory or .tar.gz with the default memory budget. Errors name the bundle and
// the part that is wrong.
func Open(path string) (*Contents, error) { return OpenBudget(path, nil) }

// OpenBudget reads a bundle drawing from the run's memory budget (nil: a default one). Only the five
// known parts are read; each is bounded (the manifest to 1 MiB, the others to the budget), and so is
// the whole archive's decompressed stream, skipped entries included: a 14 MB archive of zeros once took
// 5.5 GB.
func OpenBudget(path string, b *safeio.Budget) (*Contents, error) {
	if b == nil {
		b = safeio.NewBudget(0)
	}
	parts, err := readParts(path, b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	c, err := decode(parts)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	return c, nil
}

// readPart reads one known part, bounded and drawing from the budget; JSON parts are depth-checked
// while they stream in.
func readPart(r io.Reader, name string, b *safeio.Budget) ([]byte, error) {
	limit := b.Limit()
	if name == ManifestFile {
		limit = maxManifest
	}
	br := bufio.NewReaderSize(safeio.JSONDepthReader(b.Reader(r), 0, false), 64<<10)
	// A part that does not start like JSON fails on its first bytes, not after a gigabyte of them.
	head, _ := br.Peek(64 << 10)
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] != '{' && t[0] != '[' {
		return nil, fmt.Errorf("not JSON (it starts with %q)", t[:min(len(t), 16)])
	} else if len(t) == 0 && len(head) == 64<<10 {
		return nil, errors.New("not JSON (64 KiB of blank space)")
	}
	return safeio.ReadAll(br, limit, name, safeio.RaiseBudget)
}

func readParts(path string, b *safeio.Budget) (map[string][]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	parts := map[string][]byte{}
	if st.IsDir() {
		for _, name := range []string{ManifestFile, TracesFile, MetricsFile, LogsFile, ProfileFile} {
			f, err := os.Open(filepath.Join(path, name))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			data, err := readPart(f, name, b)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			parts[name] = data
		}
		return parts, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("not a directory or a .tar.gz bundle: %w", err)
	}
	// Everything the archive decompresses to, skipped entries too, is bounded by the budget's size.
	tr := tar.NewReader(safeio.LimitReader(gz, b.Limit(), "the decompressed archive", safeio.RaiseBudget))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, safeio.ErrLimit) {
				return nil, err
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errors.New("truncated archive (it ends inside an entry); copy it again")
			}
			return nil, fmt.Errorf("damaged archive (%v)", err)
		}
		name := filepath.Base(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || !known[name] {
			continue // unknown entries are not read: tar.Reader skips them
		}
		if _, dup := parts[name]; dup {
			return nil, fmt.Errorf("the archive holds %s twice; which one is the capture?", name)
		}
		data, err := readPart(tr, name, b)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%s: truncated archive (it ends inside this entry); copy it again", name)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		parts[name] = data
	}
	return parts, nil
}

func decode(parts map[string][]byte) (*Contents, error) {
	c := &Contents{}
	mb, ok := parts[ManifestFile]
	if !ok {
		return nil, fmt.Errorf("no %s: not a dbg bundle (make one with dbg capture)", ManifestFile)
	}
	if err := json.Unmarshal(mb, &c.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if c.Manifest.Format > FormatVersion {
		return nil, fmt.Errorf("bundle format %d is newer than this dbg understands (%d); upgrade dbg", c.Manifest.Format, FormatVersion)
	}
	if c.Manifest.Format < minFormat {
		return nil, fmt.Errorf("%s has no format version: not a dbg bundle manifest (make one with dbg capture)", ManifestFile)
	}
	if b, ok := parts[TracesFile]; ok {
		ts, err := decodeTraces(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", TracesFile, err)
		}
		c.Traces, c.HasTraces = ts, true
	}
	if b, ok := parts[MetricsFile]; ok {
		if err := json.Unmarshal(b, &c.Metrics); err != nil {
			return nil, fmt.Errorf("%s: %w", MetricsFile, err)
		}
		c.HasMetrics = true
	}
	if b, ok := parts[LogsFile]; ok {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		for sc.Scan() {
			line++
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var r investigate.LogRecord
			if err := fastJSON.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", LogsFile, line, err)
			}
			c.Logs = append(c.Logs, r)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", LogsFile, err)
		}
		c.HasLogs = true
	}
	if b, ok := parts[ProfileFile]; ok {
		if err := json.Unmarshal(b, &c.ProfileFindings); err != nil {
			return nil, fmt.Errorf("%s: %w", ProfileFile, err)
		}
		c.HasProfiles = true
	}
	return c, nil
}

// decodeTraces reads the traces part. Unlike a trace file, a bundle may hold none: the capture found
// no traces in the window, which is an answer.
func decodeTraces(b []byte) ([]*investigate.Trace, error) {
	format, err := files.DetectTraceFormat(b)
	if err != nil {
		return nil, err
	}
	if format == files.FormatOTLP {
		return otlp.DecodeJSON(b)
	}
	return jaeger.DecodeClassic(bytes.NewReader(b))
}

// Failure is why part ("traces", "metrics", "logs", "profiles") could not be captured, "" when it was.
func (c *Contents) Failure(part string) string { return c.Manifest.Failed[part] }

// SearchTraces returns the bundle's traces that involve service and whose root starts in [start, end),
// failing ones only when errorsOnly, most recent first, at most limit (0: all).
func (c *Contents) SearchTraces(service string, start, end time.Time, errorsOnly bool, limit int) []*investigate.Trace {
	var out []*investigate.Trace
	for _, t := range c.Traces {
		if len(t.Spans) == 0 {
			continue
		}
		rootStart := t.Spans[0].Start
		involves, failed := false, false
		for i := range t.Spans {
			s := &t.Spans[i]
			if s.ParentID == "" {
				rootStart = s.Start
				failed = failed || investigate.SpanIsError(s)
			}
			if s.Service == service || service == "" {
				involves = true
			}
		}
		if !involves || rootStart.Before(start) || !rootStart.Before(end) || (errorsOnly && !failed) {
			continue
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spans[0].Start.After(out[j].Spans[0].Start) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Hotspots returns what was measured for service.
func (c *Contents) Hotspots(service string) (investigate.HotspotInput, bool) {
	in, ok := c.Metrics[service]
	if !ok {
		in, ok = c.Metrics[""]
	}
	return in, ok
}

// QueryLogs returns the records that match q, in time order.
func (c *Contents) QueryLogs(q investigate.LogQuery) []investigate.LogRecord {
	var out []investigate.LogRecord
	for i := range c.Logs {
		if q.Match(&c.Logs[i]) {
			out = append(out, c.Logs[i])
			if q.Limit > 0 && len(out) >= q.Limit {
				break
			}
		}
	}
	investigate.SortLogs(out)
	return out
}
