#!/usr/bin/env bash
# Times `dbg logs --patterns --file F -o json` (parse every line, Drain template mining, ranking, JSON
# out) against the shell baseline `sed 's/[0-9]\+/N/g' F | sort | uniq -c` over the same lines, runs
# alternating in one go so both see the same machine load, and reports medians, peak RSS and the ratio.
# It then mines twice the lines to show dbg's memory is bounded by the templates, not the lines.
#   scripts/bench-logs.sh [LINES] [RUNS]      defaults: 1000000 lines, 3 runs each
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
runs=${2:-3}
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dbg" .
go run ./internal/loggen/cmd/loggen -n "$lines" >"$work/lines.txt"
go run ./internal/loggen/cmd/loggen -n "$((lines * 2))" -seed 2 >"$work/lines2.txt"
size=$(stat -c %s "$work/lines.txt")
echo "file: $lines generated log lines, $((size / 1048576)) MiB (12 templates with numbers, IDs, UUIDs, IPs)"
measure() { # name, command... → appends "seconds kb" to $work/name.times
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null
  cat "$work/t" >>"$work/$name.times"
}
export LC_ALL=C
for i in $(seq "$runs"); do
  measure dbg "$work/dbg" logs --patterns --file "$work/lines.txt" -o json
  measure shell sh -c "sed 's/[0-9]\+/N/g' '$work/lines.txt' | sort | uniq -c"
done
measure dbg2x "$work/dbg" logs --patterns --file "$work/lines2.txt" -o json
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dbg_s=$(cut -d' ' -f1 "$work/dbg.times" | median); sh_s=$(cut -d' ' -f1 "$work/shell.times" | median)
dbg_kb=$(cut -d' ' -f2 "$work/dbg.times" | sort -n | tail -1); sh_kb=$(cut -d' ' -f2 "$work/shell.times" | sort -n | tail -1)
dbg2_kb=$(cut -d' ' -f2 "$work/dbg2x.times")
templates=$("$work/dbg" logs --patterns --file "$work/lines.txt" -o jsonl | wc -l)
groups=$(sed 's/[0-9]\+/N/g' "$work/lines.txt" | sort | uniq -c | wc -l)
echo "dbg logs --patterns (parse+mine+rank+json): median ${dbg_s}s, peak RSS $((dbg_kb / 1024)) MiB, $templates templates"
echo "sed | sort | uniq -c (digits masked):        median ${sh_s}s, peak RSS (of the sh wrapper) $((sh_kb / 1024)) MiB, $groups groups"
echo "dbg on $((lines * 2)) lines: peak RSS $((dbg2_kb / 1024)) MiB"
awk -v d="$dbg_s" -v s="$sh_s" -v k1="$dbg_kb" -v k2="$dbg2_kb" 'BEGIN {
  printf "time ratio dbg/shell: %.2f (goal <= 3)\n", d / s
  printf "memory growth for 2x the lines: %.2fx (bounded by templates: goal ~1)\n", k2 / k1
}'
