/* runner_impl — what the sweep (runner.c) and one repetition of it
 * (runner_rep.c) share: the sweep's context, which holds the buffers an
 * isolated child's figures come back in, and the figures' wire format.
 * Not for use outside harness/run/runner*.c. */
#ifndef GGPERF_HARNESS_RUNNER_IMPL_H
#define GGPERF_HARNESS_RUNNER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/run/runner.h"
#include "results/results.h"

#define UNIT_POOL 64
#define UNIT_LEN 24

/* One figure as an isolated child sends it back, after its wire_head
 * (runner_rep.c). */
struct wire_metric {
    char name[METRIC_NAME_MAX];
    char unit[UNIT_LEN];
    int32_t source, status;
    double value, running_fraction;
    char reason[METRIC_REASON_MAX];
    struct metric_sem sem;
};

struct ctx {
    const struct runner_opts *o;
    int shard_k, shard_n;           /* this sweep's slice (0, 0: all) */
    struct runner_plan plan;
    json_t *header;
    struct results_stream *stream;
    void **states;
    bool *ready;              /* [config]: set up, teardown due */
    char **setup_err;         /* [config]: why setup failed, or NULL */
    struct bitset *done;      /* [config]: reps done */
    double *run_ns_sum;       /* [config] */
    struct trust *trust;      /* the primary figures so far, when the plan repeats until trusted; else NULL */
    int *order;
    /* distinct units seen from isolated children, interned: struct metric
     * holds a pointer to a static string, which a pipe cannot carry */
    char units[UNIT_POOL][UNIT_LEN];
    int n_units;
    uint64_t t_start, prev_run_end;
    double *overheads;        /* this invocation's overheads, for the median: bounded below */
    struct workload_sink sink;            /* the repetition being measured */
    struct workload_sink child_sink;      /* an isolated child's own */
    struct wire_metric wire[WORKLOAD_MAX_METRICS];
    size_t n_over, cap_over;
};

/* runner_rep.c: runs one repetition of configuration cfg into sink;
 * t0/t1 bracket run() on the shared monotonic clock. */
int runner_run_one(struct ctx *c, int cfg, struct workload_sink *sink, uint64_t *t0, uint64_t *t1, char *err,
                   size_t err_len);

#endif
