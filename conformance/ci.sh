#!/usr/bin/env bash
# ci.sh [BUILD_DIR]: the conformance regression gate (run by .ci/run).
#  1. the scenario matrix for dgw-client and @discordjs/ws (run-matrix.sh,
#     written to BUILD/conformance-ci/, not over the committed matrix);
#     fails on regressions only: any dgw-client scenario failing, or a cell
#     listed in conformance/known-good.json failing;
#  2. issue #4's interop check: @discordjs/ws + @discordjs/rest against the
#     mock's default mode (connect, IDENTIFY, READY, GUILD_CREATE), and the
#     scenario session/reconnect-op7-resume.json (resume after RECONNECT).
# Prints one PASS/FAIL line per check and a closing "N passed, N failed".
# Needs node + npm (WITH_NODE=1 scripts/setup-debian.sh) and the npm registry.
# CONFORMANCE_JOBS: scenarios per client run at once (default 4; see
# mockgateway/README.md, "Parallel runs").
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
build=${1:-build}
start=$(date +%s)
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "conformance/ci.sh: node and npm are needed (WITH_NODE=1 bash scripts/setup-debian.sh)"; exit 2; }
ninja -C "$build" >/dev/null || { echo "conformance/ci.sh: build failed"; exit 2; }
mg=$build/mockgateway/mockgateway
out=$build/conformance-ci
pass=0 fail=0
count() { # adds the "N passed, N failed" of a step's output
  local line; line=$(grep -E '^(gate: )?[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n1)
  if [[ -z $line ]]; then fail=$(( fail + 1 )); echo "FAIL  $2: no summary line"; return; fi
  line=${line#gate: }
  pass=$(( pass + ${line%% passed*} ))
  line=${line#* passed, }; fail=$(( fail + ${line%% failed*} ))
}

echo "== conformance 1/3: matrix dgw-client + @discordjs/ws (regressions against known-good.json)"
t=$(date +%s)
if ! bash "$here/run-matrix.sh" --clients dgw-client,discordjs-ws --build "$build" --out "$out" --jobs 2 \
    -j "${CONFORMANCE_JOBS:-4}"; then
  echo "FAIL  run-matrix.sh could not run"; fail=$(( fail + 1 ))
else
  node "$here/tools/matrix.mjs" check --matrix "$out/matrix.json" --known-good "$here/known-good.json" \
    | tee "$out/gate.txt" | grep -v '^gate:'
  count "$out/gate.txt" "matrix gate"
fi
echo "   ($(( $(date +%s) - t )) s; transcripts in $out/results/, the page: $out/matrix.html)"

echo "== conformance 2/3: interop, @discordjs/ws + @discordjs/rest against the default mode"
t=$(date +%s)
node "$here/tools/interop-discordjs-ws.mjs" "$mg" > "$out/interop.txt" 2>&1
grep -E '^(PASS|FAIL)' "$out/interop.txt"; count "$out/interop.txt" "interop"
echo "   ($(( $(date +%s) - t )) s)"

echo "== conformance 3/3: @discordjs/ws resumes after RECONNECT (scenarios/session/reconnect-op7-resume.json)"
t=$(date +%s)
"$mg" run --transcript-dir "$out/reconnect" scenarios/session/reconnect-op7-resume.json \
  -- node "$here/adapters/discordjs-ws.mjs" > "$out/reconnect.txt" 2>/dev/null
sed -n 's/^\(PASS\|FAIL\)  /\1  @discordjs\/ws /p' "$out/reconnect.txt"; count "$out/reconnect.txt" "reconnect-resume"
echo "   ($(( $(date +%s) - t )) s)"

echo "== conformance done in $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
