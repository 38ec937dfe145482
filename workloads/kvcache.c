/* kvcache — attention over a growing KV cache with aligned vs padded rows.
 *
 * The engine stores K and V as [n_layer][n_ctx][row] with row = n_embd_kv
 * + kv_pad elements: pad 0 keeps every row (and every head inside it) where
 * n_embd_kv puts it, odd pads knock rows off cache-line alignment, larger
 * pads spread them out (more lines and pages per position, other set
 * mappings). Each repetition creates a context with n_ctx = pos + steps,
 * evaluates and forgets a warm-up token, prefills `pos` tokens untimed and
 * times `steps` decode steps at positions pos.. pos+steps-1.
 *
 * Figures: step_p50/p95/p99/max_ns and ns_per_step (time per decode step at
 * that position), attn_ns_per_step (the attention regions' wall time, from
 * region hooks that only read the clock), kv_row_bytes and kv_bytes, and
 * l1d_misses_per_step over the timed steps:
 *   hw    L1-DCACHE-LOAD-MISSES on the pool's threads when the PMU has it
 *   sim   with --sim on and no PMU: the same configuration re-run once (at
 *         setup) under valgrind's cache simulation, counting only the timed
 *         steps on every pool thread (D1 read misses; the child takes the
 *         AVX2 path because valgrind hides AVX-512)
 *   else  unsupported, with the PMU's reason
 */
#include <stdlib.h>
#include <string.h>

#include "harness/machine/clock.h"
#include "harness/run/session.h"
#include "workloads/wlutil.h"

static const char *const kvcache_kv[] = { "f16", "f32", NULL };
static const char *const kvcache_sim[] = { "off", "on", NULL };

enum { AX_PAD, AX_POS, AX_KV, AX_THREADS, AX_STEPS, AX_SIM, AX_N };

static const struct workload_axis kvcache_axes[AX_N] = {
    { "pad", "extra elements per KV row (0: rows as the model lays them out)", WORKLOAD_AXIS_INT, NULL, 0, 4096,
      "0,1,8,16" },
    { "pos", "context position of the timed steps (prefilled untimed)", WORKLOAD_AXIS_INT, NULL, 0, 1 << 20,
      "64,256,1024" },
    { "kv", "KV cache element type", WORKLOAD_AXIS_CHOICE, kvcache_kv, 0, 0, "f16" },
    { "threads", "engine threads (the caller included)", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS, "1" },
    { "steps", "decode steps timed per repetition", WORKLOAD_AXIS_INT, NULL, 1, 65536, "8" },
    { "sim", "simulate L1d misses under valgrind when the PMU cannot count them", WORKLOAD_AXIS_CHOICE, kvcache_sim,
      0, 0, "off" },
};

struct kvcache_state {
    struct session s;
    int pad, pos, threads, steps;
    enum infer_kv_type kv;
    bool sim;
    bool have_sim;
    struct ctr_sim_result sim_res;
    char sim_err[METRIC_REASON_MAX];
};

/* Region hooks that add up the wall time of attention regions. */
struct attn_clock {
    uint64_t t0, total_ns;
};

static void attn_begin(void *user, enum region_kind kind, int index)
{
    (void)index;
    if (kind == REGION_ATTN)
        ((struct attn_clock *)user)->t0 = clock_ns();
}

static void attn_end(void *user, enum region_kind kind, int index)
{
    (void)index;
    struct attn_clock *a = user;
    if (kind == REGION_ATTN)
        a->total_ns += clock_ns() - a->t0;
}

static void kvcache_teardown(void *state)
{
    struct kvcache_state *s = state;
    if (!s)
        return;
    session_close(&s->s);
    free(s);
}

extern const struct workload workload_kvcache;

static int kvcache_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct kvcache_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "kvcache: out of memory");
        return -1;
    }
    s->s.fd = -1;
    s->pad = (int)cfg->num[AX_PAD];
    s->pos = (int)cfg->num[AX_POS];
    s->kv = cfg->num[AX_KV] == 1 ? INFER_KV_F32 : INFER_KV_F16;
    s->threads = (int)cfg->num[AX_THREADS];
    s->steps = (int)cfg->num[AX_STEPS];
    s->sim = cfg->num[AX_SIM] == 1;
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = cfg->model_path;
    if (session_open(&s->s, &so, false, err, err_len) != 0) {
        kvcache_teardown(s);
        return -1;
    }
    char why[160];
    if (s->sim && !ctr_hw_pmu_present(why, sizeof why)) {
        /* The simulation is deterministic: once per configuration, here, untimed. */
        char e[512];
        if (wlutil_sim_rerun(&workload_kvcache, cfg, "sim", &s->sim_res, e, sizeof e) == 0)
            s->have_sim = true;
        else
            snprintf(s->sim_err, sizeof s->sim_err, "%.150s", e);
    }
    *state = s;
    return 0;
}

static int kvcache_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct kvcache_state *s = state;
    const struct model *m = &s->s.m;
    int n_vocab = m->hp.n_vocab;
    struct attn_clock ac = { 0, 0 };
    struct region_hooks hooks = { .user = &ac };
    struct infer_opts o;
    infer_opts_default(&o);
    o.n_threads = s->threads;
    o.kv_type = s->kv;
    o.kv_pad = s->pad;
    o.n_ctx = s->pos + s->steps;
    o.regions = &hooks;

    struct infer *c = NULL;
    struct wlutil_ctr hw = { .n = -1 };
    double *lat = malloc((size_t)s->steps * sizeof *lat);
    int rc = -1;
    char e[256];
    if (!lat) {
        snprintf(err, err_len, "kvcache: out of memory");
        goto done;
    }
    if (wlutil_infer_warm(&c, m, &o, &s->s.file, err, err_len) != 0)
        goto done;
    if (wlutil_prefill(c, n_vocab, 1, s->pos, err, err_len) != 0)
        goto done;
    int tids[POOL_MAX_THREADS];
    int nt = wlutil_pool_tids(infer_pool(c), tids, POOL_MAX_THREADS);
    wlutil_ctr_open(&hw, CTR_HW, tids, nt, false);
    hooks.begin = attn_begin;
    hooks.end = attn_end;

    wlutil_ctr_begin(&hw);
    wlutil_sim_toggle_pool(infer_pool(c));
    double total = 0;
    for (int i = 0; i < s->steps; i++) {
        int32_t tok = wlutil_token(1 + s->pos + i, n_vocab);
        uint64_t t0 = clock_ns();
        int r = infer_eval(c, &tok, 1, NULL, e, sizeof e);
        uint64_t t1 = clock_ns();
        if (r != INFER_OK) {
            wlutil_sim_toggle_pool(infer_pool(c));
            snprintf(err, err_len, "decode step at position %d: %s", s->pos + i, e);
            goto done;
        }
        lat[i] = (double)(t1 - t0);
        total += lat[i];
    }
    wlutil_sim_toggle_pool(infer_pool(c));
    wlutil_ctr_end(&hw);

    uint64_t row = (uint64_t)m->hp.head_dim * m->hp.n_head_kv + (uint64_t)s->pad;
    uint64_t elt = s->kv == INFER_KV_F32 ? 4 : 2;
    wlutil_emit_latency(out, "step", lat, s->steps);
    workload_emit(out, "ns_per_step", "ns", METRIC_SRC_TIME, total / s->steps);
    workload_emit(out, "attn_ns_per_step", "ns", METRIC_SRC_TIME, (double)ac.total_ns / s->steps);
    workload_emit(out, "kv_row_bytes", "bytes", METRIC_SRC_DERIVED, (double)(row * elt));
    workload_emit(out, "kv_bytes", "bytes", METRIC_SRC_DERIVED,
                  (double)infer_kv_bytes(&m->hp, infer_n_ctx(c), s->kv, s->pad));
    /* KV bytes one step's attention reads: K and V rows of every layer up to the position */
    double attn_bytes = 2.0 * m->hp.n_layer * (double)(s->pos + s->steps / 2 + 1) * (double)(row * elt);
    workload_emit(out, "attn_kv_gbps", "GB/s", METRIC_SRC_DERIVED,
                  ac.total_ns ? attn_bytes * s->steps / (double)ac.total_ns : 0);
    wlutil_emit_l1d(out, "l1d_misses_per_step", &hw, s->have_sim ? &s->sim_res : NULL,
                    s->sim ? s->sim_err : NULL, s->steps);
    rc = 0;
done:
    wlutil_ctr_close(&hw);
    infer_free(c);
    free(lat);
    return rc;
}

/* The primary set: the time per step; the sizes echo the configuration. */
static const struct metric_decl kvcache_metrics[] = {
    { "ns_per_step", METRIC_SEM(LOWER, SAMPLE, true) },
    { "step_*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "attn_ns_per_step", METRIC_SEM(LOWER, SAMPLE, false) },
    { "attn_kv_gbps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "kv_row_bytes", METRIC_SEM(NEITHER, INFO, false) },
    { "kv_bytes", METRIC_SEM(NEITHER, INFO, false) },
};

const struct workload workload_kvcache = {
    WORKLOAD_METRICS(kvcache_metrics),
    .name = "kvcache",
    .description = "attention over a growing KV cache, aligned vs padded rows: time per step, L1d misses",
    .axes = kvcache_axes,
    .n_axes = AX_N,
    .flags = WORKLOAD_NEEDS_MODEL,
    .setup = kvcache_setup,
    .run = kvcache_run,
    .work = NULL, /* run() also prefills the context: the figures time the steps */
    .teardown = kvcache_teardown,
};
