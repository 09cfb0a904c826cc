#!/bin/sh
# Records `go tool pprof -top` for every profile of the corpus into pprof-top.golden, once, so the corpus
# test compares dbg's top table with pprof's own figures (an independent expectation: pprof computes
# them, not dbg). Run from this directory after adding a profile:
#   sh record-pprof-top.sh > pprof-top.golden
# -unit=ns prints times in nanoseconds and leaves bytes and counts as raw numbers; -nodefraction=0 keeps
# every node; -symbolize=none keeps pprof from looking for binaries.
set -eu
for f in pprof/* parca/*.pb.gz go/*; do
	echo "== $f"
	go tool pprof -top -nodecount=15 -nodefraction=0 -edgefraction=0 -symbolize=none -unit=ns "$f" 2>/dev/null |
		grep -v '^\(File\|Build ID\|Time\|Duration\|Showing top\|Dropped\):\? ' || true
done
# --focus: shares stay of the whole profile, as pprof computes them (the total before focusing).
echo "== go/compile-default.pgo -focus=ssa"
go tool pprof -top -nodecount=15 -nodefraction=0 -edgefraction=0 -symbolize=none -unit=ns -focus=ssa go/compile-default.pgo 2>/dev/null |
	grep -v '^\(File\|Build ID\|Time\|Duration\|Showing top\|Dropped\|Active filters\|   focus\):\? ' || true
