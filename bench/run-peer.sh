#!/usr/bin/env bash
# Benchmark 2: end to end against a peer, over loopback.
#
#   bench/run-peer.sh [BUILD_DIR]      (default build-bench, a release build)
#
# The mock gateway plays a scenario whose one connection is HELLO, IDENTIFY,
# READY, then a `stream` step (scenarios/README.md) of EVENTS dispatches
# from the seeded generator (testkit/gen.c, ~630 bytes each), sent as fast
# as the client reads, to one client at a time (a fresh gateway per run).
# For a compressed run the scenario requires compress=zlib-stream or
# zstd-stream: a client that silently falls back to something else fails
# the run. Two zlib-stream streams:
#   zlib-stream  what a real gateway sends: one deflate context, a sync
#                flush per message; the gateway compresses at ~50,000
#                dispatches/s, so a fast client waits for it;
#   zlib-parts   the step's "zlib_parts": messages spliced from parts
#                deflated beforehand (no shared history, ~2.6x the bytes),
#                produced as fast as uncompressed ones: the client is what
#                is measured. Clients ask for compress=zlib-stream.
# Clients, RUNS rounds each, interleaved so that machine noise hits all of
# them alike:
#   byte_sink   walks frame headers and nothing else: the gateway's rate as
#               a producer; its "per CPU-s" figure is the gateway's (the
#               CPU the stream step's transcript line reports);
#   dgw_sink    none / zlib-stream (/ zstd-stream); PAUSE_MS=1000 makes it
#               stop reading for 1 s after READY (default 0: client and
#               server run together);
#   dgw_sink+cJSON  the same, none, plus every d parsed into a cJSON tree and
#               freed (what @discordjs/ws does with JSON.parse);
#   dgw-client  examples/threaded-client with --max-events, none and
#               zlib-stream: wall and CPU time of the whole process (connect
#               and READY included; it prints every payload to stdout, here
#               /dev/null);
#   djs_sink    @discordjs/ws 1.x (bench/peer, with the native zlib-sync),
#               none and zlib-stream.
# Writes bench/data/peer.dat (one line per run) and prints the medians and
# the ratios to @discordjs/ws with the same compression (SUMMARY_ONLY=1:
# only that, from an existing data file).
# @discordjs/ws needs node and npm: `npm ci` in bench/peer on first use,
# which builds zlib-sync (its install script is allowed in package.json);
# if it did not build, this script stops (exit 1) rather than measure a
# peer without zlib-stream. SKIP_PEER=1 leaves @discordjs/ws out.
# Loopback only; every process is bounded by `timeout`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/mg-url.sh"
root=$(dirname "$here")
build=${1:-$root/build-bench}
EVENTS=${EVENTS:-100000}
RUNS=${RUNS:-5}
PAUSE_MS=${PAUSE_MS:-0}
OUT=${OUT:-$here/data/peer.dat}
mg=$build/mockgateway/mockgateway
sink=$build/bench/dgw_sink
bytes=$build/bench/byte_sink
client=$build/examples/dgw-client
for f in "$mg" "$sink" "$bytes"; do
    [ -x "$f" ] || { echo "run-peer: $f missing: meson setup $build --buildtype=release && ninja -C $build" >&2; exit 2; }
done
peer=1
if [ "${SKIP_PEER:-0}" = 1 ]; then
    peer=0
elif [ "${SUMMARY_ONLY:-0}" != 1 ]; then
    command -v node >/dev/null && command -v npm >/dev/null ||
        { echo "run-peer: node and npm are needed for @discordjs/ws (or SKIP_PEER=1)" >&2; exit 2; }
    if [ ! -d "$here/peer/node_modules/@discordjs/ws" ] || [ ! -d "$here/peer/node_modules/zlib-sync" ]; then
        (cd "$here/peer" && npm ci --no-audit --no-fund --silent) ||
            { echo "run-peer: npm ci in bench/peer failed" >&2; exit 1; }
    fi
    (cd "$here/peer" && node -e "require('zlib-sync')" 2>"$here/peer/.zlib-sync.err") || {
        echo "run-peer: zlib-sync did not build in bench/peer (npm must run its install script: package.json" \
             "allows it; node-gyp needs python3, make and g++). @discordjs/ws would fall back silently." >&2
        cat "$here/peer/.zlib-sync.err" >&2
        exit 1
    }
    rm -f "$here/peer/.zlib-sync.err"
fi

tmp=$(mktemp -d)
mgpid=
cleanup() { [ -n "$mgpid" ] && kill "$mgpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
n=$EVENTS
# dgw-client counts READY among its --max-events and stops there: one more
# dispatch in the stream lets every client take n after READY and close.
wire() { [ "$1" = zlib-parts ] && echo zlib-stream || echo "$1"; } # what the client asks for
scenario() { # scenario MODE > file
    local opt= parts=
    [ "$1" != none ] && opt=", \"compress\": \"$(wire "$1")\""
    [ "$1" = zlib-parts ] && parts=', "zlib_parts": true'
    printf '{"name": "bench-stream-%s", "rule": "bench/RESULTS.md 2",\n "options": {"timeout_ms": 300000%s},\n' "$1" "$opt"
    printf ' "connections": [{"steps": [{"type": "handshake"}, {"type": "stream", "count": %d%s},\n' $((n + 1)) "$parts"
    printf '   {"type": "expect_close", "within_ms": 120000}]}]}\n'
}
for c in none zlib-stream zlib-parts zstd-stream; do scenario "$c" >"$tmp/stream-$c.json"; done

start_mg() { # start_mg COMPRESS
    : >"$tmp/mg.out"
    rm -rf "$tmp/tr"
    timeout 300 "$mg" --log-level error --scenario "$tmp/stream-$1.json" --transcript-dir "$tmp/tr" \
        >"$tmp/mg.out" 2>"$tmp/mg.err" &
    mgpid=$!
    url=$(mg_url "$tmp/mg.out")
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
    if ! wait "$mgpid"; then
        echo "run-peer: mock gateway: scenario failed:" >&2
        cat "$tmp/mg.err" "$tmp"/tr/*.log >&2 2>/dev/null
        exit 1
    fi
    mgpid=
}
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
# The gateway's dispatches per CPU-second during the stream, from the
# transcript's "stream sent: N dispatches, ... X s CPU" line.
producer_cpu_rate() {
    sed -n 's/.*stream sent: \([0-9]*\) dispatches.* \([0-9.]*\) s CPU).*/\1 \2/p' "$tmp"/tr/*.log |
        awk '{ print ($2 > 0) ? $1 / $2 : 0 }'
}

mkdir -p "$(dirname "$OUT")"
if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
{
    echo "# benchmark 2: bench/run-peer.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg) at start, EVENTS=$n"
    echo "# client compress pause_ms run events_per_s events_per_cpu_s"
} >"$OUT"
record() { echo "$1 $2 $3 $4 $5 $6" >>"$OUT"; printf '  %-14s %-12s pause=%-5s run %d: %10.0f events/s (%10.0f per CPU-s)\n' "$@"; }

comps="none zlib-stream zlib-parts"
[ -n "$(strings "$sink" | grep -m1 ZSTD_decompressStream || true)" ] && comps="$comps zstd-stream"
for r in $(seq "$RUNS"); do
    for c in none zlib-stream zlib-parts; do
        start_mg "$c"
        line=$(timeout 120 "$bytes" "$url" --compress "$(wire "$c")" --events "$n")
        stop_mg
        record byte_sink "$c" 0 "$r" "$(field events_per_s <<<"$line")" "$(producer_cpu_rate)"
    done
    for c in $comps; do
        start_mg "$c"
        line=$(timeout 120 "$sink" "$url" --compress "$(wire "$c")" --events "$n" --pause-ms "$PAUSE_MS")
        stop_mg
        record dgw_sink "$c" "$PAUSE_MS" "$r" "$(field events_per_s <<<"$line")" "$(field events_per_cpu_s <<<"$line")"
    done
    start_mg none
    line=$(timeout 120 "$sink" "$url" --compress none --events "$n" --pause-ms "$PAUSE_MS" --parse)
    stop_mg
    record dgw_sink+cJSON none "$PAUSE_MS" "$r" "$(field events_per_s <<<"$line")" "$(field events_per_cpu_s <<<"$line")"
    if [ -x "$client" ]; then
        for c in none zlib-stream zlib-parts; do
            start_mg "$c"
            t0=$(date +%s.%N)
            # User + system CPU of the whole process (bash's time).
            { TIMEFORMAT='%U %S'; time DISCORD_TOKEN=test-token timeout 120 "$client" --url "$url" --compress "$(wire "$c")" \
                --max-events $((n + 1)) --log-level error >/dev/null 2>"$tmp/cl.err"; } 2>"$tmp/cl.time" ||
                { echo "run-peer: dgw-client failed:" >&2; cat "$tmp/cl.err" >&2; exit 1; }
            t1=$(date +%s.%N)
            stop_mg
            cpu=$(awk '{print $1 + $2}' "$tmp/cl.time")
            record dgw-client "$c" 0 "$r" "$(echo "$n / ($t1 - $t0)" | bc -l)" "$(echo "$n / $cpu" | bc -l)"
        done
    fi
    if [ "$peer" = 1 ]; then
        for c in none zlib-stream zlib-parts; do
            start_mg "$c"
            line=$(timeout 300 node "$here/peer/djs_sink.mjs" "$url" --events "$n" --compress "$(wire "$c")")
            stop_mg
            record djs_sink "$c" 0 "$r" "$(field events_per_s <<<"$line")" "$(field events_per_cpu_s <<<"$line")"
        done
    fi
done

fi
echo "medians over $RUNS runs, $n dispatches each (data: $OUT):"
awk '!/^#/ { k = $1 " " $2 " pause=" $3; v[k] = v[k] " " $5; w[k] = w[k] " " $6; comp[k] = $2 }
     function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
     END { for (k in v) { m[k] = med(v[k]); printf "  %-36s %10.0f events/s", k, m[k]; if (med(w[k]) > 0) printf "  %10.0f events/CPU-s", med(w[k]); printf "\n"; mc[k] = med(w[k]) }
           for (k in m) { d = "djs_sink " comp[k] " pause=0"; if (k == d || !(d in m)) continue
                          printf "  ratio %-30s / @discordjs/ws %s: %6.1fx wall", k, comp[k], m[k] / m[d]; if (mc[k] > 0 && mc[d] > 0) printf ", %6.1fx per CPU-s", mc[k] / mc[d]; printf "\n" } }' "$OUT" | sort
