/* workload — the descriptor every experiment exports, and the one table
 * that lists them.
 *
 * A workload is one file in workloads/ exporting one `const struct
 * workload`, plus one line in workloads/registry.c. The runner
 * (harness/run/runner.h) sweeps the cartesian product of its axes, calls
 * setup() once per configuration, run() once per repetition, and
 * teardown() at the end; it never looks inside the state.
 *
 * Life cycle, for each configuration of the sweep:
 *   setup(cfg, &state)                  not timed; all configurations are set
 *                                       up before the first repetition, so
 *                                       keep heavy allocations in run() or
 *                                       share them (the page cache, a mapping)
 *   run(state, sink)  x (warm-up + reps) one repetition; fills the sink
 *   teardown(state)
 *
 * Failure of one repetition is data, not the end of the sweep: run()
 * returns a negative value with a message in err, and the runner records
 * the repetition as failed with that message and goes on. With
 * WORKLOAD_ISOLATE each repetition runs in a fresh child process (fork):
 * the child's metrics come back over a pipe, and a crash (SIGSEGV, SIGBUS)
 * or exit of the child becomes a failed repetition naming the signal.
 * Isolated workloads start any threads they need inside run(): threads do
 * not survive fork.
 */
#ifndef GGPERF_WORKLOADS_WORKLOAD_H
#define GGPERF_WORKLOADS_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "results/metric.h"

#define WORKLOAD_MAX_AXES 12
#define WORKLOAD_MAX_METRICS 64

enum workload_axis_kind {
    WORKLOAD_AXIS_CHOICE = 0,   /* one of a list of words */
    WORKLOAD_AXIS_INT,          /* an integer in [lo, hi] */
};

/* An axis of the sweep: given on the command line as --NAME v1,v2,... */
struct workload_axis {
    const char *name;            /* "load" -> --load */
    const char *help;            /* one line for `ggperf run WORKLOAD --help` */
    enum workload_axis_kind kind;
    const char *const *choices;  /* CHOICE: the allowed words, NULL-terminated */
    int64_t lo, hi;              /* INT: the allowed range */
    const char *defaults;        /* the values swept when the flag is absent: "read,mmap" */
};

/* One point of the sweep: a value for every axis, in the descriptor's axis
 * order. Strings are owned by the runner and live until teardown. */
struct workload_config {
    const char *model_path;      /* NULL unless WORKLOAD_NEEDS_MODEL */
    const char *cache_dir;       /* ggperf's cache directory (scratch files may go there) */
    uint64_t seed;               /* the sweep's seed, for workloads that draw random data */
    int n_axes;
    const char *text[WORKLOAD_MAX_AXES];  /* as given: "mmap", "32000" */
    int64_t num[WORKLOAD_MAX_AXES];       /* INT: the value; CHOICE: index into choices */
};

/* Where run() puts its figures. Units must be static strings (metric.h). */
struct workload_sink {
    int n;
    struct metric m[WORKLOAD_MAX_METRICS];
};

enum {
    WORKLOAD_NEEDS_MODEL = 1u << 0,  /* takes -m MODEL (or the built-in default model) */
    WORKLOAD_ISOLATE = 1u << 1,      /* each repetition in a fresh child process */
};

struct workload {
    const char *name;            /* "load" */
    const char *description;     /* one line */
    const struct workload_axis *axes;
    int n_axes;
    unsigned flags;              /* WORKLOAD_NEEDS_MODEL | WORKLOAD_ISOLATE */


    /* Prepare a configuration (not timed). Returns 0 with *state set, or
     * negative with a message: the whole configuration then fails. */
    int (*setup)(const struct workload_config *cfg, void **state, char *err, size_t err_len);

    /* One repetition: add its metrics to out. Returns 0, or negative with
     * a message in err (the repetition is recorded as failed; metrics
     * already in the sink are kept with it). */
    int (*run)(void *state, struct workload_sink *out, char *err, size_t err_len);

    /* The work one repetition does, for derived bandwidth and flop rates
     * (bytes moved, floating-point operations); NULL when not meaningful.
     * Zero means "none" and produces no derived metric. */
    void (*work)(const void *state, double *bytes, double *flops);

    /* Release the state; called with every state setup() returned. */
    void (*teardown)(void *state);

    /* (Last, so positional initializers of test workloads stay valid.)
     * What its figures mean (results/metric.h): direction, kind, and
     * whether the regression gate judges them by default (the primary
     * set: keep it small). Exact names, prefixes ending in '*' or
     * suffixes starting with one; the first match wins. A figure the table misses gets the semantics of
     * the counter backend that made it (ctr_metric_sem), else none: the
     * gate leaves an undeclared figure alone. */
    const struct metric_decl *metrics;
    int n_metrics;
};

/* The n_metrics of a table: WORKLOAD_METRICS(tbl) fills both fields. */
#define WORKLOAD_METRICS(tbl) .metrics = (tbl), .n_metrics = (int)(sizeof(tbl) / sizeof((tbl)[0]))

/* Index of the axis called name in wl->axes, or -1. */
static inline int workload_axis_index(const struct workload *wl, const char *name)
{
    for (int i = 0; i < wl->n_axes; i++)
        if (strcmp(wl->axes[i].name, name) == 0)
            return i;
    return -1;
}

/* Append a figure to the sink and return it (status ok); returns NULL
 * when the sink is full (the figure is dropped: WORKLOAD_MAX_METRICS). */
static inline struct metric *workload_emit(struct workload_sink *s, const char *name, const char *unit,
                                           enum metric_source source, double value)
{
    if (s->n >= WORKLOAD_MAX_METRICS)
        return NULL;
    struct metric *m = &s->m[s->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->unit = unit;
    m->source = source;
    m->status = METRIC_OK;
    m->value = value;
    m->running_fraction = 1;
    return m;
}

/* Append a figure that could not be had (METRIC_UNSUPPORTED) with the reason. */
static inline struct metric *workload_emit_unsupported(struct workload_sink *s, const char *name,
                                                       const char *unit, enum metric_source source,
                                                       const char *reason)
{
    struct metric *m = workload_emit(s, name, unit, source, 0);
    if (m) {
        m->status = METRIC_UNSUPPORTED;
        m->running_fraction = 0;
        snprintf(m->reason, sizeof m->reason, "%s", reason);
    }
    return m;
}

#endif
