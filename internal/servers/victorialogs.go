package servers

import (
	"fmt"
	"path/filepath"
)

// VictoriaLogsServer is a running VictoriaLogs single-node server.
type VictoriaLogsServer struct {
	URL string // "http://127.0.0.1:P": /insert/jsonline, /select/logsql/query, ...
}

// StartVictoriaLogs starts the VictoriaLogs binary bin (BuildTool "victoria-logs") with
// -storageDataPath under dir on a free loopback port and waits for /health. Its only listener is
// -httpListenAddr. -retentionPeriod is 100y so logs with old timestamps are kept (the default 7d
// would drop them at ingestion).
func StartVictoriaLogs(dir, bin string) (*VictoriaLogsServer, *Process, error) {
	var s *VictoriaLogsServer
	p, err := launch("victoria-logs", func() (*Process, error) {
		ports, err := FreeLoopbackPorts(1)
		if err != nil {
			return nil, err
		}
		s = &VictoriaLogsServer{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
		return startProcess("victoria-logs", dir, nil, nil, bin,
			"-storageDataPath="+filepath.Join(dir, "data"),
			fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", ports[0]),
			"-retentionPeriod=100y",
			"-loggerLevel=INFO",
		)
	}, func(p *Process) error {
		return waitHTTP(s.URL+"/health", StartTimeout, p.exited)
	})
	if err != nil {
		return nil, nil, err
	}
	return s, p, nil
}
