#!/usr/bin/env bash
# bench-jaeger.sh — time `dbg trace --service S --analyze` over N traces (default 1,000) from a real
# Jaeger against plain curl fetching the same N traces one after another, in the same run, and print the
# ratios. Also times dbg fetching the N traces by ID (its bounded concurrent pool) over HTTP and gRPC.
#
#   scripts/bench-jaeger.sh [RUNS] [TRACES]
#
# curl is measured two ways: one curl process per trace (a shell loop), and one curl process fetching
# every URL over a kept-alive connection (the strongest sequential baseline). Each figure is the best of
# RUNS. Jaeger is Jaeger v2 (tools/jaeger, built into the test cache) with memory storage on loopback.
#
# Needs: go, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
N=${2:-1000}

for bin in curl python3; do
	command -v "$bin" >/dev/null || { echo "bench-jaeger: $bin not found" >&2; exit 1; }
done
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/dbg" .
go build -o "$work/otlpload" ./internal/tracegen/cmd/otlpload
# The test harness builds the pinned Jaeger into its cache (a no-op when it is there).
go test -count=1 -run '^TestBuildTools$' ./internal/testserver >/dev/null
cache=${DBG_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dbg-tools}
jaeger=$(ls "$cache"/jaeger-v1.76.0-*/jaeger 2>/dev/null | head -1)
[ -x "$jaeger" ] || { echo "bench-jaeger: no Jaeger binary in $cache" >&2; exit 1; }

read -r qhttp qgrpc ohttp ogrpc < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
cat >"$work/jaeger.yaml" <<EOF
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    enable_tracing: false
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:$qhttp
    grpc:
      endpoint: 127.0.0.1:$qgrpc
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$ohttp
      grpc:
        endpoint: 127.0.0.1:$ogrpc
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
EOF
OTEL_SDK_DISABLED=true "$jaeger" --config "$work/jaeger.yaml" >"$work/jaeger.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$qhttp"
for _ in $(seq 100); do curl -sf "$url/api/services" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ohttp") 2>/dev/null && break; sleep 0.1; done

"$work/otlpload" -url "http://127.0.0.1:$ohttp" -traces "$N" >"$work/ids.txt"
[ "$(wc -l <"$work/ids.txt")" -eq "$N" ] || { echo "bench-jaeger: loading failed" >&2; exit 1; }
while read -r id; do
	printf 'url = "%s/api/traces/%s"\noutput = "/dev/null"\n' "$url" "$id"
done <"$work/ids.txt" >"$work/curl.cfg"
mapfile -t ids <"$work/ids.txt"

# best RUNS CMD... prints the best wall time of RUNS runs, in seconds.
best() {
	python3 - "$RUNS" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
best = None
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    d = time.perf_counter() - t
    best = d if best is None else min(best, d)
print(f"{best:.3f}")
PY
}

# Sanity: dbg finds all N traces.
found=$("$work/dbg" trace --service checkout --since 1h --limit "$N" --jaeger-url "$url" -o json |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["traces"]))')
[ "$found" -eq "$N" ] || { echo "bench-jaeger: dbg found $found traces, want $N" >&2; exit 1; }

printf '%s\n' "${ids[@]}" | sed "s|^|$url/api/traces/|" >"$work/urls.txt"
t_loop=$(best bash -c 'while read -r u; do curl -s -o /dev/null "$u"; done <"$1"' _ "$work/urls.txt")
t_curl=$(best curl -s -K "$work/curl.cfg")
t_search=$(best "$work/dbg" trace --service checkout --since 1h --limit "$N" --analyze --jaeger-url "$url" -o json)
t_search_grpc=$(best "$work/dbg" trace --service checkout --since 1h --limit "$N" --analyze --jaeger-url "grpc://127.0.0.1:$qgrpc" -o json)
t_ids=$(best "$work/dbg" trace "${ids[@]}" --jaeger-url "$url" -o json)
t_ids_grpc=$(best "$work/dbg" trace "${ids[@]}" --jaeger-url "grpc://127.0.0.1:$qgrpc" -o json)

python3 - "$N" "$t_loop" "$t_curl" "$t_search" "$t_search_grpc" "$t_ids" "$t_ids_grpc" <<'PY'
import sys
n = int(sys.argv[1])
loop, curl, search, search_grpc, ids, ids_grpc = map(float, sys.argv[2:])
print(f"bench-jaeger: {n} traces, best of runs, wall seconds (lower is better)")
rows = [
    ("curl, one process per trace, sequential", loop),
    ("curl, one process, keep-alive, sequential", curl),
    ("dbg trace --service --analyze (HTTP)", search),
    ("dbg trace --service --analyze (gRPC)", search_grpc),
    (f"dbg trace <{n} IDs> (HTTP, 8 at once, analysed)", ids),
    (f"dbg trace <{n} IDs> (gRPC, 8 at once, analysed)", ids_grpc),
]
for name, t in rows:
    print(f"  {name:<48} {t:8.3f}s  {curl / t:6.2f}x vs curl keep-alive")
ok = search < curl and search < loop
print("bench-jaeger: dbg --analyze is", "FASTER" if ok else "SLOWER", "than sequential curl")
sys.exit(0 if ok else 1)
PY
