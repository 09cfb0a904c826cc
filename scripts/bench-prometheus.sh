#!/usr/bin/env bash
# bench-prometheus.sh — time `dbg hotspots` against a real Prometheus and, in the same run, the very same
# API requests sent by curl (same concurrency), and print the ratio. The history is the planted scenario
# of internal/promgen plus EXTRA steady services (default 40: ~560k samples, 1.2k series per metric).
#
#   scripts/bench-prometheus.sh [RUNS] [EXTRA]
#   scripts/bench-prometheus.sh discovery [BASE_REF] [RUNS] [EXTRA]
#
# The discovery mode measures what finding the metric conventions costs on a big server: a history of
# ~100k series (EXTRA steady services, default 1042, a 10-minute step so the file stays small), dbg built
# at BASE_REF (default e1bc1ce, the last commit with the four-name discovery) against this checkout's
# dbg, in paired runs A B A B: the discovery requests each sends (count, bytes, time when replayed with
# curl one after another) and the whole `dbg hotspots` run; medians and the median of per-pair ratios.
#
# Needs: go, curl, python3, git, prometheus and promtool (Debian package prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=hotspots
if [ "${1:-}" = discovery ]; then
	MODE=discovery
	shift
	BASE_REF=${1:-e1bc1ce}
	RUNS=${2:-5}
	EXTRA=${3:-1042}
	STEP=600
else
	RUNS=${1:-10}
	EXTRA=${2:-40}
	STEP=
fi
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
# shellcheck disable=SC2086 # STEP is empty or one number
go run ./internal/promgen/cmd/promgen prometheus-http "$END" "$EXTRA" $STEP >"$work/history.om"
promtool tsdb create-blocks-from openmetrics --quiet "$work/history.om" "$work/data" >/dev/null
printf 'global:\n  scrape_interval: 1m\nscrape_configs: []\n' >"$work/prometheus.yml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
pid=$!
for _ in $(seq 300); do curl -fs "$url/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$url/-/ready" >/dev/null || { echo "bench-prometheus: Prometheus did not start" >&2; cat "$work/prometheus.log" >&2; exit 1; }

dbg=("$work/dbg" hotspots --prometheus-url "$url" --until 2026-01-01T12:00:00Z --since 30m --no-color --timeout 300s)

# curlcfg REPORT [discovery]: the requests dbg sent (its --explain JSON) as a curl config: POST form
# bodies like client_golang sends them, GET for label values and metadata. With "discovery", only the
# calls that find the metrics (labels, label values, series, metadata), not the hotspot queries.
curlcfg() {
	python3 - "$1" "$url" "${2:-all}" <<'EOF'
import json, sys
rep, url, which = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
paths = {"query": "/api/v1/query", "query_range": "/api/v1/query_range", "labels": "/api/v1/labels",
         "series": "/api/v1/series", "metadata": "/api/v1/metadata"}
out = []
for q in rep["queries"]:
    if which == "discovery" and q["api"] in ("query", "query_range"):
        continue
    path = paths.get(q["api"]) or "/api/v1/label/%s/values" % q["label"]
    out.append('url = "%s%s"' % (url, path))
    out.append('output = "/dev/null"')
    out.append('write-out = "%{size_download}\\n"')
    if q["api"] in ("label_values", "metadata"):
        out.append('get')  # client_golang sends these as GET
    for k, v in (q.get("params") or {}).items():
        out.append('data-urlencode = %s' % json.dumps(k + "=" + v))
    for m in q.get("match") or []:
        out.append('data-urlencode = %s' % json.dumps("match[]=" + m))
    out.append('next')
print("\n".join(out[:-1]))
EOF
}
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
nfindings() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$1"; }

if [ "$MODE" = discovery ]; then
	mkdir -p "$work/base"
	git archive "$BASE_REF" | tar -x -C "$work/base"
	(cd "$work/base" && go build -o "$work/dbg-base" .)
	series=$(curl -fsS "$url/api/v1/query" --data-urlencode 'query=count({__name__=~".+"})' --data-urlencode "time=$END" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
	echo "prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'), $series series, $(wc -l <"$work/history.om") samples; load average: $(uptime | sed 's/.*load average: //')"
	for scope in "" svc-500; do # every service, and one (what the checklist asks)
		flags=()
		[ -n "$scope" ] && flags=(--service "$scope")
		if [ -n "$scope" ]; then echo "-- --service $scope"; else echo "-- every service"; fi
		base=("$work/dbg-base" "${dbg[@]:1}")
		"${base[@]}" "${flags[@]}" --explain -o json >"$work/base.json"
		"${dbg[@]}" "${flags[@]}" --explain -o json >"$work/new.json"
		curlcfg "$work/base.json" discovery >"$work/base.cfg"
		curlcfg "$work/new.json" discovery >"$work/new.cfg"
		for f in disc.ratio run.ratio base.ms new.ms based.ms newd.ms; do : >"$work/$f"; done
		"${base[@]}" "${flags[@]}" >/dev/null; "${dbg[@]}" "${flags[@]}" >/dev/null # warm the page cache for both
		for _ in $(seq "$RUNS"); do
			t0=$(now); curl -sSf --no-progress-meter -K "$work/base.cfg" >"$work/base.bytes"; t1=$(now)
			curl -sSf --no-progress-meter -K "$work/new.cfg" >"$work/new.bytes"; t2=$(now)
			"${base[@]}" "${flags[@]}" >/dev/null; t3=$(now)
			"${dbg[@]}" "${flags[@]}" >/dev/null; t4=$(now)
			echo $(((t1 - t0) / 1000000)) >>"$work/based.ms"; echo $(((t2 - t1) / 1000000)) >>"$work/newd.ms"
			echo $(((t3 - t2) / 1000000)) >>"$work/base.ms"; echo $(((t4 - t3) / 1000000)) >>"$work/new.ms"
			awk -v a="$((t1 - t0))" -v b="$((t2 - t1))" 'BEGIN {printf "%.3f\n", b / a}' >>"$work/disc.ratio"
			awk -v a="$((t3 - t2))" -v b="$((t4 - t3))" 'BEGIN {printf "%.3f\n", b / a}' >>"$work/run.ratio"
		done
		calls() { python3 -c 'import json,sys; q=json.load(open(sys.argv[1]))["queries"]; print(sum(1 for x in q if x["api"] not in ("query","query_range")), sum(1 for x in q if x["api"] in ("query","query_range")))' "$1"; }
		bytes() { awk '{s+=$1} END {print s+0}' "$1"; }
		read -r bd bq < <(calls "$work/base.json")
		read -r nd nq < <(calls "$work/new.json")
		echo "base $BASE_REF: $bd discovery calls ($(bytes "$work/base.bytes") bytes), $bq queries, $(nfindings "$work/base.json") findings"
		echo "this checkout: $nd discovery calls ($(bytes "$work/new.bytes") bytes), $nq queries, $(nfindings "$work/new.json") findings"
		echo "discovery calls replayed with curl, one after another: base median $(median <"$work/based.ms") ms, this $(median <"$work/newd.ms") ms, per-pair ratio median $(median <"$work/disc.ratio")x"
		echo "whole dbg hotspots run: base median $(median <"$work/base.ms") ms, this $(median <"$work/new.ms") ms, per-pair ratio median $(median <"$work/run.ratio")x (runs: $RUNS)"
	done
	exit 0
fi

"${dbg[@]}" --explain -o json >"$work/report.json"
curlcfg "$work/report.json" >"$work/curl.cfg"
nreq=$(grep -c '^url' "$work/curl.cfg")
findings=$(nfindings "$work/report.json")
: >"$work/dbg.ms"; : >"$work/curl.ms"
"${dbg[@]}" >/dev/null # warm the page cache for both
for _ in $(seq "$RUNS"); do # interleaved, so both see the same machine
	t0=$(now); "${dbg[@]}" >/dev/null; t1=$(now)
	curl -sSf --no-progress-meter --parallel --parallel-max "$CONC" -K "$work/curl.cfg" >/dev/null; t2=$(now)
	echo $(((t1 - t0) / 1000000)) >>"$work/dbg.ms"
	echo $(((t2 - t1) / 1000000)) >>"$work/curl.ms"
done
d=$(median <"$work/dbg.ms"); c=$(median <"$work/curl.ms")
ratio=$(awk -v d="$d" -v c="$c" 'BEGIN {printf "%.2f", d / c}')
echo "prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'), history: $((EXTRA + 2)) services, $(wc -l <"$work/history.om") samples; load average: $(uptime | sed 's/.*load average: //')"
echo "requests per run: $nreq (concurrency $CONC), findings: $findings, runs: $RUNS"
echo "dbg hotspots median: ${d} ms"
echo "curl same requests median: ${c} ms"
echo "ratio dbg/curl: ${ratio}x (target <= 1.5x)"
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.5)}' || { echo "bench-prometheus: over 1.5x" >&2; exit 3; }
