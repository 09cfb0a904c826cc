package servers

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// Servers are Jaeger, VictoriaLogs and a scraping Prometheus started together (by `go run ./demo
// scenarios`). Stop ends them all.
type Servers struct {
	Jaeger       *JaegerServer
	VictoriaLogs *VictoriaLogsServer
	Prometheus   *PrometheusServer
	procs        []*Process
}

// Stop ends every server that was started (its stop signal, SIGKILL after 15s).
func (s *Servers) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop(15 * time.Second)
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
	for _, d := range []string{"jaeger", "victorialogs", "prometheus", "prometheus/data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fail(err)
		}
	}
	var p *Process
	if s.Jaeger, p, err = StartJaeger(filepath.Join(dir, "jaeger"), jbin); err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, p)
	if s.VictoriaLogs, p, err = StartVictoriaLogs(filepath.Join(dir, "victorialogs"), vbin); err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, p)
	pdir := filepath.Join(dir, "prometheus")
	if s.Prometheus, p, err = StartPrometheus(pdir, filepath.Join(pdir, "data"), promConfig); err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, p)
	return s, nil
}
