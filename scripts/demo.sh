#!/usr/bin/env bash
# The main job on the built-in default: build, synthesize the default models,
# run a short study set, write the report, and print where it is.
#   DEMO_REPS=N  repetitions per configuration (default 3; more = tighter CIs)
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
REPS=${DEMO_REPS:-3}
STEPS=" ${DEMO_STEPS:-1 2 3 4 5} "
CACHE=$("$BIN" version | sed -n 's/^cache: //p')
case "$CACHE" in
    /*) ;;
    *) echo "demo: ggperf has no cache directory: ${CACHE:-?}" >&2; exit 1 ;;
esac
mkdir -p "$OUT/results"
# The demo owns $OUT/results: a rerun starts fresh streams.
rm -f "$OUT"/results/*.jsonl

step() { printf '\n== %s\n' "$*" >&2; }
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

if want 3; then
step "3/5 load study: mmap vs read+copy, cold vs warm page cache (1.1B-shaped model)"
"$BIN" study load -r "$REPS" --force -o json --out "$OUT/results/load.json" \
    --stream "$OUT/results/load.jsonl" >/dev/null
fi
if want 4; then
step "4/5 threads study: thread count, pinning and wait policy"
"$BIN" study threads -r "$REPS" --force -o json --out "$OUT/results/threads.json" \
    --stream "$OUT/results/threads.jsonl" >/dev/null
"$BIN" study decode -r "$REPS" --force -o json --out "$OUT/results/decode.json" \
    --stream "$OUT/results/decode.jsonl" >/dev/null
fi

if want 5; then
step "5/5 report"
"$BIN" report "$OUT/results/load.json" "$OUT/results/threads.json" "$OUT/results/decode.json" \
    --probe "$OUT/probe.json" -o "$OUT/report" --force
fi
