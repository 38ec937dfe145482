#!/bin/sh
# fake-sysfs-root.sh [--with-caches] [--with-tracefs] DIR — build a fake root
# for $GGPERF_SYSFS_ROOT that stands for another kind of machine.
#
# ggperf reads every machine-wide /sys and /proc file through
# harness/machine/sysfs.c, which puts $GGPERF_SYSFS_ROOT in front of the
# path. This copies the files ggperf reads from this machine into DIR
# (a snapshot: MemAvailable does not change afterwards), leaving out
# cpu0's cache directory unless --with-caches (the VM of issue 13 has none)
# and tracefs unless --with-tracefs. Then, for example:
#
#   scripts/fake-sysfs-root.sh /tmp/nocache
#   GGPERF_SYSFS_ROOT=/tmp/nocache build/ggperf probe      # caches: source cpuid
#   GGPERF_SYSFS_ROOT=/tmp/nocache make test
#
# A test and debug knob: per-process files (/proc/self/...) are never
# redirected. Prints DIR.
set -eu
caches=0
tracefs=0
while [ $# -gt 1 ]; do
    case "$1" in
    --with-caches) caches=1 ;;
    --with-tracefs) tracefs=1 ;;
    *) echo "fake-sysfs-root.sh: unknown option '$1' (allowed: --with-caches --with-tracefs)" >&2; exit 2 ;;
    esac
    shift
done
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: fake-sysfs-root.sh [--with-caches] [--with-tracefs] DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"

copy() { # copy one file if this machine has it
    [ -r "$1" ] || return 0
    mkdir -p "$dir$(dirname "$1")"
    cat "$1" > "$dir$1" 2>/dev/null || rm -f "$dir$1"
}

for f in /proc/cpuinfo /proc/meminfo /proc/sys/kernel/perf_event_paranoid \
         /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag \
         /sys/devices/system/cpu/online /sys/devices/system/cpu/smt/active \
         /sys/devices/system/cpu/cpufreq/boost /sys/devices/system/cpu/intel_pstate/no_turbo \
         /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor /sys/devices/system/cpu/cpu0/cpufreq/scaling_driver; do
    copy "$f"
done
for d in /sys/bus/event_source/devices/cpu /sys/bus/event_source/devices/cpu_core \
         /sys/bus/event_source/devices/cpu_atom; do
    [ -e "$d" ] && mkdir -p "$dir$d"
done
if [ "$caches" = 1 ]; then
    for f in /sys/devices/system/cpu/cpu0/cache/index*/*; do
        [ -f "$f" ] && copy "$f"
    done
fi
if [ "$tracefs" = 1 ]; then
    for t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
        for e in sched_switch sched_wakeup sched_waking; do
            copy "$t/events/sched/$e/id"
            copy "$t/events/sched/$e/format"
        done
    done
fi
echo "$dir"
