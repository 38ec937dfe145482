#!/usr/bin/env bash
# ci/gate.sh — this project's own CI performance gate.
#
# Measures a small deterministic workload and gates it with `ggperf gate`
# against the committed baseline ci/baseline.json:
#
#   workload "ci-sim-logits": `ggperf logits` of two golden models
#   (tests/golden/shared-{Q8_0,Q4_0}.gguf, 32 tokens, batch and decode mode,
#   1 thread, reference kernels) under valgrind callgrind with a fixed cache
#   geometry, counting only inside infer_eval (--toggle-collect). The counts
#   (instructions, data reads and writes, simulated D1 and LL misses) are
#   source "sim": the same build gives the same numbers on every run, so the
#   gate uses its deterministic rule (median worse by more than 1% fails;
#   5% and 10% for the simulated D1 and LL misses, which move with memory
#   layout: declared with the metrics as their tolerance, see measure()) and one
#   repetition per configuration is
#   enough. Reference kernels and a
#   fixed cache geometry keep the counts independent of the runner's CPU
#   (the baseline is still tied to the compiler: Debian 12's gcc 12).
#
#   Plan: once `ggperf run` has a workload with --sim (the callgrind backend
#   of harness/counters/ctr.h), measure with it instead of converting callgrind
#   output here.
#
# usage: ci/gate.sh [--ggperf BIN] [--baseline FILE] [--out DIR] [-- GATE FLAGS...]
#        ci/gate.sh --update [--ggperf BIN]       re-measure and rewrite ci/baseline.json
#        ci/gate.sh --measure FILE [--ggperf BIN] only measure, write a results file
#        ci/gate.sh --selftest NORMAL_BIN SLOW_BIN  (make gate-selftest)
#
# BIN defaults to $GGPERF_BIN, else build/ggperf. The Markdown report goes to
# stdout and to DIR/report.md (DIR defaults to the binary's build dir +
# /ci-gate), and is appended to $GITHUB_STEP_SUMMARY when that is set.
# Exit: 0 pass, 1 regression, 2 unusable input or a failed measurement.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GGPERF=${GGPERF_BIN:-$ROOT/build/ggperf}
BASELINE=$ROOT/ci/baseline.json
OUTDIR=""
ACTION=gate
MEASURE_OUT=""
SELF_NORMAL="" SELF_SLOW=""
GATE_FLAGS=()

# CI_GATE_MODELS / CI_GATE_MODES narrow the sweep (the test suite measures one
# configuration); the committed baseline covers all four.
read -r -a MODELS <<<"${CI_GATE_MODELS:-Q8_0 Q4_0}"
read -r -a MODES <<<"${CI_GATE_MODES:-batch decode}"
TOKENS=$(seq -s, 3 31 964)   # 32 token ids spread over the 1024-token vocabulary
# Fixed cache geometry (valgrind-valid on any machine): I1 and D1 32 KiB
# 8-way, LL 1 MiB 16-way, 64-byte lines.
CACHE_FLAGS=(--I1=32768,8,64 --D1=32768,8,64 --LL=1048576,16,64)

die() { echo "ci/gate.sh: $*" >&2; exit 2; }
WORKDIRS=()
trap 'rm -rf ${WORKDIRS[@]+"${WORKDIRS[@]}"}' EXIT

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --ggperf) [ $# -ge 2 ] || die "--ggperf needs a path"; GGPERF=$2; shift 2 ;;
        --baseline) [ $# -ge 2 ] || die "--baseline needs a file"; BASELINE=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory"; OUTDIR=$2; shift 2 ;;
        --update) ACTION=update; shift ;;
        --measure) [ $# -ge 2 ] || die "--measure needs a file"; ACTION=measure; MEASURE_OUT=$2; shift 2 ;;
        --selftest) [ $# -ge 3 ] || die "--selftest needs NORMAL_BIN SLOW_BIN"
                    ACTION=selftest; SELF_NORMAL=$2; SELF_SLOW=$3; shift 3 ;;
        --) shift; GATE_FLAGS=("$@"); break ;;
        *) die "unknown argument '$1' (ci/gate.sh --help)" ;;
    esac
done

command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed (scripts/install-deps.sh installs it)"

# JSON string contents: escape backslash and quote, drop control characters.
jstr() { printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

# measure BIN OUT.json: one callgrind run per configuration, written as a
# ggperf results JSON document (schema ggperf-results, version 1).
measure() {
    local bin=$1 out=$2 work
    [ -x "$bin" ] || die "$bin: no ggperf binary (build it first: make)"
    work=$(mktemp -d "${TMPDIR:-/tmp}/ggperf-ci-gate.XXXXXX")
    WORKDIRS+=("$work")

    local version commit compiler flags cpu kernel vg
    version=$("$bin" version) || die "$bin version failed"
    commit=$(printf '%s\n' "$version" | sed -n 's/^ggperf //p' | head -1)
    compiler=$(printf '%s\n' "$version" | sed -n 's/^compiler: //p' | head -1)
    flags=$(printf '%s\n' "$version" | sed -n 's/^flags: //p' | head -1)
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    kernel=$(uname -r)
    vg=$(valgrind --version)

    # The client's stack holds its environment, argv and auxv, and where the
    # stack ends moves the simulated cache misses (by ~0.5%). So the command
    # runs with an empty environment, from the work dir, through symlinks
    # with fixed names: the same bytes on every machine and checkout.
    local vgbin abs_bin
    vgbin=$(command -v valgrind)
    abs_bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
    ln -s "$abs_bin" "$work/ggperf"
    local samples="" configs="" id=0 t0 now
    t0=$(date +%s)
    for model in "${MODELS[@]}"; do
        for mode in "${MODES[@]}"; do
            local gguf="$ROOT/tests/golden/shared-$model.gguf" cg="$work/cg.$id.out" log="$work/vg.$id.log"
            [ -f "$gguf" ] || die "$gguf: golden model missing"
            ln -sfn "$gguf" "$work/model.gguf"
            rm -f "$work/logits.f32" # logits -o keeps an existing file (no --force: argv moves the stack)
            local st=0
            (cd "$work" && env -i "$vgbin" --tool=callgrind --cache-sim=yes "${CACHE_FLAGS[@]}" \
                --toggle-collect=infer_eval --callgrind-out-file="cg.$id.out" --log-file="vg.$id.log" \
                ./ggperf logits -m model.gguf --tokens "$TOKENS" --mode "$mode" -t 1 --kernels ref \
                -o logits.f32) || st=$?
            if [ "$st" -ne 0 ] || [ ! -s "$cg" ]; then
                tail -5 "$log" >&2 || true
                die "callgrind run of $model/$mode failed (exit $st)"
            fi
            # "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw" and "summary: ..." in that order
            local vals
            vals=$(awk '/^events:/ { for (i = 2; i <= NF; i++) ev[i - 1] = $i; n = NF - 1 }
                        /^summary:/ { for (i = 2; i <= NF; i++) v[ev[i - 1]] = $i }
                        END { if (!n || v["Ir"] == "" || v["DLmw"] == "") exit 1;
                              printf "%s %s %s %.0f %.0f\n", v["Ir"], v["Dr"], v["Dw"],
                                     v["D1mr"] + v["D1mw"], v["DLmr"] + v["DLmw"] }' "$cg") \
                || die "$cg: no events/summary lines from callgrind"
            read -r ir dr dw d1 ll <<<"$vals"
            [ "$ir" -gt 0 ] || die "$model/$mode: callgrind counted nothing (was infer_eval renamed? --toggle-collect needs it)"
            now=$(date +%s)
            configs+="${configs:+,}{\"id\":$id,\"axes\":{\"model\":\"$model\",\"mode\":\"$mode\"}}"
            samples+="${samples:+,
}{\"kind\":\"sample\",\"config\":$id,\"rep\":0,\"axes\":{\"model\":\"$model\",\"mode\":\"$mode\"},\"ok\":true,\"error\":null,\"t_s\":$((now - t0)),\"metrics\":["
            local m="" name v
            for pair in "instructions:$ir" "data_reads:$dr" "data_writes:$dw" "d1_misses:$d1" "ll_misses:$ll"; do
                name=${pair%%:*} v=${pair#*:}
                tol=""
                case "$name" in d1_misses) tol=',"tolerance":0.05' ;; ll_misses) tol=',"tolerance":0.10' ;; esac
                # declared semantics (results/metric.h): deterministic counts, lower is better, gated
                m+="${m:+,}{\"name\":\"$name\",\"unit\":\"count\",\"source\":\"sim\",\"status\":\"ok\",\"value\":$v,\"better\":\"lower\",\"kind\":\"count\",\"gated\":true$tol}"
            done
            samples+="$m]}"
            id=$((id + 1))
        done
    done

    local created models_json modes_json
    created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    models_json=$(printf '"%s",' "${MODELS[@]}"); models_json=${models_json%,}
    modes_json=$(printf '"%s",' "${MODES[@]}"); modes_json=${modes_json%,}
    {
        printf '{"schema":"ggperf-results","version":1,"created":"%s",\n' "$created"
        printf '"workload":{"name":"ci-sim-logits","description":"callgrind counts of ggperf logits inside infer_eval (32 tokens, 1 thread, reference kernels) on golden models","isolated":true},\n'
        printf '"model":null,\n"axes":[{"name":"model","values":[%s]},{"name":"mode","values":[%s]}],\n' "$models_json" "$modes_json"
        printf '"configs":[%s],\n' "$configs"
        printf '"plan":{"repetitions":1,"warmup":0,"min_time_s":0,"max_rounds":1,"seed":0,"order":"sequential"},\n'
        printf '"environment":{"cpu":{"model_name":"%s"},"kernel":{"release":"%s"},' "$(jstr "$cpu")" "$(jstr "$kernel")"
        printf '"build":{"commit":"%s","compiler":"%s","flags":"%s"},' "$(jstr "$commit")" "$(jstr "$compiler")" "$(jstr "$flags")"
        printf '"isa_path":"ref","valgrind":"%s","sim":{"tool":"callgrind","collect":"infer_eval","I1":"32768,8,64","D1":"32768,8,64","LL":"1048576,16,64","tokens":"%s","threads":1}},\n' \
            "$(jstr "$vg")" "$TOKENS"
        printf '"probe":null,\n"samples":[\n%s\n],\n"complete":true}\n' "$samples"
    } >"$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
}

# Simulated misses move with memory layout, not only with the work done.
# Measured here: 20 runs of one build gave identical instruction, read,
# write and D1 counts and LL misses within 0.8%; an unrelated commit
# (logits/session code outside infer_eval) moved D1 misses by 1.8% and LL
# misses by 4.9%. So the counts of work done keep the deterministic 1%, and
# measure() declares a tolerance of 5% for D1 misses and 10% for LL misses
# with the metrics themselves: the gate runs with its default settings.

# gate BASE CUR REPORT: run ggperf gate, keep the Markdown, return its exit code.
gate() {
    local st=0
    "$GGPERF" gate --baseline "$1" --current "$2" ${GATE_FLAGS[@]+"${GATE_FLAGS[@]}"} >"$3" || st=$?
    cat "$3"
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$3" >>"$GITHUB_STEP_SUMMARY" || true; fi
    return "$st"
}

case "$ACTION" in
    measure)
        measure "$GGPERF" "$MEASURE_OUT"
        echo "ci/gate.sh: wrote $MEASURE_OUT" >&2 ;;
    update)
        measure "$GGPERF" "$BASELINE"
        echo "ci/gate.sh: wrote $BASELINE; review and commit it with the change that moved the counts" >&2 ;;
    gate)
        [ -f "$BASELINE" ] || die "$BASELINE: no baseline (ci/gate.sh --update makes one)"
        OUTDIR=${OUTDIR:-$(dirname "$GGPERF")/ci-gate}
        mkdir -p "$OUTDIR"
        measure "$GGPERF" "$OUTDIR/current.json"
        st=0
        gate "$BASELINE" "$OUTDIR/current.json" "$OUTDIR/report.md" || st=$?
        exit "$st" ;;
    selftest)
        OUTDIR=${OUTDIR:-$(dirname "$SELF_SLOW")/ci-gate-selftest}
        mkdir -p "$OUTDIR"
        GGPERF=$SELF_NORMAL
        measure "$SELF_NORMAL" "$OUTDIR/normal-1.json"
        measure "$SELF_NORMAL" "$OUTDIR/normal-2.json"
        measure "$SELF_SLOW" "$OUTDIR/slow.json"
        same=0 slow=0
        gate "$OUTDIR/normal-1.json" "$OUTDIR/normal-2.json" "$OUTDIR/same.md" >/dev/null || same=$?
        gate "$OUTDIR/normal-1.json" "$OUTDIR/slow.json" "$OUTDIR/slow.md" || slow=$?
        echo "gate selftest: same build twice -> exit $same (want 0); SLOW_KERNEL build -> exit $slow (want 1)" >&2
        [ "$same" -eq 0 ] && [ "$slow" -eq 1 ] || { echo "gate selftest: FAILED" >&2; exit 1; }
        echo "gate selftest: ok" >&2 ;;
esac
