/* vmstat — /proc/vmstat deltas as software metrics (see vmstat.h). */
#include "harness/machine/vmstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;             /* metric */
    const char *fields[4];        /* /proc/vmstat keys summed */
} table[VMSTAT_N] = {
    [VMSTAT_THP_FAULT_ALLOC] = { "vm_thp_fault_alloc", { "thp_fault_alloc" } },
    [VMSTAT_THP_FAULT_FALLBACK] = { "vm_thp_fault_fallback", { "thp_fault_fallback" } },
    [VMSTAT_THP_COLLAPSE_ALLOC] = { "vm_thp_collapse_alloc", { "thp_collapse_alloc" } },
    [VMSTAT_COMPACT_STALL] = { "vm_compact_stall", { "compact_stall" } },
    [VMSTAT_PGSCAN] = { "vm_pgscan", { "pgscan_kswapd", "pgscan_direct", "pgscan_khugepaged" } },
    [VMSTAT_PGSTEAL] = { "vm_pgsteal", { "pgsteal_kswapd", "pgsteal_direct", "pgsteal_khugepaged" } },
    [VMSTAT_PGMAJFAULT] = { "vm_pgmajfault", { "pgmajfault" } },
    [VMSTAT_PGPGIN] = { "vm_pgpgin_bytes", { "pgpgin" } },
    /* workingset_refault became _refault_file in Linux 5.9 */
    [VMSTAT_REFAULT_FILE] = { "vm_refault_file", { "workingset_refault_file", "workingset_refault" } },
};

const char *vmstat_name(enum vmstat_metric m)
{
    return (unsigned)m < VMSTAT_N ? table[m].name : "vm_unknown";
}

int vmstat_read(const char *root, struct vmstat_snap *snap)
{
    memset(snap, 0, sizeof *snap);
    char path[512];
    snprintf(path, sizeof path, "%s/proc/vmstat", root ? root : "");
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char key[96];
    unsigned long long val;
    while (fscanf(f, "%95s %llu", key, &val) == 2)
        for (int m = 0; m < VMSTAT_N; m++)
            for (int k = 0; k < 4 && table[m].fields[k]; k++)
                if (strcmp(key, table[m].fields[k]) == 0) {
                    snap->v[m] += val;
                    snap->have[m] = true;
                }
    fclose(f);
    snap->ok = true;
    return 0;
}

void vmstat_emit(struct workload_sink *out, const struct vmstat_snap *before, const struct vmstat_snap *after)
{
    for (int m = 0; m < VMSTAT_N; m++) {
        const char *unit = m == VMSTAT_PGPGIN ? "bytes" : "count";
        if (!before->ok || !after->ok) {
            workload_emit_unsupported(out, table[m].name, unit, METRIC_SRC_SW, "/proc/vmstat unreadable");
        } else if (!before->have[m] || !after->have[m]) {
            char why[160];
            snprintf(why, sizeof why, "this kernel's /proc/vmstat has no %s", table[m].fields[0]);
            workload_emit_unsupported(out, table[m].name, unit, METRIC_SRC_SW, why);
        } else {
            /* a counter that went backwards (it cannot, short of a wrap) is not a negative count */
            double d = after->v[m] >= before->v[m] ? (double)(after->v[m] - before->v[m]) : 0;
            workload_emit(out, table[m].name, unit, METRIC_SRC_SW, m == VMSTAT_PGPGIN ? d * 1024 : d);
        }
    }
    workload_emit_unsupported(out, "vm_pagecache_hits", "count", METRIC_SRC_SW,
                              "the kernel counts no page-cache hits in /proc/vmstat (cachestat(2) needs Linux 6.5; "
                              "misses show as major faults and page-ins)");
}
