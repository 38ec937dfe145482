#!/usr/bin/env bash
# gate-false-alarms.sh — how often does the gate cry wolf? Runs N
# back-to-back pairs with the SAME binary and gates each pair with the
# default settings; every failure is a false alarm.
#
# usage: scripts/gate-false-alarms.sh [--mode decode|load|ab] [-n N] [--bin BIN]
#                                     [--dir DIR] [--no-lock] [-- EXTRA RUN ARGS]
#
#   decode  ggperf run decode --threads 1,2 (default model 110m Q8_0, default
#           repetitions) twice, then ggperf gate --baseline A --current B
#   load    ggperf run load (defaults) twice, then ggperf gate
#   ab      ggperf ab --baseline-bin BIN --current-bin BIN decode --threads 1,2
#           (interleaved pairs, undecided resolved within the default budget)
#
# Each pair runs under flock /tmp/ggperf-timing.lock (one pair at a time on a
# shared machine; ab takes it per interleaved pair; --no-lock skips it). Per pair a line "pair I: PASS|FAIL
# (regressed R, undecided U)"; at the end one summary line:
#   FALSE ALARMS: MODE: F of N pairs failed (gate defaults) [BIN]
# Exit 0 (the count is the result, not the exit status); 2 on a failed run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=decode N=5 BIN=${GGPERF_BIN:-$ROOT/build/ggperf} DIR="" LOCK=/tmp/ggperf-timing.lock
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        --mode) MODE=$2; shift 2 ;;
        -n) N=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        --no-lock) LOCK=""; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "gate-false-alarms.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
case "$MODE" in decode|load|ab) ;; *) echo "gate-false-alarms.sh: --mode decode|load|ab" >&2; exit 2 ;; esac
[ -x "$BIN" ] || { echo "gate-false-alarms.sh: $BIN: no ggperf binary (make)" >&2; exit 2; }
DIR=${DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ggperf-false-alarms.XXXXXX")}
mkdir -p "$DIR"

# one_run OUT: the sweep of this mode into OUT (a JSONL stream)
one_run() {
    case "$MODE" in
        decode) "$BIN" run decode --threads 1,2 ${EXTRA[@]+"${EXTRA[@]}"} --stream "$1" -o jsonl >/dev/null ;;
        load) "$BIN" run load ${EXTRA[@]+"${EXTRA[@]}"} --stream "$1" -o jsonl >/dev/null ;;
    esac
}

# pair I: both runs and the gate, under one lock; prints the verdict line
pair() {
    local i=$1 a="$DIR/pair$1-A.jsonl" b="$DIR/pair$1-B.jsonl" st=0
    rm -f "$a" "$b" "${a%.jsonl}.json" "${b%.jsonl}.json"
    if [ "$MODE" = ab ]; then
        "$BIN" ab --baseline-bin "$BIN" --current-bin "$BIN" decode --threads 1,2 ${EXTRA[@]+"${EXTRA[@]}"} \
            ${LOCK:+--lock "$LOCK"} \
            --dir "$DIR/pair$i" -o json >"$DIR/pair$i.json" 2>"$DIR/pair$i.log" || st=$?
    else
        one_run "$a" 2>"$DIR/pair$i.log" || return 2
        one_run "$b" 2>>"$DIR/pair$i.log" || return 2
        "$BIN" gate --baseline "$a" --current "$b" -o json >"$DIR/pair$i.json" 2>>"$DIR/pair$i.log" || st=$?
    fi
    return "$st"
}
fails=0
for i in $(seq 1 "$N"); do
    st=0
    if [ -n "$LOCK" ] && [ "$MODE" != ab ]; then # ab takes the lock per pair itself
        (flock 9 && pair "$i") 9>>"$LOCK" || st=$?
    else
        pair "$i" || st=$?
    fi
    if [ "$st" -ge 2 ]; then
        echo "pair $i: ERROR (exit $st; see $DIR/pair$i.log)" >&2
        exit 2
    fi
    counts=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counts"]; print(c["regressed"], c["undecided"])' \
        "$DIR/pair$i.json" 2>/dev/null || echo "? ?")
    read -r reg und <<<"$counts"
    if [ "$st" -eq 1 ]; then fails=$((fails + 1)); v=FAIL; else v=PASS; fi
    echo "pair $i: $v (regressed $reg, undecided $und)"
done
echo "FALSE ALARMS: $MODE: $fails of $N pairs failed (gate defaults) [$BIN; files in $DIR]"
