/* wl_engine suite: the engine workloads (decode, prefill, threads, alloc,
 * kvcache, contention, matmul, bandwidth, ctxswitch) at small sizes on the
 * tiny synthesized model, through their descriptors: every expected metric
 * present with its source, figures that could not be had carry a reason,
 * values in sane ranges and invariants of the computation (decode bytes
 * per token = infer_decode_bytes, a checksum independent of layout, matmul
 * results against a reference, faults per token of the mmap strategy).
 * Never asserts on speed. The --sim paths run only where valgrind can run
 * the binary (not under AddressSanitizer). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/infer.h"
#include "harness/counters/ctr.h"
#include "harness/machine/env.h"
#include "harness/run/runner.h"
#include "harness/run/session.h"
#include "modelgen/synth.h"
#include "tests/testutil.h"
#include "workloads/wlutil.h"
#include "workloads/contention_split.h"
#include "workloads/registry.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

static char model_path[512];
static char cache_dir[256];

/* Synthesized once per test case in the parent (unchecked fixture). */
static void make_model(void)
{
    snprintf(cache_dir, sizeof cache_dir, "%s", tu_tmpdir());
    snprintf(model_path, sizeof model_path, "%s/tiny-q8_0.gguf", cache_dir);
    struct synth_spec s;
    ck_assert_int_eq(synth_shape_find("tiny", &s), 0);
    s.ftype = synth_ftype_from_name("Q8_0", false);
    char err[256];
    /* ggperf children (the CLI test, the --sim re-runs) keep their caches here too */
    setenv("GGPERF_CACHE", cache_dir, 1);
    int rc = synth_write(&s, model_path, SYNTH_FORCE, NULL, NULL, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "wl_engine: synth_write %s: %s\n", model_path, err);
        abort();
    }
}

static void remove_model(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cache_dir);
    tu_run(cmd, NULL, 0, NULL, 0);
}

/* ---- running one configuration ------------------------------------------- */

struct one {
    struct workload_sink sink;
    double bytes, flops;   /* from work(), -1 when NULL */
    int rc;
    char err[512];
};

/* Run workload NAME once with "axis=value" settings (the rest: the first
 * default value of each axis), through runner_plan_init so the values are
 * checked as `ggperf run` checks them. */
static void run_one(struct one *o, const char *name, const char *const *settings)
{
    memset(o, 0, sizeof *o);
    const struct workload *wl = workload_find(name);
    ck_assert_msg(wl != NULL, "workload %s not registered", name);
    const char *lists[WORKLOAD_MAX_AXES] = { 0 };
    char firsts[WORKLOAD_MAX_AXES][64];
    for (int i = 0; i < wl->n_axes; i++) {
        snprintf(firsts[i], sizeof firsts[i], "%s", wl->axes[i].defaults);
        char *comma = strchr(firsts[i], ',');
        if (comma)
            *comma = '\0';
        lists[i] = firsts[i];
    }
    for (int k = 0; settings && settings[k]; k++) {
        const char *eq = strchr(settings[k], '=');
        ck_assert_ptr_nonnull(eq);
        char axis[64];
        snprintf(axis, sizeof axis, "%.*s", (int)(eq - settings[k]), settings[k]);
        int idx = workload_axis_index(wl, axis);
        ck_assert_msg(idx >= 0, "%s has no axis %s", name, axis);
        lists[idx] = eq + 1;
    }
    struct runner_plan p;
    char err[512];
    ck_assert_msg(runner_plan_init(&p, wl, lists, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(p.n_configs, 1);
    struct workload_config cfg;
    memset(&cfg, 0, sizeof cfg);
    runner_plan_config(&p, 0, &cfg);
    cfg.model_path = (wl->flags & WORKLOAD_NEEDS_MODEL) ? model_path : NULL;
    cfg.cache_dir = cache_dir;
    cfg.seed = 1;
    void *state = NULL;
    o->rc = wl->setup(&cfg, &state, o->err, sizeof o->err);
    ck_assert_msg(o->rc == 0, "%s setup: %s", name, o->err);
    o->rc = wl->run(state, &o->sink, o->err, sizeof o->err);
    o->bytes = o->flops = -1;
    if (wl->work)
        wl->work(state, &o->bytes, &o->flops);
    wl->teardown(state);
    runner_plan_free(&p);
    ck_assert_msg(o->rc == 0, "%s run: %s", name, o->err);
    /* every figure: a unit, a known source; not ok => a reason; names unique */
    for (int i = 0; i < o->sink.n; i++) {
        const struct metric *m = &o->sink.m[i];
        ck_assert_ptr_nonnull(m->unit);
        ck_assert_int_lt((int)m->source, METRIC_SRC_COUNT);
        if (m->status != METRIC_OK)
            ck_assert_msg(m->reason[0] != '\0', "%s: %s is %s without a reason", name, m->name,
                          metric_status_name(m->status));
        else
            ck_assert_msg(isfinite(m->value), "%s: %s is not finite", name, m->name);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(m->name, o->sink.m[j].name) != 0, "%s: %s emitted twice", name, m->name);
    }
    ck_assert_int_lt(o->sink.n, WORKLOAD_MAX_METRICS); /* nothing dropped */
}

static const struct metric *find(const struct one *o, const char *name)
{
    for (int i = 0; i < o->sink.n; i++)
        if (strcmp(o->sink.m[i].name, name) == 0)
            return &o->sink.m[i];
    return NULL;
}

/* The metric, which must be there with this source. */
static const struct metric *need(const struct one *o, const char *name, enum metric_source src)
{
    const struct metric *m = find(o, name);
    ck_assert_msg(m != NULL, "metric %s missing", name);
    ck_assert_msg(m->source == src, "%s: source %s, expected %s", name, metric_source_name(m->source),
                  metric_source_name(src));
    return m;
}

/* ... and measured. */
static double need_ok(const struct one *o, const char *name, enum metric_source src)
{
    const struct metric *m = need(o, name, src);
    ck_assert_msg(m->status == METRIC_OK, "%s: %s (%s)", name, metric_status_name(m->status), m->reason);
    return m->value;
}

/* PREFIX_p50/p95/p99/max_ns, ordered; positive unless may_be_zero. */
static void need_latency_z(const struct one *o, const char *prefix, bool may_be_zero)
{
    char n[4][64];
    static const char *const suf[] = { "p50_ns", "p95_ns", "p99_ns", "max_ns" };
    double v[4];
    for (int i = 0; i < 4; i++) {
        snprintf(n[i], sizeof n[i], "%s_%s", prefix, suf[i]);
        if (i == 1 || i == 2) {
            /* the tail percentiles only where the steps support them (wlutil.h):
             * the tests run a handful of steps, so they must say why not */
            const struct metric *m = need(o, n[i], METRIC_SRC_TIME);
            if (m->status != METRIC_OK) {
                ck_assert_msg(strstr(m->reason, "needs at least") != NULL, "%s: %s", n[i], m->reason);
                v[i] = v[i - 1];
                continue;
            }
        }
        v[i] = need_ok(o, n[i], METRIC_SRC_TIME);
    }
    ck_assert(may_be_zero ? v[0] >= 0 : v[0] > 0);
    ck_assert(v[0] <= v[1] && v[1] <= v[2] && v[2] <= v[3]);
}

static void need_latency(const struct one *o, const char *prefix)
{
    need_latency_z(o, prefix, false);
}

/* L1d: hw when the PMU counts it, else unsupported with a reason naming --sim. */
static void need_l1d_native(const struct one *o, const char *name)
{
    const struct metric *m = find(o, name);
    ck_assert_msg(m != NULL, "metric %s missing", name);
    char why[160];
    if (ctr_hw_pmu_present(why, sizeof why) && m->status == METRIC_OK) {
        ck_assert_int_eq(m->source, METRIC_SRC_HW);
        ck_assert(m->value >= 0);
    } else {
        ck_assert_int_eq(m->status, METRIC_UNSUPPORTED);
        ck_assert_msg(strstr(m->reason, "--sim on") != NULL, "reason: %s", m->reason);
    }
}

static uint64_t model_decode_bytes(int threads)
{
    struct session s;
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = model_path;
    so.infer.n_threads = threads;
    so.infer.n_ctx = 8;
    char err[256];
    ck_assert_msg(session_open(&s, &so, true, err, sizeof err) == 0, "%s", err);
    uint64_t b = infer_decode_bytes(s.ctx);
    session_close(&s);
    return b;
}

static const char *const sw_names[] = { "context_switches", "cpu_migrations", "minor_faults", NULL };
static const char *const sched_names[] = { "wakeup_latency_count", "wakeup_latency_p50_ns", "wakeup_latency_p95_ns",
                                           "wakeup_latency_p99_ns", "wakeup_latency_max_ns", "runq_wait_ns", NULL };

/* ---- decode -------------------------------------------------------------- */

START_TEST(test_decode_metrics)
{
    struct one o;
    run_one(&o, "decode",
            (const char *[]){ "threads=2", "n_gen=4", "pos=3", "peak_mib=1", "wait=futex", NULL });
    double tps = need_ok(&o, "tokens_per_s", METRIC_SRC_TIME);
    ck_assert(tps > 0);
    need_latency(&o, "token");
    double bytes = need_ok(&o, "decode_bytes_per_token", METRIC_SRC_DERIVED);
    ck_assert_double_eq(bytes, (double)model_decode_bytes(2));
    double bw = need_ok(&o, "eff_bw_gbps", METRIC_SRC_DERIVED);
    ck_assert_double_eq_tol(bw, bytes * tps * 1e-9, 1e-9 * bw + 1e-12);
    double peak = need_ok(&o, "peak_triad_gbps", METRIC_SRC_DERIVED);
    ck_assert(peak > 0);
    ck_assert_double_eq_tol(need_ok(&o, "bw_fraction_of_peak", METRIC_SRC_DERIVED), bw / peak, 1e-9);
    ck_assert(need_ok(&o, "matmul_gflops", METRIC_SRC_DERIVED) > 0);
    ck_assert(need_ok(&o, "kv_bytes", METRIC_SRC_DERIVED) > 0);
    for (int i = 0; sw_names[i]; i++) {
        const struct metric *m = need(&o, sw_names[i], METRIC_SRC_SW);
        ck_assert(m->status != METRIC_OK || m->value >= 0);
    }
    need(&o, "voluntary_switches", METRIC_SRC_SW);
    need(&o, "involuntary_switches", METRIC_SRC_SW);
    ck_assert_ptr_null(find(&o, "regions_per_token")); /* counters off: no hooks */
    ck_assert_double_eq(o.bytes, -1); /* work() is NULL: run() also prefills */
}
END_TEST

START_TEST(test_decode_counters_and_peak_off)
{
    struct one coarse;
    run_one(&coarse, "decode", (const char *[]){ "threads=2", "n_gen=2", "counters=sw-layer", "peak_mib=0", NULL });
    ck_assert_double_eq(need_ok(&coarse, "regions_per_token", METRIC_SRC_DERIVED), 3); /* decode + 2 layers */
    ck_assert_double_eq(need_ok(&coarse, "region_errors", METRIC_SRC_SW), 0);
    ck_assert_ptr_null(find(&coarse, "matmul_ns_per_token"));
    for (int mode = 1; mode <= 2; mode++) {
        struct one o;
        const char *c = mode == 1 ? "counters=regions" : "counters=sw";
        run_one(&o, "decode", (const char *[]){ "threads=1", "n_gen=3", c, "peak_mib=0", "kernels=ref", NULL });
        /* tiny: 2 layers x (layer + 4 matmul groups + attention) + decode + output matmul */
        ck_assert_double_eq(need_ok(&o, "regions_per_token", METRIC_SRC_DERIVED), 14);
        ck_assert_double_eq(need_ok(&o, "region_errors", METRIC_SRC_SW), 0);
        double mm = need_ok(&o, "matmul_ns_per_token", METRIC_SRC_TIME);
        double at = need_ok(&o, "attn_ns_per_token", METRIC_SRC_TIME);
        double p50 = need_ok(&o, "token_p50_ns", METRIC_SRC_TIME);
        ck_assert(mm > 0 && at > 0);
        ck_assert(p50 > 0);
        ck_assert(mm + at <= need_ok(&o, "token_max_ns", METRIC_SRC_TIME)); /* regions lie inside the steps */
        ck_assert_double_eq(need_ok(&o, "kernel_isa_level", METRIC_SRC_SW), 0); /* ref */
        const struct metric *pk = need(&o, "peak_triad_gbps", METRIC_SRC_DERIVED);
        ck_assert_int_eq(pk->status, METRIC_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(pk->reason, "peak_mib"));
        ck_assert_int_eq(need(&o, "bw_fraction_of_peak", METRIC_SRC_DERIVED)->status, METRIC_UNSUPPORTED);
    }
}
END_TEST

static const char *const decode_hw_names[] = { "cycles_per_token", "instructions_per_token",
                                               "l1d_load_misses_per_token", "llc_load_misses_per_token",
                                               "dtlb_load_misses_per_token", NULL };
static const char *const decode_sim_names[] = { "sim_instructions_per_token", "sim_d1_misses_per_token",
                                                "sim_ll_misses_per_token", "sim_isa_level", NULL };

/* Every source in one default repetition: hw (counted, or unsupported with
 * the reason: never a 0 cycles), sw, sched (or unsupported with the reason),
 * derived, time; no sim figures with sim off. */
START_TEST(test_decode_sources)
{
    struct one o;
    run_one(&o, "decode", (const char *[]){ "threads=2", "n_gen=3", "wait=futex", "peak_mib=0", NULL });
    ck_assert(need_ok(&o, "tokens_per_s", METRIC_SRC_TIME) > 0);
    ck_assert(need_ok(&o, "eff_bw_gbps", METRIC_SRC_DERIVED) > 0);
    ck_assert(need_ok(&o, "task_clock_ns", METRIC_SRC_SW) > 0);
    char why[160];
    bool pmu = ctr_hw_pmu_present(why, sizeof why);
    for (int i = 0; decode_hw_names[i]; i++) {
        const struct metric *m = need(&o, decode_hw_names[i], METRIC_SRC_HW);
        if (m->status == METRIC_OK) {
            ck_assert_msg(pmu, "%s counted without a PMU", m->name);
            ck_assert(m->value >= 0);
            if (i < 2) /* cycles, instructions: a decode step has millions */
                ck_assert_msg(m->value > 0, "%s is 0", m->name);
        } else {
            ck_assert_int_eq(m->status, METRIC_UNSUPPORTED);
            ck_assert(m->reason[0] != '\0');
            if (!pmu)
                ck_assert_msg(strstr(m->reason, "perf_event_open") != NULL, "%s: %s", m->name, m->reason);
        }
    }
    const struct metric *ipc = need(&o, "ipc", METRIC_SRC_DERIVED);
    ck_assert(ipc->status == METRIC_OK ? ipc->value > 0 : ipc->reason[0] != '\0');
    for (int i = 0; sched_names[i]; i++)
        need(&o, sched_names[i], METRIC_SRC_SCHED);
    need(&o, "wakeup_lost_events", METRIC_SRC_SCHED);
    const struct metric *cnt = need(&o, "wakeup_latency_count", METRIC_SRC_SCHED);
    if (cnt->status != METRIC_OK) {
        tu_skip("tracefs", "sched part: %s", cnt->reason);
    } else {
        /* futex policy, 2 threads: the worker sleeps at every barrier and is woken */
        ck_assert_msg(cnt->value > 0, "no wake-ups of the pool's worker");
        double p50 = need_ok(&o, "wakeup_latency_p50_ns", METRIC_SRC_SCHED);
        double p99 = need_ok(&o, "wakeup_latency_p99_ns", METRIC_SRC_SCHED);
        double mx = need_ok(&o, "wakeup_latency_max_ns", METRIC_SRC_SCHED);
        ck_assert(p50 > 0 && p50 <= p99 && p99 <= mx);
        ck_assert(need_ok(&o, "runq_wait_ns", METRIC_SRC_SCHED) >= 0);
    }
    for (int i = 0; decode_sim_names[i]; i++)
        ck_assert_ptr_null(find(&o, decode_sim_names[i]));

    /* sim on without valgrind: the figures are unsupported with the reason, the run is fine */
    setenv("GGPERF_VALGRIND", "/nonexistent/valgrind", 1);
    run_one(&o, "decode", (const char *[]){ "threads=1", "n_gen=2", "peak_mib=0", "sim=on", NULL });
    unsetenv("GGPERF_VALGRIND");
    ck_assert(need_ok(&o, "tokens_per_s", METRIC_SRC_TIME) > 0);
    for (int i = 0; decode_sim_names[i]; i++) {
        const struct metric *m = need(&o, decode_sim_names[i], METRIC_SRC_SIM);
        ck_assert_int_eq(m->status, METRIC_UNSUPPORTED);
        ck_assert_msg(strstr(m->reason, "sim") != NULL, "%s: %s", m->name, m->reason);
    }
}
END_TEST

/* sim on: counts from valgrind's simulation of the timed steps, the same in
 * two runs, the kernel path that ran there recorded. */
START_TEST(test_decode_sim)
{
#ifdef TEST_ASAN
    tu_skip("sanitizer", "ggperf is built with AddressSanitizer, which cannot run under valgrind");
    return;
#endif
    char why[160];
    if (ctr_sim_valgrind_version(why, sizeof why) != 0) {
        tu_skip("valgrind", "%s", why);
        return;
    }
    /* The child hashes the model unless the hash cache has it, and that changes its heap layout and
     * so a few simulated conflict misses: the same state for both children, as in a `ggperf run`
     * (which hashes the model before any setup). */
    uint64_t hash;
    bool cached;
    char e[256];
    ck_assert_msg(env_file_hash(model_path, cache_dir, &hash, &cached, e, sizeof e) == 0, "%s", e);
    /* n_gen 4 and 2: the sim pass decodes min(n_gen, 2) tokens, so both children run the same steps */
    struct one a, b;
    run_one(&a, "decode", (const char *[]){ "threads=1", "n_gen=4", "pos=1", "peak_mib=0", "sim=on", NULL });
    run_one(&b, "decode", (const char *[]){ "threads=1", "n_gen=2", "pos=1", "peak_mib=0", "sim=on", NULL });
    double ir = need_ok(&a, "sim_instructions_per_token", METRIC_SRC_SIM);
    double d1 = need_ok(&a, "sim_d1_misses_per_token", METRIC_SRC_SIM);
    double ll = need_ok(&a, "sim_ll_misses_per_token", METRIC_SRC_SIM);
    ck_assert(ir > 0 && d1 > 0 && ll >= 0 && ll <= d1);
    ck_assert_double_eq(need_ok(&a, "sim_tokens", METRIC_SRC_SIM), 2);
    /* a step reads every weight once: ~2 MB through a D1 of tens of KiB */
    double lines = (double)model_decode_bytes(1) / 64;
    ck_assert_msg(d1 >= 0.5 * lines, "%.0f simulated D1 misses per token, %.0f weight lines", d1, lines);
    ck_assert(need_ok(&a, "sim_d1_bytes", METRIC_SRC_SIM) > 0);
    ck_assert(need_ok(&a, "sim_ll_bytes", METRIC_SRC_SIM) >= need_ok(&a, "sim_d1_bytes", METRIC_SRC_SIM));
    /* deterministic: one thread, the same steps */
    ck_assert_double_eq(need_ok(&b, "sim_instructions_per_token", METRIC_SRC_SIM), ir);
    ck_assert_double_eq(need_ok(&b, "sim_d1_misses_per_token", METRIC_SRC_SIM), d1);
    ck_assert_double_eq(need_ok(&b, "sim_ll_misses_per_token", METRIC_SRC_SIM), ll);
    /* the path under valgrind: auto's fastest, capped at AVX2 (valgrind 3.19 hides AVX-512) */
    struct quant_kernels k;
    quant_kernels_init(&k, QISA_AVX512);
    double want = k.isa < QISA_AVX2 ? k.isa : QISA_AVX2;
    ck_assert_double_eq(need_ok(&a, "sim_isa_level", METRIC_SRC_SIM), want);
    /* the native run's figures are there as without sim */
    ck_assert(need_ok(&a, "tokens_per_s", METRIC_SRC_TIME) > 0);
    need(&a, "cycles_per_token", METRIC_SRC_HW);
    need(&a, "wakeup_latency_count", METRIC_SRC_SCHED);
}
END_TEST

START_TEST(test_sim_rerun_bad_override)
{
    const struct workload *wl = workload_find("decode");
    ck_assert_ptr_nonnull(wl);
    struct workload_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.model_path = model_path;
    cfg.n_axes = wl->n_axes;
    for (int i = 0; i < wl->n_axes; i++)
        cfg.text[i] = "0";
    const char *const ov[] = { "n_gen=2", "no_such_axis=1", NULL };
    struct wlutil_sim_req req = { .sim_axis = "sim", .overrides = ov };
    struct ctr_sim_result res;
    char err[256] = "";
    ck_assert_int_eq(wlutil_sim_rerun_req(wl, &cfg, &req, &res, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no_such_axis") != NULL, "%s", err);
}
END_TEST

/* ---- prefill ------------------------------------------------------------- */

START_TEST(test_prefill_metrics)
{
    struct one o;
    run_one(&o, "prefill", (const char *[]){ "threads=2", "prompt=9", "batch=4", NULL });
    double ns = need_ok(&o, "prefill_ns", METRIC_SRC_TIME);
    ck_assert(ns > 0);
    ck_assert(need_ok(&o, "ttft_ns", METRIC_SRC_TIME) >= ns);
    ck_assert_double_eq_tol(need_ok(&o, "prefill_tokens_per_s", METRIC_SRC_TIME), 9 / (ns * 1e-9), 1e-6 * 9 / (ns * 1e-9));
    ck_assert_double_eq_tol(need_ok(&o, "ns_per_prompt_token", METRIC_SRC_TIME), ns / 9, 1e-6 * ns);
    ck_assert_double_eq(need_ok(&o, "passes", METRIC_SRC_DERIVED), 3); /* 4 + 4 + 1 */
    ck_assert(need_ok(&o, "matmul_gflops", METRIC_SRC_DERIVED) > 0);
    for (int i = 0; sw_names[i]; i++)
        need(&o, sw_names[i], METRIC_SRC_SW);
}
END_TEST

/* ---- threads ------------------------------------------------------------- */

START_TEST(test_threads_metrics)
{
    struct one o;
    run_one(&o, "threads", (const char *[]){ "threads=2", "pin=on", "wait=futex", "n_gen=3", NULL });
    ck_assert(need_ok(&o, "tokens_per_s", METRIC_SRC_TIME) > 0);
    need_latency(&o, "token");
    for (int i = 0; sched_names[i]; i++)
        need(&o, sched_names[i], METRIC_SRC_SCHED); /* ok, not counted or unsupported: reasons checked */
    const struct metric *cnt = need(&o, "wakeup_latency_count", METRIC_SRC_SCHED);
    if (cnt->status == METRIC_OK)
        ck_assert(cnt->value >= 0);
    need(&o, "context_switches", METRIC_SRC_SW);
    need(&o, "cpu_migrations", METRIC_SRC_SW);
    need(&o, "voluntary_switches", METRIC_SRC_SW);
    need(&o, "involuntary_switches", METRIC_SRC_SW);
    ck_assert(need_ok(&o, "barriers_per_token", METRIC_SRC_SW) > 10);
    ck_assert_double_eq(need_ok(&o, "spin_loops", METRIC_SRC_SW), 0); /* futex: never spins */
    ck_assert(need_ok(&o, "futex_waits", METRIC_SRC_SW) > 0);
    need_ok(&o, "oversubscribed", METRIC_SRC_SW);

    /* where the weights were: resident before the clock, and their share on huge pages (a mapping here) */
    ck_assert(need_ok(&o, "weights_resident_fraction", METRIC_SRC_SW) >= 0.99);
    double huge = need_ok(&o, "weights_huge_fraction", METRIC_SRC_SW);
    ck_assert(huge >= 0 && huge <= 1);

    run_one(&o, "threads", (const char *[]){ "threads=2", "pin=off", "wait=spin", "n_gen=2", "weights=read", NULL });
    ck_assert_double_eq(need_ok(&o, "futex_waits", METRIC_SRC_SW), 0); /* spin: never sleeps on the futex */
    ck_assert_double_eq(need_ok(&o, "futex_wakes", METRIC_SRC_SW), 0);
    /* a heap copy: filebuf READ never advises huge pages, so unless THP is
     * "always" here it sits in 4 KiB pages */
    huge = need_ok(&o, "weights_huge_fraction", METRIC_SRC_SW);
    char thp[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(thp, sizeof thp, f))
            thp[0] = 0;
        fclose(f);
    }
    if (strstr(thp, "[always]"))
        ck_assert(huge >= 0 && huge <= 1);
    else
        ck_assert_double_eq(huge, 0);
}
END_TEST

/* ---- alloc --------------------------------------------------------------- */

START_TEST(test_alloc_strategies)
{
    struct session s;
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = model_path;
    char err[256];
    ck_assert_msg(session_open(&s, &so, false, err, sizeof err) == 0, "%s", err);
    struct infer_opts io;
    infer_opts_default(&io);
    io.n_threads = 1;
    io.n_ctx = 4;
    double scratch = (double)infer_scratch_bytes(&s.m.hp, &io);
    session_close(&s);
    double pages = ceil(scratch / 4096);

    double faults[3], alloc_ns[3];
    static const char *const strat[] = { "strategy=heap", "strategy=arena", "strategy=mmap" };
    for (int k = 0; k < 3; k++) {
        struct one o;
        run_one(&o, "alloc", (const char *[]){ strat[k], "n_gen=4", "threads=1", NULL });
        ck_assert_double_eq(need_ok(&o, "scratch_bytes", METRIC_SRC_DERIVED), scratch);
        need_latency(&o, "token");
        if (k == 1) {
            /* arena: no allocator call per token, so no per-token latency: said so, not a 0 */
            static const char *const pct[] = { "alloc_p50_ns", "alloc_p95_ns", "alloc_p99_ns", "alloc_max_ns" };
            for (int q = 0; q < 4; q++) {
                const struct metric *m = need(&o, pct[q], METRIC_SRC_TIME);
                ck_assert_int_eq(m->status, METRIC_UNSUPPORTED);
                ck_assert_msg(strstr(m->reason, "not applicable") != NULL, "%s: %s", m->name, m->reason);
            }
        } else {
            need_latency(&o, "alloc");
        }
        ck_assert(need_ok(&o, "tokens_per_s", METRIC_SRC_TIME) > 0);
        alloc_ns[k] = need_ok(&o, "alloc_ns_per_token", METRIC_SRC_TIME);
        ck_assert(need_ok(&o, "touch_ns_per_token", METRIC_SRC_TIME) > 0);
        faults[k] = need_ok(&o, "minor_faults_per_token", METRIC_SRC_SW);
        ck_assert(need_ok(&o, "rss_anon_bytes", METRIC_SRC_SW) > 0);
        need_ok(&o, "rss_anon_delta_bytes", METRIC_SRC_SW);
    }
    /* every strategy's allocator time is measured, the arena's one malloc before the loop included */
    ck_assert(alloc_ns[0] > 0 && alloc_ns[1] > 0 && alloc_ns[2] > 0);
    ck_assert_msg(faults[2] >= 0.9 * pages, "mmap: %.1f faults per token, %.0f pages", faults[2], pages);
    ck_assert_msg(faults[1] < faults[2] / 2, "arena %.1f vs mmap %.1f faults per token", faults[1], faults[2]);
}
END_TEST

/* ---- kvcache ------------------------------------------------------------- */

START_TEST(test_kvcache_rows)
{
    const struct synth_shape *sh = NULL;
    for (size_t i = 0; (sh = synth_shape_at(i)) != NULL; i++)
        if (strcmp(sh->name, "tiny") == 0)
            break;
    ck_assert_ptr_nonnull(sh);
    int64_t kvd = sh->n_embd / sh->n_head * sh->n_head_kv;
    static const char *const pads[] = { "pad=0", "pad=1", "pad=8" };
    static const int padn[] = { 0, 1, 8 };
    for (int k = 0; k < 3; k++) {
        struct one o;
        run_one(&o, "kvcache", (const char *[]){ pads[k], "pos=5", "steps=3", "kv=f32", NULL });
        need_latency(&o, "step");
        double step = need_ok(&o, "ns_per_step", METRIC_SRC_TIME);
        double attn = need_ok(&o, "attn_ns_per_step", METRIC_SRC_TIME);
        ck_assert(attn > 0 && attn <= step);
        ck_assert_double_eq(need_ok(&o, "kv_row_bytes", METRIC_SRC_DERIVED), (double)(kvd + padn[k]) * 4);
        ck_assert_double_eq(need_ok(&o, "kv_bytes", METRIC_SRC_DERIVED),
                            2.0 * sh->n_layer * (5 + 3) * (double)(kvd + padn[k]) * 4);
        need_ok(&o, "attn_kv_gbps", METRIC_SRC_DERIVED);
        need_l1d_native(&o, "l1d_misses_per_step");
    }
}
END_TEST

START_TEST(test_kvcache_sim)
{
#ifdef TEST_ASAN
    tu_skip("sanitizer", "ggperf is built with AddressSanitizer, which cannot run under valgrind");
    return;
#endif
    char why[160];
    if (ctr_sim_valgrind_version(why, sizeof why) != 0) {
        tu_skip("valgrind", "%s", why);
        return;
    }
    if (ctr_hw_pmu_present(why, sizeof why)) {
        tu_skip("pmu-present", "a PMU is present: the hw count is used instead of the simulation");
        return;
    }
    struct one o;
    run_one(&o, "kvcache", (const char *[]){ "pad=1", "pos=4", "steps=2", "threads=2", "sim=on", NULL });
    const struct metric *m = need(&o, "l1d_misses_per_step", METRIC_SRC_SIM);
    ck_assert_msg(m->status == METRIC_OK, "%s", m->reason);
    /* a step reads every weight once: the tiny model's ~2 MB cannot stay in a 48 KiB D1 */
    double lines = (double)model_decode_bytes(2) / 64;
    ck_assert_msg(m->value >= 0.5 * lines, "%.0f simulated D1 read misses per step, %.0f weight lines", m->value,
                  lines);
    ck_assert(need_ok(&o, "sim_instructions", METRIC_SRC_SIM) > 0);
}
END_TEST

/* ---- contention ---------------------------------------------------------- */

START_TEST(test_contention_layouts)
{
    /* per op, 2 threads: every (align, layout) pair computes the same
     * outputs; blocked and interleaved put them in the same places (equal
     * checksums), padded elsewhere (the same sum in another order) */
    static const char *const ops[] = { "op=dot", "op=to_float" };
    static const char *const aligns[] = { "align=0", "align=18" };
    static const char *const layouts[] = { "layout=blocked", "layout=interleaved", "layout=padded" };
    for (int op = 0; op < 2; op++) {
        double sum0 = 0;
        for (int a = 0; a < 2; a++)
            for (int l = 0; l < 3; l++) {
                struct one o;
                run_one(&o, "contention",
                        (const char *[]){ "type=q4_0", ops[op], aligns[a], layouts[l], "threads=2", NULL });
                double t = need_ok(&o, "ns_per_1024_rows", METRIC_SRC_TIME);
                double tmin = need_ok(&o, "ns_per_1024_rows_min", METRIC_SRC_TIME);
                ck_assert(t > 0 && tmin > 0 && tmin <= t);
                ck_assert(need_ok(&o, "cpu_ns_per_1024_rows", METRIC_SRC_TIME) > 0);
                double share = need_ok(&o, "dispatch_share", METRIC_SRC_TIME);
                ck_assert(share >= 0 && share < 1);
                double on = need_ok(&o, "on_cpu_fraction", METRIC_SRC_TIME);
                ck_assert(on > 0 && on < 1.5);
                double und = need_ok(&o, "undisturbed_passes", METRIC_SRC_TIME);
                double passes = need_ok(&o, "passes", METRIC_SRC_TIME);
                /* 32 planned; more only while fewer than 16 were undisturbed */
                ck_assert(passes >= 32 && passes <= CONTENTION_MAX_PASSES);
                ck_assert(und >= 0 && und <= passes);
                ck_assert(passes == 32 || und <= 16);
                const struct metric *u = need(&o, "ns_per_1024_rows_undisturbed", METRIC_SRC_TIME);
                ck_assert(und > 0 ? u->status == METRIC_OK && u->value > 0 : u->status == METRIC_NOT_COUNTED);
                ck_assert(need_ok(&o, "weight_gbps", METRIC_SRC_DERIVED) > 0);
                ck_assert_double_eq(need_ok(&o, "weight_misalign_bytes", METRIC_SRC_DERIVED), a ? 18 : 0);
                /* the derived count: interleaved shares every output line, the others none */
                double shared = need_ok(&o, "shared_lines_per_op", METRIC_SRC_DERIVED);
                ck_assert_double_eq(shared, l == 1 ? (op == 0 ? 64 : 256 * 64) : 0);
                ck_assert_double_eq(need_ok(&o, "shared_line_fraction", METRIC_SRC_DERIVED), l == 1 ? 1 : 0);
                double sum = need_ok(&o, "result_checksum", METRIC_SRC_DERIVED);
                if (a == 0 && l == 0)
                    sum0 = sum;
                if (l < 2)
                    ck_assert_msg(sum == sum0, "checksum %.9g vs %.9g", sum, sum0);
                else
                    ck_assert_double_eq_tol(sum, sum0, 1e-6 * (fabs(sum0) + 1));
                need_l1d_native(&o, "l1d_misses_per_1024_rows");
                const struct metric *coh = need(&o, "coherence_loads_per_1024_rows", METRIC_SRC_HW);
                char why[160];
                if (!ctr_hw_pmu_present(why, sizeof why))
                    ck_assert(coh->status == METRIC_UNSUPPORTED && coh->reason[0]);
                /* work: the passes x sweeps over 1024 rows of 256 Q4_0 values (144 bytes) */
                double sweeps = need_ok(&o, "sweeps_per_pass", METRIC_SRC_DERIVED);
                ck_assert(sweeps >= 1 && sweeps <= 4096);
                ck_assert_double_eq(o.bytes, passes * sweeps * 1024 * 144);
                ck_assert_double_eq(o.flops, op == 0 ? 2.0 * passes * sweeps * 1024 * 256 : 0);
            }
    }
    /* one thread computes the same outputs as two */
    struct one a, b;
    run_one(&a, "contention", (const char *[]){ "type=q8_0", "op=dot", "threads=1", "layout=interleaved", NULL });
    run_one(&b, "contention", (const char *[]){ "type=q8_0", "op=dot", "threads=2", "layout=interleaved", NULL });
    double x = need_ok(&a, "result_checksum", METRIC_SRC_DERIVED), y = need_ok(&b, "result_checksum", METRIC_SRC_DERIVED);
    ck_assert_double_eq_tol(x, y, 1e-6 * (fabs(x) + 1));
}
END_TEST

START_TEST(test_contention_calib)
{
    for (int l = 0; l < 2; l++) {
        struct one o;
        run_one(&o, "contention_calib",
                (const char *[]){ "threads=2", l ? "layout=padded" : "layout=packed", "store=atomic", NULL });
        ck_assert(need_ok(&o, "ns_per_increment", METRIC_SRC_TIME) > 0);
        ck_assert(need_ok(&o, "cpu_ns_per_increment", METRIC_SRC_TIME) > 0);
        /* every increment of both threads landed */
        ck_assert_double_eq(need_ok(&o, "counter_check", METRIC_SRC_DERIVED), 1);
    }
    struct one o;
    run_one(&o, "contention_calib", (const char *[]){ "threads=3", "layout=packed", "store=plain", NULL });
    ck_assert_double_eq(need_ok(&o, "counter_check", METRIC_SRC_DERIVED), 1);
}
END_TEST

START_TEST(test_contention_sim)
{
#ifdef TEST_ASAN
    tu_skip("sanitizer", "ggperf is built with AddressSanitizer, which cannot run under valgrind");
    return;
#endif
    char why[160];
    if (ctr_sim_valgrind_version(why, sizeof why) != 0) {
        tu_skip("valgrind", "%s", why);
        return;
    }
    if (ctr_hw_pmu_present(why, sizeof why)) {
        tu_skip("pmu-present", "a PMU is present: the hw count is used instead of the simulation");
        return;
    }
    struct one o;
    run_one(&o, "contention",
            (const char *[]){ "type=q4_0", "op=dot", "align=1", "threads=2", "layout=interleaved", "sim=on", NULL });
    const struct metric *m = need(&o, "l1d_misses_per_1024_rows", METRIC_SRC_SIM);
    ck_assert_msg(m->status == METRIC_OK, "%s", m->reason);
    /* 1024 rows x 144 bytes (in 192-byte strides) = 192 KiB of weights streamed through a 48 KiB
     * D1 every sweep, on both threads (each brackets its own rows): at least one miss per weight line */
    double lines = 1024.0 * 144 / 64;
    ck_assert_msg(m->value >= 0.95 * lines && m->value <= 3 * lines, "%.0f misses per 1024 rows, %.0f lines",
                  m->value, lines);
}
END_TEST

/* ---- matmul -------------------------------------------------------------- */

START_TEST(test_matmul_agrees)
{
    static const char *const f32_impls[] = { "impl=naive", "impl=blocked", "impl=blas", "impl=engine-f32" };
    static const char *const ns[] = { "n=1", "n=5" };
    for (int k = 0; k < 2; k++) {
        double mean0 = 0;
        for (int i = 0; i < 4; i++) {
            struct one o;
            run_one(&o, "matmul", (const char *[]){ f32_impls[i], "shape=256", ns[k], "threads=2", NULL });
            double err = need_ok(&o, "check_rel_err", METRIC_SRC_DERIVED);
            ck_assert_msg(err < 1e-3, "%s %s: relative error %g", f32_impls[i], ns[k], err);
            double mean = need_ok(&o, "out_abs_mean", METRIC_SRC_DERIVED);
            ck_assert(mean > 0);
            if (i == 0)
                mean0 = mean;
            ck_assert_msg(fabs(mean - mean0) <= 1e-3 * mean0, "%s: mean |out| %g vs naive %g", f32_impls[i], mean,
                          mean0);
            double ns_mm = need_ok(&o, "ns_per_matmul", METRIC_SRC_TIME);
            double gf = need_ok(&o, "gflops", METRIC_SRC_DERIVED);
            int n = k ? 5 : 1;
            ck_assert_double_eq_tol(gf, 2.0 * 256 * 256 * n / ns_mm, 1e-9 * gf);
            ck_assert_double_eq(need_ok(&o, "weight_bytes", METRIC_SRC_DERIVED), 256.0 * 256 * 4);
            ck_assert_double_eq_tol(need_ok(&o, "bytes_per_flop", METRIC_SRC_DERIVED),
                                    (256.0 * 256 * 4 + 2.0 * n * 256 * 4) / (2.0 * 256 * 256 * n), 1e-12);
            ck_assert(need_ok(&o, "gbps", METRIC_SRC_DERIVED) > 0);
            ck_assert(need_ok(&o, "iters", METRIC_SRC_DERIVED) >= 1);
        }
    }
    /* quantized kernels: within their quantization error, at a real shape */
    struct one o;
    run_one(&o, "matmul", (const char *[]){ "impl=engine-q8_0", "shape=2048x2048", "n=3", NULL });
    ck_assert_msg(need_ok(&o, "check_rel_err", METRIC_SRC_DERIVED) < 5e-2, "q8_0 error too large");
    ck_assert_double_eq(need_ok(&o, "weight_bytes", METRIC_SRC_DERIVED), 2048.0 * 2048 / 32 * 34);
    run_one(&o, "matmul", (const char *[]){ "impl=engine-q4_k", "shape=512", "n=2", NULL });
    ck_assert_msg(need_ok(&o, "check_rel_err", METRIC_SRC_DERIVED) < 5e-2, "q4_k error too large");
}
END_TEST

/* ---- bandwidth and ctxswitch -------------------------------------------- */

START_TEST(test_probe_workloads)
{
    struct one o;
    run_one(&o, "bandwidth", (const char *[]){ "threads=2", "mib=1", NULL });
    ck_assert(need_ok(&o, "copy_gbps", METRIC_SRC_DERIVED) > 0);
    ck_assert(need_ok(&o, "triad_gbps", METRIC_SRC_DERIVED) > 0);
    ck_assert_double_eq(need_ok(&o, "array_bytes", METRIC_SRC_DERIVED), 1 << 20);

    static const char *const kinds[] = { "kind=futex", "kind=pipe" };
    for (int k = 0; k < 2; k++) {
        run_one(&o, "ctxswitch", (const char *[]){ kinds[k], "pin=on", "rounds=300", NULL });
        double sw = need_ok(&o, "switch_ns", METRIC_SRC_TIME);
        ck_assert(sw > 0);
        ck_assert_double_eq_tol(need_ok(&o, "round_trip_ns", METRIC_SRC_TIME), 2 * sw, 1e-9 * sw);
        const struct metric *cs = need(&o, "context_switches", METRIC_SRC_SW);
        need(&o, "voluntary_switches", METRIC_SRC_SW);
        need(&o, "cpu_migrations", METRIC_SRC_SW);
        const struct metric *per = need(&o, "switches_per_round_trip", METRIC_SRC_DERIVED);
        if (cs->status == METRIC_OK) {
            /* both threads on one CPU: each hand-over is a switch */
            ck_assert_msg(per->value >= 1.9, "%.2f switches per round trip", per->value);
        } else {
            ck_assert_int_ne(per->status, METRIC_OK);
        }
    }
}
END_TEST

/* ---- registry, CLI and studies ------------------------------------------- */

START_TEST(test_registered_and_defaults_plan)
{
    static const char *const names[] = { "decode", "prefill", "threads", "alloc", "kvcache", "contention",
                                         "contention_calib", "matmul", "bandwidth", "ctxswitch", NULL };
    for (int i = 0; names[i]; i++) {
        const struct workload *wl = workload_find(names[i]);
        ck_assert_msg(wl != NULL, "%s", names[i]);
        ck_assert(wl->n_axes <= WORKLOAD_MAX_AXES && wl->description && wl->setup && wl->run && wl->teardown);
        struct runner_plan p;
        char err[256];
        ck_assert_msg(runner_plan_init(&p, wl, NULL, err, sizeof err) == 0, "%s: %s", names[i], err);
        ck_assert_int_ge(p.n_configs, 1);
        runner_plan_free(&p);
    }
    /* a bad value names the axis */
    struct runner_plan p;
    char err[256];
    const char *lists[WORKLOAD_MAX_AXES] = { "fancy" };
    ck_assert_int_eq(runner_plan_init(&p, workload_find("matmul"), lists, err, sizeof err), RUNNER_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "impl"));
}
END_TEST

START_TEST(test_cli_run_and_study_list)
{
    char cmd[2048], out[65536], errb[4096];
    const char *dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd,
             "%s run decode -m %s --threads 1 --n_gen 2 --peak_mib 1 --counters sw -r 1 --warmup 0 --stream %s/d.jsonl "
             "-o csv",
             tu_ggperf_bin(), model_path, dir);
    int rc = tu_run(cmd, out, sizeof out, errb, sizeof errb);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, errb);
    ck_assert_ptr_nonnull(strstr(out, "tokens_per_s"));
    ck_assert_ptr_nonnull(strstr(out, "regions_per_token"));
    snprintf(cmd, sizeof cmd, "%s study list", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    static const char *const studies[] = { "decode —", "threads —", "alloc —", "kvcache —", "contention —",
                                           "matmul —", NULL };
    for (int i = 0; studies[i]; i++)
        ck_assert_msg(strstr(out, studies[i]) != NULL, "study %s missing", studies[i]);
    snprintf(cmd, sizeof cmd, "%s run contention --help", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "--layout"));
    snprintf(cmd, sizeof cmd, "%s run kvcache --pad x", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, errb, sizeof errb), 2);
    ck_assert_ptr_nonnull(strstr(errb, "pad"));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_run(cmd, NULL, 0, NULL, 0);
}
END_TEST

Suite *wl_engine_suite(void)
{
    Suite *s = suite_create("wl_engine");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, make_model, remove_model);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_registered_and_defaults_plan);
    tcase_add_test(tc, test_decode_metrics);
    tcase_add_test(tc, test_decode_counters_and_peak_off);
    tcase_add_test(tc, test_decode_sources);
    tcase_add_test(tc, test_decode_sim);
    tcase_add_test(tc, test_sim_rerun_bad_override);
    tcase_add_test(tc, test_prefill_metrics);
    tcase_add_test(tc, test_threads_metrics);
    tcase_add_test(tc, test_alloc_strategies);
    tcase_add_test(tc, test_kvcache_rows);
    tcase_add_test(tc, test_kvcache_sim);
    tcase_add_test(tc, test_contention_layouts);
    tcase_add_test(tc, test_contention_calib);
    tcase_add_test(tc, test_contention_sim);
    tcase_add_test(tc, test_matmul_agrees);
    tcase_add_test(tc, test_probe_workloads);
    tcase_add_test(tc, test_cli_run_and_study_list);
    suite_add_tcase(s, tc);
    return s;
}
