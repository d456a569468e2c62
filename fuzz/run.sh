#!/bin/sh
# fuzz/run.sh TARGET SECONDS [libfuzzer|afl]
#
# Builds the fuzz targets if needed (build-fuzz: CC=clang -Dfuzzing=true;
# build-afl: CC=afl-clang-fast with ASan), runs TARGET for SECONDS on its
# corpus (fuzz/corpus/TARGET) with its dictionary, and on a crash minimizes
# the input and copies it to fuzz/regressions/TARGET/.
#
# New inputs found go to a work corpus (build-fuzz/corpus-work/TARGET), not
# to fuzz/corpus: merge the interesting ones by hand with
#   build-fuzz/fuzz/TARGET -merge=1 fuzz/corpus/TARGET build-fuzz/corpus-work/TARGET
# Environment: JOBS (libFuzzer -jobs/-workers; its logs go to fuzz-N.log in
# the current directory), FUZZ_ARGS (more libFuzzer flags), BUILD_DIR,
# AFL_BUILD_DIR.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
target=${1:?usage: fuzz/run.sh TARGET SECONDS [libfuzzer|afl]}
secs=${2:?usage: fuzz/run.sh TARGET SECONDS [libfuzzer|afl]}
engine=${3:-libfuzzer}
case $target in fuzz_*) ;; *) target=fuzz_$target ;; esac

corpus=$here/corpus/$target
dict=$here/dict/$target.dict
regress=$here/regressions/$target
mkdir -p "$regress"
dictarg=
[ -f "$dict" ] && dictarg=yes
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"

mg_opts="-Dmockgateway=true"
[ -f "$top/mockgateway/meson.build" ] || mg_opts=
common="-Dtests=false -Dexamples=false -Dwerror=true $mg_opts"

case $engine in
libfuzzer)
    bd=${BUILD_DIR:-$top/build-fuzz}
    if [ ! -f "$bd/build.ninja" ]; then
        CC=clang meson setup "$bd" "$top" -Dfuzzing=true $common
    fi
    ninja -C "$bd" "fuzz/$target"
    work=$bd/corpus-work/$target
    art=$bd/artifacts/$target/
    # Only this run's findings count: an artifact of an earlier run is
    # already in regressions/ (or was a harness bug since fixed).
    rm -rf "$art"
    mkdir -p "$work" "$art"
    log=$bd/artifacts/$target.log
    set +e
    "$bd/fuzz/$target" -max_total_time="$secs" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        ${JOBS:+-jobs="$JOBS" -workers="$JOBS"} ${FUZZ_ARGS:-} \
        ${dictarg:+-dict="$dict"} -artifact_prefix="$art" \
        "$work" "$corpus" 2>&1 | tee "$log"
    set -e
    crashes=$(ls "$art" 2>/dev/null | grep -E '^(crash|leak|timeout|oom)-' || true)
    if [ -z "$crashes" ]; then
        echo "run.sh: $target: no crash in ${secs}s"
        exit 0
    fi
    for c in $crashes; do
        min=$regress/$c
        "$bd/fuzz/$target" -minimize_crash=1 -max_total_time=60 \
            -exact_artifact_path="$min" "$art$c" >/dev/null 2>&1 || true
        [ -s "$min" ] || cp "$art$c" "$min"
        echo "run.sh: $target: crash kept as $min"
        "$bd/fuzz/$target" "$min" 2>&1 | grep -E 'ERROR|runtime error|==fuzz==' | head -5
    done
    exit 1
    ;;
afl)
    bd=${AFL_BUILD_DIR:-$top/build-afl}
    # UBSan is added by hand rather than with AFL_USE_UBSAN (which traps
    # without a report).
    if [ ! -f "$bd/build.ninja" ]; then
        CC=afl-clang-fast AFL_USE_ASAN=1 meson setup "$bd" "$top" \
            -Db_lundef=false $common \
            -Dc_args="-fsanitize=undefined -fno-sanitize-recover=undefined" \
            -Dc_link_args=-fsanitize=undefined
    fi
    AFL_USE_ASAN=1 ninja -C "$bd" "fuzz/${target}_replay"
    out=$bd/afl-out/$target
    mkdir -p "$out"
    # AFL++ wants small seeds: drop the big ones.
    seeds=$bd/afl-in/$target
    rm -rf "$seeds"; mkdir -p "$seeds"
    find "$corpus" -type f -size -64k -exec cp {} "$seeds" \;
    export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
    export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0
    export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:symbolize=0"
    set +e
    timeout -s INT "$((secs + 30))" afl-fuzz -V "$secs" -i "$seeds" -o "$out" \
        ${dictarg:+-x "$dict"} -m none -- "$bd/fuzz/${target}_replay"
    set -e
    found=0
    for c in "$out"/default/crashes/id:*; do
        [ -f "$c" ] || continue
        found=1
        name=afl-$(basename "$c" | cut -d, -f1 | tr -d ':')
        afl-tmin -i "$c" -o "$regress/$name" -m none -- "$bd/fuzz/${target}_replay" \
            >/dev/null 2>&1 || cp "$c" "$regress/$name"
        echo "run.sh: $target: crash kept as $regress/$name"
    done
    [ "$found" = 0 ] && echo "run.sh: $target: no crash in ${secs}s"
    exit "$found"
    ;;
*)
    echo "run.sh: engine must be libfuzzer or afl" >&2
    exit 2
    ;;
esac
