#!/bin/sh
# fuzz.sh SECONDS — build every libFuzzer target fuzz/fuzz_NAME.c against the
# engine (ASan + UBSan) into build-fuzz/ and run each for SECONDS.
#
# Seeds come from fuzz/seeds/NAME/ and fuzz/regress/NAME/ (past findings;
# both read only) and fuzz/seeds/NAME.dict when present; new inputs go to the
# scratch corpus build-fuzz/corpus-NAME/, which later runs reuse. A finding
# becomes a file in fuzz/regress/NAME/ once fixed: make test replays those
# (tests/test_harden_fuzz_*.c). Prints the executions per target (libFuzzer's final
# "Done N runs" line) and exits non-zero if any target crashed, leaked, timed
# out or failed to build; the crashing input is left in build-fuzz/ and its
# path printed. Run one input again with: build-fuzz/fuzz_NAME FILE
#
# Environment: FUZZ_CC (default clang), FUZZ_TARGETS (space-separated names
# to run instead of all of them).
set -u

usage() { echo "usage: $0 SECONDS (seconds per target, 1..86400)" >&2; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in ''|*[!0-9]*) usage ;; esac
secs=$1
[ "$secs" -ge 1 ] && [ "$secs" -le 86400 ] || usage

cd "$(dirname "$0")/.." || exit 1
out=build-fuzz
cc=${FUZZ_CC:-clang}
mkdir -p "$out/engine" || exit 1

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: $cc not found (libFuzzer needs clang; scripts/install-deps.sh installs it)" >&2
    exit 1
fi

common="-std=c17 -g -O1 -I. -D_GNU_SOURCE -pthread -fno-omit-frame-pointer"
# The engine is instrumented for coverage but gets no main from libFuzzer.
engine_flags="$common -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
target_flags="$common -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

# The engine goes into an archive so each target links only what it uses.
# A file clang cannot compile is built with gcc, uninstrumented, and said
# so: targets that do not exercise it still get fuzzed.
objs=""
for src in engine/*.c; do
    obj="$out/engine/$(basename "$src" .c).o"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find engine -name '*.h' -newer "$obj" 2>/dev/null | head -1)" ]; then
        rm -f "$obj.gcc"
        if ! $cc $engine_flags -c "$src" -o "$obj" 2>"$obj.log"; then
            if gcc $common -c "$src" -o "$obj" 2>>"$obj.log"; then
                touch "$obj.gcc"
            else
                cat "$obj.log" >&2
                echo "fuzz: building $src failed" >&2
                exit 1
            fi
        fi
    fi
    [ -f "$obj.gcc" ] && echo "fuzz: warning: $src does not build with $cc (see $obj.log); linked uninstrumented (gcc)" >&2
    objs="$objs $obj"
done
lib="$out/libengine-fuzz.a"
rm -f "$lib"
ar rcs "$lib" $objs || exit 1

status=0
summary=""
for src in fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    if [ -n "${FUZZ_TARGETS:-}" ]; then
        case " $FUZZ_TARGETS " in *" $name "*) ;; *) continue ;; esac
    fi
    bin="$out/fuzz_$name"
    # sources and libraries beyond the engine that a target names on its
    # " * fuzz-build:" comment line (e.g. results/results.c -ljansson)
    extra=$(sed -n 's/^ \* fuzz-build: //p' "$src" | head -n 1)
    if ! $cc $target_flags "$src" $extra "$lib" -o "$bin" -lm; then
        echo "fuzz: building $src failed" >&2
        summary="$summary
  $name: BUILD FAILED"
        status=1
        continue
    fi
    corpus="$out/corpus-$name"
    mkdir -p "$corpus"
    set -- "$corpus"
    [ -d "fuzz/seeds/$name" ] && set -- "$@" "fuzz/seeds/$name"
    # past findings start every run (libFuzzer writes only to the first directory)
    [ -d "fuzz/regress/$name" ] && set -- "$@" "fuzz/regress/$name"
    dict=""
    [ -f "fuzz/seeds/$name.dict" ] && dict="-dict=fuzz/seeds/$name.dict"
    log="$out/fuzz_$name.log"
    echo "fuzz: $name for ${secs}s (log $log)"
    # -timeout catches inputs that make the target slow (quadratic parsing),
    # not just crashes.
    "$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$out/$name-" $dict "$@" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^Done \([0-9][0-9]*\) runs.*/\1/p' "$log" | tail -1)
    if [ $rc -ne 0 ]; then
        status=1
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "fuzz: $name FAILED (exit $rc); input: ${art:-see $log}" >&2
        grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$log" >&2
        summary="$summary
  $name: FAILED after ${runs:-?} runs, input ${art:-(none written)}"
    else
        summary="$summary
  $name: ${runs:-?} runs, no crash"
    fi
done

echo "fuzz summary (${secs}s per target):$summary"
exit $status
