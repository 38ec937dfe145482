/* registry — the one explicit table of workloads, built from the WORKLOADS
 * list in registry.h (adding a workload is its file plus one line there). */
#include <string.h>

#include "workloads/registry.h"

#define WL_ADDRESS(n) &workload_##n,

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
