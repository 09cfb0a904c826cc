// Package hostile is a small misbehaving backend for dbg's fault-matrix tests and the memory
// measurements in docs/security.md: one loopback HTTP server that answers every path with the same
// fault (refused connections are a closed port, not a server), and streaming generators of hostile
// files (gzip bombs, nesting bombs, tar bombs, long runs of one byte) that never hold the bomb in memory.
package hostile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is how the server misbehaves.
type Fault string

// The faults of issue #13's matrix. Refused is served by a port nobody listens on (RefusedURL).
const (
	Hang          Fault = "hang"           // accepts, never answers (until the client gives up)
	Status500     Fault = "500"            // HTTP 500 with a short body
	Status503     Fault = "503"            // HTTP 503, every time
	RateLimited   Fault = "429"            // HTTP 429 with Retry-After (RetryAfter, default 1)
	Unauthorized  Fault = "401"            // HTTP 401 whose body echoes the request's Authorization header
	Forbidden     Fault = "403"            // HTTP 403 echoing every request header
	Truncated     Fault = "truncated"      // 200, Content-Length larger than what is sent, then close
	Oversized     Fault = "oversized"      // 200, a JSON-looking body that never ends (until Size bytes)
	GzipBomb      Fault = "gzipbomb"       // 200, Content-Encoding: gzip of Size zero bytes
	GzipFileBomb  Fault = "gzipfile"       // 200, a gzip file of Size zero bytes as the body (pprof's format)
	NestingBomb   Fault = "nesting"        // 200, application/json of Size bytes of '['
	HTML200       Fault = "html"           // 200, an HTML login page
	WrongShape    Fault = "wrongshape"     // 200, a JSON object of the wrong shape
	EmptyObject   Fault = "emptyobject"    // 200, {}
	RedirectLoop  Fault = "redirectloop"   // 302 to itself, forever
	CrossOrigin   Fault = "crossorigin"    // 307 to another origin (Server.Other), which records what it got
	PostToGet     Fault = "posttoget"      // 302 on every request: a POST becomes a GET without its body
	ANSIBody      Fault = "ansi"           // HTTP 500 whose body carries terminal escapes
	ANSIHeader200 Fault = "ansi200"        // 200, a JSON error document full of escapes
	Slow          Fault = "slow"           // answers 200 {} after Delay
	CountRequests Fault = "count"          // 503 with Retry-After: 0 (counts requests; see Requests)
	RetryAfterHr  Fault = "retryafterhour" // 429 with Retry-After: 3600
)

// Faults are the server faults of the matrix, in order (Refused is not a server fault).
var Faults = []Fault{Hang, Status500, Status503, RateLimited, Unauthorized, Forbidden, Truncated, Oversized,
	GzipBomb, HTML200, WrongShape, RedirectLoop, CrossOrigin, ANSIBody}

// Escapes is what ANSIBody sends: clear screen, cursor home, a window title, a hidden OSC 8 link, a C1
// CSI, a bidi override and a BEL. None of it may reach a terminal.
const Escapes = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\\u009b31m\u202eevil\a"

// Server is one hostile backend on loopback.
type Server struct {
	*httptest.Server
	Fault Fault
	// Size bounds the bombs and the oversized body, in bytes (default 2 GiB).
	Size int64
	// RetryAfter is RateLimited's header value (default "1").
	RetryAfter string
	// Delay is how long Slow waits.
	Delay time.Duration
	// Other is CrossOrigin's redirect target: a second server on another origin that records the
	// Authorization header it was sent.
	Other *Recorder

	mu       sync.Mutex
	requests int
	closed   chan struct{} // closed by Close: hanging handlers return
}

// Recorder is a server that records the credentials it received.
type Recorder struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

// Auth returns every Authorization (and X-Scope-OrgID) value the recorder was sent.
func (r *Recorder) Auth() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

// NewRecorder starts a recorder answering 200 {}.
func NewRecorder() *Recorder {
	rec := &Recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		for _, h := range []string{"Authorization", "X-Scope-Orgid", "X-Api-Key"} {
			if v := r.Header.Get(h); v != "" {
				rec.auth = append(rec.auth, h+": "+v)
			}
		}
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	return rec
}

// New starts a server with the fault on a free loopback port.
func New(f Fault) *Server {
	s := &Server{Fault: f, Size: 2 << 30, RetryAfter: "1", closed: make(chan struct{})}
	if f == CrossOrigin {
		s.Other = NewRecorder()
	}
	s.Server = httptest.NewServer(s)
	return s
}

// Close stops the server (and its cross-origin recorder).
func (s *Server) Close() {
	close(s.closed)
	s.Server.CloseClientConnections()
	s.Server.Close()
	if s.Other != nil {
		s.Other.Close()
	}
}

// Requests is how many requests the server received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// ServeHTTP answers every request with the fault.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	Serve(w, r, s.Fault, s.opts())
}

func (s *Server) opts() Options {
	o := Options{Size: s.Size, RetryAfter: s.RetryAfter, Delay: s.Delay, Stop: s.closed}
	if s.Other != nil {
		o.Other = s.Other.URL
	}
	return o
}

// Options tune Serve.
type Options struct {
	Size       int64
	RetryAfter string
	Delay      time.Duration
	Other      string        // CrossOrigin's target base URL
	Stop       chan struct{} // closed when the server stops: Hang and Slow return
}

// Serve writes the fault's answer to r; the standalone server (hostileserver) uses it too.
func Serve(w http.ResponseWriter, r *http.Request, f Fault, o Options) {
	if o.Size <= 0 {
		o.Size = 2 << 30
	}
	switch f {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-o.Stop:
		case <-time.After(10 * time.Minute):
		}
	case Status500:
		http.Error(w, "internal error: upstream query failed", http.StatusInternalServerError)
	case Status503:
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
	case RateLimited, RetryAfterHr:
		ra := o.RetryAfter
		if f == RetryAfterHr {
			ra = "3600"
		}
		if ra == "" {
			ra = "1"
		}
		w.Header().Set("Retry-After", ra)
		http.Error(w, "too many requests", http.StatusTooManyRequests)
	case CountRequests:
		w.Header().Set("Retry-After", "0")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case Unauthorized:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "401 Unauthorized: rejected Authorization: %s for %s\n", r.Header.Get("Authorization"), r.URL.Path)
	case Forbidden:
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "403 Forbidden. Request headers:\n")
		for k, vs := range r.Header {
			fmt.Fprintf(w, "%s: %s\n", k, strings.Join(vs, ","))
		}
	case Truncated:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100000")
		io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"val`)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
	case Oversized:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":[`)
		Repeat(w, ' ', o.Size)
	case GzipBomb:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		GzipRepeat(w, ' ', o.Size)
	case GzipFileBomb:
		w.Header().Set("Content-Type", "application/octet-stream")
		GzipRepeat(w, 0, o.Size)
	case NestingBomb:
		w.Header().Set("Content-Type", "application/json")
		Repeat(w, '[', o.Size)
	case HTML200:
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>login</form></body></html>\n")
	case WrongShape:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"hello":"world","count":3}`+"\n")
	case EmptyObject:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}\n")
	case RedirectLoop:
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	case PostToGet:
		if r.URL.Query().Get("redirected") != "" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"empty query"}`)
			return
		}
		q := r.URL.Query()
		q.Set("redirected", "1")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	case CrossOrigin:
		http.Redirect(w, r, o.Other+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	case ANSIBody:
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "error: "+Escapes+" done")
	case ANSIHeader200:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"error","errorType":"x","error":%s}`, strconv.Quote(Escapes))
	case Slow:
		select {
		case <-r.Context().Done():
			return
		case <-time.After(o.Delay):
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	default:
		http.Error(w, "unknown fault "+string(f), http.StatusTeapot)
	}
}

// Allocated is the process's bytes allocated so far (runtime.MemStats.TotalAlloc): the memory bound
// the tests check, as the difference around a read. It counts what was allocated, not what the OS
// reports, so a busy machine does not change it.
func Allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// RefusedURL is an http:// URL on a loopback port nobody listens on.
func RefusedURL() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "http://127.0.0.1:1"
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// Repeat writes n copies of b to w in 64 KiB chunks; it stops at the first write error (the client left).
func Repeat(w io.Writer, b byte, n int64) error {
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = b
	}
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// GzipRepeat writes a gzip stream of n copies of b (about n/1000 bytes on the wire). It is a series of
// gzip members (RFC 1952 allows it; Go's reader and every gzip tool read them as one stream), each 16 MiB
// of b compressed once and cached, so serving a bomb costs the server almost no CPU: a busy test machine
// must not make the bomb arrive too slowly to go off.
func GzipRepeat(w io.Writer, b byte, n int64) error {
	const member = 16 << 20
	m := gzipMember(b, member)
	for ; n >= member; n -= member {
		if _, err := w.Write(m); err != nil {
			return err
		}
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err := Repeat(zw, b, n); err != nil {
		return err
	}
	return zw.Close()
}

var (
	membersMu sync.Mutex
	members   = map[byte][]byte{}
)

func gzipMember(b byte, size int64) []byte {
	membersMu.Lock()
	defer membersMu.Unlock()
	if m, ok := members[b]; ok {
		return m
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	Repeat(zw, b, size)
	zw.Close()
	members[b] = buf.Bytes()
	return members[b]
}

// TarBomb writes a bundle-looking .tar.gz: a valid manifest, then entries of n zero bytes each
// (names given), so a reader that keeps every entry in memory takes len(names)*n bytes.
func TarBomb(w io.Writer, names []string, n int64) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	manifest := []byte(`{"format":1,"service":"x","window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:30:00Z"}}`)
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(manifest))}); err != nil {
		return err
	}
	tw.Write(manifest)
	for _, name := range names {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: n}); err != nil {
			return err
		}
		if err := Repeat(tw, ' ', n); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// OTLPNestingBomb writes an OTLP-looking JSON document whose resourceSpans value nests n arrays deep.
func OTLPNestingBomb(w io.Writer, n int64) error {
	if _, err := io.WriteString(w, `{"resourceSpans":`); err != nil {
		return err
	}
	return Repeat(w, '[', n)
}
