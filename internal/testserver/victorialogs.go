package testserver

import (
	"fmt"
	"path/filepath"
	"testing"
)

// VictoriaLogsServer is a running VictoriaLogs single-node server.
type VictoriaLogsServer struct {
	URL string // "http://127.0.0.1:P": /insert/jsonline, /select/logsql/query, ...
}

// VictoriaLogs starts VictoriaLogs (built from tools/victorialogs) with a
// temporary -storageDataPath on a free loopback port and waits for /health.
// Its only listener is -httpListenAddr. -retentionPeriod is 100y so test
// logs with old timestamps are kept (the default 7d would drop them at
// ingestion).
func VictoriaLogs(t testing.TB) *VictoriaLogsServer {
	t.Helper()
	skipShort(t)
	bin := ToolBinary(t, "victoria-logs")
	dir := t.TempDir()
	var s *VictoriaLogsServer
	launch(t, "victoria-logs", func() (*process, error) {
		port := FreePort(t)
		s = &VictoriaLogsServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
		return startProcess("victoria-logs", dir, nil, nil, bin,
			"-storageDataPath="+filepath.Join(dir, "data"),
			fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
			"-retentionPeriod=100y",
			"-loggerLevel=INFO",
		)
	}, func(p *process) error {
		return waitHTTP(s.URL+"/health", StartTimeout, p.exited)
	})
	return s
}
