#!/usr/bin/env bash
# demo.sh [BUILD_DIR] - a guided tour of dgw-client against the mock gateway.
#
# Makes a throwaway CA, starts mockgateway over TLS with
# examples/demo-scenario.json, and runs the client through four phases:
#   1. connect (TLS, certificate checked), IDENTIFY, READY, traffic
#   2. the server sends RECONNECT: the client resumes
#   3. the server stops acknowledging heartbeats: the client notices (zombie)
#      and resumes
#   4. Ctrl-C (SIGINT): the client closes with 1000 and exits 0
# Exits non-zero if any phase did not happen. BUILD_DIR defaults to "build".
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
client=$build/examples/dgw-client
mock=$build/mockgateway/mockgateway

if [[ -t 1 ]]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B= G= R= D= N=; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

[[ -x $client && -x $mock ]] ||
    die "build first: meson setup $build && ninja -C $build (looked for $client and $mock)"
command -v openssl >/dev/null || die "openssl is needed to make the test certificates"

tmp=$(mktemp -d)
mock_pid= client_pid= narrator_pid=
cleanup() {
    for p in $client_pid $mock_pid $narrator_pid; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to $2 seconds for the extended regex $1 to appear $3 times
# (default 1) in the client's log.
wait_for() {
    local n=${3:-1} i c
    for ((i = 0; i < $2 * 10; i++)); do
        c=$(grep -cE -- "$1" "$tmp/client.log" 2>/dev/null)
        ((${c:-0} >= n)) && return 0
        kill -0 "$client_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Reads the client's merged stdout+stderr, keeps a raw copy, and prints it
# abbreviated, with a headline where each phase starts.
narrate() {
    local line resumed=0 re='^\{"op":([0-9]+),"t":(null|"([^"]*)"),"s":(null|[0-9]+),"d":(.*)\}$'
    local cols=${COLUMNS:-100}
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$tmp/client.log"
        case $line in
        *"RECONNECT requested"*)
            say "Phase 2: the server sends RECONNECT (op 7). The client must close with a
   code other than 1000 (so the session survives), reconnect and RESUME." ;;
        esac
        if [[ $line =~ $re ]]; then
            local op=${BASH_REMATCH[1]} t=${BASH_REMATCH[3]} s=${BASH_REMATCH[4]} d=${BASH_REMATCH[5]}
            case $op in
            0) printf '   %s<- %-16s s=%-3s %.*s%s\n' "$D" "$t" "$s" $((cols - 32)) "$d" "$N" ;;
            10) printf '   %s<- HELLO           %s%s\n' "$D" "$d" "$N" ;;
            11) printf '   %s<- heartbeat ACK%s\n' "$D" "$N" ;;
            *) printf '   %s<- op %-13s %.*s%s\n' "$D" "$op" $((cols - 32)) "$d" "$N" ;;
            esac
        else
            # "[   1.234] info  message": drop the level, keep the time
            printf '   client %.*s\n' $((cols - 10)) "${line/ info  / }"
        fi
        case $line in
        '{"op":0,"t":"RESUMED",'*)
            resumed=$((resumed + 1))
            if ((resumed == 1)); then
                say "Phase 3: the server now swallows heartbeat ACKs. A heartbeat without an
   ACK before the next one is due means a zombie connection: the client must
   close it (not with 1000), reconnect and RESUME."
            fi ;;
        esac
    done
}

say "Setup: a throwaway test CA and a certificate for localhost / 127.0.0.1"
bash "$root/mockgateway/tools/make-test-certs.sh" "$tmp/certs" >"$tmp/certs.log" 2>&1 ||
    { cat "$tmp/certs.log"; die "make-test-certs.sh failed"; }
echo "   $tmp/certs: ca.pem (the only anchor the client trusts), server.pem, server.key"

say "Starting the mock gateway: TLS on 127.0.0.1 (a free port), script examples/demo-scenario.json"
"$mock" --tls --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" \
    --scenario "$here/demo-scenario.json" --transcript-dir "$tmp/transcripts" \
    >"$tmp/mock.out" 2>"$tmp/mock.err" &
mock_pid=$!
url=
for _ in $(seq 100); do
    url=$(head -n 1 "$tmp/mock.out" 2>/dev/null)
    [[ -n $url ]] && break
    kill -0 "$mock_pid" 2>/dev/null || break
    sleep 0.1
done
[[ $url == wss://* ]] || { cat "$tmp/mock.err"; die "the mock gateway did not start"; }
echo "   gateway: $url"

say "Phase 1: the client connects over TLS (certificate checked against the test CA),
   upgrades to WebSocket, gets HELLO, IDENTIFYs and receives READY and messages."
echo "   ${D}(stdout: one JSON line per event, shown abbreviated as '<-'; stderr: the client's log)${N}"
mkfifo "$tmp/client.pipe"
narrate <"$tmp/client.pipe" &
narrator_pid=$!
DISCORD_TOKEN=test-token "$client" --url "$url" --cafile "$tmp/certs/ca.pem" \
    >"$tmp/client.pipe" 2>&1 &
client_pid=$!

# Phase 4 starts once the client has resumed twice and seen a message after that.
ok=true
wait_for 'RESUMED: session' 30 2 && wait_for '"t":"MESSAGE_CREATE"' 10 6 || ok=false
sleep 0.5
say "Phase 4: Ctrl-C. The demo sends SIGINT; the client must close with 1000
   (ending the session), finish the closing handshake and exit 0."
kill -INT "$client_pid" 2>/dev/null
client_status=
for _ in $(seq 100); do
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$client_pid" 2>/dev/null; then
    kill -KILL "$client_pid"
    client_status="killed (did not stop within 10 s)"
fi
wait "$client_pid"
st=$?
client_pid=
[[ -n $client_status ]] || client_status=$st
wait "$narrator_pid" 2>/dev/null
narrator_pid=

# The mock gateway gives its verdict when the scenario ends.
for _ in $(seq 100); do
    kill -0 "$mock_pid" 2>/dev/null || break
    sleep 0.1
done
kill "$mock_pid" 2>/dev/null
wait "$mock_pid"
mock_status=$?
mock_pid=

say "What happened"
fail=0
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then
        printf '   %sok%s    %s\n' "$G" "$N" "$what"
    else
        printf '   %sFAIL%s  %s\n' "$R" "$N" "$what"
        fail=1
    fi
}
has() { grep -qE -- "$1" "$tmp/client.log"; }
count_ge() { local c; c=$(grep -cE -- "$1" "$tmp/client.log"); ((${c:-0} >= $2)); }
check "TLS: the certificate was verified"              has 'TLS established'
check "READY: a new session"                           has 'READY: session'
check "traffic: MESSAGE_CREATE dispatches"             has '"t":"MESSAGE_CREATE"'
check "RECONNECT: closed with a resumable code"        has 'closed: code 4[0-9]{3}, reason "reconnect'
check "RECONNECT: resumed"                             count_ge 'RESUMED: session' 1
check "zombie: the missing ACK was noticed"            has 'zombie'
check "zombie: resumed"                                count_ge 'RESUMED: session' 2
check "SIGINT: closed with 1000"                       has 'closed: code 1000'
check "SIGINT: the client exited with status 0"        [ "$client_status" = 0 ]
check "the mock gateway's verdict is PASS"             [ "$mock_status" = 0 ]
$ok || echo "   (a phase did not happen within its time limit)"
grep -E '^(PASS|FAIL)' "$tmp/mock.out" | sed 's/^/   mockgateway: /'
if ((fail)); then
    echo
    echo "The mock gateway's transcript:"
    cat "$tmp"/transcripts/*.log 2>/dev/null | sed 's/^/   /' | tail -n 60
    die "some phases did not happen"
fi
printf '\n%sAll four phases happened.%s The client code is examples/threaded-client/;\n' "$G" "$N"
echo "the scenario is examples/demo-scenario.json. Try: $client --help"
