/* contention suite: the shared-lines count of the contention workload
 * against hand counts, the engine's exposed matmul split, the pass
 * bookkeeping that separates undisturbed passes, the libpfm4 encodings of
 * the coherence events for every PMU in the table (forced with
 * LIBPFM_FORCE_PMU, so they are checked on machines without those PMUs),
 * the new statistics (Hodges-Lehmann, detectable shift, normal quantile)
 * against published values, and the study's report on made-up results
 * whose verdicts are known. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/infer.h"
#include "harness/counters/ctr.h"
#include "reports/contention_report.h"
#include "results/results.h"
#include "results/stats.h"
#include "tests/testutil.h"
#include "workloads/contention_split.h"

/* ---- the split and the shared-lines count --------------------------------- */

START_TEST(test_matmul_rows)
{
    int64_t b, e, step;
    /* blocked: pool_split in groups of 16 rows: 40 rows = grains of 16, 16, 8 */
    infer_matmul_rows(40, 0, 3, false, &b, &e, &step);
    ck_assert(b == 0 && e == 16 && step == 1);
    infer_matmul_rows(40, 1, 3, false, &b, &e, &step);
    ck_assert(b == 16 && e == 32 && step == 1);
    infer_matmul_rows(40, 2, 3, false, &b, &e, &step);
    ck_assert(b == 32 && e == 40 && step == 1);
    /* interleaved: rows ith, ith + nth, ... */
    infer_matmul_rows(40, 2, 3, true, &b, &e, &step);
    ck_assert(b == 2 && e == 40 && step == 3);
    /* more threads than rows: the extra ones get nothing */
    infer_matmul_rows(2, 3, 4, true, &b, &e, &step);
    ck_assert(b >= e);
    infer_matmul_rows(40, 3, 3, true, &b, &e, &step);
    ck_assert(b == e);
}
END_TEST

START_TEST(test_shared_lines_hand_count)
{
    struct contention_split s;
    int64_t w;
    /* blocked, 40 rows on 3 threads: rows 0-15, 16-31, 32-39, each group a
     * whole line of output floats from an aligned start: nothing shared */
    contention_split_init(&s, 40, 3, CONTENTION_BLOCKED);
    ck_assert_int_eq(s.stretch, 16);
    ck_assert_int_eq(s.ld, 64);   /* 3 x 16 + a spare line */
    ck_assert_int_eq(contention_split_shared_lines(&s, 1, 0, &w), 0);
    ck_assert_int_eq(w, 3);
    /* the same output starting 8 bytes into a line: bytes 8-71 (t0), 72-135
     * (t1), 136-167 (t2): lines 1 (t0, t1) and 2 (t1, t2) are shared */
    ck_assert_int_eq(contention_split_shared_lines(&s, 1, 8, &w), 2);
    ck_assert_int_eq(w, 3);
    /* interleaved: every line holds rows of all three threads; with 2
     * columns, column 1 starts at float 64 (line 4): lines 4, 5, 6 too */
    contention_split_init(&s, 40, 3, CONTENTION_INTERLEAVED);
    ck_assert_int_eq(contention_split_shared_lines(&s, 1, 0, &w), 3);
    ck_assert_int_eq(w, 3);
    ck_assert_int_eq(contention_split_shared_lines(&s, 2, 0, &w), 6);
    ck_assert_int_eq(w, 6);
    /* padded: thread t's k-th row at t * 16 + k (14, 13, 13 rows): a line each */
    contention_split_init(&s, 40, 3, CONTENTION_PADDED);
    ck_assert_int_eq(contention_split_pos(&s, 1, 4, 1), 17);
    ck_assert_int_eq(contention_split_shared_lines(&s, 1, 0, &w), 0);
    ck_assert_int_eq(w, 3);
    /* the study's shapes: 1024 rows, 2 threads, 256 columns */
    contention_split_init(&s, 1024, 2, CONTENTION_INTERLEAVED);
    ck_assert_int_eq(contention_split_shared_lines(&s, 256, 0, &w), 256 * 64);
    ck_assert_int_eq(w, 256 * 64);   /* the spare line of each column is never written */
    ck_assert_int_eq(contention_split_shared_lines(&s, 1, 0, &w), 64);
    contention_split_init(&s, 1024, 2, CONTENTION_BLOCKED);
    ck_assert_int_eq(contention_split_shared_lines(&s, 256, 0, &w), 0);
    ck_assert_int_eq(w, 256 * 64);
    /* one thread never shares */
    contention_split_init(&s, 1024, 1, CONTENTION_INTERLEAVED);
    ck_assert_int_eq(contention_split_shared_lines(&s, 256, 4, &w), 0);
}
END_TEST

START_TEST(test_split_covers_every_row_once)
{
    for (int layout = 0; layout < 3; layout++)
        for (int nth = 1; nth <= 5; nth++) {
            struct contention_split s;
            contention_split_init(&s, 100, nth, (enum contention_layout)layout);
            int seen_row[100] = { 0 };
            int seen_pos[1024] = { 0 };
            for (int t = 0; t < nth; t++) {
                int64_t b, e, step, k = 0;
                contention_split_rows(&s, t, &b, &e, &step);
                int64_t wpos, dpos;
                contention_split_walk(&s, t, b, step, &wpos, &dpos);
                for (int64_t r = b; r < e; r += step, k++, wpos += dpos) {
                    seen_row[r]++;
                    int64_t pos = contention_split_pos(&s, t, r, k);
                    ck_assert_int_eq(wpos, pos);   /* the workload's walk is the same map */
                    ck_assert(pos >= 0 && pos < s.ld);
                    seen_pos[pos]++;
                }
            }
            for (int r = 0; r < 100; r++)
                ck_assert_msg(seen_row[r] == 1, "layout %d, %d threads: row %d done %d times", layout, nth, r,
                              seen_row[r]);
            for (int p = 0; p < 1024; p++)
                ck_assert(seen_pos[p] <= 1);
        }
}
END_TEST

/* ---- passes -------------------------------------------------------------- */

static const struct metric *find(const struct workload_sink *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->m[i].name, name) == 0)
            return &s->m[i];
    return NULL;
}

/* A repetition whose passes were disturbed runs more, up to the cap; one
 * with enough undisturbed passes stops at the planned count. */
START_TEST(test_passes_more)
{
    uint64_t start[16] = { 0 }, work[16] = { 0 }, cpu[16] = { 0 };
    start[0] = start[8] = 1000;
    work[0] = work[8] = 1000;
    struct contention_passes p = { .cpus = 2 };
    cpu[0] = cpu[8] = 1000;   /* side by side */
    for (int i = 0; i < 4; i++) {
        ck_assert(contention_passes_more(&p, 4));
        contention_passes_add(&p, 1000, start, work, cpu, 2);
    }
    ck_assert(!contention_passes_more(&p, 4));
    struct contention_passes q = { .cpus = 2 };
    cpu[8] = 300;             /* the worker waited for a CPU: disturbed */
    int n = 0;
    while (contention_passes_more(&q, 4) && n < 1000) {
        /* from pass 6 on, the host gives the vCPU back */
        cpu[8] = q.n >= 6 ? 1000 : 300;
        contention_passes_add(&q, 1000, start, work, cpu, 2);
        n++;
    }
    ck_assert_int_eq(q.n, 8);   /* 4 planned + 4 more until 2 (= 4 / 2) were undisturbed */
    struct contention_passes r = { .cpus = 2 };
    cpu[8] = 300;             /* never undisturbed: stops at the cap */
    n = 0;
    while (contention_passes_more(&r, 4) && n < 1000) {
        contention_passes_add(&r, 1000, start, work, cpu, 2);
        n++;
    }
    ck_assert_int_eq(r.n, CONTENTION_MAX_PASSES);
}
END_TEST

START_TEST(test_passes_undisturbed)
{
    struct contention_passes p = { .cpus = 2 };
    uint64_t start[16] = { 0 }, work[16] = { 0 }, cpu[16] = { 0 };
    /* side by side: both on a CPU 94%+ of their work, started 50 ns apart in a 1000 ns pass */
    start[0] = 10000, start[8] = 10050;
    work[0] = 900, work[8] = 950, cpu[0] = 900, cpu[8] = 900;
    contention_passes_add(&p, 1000, start, work, cpu, 2);
    /* the worker waited for a CPU in its work: 60% */
    work[0] = 1900, work[8] = 1000, cpu[0] = 1800, cpu[8] = 600;
    contention_passes_add(&p, 2000, start, work, cpu, 2);
    /* both ran whole, but the worker started 900 ns late (span 1900 ns): never side by side */
    start[8] = 10900, work[0] = 1000, work[8] = 1000, cpu[0] = 1000, cpu[8] = 1000;
    contention_passes_add(&p, 2000, start, work, cpu, 2);
    ck_assert_int_eq(p.n, 3);
    ck_assert(p.undisturbed[0] && !p.undisturbed[1] && !p.undisturbed[2]);
    ck_assert_double_eq_tol(p.on_cpu[0], 900.0 / 950, 1e-12);
    ck_assert_double_eq_tol(p.on_cpu[1], 0.6, 1e-12);
    ck_assert_double_eq_tol(p.share[0], 0, 1e-12);   /* span 1000 ns = the whole pass */
    struct workload_sink out = { 0 };
    contention_passes_emit(&p, &out, "ns_per_x", 10);
    ck_assert_double_eq_tol(find(&out, "ns_per_x")->value, 200, 1e-9);             /* median of 100, 200, 200 */
    ck_assert_double_eq_tol(find(&out, "ns_per_x_min")->value, 100, 1e-9);
    ck_assert_double_eq_tol(find(&out, "ns_per_x_undisturbed")->value, 100, 1e-9); /* the first pass alone */
    ck_assert_double_eq_tol(find(&out, "cpu_ns_per_x")->value, 200, 1e-9);         /* 1800, 2400, 2000 */
    ck_assert_double_eq(find(&out, "undisturbed_passes")->value, 1);
    ck_assert_double_eq_tol(find(&out, "dispatch_share_undisturbed")->value, 0, 1e-12);
    ck_assert_double_eq_tol(p.share[2], 0.05, 1e-12);   /* span 1900 ns of a 2000 ns pass */
    /* oversubscribed: 4 threads on 2 CPUs can keep only 2 busy */
    struct contention_passes q = { .cpus = 2 };
    uint64_t s4[32] = { 0 }, w4[32] = { 0 }, c4[32] = { 0 };
    for (int t = 0; t < 4; t++)
        s4[t * 8] = 5000, w4[t * 8] = 1000, c4[t * 8] = 480;
    contention_passes_add(&q, 3000, s4, w4, c4, 4);   /* the join took long: the span counts */
    ck_assert_double_eq_tol(q.on_cpu[0], 0.96, 1e-12);
    ck_assert_double_eq(q.span[0], 1000);
    ck_assert_double_eq_tol(q.share[0], 2.0 / 3, 1e-12);
    ck_assert(q.undisturbed[0]);
    s4[8] = 6000;   /* one thread's slice came after the others': the CPUs idled half the span */
    contention_passes_add(&q, 3000, s4, w4, c4, 4);
    ck_assert_double_eq_tol(q.on_cpu[1], 0.48, 1e-12);
    ck_assert(!q.undisturbed[1]);
    /* no undisturbed pass: not counted, with the reason */
    struct contention_passes r = { .cpus = 2 };
    contention_passes_add(&r, 2000, start, work, cpu, 2);
    struct workload_sink o2 = { 0 };
    contention_passes_emit(&r, &o2, "ns_per_x", 1);
    const struct metric *m = find(&o2, "ns_per_x_undisturbed");
    ck_assert_int_eq(m->status, METRIC_NOT_COUNTED);
    ck_assert_ptr_nonnull(strstr(m->reason, "busy"));
}
END_TEST

/* ---- coherence events ---------------------------------------------------- */

START_TEST(test_coherence_event_encodings)
{
    /* one PMU per loop iteration, each in its own forked test process:
     * libpfm4 reads LIBPFM_FORCE_PMU once, at pfm_initialize */
    const struct contention_pmu_event *ev = &contention_pmu_events[_i];
    ck_assert_ptr_nonnull(ev->pmu);
    setenv("LIBPFM_FORCE_PMU", ev->pmu, 1);
    struct ctr_hw_encoding enc;
    char err[256];
    int rc = ctr_hw_encode(ev->event, &enc, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", ev->event, err);
    ck_assert_uint_eq(enc.type, 4);   /* PERF_TYPE_RAW */
    ck_assert_msg(strncmp(enc.fstr, ev->pmu, strlen(ev->pmu)) == 0, "%s encoded as %s", ev->event, enc.fstr);
    /* facts from the vendors' tables: Intel event 0xd2 umask 0x04 (HITM /
     * XSNP_FWD), AMD Zen event 0x43 */
    if (ev->pmu[0] == 'a')
        ck_assert_uint_eq(enc.config & 0xff, 0x43);
    else
        ck_assert_msg((enc.config & 0xffff) == 0x04d2, "%s: config %#llx", ev->event, (unsigned long long)enc.config);
    ck_assert_ptr_eq(contention_split_pmu_event(ev->pmu), ev);
}
END_TEST

START_TEST(test_coherence_event_lookup)
{
    ck_assert_ptr_null(contention_split_pmu_event("no_such_pmu"));
    ck_assert_ptr_null(contention_split_pmu_event(NULL));
    ck_assert_str_eq(contention_split_pmu_event("spr")->event, "spr::MEM_LOAD_L3_HIT_RETIRED:XSNP_FWD");
}
END_TEST

static int n_pmu_events(void)
{
    int n = 0;
    while (contention_pmu_events[n].pmu)
        n++;
    return n;
}

/* ---- statistics ---------------------------------------------------------- */

START_TEST(test_norm_quantile)
{
    ck_assert_double_eq_tol(stats_norm_quantile(0.975), 1.959963984540054, 1e-12);
    ck_assert_double_eq_tol(stats_norm_quantile(0.5), 0, 1e-15);
    ck_assert_double_eq_tol(stats_norm_quantile(0.001), -3.090232306167813, 1e-11);
    ck_assert_double_eq_tol(stats_norm_quantile(0.8), 0.8416212335729143, 1e-12);
    ck_assert_double_eq_tol(stats_norm_quantile(1e-10), -6.361340902404056, 1e-8);
    ck_assert(isnan(stats_norm_quantile(0)) && isnan(stats_norm_quantile(1)));
}
END_TEST


START_TEST(test_min_detectable_shift)
{
    double a[] = { 0, 1, 2, 3, 4 }, b[] = { 0, 1, 2, 3, 4 };
    /* MAD 1 -> sigma 1.4826; (z .995 + z .8) sigma sqrt(2/5) / sqrt(3/pi) */
    double want = (2.5758293035489004 + 0.8416212335729143) * 1.4826 * sqrt(0.4) / sqrt(3 / M_PI);
    ck_assert_double_eq_tol(stats_min_detectable_shift(a, 5, b, 5, 0.01, 0.8), want, 1e-9);
    /* three against three can never reach p < 0.01 (2 / C(6, 3) = 0.1) */
    ck_assert(isinf(stats_min_detectable_shift(a, 3, b, 3, 0.01, 0.8)));
    ck_assert(isfinite(stats_min_detectable_shift(a, 3, b, 3, 0.2, 0.8)));
    ck_assert(isnan(stats_min_detectable_shift(a, 0, b, 3, 0.01, 0.8)));
}
END_TEST

/* ---- the report ---------------------------------------------------------- */

static void put(struct results_stream *st, const json_t *h, int config, int rep, const struct metric *m, int nm)
{
    struct results_sample s = { config, rep, true, NULL, rep * 0.1, m, nm };
    json_t *rec = results_sample_new(h, &s);
    ck_assert_ptr_nonnull(rec);
    char err[256];
    ck_assert_int_eq(results_stream_put(st, rec, err, sizeof err), 0);
    json_decref(rec);
}

/* contention: to_float q4_0 align 0 auto, threads 1 and 2, three layouts.
 * Interleaved at 2 threads is 3x padded; everything else the same
 * distribution (the same values in another order). */
static void write_study(const char *path, int reps)
{
    static const char *const types[] = { "q4_0" }, *const ops[] = { "to_float" }, *const al[] = { "0" },
                             *const th[] = { "1", "2" }, *const lay[] = { "blocked", "interleaved", "padded" },
                             *const ker[] = { "auto" }, *const sim[] = { "off" };
    struct results_axis axes[] = { { "type", 1, types }, { "op", 1, ops }, { "align", 1, al }, { "threads", 2, th },
                                   { "layout", 3, lay }, { "kernels", 1, ker }, { "sim", 1, sim } };
    struct results_plan plan = { reps, 0, 0, 1, 1, false };
    json_t *h = results_header_new("contention", "test", false, axes, 7, &plan, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(h);
    struct results_stream *st;
    char err[256];
    ck_assert_int_eq(results_stream_create(&st, path, h, err, sizeof err), 0);
    for (int c = 0; c < 6; c++)
        for (int r = 0; r < reps; r++) {
            double base = 1e6 * (1 + 0.01 * ((r * 7 + c * 3) % reps) / reps);
            double t = c == 4 ? 3 * base : base;   /* config 4: threads 2, interleaved */
            struct metric m[] = {
                tu_metric("ns_per_1024_rows", "ns", METRIC_SRC_TIME, t * 1.5),
                tu_metric("ns_per_1024_rows_undisturbed", "ns", METRIC_SRC_TIME, t),
                tu_metric("cpu_ns_per_1024_rows", "ns", METRIC_SRC_TIME, t),
                tu_metric("dispatch_share", "fraction", METRIC_SRC_TIME, 0.2),
                tu_metric("dispatch_share_undisturbed", "fraction", METRIC_SRC_TIME, 0.01),
                tu_metric("shared_lines_per_op", "count", METRIC_SRC_DERIVED, c == 4 ? 16384 : 0),
                tu_metric("shared_line_fraction", "fraction", METRIC_SRC_DERIVED, c == 4 ? 1 : 0),
                tu_metric("result_checksum", "value", METRIC_SRC_DERIVED, 1234.5),
                tu_metric_unsup("l1d_misses_per_1024_rows", "count", METRIC_SRC_HW, "no PMU in this VM"),
                tu_metric_unsup("coherence_loads_per_1024_rows", "count", METRIC_SRC_HW, "no PMU here either"),
            };
            put(st, h, c, r, m, (int)(sizeof m / sizeof m[0]));
        }
    results_stream_close(st);
    json_decref(h);
}

/* contention_calib: threads 1, 2; packed is 3.5x padded at 2 threads */
static void write_calib(const char *path)
{
    static const char *const th[] = { "1", "2" }, *const lay[] = { "packed", "padded" }, *const sto[] = { "plain" };
    struct results_axis axes[] = { { "threads", 2, th }, { "layout", 2, lay }, { "store", 1, sto } };
    struct results_plan plan = { 8, 0, 0, 1, 1, false };
    json_t *h = results_header_new("contention_calib", "test", false, axes, 3, &plan, NULL, NULL, NULL);
    struct results_stream *st;
    char err[256];
    ck_assert_int_eq(results_stream_create(&st, path, h, err, sizeof err), 0);
    for (int c = 0; c < 4; c++)
        for (int r = 0; r < 8; r++) {
            double t = 0.3 * (1 + 0.01 * r) * (c == 2 ? 3.5 : 1);   /* config 2: threads 2, packed */
            struct metric m[] = {
                tu_metric("ns_per_increment", "ns", METRIC_SRC_TIME, t),
                tu_metric("ns_per_increment_undisturbed", "ns", METRIC_SRC_TIME, t),
                tu_metric("cpu_ns_per_increment", "ns", METRIC_SRC_TIME, t),
                tu_metric("dispatch_share", "fraction", METRIC_SRC_TIME, 0.001),
            };
            put(st, h, c, r, m, 4);
        }
    results_stream_close(st);
    json_decref(h);
}

START_TEST(test_report_verdicts)
{
    const char *dir = tu_tmpdir();
    char study[512], calib[512];
    snprintf(study, sizeof study, "%s/c.jsonl", dir);
    snprintf(calib, sizeof calib, "%s/c-calib.jsonl", dir);
    write_study(study, 10);
    write_calib(calib);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct contention_report_opts o = { .study_path = study, .calib_path = calib, .plot_dir = dir,
                                        .plot_name = "ct-time", .gnuplot = "/nonexistent/gnuplot" };
    struct contention_report_summary sum;
    char err[256];
    int rc = contention_report_write(&o, f, &sum, err, sizeof err);
    fclose(f);
    ck_assert_msg(rc == 0, "%s", err);
    if (getenv("CT_SHOW"))
        fputs(buf, stderr);
    /* calibration: 3.5x, p from 8 vs 8 fully separated samples */
    ck_assert_msg(strstr(buf, "calibration, plain stores, 2 threads: counters in one line 3.50× slower than a line "
                              "each (p < 0.001") != NULL, "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "calibration, plain stores, 1 thread: counters in one line vs a line each: no "
                                      "difference detected"));
    /* the study: interleaved 3x slower at 2 threads, no difference elsewhere */
    ck_assert_msg(strstr(buf, "2 threads: blocked outputs vs padded: no difference detected (p = ") != NULL, "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "interleaved outputs 3.00× slower than padded (p < 0.001; 95% CI"));
    ck_assert_ptr_nonnull(strstr(buf, "1 thread: blocked outputs vs padded: no difference detected"));
    ck_assert_ptr_nonnull(strstr(buf, "interleaved outputs vs padded: no difference detected"));
    ck_assert_ptr_nonnull(strstr(buf, "smallest detectable"));
    /* readable units, the derived count, the sources of n/a columns, no checksum */
    ck_assert_ptr_nonnull(strstr(buf, "| 3.01 ms (3.00 ms–3.02 ms) | 3.00× (p < 0.001)"));
    ck_assert_ptr_nonnull(strstr(buf, "16384 (100%)"));
    ck_assert_ptr_nonnull(strstr(buf, "L1d misses: source hw, unsupported (no PMU in this VM)"));
    ck_assert_ptr_nonnull(strstr(buf, "coherence loads: source hw, unsupported (no PMU here either)"));
    ck_assert_ptr_null(strstr(buf, "checksum"));
    ck_assert_ptr_null(strstr(buf, " † ("));          /* every figure and comparison had its undisturbed samples */
    ck_assert_ptr_null(strstr(buf, "outputs † "));
    ck_assert_ptr_nonnull(strstr(buf, "dispatch: at most 1.0% of a pass"));
    /* the plot: data and script written; no renderer at that path */
    ck_assert_int_eq(sum.plot_png[0], '\0');
    ck_assert_ptr_nonnull(strstr(sum.plot_gp, "ct-time.gp"));
    char p[600];
    snprintf(p, sizeof p, "%s/ct-time.dat", dir);
    size_t dl;
    char *dat = tu_read_file(p, &dl);
    ck_assert_ptr_nonnull(dat);
    ck_assert_ptr_nonnull(strstr(dat, "to_float q4_0, 2T"));
    free(dat);
    free(buf);
    /* the wrong file for the study is named in the error */
    f = open_memstream(&buf, &len);
    o.study_path = calib;
    ck_assert_int_eq(contention_report_write(&o, f, &sum, err, sizeof err), CONTENTION_REPORT_EINPUT);
    fclose(f);
    free(buf);
    ck_assert_ptr_nonnull(strstr(err, "contention_calib"));
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_run(cmd, NULL, 0, NULL, 0);
}
END_TEST

START_TEST(test_report_too_few)
{
    /* three repetitions each: nothing can be shown at alpha 0.01 */
    const char *dir = tu_tmpdir();
    char study[512];
    snprintf(study, sizeof study, "%s/c.jsonl", dir);
    write_study(study, 3);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct contention_report_opts o = { .study_path = study };
    struct contention_report_summary sum;
    char err[256];
    ck_assert_int_eq(contention_report_write(&o, f, &sum, err, sizeof err), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "no calibration results"));
    ck_assert_ptr_nonnull(strstr(buf, "too few repetitions to detect any"));
    ck_assert_ptr_null(strstr(buf, "slower than padded"));
    free(buf);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_run(cmd, NULL, 0, NULL, 0);
}
END_TEST

START_TEST(test_report_small_effect)
{
    /* 2% apart with no noise: significant, but inside the 5% of interest */
    const char *dir = tu_tmpdir();
    char study[512];
    snprintf(study, sizeof study, "%s/c.jsonl", dir);
    static const char *const types[] = { "q4_0" }, *const ops[] = { "dot" }, *const al[] = { "0" },
                             *const th[] = { "1" }, *const lay[] = { "interleaved", "padded" },
                             *const ker[] = { "auto" }, *const sim[] = { "off" };
    struct results_axis axes[] = { { "type", 1, types }, { "op", 1, ops }, { "align", 1, al }, { "threads", 1, th },
                                   { "layout", 2, lay }, { "kernels", 1, ker }, { "sim", 1, sim } };
    struct results_plan plan = { 10, 0, 0, 1, 1, false };
    json_t *h = results_header_new("contention", "test", false, axes, 7, &plan, NULL, NULL, NULL);
    struct results_stream *st;
    char err[256];
    ck_assert_int_eq(results_stream_create(&st, study, h, err, sizeof err), 0);
    for (int c = 0; c < 2; c++)
        for (int r = 0; r < 10; r++) {
            struct metric m[] = { tu_metric("ns_per_1024_rows", "ns", METRIC_SRC_TIME,
                                            (c ? 1000 : 1020) + r * 0.5) };
            put(st, h, c, r, m, 1);
        }
    results_stream_close(st);
    json_decref(h);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct contention_report_opts o = { .study_path = study };
    struct contention_report_summary sum;
    ck_assert_int_eq(contention_report_write(&o, f, &sum, err, sizeof err), 0);
    fclose(f);
    ck_assert_msg(strstr(buf, "interleaved outputs † vs padded: no difference beyond 5% (1.02× slower, p < 0.001") != NULL,
                  "%s", buf);
    free(buf);
    /* with a 1% threshold the same samples are a difference */
    f = open_memstream(&buf, &len);
    o.min_effect = 0.01;
    ck_assert_int_eq(contention_report_write(&o, f, &sum, err, sizeof err), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "interleaved outputs † 1.02× slower than padded (p < 0.001"));
    free(buf);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_run(cmd, NULL, 0, NULL, 0);
}
END_TEST

START_TEST(test_fmt)
{
    char b[32];
    contention_report_fmt_ns(812345, b, sizeof b);
    ck_assert_str_eq(b, "812 µs");
    contention_report_fmt_ns(1234567, b, sizeof b);
    ck_assert_str_eq(b, "1.23 ms");
    contention_report_fmt_ns(45.64, b, sizeof b);
    ck_assert_str_eq(b, "45.6 ns");
    contention_report_fmt_ns(NAN, b, sizeof b);
    ck_assert_str_eq(b, "n/a");
    contention_report_fmt_p(0.0004, b, sizeof b);
    ck_assert_str_eq(b, "p < 0.001");
    contention_report_fmt_p(0.04213, b, sizeof b);
    ck_assert_str_eq(b, "p = 0.042");
}
END_TEST

Suite *contention_suite(void)
{
    Suite *s = suite_create("contention");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_matmul_rows);
    tcase_add_test(tc, test_shared_lines_hand_count);
    tcase_add_test(tc, test_split_covers_every_row_once);
    tcase_add_test(tc, test_passes_undisturbed);
    tcase_add_test(tc, test_passes_more);
    tcase_add_loop_test(tc, test_coherence_event_encodings, 0, n_pmu_events());
    tcase_add_test(tc, test_coherence_event_lookup);
    tcase_add_test(tc, test_norm_quantile);
    tcase_add_test(tc, test_min_detectable_shift);
    tcase_add_test(tc, test_report_verdicts);
    tcase_add_test(tc, test_report_too_few);
    tcase_add_test(tc, test_report_small_effect);
    tcase_add_test(tc, test_fmt);
    suite_add_tcase(s, tc);
    return s;
}
