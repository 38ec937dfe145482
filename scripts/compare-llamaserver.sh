#!/bin/sh
# compare-llamaserver.sh [options] LABEL=URL [LABEL=URL ...] — the same load,
# measured the same way, against completions servers on this machine (e.g.
# ggperf=http://127.0.0.1:8080 llama=http://127.0.0.1:8081, both serving the
# same GGUF file): `ggperf loadgen` sends streamed token-id prompts with
# ignore_eos (both servers honour it), so each request generates exactly
# --gen tokens on either side; TTFT and inter-token gaps are timed on the
# wire; open-loop latencies count from the intended send time.
#
# Per round, for every server in turn (rounds interleave the servers, so
# drift on a shared machine hits both alike):
#   closed loop at each --clients value (default "1 8")
#   open loop at each --rate value (requests/s; default none)
# Output: one JSON object per run on stdout (loadgen --json plus "label",
# "round"), and a summary table on stderr: median over rounds of tokens/s
# and p95 TTFT per server and load, and the ratio of the first server to
# each other one.
#
# Options: --rounds N (3), --clients "1 8", --rates "", --requests N (32),
#   --prompt P (32), --gen G (64), --vocab V (32000: must not exceed the
#   model's vocabulary), --ggperf BIN (build/ggperf), --lock FILE (run each
#   load under `flock FILE`; default /tmp/ggperf-timing.lock, "" for none).
# Only 127.0.0.1 / localhost URLs are accepted (ggperf loadgen refuses others).
set -eu

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
rounds=3 clients="1 8" rates="" requests=32 prompt=32 gen=64 vocab=32000
bin=${GGPERF_BIN:-build/ggperf} lock=/tmp/ggperf-timing.lock
servers=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --prompt) prompt=$2; shift 2 ;;
    --gen) gen=$2; shift 2 ;;
    --vocab) vocab=$2; shift 2 ;;
    --ggperf) bin=$2; shift 2 ;;
    --lock) lock=$2; shift 2 ;;
    -h|--help) usage ;;
    *=http://*) servers="$servers $1"; shift ;;
    *) echo "compare-llamaserver: '$1' is not an option or LABEL=URL" >&2; usage ;;
    esac
done
[ -n "$servers" ] || usage
[ -x "$bin" ] || { echo "compare-llamaserver: $bin is not executable (make, or --ggperf BIN)" >&2; exit 1; }
for s in $servers; do
    url=${s#*=}
    curl -sf --max-time 5 "$url/health" >/dev/null || { echo "compare-llamaserver: $url/health does not answer" >&2; exit 1; }
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { # label round loadgen-args...
    label=$1 round=$2; shift 2
    if [ -n "$lock" ]; then set -- flock "$lock" "$bin" loadgen "$@"; else set -- "$bin" loadgen "$@"; fi
    line=$("$@" --json) || { echo "compare-llamaserver: $label: loadgen failed" >&2; return 0; }
    printf '%s\n' "$line" | sed "s/^{/{\"label\":\"$label\",\"round\":$round,/" | tee -a "$out"
}
common="--requests $requests --prompt $prompt --gen $gen --vocab $vocab"
# Warm-up: one short closed-loop run per server (page cache, first allocations).
for s in $servers; do "$bin" loadgen --url "${s#*=}" --clients 2 --requests 4 --prompt "$prompt" --gen 8 --vocab "$vocab" --json >/dev/null || true; done
r=1
while [ "$r" -le "$rounds" ]; do
    for c in $clients; do
        for s in $servers; do run "${s%%=*}" "$r" --url "${s#*=}" --clients "$c" $common; done
    done
    for q in $rates; do
        for s in $servers; do run "${s%%=*}" "$r" --url "${s#*=}" --clients 256 --rate "$q" $common; done
    done
    r=$((r + 1))
done

python3 - "$out" >&2 <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
labels = []
for r in rows:
    if r["label"] not in labels:
        labels.append(r["label"])
def key(r):
    return ("closed %d clients" % r["clients"]) if r["mode"] == "closed" else ("open %g req/s" % r["rate"])
loads = []
for r in rows:
    if key(r) not in loads:
        loads.append(key(r))
print("%-22s %-10s %12s %12s %9s" % ("load", "server", "tokens/s", "p95 TTFT ms", "failed"))
for ld in loads:
    base = None
    for lb in labels:
        rs = [r for r in rows if r["label"] == lb and key(r) == ld]
        if not rs:
            continue
        tps = statistics.median(r["tokens_per_s"] for r in rs)
        p95 = statistics.median(r["ttft_ms"]["p95"] for r in rs)
        fail = sum(r["failed"] + r["refused"] for r in rs)
        ratio = ""
        if base is None:
            base = (tps, p95)
        else:
            ratio = "  (%s/%s: tokens/s x%.2f, p95 TTFT x%.2f)" % (labels[0], lb, base[0] / tps if tps else float("nan"),
                                                             base[1] / p95 if p95 else float("nan"))
        print("%-22s %-10s %12.1f %12.2f %9d%s" % (ld, lb, tps, p95, fail, ratio))
print("medians over %d round(s); each run %s" % (max(r["round"] for r in rows), "streamed, ignore_eos, token-id prompts"))
PY
