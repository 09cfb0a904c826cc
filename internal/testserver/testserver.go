package testserver

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/servers"
)

// The server types are internal/servers' own.
type (
	// JaegerServer is a running Jaeger v2 (all-in-one, memory storage).
	JaegerServer = servers.JaegerServer
	// VictoriaLogsServer is a running VictoriaLogs single-node server.
	VictoriaLogsServer = servers.VictoriaLogsServer
	// PrometheusServer is a running Prometheus serving a TSDB directory.
	PrometheusServer = servers.PrometheusServer
	// PostgresServer is a running PostgreSQL with trust auth on 127.0.0.1.
	PostgresServer = servers.PostgresServer
)

// skipShort skips the test in -short mode: real servers are the full tier.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("real server: run without -short")
	}
}

// stopAtCleanup stops p when the test ends and prints its output if the test failed.
func stopAtCleanup(t testing.TB, p *servers.Process) {
	t.Cleanup(func() {
		p.Stop(15 * time.Second)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", p.Name(), p.Output())
		}
	})
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 (servers.FreeLoopbackPorts), failing the test
// when there are none.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := servers.FreeLoopbackPorts(n)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	return ports
}

// WaitHTTP polls url with GET until it answers 2xx or the timeout passes, and
// fails the test in the latter case.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	if err := servers.WaitHTTP(url, timeout); err != nil {
		t.Fatalf("testserver: %v", err)
	}
}

// ToolBinary returns the path of the named tool ("jaeger", "victoria-logs"),
// building it first if the cache does not have it. It fails the test when the
// tool cannot be built. It does not skip in -short mode; the server
// constructors do.
func ToolBinary(t testing.TB, name string) string {
	t.Helper()
	start := time.Now()
	path, fresh, err := servers.BuildTool(context.Background(), name)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	if fresh {
		t.Logf("testserver: built %s in %s", path, time.Since(start).Round(time.Second))
	}
	return path
}

// Jaeger starts Jaeger v2 (built from tools/jaeger) with memory storage on
// free loopback ports and waits until its query API and OTLP receiver answer.
func Jaeger(t testing.TB) *JaegerServer {
	t.Helper()
	skipShort(t)
	s, p, err := servers.StartJaeger(t.TempDir(), ToolBinary(t, "jaeger"))
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	stopAtCleanup(t, p)
	return s
}

// VictoriaLogs starts VictoriaLogs (built from tools/victorialogs) with a
// temporary -storageDataPath on a free loopback port and waits for /health.
func VictoriaLogs(t testing.TB) *VictoriaLogsServer {
	t.Helper()
	skipShort(t)
	s, p, err := servers.StartVictoriaLogs(t.TempDir(), ToolBinary(t, "victoria-logs"))
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	stopAtCleanup(t, p)
	return s
}

// Prometheus starts Prometheus (Debian package prometheus) on a free loopback
// port with --storage.tsdb.path=dataDir (a new temporary directory when
// dataDir is "") and a configuration that scrapes nothing, and waits for
// /-/ready. Retention is 100y, so blocks made by CreateBlocks with timestamps
// in the past are kept; query at a time inside the data's range (an instant
// query looks back 5 minutes).
func Prometheus(t testing.TB, dataDir string) *PrometheusServer {
	t.Helper()
	skipShort(t)
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	return startPrometheus(t, dataDir, servers.EmptyPrometheusConfig)
}

// PrometheusWithConfig starts Prometheus like Prometheus does, but with the given configuration file
// contents (prometheus.yml: scrape_configs with loopback targets, say) and a fresh TSDB directory, for
// tests that scrape live programs rather than load blocks.
func PrometheusWithConfig(t testing.TB, config string) *PrometheusServer {
	t.Helper()
	skipShort(t)
	return startPrometheus(t, t.TempDir(), config)
}

func startPrometheus(t testing.TB, dataDir, config string) *PrometheusServer {
	t.Helper()
	s, p, err := servers.StartPrometheus(t.TempDir(), dataDir, config)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	stopAtCleanup(t, p)
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
	dataDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := servers.CreateBlocks(ctx, t.TempDir(), dataDir, openMetrics); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	return dataDir
}

// Postgres runs initdb into a temporary directory and starts PostgreSQL
// (Debian package postgresql) on a free loopback port, with no Unix socket,
// fsync off, and a superuser "dbg" owning database "dbg" (trust auth).
func Postgres(t testing.TB) *PostgresServer {
	t.Helper()
	skipShort(t)
	// Not t.TempDir: its parent is 0700 root, which the postgres user cannot enter.
	dir, err := os.MkdirTemp("", "dbg-postgres-")
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s, p, err := servers.StartPostgres(context.Background(), dir)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	stopAtCleanup(t, p)
	return s
}
