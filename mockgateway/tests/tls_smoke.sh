#!/bin/sh
# wss:// and https:// smoke test: makes the test certificates, starts the
# mock gateway with --tls, and fetches /api/v10/gateway/bot through
# `openssl s_client` verifying the chain against the test CA.
# Usage: tls_smoke.sh MOCKGATEWAY MAKE_TEST_CERTS
set -eu
mg=$1
certs_script=$2
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

sh "$certs_script" "$tmp/c" >/dev/null
for f in ca.pem server.pem server.key expired.pem expired.key wronghost.pem wronghost.key other-ca.pem; do
    [ -s "$tmp/c/$f" ] || { echo "make-test-certs.sh did not make $f"; exit 1; }
done
openssl verify -CAfile "$tmp/c/ca.pem" "$tmp/c/server.pem" >/dev/null
if openssl verify -CAfile "$tmp/c/ca.pem" "$tmp/c/expired.pem" >/dev/null 2>&1; then
    echo "expired.pem verifies: it must be expired"; exit 1
fi
if openssl verify -CAfile "$tmp/c/other-ca.pem" "$tmp/c/server.pem" >/dev/null 2>&1; then
    echo "server.pem verifies against other-ca.pem"; exit 1
fi

"$mg" --tls --cert "$tmp/c/server.pem" --key "$tmp/c/server.key" --log-level warn >"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while [ ! -s "$tmp/out" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
url=$(head -n 1 "$tmp/out")
case $url in wss://127.0.0.1:*) ;; *) echo "bad first line: '$url'"; cat "$tmp/err"; exit 1 ;; esac
port=${url##*:}
resp=$(printf 'GET /api/v10/gateway/bot HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bot test-token\r\n\r\n' |
    openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$tmp/c/ca.pem" \
        -verify_return_error -verify_hostname localhost -quiet 2>/dev/null || true)
echo "$resp" | grep -q "\"url\":\"wss://127.0.0.1:$port\"" || { echo "no REST answer over TLS: $resp"; cat "$tmp/err"; exit 1; }
kill -TERM "$pid"
wait "$pid"
status=$?
pid=
[ $status -eq 0 ] || { echo "exit status $status after SIGTERM"; cat "$tmp/err"; exit 1; }
echo "TLS smoke test passed"
