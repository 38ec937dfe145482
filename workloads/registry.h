/* registry — the one table of workloads (workloads/registry.c). The
 * descriptor type is the runner's interface, harness/run/workload.h; this
 * header is what the front end and the tests use to find a workload by name. */
#ifndef GGPERF_WORKLOADS_REGISTRY_H
#define GGPERF_WORKLOADS_REGISTRY_H

#include "harness/run/workload.h"

/* Each file in workloads/ defines `const struct workload workload_<name>`;
 * adding a workload is that file plus one line here, which declares it
 * (so studies can point at the descriptor) and lists it in the registry.
 * In the order `ggperf run --help` lists them. */
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
    X(contention_calib) \
    X(matmul)        \
    X(bandwidth)     \
    X(ctxswitch)     \
    X(serve)

#define WORKLOAD_DECLARE(n) extern const struct workload workload_##n;
WORKLOADS(WORKLOAD_DECLARE)
#undef WORKLOAD_DECLARE

/* Every workload, NULL-terminated, in the order `ggperf run --help` lists them. */
extern const struct workload *const workload_registry[];

/* The workload called name, or NULL. */
const struct workload *workload_find(const char *name);

#endif
