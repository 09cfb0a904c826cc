#!/usr/bin/env bash
# Times `dbg db --file F -o json` (read the trace export, fingerprint every statement, rank by total time
# with p50/p99, N+1 marking) against Percona's pt-query-digest doing the same job (fingerprint, rank by
# total time, percentiles) over the same statements and durations written as a slow log, alternating runs
# in one go so both see the same machine load. Reports medians, peak RSS and the ratio.
#   scripts/bench-db.sh [SPANS] [RUNS]      defaults: 200000 spans (~50k statements), 3 runs each
set -euo pipefail
cd "$(dirname "$0")/.."
spans=${1:-200000}
runs=${2:-3}
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
command -v pt-query-digest >/dev/null || apt-get install -y -qq --no-install-recommends percona-toolkit >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dbg" .
go run ./internal/tracegen/cmd/gentrace -spans "$spans" -traces 20 -out "$work/trace.json"
# The same statements and durations as a MySQL slow log, pt-query-digest's input.
python3 - "$work/trace.json" "$work/slow.log" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n = 0
with open(sys.argv[2], "w") as out:
    for t in doc["data"]:
        for s in t["spans"]:
            st = next((g["value"] for g in s.get("tags", []) if g["key"] in ("db.statement", "db.query.text")), None)
            if st is None:
                continue
            n += 1
            out.write("# Time: 2026-11-03T03:12:00.000000Z\n# User@Host: app[app] @ localhost []\n")
            out.write("# Query_time: %.6f  Lock_time: 0.000000 Rows_sent: 1  Rows_examined: 1\n" % (s["duration"] / 1e6))
            out.write(st.replace("\n", " ") + ";\n")
print("statements:", n)
PY
size=$(stat -c %s "$work/trace.json")
echo "trace file: $spans spans in 20 traces, $((size / 1048576)) MiB (Jaeger JSON)"
measure() { # name, command... → appends "seconds kb" to $work/name.times
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null 2>&1
  cat "$work/t" >>"$work/$name.times"
}
for i in $(seq "$runs"); do
  measure dbg "$work/dbg" db --file "$work/trace.json" -o json
  measure pt pt-query-digest --type slowlog --limit 20 "$work/slow.log"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dbg_s=$(cut -d' ' -f1 "$work/dbg.times" | median); pt_s=$(cut -d' ' -f1 "$work/pt.times" | median)
dbg_kb=$(cut -d' ' -f2 "$work/dbg.times" | sort -n | tail -1); pt_kb=$(cut -d' ' -f2 "$work/pt.times" | sort -n | tail -1)
echo "dbg db (read JSON + fingerprint + rank): median ${dbg_s}s, peak RSS $((dbg_kb / 1024)) MiB"
echo "pt-query-digest (slow log, same statements): median ${pt_s}s, peak RSS $((pt_kb / 1024)) MiB"
awk -v d="$dbg_s" -v p="$pt_s" 'BEGIN { printf "time ratio dbg/pt-query-digest: %.2f (goal < 1)\n", d / p }'
echo "Go benchmarks (fingerprinting, ranking 100k spans):"
go test ./investigate -run '^$' -bench 'NormalizeStatement|AnalyzeQueries' -benchtime 1s -count 1 | grep -E '^Benchmark'
