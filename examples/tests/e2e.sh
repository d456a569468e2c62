#!/usr/bin/env bash
# e2e.sh ws|wss - runs dgw-client against the mock gateway's scenarios.
#   ws:  every scenario in $SCENARIOS, plain ws://
#   wss: a handful of them over TLS, the client trusting only a test CA
#        made for this run (mockgateway/tools/make-test-certs.sh)
# Environment (set by examples/meson.build): MOCKGATEWAY, DGW_CLIENT,
# SCENARIOS, MAKE_TEST_CERTS, and optionally E2E_OUT for the JUnit XML, the
# transcripts and report.html (kept for CI artifacts), and E2E_JOBS, the
# scenarios run at once (default 4; each has its own mock and client).
# The scenarios mostly wait on timers: 4 at a time take the whole directory
# from about 4 minutes to about 1 on 2 cores, with no flake in the runs
# measured (mockgateway/README.md, "Parallel runs").
set -u
mode=${1:?usage: e2e.sh ws|wss}
: "${MOCKGATEWAY:?}" "${DGW_CLIENT:?}" "${SCENARIOS:?}" "${MAKE_TEST_CERTS:?}"
out=${E2E_OUT:-$(pwd)}/e2e-$mode
jobs=${E2E_JOBS:-4}
rm -rf "$out"
mkdir -p "$out"

case $mode in
ws)
    exec "$MOCKGATEWAY" run -j "$jobs" --junit "$out/junit.xml" --transcript-dir "$out/transcripts" \
        --html "$out/report.html" "$SCENARIOS" -- "$DGW_CLIENT" --log-level debug
    ;;
wss)
    bash "$MAKE_TEST_CERTS" "$out/certs" >/dev/null || exit 1
    picked=()
    for s in handshake/identify-ready session/reconnect-op7-resume session/resume-url-used \
             heartbeat/missed-ack-zombie compression/zlib-stream-basic compression/zstd-stream-basic \
             framing/big-ready framing/tcp-split-writes close-codes/4004-fatal \
             session/resume-url-downgrade-refused session/dead-resume-url-falls-back \
             session/close-frame-with-eof-is-not-lost; do
        [[ -f $SCENARIOS/$s.json ]] && picked+=("$SCENARIOS/$s.json")
    done
    if [[ ${#picked[@]} -eq 0 ]]; then
        echo "no TLS scenarios found under $SCENARIOS"
        exit 1
    fi
    exec "$MOCKGATEWAY" run -j "$jobs" --tls --cert "$out/certs/server.pem" --key "$out/certs/server.key" \
        --ca "$out/certs/ca.pem" --junit "$out/junit.xml" --transcript-dir "$out/transcripts" --html "$out/report.html" \
        "${picked[@]}" -- "$DGW_CLIENT" --cafile "$out/certs/ca.pem" --log-level debug
    ;;
*)
    echo "usage: e2e.sh ws|wss"
    exit 2
    ;;
esac
