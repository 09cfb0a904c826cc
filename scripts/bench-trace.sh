#!/usr/bin/env bash
# Times `dbg trace --file F -o json` (read + full analysis + JSON out) against
# `python3 -c 'import json; json.load(open(F))'` (only loading the same file), alternating runs in one
# go so both see the same machine load, and reports medians, peak RSS and the ratios.
#   scripts/bench-trace.sh [SPANS] [RUNS]      defaults: 200000 spans, 3 runs each
set -euo pipefail
cd "$(dirname "$0")/.."
spans=${1:-200000}
runs=${2:-3}
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dbg" .
go run ./internal/tracegen/cmd/gentrace -spans "$spans" -traces 2 -out "$work/trace.json"
size=$(stat -c %s "$work/trace.json")
echo "file: $spans spans in 2 traces, $((size / 1048576)) MiB (Jaeger JSON)"
measure() { # name, command... → appends "seconds kb" to $work/name
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null
  cat "$work/t" >>"$work/$name.times"
}
for i in $(seq "$runs"); do
  measure dbg "$work/dbg" trace --file "$work/trace.json" -o json
  measure python python3 -c "import json; json.load(open('$work/trace.json'))"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dbg_s=$(cut -d' ' -f1 "$work/dbg.times" | median); py_s=$(cut -d' ' -f1 "$work/python.times" | median)
dbg_kb=$(cut -d' ' -f2 "$work/dbg.times" | sort -n | tail -1); py_kb=$(cut -d' ' -f2 "$work/python.times" | sort -n | tail -1)
echo "dbg trace (read+analyse+json): median ${dbg_s}s, peak RSS $((dbg_kb / 1024)) MiB"
echo "python json.load (read only):  median ${py_s}s, peak RSS $((py_kb / 1024)) MiB"
awk -v d="$dbg_s" -v p="$py_s" -v dk="$dbg_kb" -v s="$size" 'BEGIN {
  printf "time ratio dbg/python: %.2f (goal < 1)\n", d / p
  printf "peak memory / file size: %.2fx (goal < 5x)\n", dk * 1024 / s
}'
