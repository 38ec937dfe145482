/* registry — the one explicit table of workloads. Adding a workload is one
 * file in workloads/ plus one line here (and its extern below). */
#include <string.h>

#include "workloads/registry.h"

extern const struct workload workload_load, workload_metadata, workload_sleep;
extern const struct workload workload_decode, workload_prefill, workload_threads,
    workload_alloc, workload_kvcache, workload_contention,
    workload_matmul, workload_bandwidth, workload_ctxswitch;
extern const struct workload workload_serve;

const struct workload *const workload_registry[] = {
    &workload_load,
    &workload_metadata,
    &workload_sleep,
    &workload_decode,
    &workload_prefill,
    &workload_threads,
    &workload_alloc,
    &workload_kvcache,
    &workload_contention,
    &workload_matmul,
    &workload_bandwidth,
    &workload_ctxswitch,
    &workload_serve,
    NULL,
};

const struct workload *workload_find(const char *name)
{
    for (int i = 0; name && workload_registry[i]; i++)
        if (strcmp(workload_registry[i]->name, name) == 0)
            return workload_registry[i];
    return NULL;
}
