package testserver

import (
	"fmt"
	"testing"
)

// PrometheusWithConfig starts Prometheus like Prometheus does, but with the given configuration file
// contents (prometheus.yml: scrape_configs with loopback targets, say) and a fresh TSDB directory, for
// tests that scrape live programs rather than load blocks. Retention is 100y as there.
func PrometheusWithConfig(t testing.TB, config string) *PrometheusServer {
	t.Helper()
	skipShort(t)
	bin, err := lookBin("prometheus", binDirs...)
	if err != nil {
		t.Fatalf("testserver: %v: install the Debian package prometheus (scripts/test.sh does)", err)
	}
	dataDir := t.TempDir()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "prometheus.yml", []byte(config))
	var s *PrometheusServer
	launch(t, "prometheus", func() (*process, error) {
		port := FreePort(t)
		s = &PrometheusServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), DataDir: dataDir}
		return startProcess("prometheus", dir, nil, nil, bin,
			"--config.file="+cfg,
			"--storage.tsdb.path="+dataDir,
			"--storage.tsdb.retention.time=100y",
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
			"--log.level=info",
		)
	}, func(p *process) error {
		return waitHTTP(s.URL+"/-/ready", StartTimeout, p.exited)
	})
	return s
}
