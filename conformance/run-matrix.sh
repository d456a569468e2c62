#!/usr/bin/env bash
# run-matrix.sh: runs every scenario in scenarios/ against each client through
# `mockgateway run`, then writes matrix.md, matrix.json and matrix.html (one
# self-contained page: the matrix, each cell opening that run's transcript).
#
#   bash conformance/run-matrix.sh [--clients a,b,c] [--out DIR] [--build DIR]
#        [--jobs N] [-j N] [--no-install] [--scenarios PATH...]
#
#   --clients   comma list (default: all): dgw-client, discordjs-ws,
#               discordjs, eris, oceanic
#   --out DIR   where matrix.md, matrix.json, matrix.html and results/CLIENT/*.log
#               (the trimmed transcripts the matrix links to) go (default: conformance)
#   --build DIR meson build dir with mockgateway and dgw-client (default: build);
#               raw outputs (JUnit XML, full transcripts, runner output, the
#               client's own report.html) go to BUILD/conformance/CLIENT/
#   --jobs N    clients run in parallel, each with its own mock (default 3)
#   -j N        scenarios of one client run in parallel (`mockgateway run -j N`,
#               each with its own mock and client process; default 1)
#   --no-install  skip `npm ci` (node_modules already installed)
#   --scenarios   scenario files/dirs (default: scenarios/); must be last
# Network: only the npm registry (npm ci, from package-lock.json).
# Exit status: 0 when the matrix was written (FAIL cells are data, not errors;
# conformance/ci.sh is the regression gate), 2 on setup errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

all_clients=dgw-client,discordjs-ws,discordjs,eris,oceanic
clients=$all_clients out=$here build=build jobs=3 sjobs=1 install=1 scenarios=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -j) sjobs=$2; shift 2 ;;
    --no-install) install=0; shift ;;
    --scenarios) shift; scenarios=("$@"); break ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run-matrix.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(scenarios/)
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)
mg=$build/mockgateway/mockgateway
[[ -x $mg ]] || { echo "run-matrix.sh: $mg not built (ninja -C $build)" >&2; exit 2; }

IFS=, read -r -a list <<< "$clients"
need_node=0
for c in "${list[@]}"; do
  case $c in
    dgw-client) [[ -x $build/examples/dgw-client ]] || { echo "run-matrix.sh: $build/examples/dgw-client not built" >&2; exit 2; } ;;
    discordjs-ws|discordjs|eris|oceanic) need_node=1 ;;
    *) echo "run-matrix.sh: unknown client $c (known: $all_clients)" >&2; exit 2 ;;
  esac
done

t0=$(date +%s)
if [[ $need_node = 1 ]]; then
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "run-matrix.sh: node and npm are needed (WITH_NODE=1 bash scripts/setup-debian.sh)" >&2; exit 2; }
  if [[ $install = 1 ]]; then
    echo "== npm ci (conformance/package-lock.json)"
    (cd "$here" && npm ci --omit=optional --no-audit --no-fund --loglevel=error)
  fi
fi
t_install=$(( $(date +%s) - t0 ))

client_cmd() { # prints the client command, one word per line
  case $1 in
    dgw-client) echo "$build/examples/dgw-client" ;;
    discordjs-ws) printf '%s\n' node "$here/adapters/discordjs-ws.mjs" ;;
    discordjs) printf '%s\n' node "$here/adapters/discordjs.mjs" ;;
    eris) printf '%s\n' node "$here/adapters/eris.cjs" ;;
    oceanic) printf '%s\n' node "$here/adapters/oceanic.mjs" ;;
  esac
}

run_client() {
  local c=$1 raw=$build/conformance/$1 s e
  rm -rf "$raw"; mkdir -p "$raw"
  mapfile -t cmd < <(client_cmd "$c")
  s=$(date +%s)
  "$mg" run -j "$sjobs" --junit "$raw/junit.xml" --transcript-dir "$raw/transcripts" --html "$raw/report.html" \
    "${scenarios[@]}" -- "${cmd[@]}" > "$raw/run.txt" 2> "$raw/stderr.txt" || true
  e=$(date +%s)
  echo $(( e - s )) > "$raw/seconds"
  echo "   $c: $(tail -n1 "$raw/run.txt") ($(( e - s )) s)"
}

echo "== scenarios x clients: ${list[*]} (${jobs} clients at a time, ${sjobs} scenarios each)"
t1=$(date +%s)
running=0
for c in "${list[@]}"; do
  run_client "$c" &
  running=$(( running + 1 ))
  if [[ $running -ge $jobs ]]; then wait -n || true; running=$(( running - 1 )); fi
done
wait
t_run=$(( $(date +%s) - t1 ))

node "$here/tools/matrix.mjs" write --root "$root" --raw "$build/conformance" --out "$out" \
  --clients "$clients" --install-seconds "$t_install" --run-seconds "$t_run" -- "${scenarios[@]}"
