package testserver

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
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take to become ready.
const StartTimeout = 90 * time.Second

// skipShort skips the test in -short mode: real servers are the full tier.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("real server: run without -short")
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct TCP ports on 127.0.0.1, holding all of them
// open until every one is chosen so that they differ.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testserver: no free port on 127.0.0.1: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// WaitHTTP polls url with GET until it answers 2xx or the timeout passes, and
// fails the test in the latter case.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	if err := waitHTTP(url, timeout, nil); err != nil {
		t.Fatalf("testserver: %v", err)
	}
}

// WaitTCP polls addr (host:port) until it accepts a connection or the timeout
// passes, and fails the test in the latter case.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	if err := waitTCP(addr, timeout, nil); err != nil {
		t.Fatalf("testserver: %v", err)
	}
}

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

// process is a started server.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{}
	err    error     // Wait's result, set before exited is closed
	stopBy os.Signal // the polite stop signal; SIGTERM when nil
}

// runAs, when non-nil, is the user a server runs as (see postgres.go).
type runAs struct {
	uid, gid uint32
	name     string
}

// startProcess starts bin with args, capturing its output.
func startProcess(name, dir string, user *runAs, env []string, bin string, args ...string) (*process, error) {
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
	p := &process{name: name, cmd: cmd, log: lb, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop ends the process: SIGTERM, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
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
// FreePorts and the server's bind.
func (p *process) portClash() bool {
	select {
	case <-p.exited:
	default:
		return false
	}
	l := strings.ToLower(p.log.String())
	return strings.Contains(l, "address already in use")
}

// launch starts a server with up to three attempts (a fresh set of ports each
// time, in case another process took one), waits for ready, and registers the
// stop in t.Cleanup. start builds and starts the process for one attempt;
// ready waits for it.
func launch(t testing.TB, name string, start func() (*process, error), ready func(p *process) error) *process {
	t.Helper()
	var p *process
	for attempt := 1; ; attempt++ {
		var err error
		p, err = start()
		if err != nil {
			t.Fatalf("testserver: %s: %v", name, err)
		}
		err = ready(p)
		if err == nil {
			break
		}
		p.stop(5 * time.Second)
		if p.portClash() && attempt < 3 {
			t.Logf("testserver: %s: port taken, retrying", name)
			continue
		}
		t.Fatalf("testserver: %s did not start: %v (exit: %v)\n--- %s output ---\n%s", name, err, p.err, name, p.log.String())
	}
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.log.String())
		}
	})
	return p
}

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

// writeFile writes data to dir/name and fails the test on error.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	return p
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
