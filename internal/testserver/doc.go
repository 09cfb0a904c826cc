// Package testserver is the testing face of internal/servers: each constructor starts a real backend
// server (Jaeger v2, VictoriaLogs, Prometheus with promtool-made TSDB blocks, PostgreSQL) on free
// 127.0.0.1 ports with its data in a temporary directory, stops it in t.Cleanup, and prints its
// output when the test fails. Only tests import it; the launcher itself (internal/servers) does not
// import testing, so the demo program can use it.
//
// In -short mode every constructor calls t.Skip. Otherwise a server that is
// missing or cannot be built fails the test (t.Fatal); it never skips.
//
// Where the binaries come from: see internal/servers. scripts/test.sh installs the Debian packages;
// scripts/tools.sh builds the cached binaries.
//
// Gotchas, learned the hard way:
//   - Prometheus/promtool: the OpenMetrics input must end with "# EOF"
//     (CreateBlocks appends it when missing); timestamps are in seconds; blocks
//     are cut at 2h-aligned boundaries. Prometheus is started with
//     --storage.tsdb.retention.time=100y so that blocks in the past are never
//     deleted (time retention counts back from the newest block, but a long
//     retention removes the question). Queries must target the generated time
//     range: an instant query at time T sees the last sample in (T-5m, T]
//     (the lookback delta), so a query at "now" finds nothing for data made
//     hours ago.
//   - Jaeger v2: the config has no batch processor, so a span posted to
//     /v1/traces is queryable as soon as the POST returns. The UI assets are
//     not embedded in a plain go build; the HTTP API (/api/..., /api/v3/...)
//     works. jaeger_query.enable_tracing is false (its own traces would go to
//     localhost:4317, i.e. maybe to some other Jaeger) and
//     service.telemetry.metrics.level is none (no :8888 listener).
//   - VictoriaLogs: POST /insert/jsonline with Content-Type application/json
//     (or application/stream+json). With the form content type that curl -d and
//     http.PostForm send, nothing is ingested and the answer is still 200.
//     Name the fields with _time_field, _msg_field and _stream_fields query
//     args. Rows become searchable within about a second.
//   - PostgreSQL: initdb refuses to run as root, so when the test runs as root
//     the server runs as the "postgres" user (or "nobody") in a directory made
//     outside t.TempDir (whose parents are 0700 root).
package testserver
