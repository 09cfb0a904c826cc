#!/usr/bin/env bash
# bench-jaeger.sh — time `dbg trace --service S --analyze` over N traces (default 1,000) from a real
# Jaeger against plain curl fetching the same N traces one after another, in the same run, and print the
# ratios. Also times dbg fetching the N traces by ID (its bounded concurrent pool) over HTTP and gRPC.
#
#   scripts/bench-jaeger.sh [RUNS] [TRACES]
#
# curl is measured two ways: one curl process per trace (a shell loop), and one curl process fetching
# every URL over a kept-alive connection (the strongest sequential baseline). The commands run
# round-robin for RUNS rounds so they share the same load; figures are medians, ratios the medians of the
# per-round ratios. Exits non-zero unless dbg --analyze over HTTP beats curl keep-alive in the median.
# Jaeger is Jaeger v2 (tools/jaeger, built into the test cache) with memory storage on loopback.
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

# Sanity: dbg finds all N traces.
found=$("$work/dbg" trace --service checkout --since 1h --limit "$N" --jaeger-url "$url" -o json |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["traces"]))')
[ "$found" -eq "$N" ] || { echo "bench-jaeger: dbg found $found traces, want $N" >&2; exit 1; }

printf '%s\n' "${ids[@]}" | sed "s|^|$url/api/traces/|" >"$work/urls.txt"
printf '%s\n' "${ids[@]}" >"$work/args.txt"
grpc="grpc://127.0.0.1:$qgrpc"
# The commands run round-robin, RUNS rounds, so each sees the same load on this shared machine; each
# figure is the median of its rounds, and each ratio the median of the per-round ratios.
python3 - "$RUNS" "$N" "$work" "$url" "$grpc" <<'PY'
import statistics, subprocess, sys, time
runs, n, work, url, grpc = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
dbg = work + "/dbg"
ids = open(work + "/args.txt").read().split()
search = [dbg, "trace", "--service", "checkout", "--since", "1h", "--limit", str(n), "--analyze", "-o", "json", "--jaeger-url"]
cmds = [
    ("curl, one process per trace, sequential", ["bash", "-c", 'while read -r u; do curl -s -o /dev/null "$u"; done <"$1"', "_", work + "/urls.txt"]),
    ("curl, one process, keep-alive, sequential", ["curl", "-s", "-K", work + "/curl.cfg"]),
    ("dbg trace --service --analyze (HTTP)", search + [url]),
    ("dbg trace --service --analyze (gRPC)", search + [grpc]),
    (f"dbg trace <{n} IDs> (HTTP, 8 at once, analysed)", [dbg, "trace", *ids, "--jaeger-url", url, "-o", "json"]),
    (f"dbg trace <{n} IDs> (gRPC, 8 at once, analysed)", [dbg, "trace", *ids, "--jaeger-url", grpc, "-o", "json"]),
]
times = {name: [] for name, _ in cmds}
for _ in range(runs):
    for name, cmd in cmds:
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - t)
base = cmds[1][0]
print(f"bench-jaeger: {n} traces, {runs} rounds, median wall seconds (lower is better)")
for name, _ in cmds:
    ratio = statistics.median(b / t for b, t in zip(times[base], times[name]))
    print(f"  {name:<48} {statistics.median(times[name]):8.3f}s  {ratio:6.2f}x faster than curl keep-alive")
search_http = cmds[2][0]
wins = sum(t < b for t, b in zip(times[search_http], times[base]))
ratio = statistics.median(b / t for b, t in zip(times[base], times[search_http]))
print(f"bench-jaeger: dbg --analyze over HTTP beat curl keep-alive in {wins} of {runs} rounds (median {ratio:.2f}x)")
sys.exit(0 if ratio > 1 else 1)
PY
