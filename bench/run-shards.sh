#!/usr/bin/env bash
# dgw-shards at scale: N shards in one process against the mock gateway.
#
#   bench/run-shards.sh [BUILD_DIR]     (default build-bench, a release build:
#                                        meson setup build-bench --buildtype=release)
#
# For each N in NS (default "100 1000 10000"; an N the fd limit cannot hold
# is skipped, with a line saying so): a fresh mock gateway (default mode,
# --message-rate 0: heartbeats only, at Discord's 41.25 s interval) and
# dgw-shards with N shards, COMPRESS transport compression (zlib-stream),
# and a TEST-ONLY pacing: max_concurrency MC (16) and an identify window of
# WINDOW ms (250; Discord's is 5000), so that 10,000 shards come up in
# minutes, not hours. Records, per N:
#   ready_ms    from the first connect to the last READY (dgw-shards' own
#               "all N shards connected" line)
#   ideal_ms    ceil(N / MC) x WINDOW, the bucket limit's bound as the issue
#               states it; the least possible is one window less (the first
#               IDENTIFY of each bucket goes at 0), plus one round trip
#   rss_kib     dgw-shards' VmRSS once idle (SETTLE s after the last READY),
#               and per shard; marginal_kib: (RSS(N) - RSS(previous N)) /
#               (N - previous N), the cost of one more shard without the
#               process's fixed part
#   dgw_kib     dgw_conn_memory() summed over the shards (libdgw only:
#               buffers, inflate state), per shard
#   idle_cpu    utime+stime of dgw-shards (/proc/PID/stat) over IDLE s (30)
#               of idle (heartbeats only), as % of one core
# The mock gateway is told the same bot (--shards N --max-concurrency MC, its
# window a fifth short of the client's: it times an IDENTIFY when its loop
# reads it, the client when it sends, and while N connections upgrade at
# once the loop reads the first ones late: at N=1000, WINDOW 250, pairs came
# 226 ms apart with a 230 ms window) and enforces it; its log (one line per IDENTIFY) must show N
# sessions started and no IDENTIFY refused (too-soon: a bucket overrun;
# over-budget), else the run fails: the proof that no bucket was exceeded.
# Wall-clock figures move with the machine's load (printed at the start);
# memory does not. Loopback only; every process is bounded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-bench}
NS=${NS:-"100 1000 10000"}
MC=${MC:-16}
WINDOW=${WINDOW:-250}
COMPRESS=${COMPRESS:-zlib-stream}
SETTLE=${SETTLE:-5}
IDLE=${IDLE:-30}
mg=$build/mockgateway/mockgateway
ds=$build/examples/dgw-shards
for f in "$mg" "$ds"; do
    [ -x "$f" ] || { echo "run-shards: $f missing: meson setup $build --buildtype=release && ninja -C $build" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
hz=$(getconf CLK_TCK)

tmp=$(mktemp -d)
mgpid=
dspid=
cleanup() {
    for p in $dspid $mgpid; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# waits up to $3 s for a line matching $2 in $1, while process $4 (if
# given) lives
wait_for() {
    local i=0
    until grep -q -- "$2" "$1" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
        [ $i -lt $(($3 * 10)) ] || return 1
        [ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
    done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
stop() { # pid: SIGTERM, SIGKILL after 20 s
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# The table goes to stdout and to OUT; the plot to SVG.
OUT=${OUT:-$here/data/shards.dat}
SVG=${SVG:-$here/shards.svg}
exec > >(tee "$OUT")

echo "# bench/run-shards.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start, RLIMIT_NOFILE $(ulimit -n)"
echo "# TEST-ONLY pacing: max_concurrency $MC, identify window $WINDOW ms (Discord: 5000 ms), so that the run takes minutes"
echo "# mockgateway --message-rate 0 (heartbeats every 41.25 s); dgw-shards --compress $COMPRESS --quiet; idle measured over $IDLE s, $SETTLE s after the last READY"
printf '%-6s %9s %9s %6s %9s %8s %9s %8s %9s\n' N ready_ms ideal_ms ratio rss_kib kib/shard marg_kib dgw_kib idle_cpu
prev_n=0
prev_rss=0
for n in $NS; do
    if [ $((n + 64)) -gt "$(ulimit -n)" ]; then
        echo "# N=$n skipped: needs $((n + 64)) file descriptors, RLIMIT_NOFILE is $(ulimit -n)"
        continue
    fi
    ideal=$(( (n + MC - 1) / MC * WINDOW ))
    : >"$tmp/mg.out" # here, not in the child: the wait below must not see the last run's URL
    : >"$tmp/ds.err"
    "$mg" --listen 127.0.0.1:0 --log-level info --message-rate 0 --shards "$n" --max-concurrency "$MC" \
        --identify-window-ms $((WINDOW - WINDOW / 5)) --session-start-total $((2 * n)) >"$tmp/mg.out" 2>"$tmp/mg.err" &
    mgpid=$!
    wait_for "$tmp/mg.out" "://" 10 || { echo "run-shards: the mock gateway did not start" >&2; exit 1; }
    url=$(head -n1 "$tmp/mg.out")
    DISCORD_TOKEN=test-token "$ds" --api "http://127.0.0.1:${url##*:}/api/v10" --shards "$n" \
        --max-concurrency "$MC" --identify-window-ms "$WINDOW" --session-budget $((2 * n)) \
        --compress "$COMPRESS" --quiet --log-level info >/dev/null 2>"$tmp/ds.err" &
    dspid=$!
    if ! wait_for "$tmp/ds.err" "all $n shards connected in" $((ideal / 500 + 120)) "$dspid"; then
        echo "run-shards: N=$n: not every shard connected; last lines:" >&2
        tail -n 5 "$tmp/ds.err" >&2
        exit 1
    fi
    ready=$(sed -n "s/.*all $n shards connected in \([0-9]*\) ms.*/\1/p" "$tmp/ds.err")
    sleep "$SETTLE"
    t0=$(cpu_ticks "$dspid")
    sleep "$IDLE"
    t1=$(cpu_ticks "$dspid")
    kill -USR1 "$dspid"
    wait_for "$tmp/ds.err" '"stats":"totals"' 30 "$dspid" || { echo "run-shards: no statistics" >&2; exit 1; }
    totals=$(grep '"stats":"totals"' "$tmp/ds.err" | tail -n1)
    num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$totals"; }
    rss=$(num rss_kib)
    mem=$(num memory)
    connected=$(num connected)
    [ "$connected" = "$n" ] || { echo "run-shards: N=$n: only $connected shards connected at the end of the idle time" >&2; exit 1; }
    stop "$dspid"
    dspid=
    stop "$mgpid"
    mgpid=
    started=$(grep -c ": IDENTIFY of shard .*: started;" "$tmp/mg.err" || true)
    refused=$(grep -Ec ": IDENTIFY of shard .*: (too-soon|over-budget)" "$tmp/mg.err" || true)
    if [ "$started" != "$n" ] || [ "$refused" != 0 ]; then
        echo "run-shards: N=$n: the mock started $started sessions and refused $refused IDENTIFYs:" >&2
        grep -E ": (too-soon|over-budget)" "$tmp/mg.err" | head -n 5 >&2
        exit 1
    fi
    marginal=-
    [ "$prev_n" -gt 0 ] && marginal=$(awk -v a="$rss" -v b="$prev_rss" -v n="$n" -v m="$prev_n" 'BEGIN{printf "%.1f", (a-b)/(n-m)}')
    awk -v n="$n" -v r="$ready" -v i="$ideal" -v rss="$rss" -v mem="$mem" -v marg="$marginal" \
        -v ticks=$((t1 - t0)) -v hz="$hz" -v idle="$IDLE" 'BEGIN {
        printf "%-6d %9d %9d %6.3f %9d %8.1f %9s %8.1f %8.2f%%\n", n, r, i, r / i, rss, rss / n,
            marg, mem / 1024 / n, 100 * ticks / hz / idle }'
    prev_n=$n
    prev_rss=$rss
done

if command -v gnuplot >/dev/null; then
    # A plot of too few points may fail: not an error.
    gnuplot <<EOF || echo "$(basename "$0"): gnuplot could not draw $SVG" >&2
set terminal svg size 960,420 dynamic noenhanced font "sans,11" background rgb "white"
set output "$SVG"
set multiplot layout 1,2 title "dgw-shards: N shards in one process against the mock (TEST-ONLY pacing: max_concurrency $MC, window $WINDOW ms)"
set logscale xy
set xlabel "shards (N)"
set grid
set key top left
set ylabel "ms from the first connect to the last READY"
plot "< grep -v '^#' $OUT | tail -n +2" using 1:2 with linespoints lw 2 pt 7 title "measured", \\
     "" using 1:3 with lines lw 1 dt 2 title "ceil(N / max_concurrency) x window"
unset logscale y
set key top right
set yrange [0:*]
set ylabel "KiB per shard, idle"
plot "< grep -v '^#' $OUT | tail -n +2" using 1:6 with linespoints lw 2 pt 7 title "process RSS / N", \\
     "" using 1:7 with linespoints lw 2 pt 6 title "marginal (RSS step / N step)", \\
     "" using 1:8 with linespoints lw 1 pt 5 title "dgw_conn_memory (libdgw)"
unset multiplot
EOF
    if [ -s "$SVG" ]; then echo "plot: $SVG" >&2; fi
fi
