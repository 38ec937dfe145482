/* probe_peak — the throughput probes: STREAM-style memory bandwidth (copy,
 * triad) per thread count, and the roofline's ceilings (peak compute per
 * ISA, read-only bandwidth). Apart from probe.c because these are the
 * measurement loops themselves; probe_collect only calls them. */
#include "harness/machine/probe.h"
#include "harness/machine/probe_impl.h"
#include "base/err.h"
#include "harness/machine/sysfs.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness/machine/clock.h"

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
        probe_metric_init(&r->copy_gbps, "copy_gbps", "GB/s", METRIC_SRC_DERIVED);
        probe_metric_init(&r->triad_gbps, "triad_gbps", "GB/s", METRIC_SRC_DERIVED);
        sh.reps = o.reps;
        sh.best_ns[0] = sh.best_ns[1] = 0;
        rc = run_threads(&sh, o.threads[i], bw_thread, err, err_len);
        if (rc)
            break;
        /* STREAM's byte counts: copy reads a, writes c; triad reads b, c, writes a */
        r->copy_gbps.value = sh.best_ns[0] ? 16.0 * (double)sh.n / (double)sh.best_ns[0] : 0;
        r->triad_gbps.value = sh.best_ns[1] ? 24.0 * (double)sh.n / (double)sh.best_ns[1] : 0;
        if (!sh.best_ns[0])
            probe_metric_fail(&r->copy_gbps, METRIC_NOT_COUNTED, "no timed repetition");
        if (!sh.best_ns[1])
            probe_metric_fail(&r->triad_gbps, METRIC_NOT_COUNTED, "no timed repetition");
    }
    for (int i = 0; i < 3; i++)
        munmap(arr[i], bytes);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.mu);
    return rc ? rc : o.n_threads;
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
        probe_metric_init(&r->gflops, k->name, "GFLOP/s", METRIC_SRC_DERIVED);
        if (!k->have()) {
            probe_metric_fail(&r->gflops, METRIC_UNSUPPORTED, "this CPU (or valgrind's view of it) lacks %s", k->insn);
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
    probe_metric_init(gbps, "read_gbps", "GB/s", METRIC_SRC_DERIVED);
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
        probe_metric_fail(gbps, METRIC_UNSUPPORTED, "cannot map the array");
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
