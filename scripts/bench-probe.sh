#!/usr/bin/env bash
# Two figures for docs/performance.md, each side by side with the tools a user would otherwise use, in
# paired runs (A B C A B C ...) on one machine so all see the same load; medians of per-pair ratios.
#
# 1. The probe's own cost: CPU time (user+sys) of `dbg probe URL --requests N --rate 200/s` per 1,000
#    requests, against vegeta's CLI (`vegeta attack` at the same rate and count) and curl in a shell loop
#    (N sequential `curl -s -o /dev/null`).
# 2. `dbg chaos proxy`'s added latency: p50/p99 through a clean proxy (HTTP mode, no faults) minus p50/p99
#    direct, measured by dbg probe, by vegeta and by curl (-w %{time_total}) alike.
#
# The target is internal/probebench, a loopback Go server that answers "ok" at once.
#   scripts/bench-probe.sh [PAIRS] [N]     defaults: 3 pairs, 1000 requests
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-3}
n=${2:-1000}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
command -v curl >/dev/null || apt-get install -y -qq curl >/dev/null
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/dbg" .
go build -o "$work/target" ./internal/probebench
vegeta=""
if GOBIN="$work" GOFLAGS= go install github.com/tsenart/vegeta/v12@v12.13.0 2>"$work/vegeta-build.log"; then
	vegeta="$work/vegeta"
else
	echo "bench-probe: vegeta's CLI could not be built (see below); its columns are left out" >&2
	tail -3 "$work/vegeta-build.log" >&2
fi

"$work/target" >"$work/target.addr" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/target.addr" ] && break; sleep 0.1; done
addr=$(head -1 "$work/target.addr")
"$work/dbg" chaos proxy --upstream "http://$addr" --duration 1h 2>"$work/proxy.log" >/dev/null &
pids+=($!)
for _ in $(seq 50); do grep -q "admin" "$work/proxy.log" 2>/dev/null && break; sleep 0.1; done
paddr=$(sed -n 's/^dbg chaos proxy: http \([0-9.:]*\) .*/\1/p' "$work/proxy.log")
[ -n "$paddr" ] || { echo "bench-probe: the proxy did not start: $(cat "$work/proxy.log")" >&2; exit 1; }
direct="http://$addr/"
proxied="http://$paddr/"
secs=$(python3 -c "print(max(1, round($n / 200)))")

cpu() { # cpu NAME CMD...: append "NAME user+sys" to $work/cpu
	local name=$1
	shift
	/usr/bin/time -f "%U %S" -o "$work/t" "$@" >/dev/null 2>&1
	echo "$name $(awk '{print $1 + $2}' "$work/t")" >>"$work/cpu"
}
curl_loop() { # curl_loop URL COUNT: one curl per request, as a shell loop does
	for _ in $(seq "$2"); do curl -s -o /dev/null "$1"; done
}
curl_times() { # curl_times URL COUNT: each request's total time in seconds, one a line
	for _ in $(seq "$2"); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done
}
export -f curl_loop curl_times

echo "load before: $(uptime)"
echo "== 1. CPU per $n requests at 200/s ($pairs pairs)"
for _ in $(seq "$pairs"); do
	cpu dbg "$work/dbg" probe "$direct" --requests "$n" --rate 200/s -o json
	if [ -n "$vegeta" ]; then
		cpu vegeta bash -c "echo 'GET $direct' | '$vegeta' attack -rate 200/s -duration ${secs}s -output '$work/v.bin'"
	fi
	cpu curl bash -c "curl_loop '$direct' $n"
done

echo "== 2. proxy's added latency ($pairs pairs, $n requests at 100/s per run; curl: 200 sequential requests)"
for _ in $(seq "$pairs"); do
	for where in direct proxied; do
		url=$direct
		[ "$where" = proxied ] && url=$proxied
		"$work/dbg" probe "$url" --requests "$n" --rate 100/s -o json |
			jq -r --arg w "$where" '"dbg \($w) \(.latency.p50_ms) \(.latency.p99_ms)"' >>"$work/lat"
		if [ -n "$vegeta" ]; then
			echo "GET $url" | "$vegeta" attack -rate 100/s -duration "$((n / 100))s" | "$vegeta" report -type=json |
				jq -r --arg w "$where" '"vegeta \($w) \(.latencies["50th"] / 1e6) \(.latencies["99th"] / 1e6)"' >>"$work/lat"
		fi
		curl_times "$url" 200 | python3 -c "
import sys, statistics
v = sorted(float(l) * 1000 for l in sys.stdin if l.strip())
q = statistics.quantiles(v, n=100)
print('curl $where', q[49], q[98])" >>"$work/lat"
	done
done
echo "load after: $(uptime)"

python3 - "$work/cpu" "$work/lat" "$n" <<'PY'
import statistics, sys
from collections import defaultdict
cpu = defaultdict(list)
for line in open(sys.argv[1]):
    name, v = line.split()
    cpu[name].append(float(v))
n = int(sys.argv[3])
per = lambda v: v * 1000 / n
print(f"\nCPU (user+sys) per 1,000 requests, median of {len(cpu['dbg'])} runs:")
for name in ("dbg", "vegeta", "curl"):
    if cpu[name]:
        print(f"  {name:7s} {per(statistics.median(cpu[name])):7.3f} s")
for other in ("vegeta", "curl"):
    if cpu[other]:
        ratios = [d / o for d, o in zip(cpu["dbg"], cpu[other]) if o > 0]
        print(f"  dbg ÷ {other}: median of per-pair ratios {statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")
lat = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[2]):
    tool, where, p50, p99 = line.split()
    lat[tool][where].append((float(p50), float(p99)))
print("\nProxy's added latency (proxied − direct, ms), median over pairs:")
for tool in ("dbg", "vegeta", "curl"):
    if not lat[tool]["direct"]:
        continue
    d, p = lat[tool]["direct"], lat[tool]["proxied"]
    a50 = statistics.median(x[0] - y[0] for x, y in zip(p, d))
    a99 = statistics.median(x[1] - y[1] for x, y in zip(p, d))
    md50, md99 = statistics.median(x[0] for x in d), statistics.median(x[1] for x in d)
    mp50, mp99 = statistics.median(x[0] for x in p), statistics.median(x[1] for x in p)
    print(f"  measured by {tool:6s}: direct p50 {md50:.3f} p99 {md99:.3f}; proxied p50 {mp50:.3f} p99 {mp99:.3f}; added p50 {a50:+.3f} p99 {a99:+.3f}")
PY
