#!/usr/bin/env bash
# Benchmark 5 (second half) and benchmark 3: the client's time and peak
# memory for a READY of 10 KiB to 16 MiB (bench/mem_bench), per compression.
#
#   bench/run-ready.sh [BUILD_DIR]     (default build-bench, a release build)
#
# Writes bench/data/ready.dat (mem_bench's table) and plots bench/ready.svg.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-bench}
REPEAT=${REPEAT:-5}
SIZES=${SIZES:-"1024 10240 32768 102400 327680 1048576 2097152 4194304 8388608 16777216"}
OUT=${OUT:-$here/data/ready.dat}
SVG=${SVG:-$here/ready.svg}
mb=$build/bench/mem_bench
[ -x "$mb" ] || { echo "run-ready: $mb missing: meson setup $build --buildtype=release && ninja -C $build" >&2; exit 2; }
mkdir -p "$(dirname "$OUT")"
{
    echo "# benchmark 3/5: bench/run-ready.sh ($mb --repeat $REPEAT $SIZES; ready_ms is the best of $REPEAT), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086
    "$mb" --repeat "$REPEAT" $SIZES | sed '1s/^/# /'
} >"$OUT"
cat "$OUT"
if command -v gnuplot >/dev/null; then
    # A plot of too few points (the smoke test) may fail: not an error.
    gnuplot <<EOF || echo "$(basename "$0"): gnuplot could not draw $SVG" >&2
set terminal svg size 960,420 dynamic noenhanced font "sans,11" background rgb "white"
set output "$SVG"
set multiplot layout 1,2 title "libdgw: one READY of 10 KiB to 16 MiB (bench/mem_bench)"
set logscale xy
set xlabel "READY payload (KiB)"
set grid
set key top left
set ylabel "time to the READY event (ms)"
plot for [m in "none zlib-stream zstd-stream"] "< grep '^".m." ' $OUT" using (\$2/1024):6 with linespoints lw 2 pt 7 title m
set ylabel "peak memory of the connection (KiB)"
plot for [m in "none zlib-stream zstd-stream"] "< grep '^".m." ' $OUT" using (\$2/1024):5 with linespoints lw 2 pt 7 title m
unset multiplot
EOF
    if [ -s "$SVG" ]; then echo "plot: $SVG"; fi
fi
