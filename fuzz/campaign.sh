#!/bin/sh
# fuzz/campaign.sh SECONDS [TARGET...]
#
# A fuzzing campaign: fuzz/run.sh TARGET SECONDS (libFuzzer, ASan+UBSan)
# for each target in turn (default: every target fuzz/meson.build builds),
# then one Markdown table row per target, from libFuzzer's final stats:
# executions, exec/s, edges and features covered, and whether it crashed.
# The table goes to stdout and to build-fuzz/campaign.md; a crash is kept
# in fuzz/regressions/TARGET by run.sh and makes the exit status 1.
#
# The work corpora it grows (build-fuzz/corpus-work/TARGET) are merged into
# fuzz/corpus by hand: fuzz/merge_corpus.sh.
# Environment: NICE (default 10): the niceness the fuzzers run at, so a
# campaign can share a machine with builds and tests.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
secs=${1:?usage: fuzz/campaign.sh SECONDS [TARGET...]}
shift
bd=${BUILD_DIR:-$top/build-fuzz}
if [ $# -eq 0 ]; then
    # Every target with a corpus is a target meson builds.
    set -- $(cd "$here/corpus" && ls -d fuzz_* | sort)
fi

table=$bd/campaign.md
mkdir -p "$bd"
{
    echo "| target | executions | exec/s | cov (edges) | ft (features) | crashes |"
    echo "|---|---:|---:|---:|---:|---|"
} >"$table"

status=0
total=0
for t in "$@"; do
    case $t in fuzz_*) ;; *) t=fuzz_$t ;; esac
    log=$bd/artifacts/$t.log
    if nice -n "${NICE:-10}" sh "$here/run.sh" "$t" "$secs" >/dev/null 2>&1; then
        crashed=0
    else
        crashed=1
        status=1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    total=$((total + ${execs:-0}))
    if [ "$crashed" = 1 ]; then
        what="**yes**: fuzz/regressions/$t"
    else
        what=0
    fi
    echo "| $t | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $what |" >>"$table"
done
echo "| total | $total | | | | |" >>"$table"
cat "$table"
exit "$status"
