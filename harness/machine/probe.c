/* probe — machine capabilities and the bandwidth / context-switch probes. */
#include "harness/machine/probe.h"
#include "harness/machine/reclaim.h"
#include "base/err.h"
#include "harness/machine/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine/quant.h"
#include "harness/machine/clock.h"

static void metric_init(struct metric *m, const char *name, const char *unit, enum metric_source src)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->unit = unit;
    m->source = src;
    m->running_fraction = 1.0;
}

static void metric_fail(struct metric *m, enum metric_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void metric_fail(struct metric *m, enum metric_status st, const char *fmt, ...)
{
    va_list ap;
    m->status = st;
    m->value = 0;
    va_start(ap, fmt);
    vsnprintf(m->reason, sizeof m->reason, fmt, ap);
    va_end(ap);
}

/* ---- capability probes ------------------------------------------------- */

/* "always [madvise] never" -> "madvise" */
static void bracketed(const char *path, char *out, size_t len)
{
    if (sysfs_selected(path, out, len) != 0)
        snprintf(out, len, "unknown");
}

static void probe_cpu(struct probe_info *p)
{
    cpuinfo_cpu_get(&p->cpu, NULL, NULL, NULL);
    cpuinfo_cpu_name(&p->cpu, p->cpu_model, sizeof p->cpu_model);
    p->n_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(p->kernel, sizeof p->kernel, "%s", u.release);
}

static void probe_events(struct probe_info *p)
{
    p->pmu_present = ctr_hw_pmu_present(p->pmu_reason, sizeof p->pmu_reason);
    ctr_hw_pfm_pmu(p->pfm_pmu, sizeof p->pfm_pmu);
    p->perf_event_paranoid = ctr_perf_event_paranoid();
    p->n_hw = CTR_HW_DEFAULT_N;
    for (int i = 0; i < CTR_HW_DEFAULT_N; i++) {
        struct probe_event *e = &p->hw[i];
        char err[METRIC_REASON_MAX];
        struct ctr_hw_encoding enc;
        snprintf(e->name, sizeof e->name, "%s", ctr_hw_default_events[i]);
        snprintf(e->metric, sizeof e->metric, "%s", ctr_hw_default_metric_names[i]);
        if (ctr_hw_encode(e->name, &enc, err, sizeof err) == 0)
            snprintf(e->encoding, sizeof e->encoding, "%s", enc.fstr);
        e->opens = ctr_hw_try(e->name, e->reason, sizeof e->reason) == 0;
    }
    p->sw_ok = ctr_sw_available(p->sw_reason, sizeof p->sw_reason);
    char why[160];
    if (ctr_tracefs_dir(p->tracefs, sizeof p->tracefs, why, sizeof why) != 0)
        p->tracefs[0] = '\0';
    p->tracepoints_ok = ctr_sched_available(p->tracepoints_reason, sizeof p->tracepoints_reason);
    p->valgrind_ok = ctr_sim_valgrind_version(p->valgrind, sizeof p->valgrind) == 0;
    bracketed("/sys/kernel/mm/transparent_hugepage/enabled", p->thp_enabled, sizeof p->thp_enabled);
    bracketed("/sys/kernel/mm/transparent_hugepage/defrag", p->thp_defrag, sizeof p->thp_defrag);
    struct reclaim_info rc;
    reclaim_probe(&rc);
    snprintf(p->reclaim, sizeof p->reclaim, "%s", rc.summary);
}

/* ---- bandwidth --------------------------------------------------------- */

uint64_t probe_bw_default_bytes(void)
{
    struct cpuinfo_caches cs;
    uint64_t llc = 0;
    if (cpuinfo_caches_get(&cs) == 0 && cpuinfo_cache_last(&cs))
        llc = cpuinfo_cache_last(&cs)->size_bytes;
    uint64_t want = 4 * llc;
    if (want < (256ull << 20))
        want = 256ull << 20;
    uint64_t avail = sysfs_mem_available();
    if (avail && want > avail / 6)
        want = avail / 6;
    return want & ~(uint64_t)4095;
}

struct bw_shared {
    double *a, *b, *c;
    size_t n;
    int threads, reps;
    pthread_mutex_t mu;  /* start gate: no thread reaches the barrier */
    pthread_cond_t cv;   /* before all of them exist */
    bool go, abort;
    pthread_barrier_t bar;
    uint64_t best_ns[2]; /* copy, triad */
};

struct bw_worker {
    struct bw_shared *sh;
    int id;
    pthread_t th;
};

/* Wait at the start gate; false when told to abort. */
static bool gate(struct bw_shared *sh)
{
    pthread_mutex_lock(&sh->mu);
    while (!sh->go && !sh->abort)
        pthread_cond_wait(&sh->cv, &sh->mu);
    bool go = !sh->abort;
    pthread_mutex_unlock(&sh->mu);
    return go;
}

static void *bw_thread(void *arg)
{
    struct bw_worker *w = arg;
    struct bw_shared *sh = w->sh;
    if (!gate(sh))
        return NULL;
    size_t lo = sh->n * (size_t)w->id / (size_t)sh->threads;
    size_t hi = sh->n * (size_t)(w->id + 1) / (size_t)sh->threads;
    double *a = sh->a, *b = sh->b, *c = sh->c;
    const double s = 3.0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu > 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->id % ncpu, &set);
        (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
    }
    for (int r = 0; r < sh->reps; r++) {
        for (int k = 0; k < 2; k++) {
            pthread_barrier_wait(&sh->bar);
            uint64_t t0 = clock_ns();
            if (k == 0)
                for (size_t i = lo; i < hi; i++)
                    c[i] = a[i];
            else
                for (size_t i = lo; i < hi; i++)
                    a[i] = b[i] + s * c[i];
            pthread_barrier_wait(&sh->bar);
            if (w->id == 0) {
                uint64_t dt = clock_ns() - t0;
                if (!sh->best_ns[k] || dt < sh->best_ns[k])
                    sh->best_ns[k] = dt;
            }
        }
    }
    return NULL;
}

static void *first_touch(void *arg)
{
    struct bw_worker *w = arg;
    struct bw_shared *sh = w->sh;
    if (!gate(sh))
        return NULL;
    size_t lo = sh->n * (size_t)w->id / (size_t)sh->threads;
    size_t hi = sh->n * (size_t)(w->id + 1) / (size_t)sh->threads;
    for (size_t i = lo; i < hi; i++) {
        sh->a[i] = 1.0;
        sh->b[i] = 2.0;
        sh->c[i] = 0.0;
    }
    return NULL;
}

static int run_threads(struct bw_shared *sh, int threads, void *(*fn)(void *), char *err, size_t err_len)
{
    struct bw_worker w[256];
    if (threads < 1 || threads > 256) {
        err_set(err, err_len, "bandwidth: %d threads (allowed 1..256)", threads);
        return CTR_EINVAL;
    }
    sh->threads = threads;
    if (pthread_barrier_init(&sh->bar, NULL, (unsigned)threads) != 0) {
        err_set(err, err_len, "bandwidth: pthread_barrier_init failed");
        return CTR_EIO;
    }
    int started = 0, rc = 0;
    sh->go = sh->abort = false;
    for (int i = 0; i < threads; i++) {
        w[i].sh = sh;
        w[i].id = i;
        if (pthread_create(&w[i].th, NULL, fn, &w[i]) != 0) {
            rc = CTR_EIO;
            break;
        }
        started++;
    }
    pthread_mutex_lock(&sh->mu);
    if (rc) {
        err_set(err, err_len, "bandwidth: pthread_create failed after %d threads", started);
        sh->abort = true;
    } else {
        sh->go = true;
    }
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    for (int i = 0; i < started; i++)
        pthread_join(w[i].th, NULL);
    pthread_barrier_destroy(&sh->bar);
    return rc;
}

int probe_bandwidth(const struct probe_bw_opts *opts, struct probe_bw_row *rows, char *err, size_t err_len)
{
    struct probe_bw_opts o = opts ? *opts : (struct probe_bw_opts){ 0 };
    int dflt[PROBE_MAX_BW_ROWS];
    if (!o.array_bytes)
        o.array_bytes = probe_bw_default_bytes();
    if (!o.reps)
        o.reps = 5;
    if (!o.threads) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        int n = 0;
        for (long t = 1; t < ncpu && n < PROBE_MAX_BW_ROWS - 1; t *= 2)
            dflt[n++] = (int)t;
        dflt[n++] = ncpu > 0 ? (int)ncpu : 1;
        o.threads = dflt;
        o.n_threads = n;
    }
    if (o.n_threads < 1 || o.n_threads > PROBE_MAX_BW_ROWS || o.array_bytes < 4096 || o.reps < 1) {
        err_set(err, err_len, "bandwidth: bad options (%d thread counts, allowed 1..%d; %" PRIu64 " bytes per array)",
                o.n_threads, PROBE_MAX_BW_ROWS, o.array_bytes);
        return CTR_EINVAL;
    }
    struct bw_shared sh;
    memset(&sh, 0, sizeof sh);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    sh.n = (size_t)(o.array_bytes / sizeof(double));
    size_t bytes = sh.n * sizeof(double);
    double *arr[3] = { NULL, NULL, NULL };
    for (int i = 0; i < 3; i++) {
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            err_set(err, err_len, "bandwidth: mmap of %zu bytes: %s", bytes, strerror(errno));
            for (int k = 0; k < i; k++)
                munmap(arr[k], bytes);
            pthread_cond_destroy(&sh.cv);
            pthread_mutex_destroy(&sh.mu);
            return CTR_ENOMEM;
        }
        /* huge pages where THP allows: peak bandwidth, not TLB misses, and a
         * much faster first touch of gigabytes */
        (void)madvise(m, bytes, MADV_HUGEPAGE);
        arr[i] = m;
    }
    sh.a = arr[0];
    sh.b = arr[1];
    sh.c = arr[2];
    int maxt = 1;
    for (int i = 0; i < o.n_threads; i++)
        if (o.threads[i] > maxt)
            maxt = o.threads[i];
    int rc = run_threads(&sh, maxt, first_touch, err, err_len);
    for (int i = 0; rc == 0 && i < o.n_threads; i++) {
        struct probe_bw_row *r = &rows[i];
        r->threads = o.threads[i];
        metric_init(&r->copy_gbps, "copy_gbps", "GB/s", METRIC_SRC_DERIVED);
        metric_init(&r->triad_gbps, "triad_gbps", "GB/s", METRIC_SRC_DERIVED);
        sh.reps = o.reps;
        sh.best_ns[0] = sh.best_ns[1] = 0;
        rc = run_threads(&sh, o.threads[i], bw_thread, err, err_len);
        if (rc)
            break;
        /* STREAM's byte counts: copy reads a, writes c; triad reads b, c, writes a */
        r->copy_gbps.value = sh.best_ns[0] ? 16.0 * (double)sh.n / (double)sh.best_ns[0] : 0;
        r->triad_gbps.value = sh.best_ns[1] ? 24.0 * (double)sh.n / (double)sh.best_ns[1] : 0;
        if (!sh.best_ns[0])
            metric_fail(&r->copy_gbps, METRIC_NOT_COUNTED, "no timed repetition");
        if (!sh.best_ns[1])
            metric_fail(&r->triad_gbps, METRIC_NOT_COUNTED, "no timed repetition");
    }
    for (int i = 0; i < 3; i++)
        munmap(arr[i], bytes);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.mu);
    return rc ? rc : o.n_threads;
}

/* ---- context switches -------------------------------------------------- */

struct probe_pingpong {
    enum probe_pp_mode mode;
    int cpu;
    pthread_t th[2];
    _Atomic int tid[2];
    /* control: run number and the rounds of that run */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long gen, done_gen[2], rounds;
    bool quit;
    uint64_t elapsed_ns;
    /* futex words: 1 = your turn */
    _Alignas(64) _Atomic uint32_t flag[2];
    int ab[2], ba[2]; /* pipes A->B, B->A */
};

struct pp_arg {
    struct probe_pingpong *pp;
    int side;
};

static void futex_wait(_Atomic uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Wait until my flag is set, then consume it. */
static void take(_Atomic uint32_t *w)
{
    while (atomic_load_explicit(w, memory_order_acquire) == 0)
        futex_wait(w, 0);
    atomic_store_explicit(w, 0, memory_order_relaxed);
}

static void give(_Atomic uint32_t *w)
{
    atomic_store_explicit(w, 1, memory_order_release);
    futex_wake(w);
}

static void pp_rounds(struct probe_pingpong *pp, int side, long rounds)
{
    char c = 'x';
    for (long r = 0; r < rounds; r++) {
        if (pp->mode == PROBE_PP_FUTEX) {
            if (side == 0) {
                give(&pp->flag[1]);
                take(&pp->flag[0]);
            } else {
                take(&pp->flag[1]);
                give(&pp->flag[0]);
            }
        } else {
            ssize_t n;
            if (side == 0) {
                n = write(pp->ab[1], &c, 1);
                n = read(pp->ba[0], &c, 1);
            } else {
                n = read(pp->ab[0], &c, 1);
                n = write(pp->ba[1], &c, 1);
            }
            (void)n;
        }
    }
}

static void *pp_thread(void *arg)
{
    struct pp_arg *a = arg;
    struct probe_pingpong *pp = a->pp;
    int side = a->side;
    free(a);
    if (pp->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(pp->cpu, &set);
        (void)sched_setaffinity(0, sizeof set, &set);
    }
    atomic_store(&pp->tid[side], (int)syscall(SYS_gettid));
    long seen = 0;
    for (;;) {
        pthread_mutex_lock(&pp->mu);
        pthread_cond_broadcast(&pp->cv); /* tid published / previous run done */
        while (pp->gen == seen && !pp->quit)
            pthread_cond_wait(&pp->cv, &pp->mu);
        if (pp->quit) {
            pthread_mutex_unlock(&pp->mu);
            return NULL;
        }
        seen = pp->gen;
        long rounds = pp->rounds;
        pthread_mutex_unlock(&pp->mu);
        uint64_t t0 = clock_ns();
        pp_rounds(pp, side, rounds);
        uint64_t dt = clock_ns() - t0;
        pthread_mutex_lock(&pp->mu);
        if (side == 0)
            pp->elapsed_ns = dt;
        pp->done_gen[side] = seen;
        pthread_cond_broadcast(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
    }
}

void probe_pingpong_free(struct probe_pingpong *pp)
{
    if (!pp)
        return;
    pthread_mutex_lock(&pp->mu);
    pp->quit = true;
    pthread_cond_broadcast(&pp->cv);
    pthread_mutex_unlock(&pp->mu);
    for (int i = 0; i < 2; i++)
        if (pp->th[i])
            pthread_join(pp->th[i], NULL);
    for (int i = 0; i < 2; i++) {
        if (pp->ab[i] >= 0)
            close(pp->ab[i]);
        if (pp->ba[i] >= 0)
            close(pp->ba[i]);
    }
    pthread_cond_destroy(&pp->cv);
    pthread_mutex_destroy(&pp->mu);
    free(pp);
}

int probe_pingpong_new(struct probe_pingpong **out, enum probe_pp_mode mode, int cpu, char *err, size_t err_len)
{
    *out = NULL;
    struct probe_pingpong *pp = calloc(1, sizeof *pp);
    if (!pp) {
        err_set(err, err_len, "pingpong: out of memory");
        return CTR_ENOMEM;
    }
    pp->mode = mode;
    pp->cpu = cpu;
    pp->ab[0] = pp->ab[1] = pp->ba[0] = pp->ba[1] = -1;
    pthread_mutex_init(&pp->mu, NULL);
    pthread_cond_init(&pp->cv, NULL);
    if (mode == PROBE_PP_PIPE && (pipe2(pp->ab, O_CLOEXEC) != 0 || pipe2(pp->ba, O_CLOEXEC) != 0)) {
        err_set(err, err_len, "pingpong: pipe: %s", strerror(errno));
        probe_pingpong_free(pp);
        return CTR_EIO;
    }
    for (int i = 0; i < 2; i++) {
        struct pp_arg *a = malloc(sizeof *a);
        if (a) {
            a->pp = pp;
            a->side = i;
        }
        if (!a || pthread_create(&pp->th[i], NULL, pp_thread, a) != 0) {
            free(a);
            err_set(err, err_len, "pingpong: cannot start thread %d", i);
            probe_pingpong_free(pp);
            return CTR_EIO;
        }
    }
    pthread_mutex_lock(&pp->mu);
    while (!atomic_load(&pp->tid[0]) || !atomic_load(&pp->tid[1]))
        pthread_cond_wait(&pp->cv, &pp->mu);
    pthread_mutex_unlock(&pp->mu);
    *out = pp;
    return 0;
}

void probe_pingpong_tids(const struct probe_pingpong *pp, int tids[2])
{
    tids[0] = atomic_load(&((struct probe_pingpong *)pp)->tid[0]);
    tids[1] = atomic_load(&((struct probe_pingpong *)pp)->tid[1]);
}

int probe_pingpong_run(struct probe_pingpong *pp, long rounds, uint64_t *elapsed_ns)
{
    if (!pp || rounds < 1)
        return CTR_EINVAL;
    pthread_mutex_lock(&pp->mu);
    pp->rounds = rounds;
    long g = ++pp->gen;
    pthread_cond_broadcast(&pp->cv);
    while (pp->done_gen[0] != g || pp->done_gen[1] != g)
        pthread_cond_wait(&pp->cv, &pp->mu);
    if (elapsed_ns)
        *elapsed_ns = pp->elapsed_ns;
    pthread_mutex_unlock(&pp->mu);
    return 0;
}

int probe_first_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            return i;
    return -1;
}

static void probe_ctxsw(struct probe_info *p, long rounds)
{
    p->ctxsw_cpu = probe_first_cpu();
    p->ctxsw_rounds = rounds;
    struct metric *m[2] = { &p->ctxsw_futex_ns, &p->ctxsw_pipe_ns };
    enum probe_pp_mode modes[2] = { PROBE_PP_FUTEX, PROBE_PP_PIPE };
    for (int i = 0; i < 2; i++) {
        struct probe_pingpong *pp;
        char err[128];
        if (probe_pingpong_new(&pp, modes[i], p->ctxsw_cpu, err, sizeof err) != 0) {
            metric_fail(m[i], METRIC_UNSUPPORTED, "%s", err);
            continue;
        }
        uint64_t warm, best = 0, dt;
        probe_pingpong_run(pp, rounds / 10 + 1, &warm);
        for (int r = 0; r < 3; r++) {
            probe_pingpong_run(pp, rounds, &dt);
            if (!best || dt < best)
                best = dt;
        }
        probe_pingpong_free(pp);
        m[i]->value = (double)best / (2.0 * (double)rounds);
    }
}

/* ---- collect ----------------------------------------------------------- */

int probe_collect(struct probe_info *p, unsigned flags)
{
    if (!p)
        return CTR_EINVAL;
    memset(p, 0, sizeof *p);
    p->flags = flags;
    probe_cpu(p);
    probe_events(p);
    cpuinfo_caches_get(&p->caches);

    metric_init(&p->peak_copy_gbps, "peak_copy_gbps", "GB/s", METRIC_SRC_DERIVED);
    metric_init(&p->peak_triad_gbps, "peak_triad_gbps", "GB/s", METRIC_SRC_DERIVED);
    if (flags & PROBE_NO_BANDWIDTH) {
        metric_fail(&p->peak_copy_gbps, METRIC_NOT_COUNTED, "skipped (--no-bandwidth)");
        metric_fail(&p->peak_triad_gbps, METRIC_NOT_COUNTED, "skipped (--no-bandwidth)");
    } else {
        struct probe_bw_opts o = { 0 };
        if (flags & PROBE_QUICK) {
            o.array_bytes = 4u << 20;
            o.reps = 2;
        } else {
            o.array_bytes = probe_bw_default_bytes();
            o.reps = 3;
        }
        p->bw_array_bytes = o.array_bytes;
        p->bw_reps = o.reps;
        char err[160];
        int n = probe_bandwidth(&o, p->bw, err, sizeof err);
        if (n < 0) {
            metric_fail(&p->peak_copy_gbps, METRIC_UNSUPPORTED, "%s", err);
            metric_fail(&p->peak_triad_gbps, METRIC_UNSUPPORTED, "%s", err);
        } else {
            p->n_bw = n;
            for (int i = 0; i < n; i++) {
                if (p->bw[i].copy_gbps.status == METRIC_OK && p->bw[i].copy_gbps.value > p->peak_copy_gbps.value)
                    p->peak_copy_gbps.value = p->bw[i].copy_gbps.value;
                if (p->bw[i].triad_gbps.status == METRIC_OK && p->bw[i].triad_gbps.value > p->peak_triad_gbps.value)
                    p->peak_triad_gbps.value = p->bw[i].triad_gbps.value;
            }
        }
    }

    metric_init(&p->ctxsw_futex_ns, "ctxsw_futex_ns", "ns", METRIC_SRC_DERIVED);
    metric_init(&p->ctxsw_pipe_ns, "ctxsw_pipe_ns", "ns", METRIC_SRC_DERIVED);
    if (flags & PROBE_NO_CTXSW) {
        metric_fail(&p->ctxsw_futex_ns, METRIC_NOT_COUNTED, "skipped (--no-ctxsw)");
        metric_fail(&p->ctxsw_pipe_ns, METRIC_NOT_COUNTED, "skipped (--no-ctxsw)");
        p->ctxsw_cpu = -1;
    } else {
        probe_ctxsw(p, (flags & PROBE_QUICK) ? 2000 : 50000);
    }
    return 0;
}

/* ---- JSON -------------------------------------------------------------- */

json_t *probe_metric_to_json(const struct metric *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(m->name));
    json_object_set_new(o, "unit", json_string(m->unit ? m->unit : ""));
    json_object_set_new(o, "source", json_string(metric_source_name(m->source)));
    json_object_set_new(o, "status", json_string(metric_status_name(m->status)));
    if (m->status == METRIC_OK)
        json_object_set_new(o, "value", json_real(m->value));
    else
        json_object_set_new(o, "reason", json_string(m->reason[0] ? m->reason : "no reason recorded"));
    if (m->source == METRIC_SRC_HW)
        json_object_set_new(o, "running_fraction", json_real(m->running_fraction));
    return o;
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *probe_cpu_json(const struct cpuinfo_cpu *c)
{
    char name[96];
    cpuinfo_cpu_name(c, name, sizeof name);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "vendor", str_or_null(c->vendor));
    json_object_set_new(o, "family", c->family >= 0 ? json_integer(c->family) : json_null());
    json_object_set_new(o, "model", c->model >= 0 ? json_integer(c->model) : json_null());
    json_object_set_new(o, "stepping", c->stepping >= 0 ? json_integer(c->stepping) : json_null());
    json_object_set_new(o, "hypervisor", json_boolean(c->hypervisor));
    json_object_set_new(o, "microarchitecture", str_or_null(c->uarch));
    json_object_set_new(o, "microarchitecture_basis", str_or_null(c->uarch_basis));
    return o;
}

json_t *probe_kernels_json(void)
{
    struct quant_kernels k;
    quant_kernels_init(&k, QISA_AVX512);
    const char *off = getenv("GGPERF_CPU_DISABLE");
    json_t *o = json_object(), *types = json_object();
    if (!o || !types) {
        json_decref(o);
        json_decref(types);
        return NULL;
    }
    for (int t = 0; t < QT_COUNT; t++)
        if (k.dot_variant[t])
            json_object_set_new(types, quant_type_name(t),
                                json_pack("{s:s, s:o}", "dot", k.dot_variant[t], "gemm",
                                          k.gemm_variant[t] ? json_string(k.gemm_variant[t]) : json_null()));
    json_object_set_new(o, "isa", json_string(quant_isa_name(k.isa)));
    json_object_set_new(o, "attn_f16", json_string(k.attn_variant ? k.attn_variant : "?"));
    json_object_set_new(o, "cpu_disable", off && *off ? json_string(off) : json_null());
    json_object_set_new(o, "types", types);
    return o;
}

json_t *probe_caches_json(const struct cpuinfo_caches *cs)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (int i = 0; i < cs->n; i++) {
        const struct cpuinfo_cache *c = &cs->c[i];
        json_t *e = json_object();
        json_object_set_new(e, "level", json_integer(c->level));
        json_object_set_new(e, "type", json_string(c->type));
        json_object_set_new(e, "size_bytes", json_integer((json_int_t)c->size_bytes));
        json_object_set_new(e, "ways", json_integer(c->ways));
        json_object_set_new(e, "line_bytes", json_integer(c->line_bytes));
        json_object_set_new(e, "sets", c->sets ? json_integer(c->sets) : json_null());
        json_object_set_new(e, "shared_cpus", str_or_null(c->shared_cpus));
        json_object_set_new(e, "source", json_string(cpuinfo_source_name(cs->source)));
        json_array_append_new(arr, e);
    }
    return arr;
}

int probe_to_json(const struct probe_info *p, json_t **out)
{
    json_t *o = json_object(), *hw = json_array(), *caches = json_array(), *bw = json_array();
    *out = NULL;
    if (!o || !hw || !caches || !bw) {
        json_decref(o);
        json_decref(hw);
        json_decref(caches);
        json_decref(bw);
        return CTR_ENOMEM;
    }
    json_object_set_new(o, "cpu_model", json_string(p->cpu_model));
    json_object_set_new(o, "cpu", probe_cpu_json(&p->cpu));
    json_object_set_new(o, "kernels", probe_kernels_json());
    json_object_set_new(o, "online_cpus", json_integer(p->n_cpus));
    json_object_set_new(o, "kernel", json_string(p->kernel));
    json_t *pmu = json_object();
    json_object_set_new(pmu, "present", json_boolean(p->pmu_present));
    json_object_set_new(pmu, "reason", str_or_null(p->pmu_reason));
    json_object_set_new(pmu, "libpfm4_pmu", str_or_null(p->pfm_pmu));
    json_object_set_new(o, "pmu", pmu);
    if (p->perf_event_paranoid != INT32_MIN)
        json_object_set_new(o, "perf_event_paranoid", json_integer(p->perf_event_paranoid));
    else
        json_object_set_new(o, "perf_event_paranoid", json_null());
    for (int i = 0; i < p->n_hw; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "event", json_string(p->hw[i].name));
        json_object_set_new(e, "metric", json_string(p->hw[i].metric));
        json_object_set_new(e, "encoding", str_or_null(p->hw[i].encoding));
        json_object_set_new(e, "opens", json_boolean(p->hw[i].opens));
        json_object_set_new(e, "reason", p->hw[i].opens ? json_null() : json_string(p->hw[i].reason));
        json_array_append_new(hw, e);
    }
    json_object_set_new(o, "hw_events", hw);
    json_t *sw = json_object();
    json_object_set_new(sw, "ok", json_boolean(p->sw_ok));
    json_object_set_new(sw, "reason", str_or_null(p->sw_reason));
    json_object_set_new(o, "sw_events", sw);
    json_t *tp = json_object();
    json_object_set_new(tp, "ok", json_boolean(p->tracepoints_ok));
    json_object_set_new(tp, "tracefs", str_or_null(p->tracefs));
    json_object_set_new(tp, "reason", str_or_null(p->tracepoints_reason));
    json_object_set_new(o, "sched_tracepoints", tp);
    json_t *vg = json_object();
    json_object_set_new(vg, "ok", json_boolean(p->valgrind_ok));
    json_object_set_new(vg, p->valgrind_ok ? "version" : "reason", json_string(p->valgrind));
    json_object_set_new(o, "valgrind", vg);
    json_t *thp = json_object();
    json_object_set_new(thp, "enabled", json_string(p->thp_enabled));
    json_object_set_new(thp, "defrag", json_string(p->thp_defrag));
    json_object_set_new(o, "reclaim", json_string(p->reclaim));
    json_object_set_new(o, "thp", thp);
    json_decref(caches);
    json_object_set_new(o, "caches", probe_caches_json(&p->caches));
    json_object_set_new(o, "caches_source", json_string(cpuinfo_source_name(p->caches.source)));
    json_object_set_new(o, "caches_reason", p->caches.n ? json_null() : json_string(p->caches.why));
    json_t *b = json_object();
    json_object_set_new(b, "array_bytes", json_integer((json_int_t)p->bw_array_bytes));
    json_object_set_new(b, "arrays", json_integer(3));
    json_object_set_new(b, "best_of", json_integer(p->bw_reps));
    json_object_set_new(b, "quick", json_boolean((p->flags & PROBE_QUICK) != 0));
    json_object_set_new(b, "madv_hugepage", json_true());
    for (int i = 0; i < p->n_bw; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "threads", json_integer(p->bw[i].threads));
        json_object_set_new(e, "copy_gbps", probe_metric_to_json(&p->bw[i].copy_gbps));
        json_object_set_new(e, "triad_gbps", probe_metric_to_json(&p->bw[i].triad_gbps));
        json_array_append_new(bw, e);
    }
    json_object_set_new(b, "rows", bw);
    json_object_set_new(b, "peak_copy_gbps", probe_metric_to_json(&p->peak_copy_gbps));
    json_object_set_new(b, "peak_triad_gbps", probe_metric_to_json(&p->peak_triad_gbps));
    json_object_set_new(o, "bandwidth", b);
    json_t *cs = json_object();
    json_object_set_new(cs, "pinned_cpu", p->ctxsw_cpu >= 0 ? json_integer(p->ctxsw_cpu) : json_null());
    json_object_set_new(cs, "round_trips", json_integer(p->ctxsw_rounds));
    json_object_set_new(cs, "futex_ns_per_switch", probe_metric_to_json(&p->ctxsw_futex_ns));
    json_object_set_new(cs, "pipe_ns_per_switch", probe_metric_to_json(&p->ctxsw_pipe_ns));
    json_object_set_new(o, "ctxswitch", cs);
    *out = o;
    return 0;
}

/* ---- helper modes ------------------------------------------------------ */

int probe_touch_pages(long n, char *err, size_t err_len)
{
    long page = sysconf(_SC_PAGESIZE);
    if (n < 1) {
        err_set(err, err_len, "touch-pages: %ld pages (need >= 1)", n);
        return CTR_EINVAL;
    }
    size_t bytes = (size_t)n * (size_t)page;
    volatile char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        err_set(err, err_len, "touch-pages: mmap of %zu bytes: %s", bytes, strerror(errno));
        return CTR_ENOMEM;
    }
    /* no THP here: one fault per 4 KiB page is the point */
    (void)madvise((void *)m, bytes, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < bytes; off += (size_t)page)
        m[off] = 1;
    munmap((void *)m, bytes);
    return 0;
}

int probe_sim_walk(size_t bytes, const struct region_hooks *hooks, uint64_t *sum, char *err, size_t err_len)
{
    if (bytes < 64) {
        err_set(err, err_len, "sim-walk: %zu bytes (need >= 64)", bytes);
        return CTR_EINVAL;
    }
    unsigned char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        err_set(err, err_len, "sim-walk: mmap of %zu bytes: %s", bytes, strerror(errno));
        return CTR_ENOMEM;
    }
    memset(buf, 1, bytes);
    const volatile unsigned char *p = buf;
    uint64_t s = 0;
    size_t lines = bytes / 64;
    if (!hooks)
        ctr_sim_collect_begin();
    region_begin(hooks, REGION_DECODE, 0);
    for (int q = 0; q < 4; q++) {
        region_begin(hooks, REGION_LAYER, q);
        for (size_t i = lines * (size_t)q / 4; i < lines * (size_t)(q + 1) / 4; i++)
            s += p[i * 64];
        region_end(hooks, REGION_LAYER, q);
    }
    region_end(hooks, REGION_DECODE, 0);
    if (!hooks)
        ctr_sim_collect_end();
    munmap(buf, bytes);
    *sum = s;
    return 0;
}

/* ---- peak compute and read bandwidth (the roofline's ceilings) ------------
 * Kept as one block of its own: the profiler's roofline reads these. Each
 * loop is compiled for its ISA with a target attribute and run only when
 * the CPU has it (valgrind hides AVX-512, so under valgrind those rows say
 * unsupported). */

#include <immintrin.h>

#define PEAK_ACC 12   /* independent accumulators: covers FMA latency x ports */

/* Each returns the flops done in iters iterations. */
__attribute__((target("avx2,fma"))) static double peak_fma_avx2(uint64_t iters, float *sink)
{
    __m256 acc[PEAK_ACC];
    const __m256 a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(0.9999999f);
    for (int i = 0; i < PEAK_ACC; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (uint64_t it = 0; it < iters; it++)
        for (int i = 0; i < PEAK_ACC; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++)
        s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    *sink = out[0];
    return (double)iters * PEAK_ACC * 8 * 2;
}

__attribute__((target("avx512f"))) static double peak_fma_avx512(uint64_t iters, float *sink)
{
    __m512 acc[PEAK_ACC];
    const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < PEAK_ACC; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (uint64_t it = 0; it < iters; it++)
        for (int i = 0; i < PEAK_ACC; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++)
        s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iters * PEAK_ACC * 16 * 2;
}

/* int8 dot products as the Q4_0/Q8_0 AVX2 kernels do them: maddubs (u8 x
 * s8 pairs to s16) + madd (to s32) + add: 32 multiply-adds = 64 ops. */
__attribute__((target("avx2"))) static double peak_int8_avx2(uint64_t iters, float *sink)
{
    __m256i acc[PEAK_ACC];
    const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5), ones = _mm256_set1_epi16(1);
    for (int i = 0; i < PEAK_ACC; i++)
        acc[i] = _mm256_set1_epi32(i);
    for (uint64_t it = 0; it < iters; it++)
        for (int i = 0; i < PEAK_ACC; i++)
            acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    __m256i s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++)
        s = _mm256_add_epi32(s, acc[i]);
    *sink = (float)_mm256_extract_epi32(s, 0);
    return (double)iters * PEAK_ACC * 32 * 2;
}

/* AVX-512 VNNI vpdpbusd: 64 u8 x s8 multiply-adds into s32 = 128 ops. */
__attribute__((target("avx512f,avx512vnni"))) static double peak_int8_vnni(uint64_t iters, float *sink)
{
    __m512i acc[PEAK_ACC];
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
    for (int i = 0; i < PEAK_ACC; i++)
        acc[i] = _mm512_set1_epi32(i);
    for (uint64_t it = 0; it < iters; it++)
        for (int i = 0; i < PEAK_ACC; i++)
            acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __m512i s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++)
        s = _mm512_add_epi32(s, acc[i]);
    *sink = (float)_mm512_reduce_add_epi32(s);
    return (double)iters * PEAK_ACC * 64 * 2;
}

struct peak_kind {
    const char *name, *insn;
    double (*fn)(uint64_t, float *);
    bool (*have)(void);
};

static bool have_avx2_fma(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static bool have_avx2(void) { return __builtin_cpu_supports("avx2"); }
static bool have_avx512(void) { return __builtin_cpu_supports("avx512f"); }
static bool have_vnni(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni"); }

static const struct peak_kind peak_kinds[] = {
    { "f32 FMA avx2", "vfmadd231ps ymm", peak_fma_avx2, have_avx2_fma },
    { "f32 FMA avx512", "vfmadd231ps zmm", peak_fma_avx512, have_avx512 },
    { "int8 dot avx2", "vpmaddubsw+vpmaddwd ymm", peak_int8_avx2, have_avx2 },
    { "int8 dot avx512-vnni", "vpdpbusd zmm", peak_int8_vnni, have_vnni },
};

struct peak_worker {
    const struct peak_kind *k;
    uint64_t iters;
    pthread_barrier_t *bar;
    double flops, ns;
    float sink;
    pthread_t th;
};

/* CPU time of this thread: a core's peak is what it does while it runs,
 * so a run preempted on a shared machine still measures the core. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *peak_thread(void *arg)
{
    struct peak_worker *w = arg;
    pthread_barrier_wait(w->bar);
    uint64_t t0 = thread_cpu_ns();
    w->flops = w->k->fn(w->iters, &w->sink);
    w->ns = (double)(thread_cpu_ns() - t0);
    return NULL;
}

int probe_peak_compute(int threads, struct probe_peak *rows, int max, char *err, size_t err_len)
{
    if (threads < 1 || threads > 256 || !rows || max < 1) {
        err_set(err, err_len, "peak compute: bad arguments (threads %d)", threads);
        return CTR_EINVAL;
    }
    int n = 0;
    struct peak_worker w[256];
    for (size_t ki = 0; ki < sizeof peak_kinds / sizeof peak_kinds[0] && n < max; ki++) {
        const struct peak_kind *k = &peak_kinds[ki];
        struct probe_peak *r = &rows[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", k->name);
        snprintf(r->insn, sizeof r->insn, "%s", k->insn);
        r->threads = threads;
        metric_init(&r->gflops, k->name, "GFLOP/s", METRIC_SRC_DERIVED);
        if (!k->have()) {
            metric_fail(&r->gflops, METRIC_UNSUPPORTED, "this CPU (or valgrind's view of it) lacks %s", k->insn);
            continue;
        }
        /* Size one run to ~20 ms on one thread, then keep the best of 5. */
        float sink;
        uint64_t iters = 1u << 14;
        for (;;) {
            uint64_t t0 = thread_cpu_ns();
            k->fn(iters, &sink);
            if (thread_cpu_ns() - t0 > 20000000u || iters > (1ull << 34))
                break;
            iters *= 2;
        }
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            pthread_barrier_t bar;
            pthread_barrier_init(&bar, NULL, (unsigned)threads);
            int started = 0;
            for (int t = 0; t < threads; t++) {
                w[t] = (struct peak_worker){ .k = k, .iters = iters, .bar = &bar };
                if (t > 0 && pthread_create(&w[t].th, NULL, peak_thread, &w[t]) != 0)
                    break;
                started++;
            }
            if (started < threads) {
                /* Release the ones waiting at the barrier: not possible with a
                 * pthread barrier of the full count, so this is fatal. */
                err_set(err, err_len, "peak compute: pthread_create failed after %d threads", started);
                for (int t = 1; t < started; t++)
                    pthread_cancel(w[t].th);
                return CTR_EIO;
            }
            peak_thread(&w[0]);
            double rate = w[0].flops / w[0].ns;
            for (int t = 1; t < threads; t++) {
                pthread_join(w[t].th, NULL);
                rate += w[t].flops / w[t].ns;
            }
            pthread_barrier_destroy(&bar);
            if (rate > best)
                best = rate;
        }
        r->gflops.value = best;
        r->gflops.status = METRIC_OK;
    }
    return n;
}

/* Sum 64-bit words: loads only (4 accumulators keep several lines in flight). */
__attribute__((target("avx2"))) static uint64_t read_sum_avx2(const uint64_t *a, size_t n)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256((const __m256i *)(a + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256((const __m256i *)(a + i + 4)));
        s2 = _mm256_add_epi64(s2, _mm256_loadu_si256((const __m256i *)(a + i + 8)));
        s3 = _mm256_add_epi64(s3, _mm256_loadu_si256((const __m256i *)(a + i + 12)));
    }
    s0 = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, s0);
    uint64_t s = out[0] + out[1] + out[2] + out[3];
    for (; i < n; i++)
        s += a[i];
    return s;
}

static uint64_t read_sum_plain(const uint64_t *a, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i];
    return s;
}

struct read_worker {
    const uint64_t *a;
    size_t n;
    pthread_barrier_t *bar;
    uint64_t sum;
    double ns;
    pthread_t th;
};

static void *read_thread(void *arg)
{
    struct read_worker *w = arg;
    pthread_barrier_wait(w->bar);
    uint64_t t0 = clock_ns();
    w->sum = __builtin_cpu_supports("avx2") ? read_sum_avx2(w->a, w->n) : read_sum_plain(w->a, w->n);
    w->ns = (double)(clock_ns() - t0);
    return NULL;
}

int probe_read_bandwidth(uint64_t bytes, int threads, int reps, struct metric *gbps, char *err, size_t err_len)
{
    metric_init(gbps, "read_gbps", "GB/s", METRIC_SRC_DERIVED);
    if (threads < 1 || threads > 256 || bytes < 4096) {
        err_set(err, err_len, "read bandwidth: bad arguments (threads %d, %" PRIu64 " bytes)", threads, bytes);
        return CTR_EINVAL;
    }
    if (reps < 1)
        reps = 5;
    size_t n = (size_t)(bytes / 8);
    uint64_t *a = mmap(NULL, n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) {
        err_set(err, err_len, "read bandwidth: cannot map %" PRIu64 " bytes: %s", bytes, strerror(errno));
        metric_fail(gbps, METRIC_UNSUPPORTED, "cannot map the array");
        return CTR_ENOMEM;
    }
    (void)madvise(a, n * 8, MADV_HUGEPAGE);
    for (size_t i = 0; i < n; i++)
        a[i] = i;
    struct read_worker w[256];
    double best = 0;
    uint64_t total = 0;
    for (int rep = 0; rep < reps; rep++) {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads);
        int t;
        for (t = 0; t < threads; t++) {
            size_t b = n * (size_t)t / (size_t)threads, e = n * (size_t)(t + 1) / (size_t)threads;
            w[t] = (struct read_worker){ .a = a + b, .n = e - b, .bar = &bar };
            if (t > 0 && pthread_create(&w[t].th, NULL, read_thread, &w[t]) != 0)
                break;
        }
        if (t < threads) {
            err_set(err, err_len, "read bandwidth: pthread_create failed after %d threads", t);
            for (int k = 1; k < t; k++)
                pthread_cancel(w[k].th);
            munmap(a, n * 8);
            return CTR_EIO;
        }
        read_thread(&w[0]);
        double ns = w[0].ns;
        total += w[0].sum;
        for (t = 1; t < threads; t++) {
            pthread_join(w[t].th, NULL);
            total += w[t].sum;
            if (w[t].ns > ns)
                ns = w[t].ns;
        }
        pthread_barrier_destroy(&bar);
        if ((double)n * 8 / ns > best)
            best = (double)n * 8 / ns;
    }
    munmap(a, n * 8);
    if (total == 1)   /* keeps the sums live */
        err_set(err, err_len, " ");
    gbps->value = best;
    gbps->status = METRIC_OK;
    return 0;
}
