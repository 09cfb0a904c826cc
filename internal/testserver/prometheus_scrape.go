package testserver

import "testing"

// PrometheusWithConfig starts Prometheus like Prometheus does, but with the given configuration file
// contents (prometheus.yml: scrape_configs with loopback targets, say) and a fresh TSDB directory, for
// tests that scrape live programs rather than load blocks. Retention is 100y as there.
func PrometheusWithConfig(t testing.TB, config string) *PrometheusServer {
	t.Helper()
	skipShort(t)
	return startPrometheus(t, t.TempDir(), config)
}
