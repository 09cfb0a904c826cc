#!/usr/bin/env bash
# Measures the demo system: how long `go run ./demo run` takes until every service answers (the inventory
# seeds its SQLite table first), and what the six instrumented services cost at a steady load
# (CPU seconds per 1000 requests, resident memory), with traces and logs kept local (no backends).
# There is no peer tool for this: the figures are the demo's own cost, for planning test time.
# Usage: scripts/bench-demo.sh [rate] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-20}
secs=${2:-30}
dir=$(mktemp -d)
bin=$dir/dbg-demo
go build -o "$bin" ./demo
cleanup() { [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

start=$(date +%s.%N)
"$bin" run --state-dir "$dir/state" --rate "$rate" --duration "$((secs + 5))s" >"$dir/out" 2>&1 &
pid=$!
until [[ -f $dir/state/state.json ]]; do
	sleep 0.1
	kill -0 "$pid" 2>/dev/null || { cat "$dir/out"; exit 1; }
done
ready=$(date +%s.%N)
printf 'start until all six services answer (200k rows seeded): %.1fs\n' "$(echo "$ready - $start" | bc)"

urls=$(python3 -c "import json,sys; s=json.load(open('$dir/state/state.json')); print(' '.join(f'{k}={v}' for k,v in s['services'].items()))")
sample() { # name=url → "cpu_seconds rss_bytes requests"
	curl -s "${1#*=}/metrics" | awk '/^process_cpu_seconds_total/{c=$2} /^process_resident_memory_bytes/{r=$2} /^http_requests_total/{n+=$2} END{printf "%s %s %s\n", c, r, n}'
}
declare -A before
for u in $urls; do before[${u%%=*}]=$(sample "$u"); done
sleep "$secs"
printf '%-12s %10s %14s %12s\n' service requests "cpu ms/1000req" "rss MiB"
for u in $urls; do
	name=${u%%=*}
	read -r c0 _ n0 <<<"${before[$name]}"
	read -r c1 r1 n1 <<<"$(sample "$u")"
	awk -v s="$name" -v c0="$c0" -v c1="$c1" -v n0="$n0" -v n1="$n1" -v r="$r1" \
		'BEGIN{n=n1-n0; printf "%-12s %10d %14.1f %12.1f\n", s, n, (n>0 ? (c1-c0)*1e6/n : 0), r/1048576}'
done
