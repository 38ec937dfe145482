/* registry — the one explicit table of workloads. Each file in workloads/
 * defines `const struct workload workload_<name>`; adding a workload is that
 * file plus one line in WORKLOADS below (which declares it and lists it). */
#include <string.h>

#include "workloads/registry.h"

/* In the order `ggperf run --help` lists them. */
#define WORKLOADS(X) \
    X(load)          \
    X(metadata)      \
    X(sleep)         \
    X(decode)        \
    X(prefill)       \
    X(threads)       \
    X(alloc)         \
    X(kvcache)       \
    X(contention)    \
    X(matmul)        \
    X(bandwidth)     \
    X(ctxswitch)

#define WL_DECLARE(n) extern const struct workload workload_##n;
#define WL_ADDRESS(n) &workload_##n,
WORKLOADS(WL_DECLARE)

const struct workload *const workload_registry[] = {
    WORKLOADS(WL_ADDRESS)
    NULL,
};

const struct workload *workload_find(const char *name)
{
    for (int i = 0; name && workload_registry[i]; i++)
        if (strcmp(workload_registry[i]->name, name) == 0)
            return workload_registry[i];
    return NULL;
}
