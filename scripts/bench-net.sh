#!/usr/bin/env bash
# Times `dbg net --file F -o json` against the two things a network engineer runs on the same capture:
# `tcpdump -r F -nn | wc -l` (decode every packet) and `tshark -r F -q -z conv,tcp` (the conversation
# table). Paired runs A B C A B C in one go (all see the same machine load); reports the median of the
# per-pair ratios dbg/tcpdump and dbg/tshark, dbg's peak RSS (a capture is streamed, not loaded), checks
# dbg and tshark count the same TCP conversations, and prints the load average next to the figures.
#   scripts/bench-net.sh [ROUNDS] [PAIRS]   defaults: 40000 rounds of internal/pcapgen's incident (~1 GB), 3 pairs
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-40000}
pairs=${2:-3}
for t in tcpdump tshark; do
	command -v "$t" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$t" >/dev/null
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dbg" .
go run ./internal/pcapgen/cmd/pcapgen -rounds "$rounds" -o "$work/big.pcap"
size=$(stat -c %s "$work/big.pcap")
pkts=$("$work/dbg" net --file "$work/big.pcap" -o json --timeout 1h | sed -n 's/^  "packets": \([0-9]*\),/\1/p')
echo "capture: $((size / 1048576)) MiB, $pkts packets ($rounds rounds); $pairs pairs; load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo "$(((e - s) / 1000000))"; }
: >"$work/d"; : >"$work/t"; : >"$work/s"; : >"$work/rt"; : >"$work/rs"
for _ in $(seq "$pairs"); do
	a=$(ms "$work/dbg" net --file "$work/big.pcap" -o json --timeout 1h)
	b=$(ms sh -c "tcpdump -r '$work/big.pcap' -nn 2>/dev/null | wc -l")
	c=$(ms tshark -r "$work/big.pcap" -q -z conv,tcp)
	echo "$a" >>"$work/d"; echo "$b" >>"$work/t"; echo "$c" >>"$work/s"
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/rt"
	awk -v a="$a" -v c="$c" 'BEGIN { printf "%.4f\n", a / c }' >>"$work/rs"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss=$( { /usr/bin/time -f '%M' "$work/dbg" net --file "$work/big.pcap" -o json --timeout 1h >/dev/null; } 2>&1 | tail -1)
flows=$("$work/dbg" net --file "$work/big.pcap" -o json --timeout 1h | sed -n 's/^  "flows": \([0-9]*\),/\1/p')
convs=$(tshark -r "$work/big.pcap" -q -z conv,tcp | grep -c '<->' || true)
printf 'dbg net          %6d ms (median)   peak RSS %d MiB\n' "$(median <"$work/d")" "$((rss / 1024))"
printf 'tcpdump | wc -l  %6d ms (median)   ratio dbg/tcpdump %s (median of %d pairs)\n' "$(median <"$work/t")" "$(median <"$work/rt")" "$pairs"
printf 'tshark conv,tcp  %6d ms (median)   ratio dbg/tshark  %s (median of %d pairs)\n' "$(median <"$work/s")" "$(median <"$work/rs")" "$pairs"
echo "TCP conversations: dbg $flows, tshark $convs"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
