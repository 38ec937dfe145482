#!/usr/bin/env bash
# gate-power.sh — does the gate catch a real slowdown? Gates a build whose
# matmuls are PCT% slower (make SLOW_KERNEL_PCT=PCT: every thread's share of
# every matmul spins PCT% of its own time, on any kernel path) against this
# build, N times, with the default gate settings.
#
# usage: scripts/gate-power.sh [--mode ab|files] [-n N] [-r R] [--pct PCT]
#                              [--bin BIN] [--slow SLOW_BIN] [--dir DIR] [--no-lock]
#                              [-- EXTRA RUN ARGS]
#
#   ab     ggperf ab --baseline-bin BIN --current-bin SLOW decode --threads 1,2
#          (default pairs and budget; -r R sets the pairs)
#   files  ggperf run decode --threads 1,2 -r R with BIN, then with SLOW
#          (default R 20), then ggperf gate --baseline A --current B
#
# SLOW defaults to build-slow$PCT/ggperf, built when missing (PCT default 5).
# Each run (files) or interleaved pair (ab) holds flock /tmp/ggperf-timing.lock. Per trial a line
# "trial I: CAUGHT|missed (tokens_per_s change C%, MDE M%)"; at the end:
#   POWER: MODE: caught K of N (a PCT% slower matmul); tokens_per_s change median C%, MDE median M%
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=ab N=3 R="" PCT=5 BIN=${GGPERF_BIN:-$ROOT/build/ggperf} SLOW="" DIR="" LOCK=/tmp/ggperf-timing.lock
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        --mode) MODE=$2; shift 2 ;;
        -n) N=$2; shift 2 ;;
        -r) R=$2; shift 2 ;;
        --pct) PCT=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --slow) SLOW=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        --no-lock) LOCK=""; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "gate-power.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
case "$MODE" in ab|files) ;; *) echo "gate-power.sh: --mode ab|files" >&2; exit 2 ;; esac
[ -x "$BIN" ] || { echo "gate-power.sh: $BIN: no ggperf binary (make)" >&2; exit 2; }
if [ -z "$SLOW" ]; then
    SLOW=$ROOT/build-slow$PCT/ggperf
    if [ ! -x "$SLOW" ]; then
        echo "gate-power.sh: building $SLOW (make SLOW_KERNEL_PCT=$PCT)" >&2
        make -C "$ROOT" -j2 BUILD="build-slow$PCT" SLOW_KERNEL_PCT="$PCT" SAN= "build-slow$PCT/ggperf" >/dev/null
    fi
fi
[ -x "$SLOW" ] || { echo "gate-power.sh: $SLOW: no slow binary" >&2; exit 2; }
DIR=${DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ggperf-power.XXXXXX")}
mkdir -p "$DIR"

locked() { if [ -n "$LOCK" ]; then flock "$LOCK" "$@"; else "$@"; fi; }

trial() {
    local i=$1 st=0
    if [ "$MODE" = ab ]; then
        "$BIN" ab --baseline-bin "$BIN" --current-bin "$SLOW" decode --threads 1,2 ${R:+-r "$R"} \
            ${EXTRA[@]+"${EXTRA[@]}"} ${LOCK:+--lock "$LOCK"} --dir "$DIR/trial$i" -o json >"$DIR/trial$i.json" \
            2>"$DIR/trial$i.log" || st=$?
    else
        local a="$DIR/trial$i-A.jsonl" b="$DIR/trial$i-B.jsonl"
        rm -f "$a" "$b" "${a%.jsonl}.json" "${b%.jsonl}.json"
        # one lock per run: a -r 20 run of both thread counts takes about two minutes
        locked "$BIN" run decode --threads 1,2 -r "${R:-20}" ${EXTRA[@]+"${EXTRA[@]}"} --stream "$a" -o jsonl \
            >/dev/null 2>"$DIR/trial$i.log" || return 2
        locked "$SLOW" run decode --threads 1,2 -r "${R:-20}" ${EXTRA[@]+"${EXTRA[@]}"} --stream "$b" -o jsonl \
            >/dev/null 2>>"$DIR/trial$i.log" || return 2
        "$BIN" gate --baseline "$a" --current "$b" -o json >"$DIR/trial$i.json" 2>>"$DIR/trial$i.log" || st=$?
    fi
    return "$st"
}

caught=0
changes=() mdes=()
for i in $(seq 1 "$N"); do
    st=0
    trial "$i" || st=$? # the runs take the lock themselves (ab per pair)
    if [ "$st" -ge 2 ]; then
        echo "trial $i: ERROR (exit $st; see $DIR/trial$i.log)" >&2
        exit 2
    fi
    # the tokens_per_s rows: their median change and MDE over the configurations
    read -r ch mde <<<"$(python3 - "$DIR/trial$i.json" <<'EOF'
import json, statistics, sys
rows = [r for r in json.load(open(sys.argv[1]))["comparisons"] if r["metric"] == "tokens_per_s"]
ch = [r["change"] for r in rows if isinstance(r.get("change"), float)]
md = [r["mde"] for r in rows if r.get("mde") is not None]
print("%.2f" % (100 * statistics.median(ch)) if ch else "?", "%.2f" % (100 * statistics.median(md)) if md else "?")
EOF
)"
    changes+=("$ch") mdes+=("$mde")
    if [ "$st" -eq 1 ]; then caught=$((caught + 1)); v=CAUGHT; else v=missed; fi
    echo "trial $i: $v (tokens_per_s change $ch%, MDE $mde%)"
done
med() { printf '%s\n' "$@" | grep -v '?' | sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "?"}'; }
echo "POWER: $MODE: caught $caught of $N (a $PCT% slower matmul); tokens_per_s change median $(med "${changes[@]}")%, MDE median $(med "${mdes[@]}")% [files in $DIR]"
