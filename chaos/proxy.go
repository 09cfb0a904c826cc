package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProxyFaults are the faults `dbg chaos proxy` applies to what passes through it; the zero value passes
// everything through untouched. They are switched at runtime through the admin endpoint.
type ProxyFaults struct {
	// LatencyMs is added before each request is forwarded (HTTP), or before each chunk the client sends
	// is forwarded (TCP); JitterMs spreads it uniformly by ± that much.
	LatencyMs float64 `json:"latency_ms,omitempty"`
	JitterMs  float64 `json:"jitter_ms,omitempty"`
	// ErrorRate is the share of requests (HTTP) or client chunks (TCP) that fail: answered with
	// ErrorStatus in HTTP mode when it is set, otherwise the client's connection is reset (TCP RST).
	ErrorRate   float64 `json:"error_rate,omitempty"`
	ErrorStatus int     `json:"error_status,omitempty"`
	// BandwidthBps limits each connection to this many bytes a second in each direction.
	BandwidthBps int64 `json:"bandwidth_bps,omitempty"`
	// Blackhole accepts and reads but never forwards or answers: the upstream seems to hang.
	Blackhole bool `json:"blackhole,omitempty"`
}

// Limits on a fault: a proxy for experiments, not a way to take a service down for good.
const (
	maxFaultLatencyMs = 60_000
	maxAdminBody      = 64 << 10
)

// Validate checks a fault set.
func (f ProxyFaults) Validate() error {
	switch {
	case f.LatencyMs < 0 || f.LatencyMs > maxFaultLatencyMs || f.JitterMs < 0 || f.JitterMs > f.LatencyMs:
		return fmt.Errorf("latency_ms %g, jitter_ms %g: want 0 <= jitter <= latency <= %d", f.LatencyMs, f.JitterMs, maxFaultLatencyMs)
	case f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("error_rate %g: want 0..1", f.ErrorRate)
	case f.ErrorStatus != 0 && (f.ErrorStatus < 400 || f.ErrorStatus > 599):
		return fmt.Errorf("error_status %d: want 400..599 (or 0 for a TCP reset)", f.ErrorStatus)
	case f.BandwidthBps < 0:
		return fmt.Errorf("bandwidth_bps %d: want >= 0", f.BandwidthBps)
	}
	return nil
}

// Active reports whether any fault is set.
func (f ProxyFaults) Active() bool { return f != ProxyFaults{} }

// String says the faults in a few words.
func (f ProxyFaults) String() string {
	var parts []string
	if f.LatencyMs > 0 {
		parts = append(parts, fmt.Sprintf("latency %gms±%gms", f.LatencyMs, f.JitterMs))
	}
	if f.ErrorRate > 0 {
		what := "reset"
		if f.ErrorStatus > 0 {
			what = fmt.Sprint(f.ErrorStatus)
		}
		parts = append(parts, fmt.Sprintf("errors %g%% (%s)", f.ErrorRate*100, what))
	}
	if f.BandwidthBps > 0 {
		parts = append(parts, fmt.Sprintf("bandwidth %d B/s", f.BandwidthBps))
	}
	if f.Blackhole {
		parts = append(parts, "blackhole")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// proxyFaults is the proxy form of a planned fault, nil when a proxy cannot make it.
func proxyFaults(f Fault) *ProxyFaults {
	switch f.Type {
	case FaultNetworkDelay, FaultHTTPDelay:
		return &ProxyFaults{LatencyMs: f.LatencyMs, JitterMs: f.JitterMs}
	case FaultNetworkPartition:
		return &ProxyFaults{Blackhole: true}
	case FaultNetworkBandwidth:
		return &ProxyFaults{BandwidthBps: f.BandwidthBps}
	case FaultHTTPAbort:
		return &ProxyFaults{ErrorRate: f.ErrorRate}
	case FaultHTTPReplace:
		return &ProxyFaults{ErrorRate: f.ErrorRate, ErrorStatus: f.Status}
	}
	return nil
}

// ProxyConfig says where the proxy listens and what it forwards to.
type ProxyConfig struct {
	// Listen is the address clients connect to; Upstream the address (TCP) or base URL (HTTP) behind it.
	Listen, Upstream string
	// HTTP selects HTTP mode (per-request faults, status answers); otherwise bytes are relayed (TCP).
	HTTP bool
	// Admin is the admin endpoint's address; "" picks a free loopback port. A non-loopback address is
	// refused unless AllowRemoteAdmin: whoever reaches it can switch faults.
	Admin            string
	AllowRemoteAdmin bool
	// Duration bounds fault injection: when it has passed the faults are cleared, new ones are refused
	// and the proxy passes traffic through untouched until it is stopped.
	Duration time.Duration
	// Faults are the faults from the start.
	Faults ProxyFaults
}

// ProxyStats count what the proxy did.
type ProxyStats struct {
	Connections int64 `json:"connections"`
	Requests    int64 `json:"requests"`
	Delayed     int64 `json:"delayed"`
	Errors      int64 `json:"errors"`
	Resets      int64 `json:"resets"`
	Blackholed  int64 `json:"blackholed"`
}

// ProxyState is what the admin endpoint answers.
type ProxyState struct {
	Listen   string      `json:"listen"`
	Upstream string      `json:"upstream"`
	Mode     string      `json:"mode"`
	Faults   ProxyFaults `json:"faults"`
	Until    time.Time   `json:"until"`
	Expired  bool        `json:"expired"`
	Stats    ProxyStats  `json:"stats"`
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	cfg      ProxyConfig
	faults   atomic.Pointer[ProxyFaults]
	until    time.Time
	expired  atomic.Bool
	ln       net.Listener
	adminLn  net.Listener
	srv      *http.Server // HTTP mode
	admin    *http.Server
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	conns    sync.Map // net.Conn → struct{} (TCP mode), closed on stop

	connections, requests, delayed, errorsN, resets, blackholed atomic.Int64
}

// StartProxy listens and starts forwarding.
func StartProxy(cfg ProxyConfig) (*Proxy, error) {
	if cfg.Duration <= 0 {
		return nil, errors.New("chaos proxy: --duration is required: faults never run unbounded")
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("chaos proxy: %w", err)
	}
	if cfg.HTTP {
		u, err := url.Parse(cfg.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("chaos proxy: --upstream %q: HTTP mode wants http(s)://host:port", cfg.Upstream)
		}
	} else if _, _, err := net.SplitHostPort(cfg.Upstream); err != nil {
		return nil, fmt.Errorf("chaos proxy: --upstream %q: want host:port (or http://host:port for HTTP mode)", cfg.Upstream)
	}
	if cfg.Admin == "" {
		cfg.Admin = "127.0.0.1:0"
	}
	if !cfg.AllowRemoteAdmin && !isLoopback(cfg.Admin) {
		return nil, fmt.Errorf("chaos proxy: --admin %s is not a loopback address; whoever reaches it switches faults (pass --allow-remote-admin if you mean it)", cfg.Admin)
	}
	p := &Proxy{cfg: cfg, stop: make(chan struct{}), until: time.Now().Add(cfg.Duration)}
	f := cfg.Faults
	p.faults.Store(&f)
	var err error
	if p.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("chaos proxy: listen %s: %w", cfg.Listen, err)
	}
	if p.adminLn, err = net.Listen("tcp", cfg.Admin); err != nil {
		p.ln.Close()
		return nil, fmt.Errorf("chaos proxy: admin listen %s: %w", cfg.Admin, err)
	}
	p.admin = &http.Server{Handler: p.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
	p.wg.Add(2)
	go func() { defer p.wg.Done(); _ = p.admin.Serve(p.adminLn) }()
	go func() {
		defer p.wg.Done()
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		select {
		case <-t.C:
			p.expired.Store(true)
			p.faults.Store(&ProxyFaults{})
		case <-p.stop:
		}
	}()
	if cfg.HTTP {
		p.srv = &http.Server{Handler: p.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); _ = p.srv.Serve(&countingListener{Listener: p.ln, n: &p.connections}) }()
	} else {
		p.wg.Add(1)
		go p.acceptTCP()
	}
	return p, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// AdminURL is the admin endpoint's base URL.
func (p *Proxy) AdminURL() string { return "http://" + p.adminLn.Addr().String() }

// Faults returns the faults in force.
func (p *Proxy) Faults() ProxyFaults { return *p.faults.Load() }

// Set switches the faults; after the duration has passed only clearing is accepted.
func (p *Proxy) Set(f ProxyFaults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if p.expired.Load() && f.Active() {
		return errors.New("the proxy's --duration has passed: no more faults")
	}
	p.faults.Store(&f)
	return nil
}

// State is the proxy's faults, bound and counters.
func (p *Proxy) State() ProxyState {
	mode := "tcp"
	if p.cfg.HTTP {
		mode = "http"
	}
	return ProxyState{Listen: p.Addr(), Upstream: p.cfg.Upstream, Mode: mode, Faults: p.Faults(), Until: p.until.UTC(), Expired: p.expired.Load(),
		Stats: ProxyStats{Connections: p.connections.Load(), Requests: p.requests.Load(), Delayed: p.delayed.Load(), Errors: p.errorsN.Load(),
			Resets: p.resets.Load(), Blackholed: p.blackholed.Load()}}
}

// Close stops the proxy: listeners, connections, the admin endpoint.
func (p *Proxy) Close() error {
	p.stopOnce.Do(func() {
		close(p.stop)
		p.ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if p.srv != nil {
			_ = p.srv.Shutdown(ctx)
			_ = p.srv.Close()
		}
		_ = p.admin.Shutdown(ctx)
		p.conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})
	p.wg.Wait()
	return nil
}

// adminHandler: GET /faults (state), PUT or POST /faults (replace, JSON ProxyFaults), DELETE /faults.
func (p *Proxy) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/faults", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut, http.MethodPost:
			var f ProxyFaults
			dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				adminError(w, http.StatusBadRequest, "faults JSON: "+err.Error())
				return
			}
			if err := p.Set(f); err != nil {
				adminError(w, http.StatusConflict, err.Error())
				return
			}
		case http.MethodDelete:
			_ = p.Set(ProxyFaults{})
		default:
			adminError(w, http.StatusMethodNotAllowed, "GET, PUT, POST or DELETE /faults")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.State())
	})
	return mux
}

func adminError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// wait sleeps the fault's latency (with jitter), or until the proxy stops or ctx ends.
func (p *Proxy) wait(ctx context.Context, f *ProxyFaults) bool {
	if f.LatencyMs <= 0 {
		return true
	}
	d := f.LatencyMs
	if f.JitterMs > 0 {
		d += (rand.Float64()*2 - 1) * f.JitterMs
	}
	p.delayed.Add(1)
	t := time.NewTimer(time.Duration(d * float64(time.Millisecond)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-p.stop:
	}
	return false
}

// hold keeps a blackholed request or connection open until the client gives up, the blackhole is
// switched off, or the proxy stops.
func (p *Proxy) hold(ctx context.Context) {
	p.blackholed.Add(1)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for p.faults.Load().Blackhole {
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

func (p *Proxy) httpHandler() http.Handler {
	u, _ := url.Parse(p.cfg.Upstream)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, MaxIdleConnsPerHost: 100}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, "dbg chaos proxy: upstream: "+err.Error(), http.StatusBadGateway)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		f := p.faults.Load()
		if f.Blackhole {
			p.hold(r.Context())
			if p.faults.Load().Blackhole {
				return // the client gave up or the proxy stopped
			}
		}
		if !p.wait(r.Context(), f) {
			return
		}
		if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
			p.errorsN.Add(1)
			if f.ErrorStatus > 0 {
				http.Error(w, fmt.Sprintf("dbg chaos proxy: injected %d", f.ErrorStatus), f.ErrorStatus)
				return
			}
			p.resets.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					resetConn(c)
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if f.BandwidthBps > 0 {
			w = &throttledWriter{ResponseWriter: w, p: p}
			r.Body = io.NopCloser(&throttledReader{r: r.Body, p: p})
		}
		rp.ServeHTTP(w, r)
	})
}

// resetConn closes c with an RST (SO_LINGER 0) instead of a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *Proxy) acceptTCP() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.stop:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		p.connections.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serveTCP(c)
		}()
	}
}

func (p *Proxy) serveTCP(client net.Conn) {
	p.conns.Store(client, struct{}{})
	defer p.conns.Delete(client)
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			client.Close()
		case <-ctx.Done():
		}
	}()
	var upstream net.Conn
	buf := make([]byte, 32<<10)
	var done chan struct{}
	for {
		n, err := client.Read(buf)
		if n > 0 {
			f := p.faults.Load()
			p.requests.Add(1)
			if f.Blackhole {
				p.blackholed.Add(1)
				continue // read and drop: the peer never answers
			}
			if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
				p.errorsN.Add(1)
				p.resets.Add(1)
				resetConn(client)
				if upstream != nil {
					upstream.Close()
				}
				return
			}
			if !p.wait(ctx, f) {
				return
			}
			if upstream == nil {
				if upstream, err = net.DialTimeout("tcp", p.cfg.Upstream, 5*time.Second); err != nil {
					resetConn(client)
					return
				}
				p.conns.Store(upstream, struct{}{})
				defer p.conns.Delete(upstream)
				defer upstream.Close()
				done = make(chan struct{})
				go func() {
					defer close(done)
					p.copyThrottled(client, upstream)
					client.Close()
				}()
			}
			if _, werr := upstream.Write(buf[:n]); werr != nil {
				return
			}
			p.throttle(n)
		}
		if err != nil {
			if upstream != nil {
				if tc, ok := upstream.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				<-done
			}
			return
		}
	}
}

// copyThrottled relays upstream → client, at the bandwidth limit when one is set; a blackhole drops.
func (p *Proxy) copyThrottled(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.faults.Load().Blackhole {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
				p.throttle(n)
			}
		}
		if err != nil {
			return
		}
	}
}

// throttle sleeps as long as n bytes take at the bandwidth limit.
func (p *Proxy) throttle(n int) {
	bps := p.faults.Load().BandwidthBps
	if bps <= 0 || n <= 0 {
		return
	}
	d := time.Duration(float64(n) / float64(bps) * float64(time.Second))
	select {
	case <-time.After(d):
	case <-p.stop:
	}
}

// throttledWriter writes an HTTP response body at the bandwidth limit, in small pieces.
type throttledWriter struct {
	http.ResponseWriter
	p *Proxy
}

func (t *throttledWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		chunk := min(len(b), 4096)
		n, err := t.ResponseWriter.Write(b[:chunk])
		written += n
		if err != nil {
			return written, err
		}
		if fl, ok := t.ResponseWriter.(http.Flusher); ok {
			fl.Flush()
		}
		t.p.throttle(n)
		b = b[chunk:]
	}
	return written, nil
}

func (t *throttledWriter) Flush() {
	if fl, ok := t.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

type throttledReader struct {
	r io.Reader
	p *Proxy
}

func (t *throttledReader) Read(b []byte) (int, error) {
	if len(b) > 4096 {
		b = b[:4096]
	}
	n, err := t.r.Read(b)
	t.p.throttle(n)
	return n, err
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// AdminClient switches a running proxy's faults through its admin endpoint (`dbg chaos run`).
type AdminClient struct {
	URL    string
	Client *http.Client
}

// Inject sets the faults.
func (a AdminClient) Inject(ctx context.Context, f ProxyFaults) error {
	body, _ := json.Marshal(f)
	return a.do(ctx, http.MethodPut, body)
}

// Clear removes every fault.
func (a AdminClient) Clear(ctx context.Context) error { return a.do(ctx, http.MethodDelete, nil) }

func (a AdminClient) do(ctx context.Context, method string, body []byte) error {
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.URL, "/")+"/faults", strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("chaos proxy admin %s: %w", a.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("chaos proxy admin %s: %w (is dbg chaos proxy running with this --admin?)", a.URL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxAdminBody))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("chaos proxy admin %s: %s: %s", a.URL, resp.Status, e.Error)
	}
	return nil
}
