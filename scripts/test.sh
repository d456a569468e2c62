#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds everything with -Werror and runs
# every test suite (unit, mockgateway, e2e, fuzz corpus replay), then the
# conformance gate (scenarios against dgw-client and @discordjs/ws from npm,
# and the @discordjs/ws interop check).
# Usage: bash scripts/test.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
WITH_NODE=1 bash scripts/setup-debian.sh
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dwerror=true
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2
bash conformance/ci.sh "$build"
