#!/usr/bin/env bash
# shards.sh CASE - dgw-shards against the real mock gateway (default mode)
# on loopback. One case per meson test:
#   pacing    8 shards, max_concurrency 2, 300 ms window: the IDENTIFY times
#             dgw-shards logs never put two of one bucket within the window
#   restart   SIGTERM saves every session; the next start RESUMEs all 8
#             (no IDENTIFY); a state file of another shard count is not used
#   sigusr1   SIGUSR1 prints one statistics line per shard and the totals
#   budget    --session-budget 3 with 5 shards: 3 IDENTIFYs, then exit 4
#             naming what is left and reset_after
#   wss       the same over wss:// with a test CA; a wrong CA is exit 3
#   requeue   a queued shard whose connection the gateway closes (4009: no
#             IDENTIFY in time) leaves the queue without spending its turn
#   fatal     a token the gateway refuses (4004) stops everything: exit 2
#   events    --max-events: stops after N dispatches; event lines are JSON
#             tagged with the shard; the token is never printed
# Environment (examples/meson.build): MOCKGATEWAY, DGW_SHARDS,
# MAKE_TEST_CERTS.
set -u
case=${1:?usage: shards.sh CASE}
: "${MOCKGATEWAY:?}" "${DGW_SHARDS:?}" "${MAKE_TEST_CERTS:?}"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
mgpid=
shpid=
cleanup() {
    [ -n "$shpid" ] && kill -9 "$shpid" 2>/dev/null
    if [ -n "$mgpid" ]; then
        kill -TERM "$mgpid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$mgpid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$mgpid" 2>/dev/null
    fi
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
export DISCORD_TOKEN=test-token

die() {
    echo "FAIL ($case): $*"
    for f in "$tmp"/*.err; do
        [ -f "$f" ] && { echo "== ${f##*/} (last 40 lines)"; tail -n 40 "$f"; }
    done
    exit 1
}
check() { python3 "$here/shards_check.py" "$@" || die "check $1 failed"; }

# waits up to $3 seconds for a line matching $2 in $1
wait_for() {
    local i=0
    until grep -q -- "$2" "$1" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
        [ $i -lt $(($3 * 10)) ] || return 1
    done
}

# start_mock [ARGS]: sets url and api
start_mock() {
    : >"$tmp/mg.out" # in this shell: the wait below must see only this run's URL
    "$MOCKGATEWAY" --listen 127.0.0.1:0 --log-level info "$@" >"$tmp/mg.out" 2>"$tmp/mg.err" &
    mgpid=$!
    wait_for "$tmp/mg.out" "://" 10 || die "the mock gateway did not start"
    url=$(head -n 1 "$tmp/mg.out")
    local scheme=http
    [[ $url == wss://* ]] && scheme=https
    api="$scheme://127.0.0.1:${url##*:}/api/v10"
}
mock_count() { grep -c -- "$1" "$tmp/mg.err"; }

# run NAME ARGS: dgw-shards in the foreground; its exit status in $status
run() {
    local name=$1
    shift
    timeout 120 "$DGW_SHARDS" --api "$api" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
}
# run_bg NAME ARGS: in the background, pid in shpid
run_bg() {
    local name=$1
    shift
    "$DGW_SHARDS" --api "$api" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    shpid=$!
}
# stop_bg: SIGTERM, then its exit status in $status (killed after 20 s)
stop_bg() {
    kill -TERM "$shpid"
    local i=0
    while kill -0 "$shpid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$shpid" 2>/dev/null && die "dgw-shards did not stop within 20 s of SIGTERM"
    wait "$shpid"
    status=$?
    shpid=
}
expect_status() { [ "$status" -eq "$1" ] || die "$2: exit status $status, expected $1"; }

case $case in
pacing)
    # The mock enforces the buckets too (its window 20 ms short of the
    # client's: it times arrivals, the client its sends).
    start_mock --max-concurrency 2 --identify-window-ms 280
    run pacing --shards 8 --max-concurrency 2 --identify-window-ms 300 --ready-exit
    expect_status 0 "8 shards"
    check pacing "$tmp/pacing.err" 300 2 8
    [ "$(mock_count ": too-soon")" -eq 0 ] || die "the mock refused an IDENTIFY of a full bucket"
    check totals "$tmp/pacing.err" identifies=8 resumes=0 shards=8 shard_count=8
    for i in 0 1 2 3 4 5 6 7; do
        [ "$(mock_count "shard \[$i,8\]")" -eq 1 ] || die "the mock did not see shard [$i,8] identify once"
    done
    ;;
restart)
    start_mock --log-level debug --max-concurrency 2 --identify-window-ms 80
    st=$tmp/state.json
    run_bg first --shards 8 --max-concurrency 2 --identify-window-ms 300 --state-file "$st"
    wait_for "$tmp/first.err" "all 8 shards connected" 30 || die "8 shards never connected"
    stop_bg
    expect_status 0 "SIGTERM"
    grep -q "8 sessions saved to $st" "$tmp/first.err" || die "no sessions saved"
    ls "$st".tmp.* >/dev/null 2>&1 && die "a temporary state file was left behind"
    check state "$st" 8 8
    check totals "$tmp/first.err" identifies=8
    check shard-lines "$tmp/first.err" 8 identifies=1 state=STOPPED
    [ "$(mock_count "gone (received 4900")" -eq 8 ] || die "not every shard closed with 4900"
    run second --shards 8 --max-concurrency 2 --identify-window-ms 300 --state-file "$st" --ready-exit
    expect_status 0 "restart"
    grep -q "8 of 8 shards restored" "$tmp/second.err" || die "sessions not restored"
    check totals "$tmp/second.err" identifies=0 resumes=8
    check shard-lines "$tmp/second.err" 8 identifies=0 resumes=1
    [ "$(mock_count "resumed session")" -eq 8 ] || die "the mock saw $(mock_count "resumed session") RESUMEs, not 8"
    [ "$(mock_count ": identified, session")" -eq 8 ] || die "an IDENTIFY was spent on the restart"
    # Sessions of 8 shards are not shards of 4: no RESUME with them.
    run third --shards 4 --max-concurrency 2 --identify-window-ms 100 --state-file "$st" --ready-exit
    expect_status 0 "4 shards"
    grep -q "holds sessions of 8 shards, not 4" "$tmp/third.err" || die "a state file of 8 shards was used for 4"
    check totals "$tmp/third.err" identifies=4 resumes=0
    check state "$st" 4 4
    ;;
sigusr1)
    start_mock --max-concurrency 3 --identify-window-ms 80
    run_bg usr1 --shards 3 --max-concurrency 3 --identify-window-ms 100
    wait_for "$tmp/usr1.err" "all 3 shards connected" 30 || die "3 shards never connected"
    kill -USR1 "$shpid"
    wait_for "$tmp/usr1.err" '"stats":"totals"' 10 || die "no statistics after SIGUSR1"
    kill -0 "$shpid" || die "SIGUSR1 stopped dgw-shards"
    check shard-lines "$tmp/usr1.err" 3 state=CONNECTED identifies=1 attempts=1
    check totals "$tmp/usr1.err" shards=3 connected=3 identifies=3
    python3 -c 'import json,sys
t=[json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"stats\":\"totals\"")][-1]
assert t["rss_kib"] > 0 and t["memory"] > 0 and t["all_connected_ms"] is not None, t' "$tmp/usr1.err" ||
        die "totals line lacks rss_kib, memory or all_connected_ms"
    stop_bg
    expect_status 0 "SIGTERM"
    ;;
budget)
    start_mock --identify-window-ms 80
    run budget --shards 5 --max-concurrency 1 --identify-window-ms 100 --session-budget 3
    expect_status 4 "budget of 3 for 5 shards"
    grep -Eq "session-start budget exhausted: 0 of 3 left, reset_after [0-9]+ ms" "$tmp/budget.err" ||
        die "no clear budget message"
    check totals "$tmp/budget.err" identifies=3 session_starts_left=0
    [ "$(mock_count ": identified, session")" -eq 3 ] || die "the mock saw $(mock_count ": identified, session") IDENTIFYs, not 3"
    ;;
wss)
    bash "$MAKE_TEST_CERTS" "$tmp/certs" >/dev/null || die "make-test-certs.sh failed"
    start_mock --tls --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" \
        --max-concurrency 2 --identify-window-ms 180
    [[ $url == wss://* ]] || die "the mock is not on wss://: $url"
    st=$tmp/state.json
    run tls --cafile "$tmp/certs/ca.pem" --shards 4 --max-concurrency 2 --identify-window-ms 200 \
        --state-file "$st" --ready-exit
    expect_status 0 "wss://"
    check pacing "$tmp/tls.err" 200 2 4
    check totals "$tmp/tls.err" identifies=4
    run tls2 --cafile "$tmp/certs/ca.pem" --shards 4 --max-concurrency 2 --identify-window-ms 200 \
        --state-file "$st" --ready-exit
    expect_status 0 "wss:// restart"
    check totals "$tmp/tls2.err" identifies=0 resumes=4
    # The gateway's certificate, not the REST one, must be checked too.
    timeout 60 "$DGW_SHARDS" --url "$url" --cafile "$tmp/certs/other-ca.pem" --shards 2 \
        --ready-exit >"$tmp/badca.out" 2>"$tmp/badca.err"
    status=$?
    expect_status 3 "a certificate from another CA"
    grep -q "BR_ERR_X509_NOT_TRUSTED" "$tmp/badca.err" || die "the BearSSL error is not named"
    ;;
requeue)
    # The mock closes (4009) a connection that does not IDENTIFY within 2 x
    # the heartbeat interval (5 s). Shard 2 connects at once and waits for
    # the bucket's third turn (6 s): it is closed at 5 s and, backing off
    # at least 2 s, cannot ask again before 7 s. Its turn goes to shard 3.
    start_mock --heartbeat-interval 2500 --identify-window-ms 2980
    run requeue --shards 4 --max-concurrency 1 --identify-window-ms 3000 --backoff-base-ms 4000 --ready-exit
    expect_status 0 "4 shards"
    grep -q "shard 2: left the IDENTIFY queue: its connection closed while it waited" "$tmp/requeue.err" ||
        die "shard 2 did not leave the queue"
    [ "$(mock_count "closing 4009")" -ge 1 ] || die "the mock closed no waiting connection"
    check pacing "$tmp/requeue.err" 3000 1 4
    check totals "$tmp/requeue.err" identifies=4
    [ "$(mock_count ": identified, session")" -eq 4 ] || die "IDENTIFYs were spent on dead connections"
    ;;
fatal)
    start_mock
    # The REST API refuses the token first (401 on /gateway/bot) ...
    DISCORD_TOKEN=not-the-token run fatal --shards 2 --max-concurrency 2 --identify-window-ms 100
    expect_status 2 "a token the API refuses"
    grep -q "the API refused the token (401): stopping" "$tmp/fatal.err" || die "no clear 401 message"
    grep -q "not-the-token" "$tmp/fatal.out" "$tmp/fatal.err" && die "the token was printed"
    # ... and without /gateway/bot the gateway does (4004).
    DISCORD_TOKEN=not-the-token timeout 120 "$DGW_SHARDS" --url "$url" --shards 2 --max-concurrency 2 \
        --identify-window-ms 100 >"$tmp/fatal.out" 2>"$tmp/fatal.err"
    status=$?
    expect_status 2 "a token the gateway refuses"
    grep -q "4004 authentication failed: the gateway refused the token; stopping every shard" "$tmp/fatal.err" ||
        die "no clear 4004 message"
    grep -q "not-the-token" "$tmp/fatal.out" "$tmp/fatal.err" && die "the token was printed"
    ;;
events)
    start_mock --message-rate 20 --max-concurrency 2 --identify-window-ms 80
    run events --shards 2 --max-concurrency 2 --identify-window-ms 100 --max-events 10
    expect_status 0 "--max-events 10"
    grep -q "10 dispatches received: stopping" "$tmp/events.err" || die "did not stop at 10 dispatches"
    check events "$tmp/events.out" test-token 10
    ;;
*)
    echo "usage: shards.sh pacing|restart|sigusr1|budget|wss|requeue|fatal|events"
    exit 2
    ;;
esac
echo "PASS ($case)"
