#!/usr/bin/env bash
# tls_refusals.sh DGW_CLIENT MAKE_TEST_CERTS
#
# dgw-client must refuse, with exit status 3 and the BearSSL error named on
# stderr: a certificate from a CA it does not trust, an expired
# certificate, and a certificate for another host name (checked for a DNS
# name and for an IP literal). A control run with the right CA must pass
# the TLS handshake. The TLS server is `openssl s_server`, so this test
# needs neither libdgw's WebSocket code nor the mock gateway to be right.
set -u
client=$1
mkcerts=$2

if [[ ! -f $mkcerts ]]; then
    echo "SKIP: $mkcerts not found"
    exit 77
fi
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! bash "$mkcerts" "$tmp/certs" >"$tmp/mkcerts.log" 2>&1; then
    echo "FAIL: $mkcerts failed:"; cat "$tmp/mkcerts.log"; exit 1
fi
c=$tmp/certs

# Starts openssl s_server on a free port (it prints "ACCEPT [::]:PORT").
# A fresh output file each time, so an old ACCEPT line is never read.
nserver=0
start_server() {
    nserver=$((nserver + 1))
    local out=$tmp/server$nserver.out
    openssl s_server -WWW -accept 0 -cert "$1" -key "$2" >"$out" 2>&1 &
    server_pid=$!
    port=
    for _ in $(seq 50); do
        port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$out" 2>/dev/null)
        [[ -n $port ]] && return 0
        sleep 0.1
    done
    echo "FAIL: openssl s_server did not start:"; cat "$out"; exit 1
}
stop_server() {
    kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=
}

fail=0
expect_refusal() { # name cert key cafile host error-name
    start_server "$2" "$3"
    local err=$tmp/refusal$nserver.err
    DISCORD_TOKEN=test-token timeout 20 "$client" --url "wss://$5:$port/" \
        --cafile "$4" >"$tmp/out" 2>"$err"
    local st=$?
    stop_server
    if [[ $st -eq 3 ]] && grep -q "$6" "$err"; then
        echo "ok   $1: exit 3, $6"
    else
        echo "FAIL $1: exit status $st, wanted 3 with $6 on stderr:"
        sed 's/^/    /' "$err"
        fail=1
    fi
}

expect_refusal "cert from another CA" "$c/server.pem" "$c/server.key" "$c/other-ca.pem" localhost BR_ERR_X509_NOT_TRUSTED
expect_refusal "expired cert"         "$c/expired.pem" "$c/expired.key" "$c/ca.pem" localhost BR_ERR_X509_EXPIRED
expect_refusal "wrong host (name)"    "$c/wronghost.pem" "$c/wronghost.key" "$c/ca.pem" localhost BR_ERR_X509_BAD_SERVER_NAME
expect_refusal "wrong host (IP)"      "$c/wronghost.pem" "$c/wronghost.key" "$c/ca.pem" 127.0.0.1 BR_ERR_X509_BAD_SERVER_NAME

# Control: the right CA and host pass the handshake (s_server is no
# gateway, so the client then retries until we stop it, and exits 0).
for host in localhost 127.0.0.1; do
    start_server "$c/server.pem" "$c/server.key"
    err=$tmp/control-$host.err
    : >"$err"
    DISCORD_TOKEN=test-token "$client" --url "wss://$host:$port/" --cafile "$c/ca.pem" \
        >"$tmp/out" 2>"$err" &
    cpid=$!
    for _ in $(seq 100); do
        grep -q "TLS established" "$err" && break
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$cpid" 2>/dev/null
    wait "$cpid"
    st=$?
    stop_server
    if [[ $st -eq 0 ]] && grep -q "TLS established" "$err"; then
        echo "ok   control ($host): certificate verified, clean exit"
    else
        echo "FAIL control ($host): exit status $st, stderr:"
        sed 's/^/    /' "$err"
        fail=1
    fi
done
exit $fail
