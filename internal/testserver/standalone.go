package testserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Servers are the pinned servers started outside a test (by `dbg demo scenarios`): the same binaries,
// configurations and readiness checks as Jaeger, VictoriaLogs and PrometheusWithConfig, with errors
// returned instead of failing a test. Stop ends them all.
type Servers struct {
	Jaeger       *JaegerServer
	VictoriaLogs *VictoriaLogsServer
	Prometheus   *PrometheusServer
	procs        []*process
}

// Stop ends every server that was started (SIGTERM, SIGKILL after 15s).
func (s *Servers) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop(15 * time.Second)
	}
	s.procs = nil
}

// StartServers builds (or takes from the cache) Jaeger and VictoriaLogs, finds Prometheus, and starts
// the three under dir with promConfig as Prometheus' configuration. On error nothing is left running.
func StartServers(ctx context.Context, dir, promConfig string) (*Servers, error) {
	s := &Servers{}
	fail := func(err error) (*Servers, error) {
		s.Stop()
		return nil, err
	}
	jbin, _, err := BuildTool(ctx, "jaeger")
	if err != nil {
		return fail(err)
	}
	vbin, _, err := BuildTool(ctx, "victoria-logs")
	if err != nil {
		return fail(err)
	}
	pbin, err := lookBin("prometheus", binDirs...)
	if err != nil {
		return fail(fmt.Errorf("%v: install the Debian package prometheus", err))
	}
	for _, d := range []string{"jaeger", "victorialogs", "prometheus", "prometheus/data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fail(err)
		}
	}

	jdir := filepath.Join(dir, "jaeger")
	p, err := launchStandalone("jaeger", func() (*process, func(*process) error, error) {
		ports, err := FreeLoopbackPorts(4)
		if err != nil {
			return nil, nil, err
		}
		js := &JaegerServer{
			QueryHTTP: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
			QueryGRPC: fmt.Sprintf("127.0.0.1:%d", ports[1]),
			OTLPHTTP:  fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
			OTLPGRPC:  fmt.Sprintf("127.0.0.1:%d", ports[3]),
		}
		cfg := filepath.Join(jdir, "jaeger.yaml")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, jaegerConfig, ports[0], ports[1], ports[2], ports[3]), 0o644); err != nil {
			return nil, nil, err
		}
		env := []string{"OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none"}
		proc, err := startProcess("jaeger", jdir, nil, env, jbin, "--config", cfg)
		s.Jaeger = js
		return proc, func(p *process) error {
			if err := waitHTTP(js.QueryHTTP+"/api/services", StartTimeout, p.exited); err != nil {
				return err
			}
			return waitTCP(strings.TrimPrefix(js.OTLPHTTP, "http://"), StartTimeout, p.exited)
		}, err
	})
	if err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, p)

	vdir := filepath.Join(dir, "victorialogs")
	p, err = launchStandalone("victoria-logs", func() (*process, func(*process) error, error) {
		ports, err := FreeLoopbackPorts(1)
		if err != nil {
			return nil, nil, err
		}
		vs := &VictoriaLogsServer{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
		proc, err := startProcess("victoria-logs", vdir, nil, nil, vbin,
			"-storageDataPath="+filepath.Join(vdir, "data"),
			fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", ports[0]),
			"-retentionPeriod=100y", "-loggerLevel=INFO")
		s.VictoriaLogs = vs
		return proc, func(p *process) error { return waitHTTP(vs.URL+"/health", StartTimeout, p.exited) }, err
	})
	if err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, p)

	pdir := filepath.Join(dir, "prometheus")
	cfg := filepath.Join(pdir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(promConfig), 0o644); err != nil {
		return fail(err)
	}
	p, err = launchStandalone("prometheus", func() (*process, func(*process) error, error) {
		ports, err := FreeLoopbackPorts(1)
		if err != nil {
			return nil, nil, err
		}
		ps := &PrometheusServer{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), DataDir: filepath.Join(pdir, "data")}
		proc, err := startProcess("prometheus", pdir, nil, nil, pbin,
			"--config.file="+cfg, "--storage.tsdb.path="+ps.DataDir, "--storage.tsdb.retention.time=100y",
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]), "--log.level=info")
		s.Prometheus = ps
		return proc, func(p *process) error { return waitHTTP(ps.URL+"/-/ready", StartTimeout, p.exited) }, err
	})
	if err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, p)
	return s, nil
}

// launchStandalone is launch without a test: up to three attempts when a port was taken.
func launchStandalone(name string, start func() (*process, func(*process) error, error)) (*process, error) {
	for attempt := 1; ; attempt++ {
		p, ready, err := start()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err = ready(p); err == nil {
			return p, nil
		}
		p.stop(5 * time.Second)
		if p.portClash() && attempt < 3 {
			continue
		}
		out := p.log.String()
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		return nil, fmt.Errorf("%s did not start: %v (exit: %v); its output ends:\n%s", name, err, p.err, out)
	}
}

// FreeLoopbackPorts returns n distinct 127.0.0.1 ports that were free a moment ago, for code outside a
// test (FreePorts is the testing.TB form).
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
