#!/usr/bin/env bash
# sharding_conformance.sh MOCKGATEWAY DGW_SHARDS NAIVE_SHARDS SCENARIO_DIR
#
# The sharding scenarios hold: every one PASSes for dgw-shards, and every
# one FAILs for the naive client (naive_shards.c, which IDENTIFYs every
# shard at once and never RESUMEs), each for the reason it checks: the
# pacing ones on the bucket they overran. A scenario added to the folder
# must FAIL for the naive client too (any reason) unless listed below.
# Also: a client that declares no --supports gets SKIP lines, not failures.
set -u
mg=${1:?usage: sharding_conformance.sh MOCKGATEWAY DGW_SHARDS NAIVE_SHARDS SCENARIO_DIR}
shards=${2:?}
naive=${3:?}
dir=${4:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

# What each scenario must fail on for the naive client ("PASS": it must pass).
declare -A why=(
    [sharding-pacing-max-concurrency-1]="got two IDENTIFYs"
    [sharding-pacing-max-concurrency-2]="got two IDENTIFYs"
    [sharding-budget-exhausted-spends-no-more]="got two IDENTIFYs"
    [sharding-invalid-session-requeues-one-shard]="got two IDENTIFYs"
    [sharding-reconnect-resumes-without-buckets]="got two IDENTIFYs"
    [sharding-restart-forgotten-session-identifies]="got two IDENTIFYs"
    [sharding-restart-resumes-every-shard]="got two IDENTIFYs"
    [sharding-required-4011-fatal]="got two IDENTIFYs"
    [sharding-restart-with-no-session-start-left]="no session start left"
    [sharding-invalid-shard-4010-fatal]="must not (PROTOCOL.md 4: this close code is fatal)"
    [sharding-zombie-one-shard-alone]="did not close within"
    [sharding-guild-routing-and-seq-per-shard]="PASS"
)

echo "== dgw-shards: every scenario passes"
"$mg" run --supports sharding,restart --transcript-dir "$tmp/dgw-shards" "$dir" -- "$shards" \
    >"$tmp/good.out" 2>"$tmp/good.err"
status=$?
cat "$tmp/good.out"
[ $status -eq 0 ] || { bad "dgw-shards: exit status $status"; tail -n 60 "$tmp/good.err"; }
grep -q "^FAIL" "$tmp/good.out" && bad "dgw-shards failed a scenario"

echo "== the naive client: every scenario fails, for its reason"
"$mg" run --supports sharding,restart "$dir" -- "$naive" >"$tmp/naive.out" 2>/dev/null
cat "$tmp/naive.out"
n=0
while IFS= read -r line; do
    case $line in
    "PASS  "* | "FAIL  "*) ;;
    *) continue ;;
    esac
    n=$((n + 1))
    name=${line:6}
    name=${name%% *}
    want=${why[$name]:-}
    if [ "$want" = PASS ]; then
        [[ $line == PASS* ]] || bad "$name: the naive client should pass it (it paces nothing it checks): $line"
    elif [[ $line != FAIL* ]]; then
        bad "$name: the naive client passed it"
    elif [ -n "$want" ] && [[ $line != *"$want"* ]]; then
        bad "$name: failed, but not for \"$want\": $line"
    fi
done <"$tmp/naive.out"
[ $n -ge 10 ] || bad "only $n scenarios ran"

echo "== the naive client sharing one seq among its shards fails the guild routing scenario"
"$mg" run --supports sharding "$dir/guild-routing.json" -- "$naive" --shared-seq >"$tmp/seq.out" 2>/dev/null
cat "$tmp/seq.out"
grep -q "^FAIL  sharding-guild-routing-and-seq-per-shard .*heartbeat d: expected" "$tmp/seq.out" ||
    bad "a client sharing one seq passed the guild routing scenario"

echo "== a client that declares nothing skips them"
"$mg" run "$dir/pacing-max-concurrency-1.json" -- "$shards" >"$tmp/skip.out" 2>/dev/null
status=$?
cat "$tmp/skip.out"
[ $status -eq 0 ] && grep -q "^SKIP  sharding-pacing-max-concurrency-1 .*requires sharding" "$tmp/skip.out" &&
    grep -q "^0 passed, 0 failed$" "$tmp/skip.out" || bad "no SKIP for a client without --supports sharding"

[ $fail -eq 0 ] && echo "PASS"
exit $fail
