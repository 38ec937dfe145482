/* alloc — what per-token scratch allocation would cost a decode loop.
 *
 * The engine allocates all of its scratch once (infer_new) and nothing in
 * infer_eval: the "arena" strategy. Engines that allocate per token pay the
 * allocator and, depending on where the memory comes from, page faults on
 * first touch. This workload simulates that pattern honestly around
 * infer_eval: every token it obtains a scratch of infer_scratch_bytes (the
 * size the engine's own scratch has for these options), touches it (one
 * write per 4 KiB page, what a forward pass writing its buffers does first)
 * and releases it after the token, by strategy:
 *   heap    malloc + free each token (glibc: the first block above the mmap
 *           threshold is mmap'ed, its free raises the threshold, later ones
 *           come from the heap: what a real loop would see)
 *   arena   one block allocated and touched before the loop (the engine's way)
 *   mmap    one anonymous mapping; madvise(MADV_DONTNEED) after each token
 *           hands the pages back, so every token faults them in again
 * Every repetition runs in a fresh process (WORKLOAD_ISOLATE) so the heap,
 * the mmap threshold and RSS start from the same place.
 *
 * Figures: token_p50/p95/p99/max_ns (the whole token: obtain + touch + eval
 * + release), tokens_per_s, alloc_ns_per_token (time inside the
 * allocator's calls: malloc+free or madvise, measured around them; for the
 * arena, its one malloc before the loop, measured and spread over the
 * tokens), alloc_p50/p95/p99/max_ns (per token's allocator calls; not
 * applicable to the arena, which makes none per token), touch_ns_per_token, minor_faults_per_token (getrusage),
 * rss_anon_bytes at the end of the loop and its change over the loop
 * (/proc/self/status RssAnon), scratch_bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "harness/machine/clock.h"
#include "harness/run/session.h"
#include "workloads/wlutil.h"

static const char *const alloc_strategies[] = { "heap", "arena", "mmap", NULL };

enum { ST_HEAP, ST_ARENA, ST_MMAP };
enum { AX_STRATEGY, AX_NGEN, AX_THREADS, AX_N };

static const struct workload_axis alloc_axes[AX_N] = {
    { "strategy", "per-token scratch: heap (malloc/free), arena (preallocated), mmap (MADV_DONTNEED per token)",
      WORKLOAD_AXIS_CHOICE, alloc_strategies, 0, 0, "heap,arena,mmap" },
    { "n_gen", "tokens generated (timed) per repetition", WORKLOAD_AXIS_INT, NULL, 1, 65536, "32" },
    { "threads", "engine threads (the caller included)", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS, "1" },
};

#define PAGE 4096u

struct alloc_state {
    struct session s;
    int strategy, n_gen, threads;
};

static void alloc_teardown(void *state)
{
    struct alloc_state *s = state;
    if (!s)
        return;
    session_close(&s->s);
    free(s);
}

static int alloc_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct alloc_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "alloc: out of memory");
        return -1;
    }
    s->s.fd = -1;
    s->strategy = (int)cfg->num[AX_STRATEGY];
    s->n_gen = (int)cfg->num[AX_NGEN];
    s->threads = (int)cfg->num[AX_THREADS];
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = cfg->model_path;
    if (session_open(&s->s, &so, false, err, err_len) != 0) {
        alloc_teardown(s);
        return -1;
    }
    *state = s;
    return 0;
}

/* RssAnon of /proc/self/status in bytes, or -1. */
static double rss_anon(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "RssAnon:", 8) == 0)
            v = strtod(line + 8, NULL) * 1024;
    fclose(f);
    return v;
}

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static void touch(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += PAGE)
        ((volatile uint8_t *)p)[i] = (uint8_t)i;
    ((volatile uint8_t *)p)[n - 1] = 1;
}

static int alloc_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct alloc_state *s = state;
    const struct model *m = &s->s.m;
    int n_vocab = m->hp.n_vocab;
    struct infer_opts o;
    infer_opts_default(&o);
    o.n_threads = s->threads;
    o.n_ctx = s->n_gen;
    size_t bytes = (size_t)infer_scratch_bytes(&m->hp, &o);

    struct infer *c = NULL;
    uint8_t *block = NULL;
    bool mapped = false;
    double *lat = malloc((size_t)s->n_gen * sizeof *lat), *al = malloc((size_t)s->n_gen * sizeof *al);
    int rc = -1;
    char e[256];
    if (!lat || !al) {
        snprintf(err, err_len, "alloc: out of memory");
        goto done;
    }
    if (wlutil_infer_warm(&c, m, &o, &s->s.file, err, err_len) != 0)
        goto done;
    double arena_alloc_ns = 0;
    if (s->strategy == ST_ARENA) {
        uint64_t a0 = clock_ns();
        block = malloc(bytes);
        arena_alloc_ns = (double)(clock_ns() - a0);
        if (!block) {
            snprintf(err, err_len, "arena: cannot allocate %zu bytes", bytes);
            goto done;
        }
        /* not 0: the compiler may turn malloc + memset(0) into calloc, which
         * leaves fresh mmap'ed pages untouched until the loop */
        memset(block, 0x5a, bytes);
    } else if (s->strategy == ST_MMAP) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            snprintf(err, err_len, "mmap of %zu bytes failed", bytes);
            goto done;
        }
        block = p;
        mapped = true;
    }

    double rss0 = rss_anon();
    long flt0 = minflt();
    double total = 0, touch_total = 0;
    for (int i = 0; i < s->n_gen; i++) {
        int32_t tok = wlutil_token(1 + i, n_vocab);
        uint64_t t0 = clock_ns(), a = 0;
        uint8_t *p = block;
        if (s->strategy == ST_HEAP) {
            uint64_t a0 = clock_ns();
            p = malloc(bytes);
            a += clock_ns() - a0;
            if (!p) {
                snprintf(err, err_len, "heap: malloc(%zu) failed at token %d", bytes, i);
                goto done;
            }
        }
        uint64_t th0 = clock_ns();
        touch(p, bytes);
        touch_total += (double)(clock_ns() - th0);
        int r = infer_eval(c, &tok, 1, NULL, e, sizeof e);
        uint64_t a1 = clock_ns();
        if (s->strategy == ST_HEAP)
            free(p);
        else if (s->strategy == ST_MMAP)
            madvise(p, bytes, MADV_DONTNEED);
        uint64_t t1 = clock_ns();
        if (s->strategy != ST_ARENA)
            a += t1 - a1;
        if (r != INFER_OK) {
            snprintf(err, err_len, "decode step %d: %s", i, e);
            goto done;
        }
        lat[i] = (double)(t1 - t0);
        al[i] = (double)a;
        total += lat[i];
    }
    long flt1 = minflt();
    double rss1 = rss_anon();

    double alloc_sum = 0;
    for (int i = 0; i < s->n_gen; i++)
        alloc_sum += al[i];
    workload_emit(out, "tokens_per_s", "tok/s", METRIC_SRC_TIME, s->n_gen / (total * 1e-9));
    wlutil_emit_latency(out, "token", lat, s->n_gen);
    if (s->strategy == ST_ARENA) {
        /* no allocator call inside the loop: the one before it, per token */
        workload_emit(out, "alloc_ns_per_token", "ns", METRIC_SRC_TIME, arena_alloc_ns / s->n_gen);
        static const char *const pct[] = { "alloc_p50_ns", "alloc_p95_ns", "alloc_p99_ns", "alloc_max_ns" };
        for (int k = 0; k < 4; k++)
            workload_emit_unsupported(out, pct[k], "ns", METRIC_SRC_TIME,
                                      "not applicable: the arena makes no allocator call per token (its one "
                                      "allocation before the loop is in alloc_ns_per_token)");
    } else {
        workload_emit(out, "alloc_ns_per_token", "ns", METRIC_SRC_TIME, alloc_sum / s->n_gen);
        wlutil_emit_latency(out, "alloc", al, s->n_gen);
    }
    workload_emit(out, "touch_ns_per_token", "ns", METRIC_SRC_TIME, touch_total / s->n_gen);
    workload_emit(out, "minor_faults_per_token", "count", METRIC_SRC_SW, (double)(flt1 - flt0) / s->n_gen);
    if (rss0 >= 0 && rss1 >= 0) {
        workload_emit(out, "rss_anon_bytes", "bytes", METRIC_SRC_SW, rss1);
        workload_emit(out, "rss_anon_delta_bytes", "bytes", METRIC_SRC_SW, rss1 - rss0);
    } else {
        workload_emit_unsupported(out, "rss_anon_bytes", "bytes", METRIC_SRC_SW, "/proc/self/status has no RssAnon");
        workload_emit_unsupported(out, "rss_anon_delta_bytes", "bytes", METRIC_SRC_SW,
                                  "/proc/self/status has no RssAnon");
    }
    workload_emit(out, "scratch_bytes", "bytes", METRIC_SRC_DERIVED, (double)bytes);
    rc = 0;
done:
    if (mapped)
        munmap(block, bytes);
    else
        free(block);
    infer_free(c);
    free(lat);
    free(al);
    return rc;
}

/* The primary set: tokens/s and the median step. */
static const struct metric_decl alloc_metrics[] = {
    { "tokens_per_s", METRIC_SEM(HIGHER, SAMPLE, true) },
    { "token_p50_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "token_*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "alloc_*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "touch_ns_per_token", METRIC_SEM(LOWER, SAMPLE, false) },
    { "minor_faults_per_token", METRIC_SEM(LOWER, SAMPLE, false) },
    { "rss_anon_bytes", METRIC_SEM(LOWER, SAMPLE, false) },
    { "rss_anon_delta_bytes", METRIC_SEM(LOWER, SAMPLE, false) },
    { "scratch_bytes", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_alloc = {
    WORKLOAD_METRICS(alloc_metrics),
    .name = "alloc",
    .description = "per-token scratch allocation (heap, arena, mmap+MADV_DONTNEED): latency, allocator time, RSS",
    .axes = alloc_axes,
    .n_axes = AX_N,
    .flags = WORKLOAD_NEEDS_MODEL | WORKLOAD_ISOLATE,
    .setup = alloc_setup,
    .run = alloc_run,
    .work = NULL,
    .teardown = alloc_teardown,
};
