#!/usr/bin/env bash
# Benchmark 1: the receive path against bare inflate (bench/recv_bench).
#
#   bench/run-recv.sh [BUILD_DIR]      (default build-bench, a release build)
#
# Writes bench/data/recv.dat (recv_bench's table, with the date and load).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-bench}
ARGS=${ARGS:-"--dispatches 100000 --repeat 5"}
OUT=${OUT:-$here/data/recv.dat}
rb=$build/bench/recv_bench
[ -x "$rb" ] || { echo "run-recv: $rb missing: meson setup $build --buildtype=release && ninja -C $build" >&2; exit 2; }
mkdir -p "$(dirname "$OUT")"
{
    echo "# benchmark 1: bench/run-recv.sh ($rb $ARGS), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086
    "$rb" $ARGS
} >"$OUT"
cat "$OUT"
