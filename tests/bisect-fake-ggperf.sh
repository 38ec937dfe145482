#!/bin/sh
# bisect-fake-ggperf.sh — a stand-in ggperf for the bisect test (test_gate.c):
# `run W ... -r N --stream F` writes N samples whose simulated count is the
# number in cost.txt of the commit it was "built" from, and whose tokens/s is
# 1e6 / cost with 1% noise. Building ggperf at every commit of a test repo
# would take minutes; this builds in a copy.
here=$(cd "$(dirname "$0")/.." && pwd)
cost=$(cat "$here/cost.txt")
reps=1 stream=""
while [ $# -gt 0 ]; do
  case "$1" in -r) reps=$2; shift ;; --stream) stream=$2; shift ;; esac
  shift
done
{
printf '{"kind":"header","schema":"ggperf-results","version":1,"workload":{"name":"fake"},"axes":[{"name":"size","values":["s"]}],"configs":[{"id":0,"axes":{"size":"s"}}],"plan":{"repetitions":1},"environment":{"cpu":{"model_name":"T"},"build":{"commit":"x"}},"probe":null}\n'
i=0
while [ $i -lt "$reps" ]; do
  n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  tps=$(awk -v c="$cost" -v n="$n" 'BEGIN { printf "%.3f", 1e6 / c * (1 + (n / 65535 - 0.5) / 100) }')
  printf '{"kind":"sample","config":0,"rep":%d,"axes":{"size":"s"},"ok":true,"error":null,"metrics":[{"name":"sim_instructions","unit":"count","source":"sim","status":"ok","value":%s,"better":"lower","kind":"count","gated":true},{"name":"tokens_per_s","unit":"tok/s","source":"time","status":"ok","value":%s,"better":"higher","kind":"sample","gated":true}]}\n' $i "$cost" "$tps"
  i=$((i + 1))
done
printf '{"kind":"end"}\n'
} > "$stream"
