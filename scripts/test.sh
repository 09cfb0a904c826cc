#!/usr/bin/env bash
# The full test tier: installs what the tests need, builds the pinned servers,
# then vet, gofmt, every test against real servers (no -short), and a short
# run of every fuzz target. Works on a fresh Debian machine with only Go.
# Exits non-zero on any failure. Unit tier only: go test -short ./...
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
export DBG_TOOLS_CACHE="${DBG_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/dbg-tools}"

t0=$(date +%s)
phase_start=$t0
phase() { # phase NAME: print the time the previous phase took, start NAME
	local now
	now=$(date +%s)
	echo "test.sh: [$((now - phase_start))s, total $((now - t0))s]"
	phase_start=$now
	echo "test.sh: === $1"
}

# --- system packages -------------------------------------------------------
# prometheus + promtool (Prometheus tests), postgresql (initdb/postgres),
# chromium + a font (HTML report rendering), tcpdump + nftables + iproute2
# (dbg net: real captures in network namespaces), tshark (its cross-check and bench-net.sh).
phase "system packages"
pkgs=(prometheus postgresql chromium fonts-liberation tcpdump nftables iproute2 tshark)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "test.sh: installing ${missing[*]}"
	SUDO=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "test.sh: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
		SUDO=(sudo -n)
	fi
	# Package scripts must not start services (prometheus has a unit and an
	# init script): policy-rc.d exit 101 forbids it while we install.
	made_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	apt_get() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
	# apt-get update only when the lists are empty or the install fails.
	if ! compgen -G '/var/lib/apt/lists/*Packages*' >/dev/null; then
		apt_get update -q
	fi
	if ! apt_get install -y -q --no-install-recommends "${missing[@]}"; then
		apt_get update -q
		apt_get install -y -q --no-install-recommends "${missing[@]}"
	fi
	if [ -n "$made_policy" ]; then "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d; fi
fi
prometheus --version 2>&1 | head -1
promtool --version 2>&1 | head -1
ls -d /usr/lib/postgresql/*/bin
command -v chromium

# --- Go modules and the pinned servers ---------------------------------------
phase "go mod download"
go version
go mod download
phase "build pinned servers (scripts/tools.sh)"
bash scripts/tools.sh

# --- static checks ------------------------------------------------------------
phase "go vet"
go vet ./...
phase "gofmt"
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path '*/_*' -print0 | xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
	echo "test.sh: not gofmt-ed:" >&2
	echo "$unformatted" >&2
	exit 1
fi

# --- tests against real servers ----------------------------------------------
phase "go test (full tier, real servers)"
go test -count=1 -timeout 60m ./...

# --- fuzz: every func FuzzXxx for a few seconds --------------------------------
phase "fuzz"
fuzzed=0
while IFS=: read -r file name; do
	dir=$(dirname "$file")
	echo "test.sh: fuzz $name in ./$dir"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime=5s "./$dir" </dev/null
	fuzzed=$((fuzzed + 1))
done < <(grep -rEo --include='*_test.go' --exclude-dir=testdata --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E 's#^\./##; s#:func (Fuzz[A-Za-z0-9_]*)\($#:\1#' | sort)
echo "test.sh: $fuzzed fuzz targets run"

phase "done"
echo "test.sh: all passed in $(( $(date +%s) - t0 ))s"
