/* contention — does cache-line contention slow the engine's kernels when
 * threads write a shared output, and by how much? The three ownership
 * patterns of workloads/contention_split.h (blocked, interleaved: the
 * engine's false_sharing split, padded: per-thread lines) against weight
 * row alignment, thread count and quant type.
 *
 * A 1024 x 256 weight matrix of the chosen type is made at setup, every row
 * starting `align` bytes past a 64-byte boundary (rows are padded to whole
 * lines, so the offset holds for every row of every type). One dispatch
 * (pass) of a warm, spinning pool (one per repetition) runs `sweeps`
 * sweeps over the rows after a start barrier, each thread taking its rows
 * of the split:
 *   dot       out[pos(r)] = W[r] . x (the engine's dot kernel): a matmul's
 *             output vector, one float per row
 *   to_float  W[r] dequantized (the engine's kernel) into the thread's
 *             scratch, then written as column r of a transposed [256][1024]
 *             output (what a GEMM that wants W^T gets): 256 floats per row,
 *             each in a different line, so an interleaved split makes
 *             every one of those lines shared by all threads
 * sweeps is chosen at the first setup of each (op, type, kernels) so that
 * a pass takes about 1 ms on one thread (1 ms of work per dispatch), and kept for every configuration
 * of that op and type in the process (all layouts and thread counts then do
 * the same work per dispatch).
 *
 * Each repetition works on fresh copies of the weights and buffers (see
 * ct_map). Figures per repetition (32 passes after one untimed pass that
 * wakes the pool, more while fewer than 16 were undisturbed: see
 * contention_passes_more), per 1024 rows from contention_passes_emit: ns_per_1024_rows
 * (median pass / sweeps) and its minimum, ns_per_1024_rows_undisturbed
 * (median over the passes in which every thread was on a CPU for 95% of
 * its work: on a busy machine threads that take turns on a CPU cannot
 * contend, so these passes are the ones that show the layout's cost),
 * cpu_ns_per_1024_rows (the threads' summed CPU time), on_cpu_fraction,
 * dispatch_share (the part of a pass outside the span of the threads'
 * work: waking and joining them; median), shared_lines_per_op and shared_line_fraction (derived
 * from the split: output lines written by more than one thread in one
 * sweep), weight_misalign_bytes, result_checksum (the sum of every output:
 * the same for every layout and thread count of a type and op),
 * l1d_misses_per_1024_rows (PMU; or simulated by valgrind with --sim on,
 * which has no coherence model) and coherence_loads_per_1024_rows (PMU:
 * the HITM-like event of contention_pmu_events), each else unsupported
 * with the reason.
 */
#include <math.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/machine/clock.h"
#include "workloads/contention_split.h"
#include "workloads/wlutil.h"

#define CT_ROWS 1024
#define CT_COLS 256
#define CT_PASSES 32
#define CT_LINE 64
#define CT_PASS_TARGET_NS 1e6
#define CT_MAX_SWEEPS 4096

static const char *const ct_types[] = { "f32", "f16", "q4_0", "q8_0", "q4_k", "q6_k", NULL };
static const int ct_type_ids[] = { QT_F32, QT_F16, QT_Q4_0, QT_Q8_0, QT_Q4_K, QT_Q6_K };
static const char *const ct_ops[] = { "dot", "to_float", NULL };
static const char *const ct_layouts[] = { "blocked", "interleaved", "padded", NULL };
static const char *const ct_sim[] = { "off", "on", NULL };

enum { AX_TYPE, AX_OP, AX_ALIGN, AX_THREADS, AX_LAYOUT, AX_KERNELS, AX_SIM, AX_N };

static const struct workload_axis ct_axes[AX_N] = {
    { "type", "weight type", WORKLOAD_AXIS_CHOICE, ct_types, 0, 0, "q4_0" },
    { "op", "kernel: dot (row x activations, a float per row) or to_float (dequantize, written transposed)",
      WORKLOAD_AXIS_CHOICE, ct_ops, 0, 0, "to_float,dot" },
    { "align", "weight row start, bytes past a 64-byte boundary (0 and 64: aligned)", WORKLOAD_AXIS_INT, NULL, 0, 64,
      "0,1,8,18,32,64" },
    { "threads", "threads splitting the rows", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS, "1,2,4" },
    { "layout", "output ownership: blocked rows, interleaved rows (false sharing), padded per-thread lines",
      WORKLOAD_AXIS_CHOICE, ct_layouts, 0, 0, "blocked,interleaved,padded" },
    { "kernels", "kernel ISA: auto (fastest), ref, avx2, avx512", WORKLOAD_AXIS_CHOICE, wlutil_kernel_choices, 0, 0,
      "auto" },
    { "sim", "simulate L1d misses under valgrind when the PMU cannot count them", WORKLOAD_AXIS_CHOICE, ct_sim, 0, 0,
      "off" },
};

struct ct_state {
    int type, threads;
    bool dot;
    int align;
    struct contention_split split;
    struct quant_kernels k;
    size_t row_bytes, row_stride;
    int sweeps;
    uint8_t *w_raw;              /* the weights as made: [CT_ROWS][row_stride] at w_raw + align */
    size_t w_bytes;              /* of w_raw and w_map, whole pages */
    uint8_t *w_map, *w;          /* this repetition's copy (fresh pages), w = w_map + align */
    uint8_t *y;                  /* activations, [CT_COLS] in the vec_dot_type */
    size_t y_stride;
    float *scratch;              /* [threads][CT_COLS] dequantize buffers (fresh pages per repetition) */
    float *out;                  /* [CT_COLS or 1][ld]: the shared output (fresh pages per repetition) */
    size_t out_floats, out_bytes, scratch_bytes;
    uint64_t *t_work;            /* [threads][8]: [0] ns each thread spent in its rows, [1] its start; a line each */
    uint64_t *t_cpu;             /* [threads][8]: CPU ns of the same, a line each */
    int64_t shared_lines, lines_written;
    struct pool *pool;
    bool sim_collect;            /* running under valgrind: bracket every thread's rows */
    int passes;                  /* timed passes of the last repetition (ct_work's count) */
    struct wlutil_ctr hw;
    struct wlutil_ctr coh;       /* the coherence event alone */
    char coh_name[128], coh_why[METRIC_REASON_MAX];
    bool sim;
    bool have_sim;
    struct ctr_sim_result sim_res;
    char sim_err[METRIC_REASON_MAX];
};

extern const struct workload workload_contention;

static void ct_pool_close(struct ct_state *s);

/* sweeps per pass for each (op, type, kernels), fixed by the first setup
 * in this process so every configuration of a sweep does the same work per
 * dispatch; 0 = not yet chosen. Setups run on the runner's one thread. */
static int ct_sweeps_cache[2][QT_COUNT][8];

/* A repetition's buffers: fresh anonymous pages each time, so that where
 * the weights, the scratch and the output land in physical memory (which
 * sets of L2 they share) varies from repetition to repetition instead of
 * favouring one configuration for a whole sweep; page-aligned, so their
 * offsets within pages (4 KiB aliasing) are the same for every one. */
static void ct_unmap(struct ct_state *s)
{
    if (s->w_map)
        munmap(s->w_map, s->w_bytes);
    if (s->out)
        munmap(s->out, s->out_bytes);
    if (s->scratch)
        munmap(s->scratch, s->scratch_bytes);
    s->w_map = s->w = NULL;
    s->out = NULL;
    s->scratch = NULL;
}

static void *ct_pages(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int ct_map(struct ct_state *s)
{
    s->w_map = ct_pages(s->w_bytes);
    s->out = ct_pages(s->out_bytes);
    s->scratch = ct_pages(s->scratch_bytes);
    if (!s->w_map || !s->out || !s->scratch) {
        ct_unmap(s);
        return -1;
    }
    memcpy(s->w_map, s->w_raw, s->w_bytes);
    s->w = s->w_map + s->align;
    memset(s->out, 0, s->out_bytes);         /* fault the pages in before the timing */
    memset(s->scratch, 0, s->scratch_bytes);
    return 0;
}

static void ct_teardown(void *state)
{
    struct ct_state *s = state;
    if (!s)
        return;
    ct_pool_close(s);
    ct_unmap(s);
    free(s->w_raw);
    free(s->y);
    free(s->t_work);
    free(s->t_cpu);
    free(s);
}

/* CPU time of the calling thread: unlike wall time it leaves out the time
 * the thread waited for a CPU, which on a shared machine is most of the
 * noise, while the stalls of a contended line stay in it. */
static uint64_t ct_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One sweep of thread ith's rows. */
static void ct_sweep(struct ct_state *s, int ith)
{
    int64_t b, e, step;
    contention_split_rows(&s->split, ith, &b, &e, &step);
    /* the output positions as a start and a stride (contention_split_pos of
     * row r, the k-th: see contention_split_walk), so that every layout runs
     * the same instructions and differs only in the addresses */
    int64_t pos, dpos;
    contention_split_walk(&s->split, ith, b, step, &pos, &dpos);
    const int64_t ld = s->split.ld;
    if (s->dot) {
        quant_dot_fn dot = s->k.dot[s->type];
        for (int64_t r = b; r < e; r += step, pos += dpos)
            dot(CT_COLS, s->w + (size_t)r * s->row_stride, s->y, s->y_stride, 1, &s->out[pos]);
        return;
    }
    quant_to_float_fn tf = s->k.to_float[s->type];
    float *buf = s->scratch + (size_t)ith * CT_COLS;
    for (int64_t r = b; r < e; r += step, pos += dpos) {
        tf(s->w + (size_t)r * s->row_stride, buf, CT_COLS);
        float *o = s->out + pos;
        for (int c = 0; c < CT_COLS; c++)
            o[(size_t)c * ld] = buf[c];
    }
}

static void ct_pass(void *arg, int ith, int nth)
{
    struct ct_state *s = arg;
    (void)nth;
    /* start together: a worker that wakes late would otherwise work alone
     * while the others wait, and alone nothing contends (the wait is in the
     * pass's wall time and so in the dispatch share) */
    pool_barrier(s->pool, ith);
    if (s->sim_collect)
        ctr_sim_collect_begin();
    uint64_t t0 = clock_ns(), c0 = ct_thread_cpu_ns();
    for (int i = 0; i < s->sweeps; i++)
        ct_sweep(s, ith);
    s->t_cpu[ith * 8] = ct_thread_cpu_ns() - c0;
    s->t_work[ith * 8] = clock_ns() - t0;
    s->t_work[ith * 8 + 1] = t0;   /* the start, for contention_passes_add */
    if (s->sim_collect)
        ctr_sim_collect_end();
}

/* Open a hw set counting the PMU's coherence event on the pool's threads. */
static void ct_open_coherence(struct ct_state *s, const int *tids, int nt)
{
    memset(&s->coh, 0, sizeof s->coh);
    s->coh.n = -1;
    s->coh_why[0] = '\0';
    char why[160], pmu[128];
    if (!ctr_hw_pmu_present(why, sizeof why)) {
        snprintf(s->coh_why, sizeof s->coh_why, "hw: %.140s", why);
        return;
    }
    ctr_hw_pfm_pmu(pmu, sizeof pmu);
    pmu[strcspn(pmu, " ")] = '\0';
    const struct contention_pmu_event *ev = contention_split_pmu_event(pmu);
    if (!ev) {
        snprintf(s->coh_why, sizeof s->coh_why, "hw: no coherence event known for PMU '%.60s'", pmu);
        return;
    }
    snprintf(s->coh_name, sizeof s->coh_name, "%s", ev->event);
    const char *events[1] = { ev->event };
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_HW;
    cfg.hw_events = events;
    cfg.n_hw_events = 1;
    cfg.thread_stats = false;
    char e[256];
    memset(&s->coh, 0, sizeof s->coh);
    s->coh.n = -1;
    if (ctr_open(&s->coh.set, &cfg, tids, nt, e, sizeof e) != 0) {
        snprintf(s->coh_why, sizeof s->coh_why, "hw: %.60s: %.90s", ev->event, e);
        s->coh.set = NULL;
        return;
    }
    s->coh.a = ctr_snap_new(s->coh.set);
    s->coh.b = ctr_snap_new(s->coh.set);
}

/* The repetition's pool, and the counters on its threads. A spinning pool:
 * threads that sleep between passes (hybrid, after its 100 us budget) wake
 * late on a busy machine, start one after the other and never contend;
 * spinning ones are there when the pass starts (the pool yields early when
 * oversubscribed). It lives for one repetition only: the runner sets up
 * every configuration before the first repetition, and the idle pools of
 * the others must not spin. */
static int ct_pool_open(struct ct_state *s, char *err, size_t err_len)
{
    struct pool_opts po = { .n_threads = s->threads, .wait = POOL_WAIT_SPIN };
    char e[256];
    s->pool = pool_new(&po, NULL, e, sizeof e);
    if (!s->pool) {
        snprintf(err, err_len, "thread pool: %s", e);
        return -1;
    }
    int tids[POOL_MAX_THREADS];
    int nt = wlutil_pool_tids(s->pool, tids, POOL_MAX_THREADS);
    wlutil_ctr_open(&s->hw, CTR_HW, tids, nt, false);
    ct_open_coherence(s, tids, nt);
    return 0;
}

static void ct_pool_close(struct ct_state *s)
{
    wlutil_ctr_close(&s->hw);
    wlutil_ctr_close(&s->coh);
    pool_free(s->pool);
    s->pool = NULL;
}

static int ct_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct ct_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "contention: out of memory");
        return -1;
    }
    s->hw.n = -1;
    s->coh.n = -1;
    s->type = ct_type_ids[cfg->num[AX_TYPE]];
    s->dot = cfg->num[AX_OP] == 0;
    s->align = (int)cfg->num[AX_ALIGN];
    s->threads = (int)cfg->num[AX_THREADS];
    s->sim = cfg->num[AX_SIM] == 1;
    s->sim_collect = ctr_sim_running();
    contention_split_init(&s->split, CT_ROWS, s->threads, (enum contention_layout)cfg->num[AX_LAYOUT]);
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
    s->row_stride = (s->row_bytes + CT_LINE - 1) / CT_LINE * CT_LINE;
    s->w_bytes = (s->row_stride * CT_ROWS + 2 * CT_LINE + 4095) / 4096 * 4096;
    s->w_raw = aligned_alloc(4096, s->w_bytes);
    s->y_stride = quant_row_size(vdt, CT_COLS);
    s->y = aligned_alloc(4096, (s->y_stride + 4095) / 4096 * 4096);
    s->scratch_bytes = ((size_t)s->threads * CT_COLS * sizeof(float) + 4095) / 4096 * 4096;
    s->out_floats = (size_t)(s->dot ? 1 : CT_COLS) * (size_t)s->split.ld;
    s->out_bytes = (s->out_floats * sizeof(float) + 4095) / 4096 * 4096;
    s->t_work = aligned_alloc(CT_LINE, (size_t)s->threads * 8 * sizeof(uint64_t));
    s->t_cpu = aligned_alloc(CT_LINE, (size_t)s->threads * 8 * sizeof(uint64_t));
    float *x = malloc(CT_COLS * sizeof *x);
    uint8_t *rows = malloc(s->row_bytes * CT_ROWS);
    if (!s->w_raw || !s->y || !s->t_work || !s->t_cpu || !x || !rows) {
        free(x);
        free(rows);
        snprintf(err, err_len, "contention: out of memory");
        goto fail;
    }
    memset(s->t_work, 0, (size_t)s->threads * 8 * sizeof(uint64_t));
    memset(s->w_raw, 0, s->w_bytes);   /* the padding of each row too */
    if (wlutil_random_weights(s->type, CT_ROWS, CT_COLS, cfg->seed ^ 0x5eed, rows, err, err_len) != 0) {
        free(x);
        free(rows);
        goto fail;
    }
    for (int r = 0; r < CT_ROWS; r++)
        memcpy(s->w_raw + s->align + (size_t)r * s->row_stride, rows + (size_t)r * s->row_bytes, s->row_bytes);
    free(rows);
    wlutil_random_floats(x, CT_COLS, cfg->seed ^ 0xac71);
    s->k.from_float[vdt](x, s->y, CT_COLS);
    free(x);

    s->shared_lines = contention_split_shared_lines(&s->split, s->dot ? 1 : CT_COLS, 0, &s->lines_written);
    if (s->shared_lines < 0) {
        snprintf(err, err_len, "contention: out of memory");
        goto fail;
    }

    /* sweeps: the first configuration of this op and type times one sweep
     * on this thread (best of 3) and fixes the count for the others */
    int *cached = &ct_sweeps_cache[s->dot ? 0 : 1][s->type][(int)cfg->num[AX_KERNELS] & 7];
    if (!*cached && !s->sim_collect) {
        if (ct_map(s) != 0) {
            snprintf(err, err_len, "contention: out of memory (mmap)");
            goto fail;
        }
        struct contention_split one = s->split;
        contention_split_init(&s->split, CT_ROWS, 1, CONTENTION_BLOCKED);
        double best = 1e18;
        for (int i = 0; i < 3; i++) {
            uint64_t t0 = clock_ns();
            ct_sweep(s, 0);
            double t = (double)(clock_ns() - t0);
            best = t < best ? t : best;
        }
        s->split = one;
        ct_unmap(s);
        double n = ceil(CT_PASS_TARGET_NS / (best > 1 ? best : 1));
        *cached = n < 1 ? 1 : n > CT_MAX_SWEEPS ? CT_MAX_SWEEPS : (int)n;
    }
    /* under valgrind the figures are counts, not times: one sweep per pass */
    s->sweeps = s->sim_collect ? 1 : *cached;

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

static int ct_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct ct_state *s = state;
    struct contention_passes ps = { .cpus = contention_cpus() };
    if (ct_map(s) != 0) {
        snprintf(err, err_len, "contention: mmap of the repetition's buffers failed");
        return -1;
    }
    if (ct_pool_open(s, err, err_len) != 0) {
        ct_unmap(s);
        return -1;
    }
    pool_run(s->pool, ct_pass, s);   /* warms the pool: the passes below find its threads spinning */
    wlutil_ctr_begin(&s->hw);
    wlutil_ctr_begin(&s->coh);
    /* under valgrind (the sim child) threads take turns by design: no
     * pass is undisturbed, and extra ones would only cost time */
    while (s->sim_collect ? ps.n < CT_PASSES : contention_passes_more(&ps, CT_PASSES)) {
        uint64_t t0 = clock_ns();
        pool_run(s->pool, ct_pass, s);
        contention_passes_add(&ps, (double)(clock_ns() - t0), s->t_work + 1, s->t_work, s->t_cpu, s->threads);
    }
    s->passes = ps.n;
    wlutil_ctr_end(&s->coh);
    wlutil_ctr_end(&s->hw);
    double sum = 0;
    for (size_t i = 0; i < s->out_floats; i++)
        sum += s->out[i];
    double per = (double)s->sweeps * CT_ROWS / 1024.0;   /* units of 1024 rows per pass */
    contention_passes_emit(&ps, out, "ns_per_1024_rows", per);
    double ns1024 = 0;   /* the median just emitted */
    for (int i = 0; i < out->n; i++)
        if (strcmp(out->m[i].name, "ns_per_1024_rows") == 0)
            ns1024 = out->m[i].value;
    workload_emit(out, "sweeps_per_pass", "count", METRIC_SRC_DERIVED, s->sweeps);
    workload_emit(out, "shared_lines_per_op", "count", METRIC_SRC_DERIVED, (double)s->shared_lines);
    workload_emit(out, "shared_line_fraction", "fraction", METRIC_SRC_DERIVED,
                  s->lines_written ? (double)s->shared_lines / (double)s->lines_written : 0);
    workload_emit(out, "weight_gbps", "GB/s", METRIC_SRC_DERIVED, (double)(s->row_bytes * 1024) / ns1024);
    workload_emit(out, "result_checksum", "value", METRIC_SRC_DERIVED, sum);
    workload_emit(out, "weight_misalign_bytes", "bytes", METRIC_SRC_DERIVED, (double)((uintptr_t)s->w % CT_LINE));
    double units = ps.n * per;
    /* the simulated counts are of the child's run under valgrind: one sweep
     * per pass, and the waking pass bracketed too */
    const struct metric *hl1 = wlutil_ctr_find(&s->hw, "l1d_load_misses");
    bool hw_l1 = hl1 && hl1->status == METRIC_OK;
    wlutil_emit_l1d(out, "l1d_misses_per_1024_rows", &s->hw, s->have_sim ? &s->sim_res : NULL,
                    s->sim ? s->sim_err : NULL, hw_l1 || !s->have_sim ? units : (CT_PASSES + 1) * CT_ROWS / 1024.0);
    const struct metric *c = s->coh.n > 0 ? &s->coh.m[0] : NULL;
    for (int i = 0; c && i < s->coh.n; i++)
        if (s->coh.m[i].source == METRIC_SRC_HW) {
            c = &s->coh.m[i];
            break;
        }
    if (c && c->source == METRIC_SRC_HW && c->status == METRIC_OK) {
        struct metric *m = workload_emit(out, "coherence_loads_per_1024_rows", "count", METRIC_SRC_HW, c->value / units);
        if (m)
            m->running_fraction = c->running_fraction;
    } else {
        char why[METRIC_REASON_MAX];
        snprintf(why, sizeof why, "%.150s", c ? c->reason : s->coh_why[0] ? s->coh_why : "hw: not opened");
        workload_emit_unsupported(out, "coherence_loads_per_1024_rows", "count", METRIC_SRC_HW, why);
    }
    ct_unmap(s);
    ct_pool_close(s);
    (void)err, (void)err_len;
    return 0;
}

static void ct_work(const void *state, double *bytes, double *flops)
{
    const struct ct_state *s = state;
    double rows = (double)(s->passes ? s->passes : CT_PASSES) * s->sweeps * CT_ROWS;
    *bytes = rows * (double)s->row_bytes;
    *flops = s->dot ? 2.0 * rows * CT_COLS : 0;
}

/* The primary set: the median time per 1024 rows. */
static const struct metric_decl contention_metrics[] = {
    { "ns_per_1024_rows", METRIC_SEM(LOWER, SAMPLE, true) },
    { "ns_per_1024_rows_undisturbed", METRIC_SEM(LOWER, SAMPLE, false) },
    { "ns_per_1024_rows_min", METRIC_SEM(LOWER, SAMPLE, false) },
    { "cpu_ns_per_1024_rows", METRIC_SEM(LOWER, SAMPLE, false) },
    { "weight_gbps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "dispatch_share*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "passes", METRIC_SEM(NEITHER, INFO, false) },
    { "undisturbed_passes", METRIC_SEM(NEITHER, INFO, false) },
    { "on_cpu_fraction", METRIC_SEM(NEITHER, INFO, false) },
    { "shared_line*", METRIC_SEM(NEITHER, COUNT, false) },
    { "sweeps_per_pass", METRIC_SEM(NEITHER, INFO, false) },
    { "coherence_loads_per_1024_rows", METRIC_SEM(LOWER, SAMPLE, false) },
    { "result_checksum", METRIC_SEM(NEITHER, INFO, false) },
    { "weight_misalign_bytes", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_contention = {
    WORKLOAD_METRICS(contention_metrics),
    .name = "contention",
    .description = "false sharing of kernel outputs: blocked/interleaved/padded ownership x threads x weight "
                   "alignment x type",
    .axes = ct_axes,
    .n_axes = AX_N,
    .flags = 0,
    .setup = ct_setup,
    .run = ct_run,
    .work = ct_work,
    .teardown = ct_teardown,
};
