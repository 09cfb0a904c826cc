package servers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// PrometheusServer is a running Prometheus serving a TSDB directory.
type PrometheusServer struct {
	URL     string // "http://127.0.0.1:P": /api/v1/query, /api/v1/query_range, ...
	DataDir string // --storage.tsdb.path
}

// EmptyPrometheusConfig scrapes nothing: the TSDB holds only what CreateBlocks put there, so query
// results are exactly the caller's data.
const EmptyPrometheusConfig = `global:
  scrape_interval: 1m
  evaluation_interval: 1m
scrape_configs: []
`

// StartPrometheus runs the Debian prometheus on a free loopback port with config (prometheus.yml
// contents) written to dir and --storage.tsdb.path=dataDir, and waits for /-/ready. Retention is
// 100y, so blocks made by CreateBlocks with timestamps in the past are kept; query at a time inside
// the data's range (an instant query looks back 5 minutes).
func StartPrometheus(dir, dataDir, config string) (*PrometheusServer, *Process, error) {
	bin, err := lookBin("prometheus", binDirs...)
	if err != nil {
		return nil, nil, fmt.Errorf("%v: install the Debian package prometheus (scripts/test.sh does)", err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, nil, err
	}
	var s *PrometheusServer
	p, err := launch("prometheus", func() (*Process, error) {
		ports, err := FreeLoopbackPorts(1)
		if err != nil {
			return nil, err
		}
		s = &PrometheusServer{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), DataDir: dataDir}
		return startProcess("prometheus", dir, nil, nil, bin,
			"--config.file="+cfg,
			"--storage.tsdb.path="+dataDir,
			"--storage.tsdb.retention.time=100y",
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]),
			"--log.level=info",
		)
	}, func(p *Process) error {
		return waitHTTP(s.URL+"/-/ready", StartTimeout, p.exited)
	})
	if err != nil {
		return nil, nil, err
	}
	return s, p, nil
}

// CreateBlocks turns OpenMetrics text into TSDB blocks in dataDir with
// `promtool tsdb create-blocks-from openmetrics` (its input file goes to workDir). Timestamps in the
// input are Unix seconds; "# EOF" is appended when the input does not end with it. Blocks are cut at
// 2h-aligned boundaries.
func CreateBlocks(ctx context.Context, workDir, dataDir string, openMetrics []byte) error {
	bin, err := lookBin("promtool", binDirs...)
	if err != nil {
		return fmt.Errorf("%v: install the Debian package prometheus (scripts/test.sh does)", err)
	}
	in := bytes.TrimRight(openMetrics, "\n")
	if !bytes.HasSuffix(in, []byte("# EOF")) {
		in = append(in, "\n# EOF"...)
	}
	in = append(in, '\n')
	src := filepath.Join(workDir, "input.om")
	if err := os.WriteFile(src, in, 0o644); err != nil {
		return err
	}
	out, err := run(ctx, workDir, nil, nil, bin, "tsdb", "create-blocks-from", "openmetrics", "--quiet", src, dataDir)
	if err != nil {
		return fmt.Errorf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return nil
}
