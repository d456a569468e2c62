#!/usr/bin/env bash
# Benchmark 2: end to end against a peer, over loopback.
#
#   bench/run-peer.sh [BUILD_DIR]      (default build-bench, a release build)
#
# The mock gateway plays bench/stream_scenario's stream (EVENTS dispatches
# from the seeded generator, ~640 bytes each) to one client at a time; each
# client times READY -> the last dispatch. Clients, RUNS rounds each,
# interleaved so that machine noise hits all of them alike:
#   dgw_sink    none / zlib-stream (/ zstd-stream); PAUSE_MS=1000 makes it
#               stop reading for 1 s after READY (the server then queues the
#               stream first; default 0: client and server run together);
#   dgw_sink+cJSON  the same, none, plus every d parsed into a cJSON tree and
#               freed (what @discordjs/ws does with JSON.parse);
#   dgw-client  examples/threaded-client with --max-events (wall time of the
#               whole process, connect and READY included; it prints every
#               payload to stdout, here /dev/null);
#   djs_sink    @discordjs/ws 1.x (bench/peer), uncompressed (see djs_sink.mjs
#               for why: zlib-stream needs the native zlib-sync).
# Writes bench/data/peer.dat (one line per run) and prints the medians and
# the ratios (SUMMARY_ONLY=1: only that, from an existing data file).
# SKIP_PEER=1 leaves @discordjs/ws out (no npm needed).
# Loopback only; every process is bounded by `timeout`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build-bench}
EVENTS=${EVENTS:-40000}
RUNS=${RUNS:-5}
PAUSE_MS=${PAUSE_MS:-0}
OUT=${OUT:-$here/data/peer.dat}
mg=$build/mockgateway/mockgateway
sink=$build/bench/dgw_sink
client=$build/examples/dgw-client
for f in "$mg" "$sink" "$build/bench/stream_scenario"; do
    [ -x "$f" ] || { echo "run-peer: $f missing: meson setup $build --buildtype=release && ninja -C $build" >&2; exit 2; }
done
peer=1
if [ "${SKIP_PEER:-0}" = 1 ] || ! command -v node >/dev/null; then
    peer=0
elif [ ! -d "$here/peer/node_modules/@discordjs/ws" ]; then
    (cd "$here/peer" && npm install --no-audit --no-fund --silent) || peer=0
fi

tmp=$(mktemp -d)
mgpid=
cleanup() { [ -n "$mgpid" ] && kill "$mgpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$build/bench/stream_scenario" "$EVENTS" >"$tmp/stream.json" 2>"$tmp/gen.txt"
n=$(awk '{print $2}' "$tmp/gen.txt")

start_mg() {
    : >"$tmp/mg.out"
    timeout 300 "$mg" --log-level error --scenario "$tmp/stream.json" >"$tmp/mg.out" 2>"$tmp/mg.err" &
    mgpid=$!
    url=
    for _ in $(seq 200); do
        url=$(head -n1 "$tmp/mg.out")
        [ -n "$url" ] && break
        sleep 0.05
    done
    [ -n "$url" ] || { echo "run-peer: mock gateway did not start" >&2; exit 1; }
}
stop_mg() {
    # The scenario ends when the client closes: the gateway exits by itself
    # (give it 20 s: an ASan build's exit-time leak check can hang in some
    # containers; then it is killed and the run fails).
    for _ in $(seq 200); do kill -0 "$mgpid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$mgpid" 2>/dev/null; then
        kill -9 "$(pgrep -P "$mgpid" | head -n1)" 2>/dev/null || true
    fi
    if ! wait "$mgpid"; then echo "run-peer: mock gateway: scenario failed:" >&2; cat "$tmp/mg.err" >&2; exit 1; fi
    mgpid=
}
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

mkdir -p "$(dirname "$OUT")"
if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
{
    echo "# benchmark 2: bench/run-peer.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg) at start, EVENTS=$n"
    echo "# client compress pause_ms run events_per_s events_per_cpu_s"
} >"$OUT"
record() { echo "$1 $2 $3 $4 $5 $6" >>"$OUT"; printf '  %-14s %-12s pause=%-5s run %d: %10.0f events/s (%10.0f per CPU-s)\n' "$@"; }

comps="none zlib-stream"
[ -n "$(strings "$sink" | grep -m1 ZSTD_decompressStream || true)" ] && comps="$comps zstd-stream"
for r in $(seq "$RUNS"); do
    for c in $comps; do
        start_mg
        line=$(timeout 60 "$sink" "$url" --compress "$c" --events "$n" --pause-ms "$PAUSE_MS")
        stop_mg
        record dgw_sink "$c" "$PAUSE_MS" "$r" "$(field events_per_s <<<"$line")" "$(field events_per_cpu_s <<<"$line")"
    done
    start_mg
    line=$(timeout 60 "$sink" "$url" --compress none --events "$n" --pause-ms "$PAUSE_MS" --parse)
    stop_mg
    record dgw_sink+cJSON none "$PAUSE_MS" "$r" "$(field events_per_s <<<"$line")" "$(field events_per_cpu_s <<<"$line")"
    if [ -x "$client" ]; then
        for c in none zlib-stream; do
            start_mg
            t0=$(date +%s.%N)
            DISCORD_TOKEN=test-token timeout 60 "$client" --url "$url" --compress "$c" --max-events "$n" --log-level error >/dev/null 2>"$tmp/cl.err" ||
                { echo "run-peer: dgw-client failed:" >&2; cat "$tmp/cl.err" >&2; exit 1; }
            t1=$(date +%s.%N)
            stop_mg
            record dgw-client "$c" 0 "$r" "$(echo "$n / ($t1 - $t0)" | bc -l)" 0
        done
    fi
    if [ "$peer" = 1 ]; then
        start_mg
        line=$(timeout 120 node "$here/peer/djs_sink.mjs" "$url" --events "$n")
        stop_mg
        record djs_sink none 0 "$r" "$(field events_per_s <<<"$line")" "$(field events_per_cpu_s <<<"$line")"
    fi
done

fi
echo "medians over $RUNS runs, $n dispatches each (data: $OUT):"
awk '!/^#/ { k = $1 " " $2 " pause=" $3; v[k] = v[k] " " $5; w[k] = w[k] " " $6 }
     function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
     END { for (k in v) { m[k] = med(v[k]); printf "  %-36s %10.0f events/s", k, m[k]; if (med(w[k]) > 0) printf "  %10.0f events/CPU-s", med(w[k]); printf "\n"; mc[k] = med(w[k]) }
           d = "djs_sink none pause=0"
           if (d in m) for (k in m) if (k != d) { printf "  ratio %-30s / @discordjs/ws: %6.1fx wall", k, m[k] / m[d]; if (mc[k] > 0) printf ", %6.1fx per CPU-s", mc[k] / mc[d]; printf "\n" } }' "$OUT" | sort
