/* Tests of results/effect (the statistic behind a report's conclusions)
 * and results/fmt (the one number formatter). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "results/effect.h"
#include "results/fmt.h"

/* A small deterministic generator: the same "distribution" twice without
 * depending on libc's rand. */
static double lcg_uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

START_TEST(test_same_distribution_no_difference)
{
    /* two samples of 1000 ± 5% noise: no difference, and a detectable size
     * of a few percent, not zero */
    uint64_t s = 42;
    double a[8], b[8];
    for (int i = 0; i < 8; i++) {
        a[i] = 1000 * (0.95 + 0.1 * lcg_uniform(&s));
        b[i] = 1000 * (0.95 + 0.1 * lcg_uniform(&s));
    }
    struct effect e;
    ck_assert_int_eq(effect_compare(a, 8, b, 8, 0.95, 0.05, &e), EFFECT_OK);
    ck_assert(!e.significant);
    ck_assert(!e.too_few);
    ck_assert(e.p >= 0.05);
    ck_assert(e.ratio);
    ck_assert(e.lo <= 1 && e.hi >= 1);
    ck_assert_msg(e.detectable > 0.005 && e.detectable < 0.15, "detectable %g", e.detectable);
    ck_assert(e.coverage >= 0.95 && e.coverage < 0.99);
}
END_TEST

START_TEST(test_shifted_samples_effect)
{
    /* b is a scaled by 1.5 with the same noise: an effect near 1.5× whose
     * CI holds 1.5 and excludes 1 */
    uint64_t s = 7;
    double a[8], b[8];
    for (int i = 0; i < 8; i++) {
        a[i] = 1000 * (0.95 + 0.1 * lcg_uniform(&s));
        b[i] = 1.5 * 1000 * (0.95 + 0.1 * lcg_uniform(&s));
    }
    struct effect e;
    ck_assert_int_eq(effect_compare(a, 8, b, 8, 0.95, 0.05, &e), EFFECT_OK);
    ck_assert(e.significant);
    ck_assert(e.p < 0.001);
    ck_assert(e.lo > 1 && e.lo <= 1.5 && e.hi >= 1.5);
    ck_assert_double_eq_tol(e.est, 1.5, 0.1);
    ck_assert(isnan(e.detectable));
}
END_TEST

START_TEST(test_exact_ci_ranks_and_too_few)
{
    /* n = 6 + 6: P(U <= 4) = 19/924, so the interval is the 5th smallest
     * to the 5th largest pairwise ratio with coverage 1 - 38/924 */
    double a[6] = { 1, 2, 3, 4, 5, 6 }, b[6] = { 11, 12, 13, 14, 15, 16 };
    struct effect e;
    ck_assert_int_eq(effect_compare(a, 6, b, 6, 0.95, 0.05, &e), EFFECT_OK);
    ck_assert_double_eq_tol(e.coverage, 1 - 38.0 / 924, 1e-12);
    ck_assert_double_eq_tol(e.p_min, 2.0 / 924, 1e-12);
    ck_assert(e.significant);
    /* three against three can never reach p < 0.05: say so */
    ck_assert_int_eq(effect_compare(a, 3, b, 3, 0.95, 0.05, &e), EFFECT_OK);
    ck_assert(e.too_few);
    ck_assert(!e.significant);
    ck_assert_double_eq_tol(e.coverage, 0.9, 1e-12); /* 1 - 2/20 over min..max */
    /* zeros and negatives: differences, not ratios */
    double z[4] = { 0, 1, 0, 1 }, w[4] = { 5, 6, 5, 6 };
    ck_assert_int_eq(effect_compare(z, 4, w, 4, 0.95, 0.05, &e), EFFECT_OK);
    ck_assert(!e.ratio);
    ck_assert_double_eq_tol(e.est, 5, 1e-12);
    ck_assert_int_eq(effect_compare(z, 0, w, 4, 0.95, 0.05, &e), EFFECT_EEMPTY);
    double bad[1] = { NAN };
    ck_assert_int_eq(effect_compare(bad, 1, w, 4, 0.95, 0.05, &e), EFFECT_EVALUE);
}
END_TEST

START_TEST(test_fmt_units_and_digits)
{
    char b[64];
    struct fmt_scale s = fmt_scale_for("ns", 1.28e9);
    ck_assert_str_eq(s.unit, "s");
    ck_assert_double_eq(s.div, 1e9);
    ck_assert_str_eq(fmt_scale_for("ns", 9650).unit, "µs");
    ck_assert_str_eq(fmt_scale_for("bytes", 137.0 * 1048576).unit, "MiB");
    ck_assert_str_eq(fmt_scale_for("tok/s", 1e9).unit, "tok/s");
    fmt_value(b, sizeof b, 9650, "ns");
    ck_assert_str_eq(b, "9.65 µs");
    fmt_value(b, sizeof b, 1.28e9, "ns");
    ck_assert_str_eq(b, "1.28 s");
    fmt_value(b, sizeof b, 137.0 * 1048576, "bytes");
    ck_assert_str_eq(b, "137 MiB");
    fmt_value(b, sizeof b, 317438672, "count");
    ck_assert_str_eq(b, "317,438,672");
    fmt_value(b, sizeof b, 71.94, "tok/s");
    ck_assert_str_eq(b, "71.9 tok/s");
    /* digits that match the precision: not 9.65e-06 ± 1.21e-06, not 862 ± 0.00195 */
    fmt_estimate(b, sizeof b, 9.65, 1.21);
    ck_assert_str_eq(b, "9.7 ± 1.2");
    fmt_estimate(b, sizeof b, 862, 0.00195);
    ck_assert_str_eq(b, "862.000 ± 0.002");
    fmt_estimate(b, sizeof b, 12.3, 40);
    ck_assert_str_eq(b, "10 ± 40");
    fmt_estimate(b, sizeof b, 1.5, 0);
    ck_assert_str_eq(b, "1.50");
    fmt_estimate(b, sizeof b, 846, 0);
    ck_assert_str_eq(b, "846");
    fmt_estimate(b, sizeof b, 861.59, 0.0002);
    ck_assert_str_eq(b, "861.590 ± <0.001");
    fmt_sig(b, sizeof b, 0.000123456, 3);
    ck_assert_str_eq(b, "0.000123");
    fmt_sig(b, sizeof b, 9.996, 3);
    ck_assert_str_eq(b, "10.0");
    fmt_ratio(b, sizeof b, 46.2);
    ck_assert_str_eq(b, "46.2×");
    fmt_p(b, sizeof b, 0.0021);
    ck_assert_str_eq(b, "p = 0.002");
    fmt_p(b, sizeof b, 0.00001);
    ck_assert_str_eq(b, "p < 0.001");
}
END_TEST

Suite *effect_suite(void)
{
    Suite *s = suite_create("effect");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_same_distribution_no_difference);
    tcase_add_test(tc, test_shifted_samples_effect);
    tcase_add_test(tc, test_exact_ci_ranks_and_too_few);
    tcase_add_test(tc, test_fmt_units_and_digits);
    suite_add_tcase(s, tc);
    return s;
}
