// Package pprof reads Go profiles — from a service's net/http/pprof endpoints or from files, gzipped or
// not — with github.com/google/pprof/profile, and converts them into investigate types. It also reads the
// text goroutine dump (debug=2), which carries what the binary format lacks: wait state, wait time and
// the creating go statement.
package pprof

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/pprof/profile"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/safeio"
)

// Kinds are the profiles `dbg profile` reads, as net/http/pprof names them (cpu is served as "profile").
var Kinds = []string{"cpu", "heap", "allocs", "goroutine", "mutex", "block"}

// DefaultPathPrefix is where net/http/pprof registers its handlers.
const DefaultPathPrefix = "/debug/pprof"

// ErrNotFound is wrapped when the target does not serve the asked-for profile (HTTP 404).
var ErrNotFound = errors.New("profile not served by the target")

// Source fetches profiles from one target.
type Source struct {
	ep     httpx.Endpoint
	prefix string
	mu     sync.Mutex
	// clients by per-request timeout: a CPU capture of N seconds needs a longer one than the rest.
	clients map[time.Duration]*httpx.Client
}

// New builds a source for the target endpoint; prefix is the handlers' path ("" for /debug/pprof).
func New(ep httpx.Endpoint, prefix string) (*Source, error) {
	if ep.Name == "" {
		ep.Name = "pprof target"
	}
	if ep.Flag == "" {
		ep.Flag = "--target"
	}
	if prefix == "" {
		prefix = DefaultPathPrefix
	}
	s := &Source{ep: ep, prefix: "/" + strings.Trim(prefix, "/"), clients: map[time.Duration]*httpx.Client{}}
	if _, err := s.client(0); err != nil {
		return nil, err
	}
	return s, nil
}

// Budget is the run's memory budget the source reads draw from (nil: none).
func (s *Source) Budget() *safeio.Budget { return s.ep.Budget }

// BaseURL is the target without credentials, safe to print.
func (s *Source) BaseURL() string { return httpx.Redact(s.ep.URL) }

// CaptureTimeout is the request timeout for a capture of the given length: one and a half times the
// capture plus a margin, as google/pprof derives it, so the client never gives up before the target can
// answer; never less than the configured timeout.
func CaptureTimeout(capture, configured time.Duration) time.Duration {
	if configured <= 0 {
		configured = 30 * time.Second
	}
	if capture <= 0 {
		return configured
	}
	return max(configured, capture+capture/2+10*time.Second)
}

func (s *Source) client(capture time.Duration) (*httpx.Client, error) {
	to := CaptureTimeout(capture, s.ep.Timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[to]; ok {
		return c, nil
	}
	ep := s.ep
	ep.Timeout = to
	if capture > 0 {
		ep.Retries = -1 // a retried capture would take as long again; fail and say so instead
	}
	c, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	s.clients[to] = c
	return c, nil
}

// Request says which profile to fetch and how.
type Request struct {
	// Kind is one of Kinds, or "goroutineleak".
	Kind string
	// Seconds > 0 captures a CPU profile of that length, or a delta profile for the others.
	Seconds int
	// GC asks the target to collect garbage before a heap profile, so in-use figures are current.
	GC bool
	// Debug > 0 asks for the text form (debug=2: goroutine dump with wait states and creators).
	Debug int
}

// Raw is a fetched profile as the target sent it.
type Raw struct {
	Kind string
	URL  string // redacted
	Data []byte
	Time time.Time
	// Text is set for debug>0 responses.
	Text bool
}

// Path is the handler path for a kind.
func (s *Source) Path(kind string) string {
	if kind == "cpu" {
		kind = "profile"
	}
	return s.prefix + "/" + kind
}

// Fetch gets one profile's bytes from the target.
func (s *Source) Fetch(ctx context.Context, r Request) (*Raw, error) {
	q := url.Values{}
	var capture time.Duration
	if r.Seconds > 0 {
		q.Set("seconds", strconv.Itoa(r.Seconds))
		capture = time.Duration(r.Seconds) * time.Second
	}
	if r.GC {
		q.Set("gc", "1")
	}
	if r.Debug > 0 {
		q.Set("debug", strconv.Itoa(r.Debug))
	}
	c, err := s.client(capture)
	if err != nil {
		return nil, err
	}
	path := s.Path(r.Kind)
	data, err := c.Do(ctx, httpx.Request{Path: path, Query: q})
	u := httpx.Redact(c.URL(path, q))
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) && se.Code == 404 {
			return nil, fmt.Errorf("%w: %s profile at %s: HTTP 404; does the service import net/http/pprof, and is the path prefix (--path-prefix, now %s) right?", ErrNotFound, r.Kind, u, s.prefix)
		}
		return nil, fmt.Errorf("%s profile: %w", r.Kind, err)
	}
	return &Raw{Kind: r.Kind, URL: u, Data: data, Time: time.Now(), Text: r.Debug > 0}, nil
}

// FetchURL gets a profile from a full URL (a --diff-base given as a URL), with the target's auth.
func FetchURL(ctx context.Context, ep httpx.Endpoint, rawURL string) (*Raw, error) {
	ep.URL = rawURL
	if ep.Name == "" {
		ep.Name = "pprof"
	}
	c, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	data, err := c.Do(ctx, httpx.Request{})
	if err != nil {
		return nil, err
	}
	return &Raw{URL: httpx.Redact(rawURL), Data: data, Time: time.Now()}, nil
}

// ReadFile reads a profile file ("-" is not handled here; pass its bytes to Parse), at most the default
// budget.
func ReadFile(path string) ([]byte, error) { return ReadFileBudget(path, nil) }

// ReadFileBudget reads a profile file drawing from the run's budget, at most its size.
func ReadFileBudget(path string, b *safeio.Budget) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("profile file: %w", err)
	}
	defer f.Close()
	limit := b.Limit()
	if limit == 0 {
		limit = safeio.DefaultMaxReadBytes
	}
	data, err := safeio.ReadAll(b.Reader(f), limit, "profile file "+path, safeio.RaiseBudget)
	if err != nil {
		if errors.Is(err, safeio.ErrLimit) {
			return nil, err
		}
		return nil, fmt.Errorf("profile file: %w", err)
	}
	return data, nil
}

// Parse decodes a profile (gzipped or not) into google/pprof's model, which the analyses read as it is.
// from names where the bytes came from, for errors: one line that says what is wrong with them.
// Decompression is bounded by the default budget.
func Parse(data []byte, from string) (*profile.Profile, error) {
	return ParseBudget(data, from, nil)
}

// ParseBudget is Parse with the run's memory budget: a gzipped profile is decompressed here, at most the
// budget's size (safeio.DefaultMaxReadBytes for nil) and drawing from it, before google/pprof sees it
// (its own decompression has no limit: a 47 MB gzip of zeros took 23 GB).
func ParseBudget(data []byte, from string, b *safeio.Budget) (*profile.Profile, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty response, not a profile", from)
	}
	if safeio.IsGzip(data) {
		limit := b.Limit()
		if limit == 0 {
			limit = safeio.DefaultMaxReadBytes
		}
		raw, err := safeio.GunzipBytes(data, limit, from, safeio.RaiseBudget)
		if err != nil {
			return nil, err
		}
		if err := b.Take(int64(len(raw))); err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		data = raw
	}
	if looksLikeText(data) {
		return nil, fmt.Errorf("%s is not a pprof profile (it starts with %q); is it a Go service's net/http/pprof base URL or a profile file?", from, start(data))
	}
	p, err := profile.ParseData(data)
	if err != nil {
		what := "corrupt"
		if isTruncated(data, err) {
			what = "truncated"
		}
		return nil, fmt.Errorf("%s: %s profile (%v); fetch or copy it again", from, what, err)
	}
	if err := p.CheckValid(); err != nil {
		return nil, fmt.Errorf("%s: invalid profile (%v)", from, err)
	}
	return p, nil
}

// isTruncated tells a short read from other damage.
func isTruncated(data []byte, err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return true
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, zerr := gzip.NewReader(bytes.NewReader(data))
		if zerr != nil {
			return true
		}
		_, zerr = io.Copy(io.Discard, zr)
		return zerr != nil
	}
	return false
}

// looksLikeText says whether a response is HTML, JSON or plain text rather than a profile: an error page
// or another service answered. Legacy text profiles start with "--- " or "heap profile:".
func looksLikeText(b []byte) bool {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		return false
	}
	s := bytes.TrimSpace(b[:min(len(b), 512)])
	if len(s) == 0 {
		return false
	}
	for _, p := range []string{"<", "{", "[", "404", "Unknown profile", "goroutine ", "404 page"} {
		if bytes.HasPrefix(s, []byte(p)) {
			return true
		}
	}
	return false
}

func start(b []byte) string {
	s := string(bytes.TrimSpace(b[:min(len(b), 60)]))
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// Family is the profile family a kind's profile belongs to, as investigate.ProfileKindOf names it.
func Family(kind string) string {
	switch kind {
	case "heap", "allocs":
		return "heap"
	case "mutex", "block":
		return "contention"
	case "goroutineleak":
		return "goroutine"
	}
	return kind
}

// CheckKind fails when a profile is not of the asked-for kind: a heap file given to `dbg profile cpu`.
func CheckKind(p *profile.Profile, kind, from string) error {
	got := investigate.ProfileKindOf(p)
	if got == "" || got == Family(kind) {
		return nil
	}
	suggest := got
	switch got {
	case "contention":
		suggest = "mutex (or block)"
	case "threadcreate":
		// dbg has no threadcreate command: its stacks are what the top table of go tool pprof shows.
		return fmt.Errorf("%s is a threadcreate profile (sample types %s), not %s; dbg does not analyse thread creation: read it with `go tool pprof -top %s`",
			from, strings.Join(investigate.SampleTypeNames(p), ", "), kind, pprofArg(from))
	}
	return fmt.Errorf("%s is a %s profile (sample types %s), not %s; run `dbg profile %s` for it", from, got, strings.Join(investigate.SampleTypeNames(p), ", "), kind, suggest)
}

// pprofArg is what to give go tool pprof for a profile dbg names as from.
func pprofArg(from string) string {
	f := strings.TrimPrefix(from, "profile file ")
	if f == "stdin" || f == "" || strings.ContainsAny(f, " \t") {
		return "FILE"
	}
	return f
}

// Save writes what was fetched into dir, named so `go tool pprof` and people can tell them apart:
// <kind>-<UTC time>.pb.gz (or .txt for text dumps). It returns the path.
func Save(dir string, r *Raw) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("--save %s: %w", dir, err)
	}
	ext := ".pb.gz"
	if r.Text {
		ext = ".txt"
	}
	kind := r.Kind
	if kind == "" {
		kind = "profile"
	}
	name := fmt.Sprintf("%s-%s%s", kind, r.Time.UTC().Format("20060102T150405.000Z"), ext)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, r.Data, 0o644); err != nil {
		return "", fmt.Errorf("--save %s: %w", dir, err)
	}
	return path, nil
}

// Check asks the target for its pprof index page (what `dbg doctor` calls): it must answer, and the answer
// must be net/http/pprof's list of profiles rather than some other page.
func (s *Source) Check(ctx context.Context) error {
	c, err := s.client(0)
	if err != nil {
		return err
	}
	path := s.prefix + "/"
	body, err := c.Do(ctx, httpx.Request{Path: path})
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) && se.Code == 404 {
			return fmt.Errorf("%w: pprof index at %s: HTTP 404; does the service import net/http/pprof, and is the path prefix (--path-prefix, now %s) right?", ErrNotFound, httpx.Redact(c.URL(path, nil)), s.prefix)
		}
		return err
	}
	if !bytes.Contains(body, []byte("goroutine")) || !bytes.Contains(body, []byte("heap")) {
		return fmt.Errorf("%s does not list Go profiles (it starts with %q); is --target a Go service's net/http/pprof base URL?", httpx.Redact(c.URL(path, nil)), start(body))
	}
	return nil
}
