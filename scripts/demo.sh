#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds, and runs the demo: the mock
# gateway with TLS on loopback and the example client talking to it.
# Usage: bash scripts/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bash scripts/setup-debian.sh
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build"
fi
ninja -C "$build" >/dev/null
exec bash examples/demo.sh "$build"
