/* contention — the engine's kernels against memory layout: weight blocks
 * at chosen alignments, and threads whose per-row results share a cache
 * line (false sharing) or not.
 *
 * A 1024 x 2048 weight matrix of the chosen type is made at setup, its
 * first byte at `align` bytes past a 64-byte boundary (0 = aligned; rows
 * follow each other, so every row starts at that offset when the row size
 * is a multiple of 64, as it is for 2048 columns of every type here but
 * q6_k, whose 1680-byte rows start at every multiple of 16 in turn).
 * Each pass runs the kernel over all 1024 rows on `threads` pool threads
 * (contiguous row ranges):
 *   dot       kernel dot(row, activations) writing its result into the
 *             thread's output slot, which the thread then reads back
 *   to_float  kernel dequantize(row) into a private buffer, then one value
 *             stored into and read back from the thread's output slot
 * layout packed puts the threads' slots in adjacent floats (one cache line
 * for up to 16 threads: every row's write invalidates the others' copy),
 * padded gives each slot its own 64-byte line.
 *
 * Figures per repetition (16 passes): ns_per_1024_rows (median pass) and
 * its minimum, weight_gbps (weight bytes / median pass), result_checksum
 * (sum of the threads' accumulated results: the same for every alignment,
 * layout and thread count of a type and op), weight_misalign_bytes (the
 * address offset actually used), l1d_misses_per_1024_rows from the PMU, or
 * with --sim on simulated by valgrind (the configuration re-run once at
 * setup; every thread brackets its own rows, since callgrind collects per
 * thread; callgrind has no coherence model, so false sharing does not show
 * there), else unsupported with the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "harness/machine/clock.h"
#include "workloads/wlutil.h"

#define CT_ROWS 1024
#define CT_COLS 2048
#define CT_PASSES 16
#define CT_LINE 64
#define CT_SLOT_STRIDE (CT_LINE / (int)sizeof(float))

static const char *const ct_types[] = { "f32", "f16", "q4_0", "q8_0", "q4_k", "q6_k", NULL };
static const int ct_type_ids[] = { QT_F32, QT_F16, QT_Q4_0, QT_Q8_0, QT_Q4_K, QT_Q6_K };
static const char *const ct_ops[] = { "dot", "to_float", NULL };
static const char *const ct_layouts[] = { "packed", "padded", NULL };
static const char *const ct_sim[] = { "off", "on", NULL };

enum { AX_TYPE, AX_OP, AX_ALIGN, AX_THREADS, AX_LAYOUT, AX_KERNELS, AX_SIM, AX_N };

static const struct workload_axis ct_axes[AX_N] = {
    { "type", "weight type", WORKLOAD_AXIS_CHOICE, ct_types, 0, 0, "q4_0,q8_0" },
    { "op", "kernel: dot (row x activations) or to_float (dequantize the row)", WORKLOAD_AXIS_CHOICE, ct_ops, 0, 0,
      "dot,to_float" },
    { "align", "weight bytes past a 64-byte boundary (0: aligned)", WORKLOAD_AXIS_INT, NULL, 0, 63, "0,1,8,18,32" },
    { "threads", "threads splitting the rows", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS, "1,2" },
    { "layout", "per-thread output slots: packed (adjacent floats, false sharing) or padded (a line each)",
      WORKLOAD_AXIS_CHOICE, ct_layouts, 0, 0, "packed,padded" },
    { "kernels", "kernel ISA: auto (fastest), ref, avx2, avx512", WORKLOAD_AXIS_CHOICE, wlutil_kernel_choices, 0, 0,
      "auto" },
    { "sim", "simulate L1d misses under valgrind when the PMU cannot count them", WORKLOAD_AXIS_CHOICE, ct_sim, 0, 0,
      "off" },
};

struct ct_state {
    int type, threads;
    bool dot, padded;
    int align;
    struct quant_kernels k;
    size_t row_bytes;
    uint8_t *w_raw, *w;          /* [CT_ROWS][row_bytes], w = w_raw + 64-aligned + align */
    uint8_t *y_raw, *y;          /* activations, [CT_COLS] in the vec_dot_type */
    size_t y_stride;
    float *bufs;                 /* [threads][CT_COLS] dequantize buffers, 64-aligned each */
    float *slots;                /* [threads] or [threads][16]: the shared output line(s) */
    double *partial;             /* [threads][8]: per-thread sums, a line each */
    struct pool *pool;
    bool sim_collect;            /* running under valgrind: bracket every thread's rows */
    struct wlutil_ctr hw;
    bool sim;
    bool have_sim;
    struct ctr_sim_result sim_res;
    char sim_err[METRIC_REASON_MAX];
};

extern const struct workload workload_contention;

static void ct_teardown(void *state)
{
    struct ct_state *s = state;
    if (!s)
        return;
    wlutil_ctr_close(&s->hw);
    pool_free(s->pool);
    free(s->w_raw);
    free(s->y_raw);
    free(s->bufs);
    free(s->slots);
    free(s->partial);
    free(s);
}

static int ct_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct ct_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "contention: out of memory");
        return -1;
    }
    s->hw.n = -1;
    s->type = ct_type_ids[cfg->num[AX_TYPE]];
    s->dot = cfg->num[AX_OP] == 0;
    s->align = (int)cfg->num[AX_ALIGN];
    s->threads = (int)cfg->num[AX_THREADS];
    s->padded = cfg->num[AX_LAYOUT] == 1;
    s->sim = cfg->num[AX_SIM] == 1;
    s->sim_collect = ctr_sim_running();
    enum quant_isa isa;
    if (wlutil_kernels((int)cfg->num[AX_KERNELS], &isa, err, err_len) != 0)
        goto fail;
    quant_kernels_init(&s->k, isa);
    const struct quant_traits *tr = quant_traits_get(s->type);
    int vdt = (int)tr->vec_dot_type;
    if (!s->k.dot[s->type] || !s->k.to_float[s->type] || !s->k.from_float[vdt]) {
        snprintf(err, err_len, "type %s has no kernels in this engine", tr->name);
        goto fail;
    }
    s->row_bytes = quant_row_size(s->type, CT_COLS);
    size_t wbytes = s->row_bytes * CT_ROWS;
    s->w_raw = malloc(wbytes + 2 * CT_LINE);
    s->y_stride = quant_row_size(vdt, CT_COLS);
    s->y_raw = malloc(s->y_stride + CT_LINE);
    size_t nslots = (size_t)s->threads * CT_SLOT_STRIDE;
    s->bufs = aligned_alloc(CT_LINE, (size_t)s->threads * CT_COLS * sizeof(float));
    s->slots = aligned_alloc(CT_LINE, (nslots * sizeof(float) + CT_LINE - 1) / CT_LINE * CT_LINE);
    s->partial = aligned_alloc(CT_LINE, (size_t)s->threads * 8 * sizeof(double));
    float *x = malloc(CT_COLS * sizeof *x);
    if (!s->w_raw || !s->y_raw || !s->bufs || !s->slots || !s->partial || !x) {
        free(x);
        snprintf(err, err_len, "contention: out of memory");
        goto fail;
    }
    memset(s->slots, 0, nslots * sizeof(float));
    memset(s->bufs, 0, (size_t)s->threads * CT_COLS * sizeof(float));
    s->w = (uint8_t *)(((uintptr_t)s->w_raw + CT_LINE - 1) & ~(uintptr_t)(CT_LINE - 1)) + s->align;
    s->y = (uint8_t *)(((uintptr_t)s->y_raw + CT_LINE - 1) & ~(uintptr_t)(CT_LINE - 1));
    if (wlutil_random_weights(s->type, CT_ROWS, CT_COLS, cfg->seed ^ 0x5eed, s->w, err, err_len) != 0) {
        free(x);
        goto fail;
    }
    wlutil_random_floats(x, CT_COLS, cfg->seed ^ 0xac71);
    s->k.from_float[vdt](x, s->y, CT_COLS);
    free(x);

    struct pool_opts po = { .n_threads = s->threads, .wait = POOL_WAIT_HYBRID };
    char e[256];
    s->pool = pool_new(&po, NULL, e, sizeof e);
    if (!s->pool) {
        snprintf(err, err_len, "thread pool: %s", e);
        goto fail;
    }
    int tids[POOL_MAX_THREADS];
    int nt = wlutil_pool_tids(s->pool, tids, POOL_MAX_THREADS);
    wlutil_ctr_open(&s->hw, CTR_HW, tids, nt, false);

    char why[160];
    if (s->sim && !ctr_hw_pmu_present(why, sizeof why)) {
        char se[512];
        if (wlutil_sim_rerun(&workload_contention, cfg, "sim", &s->sim_res, se, sizeof se) == 0)
            s->have_sim = true;
        else
            snprintf(s->sim_err, sizeof s->sim_err, "%.150s", se);
    }
    *state = s;
    return 0;
fail:
    ct_teardown(s);
    return -1;
}

static void ct_pass(void *arg, int ith, int nth)
{
    struct ct_state *s = arg;
    int64_t b, e;
    pool_split(CT_ROWS, ith, nth, 1, &b, &e);
    volatile float *slot = s->padded ? &s->slots[ith * CT_SLOT_STRIDE] : &s->slots[ith];
    double acc = 0;
    if (s->sim_collect)
        ctr_sim_collect_begin();
    if (s->dot) {
        quant_dot_fn dot = s->k.dot[s->type];
        for (int64_t r = b; r < e; r++) {
            dot(CT_COLS, s->w + (size_t)r * s->row_bytes, s->y, s->y_stride, 1, (float *)slot);
            acc += *slot;
        }
    } else {
        quant_to_float_fn tf = s->k.to_float[s->type];
        float *buf = s->bufs + (size_t)ith * CT_COLS;
        for (int64_t r = b; r < e; r++) {
            tf(s->w + (size_t)r * s->row_bytes, buf, CT_COLS);
            *slot = buf[(r * 37) % CT_COLS];
            acc += *slot;
        }
    }
    if (s->sim_collect)
        ctr_sim_collect_end();
    s->partial[ith * 8] = acc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int ct_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct ct_state *s = state;
    double ns[CT_PASSES];
    wlutil_ctr_begin(&s->hw);
    for (int p = 0; p < CT_PASSES; p++) {
        uint64_t t0 = clock_ns();
        pool_run(s->pool, ct_pass, s);
        ns[p] = (double)(clock_ns() - t0);
    }
    wlutil_ctr_end(&s->hw);
    double sum = 0;
    for (int t = 0; t < s->threads; t++)
        sum += s->partial[t * 8];
    qsort(ns, CT_PASSES, sizeof ns[0], cmp_double);
    double med = (ns[CT_PASSES / 2 - 1] + ns[CT_PASSES / 2]) / 2;
    workload_emit(out, "ns_per_1024_rows", "ns", METRIC_SRC_TIME, med);
    workload_emit(out, "ns_per_1024_rows_min", "ns", METRIC_SRC_TIME, ns[0]);
    workload_emit(out, "weight_gbps", "GB/s", METRIC_SRC_DERIVED, (double)(s->row_bytes * CT_ROWS) / med);
    workload_emit(out, "result_checksum", "value", METRIC_SRC_DERIVED, sum);
    workload_emit(out, "weight_misalign_bytes", "bytes", METRIC_SRC_DERIVED, (double)((uintptr_t)s->w % CT_LINE));
    wlutil_emit_l1d(out, "l1d_misses_per_1024_rows", &s->hw, s->have_sim ? &s->sim_res : NULL,
                    s->sim ? s->sim_err : NULL, CT_PASSES);
    (void)err, (void)err_len;
    return 0;
}

static void ct_work(const void *state, double *bytes, double *flops)
{
    const struct ct_state *s = state;
    *bytes = (double)CT_PASSES * CT_ROWS * (double)s->row_bytes;
    *flops = s->dot ? 2.0 * CT_PASSES * CT_ROWS * CT_COLS : 0;
}

/* The primary set: the median time per 1024 rows. */
static const struct metric_decl contention_metrics[] = {
    { "ns_per_1024_rows", METRIC_SEM(LOWER, SAMPLE, true) },
    { "ns_per_1024_rows_min", METRIC_SEM(LOWER, SAMPLE, false) },
    { "weight_gbps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "result_checksum", METRIC_SEM(NEITHER, INFO, false) },
    { "weight_misalign_bytes", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_contention = {
    WORKLOAD_METRICS(contention_metrics),
    .name = "contention",
    .description = "kernels vs layout: weight alignment, threads, false sharing of per-thread outputs, L1d misses",
    .axes = ct_axes,
    .n_axes = AX_N,
    .flags = 0,
    .setup = ct_setup,
    .run = ct_run,
    .work = ct_work,
    .teardown = ct_teardown,
};
