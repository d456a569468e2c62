#!/bin/sh
# fuzz/merge_corpus.sh TARGET [MAX_FILES]
#
# Folds what run.sh found (build-fuzz/corpus-work/TARGET) into the committed
# corpus fuzz/corpus/TARGET, keeping it small: the generated seeds
# (gen_corpus.c's names, and scenario files) stay; libFuzzer's -merge=1
# picks the work inputs that add coverage, and the largest of them are kept
# up to MAX_FILES (default 100) files in all, each under MAX_BYTES
# (environment, default 65536).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
target=${1:?usage: fuzz/merge_corpus.sh TARGET [MAX_FILES]}
case $target in fuzz_*) ;; *) target=fuzz_$target ;; esac
max=${2:-100}
bd=${BUILD_DIR:-$top/build-fuzz}
corpus=$here/corpus/$target
work=$bd/corpus-work/$target
export UBSAN_OPTIONS="halt_on_error=1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/m"
for f in "$corpus"/*; do
    case $(basename "$f") in found-*) ;; *) cp "$f" "$tmp/m/" ;; esac
done
ls "$tmp/m" | sort > "$tmp/seeds.txt"
nseeds=$(wc -l < "$tmp/seeds.txt")
# Adds to $tmp/m the work inputs that bring coverage beyond the seeds.
"$bd/fuzz/$target" -merge=1 "$tmp/m" "$work" >/dev/null 2>&1
room=$((max - nseeds))
rm -f "$corpus"/found-*
if [ "$room" -gt 0 ]; then
    ls -S "$tmp/m" | grep -vxF -f "$tmp/seeds.txt" | while read -r f; do
        [ "$(stat -c %s "$tmp/m/$f")" -lt "${MAX_BYTES:-65536}" ] && echo "$f"
    done | head -n "$room" | while read -r f; do
        cp "$tmp/m/$f" "$corpus/found-$(echo "$f" | cut -c1-16)"
    done
fi
# Inputs that fail the plain replay build hit a known library bug (the
# fuzzing build skips those, see README): they belong in regressions/, not
# in the corpus CI replays.
replay=$bd/fuzz/${target}_replay
if [ -x "$replay" ]; then
    for f in "$corpus"/found-*; do
        [ -f "$f" ] || continue
        "$replay" "$f" >/dev/null 2>&1 || { echo "dropped $(basename "$f") (known bug)"; rm -f "$f"; }
    done
fi
echo "merge_corpus: $target: $(ls "$corpus" | wc -l) files, $(du -sh "$corpus" | cut -f1)"
