#!/usr/bin/env bash
# Peak memory (max RSS, /usr/bin/time -v) of dbg against hostile files and loopback servers: the
# figures in docs/security.md. Usage: scripts/hostile-memory.sh [DBG_BINARY] [WORKDIR]
# Builds internal/hostile/hostileserver, writes the bombs into WORKDIR (streaming; ~2 GB of disk for
# the one-byte file), serves the faults on 127.0.0.1 only, and prints one line per case:
#   case  exit  max_rss_MiB  seconds  first stderr line
set -u
DBG=${1:-./dbg}
WORK=${2:-/tmp/dbg-hostile}
mkdir -p "$WORK"
HS="$WORK/hostileserver"
go build -o "$HS" ./internal/hostile/hostileserver || exit 1
GiB=$((1<<30))
[ -f "$WORK/bomb.pb.gz" ] || "$HS" -gen gzip -size $((2*GiB)) -out "$WORK/bomb.pb.gz"
[ -f "$WORK/nesting.json" ] || "$HS" -gen nesting -size $((50<<20)) -out "$WORK/nesting.json"
[ -f "$WORK/bomb.tar.gz" ] || "$HS" -gen tar -size $((2*GiB)) -out "$WORK/bomb.tar.gz"
[ -f "$WORK/onebyte.json" ] || "$HS" -gen bytes -size $((2*GiB)) -out "$WORK/onebyte.json"

measure() { # name, then the dbg arguments
  local name=$1; shift
  local t="$WORK/time.txt" e="$WORK/stderr.txt"
  /usr/bin/time -v -o "$t" "$DBG" "$@" >/dev/null 2>"$e"
  local code=$?
  local rss secs
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2/1024}' "$t")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$t")
  code=$(awk -F': ' '/Exit status/ {print $2}' "$t")
  printf '%-22s exit=%s max_rss=%sMiB wall=%s  %s\n' "$name" "$code" "$rss" "$secs" "$(head -c 300 "$e" | head -1)"
}

serve() { # fault port
  "$HS" -fault "$1" -addr "127.0.0.1:$2" -size $((2*GiB)) &
  PIDS="${PIDS:-} $!"
}
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
P1=$(free_port); P2=$(free_port)
serve gzipfile "$P1"
serve oversized "$P2"
sleep 1

measure profile-file-gzip   profile heap --file "$WORK/bomb.pb.gz" --timeout 60s
measure pprof-gzip-body     profile heap --target http://127.0.0.1:$P1 --timeout 60s
measure otlp-nesting-50MB   trace --file "$WORK/nesting.json" --timeout 60s
measure bundle-tar-bomb     checklist --from "$WORK/bomb.tar.gz" --timeout 60s
measure trace-2GB-one-byte  trace --file "$WORK/onebyte.json" --timeout 60s
measure logs-2GB-one-byte   logs --file "$WORK/onebyte.json" --timeout 60s
measure jaeger-8-ids        trace 01 02 03 04 05 06 07 08 --jaeger-url http://127.0.0.1:$P2 --timeout 60s
measure checklist-4-sources checklist --service x --jaeger-url http://127.0.0.1:$P2 --prometheus-url http://127.0.0.1:$P2 \
  --victorialogs-url http://127.0.0.1:$P2 --target http://127.0.0.1:$P2 --timeout 60s
