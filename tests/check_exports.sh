#!/bin/sh
# check_exports.sh LIBDGW_SO DGW_H DGW_PC - the shared library exports
# exactly the functions dgw.h declares (internal helpers stay hidden, so no
# program can come to depend on them), and dgw.pc names no absolute library
# paths (a packager must be able to use it as it is).
set -u
so=${1:?usage: check_exports.sh libdgw.so dgw.h dgw.pc}
hdr=${2:?}
pc=${3:?}
NM=${NM:-nm}
exported=$("$NM" -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sort)
declared=$(sed -n 's/.*DGW_API [^(]*[ *]\(dgw_[a-z0-9_]*\)(.*/\1/p' "$hdr" | sort -u)
[ -n "$declared" ] || { echo "no DGW_API declarations found in $hdr" >&2; exit 2; }
bad=0
extra=$(printf '%s\n' "$exported" | comm -23 - /dev/fd/3 3<<EOT
$declared
EOT
)
missing=$(printf '%s\n' "$declared" | comm -13 /dev/fd/3 - 3<<EOT
$exported
EOT
)
if [ -n "$extra" ]; then
    echo "exported but not in dgw.h:"; echo "$extra" | sed 's/^/  /'; bad=1
fi
if [ -n "$missing" ]; then
    echo "declared in dgw.h but not exported:"; echo "$missing" | sed 's/^/  /'; bad=1
fi
if grep -E '^(Libs|Libs.private):.*(^|[[:space:]])/' "$pc" >/dev/null; then
    echo "dgw.pc links by absolute path:"; grep -E '^Libs' "$pc"; bad=1
fi
[ $bad -eq 0 ] || exit 1
echo "OK: $(echo "$exported" | wc -l) exported functions, all declared in dgw.h; dgw.pc is relocatable"
