#!/usr/bin/env bash
# Benchmarks 4 and 5: the mock gateway at scale, and its cost curve.
#
#   bench/run-scale.sh [BUILD_DIR]     (default build-bench, a release build)
#
# For each N in NS (default "1 10 100 1000 10000 19900") and each mode in
# COMPRESS (default "zlib-stream none"): a fresh mock gateway (default mode,
# --heartbeat-interval 5000, --message-rate 0: heartbeats only) and
# bench/loadgen opening N dgw connections at RATE/s (2000), holding them HOLD
# seconds (20) once all are READY. loadgen reads the server's /proc: RSS
# before the first connection and at the end of the hold, utime+stime during
# the ramp and during the hold. Writes bench/data/scale.dat and plots
# bench/scale.svg (gnuplot). The largest N is bounded by RLIMIT_NOFILE: the
# script raises the soft limit to the hard one (20000 on the VM of
# RESULTS.md, which root cannot raise in that container), for loadgen and
# the server alike. STRICT=1 (the smoke test) fails unless all N are held.
# PLOT_ONLY=1 redraws the SVG from an existing data file.
# Loopback only; every process is bounded by `timeout`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/mg-url.sh"
root=$(dirname "$here")
build=${1:-$root/build-bench}
NS=${NS:-"1 10 100 1000 10000 19900"}
COMPRESS=${COMPRESS:-"zlib-stream none"}
HOLD=${HOLD:-20}
RATE=${RATE:-2000}
HB=${HB:-5000}
OUT=${OUT:-$here/data/scale.dat}
SVG=${SVG:-$here/scale.svg}
mg=$build/mockgateway/mockgateway
lg=$build/bench/loadgen
for f in "$mg" "$lg"; do
    [ -x "$f" ] || { echo "run-scale: $f missing: meson setup $build --buildtype=release && ninja -C $build" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
mgpid=
cleanup() { [ -n "$mgpid" ] && kill "$mgpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
# SIGTERM, then SIGKILL after 5 s (an ASan build's exit-time leak check can
# hang in some containers).
stop_mg() {
    kill "$srvpid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$srvpid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$srvpid" 2>/dev/null || true
    wait "$mgpid" 2>/dev/null || true
    mgpid=
}
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

mkdir -p "$(dirname "$OUT")"
if [ "${PLOT_ONLY:-0}" != 1 ]; then
{
    echo "# benchmarks 4+5: bench/run-scale.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg) at start, RLIMIT_NOFILE $(ulimit -n)"
    echo "# mockgateway --heartbeat-interval $HB --message-rate 0; loadgen --rate $RATE --hold $HOLD"
    echo "# N compress held srv_rss_base_kb srv_rss_kb srv_kb_per_conn srv_setup_ms_per_conn srv_cpu_us_per_conn_s ack_ms_p50 ack_ms_p99 ack_us_p50 ack_us_p99 client_kb_per_conn"
} >"$OUT"

for comp in $COMPRESS; do
    for n in $NS; do
        : >"$tmp/mg.out"
        # Every loadgen connection IDENTIFYs at once: no buckets, no budget to spend.
        timeout $((HOLD + 200)) "$mg" --log-level error --heartbeat-interval "$HB" --message-rate 0 \
            --identify-window-ms 0 --session-start-total 4294967295 \
            >"$tmp/mg.out" 2>"$tmp/mg.err" &
        mgpid=$!
        url=$(mg_url "$tmp/mg.out")
        [ -n "$url" ] || { echo "run-scale: mock gateway did not start" >&2; exit 1; }
        sleep 0.3
        srvpid=$(pgrep -P "$mgpid" | head -n1) # the mock gateway, child of timeout
        line=$(timeout $((HOLD + 180)) "$lg" "$url" --conns "$n" --rate "$RATE" --hold "$HOLD" --compress "$comp" \
            --server-pid "$srvpid" --max-seconds $((HOLD + 150)) 2>"$tmp/lg.err") || true
        stop_mg
        echo "$line"
        [ -n "$line" ] || { echo "run-scale: loadgen failed:" >&2; tail -5 "$tmp/lg.err" >&2; exit 1; }
        grep -v ' t=' "$tmp/lg.err" | head -5 >&2 || true
        if [ "${STRICT:-0}" = 1 ] && [ "$(field held <<<"$line")" != "$n" ]; then
            echo "run-scale: only $(field held <<<"$line") of $n connections held" >&2
            exit 1
        fi
        awk -v n="$n" -v c="$comp" -v hold="$HOLD" -v l="$line" 'BEGIN {
            k = split(l, a, " "); for (i = 2; i <= k; i++) { split(a[i], kv, "="); f[kv[1]] = kv[2] }
            held = f["held"]; base = f["srv_rss_kb_base"]; rss = f["srv_rss_kb"]
            kb = 0; setup = 0; cpu = 0; ckb = 0
            if (held > 0) { kb = (rss - base) / held; setup = f["srv_cpu_ramp_s"] * 1000 / held; ckb = f["client_maxrss_kb"] / held }
            if (held > 0 && f["hold_s"] > 0) cpu = f["srv_cpu_hold_s"] * 1e6 / held / f["hold_s"]
            printf "%d %s %d %d %d %.2f %.3f %.2f %d %d %d %d %.2f\n", n, c, held, base, rss, kb, setup, cpu,
                f["ack_ms_p50"], f["ack_ms_p99"], f["ack_us_p50"], f["ack_us_p99"], ckb }' >>"$OUT"
    done
done
fi
echo "data: $OUT"
column -t "$OUT" | sed 's/^/  /'

if command -v gnuplot >/dev/null; then
    # A plot of too few points (the smoke test) may fail: not an error.
    gnuplot <<EOF || echo "$(basename "$0"): gnuplot could not draw $SVG" >&2
set terminal svg size 960,420 dynamic noenhanced font "sans,11" background rgb "white"
set output "$SVG"
set multiplot layout 1,2 title "mock gateway: cost per connection (loadgen, heartbeat ${HB} ms)"
set logscale x
set xlabel "connections held (N)"
set grid
set key top right
set ylabel "server RSS per connection (KiB)"
set logscale y
plot for [m in "zlib-stream none"] "< grep -v '^#' $OUT | grep ' ".m." '" using 1:6 with linespoints lw 2 pt 7 title m
set key top right
set ylabel "server CPU per connection (us; log)"
plot for [m in "zlib-stream none"] "< grep -v '^#' $OUT | grep ' ".m." '" using 1:(\$7*1000) with linespoints lw 2 pt 7 title "setup (upgrade+IDENTIFY+READY), ".m, \
     for [m in "zlib-stream none"] "< grep -v '^#' $OUT | grep ' ".m." '" using 1:8 with linespoints lw 1 pt 6 ps 1.5 title "held, per second, ".m
unset multiplot
EOF
    if [ -s "$SVG" ]; then echo "plot: $SVG"; fi
fi
