// Package servers starts the real backend servers dbg is tested and measured against — Jaeger v2,
// VictoriaLogs, Prometheus (with promtool-made TSDB blocks) and PostgreSQL — on free 127.0.0.1
// ports, with data in a directory the caller gives. It returns errors and never imports testing:
// internal/testserver wraps it for tests (skip under -short, stop in t.Cleanup), and the demo program
// (./demo scenarios) calls it directly.
//
// Where the binaries come from:
//   - jaeger and victoria-logs are built from the pinned versions in
//     tools/jaeger/go.mod and tools/victorialogs/go.mod (one module each: their
//     dependency graphs conflict) into $DBG_TOOLS_CACHE, or
//     $XDG_CACHE_HOME/dbg-tools (default $HOME/.cache/dbg-tools), in a directory
//     named <name>-<version>-<hash of go.mod+go.sum>. A file lock stops parallel
//     processes from building the same tool twice.
//   - prometheus, promtool (Debian package prometheus) and initdb, postgres,
//     pg_isready, createdb, psql (Debian package postgresql) are found on PATH,
//     in /usr/bin, or under /usr/lib/postgresql/<major>/bin.
//
// The gotchas learned starting each server are in internal/testserver's package comment.
package servers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StartTimeout bounds how long a server may take to become ready.
const StartTimeout = 90 * time.Second

// FreeLoopbackPorts returns n distinct 127.0.0.1 ports that were free a moment ago, holding all of
// them open until every one is chosen so that they differ.
func FreeLoopbackPorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("no free port on 127.0.0.1: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// WaitHTTP polls url with GET until it answers 2xx or the timeout passes.
func WaitHTTP(url string, timeout time.Duration) error { return waitHTTP(url, timeout, nil) }

// waitHTTP returns nil once url answers 2xx; an error when the deadline passes
// or exited is closed (the server process ended).
func waitHTTP(url string, timeout time.Duration, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if err := pause(deadline, exited); err != nil {
			return fmt.Errorf("%s not ready (last: %s): %w", url, last, err)
		}
	}
}

func waitTCP(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if perr := pause(deadline, exited); perr != nil {
			return fmt.Errorf("%s not accepting connections (last: %v): %w", addr, err, perr)
		}
	}
}

var errExited = errors.New("server process exited")

func pause(deadline time.Time, exited <-chan struct{}) error {
	if time.Now().After(deadline) {
		return errors.New("deadline passed")
	}
	select {
	case <-exited:
		return errExited
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

// logBuffer keeps the last max bytes a process wrote.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte("[...]\n"), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Process is a started server.
type Process struct {
	name   string
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{}
	err    error     // Wait's result, set before exited is closed
	stopBy os.Signal // the polite stop signal; SIGTERM when nil
}

// Name is the server's name ("jaeger", "prometheus", ...).
func (p *Process) Name() string { return p.name }

// Output is the last MiB the server wrote to stdout and stderr.
func (p *Process) Output() string { return p.log.String() }

// runAs, when non-nil, is the user a server runs as (see postgres.go).
type runAs struct {
	uid, gid uint32
	name     string
}

// startProcess starts bin with args, capturing its output.
func startProcess(name, dir string, user *runAs, env []string, bin string, args ...string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	lb := &logBuffer{max: 1 << 20}
	cmd.Stdout = lb
	cmd.Stderr = lb
	cmd.SysProcAttr = sysProcAttr(user)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, log: lb, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Stop ends the process: its polite stop signal (SIGTERM), then SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	sig := p.stopBy
	if sig == nil {
		sig = syscall.SIGTERM
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// portClash reports whether the server died because a port was taken between
// choosing it and the server's bind.
func (p *Process) portClash() bool {
	select {
	case <-p.exited:
	default:
		return false
	}
	l := strings.ToLower(p.log.String())
	return strings.Contains(l, "address already in use")
}

// launch starts a server with up to three attempts (start picks a fresh set of ports each time, in
// case another process took one) and waits for ready. On error nothing is left running, and the
// error ends with the tail of the server's output.
func launch(name string, start func() (*Process, error), ready func(p *Process) error) (*Process, error) {
	for attempt := 1; ; attempt++ {
		p, err := start()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err = ready(p); err == nil {
			return p, nil
		}
		p.Stop(5 * time.Second)
		if p.portClash() && attempt < 3 {
			continue
		}
		out := p.log.String()
		if len(out) > 4000 {
			out = out[len(out)-4000:]
		}
		return nil, fmt.Errorf("%s did not start: %v (exit: %v)\n--- %s output (end) ---\n%s", name, err, p.err, name, out)
	}
}

var binDirs = []string{"/usr/bin", "/usr/local/bin"}

// lookBin finds a system binary on PATH or in the given directories.
func lookBin(name string, dirs ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in %s", name, strings.Join(dirs, ", "))
}

// run runs a short command and returns its combined output.
func run(ctx context.Context, dir string, user *runAs, env []string, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr(user)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}
