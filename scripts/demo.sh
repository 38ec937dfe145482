#!/usr/bin/env bash
# The main job on the built-in default: build, synthesize the default models,
# run the load, threads and decode studies narrowed to the configurations
# their conclusions rest on, write the report, and print where it is.
#
# The sweeps are cut to fit about 5 minutes on 2 cores while giving the
# compared cells enough repetitions that their 95% CI of the median leaves
# out the extremes (10: ranks 2..9; with 8 or fewer it is min..max) and
# repetitions long enough to average out scheduling noise (16 tokens per
# decode repetition; a warm load repeats within its repetition until 100 ms
# have passed, see workloads/load.c). A cell whose headline figure is still flagged noisy
# after those (MAD or CI half-width over 5% of the median: on a shared VM a
# spinning second thread or a cold read often is at 10) gets more rounds, up
# to DEMO_MAX_REPS (ggperf run --until-trusted); one still flagged there
# stays flagged in the report:
#   load     read+copy vs mmap, cold and warm page cache (1.1B-shaped model,
#            each repetition a fresh process; `ggperf study load` has the
#            other strategies, the huge-page copy among them)
#   threads  1 and 2 threads, pinned or not, spinning or sleeping on a futex;
#            weights in a huge-page copy made at setup, so their placement is
#            the same in every repetition (a mapped file's page cache is
#            collapsed into huge pages by khugepaged as the run goes on, and
#            decode speeds up with it: a drift, not an effect of threads)
#   decode   reference vs fastest kernels, mapped vs huge-page weights, 1 thread
#
#   DEMO_REPS=N  repetitions per configuration (default 10)
#   DEMO_MAX_REPS=N  at most this many for a cell still flagged noisy (default 60:
#                    a cold read whose host disk cache has a slow spell needs
#                    more than 30 for its median's CI to leave the slow tail)
#   DEMO_OUT=DIR where results and the report go (default demo/)
#   DEMO_STEPS="1 2 ..." only these steps (default all five)
#   GGPERF_BIN=FILE the ggperf binary (default build/ggperf)
# Models go to ggperf's cache directory, the one every command uses
# ($GGPERF_CACHE, else $XDG_CACHE_HOME/ggperf, else ~/.cache/ggperf: `ggperf
# version` says which), not into the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${GGPERF_BIN:-build/ggperf}
OUT=${DEMO_OUT:-demo}
REPS=${DEMO_REPS:-10}
MAX_REPS=${DEMO_MAX_REPS:-60}
[ "$MAX_REPS" -ge "$REPS" ] || MAX_REPS=$REPS
STEPS=" ${DEMO_STEPS:-1 2 3 4 5} "
CACHE=$("$BIN" version | sed -n 's/^cache: //p')
case "$CACHE" in
    /*) ;;
    *) echo "demo: ggperf has no cache directory: ${CACHE:-?}" >&2; exit 1 ;;
esac
mkdir -p "$OUT/results"
# The demo owns $OUT/results: a rerun starts fresh streams.
rm -f "$OUT"/results/*.jsonl
START=$(date +%s)

step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - START))" >&2; }
want() { [[ "$STEPS" == *" $1 "* ]]; }

if want 1; then
step "1/5 synthesize a small model and show what ggperf reads in it"
MODEL=$CACHE/tiny-q4_0.gguf
[ -f "$MODEL" ] || "$BIN" synth --shape tiny --type Q4_0 -o "$MODEL"
"$BIN" info "$MODEL" | sed -n '1,12p'
echo "... (ggperf info $MODEL prints the whole tensor table)"
fi

if want 2; then
step "2/5 what this machine offers (counters, bandwidth, context switches)"
"$BIN" probe --json > "$OUT/probe.json"
"$BIN" probe --no-bandwidth --no-ctxsw | sed -n '1,12p'
fi

study() { # NAME [axis options...]
    local name=$1
    shift
    "$BIN" study "$name" -r "$REPS" --until-trusted "$MAX_REPS" "$@" --force -o json --out "$OUT/results/$name.json" \
        --stream "$OUT/results/$name.jsonl" >/dev/null
}

if want 3; then
step "3/5 load study: mmap vs read+copy, cold vs warm page cache (1.1B-shaped model)"
study load --load read,mmap --cache cold,warm
fi
if want 4; then
step "4/5 threads study (thread count, pinning, wait policy) and decode study (kernels, weights)"
study threads --threads 1,2 --pin off,on --wait spin,futex --n_gen 16 --weights hugepage
study decode --threads 1 --kernels ref,auto --weights map,hugepage --n_gen 16
fi

if want 5; then
step "5/5 report"
"$BIN" report "$OUT/results/load.json" "$OUT/results/threads.json" "$OUT/results/decode.json" \
    --probe "$OUT/probe.json" -o "$OUT/report" --force
# the answers, in the terminal too
sed -n '/^## Conclusions/,/^Each line:/p' "$OUT/report/report.md" | sed '$d' >&2
printf 'demo: %ss in all\n' "$(($(date +%s) - START))" >&2
fi
