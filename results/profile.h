/* profile — the per-operation profile of one forward step: the format the
 * profiler (harness/profile/) writes and the renderers (reports/prof_*.c)
 * read, so a report can be drawn on a machine that never ran the model.
 *
 * JSON document ("schema": "ggperf-profile", "version": 1):
 *   {"schema":..., "version":1, "created":"2026-...Z",
 *    "model":{"path":..., "desc":"1.1b Q4_0", "type":"Q4_0", "n_layer":22},
 *    "mode":"decode"|"prefill", "threads":2, "steps":16, "tokens_per_step":1,
 *    "pos0":0, "isa":"avx512", "kv":"f16",
 *    "step_ns":..., "step_raw_ns":..., "step_unmarked_ns":... or null,
 *    "marker_ns":..., "overhead_ns":...,
 *    "sim":"..." (what --sim did, or why not), "hw":"..." (likewise),
 *    "ceilings":[{"name":"read bandwidth","kind":"bw","value":12.3,
 *                 "unit":"GB/s","source":"probe: ..."}, ...],
 *    "ops":[{"op":"mm_q","layer":0,"calls":1.0,"time_ns":..,"wait_ns":..,
 *            "overhead_ns":..,"bytes_weights":..,"bytes_act":..,"bytes_kv":..,
 *            "flops":..,"busy_ns":[per thread],"thread_wait_ns":[per thread]}],
 *    "sim_ops":[{"op":"mm_q","instructions":..,"d1_misses":..,"ll_misses":..}]}
 *   (sim_ops: callgrind's counts per op kind over all layers, from --sim;
 *    empty when not run, and "sim" says why)
 *
 * Every time, byte, FLOP and call figure is a mean PER STEP (one decode
 * token, or one prefill pass), so profiles of different lengths compare.
 * An op's time_ns is the span the driving thread (thread 0) spent in it,
 * its barrier wait included, with the cost of the markers inside it
 * (overhead_ns) subtracted; the op "dispatch" (layer -1) is the rest of the
 * step: waking the workers and joining them. So the ops' time_ns sum to
 * step_ns, which is the step measured outside (step_raw_ns) less
 * overhead_ns. busy_ns[t] and thread_wait_ns[t] are thread t's own time
 * working in the op and waiting at the barrier that ends it.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_RESULTS_PROFILE_H
#define GGPERF_RESULTS_PROFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PROFILE_SCHEMA "ggperf-profile"
#define PROFILE_VERSION 1
#define PROFILE_MAX_CEILINGS 8
#define PROFILE_MAX_THREADS 512

enum profile_status {
    PROFILE_OK = 0,
    PROFILE_EIO = -1,
    PROFILE_EFORMAT = -2,   /* not a profile (schema, version, a missing or mistyped field) */
    PROFILE_ENOMEM = -3,
    PROFILE_EINVAL = -4,
};

struct profile_ceiling {
    char name[64];          /* "read bandwidth", "f32 FMA avx512" */
    char kind[8];           /* "bw" (GB/s) or "compute" (GFLOP/s) */
    double value;
    char source[160];       /* where the figure came from */
};

struct profile_op {
    char op[24];            /* region_op_name(), or "dispatch" */
    int layer;              /* -1 outside the layers */
    double calls;           /* starts on thread 0 per step */
    double time_ns, wait_ns, overhead_ns;
    double bytes_weights, bytes_act, bytes_kv, flops;
    double *busy_ns;        /* [n_threads], owned by the profile */
    double *thread_wait_ns; /* [n_threads] */
};

#define PROFILE_MAX_SIM 32

/* Simulated counts of one op kind, all layers, per step. */
struct profile_sim {
    char op[24];
    double instructions, d1_misses, ll_misses;
};

struct profile {
    char created[32];
    char model_path[256], model_desc[64], model_type[16];
    int n_layer;
    char mode[16];          /* "decode" or "prefill" */
    int n_threads, n_steps, tokens_per_step, pos0;
    char isa[16], kv[8];
    double step_ns, step_raw_ns;
    double step_unmarked_ns;  /* < 0: not measured */
    double marker_ns, overhead_ns;
    char sim_note[512], hw_note[256];
    int n_ceilings;
    struct profile_ceiling ceilings[PROFILE_MAX_CEILINGS];
    int n_ops, cap_ops;
    struct profile_op *ops;
    int n_sim;
    struct profile_sim sim[PROFILE_MAX_SIM];
};

/* An empty profile for n_threads threads (NULL when out of memory or
 * n_threads outside 1..PROFILE_MAX_THREADS). */
struct profile *profile_new(int n_threads);
void profile_free(struct profile *p);

/* Append an op row with zeroed figures (its thread arrays sized for the
 * profile); NULL when out of memory. */
struct profile_op *profile_add_op(struct profile *p, const char *op, int layer);

/* The row of (op, layer), or NULL. */
const struct profile_op *profile_find(const struct profile *p, const char *op, int layer);

/* Sum of the rows of one op over every layer into *out (thread arrays
 * not filled: out->busy_ns stays NULL); false when there is none. */
bool profile_kind_total(const struct profile *p, const char *op, struct profile_op *out);

/* The distinct op names in the order of first appearance; returns the
 * count (at most max). Names are borrowed from p. */
int profile_kinds(const struct profile *p, const char **names, int max);

/* Derived figures of a row (NaN where undefined: no time or no bytes). */
double profile_op_bytes(const struct profile_op *o);
double profile_op_gbps(const struct profile_op *o);     /* bytes / time_ns */
double profile_op_gflops(const struct profile_op *o);   /* flops / time_ns */
double profile_op_intensity(const struct profile_op *o);/* flops / byte */

/* The ceiling of that name, or NULL. */
const struct profile_ceiling *profile_ceiling_find(const struct profile *p, const char *name);

/* JSON, both ways. profile_from_json returns PROFILE_EFORMAT with err
 * naming the field. */
json_t *profile_to_json(const struct profile *p);
int profile_from_json(const json_t *j, struct profile **out, char *err, size_t err_len);

/* Write to path (via a temporary file renamed into place) / read it. */
int profile_write_file(const struct profile *p, const char *path, char *err, size_t err_len);
int profile_read_file(const char *path, struct profile **out, char *err, size_t err_len);

/* Folded stacks, the text flamegraph.pl reads: one line per leaf,
 *   "decode;layer 3;mm_q;thread 1 4521"           (busy ns per step)
 *   "decode;layer 3;mm_q;thread 1;barrier wait 80"
 * ops outside the layers sit directly under the step. Values are integer
 * nanoseconds per step (zero lines left out), so the total is the thread
 * time of a step. Returns 0 or PROFILE_EIO. */
int profile_write_folded(const struct profile *p, FILE *f);

#endif
