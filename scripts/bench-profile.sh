#!/usr/bin/env bash
# Times `dbg profile cpu --file F` (parse + top table) against `go tool pprof -top F` on the same large
# generated profile (testdata/profgen: tens of MB gzipped), alternating runs in one go so both see the
# same machine load, and prints medians, peak RSS and the ratio.
#   scripts/bench-profile.sh [SAMPLES] [RUNS]      defaults: 1000000 distinct stacks, 3 runs each
set -euo pipefail
cd "$(dirname "$0")/.."
samples=${1:-1000000}
runs=${2:-3}
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dbg" .
go build -o "$work/profgen" ./testdata/profgen
# go tool pprof as its own binary, so `go` itself is not timed.
go build -o "$work/pprof" cmd/pprof
"$work/profgen" -o "$work/large.pb.gz" -samples "$samples" -functions 20000
size=$(stat -c %s "$work/large.pb.gz")
echo "file: $samples stacks, 20000 functions, $((size / 1048576)) MiB gzipped (CPU profile)"
measure() { # name, command... → appends "seconds kb" to $work/name.times
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null 2>&1
  cat "$work/t" >>"$work/$name.times"
}
for i in $(seq "$runs"); do
  measure dbg "$work/dbg" profile cpu --file "$work/large.pb.gz" --top 20
  measure pprof "$work/pprof" -top "$work/large.pb.gz"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dbg_s=$(cut -d' ' -f1 "$work/dbg.times" | median); pp_s=$(cut -d' ' -f1 "$work/pprof.times" | median)
dbg_kb=$(cut -d' ' -f2 "$work/dbg.times" | sort -n | tail -1); pp_kb=$(cut -d' ' -f2 "$work/pprof.times" | sort -n | tail -1)
echo "dbg profile cpu --file (top table): median ${dbg_s}s, peak RSS $((dbg_kb / 1024)) MiB"
echo "go tool pprof -top:                 median ${pp_s}s, peak RSS $((pp_kb / 1024)) MiB"
awk -v d="$dbg_s" -v p="$pp_s" 'BEGIN { printf "time ratio dbg/pprof: %.2f (goal <= 0.5)\n", d / p }'
