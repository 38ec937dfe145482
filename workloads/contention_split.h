/* contention_split — who writes which output line in the contention
 * experiments: the work split (the engine's matmul split, blocked or
 * interleaved, from infer_matmul_rows), where each row's output goes
 * (its own index, or a per-thread stretch padded to whole cache lines),
 * and the derived count of output lines more than one thread writes.
 *
 * Output layout: [cols][ld] floats. Row r of the weights has one output
 * per column c, at c * ld + pos(r): cols == 1 is a matmul's output vector
 * (dot), cols > 1 the transposed dequantization (column c of the output
 * holds value c of every row). ld is the same for every layout of a
 * thread count, so the three layouts write the same number of floats with
 * the same stride and differ only in which thread owns which line.
 *
 *   blocked      the engine's default split: contiguous rows per thread,
 *                in groups of INFER_ROW_GRAIN; pos(r) = r
 *   interleaved  the engine's false_sharing split: rows ith, ith + nth, ...;
 *                pos(r) = r, so the 16 floats of a line come from all threads
 *   padded       the interleaved split, but thread ith's k-th row goes to
 *                pos = ith * stretch + k, stretch = its row count rounded up
 *                to whole lines: each thread writes only its own lines
 *
 * Library code: nothing here prints or exits; contention_split_shared_lines
 * allocates a scratch array and frees it.
 */
#ifndef GGPERF_WORKLOADS_CONTENTION_SPLIT_H
#define GGPERF_WORKLOADS_CONTENTION_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum contention_layout { CONTENTION_BLOCKED = 0, CONTENTION_INTERLEAVED, CONTENTION_PADDED };

#define CONTENTION_LINE_BYTES 64
#define CONTENTION_LINE_FLOATS (CONTENTION_LINE_BYTES / 4)

struct contention_split {
    int64_t rows;                 /* weight rows = outputs per column */
    int nth;                      /* threads */
    enum contention_layout layout;
    int64_t stretch;              /* padded: floats per thread's stretch (a multiple of a line) */
    int64_t ld;                   /* floats from one output column to the next (a whole number of lines) */
};

/* The split of rows over nth threads (rows >= 1, nth >= 1) in layout. ld is
 * nth * (ceil(rows / nth) rounded up to a line) + one line, for every
 * layout: the spare line keeps a column stride of whole pages (1024 rows)
 * from mapping all of a row's outputs to one cache set. */
void contention_split_init(struct contention_split *s, int64_t rows, int nth, enum contention_layout layout);

/* Thread ith's rows: r = *begin, *begin + *step, ... < *end (infer_matmul_rows). */
void contention_split_rows(const struct contention_split *s, int ith, int64_t *begin, int64_t *end, int64_t *step);

/* Where row r, the k-th row (from 0) of thread ith, puts its output. */
static inline int64_t contention_split_pos(const struct contention_split *s, int ith, int64_t r, int64_t k)
{
    return s->layout == CONTENTION_PADDED ? (int64_t)ith * s->stretch + k : r;
}

/* The positions of thread ith's rows (the first at begin, then every
 * step) as an arithmetic sequence: *pos for the first, + *dpos for each
 * next (r for blocked and interleaved, ith * stretch + k for padded). */
static inline void contention_split_walk(const struct contention_split *s, int ith, int64_t begin, int64_t step,
                                         int64_t *pos, int64_t *dpos)
{
    bool padded = s->layout == CONTENTION_PADDED;
    *pos = padded ? (int64_t)ith * s->stretch : begin;
    *dpos = padded ? 1 : step;
}

/* Output lines written by more than one thread in one op over cols output
 * columns ([cols][ld] floats whose first float sits offset_bytes past a
 * line, offset a multiple of 4 below 64), from the split itself: every
 * write is replayed. *lines_written gets the lines written at all (may be
 * NULL). Returns the count, or -1 when out of memory. */
int64_t contention_split_shared_lines(const struct contention_split *s, int64_t cols, size_t offset_bytes,
                                      int64_t *lines_written);

#endif

/* ---- hardware events for the same question, where a PMU exists ---------- */

/* A load that found its line modified in another core's cache (a
 * cache-to-cache transfer of a dirty line: what false sharing costs), as
 * libpfm4 names it for one PMU. */
struct contention_pmu_event {
    const char *pmu;        /* libpfm4 PMU name: "skl", "spr", "amd64_fam19h_zen3" */
    const char *event;      /* "skl::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM" (explicit PMU prefix) */
    const char *meaning;    /* one line: what it counts, and how close it is to HITM */
};

/* The table, ended by an entry with pmu NULL. */
extern const struct contention_pmu_event contention_pmu_events[];

/* The entry for libpfm4 PMU name pmu (the first word of ctr_hw_pfm_pmu), or NULL. */
const struct contention_pmu_event *contention_split_pmu_event(const char *pmu);

/* ---- the passes of one repetition ---------------------------------------- */

#include "harness/run/workload.h"

/* A repetition runs its planned passes, then more while fewer than half of
 * them were undisturbed (a host that took a vCPU away for a moment), up to
 * this many in all: a short disturbance costs passes, not the repetition. */
#define CONTENTION_MAX_PASSES 128
#define CONTENTION_ON_CPU_MIN 0.9    /* each thread on a CPU for this much of its work time */
#define CONTENTION_SKEW_MAX 0.1      /* threads started within this share of the work's span of each other */

/* Per-pass figures of one repetition: wall time of the dispatch, the share
 * outside the span of the threads' work (waking and joining them), the threads' summed CPU time, and whether the
 * threads ran side by side. On a shared machine a thread that waits for a
 * CPU neither contends nor computes, and a worker that starts late leaves
 * the others alone: the passes in which they ran together (undisturbed)
 * are the ones that show what a layout costs. Undisturbed, with no more
 * threads than CPUs: every thread was on a CPU for 90% of its own work
 * time and all started within 10% of the work's span (first start to
 * last end) of each other (one may finish later: an uneven cost is part of
 * what is measured). With more threads than CPUs: the threads' CPU time
 * filled 90% of the span on every CPU. */
struct contention_passes {
    int cpus;                     /* CPUs the pool may run on (set before adding passes; 0 counts as 1) */
    int n;
    double wall[CONTENTION_MAX_PASSES], share[CONTENTION_MAX_PASSES];
    double cpu[CONTENTION_MAX_PASSES], on_cpu[CONTENTION_MAX_PASSES];
    double span[CONTENTION_MAX_PASSES];   /* first start to last end of the threads' work */
    bool undisturbed[CONTENTION_MAX_PASSES];
};

/* Add a pass: wall_ns of the whole dispatch, and for each of threads
 * threads the monotonic ns it started its work at, and the wall and CPU
 * ns it spent in it (t_start[t * 8], t_work[t * 8], t_cpu[t * 8]: a line
 * per thread). Passes beyond the maximum are ignored. */
void contention_passes_add(struct contention_passes *p, double wall_ns, const uint64_t *t_start,
                           const uint64_t *t_work, const uint64_t *t_cpu, int threads);

/* The CPUs this process may run on (sched_getaffinity; at least 1). */
int contention_cpus(void);

/* Whether to run another pass: fewer than planned so far, or fewer than
 * planned / 2 undisturbed ones and room for more (CONTENTION_MAX_PASSES). */
bool contention_passes_more(const struct contention_passes *p, int planned);

/* Emit, per unit (divide by units): NAME (median wall), NAME_min,
 * cpu_NAME (median summed CPU time), NAME_undisturbed (median span of the
 * undisturbed passes, from the first thread's start to the last one's end:
 * the work itself, without waking and joining, which a busy machine
 * stretches; not counted with the reason when there were none),
 * and, per repetition: passes (timed), undisturbed_passes;
 * per pass: on_cpu_fraction (median of the
 * smallest thread's CPU / work time; with more threads than CPUs, the CPU
 * time's share of the CPUs), dispatch_share (median) and dispatch_share_undisturbed
 * (median over the undisturbed passes: the pool's own cost). */
void contention_passes_emit(const struct contention_passes *p, struct workload_sink *out, const char *name,
                            double units);
