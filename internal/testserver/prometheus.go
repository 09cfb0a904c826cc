package testserver

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// PrometheusServer is a running Prometheus serving a TSDB directory.
type PrometheusServer struct {
	URL     string // "http://127.0.0.1:P": /api/v1/query, /api/v1/query_range, ...
	DataDir string // --storage.tsdb.path
}

var binDirs = []string{"/usr/bin", "/usr/local/bin"}

// prometheusConfig scrapes nothing: the TSDB holds only what CreateBlocks put
// there, so query results are exactly the test's data.
const prometheusConfig = `global:
  scrape_interval: 1m
  evaluation_interval: 1m
scrape_configs: []
`

// Prometheus starts Prometheus (Debian package prometheus) on a free loopback
// port with --storage.tsdb.path=dataDir (a new temporary directory when
// dataDir is "") and waits for /-/ready. Retention is 100y, so blocks made by
// CreateBlocks with timestamps in the past are kept; query at a time inside
// the data's range (an instant query looks back 5 minutes).
func Prometheus(t testing.TB, dataDir string) *PrometheusServer {
	t.Helper()
	skipShort(t)
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	return startPrometheus(t, dataDir, prometheusConfig)
}

// startPrometheus runs the Debian prometheus on a free port with config and dataDir (retention 100y so
// generated history in the past is kept) and waits until it is ready.
func startPrometheus(t testing.TB, dataDir, config string) *PrometheusServer {
	t.Helper()
	bin, err := lookBin("prometheus", binDirs...)
	if err != nil {
		t.Fatalf("testserver: %v: install the Debian package prometheus (scripts/test.sh does)", err)
	}
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

// CreateBlocks turns OpenMetrics text into TSDB blocks with
// `promtool tsdb create-blocks-from openmetrics` and returns the directory to
// pass to Prometheus. Timestamps in the input are Unix seconds; "# EOF" is
// appended when the input does not end with it. Blocks are cut at 2h-aligned
// boundaries.
func CreateBlocks(t testing.TB, openMetrics []byte) (dataDir string) {
	t.Helper()
	skipShort(t)
	bin, err := lookBin("promtool", binDirs...)
	if err != nil {
		t.Fatalf("testserver: %v: install the Debian package prometheus (scripts/test.sh does)", err)
	}
	in := bytes.TrimRight(openMetrics, "\n")
	if !bytes.HasSuffix(in, []byte("# EOF")) {
		in = append(in, "\n# EOF"...)
	}
	in = append(in, '\n')
	dir := t.TempDir()
	src := writeFile(t, dir, "input.om", in)
	dataDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := run(ctx, dir, nil, nil, bin, "tsdb", "create-blocks-from", "openmetrics", "--quiet", src, dataDir)
	if err != nil {
		t.Fatalf("testserver: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return dataDir
}
