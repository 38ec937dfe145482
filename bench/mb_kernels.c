/* mb_kernels — the benchmark bodies of ggperf-microbench and their data.
 *
 * Everything a case needs is built before its timed loop: the weight matrix
 * (cached in the context across cases), activation rows quantized to the
 * type's vec_dot_type, output buffers, the thread pool. The timed loop only
 * calls kernels; its memory has been touched, so page faults in it mean
 * something (they are reported, with context switches, as user counters).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/mb.h"
#include "engine/pool.h"
#include "harness/counters/ctr.h"

#define ROW_GRAIN 16      /* rows per pool split unit, as the engine's matmul */
#define TEMPLATE_ROWS 16  /* distinct rows generated; the rest of a matrix repeats them */
#define FROM_FLOAT_ROWS 64

struct mb_ctx {
    pthread_mutex_t lock;
    /* The cached weight: [m][row_bytes] starting at data = base + offset. */
    int type;
    int64_t k, m;
    int offset;
    void *base;
    size_t size;
    uint8_t *data;
    size_t row_bytes;
    char *sim_exe;      /* --mb_sim: this binary's path; NULL: off */
};

struct mb_ctx *mb_ctx_new(void)
{
    struct mb_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->type = -1;
    return c;
}

void mb_ctx_free(struct mb_ctx *c)
{
    if (!c)
        return;
    free(c->base);
    free(c->sim_exe);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void mb_ctx_set_sim(struct mb_ctx *c, const char *exe)
{
    free(c->sim_exe);
    c->sim_exe = exe ? strdup(exe) : NULL;
}

/* ---- data ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: plenty for filling buffers. */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float rng_float(uint64_t *s)
{
    return (float)((double)(rng_next(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static void fill_floats(float *x, int64_t n, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = rng_float(s);
}

static void *zalloc64(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 1) != 0)
        return NULL;
    memset(p, 0, size ? size : 1);
    return p;
}

/* Fill one row of k values of type t at dst (quant_row_size bytes): random
 * values in [-1, 1) through the reference quantizer when the type has one,
 * else the type's random-block recipe. tmp holds k floats. */
static void fill_row(int t, int64_t k, uint8_t *dst, float *tmp, uint64_t *s)
{
    const struct quant_traits *tr = quant_traits_get(t);
    if (tr->from_float) {
        fill_floats(tmp, k, s);
        tr->from_float(tmp, dst, k);
        return;
    }
    /* No quantizer (the K-quants and IQ4_XS need an importance-aware
     * search upstream): the type's random-block recipe, at the spread of
     * U[-1, 1). */
    struct quant_rng rng;
    quant_rng_seed(&rng, rng_next(s), 0);
    quant_random_blocks(t, &rng, dst, (size_t)(k / tr->blck), 0.577f);
}

/* The weight [m][k] of type t placed offset bytes past a 64-byte boundary,
 * from the cache or built now. Returns the first row (and *row_bytes), or
 * NULL with err filled. The pointer stays valid until a case asks for a
 * different weight, which only a later case does. */
static const uint8_t *weights_get(struct mb_ctx *c, int t, int64_t k, int64_t m, int offset,
                                  size_t *row_bytes, char *err, size_t err_len)
{
    const uint8_t *out = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->base && c->type == t && c->k == k && c->m == m && c->offset == offset) {
        out = c->data;
        *row_bytes = c->row_bytes;
        goto done;
    }
    free(c->base);
    c->base = NULL;
    c->type = -1;
    size_t rb = quant_row_size(t, k);
    size_t size = (size_t)m * rb + (size_t)offset;
    int64_t nt = m < TEMPLATE_ROWS ? m : TEMPLATE_ROWS;
    float *tmp = malloc((size_t)k * sizeof *tmp);
    /* Template rows are made aligned (the quantizers store through struct
     * pointers) and copied to the possibly misaligned matrix. */
    uint8_t *tmpl = zalloc64((size_t)nt * rb);
    void *base = NULL;
    int rc = posix_memalign(&base, 64, size ? size : 1);
    if (!tmp || !tmpl || rc != 0) {
        snprintf(err, err_len, "weight %s %lldx%lld: out of memory (%zu bytes)", quant_type_name(t),
                 (long long)k, (long long)m, size);
        free(tmp);
        free(tmpl);
        if (rc == 0)
            free(base);
        goto done;
    }
    uint8_t *data = (uint8_t *)base + offset;
    uint64_t seed = 0x6767706572660000ull ^ ((uint64_t)t << 32) ^ (uint64_t)k;
    for (int64_t r = 0; r < nt; r++)
        fill_row(t, k, tmpl + (size_t)r * rb, tmp, &seed);
    /* Copying every row touches every page here, not in the timed loop. */
    for (int64_t r = 0; r < m; r++)
        memcpy(data + (size_t)r * rb, tmpl + (size_t)(r % nt) * rb, rb);
    free(tmp);
    free(tmpl);
    c->base = base;
    c->size = size;
    c->data = data;
    c->row_bytes = rb;
    c->type = t;
    c->k = k;
    c->m = m;
    c->offset = offset;
    out = data;
    *row_bytes = rb;
done:
    pthread_mutex_unlock(&c->lock);
    return out;
}

/* ny activation rows of k values in format vdt, [ny][*stride] (64-byte
 * aligned; free with free). NULL on out of memory. */
static void *activations_new(const struct quant_kernels *kern, int vdt, int64_t k, int ny, size_t *stride,
                             uint64_t seed)
{
    size_t st = quant_row_size(vdt, k);
    void *y = NULL;
    float *x = malloc((size_t)k * sizeof *x);
    if (!x || posix_memalign(&y, 64, st * (size_t)ny) != 0) {
        free(x);
        return NULL;
    }
    quant_from_float_fn from = kern->from_float[vdt] ? kern->from_float[vdt] : quant_traits_get(vdt)->from_float;
    for (int j = 0; j < ny; j++) {
        fill_floats(x, k, &seed);
        from(x, (uint8_t *)y + (size_t)j * st, k);
    }
    free(x);
    *stride = st;
    return y;
}

/* ---- reporting --------------------------------------------------------- */

/* Work of the run: bytes streamed, items (rows), flops; all totals. */
static void report(struct gbench_state *st, double bytes, double items, double flops, const char *label)
{
    gbench_set_bytes_processed(st, (int64_t)bytes);
    gbench_set_items_processed(st, (int64_t)items);
    if (flops > 0)
        gbench_counter(st, "flops_per_second", flops, GBENCH_COUNTER_RATE);
    if (label)
        gbench_set_label(st, label);
}

static void skip_oom(struct gbench_state *st, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: out of memory", what);
    gbench_skip_with_error(st, msg);
}

/* ---- software counters (harness/counters/ctr.h) around the timed loop ------------ */

/* Kernel software events during the timed loop, attached as user counters
 * (totals over the run's iterations; summed over Google Benchmark threads,
 * each of which counts itself). A counter that cannot be had is left out of
 * the report, never shown as 0; mb_sw_counters_probe says why for the
 * context. */
static const struct { const char *ctr_name, *gbench_name; } sw_counters[] = {
    { "minor_faults", "minor_faults" },
    { "major_faults", "major_faults" },
    { "context_switches", "ctx_switches" },
    { "cpu_migrations", "cpu_migrations" },
};

struct sw_ctr {
    struct ctr_set *set;
    struct ctr_snap *a, *b;
};

static void sw_ctr_cfg(struct ctr_config *cfg)
{
    ctr_config_default(cfg);
    cfg->backends = CTR_SW;
    cfg->thread_stats = false; /* no /proc reads: keeps ctr_read to one read() per group */
}

static void sw_close(struct sw_ctr *c)
{
    if (!c)
        return;
    ctr_snap_free(c->a);
    ctr_snap_free(c->b);
    ctr_close(c->set);
    memset(c, 0, sizeof *c);
}

/* Open on this thread (whole_process: every thread alive now, inherited by
 * threads created later) and take the first snapshot. On any failure c
 * stays closed and sw_end attaches nothing. */
static void sw_begin(struct sw_ctr *c, bool whole_process)
{
    struct ctr_config cfg;
    char err[160];
    int tid = (int)gettid();
    memset(c, 0, sizeof *c);
    sw_ctr_cfg(&cfg);
    if (ctr_open(&c->set, &cfg, whole_process ? NULL : &tid, whole_process ? 0 : 1, err, sizeof err) != 0) {
        c->set = NULL;
        return;
    }
    c->a = ctr_snap_new(c->set);
    c->b = ctr_snap_new(c->set);
    if (!c->a || !c->b || ctr_read(c->set, c->a) != 0)
        sw_close(c);
}

static void sw_end(struct sw_ctr *c, struct gbench_state *st)
{
    if (!c->set)
        return;
    int n = ctr_n_metrics(c->set);
    struct metric *m = n > 0 ? calloc((size_t)n, sizeof *m) : NULL;
    if (m && ctr_read(c->set, c->b) == 0) {
        n = ctr_delta(c->set, c->a, c->b, m, n);
        for (size_t i = 0; n > 0 && i < sizeof sw_counters / sizeof sw_counters[0]; i++) {
            const struct metric *x = ctr_metric_find(m, n, sw_counters[i].ctr_name);
            if (x && x->status == METRIC_OK)
                gbench_counter(st, sw_counters[i].gbench_name, x->value, GBENCH_COUNTER_DEFAULT);
        }
    }
    free(m);
    sw_close(c);
}

int mb_sw_counters_probe(char *buf, size_t len)
{
    struct ctr_config cfg;
    struct ctr_set *set = NULL;
    char err[160];
    int tid = (int)gettid();
    sw_ctr_cfg(&cfg);
    if (ctr_open(&set, &cfg, &tid, 1, err, sizeof err) != 0) {
        snprintf(buf, len, "unavailable: ctr_open: %s", err);
        return -1;
    }
    int n = ctr_n_metrics(set), ok = 0;
    struct metric *m = n > 0 ? calloc((size_t)n, sizeof *m) : NULL;
    struct ctr_snap *a = ctr_snap_new(set);
    if (!m || !a || ctr_read(set, a) != 0) {
        snprintf(buf, len, "unavailable: %s", m && a ? ctr_last_error(set) : "out of memory");
        free(m);
        ctr_snap_free(a);
        ctr_close(set);
        return -1;
    }
    ctr_snap_free(a);
    size_t used = (size_t)snprintf(buf, len, "ggperf ctr sw events, totals over each run's timed loop:");
    ctr_describe(set, m, n);
    for (size_t i = 0; m && i < sizeof sw_counters / sizeof sw_counters[0] && used < len; i++) {
        const struct metric *x = ctr_metric_find(m, n, sw_counters[i].ctr_name);
        if (x && x->status == METRIC_OK) {
            ok++;
            used += (size_t)snprintf(buf + used, len - used, " %s", sw_counters[i].gbench_name);
        } else {
            used += (size_t)snprintf(buf + used, len - used, " %s (%s)", sw_counters[i].gbench_name,
                                     x ? x->reason : "not offered by ctr");
        }
    }
    free(m);
    ctr_close(set);
    return ok > 0 ? 0 : -1;
}

/* ---- families ---------------------------------------------------------- */

static void run_to_float(struct gbench_state *st, const struct mb_case *c)
{
    char err[160];
    size_t rb;
    const uint8_t *w = weights_get(c->ctx, c->type, c->k, c->m, c->offset, &rb, err, sizeof err);
    float *out = zalloc64((size_t)c->k * sizeof(float));
    if (!w || !out) {
        free(out);
        if (!w)
            gbench_skip_with_error(st, err);
        else
            skip_oom(st, "to_float output row");
        return;
    }
    quant_to_float_fn fn = c->kern->to_float[c->type];
    struct sw_ctr sw;
    sw_begin(&sw, false);
    while (gbench_keep_running(st)) {
        for (int64_t r = 0; r < c->m; r++)
            fn(w + (size_t)r * rb, out, c->k);
        gbench_clobber_memory();
    }
    sw_end(&sw, st);
    double it = (double)gbench_iterations(st);
    report(st, it * (double)c->m * (double)rb, it * (double)c->m, 0, NULL);
    gbench_counter(st, "out_bytes_per_second", it * (double)c->m * (double)c->k * sizeof(float),
                   GBENCH_COUNTER_RATE | GBENCH_COUNTER_1024);
    free(out);
}

static void run_from_float(struct gbench_state *st, const struct mb_case *c)
{
    size_t rs = quant_row_size(c->type, c->k);
    float *x = zalloc64((size_t)FROM_FLOAT_ROWS * (size_t)c->k * sizeof *x);
    uint8_t *y = zalloc64((size_t)FROM_FLOAT_ROWS * rs);
    if (!x || !y) {
        free(x);
        free(y);
        skip_oom(st, "from_float buffers");
        return;
    }
    uint64_t seed = 42;
    fill_floats(x, (int64_t)FROM_FLOAT_ROWS * c->k, &seed);
    quant_from_float_fn fn = c->kern->from_float[c->type];
    struct sw_ctr sw;
    sw_begin(&sw, false);
    while (gbench_keep_running(st)) {
        for (int r = 0; r < FROM_FLOAT_ROWS; r++)
            fn(x + (size_t)r * (size_t)c->k, y + (size_t)r * rs, c->k);
        gbench_clobber_memory();
    }
    sw_end(&sw, st);
    double it = (double)gbench_iterations(st);
    report(st, it * FROM_FLOAT_ROWS * (double)c->k * sizeof(float), it * FROM_FLOAT_ROWS, 0, NULL);
    free(x);
    free(y);
}

/* dot (all rows) and dot_mt (this thread's share of the rows), through the
 * type's multi-row gemm kernel where it has one, as the engine's decode
 * does (the label then says "+gemm"). */
static void run_dot(struct gbench_state *st, const struct mb_case *c)
{
    char err[160];
    size_t rb, ys;
    int vdt = quant_traits_get(c->type)->vec_dot_type;
    const uint8_t *w = weights_get(c->ctx, c->type, c->k, c->m, c->offset, &rb, err, sizeof err);
    if (!w) {
        gbench_skip_with_error(st, err);
        return;
    }
    int64_t r0 = 0, r1 = c->m;
    if (c->family == MB_DOT_MT)
        pool_split(c->m, gbench_thread_index(st), gbench_thread_count(st), ROW_GRAIN, &r0, &r1);
    void *y = activations_new(c->kern, vdt, c->k, 1, &ys, 7 + (uint64_t)gbench_thread_index(st));
    float *s = zalloc64((size_t)c->m * sizeof *s);
    if (!y || !s) {
        free(y);
        free(s);
        skip_oom(st, "dot activations");
        return;
    }
    quant_dot_fn dot = c->kern->dot[c->type];
    quant_gemm_fn gemm = r1 > r0 ? c->kern->gemm[c->type] : NULL;
    struct sw_ctr sw;
    sw_begin(&sw, false);
    while (gbench_keep_running(st)) {
        if (gemm)
            gemm(c->k, w + (size_t)r0 * rb, rb, (int)(r1 - r0), y, ys, 1, &s[r0], 0);
        else
            for (int64_t r = r0; r < r1; r++)
                dot(c->k, w + (size_t)r * rb, y, ys, 1, &s[r]);
        gbench_clobber_memory();
    }
    sw_end(&sw, st);
    double it = (double)gbench_iterations(st), rows = (double)(r1 - r0);
    char label[32];
    snprintf(label, sizeof label, "%s%s", quant_isa_name(c->kern->dot_isa[c->type]), gemm ? "+gemm" : "");
    report(st, it * rows * (double)rb, it * rows, it * rows * 2.0 * (double)c->k, label);
    free(y);
    free(s);
}

static void run_dot_row(struct gbench_state *st, const struct mb_case *c)
{
    size_t rb = quant_row_size(c->type, c->k), ys;
    int vdt = quant_traits_get(c->type)->vec_dot_type;
    uint8_t *w = zalloc64(rb);
    float *tmp = malloc((size_t)c->k * sizeof *tmp);
    void *y = activations_new(c->kern, vdt, c->k, 1, &ys, 11);
    if (!w || !tmp || !y) {
        free(w);
        free(tmp);
        free(y);
        skip_oom(st, "dot_row buffers");
        return;
    }
    uint64_t seed = 5;
    fill_row(c->type, c->k, w, tmp, &seed);
    quant_dot_fn dot = c->kern->dot[c->type];
    float s = 0;
    struct sw_ctr sw;
    sw_begin(&sw, false);
    if (c->batch <= 1) {
        while (gbench_keep_running(st)) {
            dot(c->k, w, y, ys, 1, &s);
            gbench_do_not_optimize(&s);
        }
    } else {
        while (gbench_keep_running_batch(st, c->batch))
            for (int i = 0; i < c->batch; i++) {
                dot(c->k, w, y, ys, 1, &s);
                gbench_do_not_optimize(&s);
            }
    }
    sw_end(&sw, st);
    double it = (double)gbench_iterations(st);
    report(st, it * (double)rb, it, it * 2.0 * (double)c->k, quant_isa_name(c->kern->dot_isa[c->type]));
    free(w);
    free(tmp);
    free(y);
}

/* One matmul as the engine runs it (engine/infer.c): activations quantized
 * in chunks of 8 blocks split over the threads, a barrier, then the weight
 * rows split in grains of ROW_GRAIN, each row dotted with all ny rows. */
struct mm_job {
    struct pool *pool;
    const struct quant_kernels *kern;
    int type, vdt, ny;
    int64_t k, m;
    const uint8_t *w;
    size_t rb;
    const float *x;   /* [ny][k] */
    uint8_t *qa;      /* [ny][qs] */
    size_t qs;
    float *dots;      /* [nth][ny] */
    float *out;       /* [ny][m] */
};

static void mm_thread(void *arg, int ith, int nth)
{
    const struct mm_job *j = arg;
    const uint8_t *a = j->qa;
    size_t as = j->qs;
    if (j->vdt == QT_F32) {
        a = (const uint8_t *)j->x;
        as = (size_t)j->k * sizeof(float);
    } else {
        const struct quant_traits *tr = quant_traits_get(j->vdt);
        quant_from_float_fn from = j->kern->from_float[j->vdt];
        int64_t nblk = j->k / tr->blck, b, e;
        pool_split((int64_t)j->ny * nblk, ith, nth, 8, &b, &e);
        while (b < e) {
            int64_t row = b / nblk, blk = b % nblk;
            int64_t cnt = nblk - blk < e - b ? nblk - blk : e - b;
            from(j->x + row * j->k + blk * tr->blck, j->qa + row * j->qs + (size_t)blk * tr->type_size,
                 cnt * tr->blck);
            b += cnt;
        }
        pool_barrier(j->pool, ith);
    }
    quant_dot_fn dot = j->kern->dot[j->type];
    int64_t r0, r1;
    pool_split(j->m, ith, nth, ROW_GRAIN, &r0, &r1);
    if (j->kern->gemm[j->type]) { /* as the engine's matmul */
        if (r1 > r0)
            j->kern->gemm[j->type](j->k, j->w + (size_t)r0 * j->rb, j->rb, (int)(r1 - r0), a, as, j->ny,
                                   &j->out[r0], (size_t)j->m);
        return;
    }
    if (j->ny == 1) {
        for (int64_t r = r0; r < r1; r++)
            dot(j->k, j->w + (size_t)r * j->rb, a, as, 1, &j->out[r]);
        return;
    }
    float *s = j->dots + (size_t)ith * (size_t)j->ny;
    for (int64_t r = r0; r < r1; r++) {
        dot(j->k, j->w + (size_t)r * j->rb, a, as, j->ny, s);
        for (int t = 0; t < j->ny; t++)
            j->out[(size_t)t * (size_t)j->m + (size_t)r] = s[t];
    }
}

static void run_matmul(struct gbench_state *st, const struct mb_case *c)
{
    char err[160];
    struct mm_job j = { .kern = c->kern, .type = c->type };
    j.k = gbench_arg(st, 0);
    j.m = gbench_arg(st, 1);
    j.ny = (int)gbench_arg(st, 2);
    int nth = (int)gbench_arg(st, 3);
    j.vdt = quant_traits_get(c->type)->vec_dot_type;
    j.w = weights_get(c->ctx, c->type, j.k, j.m, 0, &j.rb, err, sizeof err);
    if (!j.w) {
        gbench_skip_with_error(st, err);
        return;
    }
    struct pool_opts po = { .n_threads = nth, .wait = POOL_WAIT_HYBRID };
    j.pool = pool_new(&po, NULL, err, sizeof err);
    if (!j.pool) {
        gbench_skip_with_error(st, err);
        return;
    }
    j.qs = quant_row_size(j.vdt, j.k);
    float *x = zalloc64((size_t)j.ny * (size_t)j.k * sizeof *x);
    j.qa = zalloc64((size_t)j.ny * j.qs);
    j.dots = zalloc64((size_t)nth * (size_t)j.ny * sizeof *j.dots);
    j.out = zalloc64((size_t)j.ny * (size_t)j.m * sizeof *j.out);
    if (!x || !j.qa || !j.dots || !j.out) {
        skip_oom(st, "matmul buffers");
        goto out;
    }
    uint64_t seed = 3;
    fill_floats(x, (int64_t)j.ny * j.k, &seed);
    j.x = x;
    /* Whole process, opened after pool_new: the pool's workers are counted. */
    struct sw_ctr sw;
    sw_begin(&sw, true);
    while (gbench_keep_running(st))
        pool_run(j.pool, mm_thread, &j);
    sw_end(&sw, st);
    double it = (double)gbench_iterations(st), dots = (double)j.m * j.ny;
    char label[64];
    snprintf(label, sizeof label, "%s pool:%s", quant_isa_name(c->kern->dot_isa[c->type]),
             pool_wait_name(pool_wait_policy(j.pool)));
    report(st, it * (double)j.m * (double)j.rb, it * dots, it * dots * 2.0 * (double)j.k, label);
out:
    free(x);
    free(j.qa);
    free(j.dots);
    free(j.out);
    pool_free(j.pool);
}

/* ---- simulated counters (--mb_sim) ------------------------------------ */

static bool sim_family(enum mb_family f)
{
    return f == MB_TO_FLOAT || f == MB_FROM_FLOAT || f == MB_DOT || f == MB_DOT_ROW;
}

int64_t mb_sim_iters(const struct mb_case *c)
{
    /* dot_row: one row dot per iteration, a few hundred ns natively; the
     * others stream a whole matrix (or 64 rows) per iteration. */
    return c->family == MB_DOT_ROW ? 64 : 1;
}

/* Run the case's callgrind pass once (the first time Google Benchmark calls
 * the case; later calls reuse it). Single-thread cases only. */
static void sim_prepare(struct mb_case *c)
{
    const char *exe = c->ctx->sim_exe;
    if (!exe || !sim_family(c->family) || c->sim_state != 0)
        return;
    c->sim_state = -1;
    if (c->isa == QISA_AVX512) {
        snprintf(c->sim_note, sizeof c->sim_note, "skipped: AVX-512 kernels cannot run under valgrind 3.19");
        return;
    }
    char flag[160], err[256];
    int64_t iters = mb_sim_iters(c);
    snprintf(flag, sizeof flag, "--mb_sim_child=%s,%lld", c->name, (long long)iters);
    char *argv[] = { (char *)exe, flag, NULL };
    struct ctr_sim_opts opts = { .isa_path = quant_isa_name(c->isa) };
    struct ctr_sim_result res;
    memset(&res, 0, sizeof res);
    if (ctr_sim_run(argv, &opts, &res, err, sizeof err) != 0) {
        snprintf(c->sim_note, sizeof c->sim_note, "failed: %s", err);
        return;
    }
    if (res.wstatus != 0) {
        snprintf(c->sim_note, sizeof c->sim_note, "failed: the child under valgrind exited with status 0x%x",
                 (unsigned)res.wstatus);
        return;
    }
    if (res.ir == 0) {
        snprintf(c->sim_note, sizeof c->sim_note, "failed: nothing was collected");
        return;
    }
    c->sim_ir = (double)res.ir / (double)iters;
    c->sim_d1 = (double)(res.d1mr + res.d1mw) / (double)iters;
    c->sim_ll = (double)(res.dlmr + res.dlmw) / (double)iters;
    c->sim_state = 1;
}

/* After the run: the sim counters (per iteration) and the label note. */
static void sim_attach(struct gbench_state *st, const struct mb_case *c)
{
    if (!c->ctx->sim_exe || !sim_family(c->family) || gbench_error_occurred(st))
        return;
    gbench_counter(st, "sim_isa", (double)c->isa, GBENCH_COUNTER_DEFAULT);
    if (c->sim_state == 1) {
        gbench_counter(st, "sim_instructions", c->sim_ir, GBENCH_COUNTER_DEFAULT);
        gbench_counter(st, "sim_d1_misses", c->sim_d1, GBENCH_COUNTER_DEFAULT);
        gbench_counter(st, "sim_ll_misses", c->sim_ll, GBENCH_COUNTER_DEFAULT);
    }
    char label[400];
    const char *base = (c->family == MB_DOT || c->family == MB_DOT_ROW) ? quant_isa_name(c->kern->dot_isa[c->type])
                                                                        : "";
    if (c->sim_state == 1)
        snprintf(label, sizeof label, "%s%ssim: callgrind, per iteration over %lld", base, *base ? " " : "",
                 (long long)mb_sim_iters(c));
    else
        snprintf(label, sizeof label, "%s%ssim: %s", base, *base ? " " : "", c->sim_note);
    gbench_set_label(st, label);
}

void mb_run_case(struct gbench_state *st, void *arg)
{
    struct mb_case *c = arg;
    sim_prepare(c);
    switch (c->family) {
    case MB_TO_FLOAT: run_to_float(st, c); break;
    case MB_FROM_FLOAT: run_from_float(st, c); break;
    case MB_DOT:
    case MB_DOT_MT: run_dot(st, c); break;
    case MB_DOT_ROW: run_dot_row(st, c); break;
    case MB_MATMUL: run_matmul(st, c); break;
    default: gbench_skip_with_error(st, "unknown benchmark family"); return;
    }
    sim_attach(st, c);
}

/* The sim child: the families' setup as in run_*, the loop body iters
 * times with collection on (one uncollected warm-up iteration first, as
 * the timed loop runs warm), no Google Benchmark. */
int mb_sim_child(const struct mb_case *c, int64_t iters, char *err, size_t err_len)
{
    size_t rb = 0, ys = 0;
    const uint8_t *w = NULL;
    uint8_t *wrow = NULL, *y8 = NULL;
    float *out = NULL, *x = NULL, *tmp = NULL;
    void *y = NULL;
    volatile float sink = 0;
    int rc = -1;
    int vdt = quant_traits_get(c->type)->vec_dot_type;
    if (!sim_family(c->family)) {
        snprintf(err, err_len, "sim child: %s is not a single-thread case", c->name);
        return -1;
    }
    switch (c->family) {
    case MB_TO_FLOAT:
        w = weights_get(c->ctx, c->type, c->k, c->m, c->offset, &rb, err, err_len);
        out = zalloc64((size_t)c->k * sizeof(float));
        break;
    case MB_FROM_FLOAT: {
        rb = quant_row_size(c->type, c->k);
        x = zalloc64((size_t)FROM_FLOAT_ROWS * (size_t)c->k * sizeof *x);
        y8 = zalloc64((size_t)FROM_FLOAT_ROWS * rb);
        uint64_t seed = 42;
        if (x)
            fill_floats(x, (int64_t)FROM_FLOAT_ROWS * c->k, &seed);
        break;
    }
    case MB_DOT:
        w = weights_get(c->ctx, c->type, c->k, c->m, c->offset, &rb, err, err_len);
        y = activations_new(c->kern, vdt, c->k, 1, &ys, 7);
        out = zalloc64((size_t)c->m * sizeof *out);
        break;
    default: { /* MB_DOT_ROW */
        rb = quant_row_size(c->type, c->k);
        wrow = zalloc64(rb);
        tmp = malloc((size_t)c->k * sizeof *tmp);
        y = activations_new(c->kern, vdt, c->k, 1, &ys, 11);
        uint64_t seed = 5;
        if (wrow && tmp)
            fill_row(c->type, c->k, wrow, tmp, &seed);
        w = wrow;
        break;
    }
    }
    bool ok = c->family == MB_FROM_FLOAT ? (x && y8) : (w && (c->family == MB_TO_FLOAT ? out != NULL : y != NULL));
    if (c->family == MB_DOT)
        ok = ok && out;
    if (c->family == MB_DOT_ROW)
        ok = ok && tmp;
    if (!ok) {
        if (w || c->family == MB_FROM_FLOAT || c->family == MB_DOT_ROW)
            snprintf(err, err_len, "sim child %s: out of memory", c->name);
        goto out;
    }
    for (int64_t it = -1; it < iters; it++) {
        if (it == 0)
            ctr_sim_collect_begin();
        switch (c->family) {
        case MB_TO_FLOAT:
            for (int64_t r = 0; r < c->m; r++)
                c->kern->to_float[c->type](w + (size_t)r * rb, out, c->k);
            break;
        case MB_FROM_FLOAT:
            for (int r = 0; r < FROM_FLOAT_ROWS; r++)
                c->kern->from_float[c->type](x + (size_t)r * (size_t)c->k, y8 + (size_t)r * rb, c->k);
            break;
        case MB_DOT:
            for (int64_t r = 0; r < c->m; r++)
                c->kern->dot[c->type](c->k, w + (size_t)r * rb, y, ys, 1, &out[r]);
            break;
        default: {
            float s = 0;
            c->kern->dot[c->type](c->k, w, y, ys, 1, &s);
            sink = s;
            break;
        }
        }
    }
    ctr_sim_collect_end();
    (void)sink;
    rc = 0;
out:
    free(wrow);
    free(y8);
    free(out);
    free(x);
    free(tmp);
    free(y);
    return rc;
}

/* ---- the shim's own cost ---------------------------------------------- */

void mb_overhead_keep_running(struct gbench_state *st, void *arg)
{
    while (gbench_keep_running(st))
        gbench_clobber_memory();
    gbench_set_items_processed(st, gbench_iterations(st));
}

void mb_overhead_batch(struct gbench_state *st, void *arg)
{
    while (gbench_keep_running_batch(st, 64))
        for (int i = 0; i < 64; i++)
            gbench_clobber_memory();
    gbench_set_items_processed(st, gbench_iterations(st));
}

void mb_overhead_one_crossing(struct gbench_state *st, void *arg)
{
    int64_t n = gbench_max_iterations(st);
    while (gbench_keep_running_batch(st, n))
        for (int64_t i = 0; i < n; i++)
            gbench_clobber_memory();
    gbench_set_items_processed(st, gbench_iterations(st));
}

/* ---- self-test bodies -------------------------------------------------- */

void mb_selftest_skip(struct gbench_state *st, void *arg)
{
    gbench_skip_with_error(st, MB_SELFTEST_ERROR);
    gbench_skip_with_error(st, "a second message is ignored");
    while (gbench_keep_running(st))
        gbench_clobber_memory();
}

void mb_selftest_counters(struct gbench_state *st, void *arg)
{
    int64_t batches = 0;
    while (gbench_keep_running_batch(st, 8)) {
        batches++;
        if (batches == 1) {
            gbench_pause_timing(st);
            gbench_resume_timing(st);
        }
        for (int i = 0; i < 8; i++)
            gbench_clobber_memory();
    }
    int64_t it = gbench_iterations(st);
    gbench_set_bytes_processed(st, it * 64);
    gbench_set_items_processed(st, it);
    gbench_counter(st, "batches", (double)batches, GBENCH_COUNTER_DEFAULT);
    gbench_counter(st, "iterations_seen", (double)it, GBENCH_COUNTER_DEFAULT);
    gbench_counter(st, "per_iteration", 3.0, GBENCH_COUNTER_ITER_INVARIANT);
    gbench_counter(st, "thread_avg", 5.0, GBENCH_COUNTER_AVG_THREADS);
    gbench_counter(st, "arg0", (double)gbench_arg(st, 0), GBENCH_COUNTER_AVG_THREADS);
    /* 1, not 0: a counter that is 0 in every repetition has a cv of 0/0,
     * which the library writes as a bare NaN that strict JSON parsers
     * (jansson) refuse. */
    gbench_counter(st, "no_error", gbench_error_occurred(st) ? 0.0 : 1.0, GBENCH_COUNTER_AVG_THREADS);
    /* Unknown flag bits are refused, not passed to the library. */
    gbench_counter(st, "bad_flags_rejected",
                   gbench_counter(st, "bad_flags", 1.0, 0x100u) == GBENCH_EINVAL ? 1.0 : 0.0,
                   GBENCH_COUNTER_AVG_THREADS);
    char label[48];
    snprintf(label, sizeof label, "threads=%d", gbench_thread_count(st));
    gbench_set_label(st, label);
}
