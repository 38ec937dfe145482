#!/usr/bin/env bash
# compare-llamacpp.sh — ggperf vs llama.cpp on the same files and machine,
# side by side: interleaved rounds of `llama-bench` and `ggperf bench` (one
# run of each weight placement), every file's page-cache residency checked
# (and the file re-read) before each side runs, both imported as ggperf
# results, and one Markdown table of medians, ratios and 95% CIs.
#
#   scripts/compare-llamacpp.sh [options] LLAMA_BENCH MODEL.gguf...
#     -p LIST        prompt sizes (default 64,512)
#     -n LIST        generation lengths (default 32)
#     -t LIST        thread counts (default 1,2)
#     -r N           repetitions per run (default 3)
#     --rounds N     interleaved rounds (default 2): samples pool over rounds
#     --weights LIST ggperf placements (default hugepage,map)
#     -o DIR         output folder (default compare-TIMESTAMP)
#     --ggperf BIN   the ggperf binary (default build/ggperf)
#
# LLAMA_BENCH is a llama-bench binary built outside this project (CPU only,
# Release). Writes DIR/raw/*.json (each tool's own output), DIR/results/*.json
# (`ggperf import`), DIR/residency.tsv and DIR/compare.md; prints the table.
# Ratio = ggperf median / llama.cpp median tokens/s; its 95% CI is a
# percentile bootstrap over both sides' samples (seeded, reproducible).
set -euo pipefail

P=64,512 N=32 T=1,2 R=3 ROUNDS=2 WEIGHTS=hugepage,map OUT= GG=
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    -p) P=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -t) T=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --weights) WEIGHTS=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    --ggperf) GG=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "compare-llamacpp: unknown flag $1" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || usage
LB=$1; shift
here=$(cd "$(dirname "$0")/.." && pwd)
GG=${GG:-$here/build/ggperf}
OUT=${OUT:-compare-$(date +%Y%m%d-%H%M%S)}
[ -x "$LB" ] || { echo "compare-llamacpp: $LB: not an executable llama-bench" >&2; exit 2; }
[ -x "$GG" ] || { echo "compare-llamacpp: $GG: not built (make)" >&2; exit 2; }
for m in "$@"; do [ -r "$m" ] || { echo "compare-llamacpp: $m: cannot read" >&2; exit 2; }; done
case "$ROUNDS$R" in *[!0-9]*) echo "compare-llamacpp: -r and --rounds take integers" >&2; exit 2 ;; esac
mkdir -p "$OUT/raw" "$OUT/results"
printf 'round\tside\tmodel\tresident_before\tresident_after_warm\n' > "$OUT/residency.tsv"

# Bring the file into the page cache and record what was there before: a
# side that starts on an evicted file times the disk (the kernel reclaims
# page cache on its own here).
warm() { # side model round
    local before after
    before=$("$GG" pagecache "$2" | cut -d' ' -f1)
    after=$("$GG" pagecache --warm "$2" | cut -d' ' -f1)
    printf '%s\t%s\t%s\t%s\t%s\n' "$3" "$1" "$(basename "$2")" "$before" "$after" >> "$OUT/residency.tsv"
    awk -v a="$after" 'BEGIN { exit !(a >= 0.99) }' ||
        echo "compare-llamacpp: warning: $2 only $after resident after warming (memory pressure?)" >&2
}

say() { [ -t 2 ] && printf '\r%-78s' "$*" >&2 || true; }
for ((round = 1; round <= ROUNDS; round++)); do
    for m in "$@"; do
        b=$(basename "$m" .gguf)
        # Alternate which side goes first, so drift in the machine's state
        # (heat, other tenants) does not always favour one side.
        order="llama ggperf"
        [ $((round % 2)) -eq 0 ] && order="ggperf llama"
        for side in $order; do
            warm "$side" "$m" "$round"
            if [ "$side" = llama ]; then
                say "round $round/$ROUNDS $b: llama-bench"
                "$LB" -m "$m" -p "$P" -n "$N" -t "$T" -r "$R" -o json > "$OUT/raw/llama-$b-r$round.json" 2> "$OUT/raw/llama-$b-r$round.log"
            else
                for w in ${WEIGHTS//,/ }; do
                    say "round $round/$ROUNDS $b: ggperf bench --weights $w"
                    "$GG" bench -m "$m" --weights "$w" -p "$P" -n "$N" -t "$T" -r "$R" -o json \
                        > "$OUT/raw/ggperf-$w-$b-r$round.json" 2> "$OUT/raw/ggperf-$w-$b-r$round.log"
                done
            fi
        done
    done
done
# Where llama.cpp put each file's weights: with an extra buffer type (AMX
# on CPUs that have it, repacked layouts elsewhere) its default "mmap" run
# copies the matching tensors into anonymous memory, and only the rest is
# read from the mapping; that decides which ggperf placement is like for
# like. One short verbose run per file, after the timed rounds.
for m in "$@"; do
    b=$(basename "$m" .gguf)
    say "llama-bench -v: buffers of $b"
    "$LB" -m "$m" -p 0 -n 1 -t 1 -r 1 -v -o json > /dev/null 2> "$OUT/raw/llama-$b-buffers.log" || true
done
say ""
[ -t 2 ] && printf '\n' >&2

for f in "$OUT"/raw/llama-*.json; do "$GG" import llama-bench "$f" -o "$OUT/results/$(basename "$f")" --force; done
for f in "$OUT"/raw/ggperf-*.json; do "$GG" import ggperf-bench "$f" -o "$OUT/results/$(basename "$f")" --force; done

/usr/bin/python3 - "$OUT" "$WEIGHTS" "$@" <<'PY' | tee "$OUT/compare.md"
import json, glob, os, random, statistics, sys
out, weights, models = sys.argv[1], sys.argv[2].split(','), sys.argv[3:]
def cell_key(test, threads): return (test, int(threads))
data = {}  # (model, side) -> {(test, threads): [samples]}
for m in models:
    b = os.path.basename(m)[:-5] if m.endswith('.gguf') else os.path.basename(m)
    for f in sorted(glob.glob(f"{out}/raw/llama-{b}-r*.json")):
        for t in json.load(open(f)):
            test = (f"pp{t['n_prompt']}" if t['n_gen'] == 0 else f"tg{t['n_gen']}")
            data.setdefault((b, 'llama.cpp'), {}).setdefault(cell_key(test, t['n_threads']), []).extend(t['samples_ts'])
    for w in weights:
        for f in sorted(glob.glob(f"{out}/raw/ggperf-{w}-{b}-r*.json")):
            for t in json.load(open(f)):
                data.setdefault((b, w), {}).setdefault(cell_key(t['test'], t['threads']), []).extend(t['samples'])
rng = random.Random(1)
def ratio_ci(a, b, n=2000):
    rs = sorted(statistics.median(rng.choices(a, k=len(a))) / statistics.median(rng.choices(b, k=len(b))) for _ in range(n))
    return rs[int(0.025 * n)], rs[int(0.975 * n) - 1]
hdr = "| model | test | threads | llama.cpp t/s | " + " | ".join(f"ggperf {w} t/s | ratio [95% CI]" for w in weights) + " |"
print(hdr)
print("|" + "---|" * (3 + 1 + 2 * len(weights)))
def order(k): return (0 if k[0].startswith('pp') else 1, int(k[0][2:]), k[1])
for m in models:
    b = os.path.basename(m)[:-5] if m.endswith('.gguf') else os.path.basename(m)
    ll = data.get((b, 'llama.cpp'), {})
    for k in sorted(ll, key=order):
        row = f"| {b} | {k[0]} | {k[1]} | {statistics.median(ll[k]):.1f} |"
        for w in weights:
            g = data.get((b, w), {}).get(k)
            if not g:
                row += " n/a | n/a |"
                continue
            r = statistics.median(g) / statistics.median(ll[k])
            lo, hi = ratio_ci(g, ll[k])
            row += f" {statistics.median(g):.1f} | **{r:.2f}×** [{lo:.2f}, {hi:.2f}] |"
        print(row)
print(f"\nSamples per cell: both sides' repetitions pooled over the rounds; residency before each side in residency.tsv.")
import re
print("\nWhere llama.cpp put the weights (its load log, `llama-bench -v`):\n")
for m in models:
    b = os.path.basename(m)[:-5] if m.endswith('.gguf') else os.path.basename(m)
    try:
        log = open(f"{out}/raw/llama-{b}-buffers.log", errors="replace").read()
    except OSError:
        log = ""
    bufs = re.findall(r"(\S+) model buffer size =\s*([0-9.]+) MiB", log)
    if not bufs:
        print(f"- {b}: not in its log (no verbose load lines)")
        continue
    copied = [(n, float(v)) for n, v in bufs if n not in ("CPU_Mapped", "CPU")]
    desc = ", ".join(f"{n} {float(v):.0f} MiB" for n, v in bufs)
    if copied:
        print(f"- {b}: {desc}. The {', '.join(n for n, _ in copied)} buffer is a copy in anonymous memory "
              f"(repacked at load): for those tensors llama.cpp's default is a copy, like ggperf's "
              f"`--weights hugepage`/`read`, not a mapping.")
    else:
        print(f"- {b}: {desc}: read in place from the mapping, like ggperf's `--weights map`.")
PY
