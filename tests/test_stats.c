/* stats suite: summaries of fixed arrays, median CI ranks against the
 * binomial table, and Mann-Whitney p-values against published values. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "results/stats.h"

START_TEST(test_summary_one_to_ten)
{
    double x[] = { 7, 3, 10, 1, 5, 9, 2, 8, 4, 6 };
    struct stats_summary s;
    ck_assert_int_eq(stats_summarize(x, 10, NULL, &s), STATS_OK);
    ck_assert_uint_eq(s.n, 10);
    ck_assert_double_eq(s.median, 5.5);
    ck_assert_double_eq(s.mean, 5.5);
    ck_assert_double_eq_tol(s.stddev, sqrt(55.0 / 6.0), 1e-12);
    ck_assert_double_eq(s.mad, 2.5);
    ck_assert_double_eq(s.min, 1);
    ck_assert_double_eq(s.max, 10);
    /* n = 10 at 95%: ranks 2 and 9, coverage 1 - 2 * 11/1024 */
    ck_assert_uint_eq(s.ci_lo_rank, 2);
    ck_assert_uint_eq(s.ci_hi_rank, 9);
    ck_assert_double_eq(s.ci_lo, 2);
    ck_assert_double_eq(s.ci_hi, 9);
    ck_assert_double_eq_tol(s.ci_coverage, 0.978515625, 1e-12);
    ck_assert(s.noisy); /* MAD is 45% of the median */
    ck_assert_ptr_nonnull(strstr(s.warning, "MAD"));
    for (int i = 1; i < 10; i++) /* sorted in place */
        ck_assert(x[i - 1] <= x[i]);
}
END_TEST

START_TEST(test_summary_odd_and_tight)
{
    double x[] = { 100, 101, 99, 100, 100, 102, 98, 100, 100, 100, 101 };
    struct stats_summary s;
    ck_assert_int_eq(stats_summarize(x, 11, NULL, &s), STATS_OK);
    ck_assert_double_eq(s.median, 100);
    ck_assert_double_eq(s.mad, 0);
    ck_assert(!s.noisy);
    ck_assert_str_eq(s.warning, "");

    double y[] = { 3, 1, 2 };
    ck_assert_int_eq(stats_summarize(y, 3, NULL, &s), STATS_OK);
    ck_assert_double_eq(s.median, 2);
    ck_assert_double_eq(s.mad, 1);
    ck_assert(s.noisy); /* too few for a 95% CI */
    ck_assert_double_eq(s.ci_lo, 1);
    ck_assert_double_eq(s.ci_hi, 3);
    ck_assert_double_eq_tol(s.ci_coverage, 0.75, 1e-12);

    double one[] = { 42 };
    ck_assert_int_eq(stats_summarize(one, 1, NULL, &s), STATS_OK);
    ck_assert_double_eq(s.median, 42);
    ck_assert_double_eq(s.stddev, 0);
}
END_TEST

START_TEST(test_summary_ci_flag_and_errors)
{
    /* MAD is 0 but one outlier of 8 makes the CI (ranks 1..8) too wide */
    double x[] = { 10, 10, 10, 10, 10, 10, 10, 100 };
    struct stats_summary s;
    ck_assert_int_eq(stats_summarize(x, 8, NULL, &s), STATS_OK);
    ck_assert_double_eq(s.mad, 0);
    ck_assert_double_eq(s.ci_hi, 100);
    ck_assert(s.noisy);
    ck_assert_ptr_nonnull(strstr(s.warning, "CI"));

    ck_assert_int_eq(stats_summarize(x, 0, NULL, &s), STATS_EEMPTY);
    double bad[] = { 1, NAN };
    ck_assert_int_eq(stats_summarize(bad, 2, NULL, &s), STATS_EVALUE);

    struct stats_limits loose = { 0.95, 0.5, 0.5 };
    double y[] = { 9, 10, 11, 10, 10, 10, 10, 9, 11, 10 };
    ck_assert_int_eq(stats_summarize(y, 10, &loose, &s), STATS_OK);
    ck_assert(!s.noisy);
}
END_TEST

START_TEST(test_median_ci_ranks_table)
{
    /* Ranks from the binomial table for the 95% CI of a median. */
    static const struct { size_t n, lo, hi; } tab[] = {
        { 6, 1, 6 }, { 8, 1, 8 }, { 10, 2, 9 }, { 20, 6, 15 }, { 100, 40, 61 },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        size_t lo, hi;
        double cov;
        ck_assert(stats_median_ci_ranks(tab[i].n, 0.95, &lo, &hi, &cov));
        ck_assert_uint_eq(lo, tab[i].lo);
        ck_assert_uint_eq(hi, tab[i].hi);
        ck_assert(cov >= 0.95 && cov < 1);
    }
    size_t lo, hi;
    double cov;
    ck_assert(!stats_median_ci_ranks(5, 0.95, &lo, &hi, &cov));
    ck_assert_uint_eq(lo, 1);
    ck_assert_uint_eq(hi, 5);
    ck_assert_double_eq_tol(cov, 0.9375, 1e-12);
    ck_assert_double_eq_tol(stats_binom_half_cdf(1, 10), 11.0 / 1024, 1e-15);
    ck_assert_double_eq_tol(stats_binom_half_cdf(2000, 4000) - 0.5, 0.0063, 2e-4); /* large n stays finite */
}
END_TEST

START_TEST(test_mann_whitney_published)
{
    /* SciPy's mannwhitneyu documentation example: U = 17, exact p = 1/9,
     * asymptotic p = 0.11134688653314041. */
    double males[] = { 19, 22, 16, 29, 24 }, females[] = { 20, 11, 17, 12 };
    struct stats_mwu r;
    ck_assert_int_eq(stats_mann_whitney(males, 5, females, 4, STATS_MWU_AUTO, &r), STATS_OK);
    ck_assert(r.exact);
    ck_assert_double_eq(r.u1, 17);
    ck_assert_double_eq(r.u2, 3);
    ck_assert_double_eq_tol(r.p, 1.0 / 9, 1e-12);
    ck_assert_int_eq(stats_mann_whitney(males, 5, females, 4, STATS_MWU_NORMAL, &r), STATS_OK);
    ck_assert(!r.exact);
    ck_assert_double_eq_tol(r.p, 0.11134688653314041, 1e-12);
    ck_assert(r.z > 0);

    /* complete separation: p = 2 / C(n1 + n2, n1) */
    double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
    ck_assert_int_eq(stats_mann_whitney(a, 3, b, 3, STATS_MWU_AUTO, &r), STATS_OK);
    ck_assert_double_eq(r.u1, 0);
    ck_assert_double_eq_tol(r.p, 0.1, 1e-12);
    double c[] = { 1, 2, 3, 4, 5 }, d[] = { 6, 7, 8, 9, 10 };
    ck_assert_int_eq(stats_mann_whitney(d, 5, c, 5, STATS_MWU_AUTO, &r), STATS_OK);
    ck_assert_double_eq(r.u1, 25);
    ck_assert_double_eq_tol(r.p, 2.0 / 252, 1e-12);

    /* identical samples: p = 1 */
    ck_assert_int_eq(stats_mann_whitney(c, 5, c, 5, STATS_MWU_AUTO, &r), STATS_OK);
    ck_assert_double_eq(r.p, 1);
}
END_TEST

START_TEST(test_mann_whitney_ties_and_errors)
{
    /* ties: tie-corrected variance 29.1818..., z = 1.48093, p = 0.138626 */
    double a[] = { 1, 2, 2, 3, 5 }, b[] = { 2, 3, 4, 4, 6, 7 };
    struct stats_mwu r;
    ck_assert_int_eq(stats_mann_whitney(a, 5, b, 6, STATS_MWU_AUTO, &r), STATS_OK);
    ck_assert(r.ties);
    ck_assert(!r.exact);
    ck_assert_double_eq(r.u1, 6.5);
    ck_assert_double_eq_tol(r.z, -1.4809275530712105, 1e-9);
    ck_assert_double_eq_tol(r.p, 0.13862587987892772, 1e-9);

    /* every value equal: no evidence */
    double e[] = { 5, 5, 5 };
    ck_assert_int_eq(stats_mann_whitney(e, 3, e, 3, STATS_MWU_NORMAL, &r), STATS_OK);
    ck_assert_double_eq(r.p, 1);

    /* larger samples: the exact and normal p-values agree closely */
    double x[20], y[20];
    for (int i = 0; i < 20; i++) {
        x[i] = i * 1.0;
        y[i] = i * 1.0 + 6.5;
    }
    struct stats_mwu ex, no;
    ck_assert_int_eq(stats_mann_whitney(x, 20, y, 20, STATS_MWU_EXACT, &ex), STATS_OK);
    ck_assert_int_eq(stats_mann_whitney(x, 20, y, 20, STATS_MWU_NORMAL, &no), STATS_OK);
    ck_assert(ex.exact);
    ck_assert(ex.p > 0 && ex.p < 0.1);
    ck_assert_double_eq_tol(ex.p, no.p, 0.01);

    ck_assert_int_eq(stats_mann_whitney(a, 0, b, 6, STATS_MWU_AUTO, &r), STATS_EEMPTY);
    double bad[] = { INFINITY };
    ck_assert_int_eq(stats_mann_whitney(bad, 1, b, 6, STATS_MWU_AUTO, &r), STATS_EVALUE);
}
END_TEST

Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_summary_one_to_ten);
    tcase_add_test(tc, test_summary_odd_and_tight);
    tcase_add_test(tc, test_summary_ci_flag_and_errors);
    tcase_add_test(tc, test_median_ci_ranks_table);
    tcase_add_test(tc, test_mann_whitney_published);
    tcase_add_test(tc, test_mann_whitney_ties_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
