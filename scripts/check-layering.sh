#!/bin/sh
# check-layering.sh [ROOT] — fail on an #include that crosses a forbidden
# boundary of the architecture (STYLE.md's picture):
#
#   engine/     -> engine/ only (libc, libm, pthreads)
#   results/    -> results/ only (the format harness and reports share)
#   modelgen/   -> engine/, modelgen/
#   harness/    -> engine/, modelgen/, results/, harness/
#   workloads/  -> engine/, modelgen/, results/, harness/, serve/, workloads/
#   reports/    -> results/, reports/ (a report never links the engine)
#   serve/      -> engine/, serve/ (the HTTP server; workloads and the CLI sit on it)
#   bench/      -> engine/, harness/, bench/
#   fuzz/       -> anything but cli/
#   cli/, tests/ -> anything (nothing outside them includes cli/)
#   base/       -> base/ only; and every folder above may include base/
#
# base/ holds header-only, libc-only helpers that every layer needs (the
# error-message helper, the growable bitset). It is the one folder the
# engine may include besides its own: a header there adds no object file,
# no library flag and no include of ours, so libengine.a still links alone
# with -lm -pthread. A .c file in base/ is therefore a violation too.
#
# Prints one line per violation, FILE:LINE: includes "X" (DIR may not
# include DIR2), and exits 1 if there is any; 0 and a count otherwise.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2

allowed() { # dir of the includer -> space-separated dirs it may include
    case "$1" in
    base) echo "base" ;;
    engine) echo "engine" ;;
    results) echo "results" ;;
    modelgen) echo "engine modelgen" ;;
    harness) echo "engine modelgen results harness" ;;
    workloads) echo "engine modelgen results harness serve workloads" ;;
    serve) echo "engine serve" ;;
    reports) echo "results reports" ;;
    bench) echo "engine harness bench" ;;
    fuzz) echo "engine modelgen results harness workloads reports serve fuzz tests" ;;
    cli | tests) echo "*" ;;
    *) echo "" ;;
    esac
}

bad=0
files=0
for f in $(find base engine results modelgen harness workloads reports serve bench fuzz cli tests \
                -name '*.[ch]' -o -name '*.cc' 2>/dev/null | sort); do
    files=$((files + 1))
    top=${f%%/*}
    ok=$(allowed "$top")
    # Lines of the form #include "dir/..." (system headers are not ours to police).
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]*/' "$f" | while IFS= read -r line; do
        n=${line%%:*}
        inc=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
        dir=${inc%%/*}
        [ "$ok" = "*" ] && continue
        [ "$dir" = base ] && continue
        case " $ok " in *" $dir "*) continue ;; esac
        [ -d "$dir" ] || continue # a local subfolder of the includer, e.g. "suites.h" paths
        echo "$f:$n: includes \"$inc\" ($top/ may not include $dir/)"
    done
done > "${TMPDIR:-/tmp}/layering.$$"
find base -name '*.c' -o -name '*.cc' 2>/dev/null | sed 's|$|: base/ is header-only (it would add an object file to every layer, the engine too)|' >> "${TMPDIR:-/tmp}/layering.$$"
bad=$(wc -l < "${TMPDIR:-/tmp}/layering.$$")
cat "${TMPDIR:-/tmp}/layering.$$"
rm -f "${TMPDIR:-/tmp}/layering.$$"
if [ "$bad" -gt 0 ]; then
    echo "layering: $bad forbidden include(s) in $files files" >&2
    exit 1
fi
echo "layering: $files files, no forbidden include"
