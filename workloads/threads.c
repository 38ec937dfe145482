/* threads — how the thread pool's size, pinning and wait policy change
 * decode speed, and what the scheduler did meanwhile.
 *
 * Worker counts from 1 to several times the CPUs (oversubscription is part
 * of the sweep), pinning off or on (thread i on the i-th CPU of this
 * process's affinity mask, modulo its size), and the pool's wait policy:
 * spin, futex, hybrid. Each repetition creates a context, evaluates and
 * forgets one warm-up token, then times n_gen decode steps with counters
 * on the pool's threads (the caller, thread 0, included: it waits at the
 * barriers too):
 *   tokens_per_s, token_p50/p95/p99/max_ns              time
 *   wakeup_latency_count/_p50/_p95/_p99/_max_ns          sched: sched_wakeup ->
 *       sched_switch of the same thread (tracepoints; unsupported with the
 *       reason when tracefs or perf_event_open refuse), wakeup_lost_events
 *   runq_wait_ns                                         sched: /proc/<tid>/schedstat
 *                                                        run-queue delay, summed over threads
 *   context_switches, voluntary_switches,                sw
 *   involuntary_switches, cpu_migrations
 *   barriers_per_token, futex_waits, futex_wakes,        sw (the pool's own counts)
 *   spin_loops, oversubscribed
 *   weights_resident_fraction, weights_rewarmed,         sw (wlutil_weights_ready, before the clock)
 *   weights_huge_fraction                                sw (after: a mapped file's page cache may be
 *                                                        collapsed into huge pages as a run goes on)
 * The weights axis places the file's bytes as decode's does; a study of
 * threads holds it fixed (hugepage is a copy made once, at setup).
 */
#include <stdlib.h>
#include <string.h>

#include "harness/machine/clock.h"
#include "harness/run/session.h"
#include "workloads/wlutil.h"

static const char *const threads_pin[] = { "off", "on", NULL };
static const char *const threads_wait[] = { "spin", "futex", "hybrid", NULL };

#define THREADS_MAX_CPUS 1024

enum { AX_THREADS, AX_PIN, AX_WAIT, AX_NGEN, AX_KERNELS, AX_WEIGHTS, AX_N };

static const struct workload_axis threads_axes[AX_N] = {
    { "threads", "engine threads (the caller included); above the CPU count oversubscribes", WORKLOAD_AXIS_INT,
      NULL, 1, POOL_MAX_THREADS, "1,2,4" },
    { "pin", "pin thread i to the i-th CPU of the affinity mask", WORKLOAD_AXIS_CHOICE, threads_pin, 0, 0, "off,on" },
    { "wait", "thread pool wait policy", WORKLOAD_AXIS_CHOICE, threads_wait, 0, 0, "spin,futex,hybrid" },
    { "n_gen", "tokens generated (timed) per repetition", WORKLOAD_AXIS_INT, NULL, 1, 65536, "8" },
    { "kernels", "kernel ISA: auto (fastest), ref, avx2, avx512", WORKLOAD_AXIS_CHOICE, wlutil_kernel_choices, 0, 0,
      "auto" },
    { "weights", "where the model's bytes live: map (the file mapping), read (heap copy), hugepage (copy in 2 MiB THP)",
      WORKLOAD_AXIS_CHOICE, filebuf_kind_names, 0, 0, "map" },
};

struct threads_state {
    struct session s;
    int threads, n_gen;
    bool pin;
    enum pool_wait wait;
    enum quant_isa isa;
    int cpus[THREADS_MAX_CPUS];
    int n_cpus;
};

static void threads_teardown(void *state)
{
    struct threads_state *s = state;
    if (!s)
        return;
    session_close(&s->s);
    free(s);
}

static int threads_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct threads_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "threads: out of memory");
        return -1;
    }
    s->s.fd = -1;
    s->threads = (int)cfg->num[AX_THREADS];
    s->pin = cfg->num[AX_PIN] == 1;
    s->wait = (enum pool_wait)cfg->num[AX_WAIT];
    s->n_gen = (int)cfg->num[AX_NGEN];
    if (wlutil_kernels((int)cfg->num[AX_KERNELS], &s->isa, err, err_len) != 0)
        goto fail;
    if (s->pin) {
        s->n_cpus = wlutil_affinity_cpus(s->cpus, THREADS_MAX_CPUS);
        if (s->n_cpus < 1) {
            snprintf(err, err_len, "pin: cannot read this process's CPU affinity");
            goto fail;
        }
    }
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = cfg->model_path;
    so.weights = (enum filebuf_kind)cfg->num[AX_WEIGHTS];
    if (session_open(&s->s, &so, false, err, err_len) != 0)
        goto fail;
    *state = s;
    return 0;
fail:
    threads_teardown(s);
    return -1;
}

static const char *const threads_ctr_names[] = {
    "wakeup_latency_count", "wakeup_latency_p50_ns", "wakeup_latency_p95_ns", "wakeup_latency_p99_ns",
    "wakeup_latency_max_ns", "wakeup_lost_events",  "runq_wait_ns",          "context_switches",
    "voluntary_switches",   "involuntary_switches", "cpu_migrations",        NULL,
};

static int threads_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct threads_state *s = state;
    const struct model *m = &s->s.m;
    int n_vocab = m->hp.n_vocab;
    struct infer_opts o;
    infer_opts_default(&o);
    o.n_threads = s->threads;
    o.wait = s->wait;
    o.max_isa = s->isa;
    o.n_ctx = s->n_gen;
    if (s->pin) {
        o.cpus = s->cpus;
        o.n_cpus = s->n_cpus;
    }
    struct infer *c = NULL;
    struct wlutil_ctr ctr = { .n = -1 };
    double *lat = malloc((size_t)s->n_gen * sizeof *lat);
    int rc = -1;
    char e[256];
    if (!lat) {
        snprintf(err, err_len, "threads: out of memory");
        goto done;
    }
    if (wlutil_infer_warm(&c, m, &o, &s->s.file, err, err_len) != 0)
        goto done;
    struct pool *pool = infer_pool(c);
    int tids[POOL_MAX_THREADS];
    int nt = wlutil_pool_tids(pool, tids, POOL_MAX_THREADS);
    wlutil_ctr_open(&ctr, CTR_SW | CTR_SCHED, tids, nt, true);
    pool_reset_stats(pool);
    wlutil_weights_ready(&s->s.file, out);

    wlutil_ctr_begin(&ctr);
    double total = 0;
    for (int i = 0; i < s->n_gen; i++) {
        int32_t tok = wlutil_token(1 + i, n_vocab);
        uint64_t t0 = clock_ns();
        int r = infer_eval(c, &tok, 1, NULL, e, sizeof e);
        uint64_t t1 = clock_ns();
        if (r != INFER_OK) {
            snprintf(err, err_len, "decode step %d: %s", i, e);
            goto done;
        }
        lat[i] = (double)(t1 - t0);
        total += lat[i];
    }
    wlutil_ctr_end(&ctr);
    struct pool_stats ps;
    pool_get_stats(pool, &ps);

    workload_emit(out, "tokens_per_s", "tok/s", METRIC_SRC_TIME, s->n_gen / (total * 1e-9));
    wlutil_emit_latency(out, "token", lat, s->n_gen);
    wlutil_ctr_emit(&ctr, out, threads_ctr_names);
    wlutil_emit_huge_fraction(&s->s.file, out);
    workload_emit(out, "barriers_per_token", "count", METRIC_SRC_SW, (double)ps.barriers / s->n_gen);
    workload_emit(out, "futex_waits", "count", METRIC_SRC_SW, (double)ps.futex_waits);
    workload_emit(out, "futex_wakes", "count", METRIC_SRC_SW, (double)ps.futex_wakes);
    workload_emit(out, "spin_loops", "count", METRIC_SRC_SW, (double)ps.spin_loops);
    workload_emit(out, "oversubscribed", "bool", METRIC_SRC_SW, pool_oversubscribed(pool) ? 1 : 0);
    rc = 0;
done:
    wlutil_ctr_close(&ctr);
    infer_free(c);
    free(lat);
    return rc;
}

/* The primary set: tokens/s and the median step. */
static const struct metric_decl threads_metrics[] = {
    { "tokens_per_s", METRIC_SEM(HIGHER, SAMPLE, true) },
    { "token_p50_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "token_*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "barriers_per_token", METRIC_SEM(NEITHER, INFO, false) },
    { "oversubscribed", METRIC_SEM(NEITHER, ENV, false) },
    { "weights_resident_fraction", METRIC_SEM(NEITHER, ENV, false) },
    { "weights_rewarmed", METRIC_SEM(NEITHER, INFO, false) },
    { "weights_huge_fraction", METRIC_SEM(NEITHER, ENV, false) },
    { "futex_waits", METRIC_SEM(LOWER, SAMPLE, false) },
    { "futex_wakes", METRIC_SEM(LOWER, SAMPLE, false) },
    { "spin_loops", METRIC_SEM(LOWER, SAMPLE, false) },
};

const struct workload workload_threads = {
    WORKLOAD_METRICS(threads_metrics),
    .name = "threads",
    .description = "thread count, pinning and wait policy: tokens/s, wake-up latency, switches, run-queue delay",
    .axes = threads_axes,
    .n_axes = AX_N,
    .flags = WORKLOAD_NEEDS_MODEL,
    .setup = threads_setup,
    .run = threads_run,
    .work = NULL, /* run() also creates the context and its threads */
    .teardown = threads_teardown,
};
