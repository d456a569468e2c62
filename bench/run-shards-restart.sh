#!/usr/bin/env bash
# The restart proof of issue 13: N shards (default 1,000) brought up by one
# dgw-shards against a mock gateway that enforces the buckets, stopped with
# SIGTERM (sessions saved), started again: every shard must RESUME and none
# IDENTIFY.
#
#   bench/run-shards-restart.sh [BUILD_DIR]    (default build-bench, release)
#
# TEST-ONLY pacing as in run-shards.sh: max_concurrency 16, a 250 ms window
# for dgw-shards; the mock enforces 200 ms (it times arrivals, which lag
# while it accepts 1,000 connections: with 230 ms, some pairs read 228 ms
# apart). Prints dgw-shards' lines and the mock's counts; exit 1 when a
# bucket was exceeded, an IDENTIFY was spent on the restart or a shard did
# not RESUME. Loopback only.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(dirname "$here")/build-bench}
N=${N:-1000}
mg=$build/mockgateway/mockgateway
ds=$build/examples/dgw-shards
for f in "$mg" "$ds"; do
    [ -x "$f" ] || { echo "run-shards-restart: $f missing" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
trap 'kill -9 ${mgpid:-} ${dspid:-} 2>/dev/null; rm -rf "$tmp"' EXIT
"$mg" --listen 127.0.0.1:0 --log-level info --message-rate 0 --max-concurrency 16 \
    --identify-window-ms 200 --session-start-total $((2 * N)) >"$tmp/mg.out" 2>"$tmp/mg.err" &
mgpid=$!
for _ in $(seq 100); do grep -q :// "$tmp/mg.out" && break; sleep 0.1; done
url=$(head -n1 "$tmp/mg.out")
export DISCORD_TOKEN=test-token
args=(--api "http://127.0.0.1:${url##*:}/api/v10" --shards "$N" --max-concurrency 16
    --identify-window-ms 250 --session-budget $((2 * N)) --compress zlib-stream --quiet
    --log-level info --state-file "$tmp/state.json")
"$ds" "${args[@]}" >/dev/null 2>"$tmp/first.err" &
dspid=$!
for _ in $(seq 6000); do grep -q "all $N shards connected" "$tmp/first.err" && break; sleep 0.1; done
grep "all $N shards connected" "$tmp/first.err" || { echo "not every shard connected" >&2; exit 1; }
kill -TERM "$dspid"
wait "$dspid"
echo "first run: exit $?; $(grep -o "[0-9]* sessions saved" "$tmp/first.err")"
"$ds" "${args[@]}" --ready-exit >/dev/null 2>"$tmp/second.err"
echo "second run: exit $?"
grep -E "restored|all $N shards connected" "$tmp/second.err"
started=$(grep -c ': started;' "$tmp/mg.err")
too_soon=$(grep -c 'too-soon' "$tmp/mg.err")
resumed=$(grep -c 'resumed session' "$tmp/mg.err")
echo "mock: $started IDENTIFYs started a session, $too_soon came too soon for their bucket, $resumed RESUMEs"
[ "$started" -eq "$N" ] && [ "$too_soon" -eq 0 ] && [ "$resumed" -eq "$N" ]
