#!/usr/bin/env bash
# Times `dbg checklist --from BUNDLE --trace-limit 2000 -o json` on a generated bundle of 2,000 traces,
# ~220 metric series and ~106,000 log lines (the issue's size), RUNS times, and prints the median wall
# time and CPU time. Goal: under 2 seconds on the 2-core machine.
#   scripts/bench-checklist.sh [RUNS]    default 5
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dbg" .
go run ./internal/incidentgen/cmd/genincident -scenario slow-dependency -traces 1000 -logs 47000 -endpoints 38 -out "$work/bundle"
echo "bundle: $(du -sh "$work/bundle" | cut -f1), $(wc -l <"$work/bundle/logs.jsonl") log lines, 2000 traces"
for i in $(seq "$runs"); do
  /usr/bin/time -f "%e %U %S %M" -a -o "$work/times" "$work/dbg" checklist --from "$work/bundle" --trace-limit 2000 -o json >"$work/report.json"
done
python3 - "$work/times" "$work/report.json" <<'PY'
import json, statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
wall = statistics.median(r[0] for r in rows)
cpu = statistics.median(r[1] + r[2] for r in rows)
rss = max(r[3] for r in rows) / 1024
rep = json.load(open(sys.argv[2]))
top = next((f for f in rep["findings"] if f["tier"] == "root_cause"), None)
print(f"dbg checklist: median wall {wall:.2f}s, median CPU {cpu:.2f}s, peak RSS {rss:.0f} MiB over {len(rows)} runs (goal: wall < 2s)")
print("root cause found:", top["kind"], top["service"], top["operation"] if top else None)
PY
