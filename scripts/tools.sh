#!/usr/bin/env bash
# Builds the pinned servers (tools/jaeger, tools/victorialogs) into the cache
# that internal/testserver uses ($DBG_TOOLS_CACHE, default ~/.cache/dbg-tools),
# so their build time shows apart from the tests. A no-op when cached.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
for d in tools/*/; do
	echo "tools.sh: go mod download in $d"
	(cd "$d" && GOWORK=off go mod download)
done
echo "tools.sh: modules downloaded in $(( $(date +%s) - start ))s"

start=$(date +%s)
go test -count=1 -run '^TestBuildTools$' -v -timeout 45m ./internal/testserver
echo "tools.sh: tools ready in $(( $(date +%s) - start ))s"
