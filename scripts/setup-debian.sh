#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on Debian 12.
# Run as root (CI and the README's commands do). Idempotent.
set -euo pipefail
pkgs=(meson ninja-build pkg-config cmake gcc clang libclang-rt-14-dev
      libbearssl-dev libwslay-dev libcjson-dev zlib1g-dev libzstd-dev
      libcriterion-dev openssl ca-certificates binutils)
pkgs+=(python3-jsonschema)  # scenarios/tools/validate.py: meson test scenario_schema
pkgs+=(erlang-base)  # escript: the Erlang runtime is the reference of tests/test_etf.c
pkgs+=(chromium)  # meson test report_browser: the HTML reports in a real headless browser
# Node (for the interop tests with npm clients): the machine's own node and
# npm when present (NodeSource's nodejs bundles npm), else Debian's. Node
# alone is always needed: meson test report_browser runs on it.
if [ "${WITH_NODE:-0}" = 1 ] && ! { command -v node && command -v npm; } >/dev/null; then
  pkgs+=(nodejs npm)
elif ! command -v node >/dev/null; then
  pkgs+=(nodejs)
fi
# npm builds zlib-sync (bench/peer, conformance/) with node-gyp: python3, make, g++.
[ "${WITH_NODE:-0}" = 1 ] && pkgs+=(python3 make g++)
[ "${WITH_AFL:-0}" = 1 ] && pkgs+=(afl++)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
