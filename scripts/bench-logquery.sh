#!/usr/bin/env bash
# Times `dbg logs 'QUERY' --file F -o jsonl` against jq with the equivalent select() over the same
# JSON lines: the tool an on-call engineer reaches for when a log file has to be filtered by fields.
# Paired runs A B A B in one go (both see the same machine load); for each query it reports the
# median of the per-pair time ratios dbg/jq, checks both print the same number of lines, and prints
# the load average next to the figures.
#   scripts/bench-logquery.sh [LINES] [PAIRS]      defaults: 1000000 lines, 5 pairs
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
pairs=${2:-5}
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dbg" .
# JSON lines as structured loggers write them: 5 services, 4 levels, durations, paths, IDs, errors.
awk -v n="$lines" 'BEGIN {
  split("payment checkout frontend shipping inventory", svc, " ")
  split("info info info warn error ERROR", lvl, " ")
  split("/api/orders /api/orders/7 /api/users /health /api/cart", path, " ")
  split("DatabaseError TimeoutError ValidationError", et, " ")
  srand(1)
  for (i = 0; i < n; i++) {
    s = svc[i % 5 + 1]; l = lvl[int(rand() * 6) + 1]; p = path[int(rand() * 5) + 1]
    d = int(rand() * 2000); c = "abc-" int(rand() * 500)
    e = (l == "error" || l == "ERROR") ? sprintf(",\"error_type\":\"%s\"", et[int(rand() * 3) + 1]) : ""
    printf "{\"time\":\"2026-11-25T10:%02d:%02d.%06dZ\",\"service\":\"%s\",\"level\":\"%s\",\"msg\":\"handled %s in %dms\",\"path\":\"%s\",\"duration_ms\":%d,\"correlation_id\":\"%s\",\"trace_id\":\"%032x\"%s}\n",
      int(i / 60000) % 60, int(i / 1000) % 60, (i % 1000) * 1000, s, l, p, d, p, d, c, i, e
  }
}' >"$work/app.log"
size=$(stat -c %s "$work/app.log")
echo "file: $lines JSON lines, $((size / 1048576)) MiB; $pairs pairs per query; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The method's three example queries, and what a jq user writes for each.
queries=(
  'correlation_id:"abc-123" AND level:error'
  'duration_ms:>1000 AND path:"/api/orders"'
  'error_type:"DatabaseError" AND service:"payment"'
)
filters=(
  'select(.correlation_id == "abc-123" and (.level | ascii_downcase) == "error")'
  'select(.duration_ms > 1000 and .path == "/api/orders")'
  'select(.error_type == "DatabaseError" and .service == "payment")'
)
secs() { local s e; s=$(date +%s%N); "$@" >"$work/out" 2>/dev/null; e=$(date +%s%N); echo "$(((e - s) / 1000000))"; }
for qi in "${!queries[@]}"; do
  q=${queries[$qi]}; f=${filters[$qi]}
  n_dbg=$("$work/dbg" logs "$q" --file "$work/app.log" --limit 0 -o jsonl | wc -l)
  n_jq=$(jq -c "$f" "$work/app.log" | wc -l)
  : >"$work/ratios"; : >"$work/dbg.ms"; : >"$work/jq.ms"
  for _ in $(seq "$pairs"); do
    a=$(secs "$work/dbg" logs "$q" --file "$work/app.log" --limit 0 -o jsonl)
    b=$(secs jq -c "$f" "$work/app.log")
    echo "$a" >>"$work/dbg.ms"; echo "$b" >>"$work/jq.ms"
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/ratios"
  done
  median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  printf '%-50s dbg %5d ms  jq %5d ms  ratio dbg/jq %s (median of %d pairs)  lines dbg %d jq %d\n' \
    "$q" "$(median <"$work/dbg.ms")" "$(median <"$work/jq.ms")" "$(median <"$work/ratios")" "$pairs" "$n_dbg" "$n_jq"
  [ "$n_dbg" = "$n_jq" ] || { echo "dbg and jq disagree on the number of matching lines" >&2; exit 1; }
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
