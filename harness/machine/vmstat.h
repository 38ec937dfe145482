/* vmstat — the system-wide memory-management counters of /proc/vmstat that
 * explain a surprising load or run: transparent huge pages allocated or
 * refused, compaction stalls, reclaim, major faults, page-ins and
 * page-cache refaults.
 *
 * Take a snapshot before and after a repetition; vmstat_emit turns the
 * differences into software metrics ("vm_thp_fault_alloc", ...). They are
 * system-wide: another process's activity during the repetition counts too,
 * which is why a repetition runs isolated and the deltas are per
 * repetition. The kernel counts no page-cache hits here; the metric that
 * would say so is emitted as unsupported with the reason, never 0.
 *
 * The root prefix ("" for the real /proc) lets tests read a fixture tree.
 */
#ifndef GGPERF_HARNESS_VMSTAT_H
#define GGPERF_HARNESS_VMSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/run/workload.h"

/* The metrics, each the sum of some /proc/vmstat fields. */
enum vmstat_metric {
    VMSTAT_THP_FAULT_ALLOC = 0,   /* thp_fault_alloc: huge pages given on a fault */
    VMSTAT_THP_FAULT_FALLBACK,    /* thp_fault_fallback: a huge page wanted, small pages given */
    VMSTAT_THP_COLLAPSE_ALLOC,    /* thp_collapse_alloc: khugepaged merged small pages */
    VMSTAT_COMPACT_STALL,         /* compact_stall: an allocation waited for compaction */
    VMSTAT_PGSCAN,                /* pgscan_kswapd + pgscan_direct + pgscan_khugepaged */
    VMSTAT_PGSTEAL,               /* pgsteal_kswapd + pgsteal_direct + pgsteal_khugepaged */
    VMSTAT_PGMAJFAULT,            /* pgmajfault */
    VMSTAT_PGPGIN,                /* pgpgin: KiB read from block devices (emitted in bytes) */
    VMSTAT_REFAULT_FILE,          /* workingset_refault_file (or _refault on old kernels) */
    VMSTAT_N
};

struct vmstat_snap {
    bool ok;                      /* the file was read */
    bool have[VMSTAT_N];          /* the kernel has (some field of) the metric */
    uint64_t v[VMSTAT_N];
};

/* Read root/proc/vmstat (root NULL or "": /proc/vmstat). Returns 0, or -1
 * when it cannot be read (snap->ok false). */
int vmstat_read(const char *root, struct vmstat_snap *snap);

/* The metric's name ("vm_thp_fault_alloc"). */
const char *vmstat_name(enum vmstat_metric m);

/* Emit after - before for every metric as a METRIC_SRC_SW count (bytes for
 * page-ins), unsupported with the reason where a snapshot or a field is
 * missing, plus vm_pagecache_hits as unsupported (see above). */
void vmstat_emit(struct workload_sink *out, const struct vmstat_snap *before, const struct vmstat_snap *after);

#endif
