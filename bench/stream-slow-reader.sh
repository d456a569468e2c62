#!/usr/bin/env bash
# stream-slow-reader.sh BUILD_DIR: the scenario step "stream" against a
# client that stops reading. 400,000 dispatches are ~250 MB; the client
# reads nothing for 2 s after READY, then everything. The gateway must hold
# its queue under the stream's bound (its RSS stays small: nothing like the
# whole stream is buffered; the 32 MiB output cap would cut the connection
# and fail the scenario), then deliver every dispatch, and the scenario
# must pass.
set -euo pipefail
. "$(dirname "$0")/mg-url.sh"
build=${1:?usage: stream-slow-reader.sh BUILD_DIR}
mg=$build/mockgateway/mockgateway
sink=$build/bench/byte_sink
tmp=$(mktemp -d)
mgpid=
cleanup() { [ -n "$mgpid" ] && kill "$mgpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
n=400000
cat >"$tmp/s.json" <<JSON
{"name": "stream-slow-reader", "rule": "scenarios/README.md stream: bounded queue",
 "options": {"timeout_ms": 120000},
 "connections": [{"steps": [{"type": "handshake"}, {"type": "stream", "count": $n},
   {"type": "expect_close", "within_ms": 60000}]}]}
JSON
"$mg" --log-level error --scenario "$tmp/s.json" --transcript-dir "$tmp/tr" >"$tmp/mg.out" 2>"$tmp/mg.err" &
mgpid=$!
url=$(mg_url "$tmp/mg.out")
[ -n "$url" ] || { echo "FAIL: the mock gateway did not start"; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$mgpid/status"; }
before=$(rss)
timeout 120 "$sink" "$url" --events "$n" --pause-ms 2000 >"$tmp/sink.out" &
sinkpid=$!
sleep 1.5 # the client reads nothing now; the gateway has queued what it will
during=$(rss)
wait "$sinkpid" || { echo "FAIL: byte_sink did not get $n messages"; cat "$tmp/mg.err" "$tmp"/tr/*.log 2>/dev/null | tail -20; exit 1; }
if ! wait "$mgpid"; then mgpid=; echo "FAIL: the scenario failed"; cat "$tmp/mg.err"; exit 1; fi
mgpid=
grown=$(( during - before ))
echo "gateway RSS before the client: ${before} KiB, while it did not read: ${during} KiB (+${grown} KiB)"
grep -h "stream sent" "$tmp"/tr/*.log | cut -c1-200
# The bound is 512 KiB queued plus a batch, in-kernel socket buffers are
# not the gateway's RSS; 16 MiB leaves room for allocator slack (and ASan).
[ "$grown" -lt 16384 ] || { echo "FAIL: the gateway grew by ${grown} KiB while the client did not read"; exit 1; }
echo "PASS"
