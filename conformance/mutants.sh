#!/usr/bin/env bash
# mutants.sh: how strict is the scenario suite? Runs every scenario against
# dgw-client-mutant once per mutant (libdgw with exactly one rule broken,
# lib/src/mutant.h) and records which scenarios kill it.
#
#   bash conformance/mutants.sh [--jobs N] [--only a,b] [--out DIR] [BUILD]
#   bash conformance/mutants.sh --rerun a,b [--jobs N] [--out DIR] [BUILD]
#   bash conformance/mutants.sh --gate [BUILD]
#
#   BUILD     meson build directory (default: build); dgw-client-mutant and
#             mockgateway are built in it if needed
#   --jobs N  mutants run at once, each with its own `mockgateway run` on
#             its own port (default 6: a run mostly waits on the
#             scenarios' timers; 6 at once took 34 min on 2 shared cores)
#   --only    these mutants only (and no report is written)
#   --out DIR raw outputs: runner output and transcripts per mutant
#             (default: BUILD/mutants)
#   --no-build  do not run ninja (the binaries must be built)
#   --report-only  write the report from the outputs in DIR again
#   --rerun a,b  in the outputs of an earlier full run, run these mutants
#             and the control again (after a scenario was added or
#             changed), then write the report; the report names the re-run
#   --gate    the CI gate (meson test --suite mutants): a handful of mutants,
#             each against the scenarios that must kill it, and the
#             unmutated program against the same scenarios, which must pass
#
# A full run first runs the unmutated program ("none", the control) with
# the mutants. Every scenario a mutant fails is run against it once more:
# a kill counts when the scenario failed both times. A scenario the control
# fails is noise under this load and kills nothing. Then it writes
# conformance/mutants.md and conformance/mutants.json: per mutant the rule
# it breaks, killed or survived, the killing scenarios; the score; the time.
# Every survivor needs a note below (a scenario to come, a docs line, or
# what the mock's scenario engine lacks); a survivor without one fails the
# run. Exit status: 0 report written (gate: every mutant killed, control
# passed), 1 otherwise, 2 setup errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
scenarios=$root/scenarios

# Scenarios that mean something only over wss:// (a downgrade needs TLS to
# downgrade from); each mutant runs them over TLS as well.
wss_scenarios=(session/resume-url-downgrade-refused)

# The gate: a mutant and the scenario that must kill it; quick ones, for
# the rules ports got wrong (issue 16) and for the blind spots the first
# full run found.
gate_pairs=(
  "reconnect-close-1000 session/reconnect-op7-resume"
  "seq-not-reset session/new-session-heartbeat-seq-null"
  "zombie-one-ack-flag heartbeat/op1-near-regular-beat-no-false-zombie"
  "backoff-base-100ms upgrade/retries-wait-at-least-half-the-base"
  "backoff-reset-on-ready session/backoff-not-reset-by-a-brief-session"
  "resume-after-4007 close-codes/4007-new-session"
  "no-resume-url-fallback session/dead-resume-url-falls-back"
  "hello-is-ack heartbeat/repeated-hello-keeps-zombie-check"
  "identify-before-hello handshake/nothing-before-hello"
  "heartbeat-interval-doubled heartbeat/keeps-beating"
  "reconnect-after-4004 close-codes/4004-fatal"
)

# Why a mutant survives (shown in the report); keep in step with the runs.
survivor_note() {
  case $1 in
    no-jitter) echo "what the engine lacks: a check across connections. The first beat's delay is random in [0, interval), so one connection's first beat tells nothing (a whole interval is that range's limit, and a correct client comes close to it now and then); a scenario that fails a client whose first beats all come later than 0.9 intervals over N connections (a false alarm with probability 0.1^N) needs an expectation over several connections, which the step engine (one step, one verdict) does not have." ;;
    resume-at-gateway-url) echo "what the engine lacks: a second address. The mock listens on one address and READY's resume_gateway_url is that address ({{url}}), so a client that resumes at the gateway URL looks the same as one that follows resume_gateway_url. Telling them apart needs the same server on a second port named only in READY (a {{resume_only_url}} template), with a RESUME on the first port failing the scenario." ;;
    *) return 1 ;;
  esac
}

# runs NAME LABEL [mockgateway run options and scenario files...]: one
# `mockgateway run` of the mutant NAME; its output in $out/NAME/LABEL.out.
runs() {
  local name=$1 label=$2; shift 2
  local dir=$out/$name
  mkdir -p "$dir"
  DGW_MUTANT=$name "$mg" run --transcript-dir "$dir/$label" "$@" -- "$client" --log-level debug \
    >"$dir/$label.out" 2>"$dir/$label.err" || true
}

# runs_wss NAME LABEL SCENARIO...: the same over wss:// with a test CA.
runs_wss() {
  local name=$1 label=$2 s; shift 2
  local files=()
  for s in "$@"; do files+=("$scenarios/$s.json"); done
  runs "$name" "$label" --tls --cert "$out/certs/server.pem" --key "$out/certs/server.key" \
    --ca "$out/certs/ca.pem" "${files[@]}"
}

# The scenarios (relative to scenarios/, without .json) failed in runner
# outputs.
failed_in() {
  local f
  for f in "$@"; do
    if [[ -f $f ]]; then cat "$f"; fi
  done | sed -n 's/^FAIL  [^ ]* (\([^()]*\.json\)): .*/\1/p' | sed "s|^$scenarios/||; s|\.json$||" | sort -u
}

# One mutant: the whole directory over ws://, the TLS scenarios over wss://,
# then every failed scenario once more.
one_mutant() {
  local name=$1 f
  runs "$name" ws "$scenarios"
  runs_wss "$name" wss "${wss_scenarios[@]}"
  local failed=() plain=() tls=()
  mapfile -t failed < <(failed_in "$out/$name/ws.out" "$out/$name/wss.out")
  [[ $name != none ]] || return 0
  for f in "${failed[@]}"; do
    if printf '%s\n' "${wss_scenarios[@]}" | grep -qx "$f"; then tls+=("$f"); else plain+=("$scenarios/$f.json"); fi
  done
  [[ ${#plain[@]} -eq 0 ]] || runs "$name" again "${plain[@]}"
  [[ ${#tls[@]} -eq 0 ]] || runs_wss "$name" again-wss "${tls[@]}"
}

# parallel COMMAND...: runs the commands, at most $jobs at once.
parallel() {
  local cmd
  for cmd in "$@"; do
    while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
    eval "$cmd" &
  done
  wait
}

gate() {
  local t0 p m s bad=0 cmds=() control=()
  t0=$(date +%s)
  for p in "${gate_pairs[@]}"; do
    read -r m s <<<"$p"
    cmds+=("runs $m gate $scenarios/$s.json")
    control+=("$scenarios/$s.json")
  done
  jobs=${GATE_JOBS:-3}
  parallel "runs none gate ${control[*]}" "${cmds[@]}"
  if ! grep -q '^[0-9]* passed, 0 failed$' "$out/none/gate.out"; then
    echo "FAIL: the unmutated client failed gate scenarios (see $out/none/):"
    grep '^FAIL' "$out/none/gate.out" || tail -n 5 "$out/none/gate.err"
    bad=1
  fi
  for p in "${gate_pairs[@]}"; do
    read -r m s <<<"$p"
    if failed_in "$out/$m/gate.out" | grep -qx "$s"; then
      echo "killed    $m by $s"
    else
      echo "SURVIVED  $m: $s no longer kills it (see $out/$m/)"
      bad=1
    fi
  done
  echo "gate: ${#gate_pairs[@]} mutants in $(( $(date +%s) - t0 )) s"
  return $bad
}

full() {
  local all=() picked=() cmds=("one_mutant none") m t0
  mapfile -t all < <(DGW_MUTANT=list "$client" | cut -f1)
  [[ ${#all[@]} -gt 0 ]] || { echo "mutants.sh: $client lists no mutants" >&2; exit 2; }
  picked=("${all[@]}")
  if [[ -n $only ]]; then
    IFS=, read -r -a picked <<<"$only"
    for m in "${picked[@]}"; do
      printf '%s\n' "${all[@]}" | grep -qx "$m" || { echo "mutants.sh: no mutant $m" >&2; exit 2; }
    done
  fi
  bash "$root/mockgateway/tools/make-test-certs.sh" "$out/certs" >/dev/null || {
    echo "mutants.sh: cannot make test certificates (openssl?)" >&2; exit 2; }
  for m in "${picked[@]}"; do cmds+=("one_mutant $m"); done
  echo "mutants.sh: ${#picked[@]} mutants and the control, $jobs at once; outputs in $out"
  t0=$(date +%s)
  parallel "${cmds[@]}"
  echo $(( $(date +%s) - t0 )) >"$out/seconds"
  echo "$jobs" >"$out/jobs"
  DGW_MUTANT=list "$client" | grep -E "^($(IFS='|'; echo "${picked[*]}"))"$'\t' >"$out/list.tsv"
}

# rerun: the mutants in $rerun and the control again, over the outputs of
# an earlier full run; what was re-run and its time go into $out/reruns.
rerun_mutants() {
  local picked=() cmds=("one_mutant none") m t0
  [[ -f $out/list.tsv ]] || { echo "mutants.sh: no full run in $out to re-run in" >&2; exit 2; }
  IFS=, read -r -a picked <<<"$rerun"
  for m in "${picked[@]}"; do
    cut -f1 "$out/list.tsv" | grep -qx "$m" || { echo "mutants.sh: no mutant $m in $out" >&2; exit 2; }
    cmds+=("one_mutant $m")
  done
  rm -rf "$out/none" "${picked[@]/#/$out/}"
  echo "mutants.sh: re-running ${picked[*]} and the control, $jobs at once"
  t0=$(date +%s)
  parallel "${cmds[@]}"
  printf '%s\t%s\t%s\n' "$rerun" "$(( $(date +%s) - t0 ))" "$jobs" >>"$out/reruns"
}

# The report from the outputs in $out: conformance/mutants.md and .json
# (with --only: a summary on stdout only).
report() {
  local m notes=$out/notes.tsv
  : >"$notes"
  while IFS=$'\t' read -r m _; do
    printf '%s\t%s\n' "$m" "$(survivor_note "$m" || true)" >>"$notes"
  done <"$out/list.tsv"
  local md=$here/mutants.md json=$here/mutants.json
  if [[ -n $only ]]; then md=$out/mutants.md json=$out/mutants.json; fi
  python3 - "$out" "$scenarios" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$md" "$json" <<'PY'
import json, os, re, sys, time
out, scenarios, commit, md_path, json_path = sys.argv[1:]
seconds = int(open(os.path.join(out, "seconds")).read())
jobs = int(open(os.path.join(out, "jobs")).read())
reruns = []
if os.path.exists(os.path.join(out, "reruns")):
    for line in open(os.path.join(out, "reruns")):
        names, secs, rjobs = line.rstrip("\n").split("\t")
        reruns.append({"mutants": names.split(","), "seconds": int(secs),
                       "command": f"bash conformance/mutants.sh --jobs {rjobs} --rerun {names}"})
fail_re = re.compile(r"^FAIL  \S+ \((.*?)\): (.*)$")

def reasons(name, *labels):
    """scenario id -> the runner's reason, for the FAIL lines of these runs"""
    got = {}
    for label in labels:
        try:
            lines = open(os.path.join(out, name, label + ".out")).read().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            m = fail_re.match(line)
            if m:
                sid = os.path.relpath(m.group(1), scenarios)[:-len(".json")]
                got.setdefault(sid, m.group(2))
    return got

rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "list.tsv"))]
notes = dict(l.rstrip("\n").split("\t") for l in open(os.path.join(out, "notes.tsv")))
control = reasons("none", "ws", "wss")
mutants = []
for name, what, rule in rows:
    first = reasons(name, "ws", "wss")
    again = reasons(name, "again", "again-wss")
    killed_by = [{"scenario": s, "reason": first[s]} for s in sorted(first)
                 if s in again and s not in control]
    once = sorted(s for s in first if s not in again and s not in control)
    mutants.append({"name": name, "what": what, "rule": rule,
                    "verdict": "killed" if killed_by else "survived",
                    "killed_by": killed_by, "failed_once": once,
                    "note": notes.get(name, "")})
killed = sum(m["verdict"] == "killed" for m in mutants)
total = len(mutants)
survivors = [m for m in mutants if m["verdict"] == "survived"]
report = {
    "commit": commit, "date": time.strftime("%Y-%m-%d"),
    "command": f"bash conformance/mutants.sh --jobs {jobs}",
    "jobs": jobs, "seconds": seconds, "reruns": reruns,
    "score": {"killed": killed, "total": total,
              "percent": round(100.0 * killed / total, 1) if total else 0.0},
    "control_failures": [{"scenario": s, "reason": r} for s, r in sorted(control.items())],
    "mutants": mutants,
}
with open(json_path, "w") as f:
    json.dump(report, f, indent=1)
    f.write("\n")

def cell(s):
    return s.replace("|", "\\|")
L = []
L.append("# Mutation score of the scenario suite")
L.append("")
L.append("Written by `conformance/mutants.sh` (do not edit). Each mutant is "
         "dgw-client with exactly one rule of docs/porting.md broken "
         "(`lib/src/mutant.h`); a mutant is killed when a scenario fails "
         "against it twice in a row and passes against the unmutated client "
         "in the same run.")
L.append("")
L.append(f"**Score: {killed} of {total} mutants killed "
         f"({report['score']['percent']} %).** Commit {commit}, "
         f"{report['date']}; `{report['command']}` took "
         f"{seconds // 60} min {seconds % 60} s "
         f"({jobs} mutants at once).")
L.append("")
for r in reruns:
    L.append(f"Then, after scenarios were added or changed, `{r['command']}` "
             f"ran these mutants and the control again over the whole suite "
             f"({r['seconds'] // 60} min {r['seconds'] % 60} s).")
    L.append("")
if control:
    L.append("The unmutated client failed these scenarios in this run (noise "
             "under load; they killed nothing here):")
    L.append("")
    for s, r in sorted(control.items()):
        L.append(f"- `{s}`: {r}")
    L.append("")
if survivors:
    L.append("## Survivors")
    L.append("")
    for m in survivors:
        L.append(f"- **{m['name']}** ({m['what']}): {m['note'] or 'NO NOTE'}")
    L.append("")
L.append("## Mutants")
L.append("")
L.append("| mutant | what it does | rule it breaks | verdict | killed by |")
L.append("|---|---|---|---|---|")
for m in mutants:
    by = ", ".join(f"`{k['scenario']}`" for k in m["killed_by"]) or "-"
    if m["failed_once"]:
        by += " (failed once only: " + ", ".join(f"`{s}`" for s in m["failed_once"]) + ")"
    L.append(f"| `{m['name']}` | {cell(m['what'])} | {cell(m['rule'])} | "
             f"{m['verdict']} | {by} |")
L.append("")
L.append("## First failure per kill")
L.append("")
for m in mutants:
    for k in m["killed_by"][:3]:
        L.append(f"- `{m['name']}` by `{k['scenario']}`: {cell(k['reason'])}")
L.append("")
with open(md_path, "w") as f:
    f.write("\n".join(L))
print(f"mutants.sh: {killed} of {total} killed ({report['score']['percent']} %) in {seconds} s; "
      f"wrote {md_path} and {json_path}")
missing = [m["name"] for m in survivors if not m["note"]]
if missing:
    print("mutants.sh: survivors without a note (add a scenario, a docs line, or a note): "
          + " ".join(missing))
sys.exit(1 if missing else 0)
PY
}

main() {
  local build=build nobuild=0 report_only=0
  jobs=6 only= out= rerun=
  local gate_mode=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --jobs) jobs=$2; shift 2 ;;
      --only) only=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      --gate) gate_mode=1; shift ;;
      --no-build) nobuild=1; shift ;;
      --rerun) rerun=$2; shift 2 ;;
      --report-only) report_only=1; shift ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
      -*) echo "mutants.sh: unknown option $1" >&2; exit 2 ;;
      *) build=$1; shift ;;
    esac
  done
  [[ $build = /* ]] || build=$root/$build
  [[ -d $build ]] || { echo "mutants.sh: no build directory $build (meson setup $build)" >&2; exit 2; }
  mg=$build/mockgateway/mockgateway
  client=$build/examples/dgw-client-mutant
  if [[ $nobuild = 0 && $report_only = 0 ]]; then
    ninja -C "$build" examples/dgw-client-mutant mockgateway/mockgateway >/dev/null || {
      echo "mutants.sh: cannot build dgw-client-mutant and mockgateway in $build" >&2; exit 2; }
  fi
  [[ -x $mg && -x $client ]] || { echo "mutants.sh: $mg or $client is not built" >&2; exit 2; }
  if [[ $gate_mode = 1 ]]; then
    out=${out:-$build/mutants-gate}
    rm -rf "$out"; mkdir -p "$out"
    gate
    return
  fi
  out=${out:-$build/mutants}
  if [[ -n $rerun ]]; then
    rerun_mutants
  elif [[ $report_only = 0 ]]; then
    rm -rf "$out"; mkdir -p "$out"
    full
  fi
  report
}

# Everything is in functions and the script exits on the line that calls
# main, so editing the script during a long run (replacing the file, or
# rewriting it in place) cannot change that run.
main "$@"; exit
