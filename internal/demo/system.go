package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dbgtool/dbg/internal/servers"
)

// SystemConfig says how to start the whole demo.
type SystemConfig struct {
	// Dir holds the inventory database, the services' log files, state.json and prometheus.yml.
	Dir string
	// OTLPURL is where traces go: an OTLP/HTTP base URL (http://127.0.0.1:4318) or the full
	// …/v1/traces URL; "" keeps traces in the process.
	OTLPURL string
	// VictoriaLogsURL is VictoriaLogs' base URL; "" keeps logs in the log files only.
	VictoriaLogsURL string
	// Rows is the inventory's item count (DefaultRows when 0).
	Rows int
	// Ports, when set, are the 7 ports to use: the six services in Services order, then the load
	// generator's admin port. Otherwise free loopback ports are picked.
	Ports []int
	// Command makes the child process for one service; the child must call ServeFromEnv. nil: this
	// executable with the argument "serve" (the demo program, ./demo).
	Command func() *exec.Cmd
	// BatchTimeout is the span batch delay (1s when 0).
	BatchTimeout time.Duration
	// StartTimeout bounds the wait for every service to answer /healthz (2m when 0).
	StartTimeout time.Duration
}

// State is what a running demo writes to Dir/state.json, for `go run ./demo fault` and for people.
type State struct {
	PID             int               `json:"pid"`
	Started         time.Time         `json:"started"`
	Services        map[string]string `json:"services"` // name → base URL (admin, /metrics, /debug/pprof)
	LoadGen         string            `json:"loadgen"`  // the load generator's admin base URL
	OTLPURL         string            `json:"otlp_url,omitempty"`
	VictoriaLogsURL string            `json:"victorialogs_url,omitempty"`
	PrometheusFile  string            `json:"prometheus_config"`
}

// StateFile is the state's name in Dir.
const StateFile = "state.json"

// System is a running demo.
type System struct {
	State
	Load  *Generator
	dir   string
	procs []*child
	admin *http.Server
}

type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   *cappedFile
	done  chan struct{}
}

// maxLogFile bounds each service's log file.
const maxLogFile = 64 << 20

// Start starts every service as its own process, waits until each answers, starts the load
// generator's admin endpoint (the generator sends nothing until Run) and writes the state files.
func Start(ctx context.Context, cfg SystemConfig) (*System, error) {
	if cfg.Dir == "" {
		return nil, errors.New("demo: no state directory")
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	otlp, err := tracesURL(cfg.OTLPURL)
	if err != nil {
		return nil, err
	}
	ports := cfg.Ports
	if len(ports) == 0 {
		if ports, err = servers.FreeLoopbackPorts(len(Services) + 1); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if len(ports) != len(Services)+1 {
		return nil, fmt.Errorf("demo: want %d ports, got %d", len(Services)+1, len(ports))
	}
	rows := cfg.Rows
	if rows <= 0 {
		rows = DefaultRows
	}
	sys := &System{dir: cfg.Dir}
	sys.Services = map[string]string{}
	for i, name := range Services {
		sys.Services[name] = fmt.Sprintf("http://127.0.0.1:%d", ports[i])
	}
	sys.PID = os.Getpid()
	sys.Started = time.Now().UTC()
	sys.OTLPURL, sys.VictoriaLogsURL = otlp, cfg.VictoriaLogsURL
	command := cfg.Command
	if command == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("demo: find this program: %w", err)
		}
		command = func() *exec.Cmd { return exec.Command(exe, "serve") }
	}
	wait := cfg.StartTimeout
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	for _, name := range Services {
		sc := ServiceConfig{Name: name, Addr: strings.TrimPrefix(sys.Services[name], "http://"), Peers: map[string]string{},
			OTLPURL: otlp, VictoriaLogsURL: cfg.VictoriaLogsURL, BatchTimeout: cfg.BatchTimeout}
		for _, p := range peersOf[name] {
			sc.Peers[p] = sys.Services[p]
		}
		if name == Inventory {
			sc.DBPath, sc.Rows = filepath.Join(cfg.Dir, "inventory.db"), rows
		}
		c, err := sys.startChild(command, sc)
		if err != nil {
			sys.Stop()
			return nil, err
		}
		if err := waitHealthy(ctx, sys.Services[name]+"/healthz", wait, c.done); err != nil {
			sys.Stop()
			return nil, fmt.Errorf("demo: %s did not start: %v (its log: %s)", name, err, c.log.path)
		}
	}
	sys.LoadGen = fmt.Sprintf("http://127.0.0.1:%d", ports[len(Services)])
	if sys.Load, err = NewGenerator(sys.Services[Frontend], DefaultRate, rows); err != nil {
		sys.Stop()
		return nil, err
	}
	l, err := net.Listen("tcp", strings.TrimPrefix(sys.LoadGen, "http://"))
	if err != nil {
		sys.Stop()
		return nil, fmt.Errorf("demo: load generator admin: %w", err)
	}
	sys.admin = &http.Server{Handler: sys.Load.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = sys.admin.Serve(l) }()
	sys.PrometheusFile = filepath.Join(cfg.Dir, "prometheus.yml")
	if err := os.WriteFile(sys.PrometheusFile, []byte(ScrapeConfig(sys.Services, 5*time.Second)), 0o644); err != nil {
		sys.Stop()
		return nil, fmt.Errorf("demo: %w", err)
	}
	data, _ := json.MarshalIndent(sys.State, "", "  ")
	if err := os.WriteFile(filepath.Join(cfg.Dir, StateFile), append(data, '\n'), 0o644); err != nil {
		sys.Stop()
		return nil, fmt.Errorf("demo: %w", err)
	}
	return sys, nil
}

// SetRate changes the generator's base rate (before Run).
func (s *System) SetRate(rate float64) error {
	if rate <= 0 || rate > MaxRate {
		return fmt.Errorf("load rate %g: want 0 < rate <= %g requests/s", rate, MaxRate)
	}
	s.Load.rate = rate
	return nil
}

func (s *System) startChild(command func() *exec.Cmd, sc ServiceConfig) (*child, error) {
	raw, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	cmd := command()
	cmd.Env = append(os.Environ(), EnvService+"="+string(raw))
	lf, err := newCappedFile(filepath.Join(s.dir, sc.Name+".log"), maxLogFile)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("demo: start %s: %w", sc.Name, err)
	}
	c := &child{name: sc.Name, cmd: cmd, stdin: stdin, log: lf, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	s.procs = append(s.procs, c)
	return c, nil
}

// Stop ends the children (stdin closed and SIGTERM, SIGKILL after 10s) and the admin endpoint.
func (s *System) Stop() {
	if s.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.admin.Shutdown(ctx)
		cancel()
	}
	var wg sync.WaitGroup
	for _, c := range s.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stdin.Close()
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-c.done:
			case <-time.After(10 * time.Second):
				_ = c.cmd.Process.Kill()
				<-c.done
			}
			c.log.Close()
		}()
	}
	wg.Wait()
	s.procs = nil
	_ = os.Remove(filepath.Join(s.dir, StateFile))
}

// Exited reports a service process that has ended, "" while all run.
func (s *System) Exited() string {
	for _, c := range s.procs {
		select {
		case <-c.done:
			return c.name
		default:
		}
	}
	return ""
}

// tracesURL turns an OTLP/HTTP base URL into its traces URL.
func tracesURL(u string) (string, error) {
	if u == "" {
		return "", nil
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "", fmt.Errorf("demo: OTLP URL %q: want http(s)://host:4318 (OTLP over HTTP)", u)
	}
	u = strings.TrimRight(u, "/")
	if !strings.HasSuffix(u, "/v1/traces") {
		u += "/v1/traces"
	}
	return u, nil
}

// ScrapeConfig is a Prometheus configuration that scrapes every service's /metrics every interval:
// one job per service named after it (the usual convention, which dbg's per-job saturation checks
// read), with a service label on each target too.
func ScrapeConfig(services map[string]string, interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n", interval, interval)
	for _, name := range Services {
		if u, ok := services[name]; ok {
			fmt.Fprintf(&b, "  - job_name: %q\n    honor_labels: true\n    static_configs:\n      - targets: [%q]\n        labels: {service: %q}\n",
				name, strings.TrimPrefix(u, "http://"), name)
		}
	}
	return b.String()
}

func waitHealthy(ctx context.Context, url string, timeout time.Duration, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering after %s", url, timeout)
		}
		select {
		case <-exited:
			return errors.New("process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// cappedFile is a log file that stops growing at max bytes.
type cappedFile struct {
	mu   sync.Mutex
	f    *os.File
	path string
	n    int64
	max  int64
}

func newCappedFile(path string, max int64) (*cappedFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &cappedFile{f: f, path: path, max: max}, nil
}

func (c *cappedFile) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n+int64(len(p)) > c.max {
		return len(p), nil
	}
	c.n += int64(len(p))
	return c.f.Write(p)
}

func (c *cappedFile) Close() error { return c.f.Close() }

// ReadState reads a running demo's state file from dir.
func ReadState(dir string) (State, error) {
	var st State
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("no demo running with state in %s (start one with go run ./demo run)", dir)
		}
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return st, nil
}

// AdminURL returns the base URL whose /admin/fault takes faults for service.
func (st State) AdminURL(service string) (string, error) {
	if service == LoadGen {
		return st.LoadGen, nil
	}
	u, ok := st.Services[service]
	if !ok {
		return "", fmt.Errorf("unknown service %q (want one of %s, %s)", service, strings.Join(Services, ", "), LoadGen)
	}
	return u, nil
}

// Inject posts a fault to a service's admin endpoint (base is the service's base URL).
func Inject(ctx context.Context, base string, f Fault) (Active, error) {
	var a Active
	body, err := json.Marshal(f)
	if err != nil {
		return a, err
	}
	err = adminDo(ctx, http.MethodPost, base+"/admin/fault", body, &a)
	return a, err
}

// Clear removes the faults of kind (all when "") from the service at base, returning the kinds cleared.
func Clear(ctx context.Context, base string, kind Kind) ([]string, error) {
	u := base + "/admin/fault"
	if kind != "" {
		u += "?kind=" + string(kind)
	}
	var out struct {
		Cleared []string `json:"cleared"`
	}
	err := adminDo(ctx, http.MethodDelete, u, nil, &out)
	return out.Cleared, err
}

// List returns the faults in force at the service at base.
func List(ctx context.Context, base string) ([]Active, error) {
	var out []Active
	err := adminDo(ctx, http.MethodGet, base+"/admin/fault", nil, &out)
	return out, err
}

func adminDo(ctx context.Context, method, url string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is the demo running?)", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s", method, url, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, url, err)
		}
	}
	return nil
}
