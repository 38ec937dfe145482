/* matmul — one matrix product four ways, at the model's real shapes.
 *
 * out[t][r] = sum_k W[r][k] x[t][k] for n tokens t, M rows r, K columns k:
 * the engine's layout (a weight row per output, activations row-major).
 * Implementations (--impl):
 *   naive        triple loop over f32 (t, r, k; k innermost, both operands
 *                contiguous), no blocking: W streams once per token
 *   blocked      cache-blocked f32: k in blocks of 512, 4 rows x 4 tokens
 *                of accumulators, so a 4 x 512 tile of W (8 KiB) stays in
 *                L1 while every token block uses it
 *   blas         OpenBLAS cblas_sgemm (its own threads: openblas_set_num_threads)
 *   engine-TYPE  the engine's kernels for W in TYPE (f32, f16, q8_0, q4_0,
 *                q4_k): activations quantized to the type's vec_dot_type
 *                (inside the timing, as the engine does per matmul), then
 *                the type's gemm slot over each thread's rows (what the
 *                engine's matmul calls), else dot(row, all n activation
 *                rows) per weight row
 * Shapes (--shape): KxM as in the model, "2048x5632" = K 2048 in, M 5632
 * out (TinyLlama's ffn_gate/up), "5632x2048" its ffn_down, "2048x2048" the
 * attention projections; "256", "512", "1024" square weights. --n tokens:
 * 1 is a decode step, 64 a prefill batch. Rows are split over --threads
 * pool threads (naive, blocked, engine) in groups of 16.
 *
 * Each repetition allocates and fills the operands (seeded), then times
 * `iters` products (enough for ~5e7 flops, at least one) and reports:
 * ns_per_matmul, gflops (2 M K n / time), weight_bytes, bytes_per_flop and
 * gbps (W + x + out bytes, the least traffic a product needs, per flop and
 * per second), and a check of the result against a double-precision
 * reference on 64 sampled outputs (against the dequantized weights for the
 * engine types): check_rel_err = max |out - ref| / max |ref|, and
 * out_abs_mean = mean |out| over every output (the same for every f32
 * implementation up to rounding).
 */
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/clock.h"
#include "workloads/wlutil.h"

static const char *const mm_impls[] = { "naive",      "blocked",     "blas",        "engine-f32", "engine-f16",
                                        "engine-q8_0", "engine-q4_0", "engine-q4_k", NULL };
static const int mm_engine_type[] = { -1, -1, -1, QT_F32, QT_F16, QT_Q8_0, QT_Q4_0, QT_Q4_K };
enum { IMPL_NAIVE, IMPL_BLOCKED, IMPL_BLAS, IMPL_ENGINE };

static const char *const mm_shapes[] = { "256", "512", "1024", "2048x2048", "2048x5632", "5632x2048", NULL };
static const int mm_K[] = { 256, 512, 1024, 2048, 2048, 5632 };
static const int mm_M[] = { 256, 512, 1024, 2048, 5632, 2048 };

enum { AX_IMPL, AX_SHAPE, AX_N, AX_THREADS, AX_COUNT };

static const struct workload_axis mm_axes[AX_COUNT] = {
    { "impl", "naive, blocked, blas (f32) or engine-TYPE (the engine's kernels)", WORKLOAD_AXIS_CHOICE, mm_impls, 0,
      0, "naive,blocked,blas,engine-f32,engine-q8_0,engine-q4_0" },
    { "shape", "KxM weight (K in, M out) or a square size", WORKLOAD_AXIS_CHOICE, mm_shapes, 0, 0,
      "256,512,1024,2048x2048,2048x5632,5632x2048" },
    { "n", "tokens (activation rows)", WORKLOAD_AXIS_INT, NULL, 1, 4096, "1,64" },
    { "threads", "threads (pool threads; OpenBLAS threads for blas)", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS,
      "1" },
};

#define MM_TARGET_FLOPS 5e7
#define MM_KB 512
#define MM_GRAIN 16
#define MM_SAMPLES 64

struct mm_state {
    int impl, type;     /* type: engine weight type, -1 for f32 impls */
    int K, M, n, threads;
    uint64_t seed;
    struct quant_kernels k;
};

/* The operands of one repetition. */
struct mm_job {
    const struct mm_state *s;
    const float *w, *x;      /* [M][K], [n][K] f32 */
    const uint8_t *wq;       /* [M][row_bytes] engine type */
    size_t row_bytes;
    uint8_t *xq;             /* [n][xq_stride] activations in the vec_dot_type */
    size_t xq_stride;
    float *out;              /* [n][M] */
    float *dots;             /* [threads][n] */
    struct pool *pool;
};

static void mm_teardown(void *state)
{
    free(state);
}

/* OpenBLAS is opened when a blas configuration is set up, never linked:
 * its 60 KiB of static thread-local storage would otherwise be zeroed for
 * every thread of every ggperf process, and `ggperf serve` runs a thread
 * per connection (1024 queued clients: 61 MB). Only cblas.h's declarations
 * are used here; the two functions come from dlsym. */
static __typeof__(cblas_sgemm) *blas_sgemm;
static __typeof__(openblas_set_num_threads) *blas_set_threads;

static int blas_open(char *err, size_t err_len)
{
    if (blas_sgemm && blas_set_threads)
        return 0;
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, err_len, "blas: cannot open OpenBLAS (libopenblas.so.0: install libopenblas0): %s", dlerror());
        return -1;
    }
    /* POSIX: a function pointer may be converted from dlsym's void * */
    *(void **)&blas_sgemm = dlsym(h, "cblas_sgemm");
    *(void **)&blas_set_threads = dlsym(h, "openblas_set_num_threads");
    if (!blas_sgemm || !blas_set_threads) {
        snprintf(err, err_len, "blas: libopenblas.so.0 lacks cblas_sgemm or openblas_set_num_threads");
        blas_sgemm = NULL;
        return -1;
    }
    return 0;
}

static int mm_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct mm_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "matmul: out of memory");
        return -1;
    }
    int impl = (int)cfg->num[AX_IMPL];
    s->type = mm_engine_type[impl];
    s->impl = impl < IMPL_ENGINE ? impl : IMPL_ENGINE;
    s->K = mm_K[cfg->num[AX_SHAPE]];
    s->M = mm_M[cfg->num[AX_SHAPE]];
    s->n = (int)cfg->num[AX_N];
    s->threads = (int)cfg->num[AX_THREADS];
    s->seed = cfg->seed;
    if (s->impl == IMPL_BLAS && blas_open(err, err_len) != 0) {
        free(s);
        return -1;
    }
    quant_kernels_init(&s->k, QISA_AVX512);
    if (s->type >= 0) {
        const struct quant_traits *tr = quant_traits_get(s->type);
        if (s->K % tr->blck) {
            snprintf(err, err_len, "%s needs K a multiple of %lld (K is %d)", tr->name, (long long)tr->blck, s->K);
            free(s);
            return -1;
        }
    }
    *state = s;
    return 0;
}

/* ---- the implementations (each runs on thread ith of nth) -------------- */

static void naive_rows(const struct mm_job *j, int64_t r0, int64_t r1)
{
    const int K = j->s->K, M = j->s->M;
    for (int t = 0; t < j->s->n; t++)
        for (int64_t r = r0; r < r1; r++) {
            const float *w = j->w + (size_t)r * K, *x = j->x + (size_t)t * K;
            float acc = 0;
            for (int k = 0; k < K; k++)
                acc += w[k] * x[k];
            j->out[(size_t)t * M + r] = acc;
        }
}

/* 4 rows x NT tokens (NT <= 4) over k in [k0, k1), added into out. */
static inline void blocked_tile(const struct mm_job *j, int64_t r, int t, int nt, int k0, int k1)
{
    const int K = j->s->K, M = j->s->M;
    float acc[4][4] = { { 0 } };
    const float *w0 = j->w + (size_t)r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
    if (nt == 4) {
        const float *x0 = j->x + (size_t)t * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
        for (int k = k0; k < k1; k++) {
            float a0 = w0[k], a1 = w1[k], a2 = w2[k], a3 = w3[k];
            float b0 = x0[k], b1 = x1[k], b2 = x2[k], b3 = x3[k];
            acc[0][0] += a0 * b0, acc[0][1] += a0 * b1, acc[0][2] += a0 * b2, acc[0][3] += a0 * b3;
            acc[1][0] += a1 * b0, acc[1][1] += a1 * b1, acc[1][2] += a1 * b2, acc[1][3] += a1 * b3;
            acc[2][0] += a2 * b0, acc[2][1] += a2 * b1, acc[2][2] += a2 * b2, acc[2][3] += a2 * b3;
            acc[3][0] += a3 * b0, acc[3][1] += a3 * b1, acc[3][2] += a3 * b2, acc[3][3] += a3 * b3;
        }
    } else {
        for (int u = 0; u < nt; u++) {
            const float *x = j->x + (size_t)(t + u) * K;
            for (int k = k0; k < k1; k++) {
                float b = x[k];
                acc[0][u] += w0[k] * b, acc[1][u] += w1[k] * b, acc[2][u] += w2[k] * b, acc[3][u] += w3[k] * b;
            }
        }
    }
    for (int u = 0; u < nt; u++)
        for (int i = 0; i < 4; i++)
            j->out[(size_t)(t + u) * M + r + i] += acc[i][u];
}

static void blocked_rows(const struct mm_job *j, int64_t r0, int64_t r1)
{
    const int K = j->s->K, M = j->s->M, n = j->s->n;
    for (int t = 0; t < n; t++)
        memset(j->out + (size_t)t * M + r0, 0, (size_t)(r1 - r0) * sizeof(float));
    for (int k0 = 0; k0 < K; k0 += MM_KB) {
        int k1 = k0 + MM_KB < K ? k0 + MM_KB : K;
        for (int64_t r = r0; r < r1; r += 4)
            for (int t = 0; t < n; t += 4)
                blocked_tile(j, r, t, n - t < 4 ? n - t : 4, k0, k1);
    }
}

static void engine_rows(const struct mm_job *j, int ith, int64_t r0, int64_t r1)
{
    const struct mm_state *s = j->s;
    /* the engine's own path (infer.c): the gemm slot where the type has one */
    if (s->k.gemm[s->type]) {
        s->k.gemm[s->type](s->K, j->wq + (size_t)r0 * j->row_bytes, j->row_bytes, (int)(r1 - r0), j->xq, j->xq_stride,
                           s->n, j->out + r0, (size_t)s->M);
        return;
    }
    quant_dot_fn dot = s->k.dot[s->type];
    float *d = j->dots + (size_t)ith * s->n;
    for (int64_t r = r0; r < r1; r++) {
        dot(s->K, j->wq + (size_t)r * j->row_bytes, j->xq, j->xq_stride, s->n, d);
        for (int t = 0; t < s->n; t++)
            j->out[(size_t)t * s->M + r] = d[t];
    }
}

static void mm_worker(void *arg, int ith, int nth)
{
    const struct mm_job *j = arg;
    const struct mm_state *s = j->s;
    if (s->impl == IMPL_ENGINE) {
        int vdt = (int)quant_traits_get(s->type)->vec_dot_type;
        int64_t b, e;
        pool_split(s->n, ith, nth, 1, &b, &e);
        for (int64_t t = b; t < e; t++)
            s->k.from_float[vdt](j->x + (size_t)t * s->K, j->xq + (size_t)t * j->xq_stride, s->K);
        pool_barrier(j->pool, ith);
    }
    int64_t r0, r1;
    pool_split(s->M, ith, nth, MM_GRAIN, &r0, &r1);
    if (r0 >= r1)
        return;
    if (s->impl == IMPL_NAIVE)
        naive_rows(j, r0, r1);
    else if (s->impl == IMPL_BLOCKED)
        blocked_rows(j, r0, r1);
    else
        engine_rows(j, ith, r0, r1);
}

static void mm_once(struct mm_job *j)
{
    const struct mm_state *s = j->s;
    if (s->impl == IMPL_BLAS)
        blas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->n, s->M, s->K, 1.0f, j->x, s->K, j->w, s->K, 0.0f,
                    j->out, s->M);
    else
        pool_run(j->pool, mm_worker, j);
}

/* max |out - ref| / max |ref| over sampled outputs, ref in double from the
 * f32 (or dequantized) weights. */
static double mm_check(const struct mm_job *j, float *row)
{
    const struct mm_state *s = j->s;
    double max_err = 0, max_ref = 0;
    uint64_t h = s->seed ^ 0xc4ec;
    for (int i = 0; i < MM_SAMPLES; i++) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        int t = (int)((h >> 33) % (uint64_t)s->n), r = (int)((h >> 13) % (uint64_t)s->M);
        const float *w = j->w + (size_t)r * s->K;
        if (s->impl == IMPL_ENGINE) {
            s->k.to_float[s->type](j->wq + (size_t)r * j->row_bytes, row, s->K);
            w = row;
        }
        double ref = 0;
        for (int k = 0; k < s->K; k++)
            ref += (double)w[k] * (double)j->x[(size_t)t * s->K + k];
        double err = fabs((double)j->out[(size_t)t * s->M + r] - ref);
        max_err = err > max_err ? err : max_err;
        max_ref = fabs(ref) > max_ref ? fabs(ref) : max_ref;
    }
    return max_ref > 0 ? max_err / max_ref : max_err;
}

static int mm_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct mm_state *s = state;
    struct mm_job j;
    memset(&j, 0, sizeof j);
    j.s = s;
    size_t wn = (size_t)s->M * s->K, xn = (size_t)s->n * s->K, on = (size_t)s->n * s->M;
    float *w = malloc(wn * sizeof *w), *x = malloc(xn * sizeof *x), *o = malloc(on * sizeof *o);
    float *row = malloc((size_t)s->K * sizeof *row);
    uint8_t *wq = NULL, *xq = NULL;
    float *dots = malloc((size_t)s->threads * s->n * sizeof *dots);
    int rc = -1;
    if (!w || !x || !o || !row || !dots) {
        snprintf(err, err_len, "matmul: out of memory for %dx%d x %d", s->M, s->K, s->n);
        goto done;
    }
    wlutil_random_floats(w, wn, s->seed ^ 0x3a7);
    for (size_t i = 0; i < wn; i++)
        w[i] *= 0.05f;
    wlutil_random_floats(x, xn, s->seed ^ 0x11);
    double wbytes = (double)wn * 4;
    if (s->impl == IMPL_ENGINE) {
        const struct quant_traits *tr = quant_traits_get(s->type);
        int vdt = (int)tr->vec_dot_type;
        j.row_bytes = quant_row_size(s->type, s->K);
        j.xq_stride = quant_row_size(vdt, s->K);
        wq = malloc(j.row_bytes * (size_t)s->M);
        xq = malloc(j.xq_stride * (size_t)s->n);
        if (!wq || !xq) {
            snprintf(err, err_len, "matmul: out of memory for %s weights", tr->name);
            goto done;
        }
        if (tr->from_float) {
            for (int r = 0; r < s->M; r++)
                tr->from_float(w + (size_t)r * s->K, wq + (size_t)r * j.row_bytes, s->K);
        } else if (wlutil_random_weights(s->type, s->M, s->K, s->seed ^ 0x3a7, wq, err, err_len) != 0) {
            goto done;
        }
        wbytes = (double)j.row_bytes * s->M;
    }
    j.w = w;
    j.x = x;
    j.wq = wq;
    j.xq = xq;
    j.out = o;
    j.dots = dots;
    if (s->impl == IMPL_BLAS) {
        blas_set_threads(s->threads);
    } else {
        struct pool_opts po = { .n_threads = s->threads, .wait = POOL_WAIT_HYBRID };
        char e[256];
        j.pool = pool_new(&po, NULL, e, sizeof e);
        if (!j.pool) {
            snprintf(err, err_len, "thread pool: %s", e);
            goto done;
        }
    }

    double flops = 2.0 * s->M * s->K * s->n;
    int iters = (int)ceil(MM_TARGET_FLOPS / flops);
    iters = iters < 1 ? 1 : iters > 100000 ? 100000 : iters;
    mm_once(&j); /* untimed: first touch of out, the pool's threads awake */
    uint64_t t0 = clock_ns();
    for (int i = 0; i < iters; i++)
        mm_once(&j);
    double ns = (double)(clock_ns() - t0) / iters;

    double traffic = wbytes + (double)xn * 4 + (double)on * 4;
    double abs_sum = 0;
    for (size_t i = 0; i < on; i++)
        abs_sum += fabs((double)o[i]);
    workload_emit(out, "ns_per_matmul", "ns", METRIC_SRC_TIME, ns);
    workload_emit(out, "gflops", "GFLOP/s", METRIC_SRC_DERIVED, flops / ns);
    workload_emit(out, "weight_bytes", "bytes", METRIC_SRC_DERIVED, wbytes);
    workload_emit(out, "bytes_per_flop", "bytes/flop", METRIC_SRC_DERIVED, traffic / flops);
    workload_emit(out, "gbps", "GB/s", METRIC_SRC_DERIVED, traffic / ns);
    workload_emit(out, "iters", "count", METRIC_SRC_DERIVED, iters);
    workload_emit(out, "check_rel_err", "ratio", METRIC_SRC_DERIVED, mm_check(&j, row));
    workload_emit(out, "out_abs_mean", "value", METRIC_SRC_DERIVED, abs_sum / (double)on);
    rc = 0;
done:
    pool_free(j.pool);
    free(w);
    free(x);
    free(o);
    free(row);
    free(wq);
    free(xq);
    free(dots);
    return rc;
}

/* The primary set: the kernel's rate; the rest follow from it or echo the shape. */
static const struct metric_decl matmul_metrics[] = {
    { "gflops", METRIC_SEM(HIGHER, SAMPLE, true) },
    { "gbps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "ns_per_matmul", METRIC_SEM(LOWER, SAMPLE, false) },
    { "bytes_per_flop", METRIC_SEM(NEITHER, INFO, false) },
    { "check_rel_err", METRIC_SEM(NEITHER, INFO, false) },
    { "iters", METRIC_SEM(NEITHER, INFO, false) },
    { "out_abs_mean", METRIC_SEM(NEITHER, INFO, false) },
    { "weight_bytes", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_matmul = {
    WORKLOAD_METRICS(matmul_metrics),
    .name = "matmul",
    .description = "matrix product: naive vs cache-blocked vs engine kernels vs OpenBLAS at model shapes: GFLOPS, bytes/flop",
    .axes = mm_axes,
    .n_axes = AX_COUNT,
    .flags = 0,
    .setup = mm_setup,
    .run = mm_run,
    .work = NULL, /* run() also makes the operands: the figures time the products */
    .teardown = mm_teardown,
};
