#!/usr/bin/env bash
# run-matrix.sh: runs every scenario in scenarios/ against each client through
# `mockgateway run`, then writes matrix.md, matrix.json, matrix.html (one
# self-contained page: the matrix, each cell opening that run's transcript),
# results/ and bugs/.
#
#   bash conformance/run-matrix.sh [--clients a,b,c] [--out DIR] [--build DIR]
#        [--jobs N] [-j N] [--no-install] [--scenarios PATH...]
#
#   --clients   comma list (default: all): dgw-client, dgw-shards,
#               discordjs-ws, discordjs, eris, oceanic, discordeno, seyfert,
#               detritus, discordpy
#   --out DIR   where matrix.md, matrix.json, matrix.html, results/CLIENT/*.log
#               (the trimmed transcripts the matrix links to) and bugs/ go
#               (default: conformance)
#   --build DIR meson build dir with mockgateway and the dgw examples
#               (default: build); raw outputs (JUnit XML, full transcripts,
#               runner output, the client's own report.html) go to
#               BUILD/conformance/CLIENT/
#   --jobs N    clients run in parallel, each with its own mock (default 3)
#   -j N        scenarios of one client run in parallel (`mockgateway run -j N`,
#               each with its own mock and client process; default 1)
#   --no-install  skip `npm ci` (node_modules already installed)
#   --scenarios   scenario files/dirs (default: scenarios/); must be last
# dgw-shards runs every scenario, the sharded ones too (--supports sharding,restart),
# with the shard count /gateway/bot gives.
# seyfert only connects to wss:// on port 443 (its WebSocket ignores the URL's
# scheme and port), so its mock serves TLS on 127.0.0.1:443 with throwaway
# certificates (mockgateway/tools/make-test-certs.sh) that node trusts
# through NODE_EXTRA_CA_CERTS; one port, so its scenarios run one at a time
# whatever -j says.
# Network: only the npm registry (npm ci, from package-lock.json; the native
# zlib-sync and erlpack are built from source by their install scripts, as
# "allowScripts" in package.json lets them).
# Exit status: 0 when the matrix was written and every non-PASS cell is
# judged (tools/matrix.mjs); 1 when a cell is unjudged or a verdict breaks the
# rules (the matrix is written anyway); 2 on setup errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

all_clients=dgw-client,dgw-shards,discordjs-ws,discordjs,eris,oceanic,discordeno,seyfert,detritus,discordpy
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
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "run-matrix.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(scenarios/)
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=$(cd "$build" && pwd)
mg=$build/mockgateway/mockgateway
[[ -x $mg ]] || { echo "run-matrix.sh: $mg not built (ninja -C $build)" >&2; exit 2; }
python=/usr/bin/python3 # Debian's, where python3-discord lives

IFS=, read -r -a list <<< "$clients"
need_node=0 need_etf=0
for c in "${list[@]}"; do
  case $c in
    dgw-client|dgw-shards) [[ -x $build/examples/$c ]] || { echo "run-matrix.sh: $build/examples/$c not built" >&2; exit 2; } ;;
    eris|detritus) need_node=1 need_etf=1 ;;
    discordjs-ws|discordjs|oceanic|discordeno|seyfert) need_node=1 ;;
    discordpy) "$python" -c 'import discord' 2>/dev/null || {
      echo "run-matrix.sh: discord.py missing: apt-get install python3-discord (scripts/setup-debian.sh)" >&2; exit 2; } ;;
    *) echo "run-matrix.sh: unknown client $c (known: $all_clients)" >&2; exit 2 ;;
  esac
done

t0=$(date +%s)
if [[ $need_node = 1 ]]; then
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "run-matrix.sh: node and npm are needed (WITH_NODE=1 bash scripts/setup-debian.sh)" >&2; exit 2; }
  trees=("$here")
  [[ $need_etf = 1 ]] && trees+=("$here/etf")
  for t in "${trees[@]}"; do
    if [[ $install = 1 ]]; then
      echo "== npm ci (${t#"$root"/}/package-lock.json)"
      (cd "$t" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    # The native modules must have been built: a client that silently fell
    # back to another path would be judged on something else.
    for m in zlib-sync $([[ $t = "$here/etf" ]] && echo erlpack); do
      (cd "$t" && node -e "require('$m')") 2>/dev/null || {
        echo "run-matrix.sh: ${t#"$root"/}: the native $m does not load (did its install script run? npm ci needs g++, make, python3; \"allowScripts\" in package.json)" >&2; exit 2; }
    done
  done
  if (cd "$here" && node -e "require('erlpack')") 2>/dev/null; then
    echo "run-matrix.sh: conformance/node_modules has erlpack: eris and oceanic.js would speak ETF in the JSON runs" >&2; exit 2
  fi
fi
t_install=$(( $(date +%s) - t0 ))

client_cmd() { # prints the client command, one word per line
  case $1 in
    dgw-client|dgw-shards) echo "$build/examples/$1" ;;
    discordjs-ws|discordjs|oceanic|discordeno|seyfert) printf '%s\n' node "$here/adapters/$1.mjs" ;;
    eris|detritus) printf '%s\n' node "$here/adapters/$1.cjs" ;;
    discordpy) printf '%s\n' "$python" "$here/adapters/discordpy.py" ;;
  esac
}

run_client() {
  local c=$1 raw=$build/conformance/$1 s e j=$sjobs mgopts=() envs=()
  rm -rf "$raw"; mkdir -p "$raw"
  mapfile -t cmd < <(client_cmd "$c")
  # dgw-shards takes the sharded scenarios too (a restart included).
  [[ $c = dgw-shards ]] && mgopts=(--supports sharding,restart)
  if [[ $c = seyfert ]]; then
    sh "$root/mockgateway/tools/make-test-certs.sh" "$raw/certs" >/dev/null
    mgopts=(--tls --cert "$raw/certs/server.pem" --key "$raw/certs/server.key" --ca "$raw/certs/ca.pem" --listen 127.0.0.1:443)
    envs=(NODE_EXTRA_CA_CERTS="$raw/certs/ca.pem") j=1
  fi
  s=$(date +%s)
  env "${envs[@]}" "$mg" run -j "$j" "${mgopts[@]}" --junit "$raw/junit.xml" --transcript-dir "$raw/transcripts" \
    --html "$raw/report.html" "${scenarios[@]}" -- "${cmd[@]}" > "$raw/run.txt" 2> "$raw/stderr.txt" || true
  retry_unstarted "$c" "$raw" "$j" "${mgopts[@]}"
  retry_unstarted "$c" "$raw" "$j" "${mgopts[@]}"
  e=$(date +%s)
  echo $(( e - s )) > "$raw/seconds"
  echo "   $c: $(tail -n1 "$raw/run.txt") ($(( e - s )) s)"
}

# A scenario whose client never connected at all (a node client can take more
# than the 10 s window to start on a loaded machine) is run again, alone (two
# such passes at most); its new result replaces the old in run.txt (and its
# transcript), and the retry is said in retry.txt. A client that fails that
# way every time stays FAIL.
retry_unstarted() {
  local c=$1 raw=$2 j=$3 files; shift 3
  mapfile -t files < <(sed -n 's/^FAIL  [^ ]* (\([^)]*\)): at [0-9]* ms, connections\[0\] (waiting for the connection): the client did not connect within .*/\1/p' "$raw/run.txt")
  [[ ${#files[@]} -gt 0 ]] || return 0
  echo "   $c: ${#files[@]} scenario(s) where the client never connected (a loaded machine?): once more, one at a time"
  env "${envs[@]}" "$mg" run -j 1 "$@" --junit "$raw/junit-retry.xml" --transcript-dir "$raw/transcripts" \
    "${files[@]}" -- "${cmd[@]}" > "$raw/retry.txt" 2>> "$raw/stderr.txt" || true
  awk 'NR == FNR { if ($1 == "PASS" || $1 == "FAIL") again[$2] = $0; next }
       ($1 == "PASS" || $1 == "FAIL") && ($2 in again) { $0 = again[$2] }
       /^[0-9]+ passed, [0-9]+ failed$/ { next }
       { print; if ($1 == "PASS") p++; else if ($1 == "FAIL") f++ }
       END { print p + 0 " passed, " f + 0 " failed" }' "$raw/retry.txt" "$raw/run.txt" > "$raw/run.txt.new"
  mv "$raw/run.txt.new" "$raw/run.txt"
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
