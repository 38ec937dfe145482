/* contention_calib — this machine's false-sharing penalty, from the
 * classic loop: every thread increments its own counter, the counters
 * either packed into one line (8 bytes apart) or a line each, with plain
 * stores (a volatile load + store, the compiler keeps every one) or atomic
 * read-modify-writes. Packed vs padded at the same thread count is the
 * price of a line bouncing between cores; the contention study prints it
 * beside its own results so a reader can tell what "no difference" there
 * could have detected.
 *
 * One pass is one dispatch of a warm, spinning pool (one per repetition)
 * in which each thread, after a start barrier, does
 * CC_INCS_PLAIN or CC_INCS_ATOMIC increments. Figures per repetition (24
 * passes after one untimed pass, more while fewer than 12 were
 * undisturbed: see contention_passes_more), from contention_passes_emit:
 * ns_per_increment (median pass / increments per thread: the time for
 * every thread to make one increment), ns_per_increment_undisturbed (the
 * work's span over the passes in which the threads ran side by side: on a
 * busy machine the threads of the other passes took turns on a CPU and
 * could not contend),
 * cpu_ns_per_increment (CPU time per increment made), on_cpu_fraction,
 * dispatch_share, and counter_check (the counters' sum after the passes
 * divided by the increments made: 1 when no increment was lost, which
 * plain stores guarantee only because each counter has one writer).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/machine/clock.h"
#include "workloads/contention_split.h"
#include "workloads/wlutil.h"

/* increments per thread per pass: 0.1-0.5 ms with padded counters on a
 * current core (plain stores forward in about a cycle, a lock add takes
 * ~20), ~1 ms for contended atomics: short passes, so that on a busy
 * machine some of them find the threads side by side */
#define CC_INCS_PLAIN 1000000
#define CC_INCS_ATOMIC 20000
#define CC_PASSES 24
#define CC_LINE 64

static const char *const cc_layouts[] = { "packed", "padded", NULL };
static const char *const cc_stores[] = { "plain", "atomic", NULL };

enum { AX_THREADS, AX_LAYOUT, AX_STORE, AX_N };

static const struct workload_axis cc_axes[AX_N] = {
    { "threads", "threads, each incrementing its own counter", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS, "1,2" },
    { "layout", "counters: packed (8 bytes apart, one line) or padded (a line each)", WORKLOAD_AXIS_CHOICE,
      cc_layouts, 0, 0, "packed,padded" },
    { "store", "increment: plain (load + store) or atomic (lock add)", WORKLOAD_AXIS_CHOICE, cc_stores, 0, 0,
      "plain,atomic" },
};

struct cc_state {
    int threads;
    bool padded, atomic;
    int incs;                    /* per thread per pass */
    uint64_t *counters;          /* packed: [threads]; padded: [threads][8] (line-aligned) */
    uint64_t *t_work;            /* [threads][8]: [0] ns in the loop, [1] its start; a line each */
    uint64_t *t_cpu;             /* [threads][8] CPU ns of the same */
    struct pool *pool;
};

static void cc_teardown(void *state)
{
    struct cc_state *s = state;
    if (!s)
        return;
    pool_free(s->pool);
    free(s->counters);
    free(s->t_work);
    free(s->t_cpu);
    free(s);
}

static int cc_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct cc_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "contention_calib: out of memory");
        return -1;
    }
    s->threads = (int)cfg->num[AX_THREADS];
    s->padded = cfg->num[AX_LAYOUT] == 1;
    s->atomic = cfg->num[AX_STORE] == 1;
    s->incs = s->atomic ? CC_INCS_ATOMIC : CC_INCS_PLAIN;
    size_t bytes = ((size_t)s->threads * 8 * sizeof(uint64_t) + CC_LINE - 1) / CC_LINE * CC_LINE;
    s->counters = aligned_alloc(CC_LINE, bytes);
    s->t_work = aligned_alloc(CC_LINE, (size_t)s->threads * 8 * sizeof(uint64_t));
    s->t_cpu = aligned_alloc(CC_LINE, (size_t)s->threads * 8 * sizeof(uint64_t));
    if (!s->counters || !s->t_work || !s->t_cpu) {
        snprintf(err, err_len, "contention_calib: out of memory");
        goto fail;
    }
    memset(s->counters, 0, bytes);
    memset(s->t_work, 0, (size_t)s->threads * 8 * sizeof(uint64_t));
    *state = s;
    return 0;
fail:
    cc_teardown(s);
    return -1;
}

/* CPU time of the calling thread: unlike wall time it leaves out the time
 * the thread waited for a CPU, which on a shared machine is most of the
 * noise, while the stalls of a contended line stay in it. */
static uint64_t cc_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cc_pass(void *arg, int ith, int nth)
{
    struct cc_state *s = arg;
    (void)nth;
    uint64_t *c = s->padded ? &s->counters[ith * 8] : &s->counters[ith];
    pool_barrier(s->pool, ith);   /* start together (see ct_pass in contention.c) */
    uint64_t t0 = clock_ns(), c0 = cc_thread_cpu_ns();
    if (s->atomic) {
        for (int i = 0; i < s->incs; i++)
            __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
    } else {
        volatile uint64_t *v = c;
        for (int i = 0; i < s->incs; i++)
            *v = *v + 1;
    }
    s->t_cpu[ith * 8] = cc_thread_cpu_ns() - c0;
    s->t_work[ith * 8] = clock_ns() - t0;
    s->t_work[ith * 8 + 1] = t0;   /* the start, for contention_passes_add */
}

static int cc_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct cc_state *s = state;
    struct contention_passes ps = { .cpus = contention_cpus() };
    /* a spinning pool for this repetition only (see ct_pool_open in contention.c) */
    struct pool_opts po = { .n_threads = s->threads, .wait = POOL_WAIT_SPIN };
    char e[256];
    s->pool = pool_new(&po, NULL, e, sizeof e);
    if (!s->pool) {
        snprintf(err, err_len, "thread pool: %s", e);
        return -1;
    }
    for (int t = 0; t < s->threads; t++)
        s->counters[s->padded ? t * 8 : t] = 0;
    pool_run(s->pool, cc_pass, s);   /* wakes the workers */
    while (contention_passes_more(&ps, CC_PASSES)) {
        uint64_t t0 = clock_ns();
        pool_run(s->pool, cc_pass, s);
        contention_passes_add(&ps, (double)(clock_ns() - t0), s->t_work + 1, s->t_work, s->t_cpu, s->threads);
    }
    double sum = 0;
    for (int t = 0; t < s->threads; t++)
        sum += (double)s->counters[s->padded ? t * 8 : t];
    /* wall per increment of every thread; the CPU figure is per increment
     * made (threads x incs) */
    contention_passes_emit(&ps, out, "ns_per_increment", s->incs);
    for (int i = 0; i < out->n; i++)
        if (strcmp(out->m[i].name, "cpu_ns_per_increment") == 0)
            out->m[i].value /= s->threads;
    workload_emit(out, "counter_check", "fraction", METRIC_SRC_DERIVED,
                  sum / ((double)(ps.n + 1) * s->incs * s->threads));
    pool_free(s->pool);
    s->pool = NULL;
    return 0;
}

/* The calibration's figures are context for the study, not results to
 * gate: none is gated by default. */
static const struct metric_decl calib_metrics[] = {
    { "ns_per_increment", METRIC_SEM(LOWER, SAMPLE, false) },
    { "ns_per_increment_undisturbed", METRIC_SEM(LOWER, SAMPLE, false) },
    { "ns_per_increment_min", METRIC_SEM(LOWER, SAMPLE, false) },
    { "cpu_ns_per_increment", METRIC_SEM(LOWER, SAMPLE, false) },
    { "dispatch_share*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "passes", METRIC_SEM(NEITHER, INFO, false) },
    { "undisturbed_passes", METRIC_SEM(NEITHER, INFO, false) },
    { "on_cpu_fraction", METRIC_SEM(NEITHER, INFO, false) },
    { "counter_check", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_contention_calib = {
    WORKLOAD_METRICS(calib_metrics),
    .name = "contention_calib",
    .description = "false-sharing penalty of this machine: per-thread counters in one line vs a line each",
    .axes = cc_axes,
    .n_axes = AX_N,
    .flags = 0,
    .setup = cc_setup,
    .run = cc_run,
    .work = NULL,
    .teardown = cc_teardown,
};
