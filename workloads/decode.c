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
 * cached; 0 turns it off), matmul_gflops, weights_huge_fraction (the
 * share of the file's bytes on transparent huge pages: the weights axis
 * places them, see harness/run/filebuf.h), and counters over the timed steps
 * on the pool's threads (thread 0, the caller, included), one set opened per
 * repetition and read twice (before the first step, after the last):
 *   hw     cycles, instructions, l1d/llc/dtlb load misses, each _per_token,
 *          and ipc (derived); on a machine without a PMU (a VM) each is
 *          unsupported with perf_event_open's reason, never 0
 *   sw     context switches with the voluntary / involuntary split,
 *          migrations, faults, task clock
 *   sched  wakeup_latency_count/_p50/_p95/_p99/_max_ns (sched_wakeup ->
 *          sched_switch of the pool's threads, tracepoints), wakeup_lost_events,
 *          runq_wait_ns (schedstat run-queue delay summed over the threads);
 *          unsupported with the reason when tracefs or perf_event_open refuse.
 *          The tracepoints cost a little per wake-up and switch, which the
 *          futex and hybrid policies make a few of per step.
 *
 * The sim axis (on: once per configuration, at setup, untimed) re-runs the
 * configuration as `ggperf run decode ... -r 1` under valgrind's callgrind
 * with cache simulation of this machine's geometry (ctr_sim), collecting
 * only the timed steps on every pool thread, and emits
 * sim_instructions_per_token, sim_d1_misses_per_token (reads + writes),
 * sim_ll_misses_per_token, the simulated D1/LL sizes, the tokens simulated
 * (sim_tokens) and the kernel path that ran under valgrind (sim_isa_level:
 * 0 ref, 1 avx2, 2 avx512, as kernel_isa_level; valgrind 3.19 hides AVX-512,
 * so auto and avx512 take AVX2 there). The child differs from the
 * configuration in three ways, to keep it short and its counts deterministic:
 * min(n_gen, 2) tokens (figures are per token), no STREAM peak, and the futex
 * wait policy (valgrind runs one thread at a time, so a spinning waiter would
 * spin through its time slice: instructions that do not happen natively and
 * vary from run to run). With one thread the instruction count is the same
 * from run to run; with several, which thread reaches a barrier last (and so
 * makes the futex calls) moves it by a few tens per token. The misses are the
 * same too in the same environment, and move by ~0.1% with the memory layout:
 * a longer environment (another working directory) moves the stack, and a
 * model missing from the hash cache makes the child hash it first, which
 * moves its heap (`ggperf run` hashes the model before any setup).
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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/clock.h"
#include "harness/run/session.h"
#include "workloads/wlutil.h"

static const char *const decode_kv[] = { "f16", "f32", NULL };
static const char *const decode_wait[] = { "spin", "futex", "hybrid", NULL };
static const char *const decode_counters[] = { "off", "regions", "sw", "sw-layer", "sw-step", NULL };
static const char *const decode_sim[] = { "off", "on", NULL };
enum { CNT_OFF, CNT_REGIONS, CNT_SW, CNT_SW_LAYER, CNT_SW_STEP };

enum { AX_THREADS, AX_KERNELS, AX_KV, AX_WAIT, AX_NGEN, AX_POS, AX_COUNTERS, AX_PEAK, AX_SIM, AX_WEIGHTS, AX_N };

/* Tokens the sim pass decodes at most: per-token counts need few, and
 * callgrind runs the 110m model's step ~100x slower than native. */
#define DECODE_SIM_TOKENS 2

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
    { "sim", "on: re-run once under valgrind's cache simulation (instructions, D1/LL misses per token)",
      WORKLOAD_AXIS_CHOICE, decode_sim, 0, 0, "off" },
    { "weights", "where the model's bytes live: map (the file mapping), read (heap copy), hugepage (copy in 2 MiB THP)",
      WORKLOAD_AXIS_CHOICE, filebuf_kind_names, 0, 0, "map" },
};

struct decode_state {
    struct session s;
    int threads, n_gen, pos, counters;
    enum quant_isa isa;
    enum infer_kv_type kv;
    enum pool_wait wait;
    struct metric peak;
    bool have_peak;
    bool sim, have_sim;
    int sim_tokens;
    double sim_isa;                   /* kernel_isa_level of the child; NAN if it did not say */
    struct ctr_sim_result sim_res;
    char sim_err[METRIC_REASON_MAX];
};

extern const struct workload workload_decode;

/* The sim pass: see the header comment. Failure is kept as the reason of
 * the sim figures, not a failed configuration. */
static void decode_sim_pass(struct decode_state *s, const struct workload_config *cfg)
{
    char ngen[32];
    s->sim_tokens = s->n_gen < DECODE_SIM_TOKENS ? s->n_gen : DECODE_SIM_TOKENS;
    snprintf(ngen, sizeof ngen, "n_gen=%d", s->sim_tokens);
    const char *const ov[] = { ngen, "peak_mib=0", "wait=futex", NULL };
    const char *const rd[] = { "kernel_isa_level", NULL };
    s->sim_isa = NAN;
    struct wlutil_sim_req req = { .sim_axis = "sim", .overrides = ov, .read = rd, .read_values = &s->sim_isa };
    char e[512];
    if (wlutil_sim_rerun_req(&workload_decode, cfg, &req, &s->sim_res, e, sizeof e) != 0) {
        snprintf(s->sim_err, sizeof s->sim_err, "%.150s", e);
        return;
    }
    s->have_sim = true;
}

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
    s->sim = cfg->num[AX_SIM] == 1;
    if (wlutil_kernels((int)cfg->num[AX_KERNELS], &s->isa, err, err_len) != 0)
        goto fail;
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = cfg->model_path;
    so.weights = (enum filebuf_kind)cfg->num[AX_WEIGHTS];
    if (session_open(&s->s, &so, false, err, err_len) != 0)
        goto fail;
    if (cfg->num[AX_PEAK] > 0) {
        wlutil_peak_triad(s->threads, (uint64_t)cfg->num[AX_PEAK] << 20, &s->peak);
        s->have_peak = true;
    }
    if (s->sim && !ctr_sim_running())
        decode_sim_pass(s, cfg);
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

/* The counter set's figures decode reports: the set's name, the name
 * emitted, and whether it is divided by the tokens timed. Source and unit
 * are for when the set lacks the metric (could not be opened). */
static const struct decode_fig {
    const char *ctr, *name, *unit;
    enum metric_source src;
    bool per_token;
} decode_figs[] = {
    { "cycles", "cycles_per_token", "count", METRIC_SRC_HW, true },
    { "instructions", "instructions_per_token", "count", METRIC_SRC_HW, true },
    { "l1d_load_misses", "l1d_load_misses_per_token", "count", METRIC_SRC_HW, true },
    { "llc_load_misses", "llc_load_misses_per_token", "count", METRIC_SRC_HW, true },
    { "dtlb_load_misses", "dtlb_load_misses_per_token", "count", METRIC_SRC_HW, true },
    { "context_switches", "context_switches", "count", METRIC_SRC_SW, false },
    { "voluntary_switches", "voluntary_switches", "count", METRIC_SRC_SW, false },
    { "involuntary_switches", "involuntary_switches", "count", METRIC_SRC_SW, false },
    { "cpu_migrations", "cpu_migrations", "count", METRIC_SRC_SW, false },
    { "minor_faults", "minor_faults", "count", METRIC_SRC_SW, false },
    { "major_faults", "major_faults", "count", METRIC_SRC_SW, false },
    { "task_clock_ns", "task_clock_ns", "ns", METRIC_SRC_SW, false },
    { "wakeup_latency_count", "wakeup_latency_count", "count", METRIC_SRC_SCHED, false },
    { "wakeup_latency_p50_ns", "wakeup_latency_p50_ns", "ns", METRIC_SRC_SCHED, false },
    { "wakeup_latency_p95_ns", "wakeup_latency_p95_ns", "ns", METRIC_SRC_SCHED, false },
    { "wakeup_latency_p99_ns", "wakeup_latency_p99_ns", "ns", METRIC_SRC_SCHED, false },
    { "wakeup_latency_max_ns", "wakeup_latency_max_ns", "ns", METRIC_SRC_SCHED, false },
    { "wakeup_lost_events", "wakeup_lost_events", "count", METRIC_SRC_SCHED, false },
    { "runq_wait_ns", "runq_wait_ns", "ns", METRIC_SRC_SCHED, false },
};

/* The figures of decode_figs from the interval of c, keeping status and
 * reason; per-token ones divided by n_gen. */
static void decode_emit_ctr(const struct wlutil_ctr *c, struct workload_sink *out, int n_gen)
{
    for (size_t i = 0; i < sizeof decode_figs / sizeof decode_figs[0]; i++) {
        const struct decode_fig *f = &decode_figs[i];
        const struct metric *m = wlutil_ctr_find(c, f->ctr);
        if (!m) {
            char why[METRIC_REASON_MAX];
            snprintf(why, sizeof why, "%s", c->why[0] ? c->why : "the counter set has no such metric");
            workload_emit_unsupported(out, f->name, f->unit, f->src, why);
            continue;
        }
        if (out->n >= WORKLOAD_MAX_METRICS)
            return;
        struct metric *o = &out->m[out->n++];
        *o = *m;
        snprintf(o->name, sizeof o->name, "%s", f->name);
        if (f->per_token && o->status == METRIC_OK)
            o->value /= n_gen;
    }
    /* instructions per cycle, when the PMU counted both */
    const struct metric *cy = wlutil_ctr_find(c, "cycles"), *in = wlutil_ctr_find(c, "instructions");
    if (cy && in && cy->status == METRIC_OK && in->status == METRIC_OK && cy->value > 0) {
        workload_emit(out, "ipc", "instr/cycle", METRIC_SRC_DERIVED, in->value / cy->value);
    } else {
        char why[METRIC_REASON_MAX];
        const struct metric *bad = cy && cy->status != METRIC_OK ? cy : in && in->status != METRIC_OK ? in : NULL;
        snprintf(why, sizeof why, "hw: %.150s",
                 bad ? bad->reason : c->why[0] ? c->why : "no cycles counted");
        workload_emit_unsupported(out, "ipc", "instr/cycle", METRIC_SRC_DERIVED, why);
    }
}

/* The sim pass's figures (see the header comment), or unsupported with why. */
static void decode_emit_sim(const struct decode_state *s, struct workload_sink *out)
{
    static const char *const names[] = { "sim_instructions_per_token", "sim_d1_misses_per_token",
                                         "sim_ll_misses_per_token", "sim_isa_level", NULL };
    if (!s->have_sim) {
        for (int i = 0; names[i]; i++)
            workload_emit_unsupported(out, names[i], i == 3 ? "level" : "count", METRIC_SRC_SIM, s->sim_err);
        return;
    }
    const struct ctr_sim_result *r = &s->sim_res;
    double t = s->sim_tokens;
    workload_emit(out, names[0], "count", METRIC_SRC_SIM, (double)r->ir / t);
    workload_emit(out, names[1], "count", METRIC_SRC_SIM, (double)(r->d1mr + r->d1mw) / t);
    workload_emit(out, names[2], "count", METRIC_SRC_SIM, (double)(r->dlmr + r->dlmw) / t);
    if (isnan(s->sim_isa))
        workload_emit_unsupported(out, names[3], "level", METRIC_SRC_SIM,
                                  "the run under valgrind did not report kernel_isa_level");
    else
        workload_emit(out, names[3], "level", METRIC_SRC_SIM, s->sim_isa);
    workload_emit(out, "sim_tokens", "count", METRIC_SRC_SIM, t);
    workload_emit(out, "sim_d1_bytes", "bytes", METRIC_SRC_SIM, (double)r->d1.size_bytes);
    workload_emit(out, "sim_ll_bytes", "bytes", METRIC_SRC_SIM, (double)r->ll.size_bytes);
}

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
    struct wlutil_ctr ctr = { .n = -1 };
    double *lat = malloc((size_t)s->n_gen * sizeof *lat);
    int rc = -1;
    char e[256];
    if (!lat) {
        snprintf(err, err_len, "decode: out of memory");
        goto done;
    }
    int n_vocab = m->hp.n_vocab;
    if (wlutil_infer_warm(&c, m, &o, &s->s.file, err, err_len) != 0)
        goto done;
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
            hooks = (struct region_hooks){ .begin = coarse_begin, .end = coarse_end, .user = &coarse };
        } else {
            hooks = ctr_region_hooks(regions);
        }
    }
    bool under_sim = ctr_sim_running();
    if (!under_sim)
        wlutil_ctr_open(&ctr, CTR_HW | CTR_SW | CTR_SCHED, tids, nt, true);
    else /* the parent's figures are the sim ones; perf rings under valgrind would only slow it */
        snprintf(ctr.why, sizeof ctr.why, "not opened under valgrind (the sim pass)");

    if (!under_sim)
        wlutil_weights_ready(&s->s.file, out);
    wlutil_ctr_begin(&ctr);
    wlutil_sim_toggle_pool(infer_pool(c));
    double total = 0;
    for (int i = 0; i < s->n_gen; i++) {
        int32_t tok = wlutil_token(1 + s->pos + i, n_vocab);
        uint64_t t0 = clock_ns();
        int r = infer_eval(c, &tok, 1, NULL, e, sizeof e);
        uint64_t t1 = clock_ns();
        if (r != INFER_OK) {
            wlutil_sim_toggle_pool(infer_pool(c));
            wlutil_ctr_end(&ctr);
            snprintf(err, err_len, "decode step %d at position %d: %s", i, s->pos + i, e);
            goto done;
        }
        lat[i] = (double)(t1 - t0);
        total += lat[i];
    }
    wlutil_sim_toggle_pool(infer_pool(c));
    wlutil_ctr_end(&ctr);

    double tps = s->n_gen / (total * 1e-9);
    double bytes = (double)infer_decode_bytes(c);
    workload_emit(out, "tokens_per_s", "tok/s", METRIC_SRC_TIME, tps);
    wlutil_emit_latency(out, "token", lat, s->n_gen);
    workload_emit(out, "decode_bytes_per_token", "bytes", METRIC_SRC_DERIVED, bytes);
    wlutil_emit_huge_fraction(&s->s.file, out);
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
    decode_emit_ctr(&ctr, out, s->n_gen);
    if (s->sim)
        decode_emit_sim(s, out);

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
    wlutil_ctr_close(&ctr);
    infer_free(c);
    ctr_regions_free(regions);
    ctr_close(rset);
    free(lat);
    return rc;
}

/* The primary set: tokens/s and the median step; any simulated counts. The
 * STREAM peak is measured once per sweep: context, never a result. */
static const struct metric_decl decode_metrics[] = {
    /* where the weights were when the clock started (wlutil_weights_ready): context */
    { "weights_resident_fraction", METRIC_SEM(NEITHER, ENV, false) },
    { "weights_rewarmed", METRIC_SEM(NEITHER, INFO, false) },
    { "tokens_per_s", METRIC_SEM(HIGHER, SAMPLE, true) },
    { "token_p50_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "token_*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "eff_bw_gbps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "matmul_gflops", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "ipc", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "bw_fraction_of_peak", METRIC_SEM(NEITHER, SAMPLE, false) },
    { "peak_triad_gbps", METRIC_SEM(HIGHER, ENV, false) },
    { "weights_huge_fraction", METRIC_SEM(NEITHER, ENV, false) },
    { "decode_bytes_per_token", METRIC_SEM(NEITHER, INFO, false) },
    { "kv_bytes", METRIC_SEM(NEITHER, INFO, false) },
    { "kernel_isa_level", METRIC_SEM(NEITHER, INFO, false) },
    { "regions_per_token", METRIC_SEM(NEITHER, INFO, false) },
    { "matmul_ns_per_token", METRIC_SEM(LOWER, SAMPLE, false) },
    { "attn_ns_per_token", METRIC_SEM(LOWER, SAMPLE, false) },
    { "region_errors", METRIC_SEM(LOWER, SAMPLE, false) },
    { "sim_isa_level", METRIC_SEM(NEITHER, INFO, false) },
    { "sim_tokens", METRIC_SEM(NEITHER, INFO, false) },
    { "sim_d1_bytes", METRIC_SEM(NEITHER, INFO, false) },
    { "sim_ll_bytes", METRIC_SEM(NEITHER, INFO, false) },
    { "sim_*", METRIC_SEM(LOWER, COUNT, true) },
};

const struct workload workload_decode = {
    WORKLOAD_METRICS(decode_metrics),
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
