/* wlutil — what the engine workloads (decode, prefill, threads, alloc,
 * kvcache, contention, matmul, bandwidth, ctxswitch) share, so that no
 * workload file carries a private copy of it:
 *
 *   - the kernels axis (auto|ref|avx2|avx512) checked against this CPU
 *   - latency percentiles of per-token samples into a sink
 *   - a deterministic token stream and an untimed prefill to a position
 *   - counter sets around a region, copied into the sink by name (a figure
 *     that could not be had keeps its status and reason)
 *   - the STREAM triad peak per thread count, measured once per process
 *     (= once per sweep) and cached
 *   - L1d misses from the PMU, or from valgrind's cache simulation of the
 *     same configuration (the workload re-runs itself under valgrind with
 *     `ggperf run WORKLOAD ... --sim off -r 1`), or unsupported with reason
 *   - random weight matrices in any engine type
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_WORKLOADS_WLUTIL_H
#define GGPERF_WORKLOADS_WLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/infer.h"
#include "engine/quant.h"
#include "harness/counters/ctr.h"
#include "harness/run/workload.h"

/* "auto", "ref", "avx2", "avx512", NULL: the kernels axis's words. */
extern const char *const wlutil_kernel_choices[];

/* The ISA cap for kernels word k (index into wlutil_kernel_choices) into
 * *isa. auto is the fastest this CPU has. Returns 0, or -1 with a message
 * when the CPU (or valgrind, which hides AVX-512) lacks the requested ISA:
 * an explicit request is never silently downgraded. */
int wlutil_kernels(int k, enum quant_isa *isa, char *err, size_t err_len);

/* Sort ns[0..n) and emit PREFIX_p50_ns, _p95_ns, _p99_ns, _max_ns
 * (nearest rank), source time. A percentile p is emitted only when at
 * least WLUTIL_PCT_TAIL samples lie above it (n >= TAIL / (1 - p): p50
 * from 2 samples, p95 from 20, p99 from 100); below that it is the
 * maximum under another name (p95 = p99 = max with 16 steps) and is
 * unsupported with the reason. n == 0 emits them as not counted. */
#define WLUTIL_PCT_TAIL 1
void wlutil_emit_latency(struct workload_sink *out, const char *prefix, double *ns, int n);

/* Nearest-rank percentile p (0..1] of sorted x[0..n), n > 0. */
double wlutil_percentile(const double *sorted, int n, double p);

/* Token i of a deterministic stream of ordinary tokens (ids 3.. n_vocab-1). */
int32_t wlutil_token(int64_t i, int n_vocab);

/* Evaluate n tokens of the stream (from index first) as one batched pass
 * (chunks of n_batch): the untimed way to reach a context position. */
int wlutil_prefill(struct infer *c, int n_vocab, int64_t first, int n, char *err, size_t err_len);

struct filebuf;

/* A repetition's context, created and warmed the one way every engine
 * workload uses: infer_new with o, one untimed token (it touches every
 * weight, so the placement's page sizes are known: the 4 KiB-page decode
 * kernels are chosen from /proc/self/smaps when file's weights sit in small
 * pages, see infer_set_small_pages), then the cache back at position 0.
 * Returns 0, or -1 with err set; *c is NULL or the context to infer_free. */
int wlutil_infer_warm(struct infer **c, const struct model *m, const struct infer_opts *o,
                      const struct filebuf *file, char *err, size_t err_len);

/* The pool's thread ids (thread 0 = the caller) into tids[0..max); returns the count. */
int wlutil_pool_tids(const struct pool *p, int *tids, int max);

/* The CPUs this thread may run on, ascending, into cpus[0..max); returns the count (>= 1 on success). */
int wlutil_affinity_cpus(int *cpus, int max);

/* A counter set around one region of work. */
struct wlutil_ctr {
    struct ctr_set *set;
    struct ctr_snap *a, *b;
    char why[METRIC_REASON_MAX];   /* why the set could not be opened, or why the last interval failed */
    struct metric m[96];
    int n;                          /* metrics of the last interval, -1 before or when it failed */
    bool begin_failed;              /* the read at the last interval's start failed */
};

/* Open a set of backends on tids (n_tids 0: this process) with thread_stats
 * as given. Never fails: when the set cannot be opened, wlutil_ctr_emit
 * reports every asked metric as unsupported with the reason. */
void wlutil_ctr_open(struct wlutil_ctr *c, unsigned backends, const int *tids, int n_tids, bool thread_stats);
/* Read at an interval's start and end. When either read fails the
 * interval has no metrics (wlutil_ctr_find gives NULL) and wlutil_ctr_emit
 * reports them unsupported with the read's error: a failed read would
 * otherwise leave the previous values in the snapshot and widen the delta. */
void wlutil_ctr_begin(struct wlutil_ctr *c);
void wlutil_ctr_end(struct wlutil_ctr *c);
void wlutil_ctr_close(struct wlutil_ctr *c); /* NULL does nothing */

/* The interval's metric called name (NULL if the set lacks it or did not run). */
const struct metric *wlutil_ctr_find(const struct wlutil_ctr *c, const char *name);

/* Copy the named metrics (NULL-terminated) of the last interval into out,
 * keeping source, status and reason; a name the set lacks is unsupported
 * with the open error. */
void wlutil_ctr_emit(struct wlutil_ctr *c, struct workload_sink *out, const char *const *names);

/* The STREAM triad bandwidth (GB/s, source derived) of `threads` threads
 * over three arrays of array_bytes each, best of 3, into *m: measured the
 * first time a (threads, array_bytes) pair is asked for in this process,
 * then served from a cache. Thread-safe. */
void wlutil_peak_triad(int threads, uint64_t array_bytes, struct metric *m);

/* ---- L1d misses --------------------------------------------------------- */

/* Re-run configuration cfg of workload wl as `ggperf run WL ... -r 1
 * --warmup 0` under valgrind's cache simulation (ctr_sim_run), with the
 * axis called sim_axis set to "off" (so the child does not recurse) and a
 * kernels axis of "avx512" replaced by "auto" (valgrind hides AVX-512).
 * The child collects only what the workload brackets with
 * ctr_sim_collect_begin/end. The ggperf binary is $GGPERF_BIN when set,
 * else /proc/self/exe. Returns 0 with *res, or -1 with a message. */
int wlutil_sim_rerun(const struct workload *wl, const struct workload_config *cfg, const char *sim_axis,
                     struct ctr_sim_result *res, char *err, size_t err_len);

/* What wlutil_sim_rerun_req changes in the child and reads back from it. */
struct wlutil_sim_req {
    const char *sim_axis;         /* the child's value of this axis is "off" */
    const char *const *overrides; /* "axis=value", NULL-terminated (NULL: none): the child's value of
                                     these axes instead of cfg's (e.g. fewer tokens, no bandwidth peak) */
    const char *const *read;      /* metric names, NULL-terminated (NULL: none), to read back from the
                                     child's repetition (e.g. which kernel path it took) */
    double *read_values;          /* [number of read]: the child's value, NAN when it did not report the
                                     metric with status ok */
};

/* wlutil_sim_rerun with the changes and read-backs of req. Returns 0 with
 * *res and req->read_values, or -1 with a message (an override naming no
 * axis of wl is such an error). */
int wlutil_sim_rerun_req(const struct workload *wl, const struct workload_config *cfg,
                         const struct wlutil_sim_req *req, struct ctr_sim_result *res, char *err, size_t err_len);

/* Toggle valgrind's collection on every thread of pool p (callgrind keeps
 * the collect state per thread: a toggle on the caller alone would count
 * the caller alone). Call once before and once after the region. A no-op
 * when not running under valgrind. */
void wlutil_sim_toggle_pool(struct pool *p);

/* Emit NAME (e.g. "l1d_misses_per_step", unit "count") = load misses per
 * unit of work: from hw (a set opened with CTR_HW around the work; its
 * l1d_load_misses / units) when that counted; else from sim (sim != NULL:
 * D1mr / units of the child's run, plus the simulation's ISA path and
 * geometry as metrics); else unsupported with the hw reason and the hint
 * to pass --sim on. */
void wlutil_emit_l1d(struct workload_sink *out, const char *name, const struct wlutil_ctr *hw,
                     const struct ctr_sim_result *sim, const char *sim_err, double units);

/* ---- weights ------------------------------------------------------------ */

/* Fill dst with rows x cols values of type t (cols a multiple of the block
 * size): float types and types with a quantizer from random N(0, 0.02)-ish
 * floats; K-quants as random blocks with finite, small scales. seed picks
 * the values. Returns 0, or -1 with a message for a type it cannot make. */
int wlutil_random_weights(int t, int64_t rows, int64_t cols, uint64_t seed, void *dst, char *err, size_t err_len);

/* Uniform floats in [-1, 1) from a seeded generator. */
void wlutil_random_floats(float *x, size_t n, uint64_t seed);

/* Weights one token multiplies through (every layer matrix and the output
 * matrix): 2 x this is the matmul flops per token (attention excluded). */
double wlutil_matmul_params(const struct model *m);

/* Before a timed part that reads a model's weights: measure the fraction
 * of the weights' pages resident (mincore); a mapping the kernel evicted is
 * read back in first, so the repetition times the model, not the disk.
 * Emits weights_resident_fraction (as found, before any re-read) and
 * weights_rewarmed (1 when they had to be read back in), both source sw. */
struct filebuf;
void wlutil_weights_ready(const struct filebuf *weights, struct workload_sink *out);

/* weights_huge_fraction (sw): the share of the weights' bytes on
 * transparent huge pages now. A mapped file's share can grow during a run
 * as khugepaged collapses its page cache, and decode speeds up with it:
 * the figure explains such a drift. */
void wlutil_emit_huge_fraction(const struct filebuf *weights, struct workload_sink *out);

#endif
