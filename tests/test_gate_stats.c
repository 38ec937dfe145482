/* gate_stats suite: the gate's statistics in process, on synthetic
 * samples and no files: the smallest reachable p, the normal quantile and
 * the names; Holm's family-wise control over 1000 null runs (unpaired and
 * paired) and its power to find one real slowdown among 39 nulls; and the
 * paired A/B design cancelling drift that drowns the unpaired test. Split
 * from test_gate.c (the verdicts on results files) because these check
 * gate_stats.c's arithmetic alone. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness/store/gate.h"
#include "results/stats.h"
#include "tests/gate_fixture.h"

/* ---- pure functions -------------------------------------------------------- */

START_TEST(test_min_p_and_names)
{
    ck_assert(fabs(gate_mwu_min_p(3, 3) - 0.1) < 1e-12);          /* 2 / C(6,3) = 2 / 20 */
    ck_assert(fabs(gate_mwu_min_p(5, 5) - 2.0 / 252) < 1e-12);
    ck_assert(fabs(gate_mwu_min_p(20, 20) - 2.0 / 137846528820.0) < 1e-20);
    ck_assert(gate_mwu_min_p(1, 1) == 1.0);
    ck_assert(gate_mwu_min_p(0, 5) == 1.0);
    ck_assert(fabs(gate_normal_quantile(0.975) - 1.959964) < 1e-5);
    ck_assert(fabs(gate_normal_quantile(0.8) - 0.841621) < 1e-5);
    ck_assert(fabs(gate_normal_quantile(0.5)) < 1e-9);
    ck_assert_str_eq(gate_verdict_name(GATE_UNDECIDED), "undecided");
    ck_assert_str_eq(gate_kind_name(GATE_KIND_TIMING), "statistical (U test, Holm)");
    /* the declaration table matches exact names, prefixes and suffixes, first match winning */
    static const struct metric_decl d[] = { { "sim_d1_bytes", METRIC_SEM(NEITHER, INFO, false) },
                                            { "sim_*", METRIC_SEM(LOWER, COUNT, true) },
                                            { "*_ns", METRIC_SEM(LOWER, SAMPLE, false) } };
    ck_assert_int_eq(metric_decl_find(d, 3, "sim_d1_bytes")->sem.kind, METRIC_KIND_INFO);
    ck_assert_int_eq(metric_decl_find(d, 3, "sim_ll_misses")->sem.kind, METRIC_KIND_COUNT);
    ck_assert_int_eq(metric_decl_find(d, 3, "open_ns")->sem.kind, METRIC_KIND_SAMPLE);
    ck_assert_ptr_null(metric_decl_find(d, 3, "ns_total"));
    ck_assert_int_eq(metric_kind_from_name("env"), METRIC_KIND_ENV);
    ck_assert_int_eq(metric_better_from_name("bogus"), METRIC_BETTER_UNDECLARED);
}
END_TEST

/* ---- the family and the pairs ------------------------------------------------ */

/* Family-wise control on synthetic data: 1000 gate runs of 40 null
 * comparisons each (same distribution on both sides, threshold 0 so that
 * only the statistics decide) report a regression in at most about alpha
 * of the runs; the same samples judged per metric at alpha would fail
 * most runs, so the check has teeth. In-process, no files. */
START_TEST(test_familywise_null)
{
    enum { RUNS = 1000, M = 40, N = 16 };
    const double alpha = 0.05;
    unsigned st = 12345;
    int fam_fail = 0, naive_fail = 0, paired_fail = 0;
    double b[N], c[N];
    static struct gate_row prow[M];
    for (int run = 0; run < RUNS; run++) {
        struct gate_report r;
        memset(&r, 0, sizeof r);
        gate_opts_default(&r.opts);
        r.opts.alpha = alpha;
        r.opts.threshold = 0;
        struct gate_row rows[M];
        r.rows = rows;
        r.n_rows = M;
        bool naive = false;
        for (int m = 0; m < M; m++) {
            struct gate_row *row = &rows[m];
            memset(row, 0, sizeof *row);
            snprintf(row->metric, sizeof row->metric, "m%d", m);
            row->kind = GATE_KIND_TIMING;
            row->gated = true;
            row->higher_better = m % 2;
            for (int i = 0; i < N; i++) { /* a skewed null: 100 + exponential-ish noise */
                b[i] = 100 + 5 * -log((gfix_uniform(&st) + 1.0001) / 2.0002);
                c[i] = 100 + 5 * -log((gfix_uniform(&st) + 1.0001) / 2.0002);
            }
            ck_assert_int_eq(gate_row_measure(row, b, N, c, N, alpha), GATE_OK);
            prow[m] = *row; /* the same samples as pairs (ggperf ab) */
            ck_assert_int_eq(gate_row_measure_paired(&prow[m], b, c, N, alpha), GATE_OK);
            double worse = row->higher_better ? -row->change : row->change;
            naive = naive || (row->p < alpha && worse > 0);
        }
        ck_assert_int_eq(gate_decide(&r), GATE_OK);
        ck_assert_uint_eq(r.n_family, M);
        fam_fail += r.counts[GATE_REGRESSED] > 0;
        naive_fail += naive;
        struct gate_report rp = r;
        rp.rows = prow;
        ck_assert_int_eq(gate_decide(&rp), GATE_OK);
        paired_fail += rp.counts[GATE_REGRESSED] > 0;
    }
    printf("gate: familywise null: %d of %d runs regressed with Holm (alpha %g), %d per metric\n", fam_fail, RUNS,
           alpha, naive_fail);
    /* alpha with a binomial allowance of 3 standard errors */
    ck_assert_msg(fam_fail <= (int)(RUNS * alpha + 3 * sqrt(RUNS * alpha * (1 - alpha))), "%d", fam_fail);
    ck_assert_msg(naive_fail > RUNS / 3, "%d", naive_fail);
    printf("gate: familywise null, paired: %d of %d runs regressed\n", paired_fail, RUNS);
    ck_assert_msg(paired_fail <= (int)(RUNS * alpha + 3 * sqrt(RUNS * alpha * (1 - alpha))), "%d", paired_fail);
}
END_TEST

/* ... and the same machinery still finds one real 5% slowdown among 39 nulls. */
START_TEST(test_familywise_power)
{
    enum { M = 40, N = 20 };
    unsigned st = 777;
    double b[N], c[N];
    struct gate_report r;
    memset(&r, 0, sizeof r);
    gate_opts_default(&r.opts);
    struct gate_row rows[M];
    r.rows = rows;
    r.n_rows = M;
    for (int m = 0; m < M; m++) {
        struct gate_row *row = &rows[m];
        memset(row, 0, sizeof *row);
        snprintf(row->metric, sizeof row->metric, "m%d", m);
        row->kind = GATE_KIND_TIMING;
        row->gated = true;
        row->threshold = r.opts.threshold;
        for (int i = 0; i < N; i++) {
            b[i] = 1e6 * (1 + 0.01 * gfix_uniform(&st));
            c[i] = 1e6 * (1 + 0.01 * gfix_uniform(&st)) * (m == 17 ? 1.05 : 1);
        }
        ck_assert_int_eq(gate_row_measure(row, b, N, c, N, r.opts.alpha), GATE_OK);
    }
    ck_assert_int_eq(gate_decide(&r), GATE_OK);
    ck_assert_uint_eq(r.counts[GATE_REGRESSED], 1);
    ck_assert_str_eq(r.rows[0].metric, "m17");
    ck_assert_uint_eq(r.counts[GATE_UNCHANGED], M - 1);
}
END_TEST

/* The A/B design: pairs share drift (here a slow swing of +-20% over the
 * run, far above the 1% pair noise). Paired, a 5% slowdown is regressed
 * and a null is not; unpaired, the drift drowns the 5%. */
START_TEST(test_paired_cancels_drift)
{
    struct stats_wsr t;
    const double d1[] = { 1, 2, 3, 4, 5 };
    ck_assert_int_eq(stats_wilcoxon_signed_rank(d1, 5, &t), STATS_OK);
    ck_assert(t.exact && fabs(t.p - 2.0 / 32) < 1e-12);
    const double d2[] = { -1, 2, 3, 4, 5, 6, 7, 8 };
    ck_assert_int_eq(stats_wilcoxon_signed_rank(d2, 8, &t), STATS_OK);
    ck_assert(fabs(t.w_plus - 35) < 1e-12 && fabs(t.p - 4.0 / 256) < 1e-12);

    enum { N = 12 };
    double a[N], b[N], b0[N];
    unsigned st = 21;
    for (int k = 0; k < N; k++) {
        double drift = 1 + 0.2 * sin(k * 0.7);
        a[k] = 100 * drift * (1 + 0.005 * gfix_uniform(&st));
        b[k] = 100 * drift * 0.95 * (1 + 0.005 * gfix_uniform(&st));  /* tokens/s 5% lower */
        b0[k] = 100 * drift * (1 + 0.005 * gfix_uniform(&st));
    }
    struct gate_row rows[2];
    struct gate_report r;
    memset(&r, 0, sizeof r);
    gate_opts_default(&r.opts);
    r.rows = rows;
    r.n_rows = 2;
    for (int i = 0; i < 2; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        snprintf(rows[i].metric, sizeof rows[i].metric, "tokens_per_s_%d", i);
        rows[i].kind = GATE_KIND_TIMING;
        rows[i].gated = true;
        rows[i].higher_better = true;
        rows[i].threshold = r.opts.threshold;
        ck_assert_int_eq(gate_row_measure_paired(&rows[i], a, i ? b0 : b, N, r.opts.alpha), GATE_OK);
    }
    ck_assert_int_eq(gate_decide(&r), GATE_OK);
    const struct gate_row *slow = strcmp(r.rows[0].metric, "tokens_per_s_0") == 0 ? &r.rows[0] : &r.rows[1];
    const struct gate_row *same = slow == &r.rows[0] ? &r.rows[1] : &r.rows[0];
    ck_assert_int_eq(slow->verdict, GATE_REGRESSED);
    ck_assert(slow->paired && fabs(slow->change + 0.05) < 0.01);
    ck_assert(slow->mde < 0.03);
    ck_assert_int_ne(same->verdict, GATE_REGRESSED);
    /* unpaired, the same samples cannot show it */
    struct gate_row u;
    memset(&u, 0, sizeof u);
    u.kind = GATE_KIND_TIMING;
    u.gated = true;
    u.higher_better = true;
    u.threshold = r.opts.threshold;
    struct gate_report ru;
    memset(&ru, 0, sizeof ru);
    ru.opts = r.opts;
    ru.rows = &u;
    ru.n_rows = 1;
    ck_assert_int_eq(gate_row_measure(&u, a, N, b, N, r.opts.alpha), GATE_OK);
    ck_assert_int_eq(gate_decide(&ru), GATE_OK);
    ck_assert_int_ne(u.verdict, GATE_REGRESSED);
}
END_TEST

Suite *gate_stats_suite(void)
{
    Suite *s = suite_create("gate_stats");
    TCase *tc = tcase_create("statistics");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_min_p_and_names);
    tcase_add_test(tc, test_familywise_null);
    tcase_add_test(tc, test_familywise_power);
    tcase_add_test(tc, test_paired_cancels_drift);
    suite_add_tcase(s, tc);
    return s;
}
