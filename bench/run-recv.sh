#!/usr/bin/env bash
# Benchmark 1: the receive path against its floor (bench/recv_bench).
#
#   bench/run-recv.sh [BUILD_DIR]      (default build-bench, a release build)
#
# Writes, in bench/data/ (OUTDIR):
#   recv.dat            the recorded-style stream (READY + 100k dispatches):
#                       MB/s per CPU-second and floor/libdgw ratios, median
#                       of RUNS interleaved runs (CPU and wall time);
#   recv-callgrind.dat  the same stream (20k dispatches), instructions of
#                       each side counted by valgrind --tool=callgrind
#                       (stable under load), and their ratio;
#   recv-size.dat       ns per JSON byte against message size (64 B - 1 MiB);
#   recv-compress.dat   ns per JSON byte against compressibility (16 KiB);
# and plots bench/recv-size.svg, bench/recv-compress.svg (gnuplot).
# Knobs: RUNS (5), DISPATCHES (100000), CG_DISPATCHES (20000; CALLGRIND=0
# skips it), SWEEP=0 skips the sweeps, SWEEP_MB (8: MB of JSON per point),
# PLOT_ONLY=1 redraws from the data, OUTDIR / SVGDIR (where to write).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-bench}
RUNS=${RUNS:-5}
DISPATCHES=${DISPATCHES:-100000}
CG_DISPATCHES=${CG_DISPATCHES:-20000}
SWEEP_MB=${SWEEP_MB:-8}
OUTDIR=${OUTDIR:-$here/data}
SVGDIR=${SVGDIR:-$here}
rb=$build/bench/recv_bench
mkdir -p "$OUTDIR"
stamp() { echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg)"; }

if [ "${PLOT_ONLY:-0}" != 1 ]; then
    [ -x "$rb" ] || { echo "run-recv: $rb missing: meson setup $build --buildtype=release && ninja -C $build" >&2; exit 2; }
    {
        echo "# benchmark 1: $rb --dispatches $DISPATCHES --runs $RUNS, $(stamp)"
        "$rb" --dispatches "$DISPATCHES" --runs "$RUNS"
    } | tee "$OUTDIR/recv.dat"

    if [ "${CALLGRIND:-1}" = 1 ] && command -v valgrind >/dev/null; then
        {
            echo "# benchmark 1, instructions: valgrind --tool=callgrind --toggle-collect='run_SIDE*' $rb --dispatches $CG_DISPATCHES --mode MODE --side SIDE, $(stamp)"
            printf '%-12s %16s %16s %10s\n' mode floor_Ir dgw_Ir ratio_Ir
            for mode in none zlib-stream zstd-stream; do
                ir() {
                    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                        "--toggle-collect=run_$1*" "$rb" --dispatches "$CG_DISPATCHES" \
                        --mode "$mode" --side "$1" 2>&1 |
                        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
                }
                f=$(ir floor)
                d=$(ir dgw)
                [ -n "$f" ] && [ -n "$d" ] || continue
                awk -v m="$mode" -v f="$f" -v d="$d" \
                    'BEGIN { printf "%-12s %16s %16s %10.3f\n", m, f, d, f / d }'
            done
        } | tee "$OUTDIR/recv-callgrind.dat"
    fi

    if [ "${SWEEP:-1}" = 1 ]; then
        for what in size compress; do
            { echo "# $(stamp)"; "$rb" --sweep $what --sweep-mb "$SWEEP_MB" --runs "$RUNS"; } |
                tee "$OUTDIR/recv-$what.dat"
        done
    fi
fi

if command -v gnuplot >/dev/null && [ -s "$OUTDIR/recv-size.dat" ]; then
    size=$OUTDIR/recv-size.dat
    comp=$OUTDIR/recv-compress.dat
    gnuplot <<EOF || echo "$(basename "$0"): gnuplot could not draw the plots" >&2
set terminal svg size 960,480 dynamic noenhanced font "sans,11" background rgb "white"
set grid
set key top right
set style line 1 lc rgb "#1f77b4" lw 2 pt 7
set style line 2 lc rgb "#d62728" lw 2 pt 7
set style line 3 lc rgb "#2ca02c" lw 2 pt 7
set style line 4 lc rgb "#1f77b4" lw 2 dt 2 pt 6
set style line 5 lc rgb "#d62728" lw 2 dt 2 pt 6
set style line 6 lc rgb "#2ca02c" lw 2 dt 2 pt 6
set key below
set output "$SVGDIR/recv-size.svg"
set title "libdgw receive path vs its floor, by message size (bench/recv_bench --sweep size; CPU time)"
set logscale xy
set xlabel "message size (bytes of JSON)"
set ylabel "ns per byte of JSON"
set format x "%.0s%cB"
plot "< grep '^none ' $size" using 2:6 with linespoints ls 1 title "none: libdgw", \
     "< grep '^none ' $size" using 2:5 with linespoints ls 4 title "none: floor (frame walk + copy)", \
     "< grep '^zlib-stream ' $size" using 2:6 with linespoints ls 2 title "zlib-stream: libdgw", \
     "< grep '^zlib-stream ' $size" using 2:5 with linespoints ls 5 title "zlib-stream: floor (raw inflate)", \
     "< grep '^zstd-stream ' $size" using 2:6 with linespoints ls 3 title "zstd-stream: libdgw", \
     "< grep '^zstd-stream ' $size" using 2:5 with linespoints ls 6 title "zstd-stream: floor (ZSTD_decompressStream)"
set output "$SVGDIR/recv-compress.svg"
unset logscale
set logscale y
set format x "%.2f"
set xlabel "compressed / JSON bytes (left: chat-like words; right: random letters)"
set title "libdgw receive path vs its floor, by compressibility (16 KiB messages, recv_bench --sweep compress; CPU time; none does not depend on it: see recv-size.svg)"
plot "< grep '^zlib-stream ' $comp" using 4:6 with linespoints ls 2 title "zlib-stream: libdgw", \
     "< grep '^zlib-stream ' $comp" using 4:5 with linespoints ls 5 title "zlib-stream: floor (raw inflate)", \
     "< grep '^zstd-stream ' $comp" using 4:6 with linespoints ls 3 title "zstd-stream: libdgw", \
     "< grep '^zstd-stream ' $comp" using 4:5 with linespoints ls 6 title "zstd-stream: floor (ZSTD_decompressStream)"
EOF
    for f in "$SVGDIR/recv-size.svg" "$SVGDIR/recv-compress.svg"; do
        [ -s "$f" ] && echo "plot: $f"
    done
fi
