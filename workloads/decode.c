/* decode — token generation speed: one token per forward pass, the way a
 * chat reply is produced, and how close it comes to the memory system's
 * limit.
 *
 * Each repetition creates an inference context (threads, kernels, KV type,
 * wait policy from the axes; created here and not at setup because a
 * spin-waiting pool of every configuration alive at once would burn the
 * CPUs), evaluates one warm-up token and forgets it (first-touch faults of
 * the weights belong to the load workload), prefills `pos` tokens untimed,
 * then times n_gen single-token steps one by one.
 *
 * Figures: tokens_per_s (n_gen / the steps' total time), the step latency
 * distribution token_p50/p95/p99/max_ns (over the steps of the repetition;
 * nearest rank), decode_bytes_per_token (infer_decode_bytes: the weights a
 * step reads), eff_bw_gbps (those bytes x tokens/s, derived) and
 * bw_fraction_of_peak against the STREAM triad of the same thread count
 * (measured once per sweep at setup over three arrays of peak_mib MiB and
 * cached; 0 turns it off), matmul_gflops, and software counters over the
 * timed steps on the pool's threads (context switches with the voluntary /
 * involuntary split, migrations, faults, task clock).
 *
 * The counters axis measures the cost of the harness's region markers:
 *   off      no region hooks at all (the engine's markers are a branch)
 *   regions  ctr_region_hooks with no counter set: count + wall time per region
 *   sw       ctr_region_hooks over a software counter set on the pool's
 *            threads: two counter reads per region (every kind: decode,
 *            layer, matmul group, attention; 74 regions a token on 110m)
 *   sw-layer the same set, but only decode and layer regions reach the hooks
 *            (a per-layer profile's granularity: 13 regions a token on 110m)
 *   sw-step  the same set on the decode step only (one region a token: what
 *            a per-token counter read costs)
 * `ggperf run decode --counters off,regions,sw,sw-layer -r 10` compares
 * them; with hooks the time per token in matmuls and attention comes from
 * the regions (not with sw-layer, which does not see those regions).
 */
#include <stdlib.h>
#include <string.h>

#include "harness/clock.h"
#include "harness/session.h"
#include "workloads/wlutil.h"

static const char *const decode_kv[] = { "f16", "f32", NULL };
static const char *const decode_wait[] = { "spin", "futex", "hybrid", NULL };
static const char *const decode_counters[] = { "off", "regions", "sw", "sw-layer", "sw-step", NULL };
enum { CNT_OFF, CNT_REGIONS, CNT_SW, CNT_SW_LAYER, CNT_SW_STEP };

enum { AX_THREADS, AX_KERNELS, AX_KV, AX_WAIT, AX_NGEN, AX_POS, AX_COUNTERS, AX_PEAK, AX_N };

static const struct workload_axis decode_axes[AX_N] = {
    { "threads", "engine threads (the caller included)", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS, "1,2" },
    { "kernels", "kernel ISA: auto (fastest), ref, avx2, avx512", WORKLOAD_AXIS_CHOICE, wlutil_kernel_choices, 0, 0,
      "auto" },
    { "kv", "KV cache element type", WORKLOAD_AXIS_CHOICE, decode_kv, 0, 0, "f16" },
    { "wait", "thread pool wait policy", WORKLOAD_AXIS_CHOICE, decode_wait, 0, 0, "hybrid" },
    { "n_gen", "tokens generated (timed) per repetition", WORKLOAD_AXIS_INT, NULL, 1, 65536, "16" },
    { "pos", "context position of the first timed token (prefilled untimed)", WORKLOAD_AXIS_INT, NULL, 0, 1 << 20,
      "0" },
    { "counters", "region hooks: off (none), regions (count+time), sw (sw counters per region), sw-layer (decode+layer only), sw-step (decode step only)",
      WORKLOAD_AXIS_CHOICE, decode_counters, 0, 0, "off" },
    { "peak_mib", "STREAM triad array size (MiB each) for the bandwidth peak; 0: no peak", WORKLOAD_AXIS_INT, NULL,
      0, 1 << 16, "256" },
};

struct decode_state {
    struct session s;
    int threads, n_gen, pos, counters;
    enum quant_isa isa;
    enum infer_kv_type kv;
    enum pool_wait wait;
    struct metric peak;
    bool have_peak;
};

static void decode_teardown(void *state)
{
    struct decode_state *s = state;
    if (!s)
        return;
    session_close(&s->s);
    free(s);
}

static int decode_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct decode_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "decode: out of memory");
        return -1;
    }
    s->s.fd = -1;
    s->threads = (int)cfg->num[AX_THREADS];
    s->kv = cfg->num[AX_KV] == 1 ? INFER_KV_F32 : INFER_KV_F16;
    s->wait = (enum pool_wait)cfg->num[AX_WAIT];
    s->n_gen = (int)cfg->num[AX_NGEN];
    s->pos = (int)cfg->num[AX_POS];
    s->counters = (int)cfg->num[AX_COUNTERS];
    if (wlutil_kernels((int)cfg->num[AX_KERNELS], &s->isa, err, err_len) != 0)
        goto fail;
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = cfg->model_path;
    if (session_open(&s->s, &so, false, err, err_len) != 0)
        goto fail;
    if (cfg->num[AX_PEAK] > 0) {
        wlutil_peak_triad(s->threads, (uint64_t)cfg->num[AX_PEAK] << 20, &s->peak);
        s->have_peak = true;
    }
    *state = s;
    return 0;
fail:
    decode_teardown(s);
    return -1;
}

/* Region hooks that pass only the decode step (and, with layers, the layer
 * regions) on to inner hooks: the granularity a profile asks for. */
struct coarse_hooks {
    struct region_hooks inner;
    bool layers;
};

static bool coarse_pass(const struct coarse_hooks *h, enum region_kind kind)
{
    return kind == REGION_DECODE || (h->layers && kind == REGION_LAYER);
}

static void coarse_begin(void *user, enum region_kind kind, int index)
{
    if (coarse_pass((struct coarse_hooks *)user, kind))
        region_begin(&((struct coarse_hooks *)user)->inner, kind, index);
}

static void coarse_end(void *user, enum region_kind kind, int index)
{
    if (coarse_pass((struct coarse_hooks *)user, kind))
        region_end(&((struct coarse_hooks *)user)->inner, kind, index);
}

static const char *const decode_sw_names[] = { "context_switches", "voluntary_switches", "involuntary_switches",
                                               "cpu_migrations",   "minor_faults",       "major_faults",
                                               "task_clock_ns",    NULL };

static int decode_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct decode_state *s = state;
    const struct model *m = &s->s.m;
    struct infer_opts o;
    infer_opts_default(&o);
    o.n_threads = s->threads;
    o.max_isa = s->isa;
    o.kv_type = s->kv;
    o.wait = s->wait;
    o.n_ctx = s->pos + s->n_gen;
    /* filled once the pool's threads exist; the engine reads it at eval time */
    struct region_hooks hooks = { 0 };
    struct coarse_hooks coarse;
    o.regions = &hooks;

    struct infer *c = NULL;
    struct ctr_set *rset = NULL;
    struct ctr_regions *regions = NULL;
    struct wlutil_ctr sw = { .n = -1 };
    double *lat = malloc((size_t)s->n_gen * sizeof *lat);
    int rc = -1;
    char e[256];
    if (!lat) {
        snprintf(err, err_len, "decode: out of memory");
        goto done;
    }
    if (infer_new(&c, m, &o, e, sizeof e) != INFER_OK) {
        snprintf(err, err_len, "infer_new: %s", e);
        goto done;
    }
    int n_vocab = m->hp.n_vocab;
    if (wlutil_prefill(c, n_vocab, 0, 1, err, err_len) != 0)
        goto done;
    infer_reset(c);
    if (wlutil_prefill(c, n_vocab, 1, s->pos, err, err_len) != 0)
        goto done;

    int tids[POOL_MAX_THREADS];
    int nt = wlutil_pool_tids(infer_pool(c), tids, POOL_MAX_THREADS);
    if (s->counters != CNT_OFF) {
        if (s->counters == CNT_SW || s->counters == CNT_SW_LAYER || s->counters == CNT_SW_STEP) {
            struct ctr_config cc;
            ctr_config_default(&cc);
            cc.backends = CTR_SW;
            cc.thread_stats = false;
            if (ctr_open(&rset, &cc, tids, nt, e, sizeof e) != 0) {
                snprintf(err, err_len, "counters sw: %s", e);
                goto done;
            }
        }
        if (ctr_regions_new(&regions, rset, e, sizeof e) != 0) {
            snprintf(err, err_len, "counters: %s", e);
            goto done;
        }
        if (s->counters == CNT_SW_LAYER || s->counters == CNT_SW_STEP) {
            coarse.inner = ctr_region_hooks(regions);
            coarse.layers = s->counters == CNT_SW_LAYER;
            hooks = (struct region_hooks){ coarse_begin, coarse_end, &coarse };
        } else {
            hooks = ctr_region_hooks(regions);
        }
    }
    wlutil_ctr_open(&sw, CTR_SW, tids, nt, true);

    wlutil_ctr_begin(&sw);
    double total = 0;
    for (int i = 0; i < s->n_gen; i++) {
        int32_t tok = wlutil_token(1 + s->pos + i, n_vocab);
        uint64_t t0 = clock_ns();
        int r = infer_eval(c, &tok, 1, NULL, e, sizeof e);
        uint64_t t1 = clock_ns();
        if (r != INFER_OK) {
            wlutil_ctr_end(&sw);
            snprintf(err, err_len, "decode step %d at position %d: %s", i, s->pos + i, e);
            goto done;
        }
        lat[i] = (double)(t1 - t0);
        total += lat[i];
    }
    wlutil_ctr_end(&sw);

    double tps = s->n_gen / (total * 1e-9);
    double bytes = (double)infer_decode_bytes(c);
    workload_emit(out, "tokens_per_s", "tok/s", METRIC_SRC_TIME, tps);
    wlutil_emit_latency(out, "token", lat, s->n_gen);
    workload_emit(out, "decode_bytes_per_token", "bytes", METRIC_SRC_DERIVED, bytes);
    double bw = bytes * tps * 1e-9;
    workload_emit(out, "eff_bw_gbps", "GB/s", METRIC_SRC_DERIVED, bw);
    if (!s->have_peak) {
        workload_emit_unsupported(out, "peak_triad_gbps", "GB/s", METRIC_SRC_DERIVED, "peak off (--peak_mib 0)");
        workload_emit_unsupported(out, "bw_fraction_of_peak", "fraction", METRIC_SRC_DERIVED, "peak off (--peak_mib 0)");
    } else if (s->peak.status != METRIC_OK) {
        if (out->n < WORKLOAD_MAX_METRICS)
            out->m[out->n++] = s->peak;
        workload_emit_unsupported(out, "bw_fraction_of_peak", "fraction", METRIC_SRC_DERIVED, s->peak.reason);
    } else {
        workload_emit(out, "peak_triad_gbps", "GB/s", METRIC_SRC_DERIVED, s->peak.value);
        workload_emit(out, "bw_fraction_of_peak", "fraction", METRIC_SRC_DERIVED, bw / s->peak.value);
    }
    workload_emit(out, "matmul_gflops", "GFLOP/s", METRIC_SRC_DERIVED, 2 * wlutil_matmul_params(m) * tps * 1e-9);
    workload_emit(out, "kv_bytes", "bytes", METRIC_SRC_DERIVED,
                  (double)infer_kv_bytes(&m->hp, infer_n_ctx(c), s->kv, 0));
    workload_emit(out, "kernel_isa_level", "level", METRIC_SRC_SW, (double)infer_kernels(c)->isa);
    wlutil_ctr_emit(&sw, out, decode_sw_names);

    if (regions) {
        uint64_t cnt, ns_m = 0, ns_a = 0, n_all = 0;
        struct metric tmp[1];
        for (int k = 0; k < REGION_KIND_COUNT; k++) {
            uint64_t ns;
            ctr_regions_get(regions, (enum region_kind)k, &cnt, &ns, tmp, 0);
            n_all += cnt;
            if (k == REGION_MATMUL)
                ns_m = ns;
            if (k == REGION_ATTN)
                ns_a = ns;
        }
        workload_emit(out, "regions_per_token", "count", METRIC_SRC_DERIVED, (double)n_all / s->n_gen);
        if (s->counters != CNT_SW_LAYER && s->counters != CNT_SW_STEP) {
            workload_emit(out, "matmul_ns_per_token", "ns", METRIC_SRC_TIME, (double)ns_m / s->n_gen);
            workload_emit(out, "attn_ns_per_token", "ns", METRIC_SRC_TIME, (double)ns_a / s->n_gen);
        }
        workload_emit(out, "region_errors", "count", METRIC_SRC_SW, (double)ctr_regions_errors(regions));
    }
    rc = 0;
done:
    wlutil_ctr_close(&sw);
    infer_free(c);
    ctr_regions_free(regions);
    ctr_close(rset);
    free(lat);
    return rc;
}

const struct workload workload_decode = {
    .name = "decode",
    .description = "token generation: tokens/s, per-token latency, effective bandwidth vs the STREAM peak, counters",
    .axes = decode_axes,
    .n_axes = AX_N,
    .flags = WORKLOAD_NEEDS_MODEL,
    .setup = decode_setup,
    .run = decode_run,
    .work = NULL, /* run() also creates the context and prefills: the figures above time the steps themselves */
    .teardown = decode_teardown,
};
