#!/usr/bin/env bash
# bench-prometheus.sh — time `dbg hotspots` against a real Prometheus and, in the same run, the very same
# API requests sent by curl (same concurrency), and print the ratio. The history is the planted scenario
# of internal/promgen plus EXTRA steady services (default 40: ~560k samples, 1.2k series per metric).
#
#   scripts/bench-prometheus.sh [RUNS] [EXTRA]
#
# Needs: go, curl, python3, prometheus and promtool (Debian package prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
EXTRA=${2:-40}
CONC=4 # dbg's default query concurrency
END=1767268800 # 2026-01-01T12:00:00Z

for bin in curl python3 prometheus promtool; do
	command -v "$bin" >/dev/null || { echo "bench-prometheus: $bin not found" >&2; exit 1; }
done
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/dbg" .
go run ./internal/promgen/cmd/promgen prometheus-http "$END" "$EXTRA" >"$work/history.om"
promtool tsdb create-blocks-from openmetrics --quiet "$work/history.om" "$work/data" >/dev/null
printf 'global:\n  scrape_interval: 1m\nscrape_configs: []\n' >"$work/prometheus.yml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "$url/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$url/-/ready" >/dev/null || { echo "bench-prometheus: Prometheus did not start" >&2; cat "$work/prometheus.log" >&2; exit 1; }

dbg=("$work/dbg" hotspots --prometheus-url "$url" --until 2026-01-01T12:00:00Z --since 30m --no-color)
# The requests dbg sends, as a curl config: POST form bodies like client_golang sends them.
"${dbg[@]}" --explain -o json >"$work/report.json"
python3 - "$work/report.json" "$url" >"$work/curl.cfg" <<'EOF'
import json, sys
rep, url = json.load(open(sys.argv[1])), sys.argv[2]
paths = {"query": "/api/v1/query", "query_range": "/api/v1/query_range", "labels": "/api/v1/labels"}
out = []
for q in rep["queries"]:
    path = paths.get(q["api"]) or "/api/v1/label/%s/values" % q["label"]
    out.append('url = "%s%s"' % (url, path))
    out.append('output = "/dev/null"')
    if q["api"] not in paths:
        out.append('get')  # client_golang sends label values as GET
    for k, v in q["params"].items():
        out.append('data-urlencode = %s' % json.dumps(k + "=" + v))
    for m in q.get("match", []):
        out.append('data-urlencode = %s' % json.dumps("match[]=" + m))
    out.append('next')
print("\n".join(out[:-1]))
EOF
nreq=$(grep -c '^url' "$work/curl.cfg")
findings=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$work/report.json")

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
: >"$work/dbg.ms"; : >"$work/curl.ms"
"${dbg[@]}" >/dev/null # warm the page cache for both
for _ in $(seq "$RUNS"); do # interleaved, so both see the same machine
	t0=$(now); "${dbg[@]}" >/dev/null; t1=$(now)
	curl -sSf --no-progress-meter --parallel --parallel-max "$CONC" -K "$work/curl.cfg"; t2=$(now)
	echo $(((t1 - t0) / 1000000)) >>"$work/dbg.ms"
	echo $(((t2 - t1) / 1000000)) >>"$work/curl.ms"
done
d=$(median <"$work/dbg.ms"); c=$(median <"$work/curl.ms")
ratio=$(awk -v d="$d" -v c="$c" 'BEGIN {printf "%.2f", d / c}')
echo "prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'), history: $((EXTRA + 2)) services, $(wc -l <"$work/history.om") samples"
echo "requests per run: $nreq (concurrency $CONC), findings: $findings, runs: $RUNS"
echo "dbg hotspots median: ${d} ms"
echo "curl same requests median: ${c} ms"
echo "ratio dbg/curl: ${ratio}x (target <= 1.5x)"
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.5)}' || { echo "bench-prometheus: over 1.5x" >&2; exit 3; }
