/* registry — the one table of workloads (workloads/registry.c). The
 * descriptor type is the runner's interface, harness/run/workload.h; this
 * header is what the front end and the tests use to find a workload by name. */
#ifndef GGPERF_WORKLOADS_REGISTRY_H
#define GGPERF_WORKLOADS_REGISTRY_H

#include "harness/run/workload.h"

/* Every workload, NULL-terminated, in the order `ggperf run --help` lists them. */
extern const struct workload *const workload_registry[];

/* The workload called name, or NULL. */
const struct workload *workload_find(const char *name);

#endif
