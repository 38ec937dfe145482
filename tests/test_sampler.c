/* sampler suite: greedy argmax and its ties; determinism for a seed;
 * top-k / top-p degenerate cases; sampled frequencies against the softmax
 * (chi-square bound, fixed seed); repetition penalty; NaN and infinite
 * logits; no allocation per sample. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mem.h"
#include "engine/sampler.h"

static struct sampler *new_sampler(int n_vocab, struct sampler_opts o)
{
    char err[256] = "";
    struct sampler *s = sampler_new(n_vocab, &o, NULL, err, sizeof err);
    ck_assert_msg(s != NULL, "sampler_new: %s", err);
    return s;
}

START_TEST(test_greedy)
{
    struct sampler_opts o = { 0 };
    struct sampler *s = new_sampler(5, o);
    const float l1[] = { 0.0f, 3.0f, 1.0f, 3.0f, -2.0f };
    ck_assert_int_eq(sampler_sample(s, l1), 1); /* tie → lowest id */
    const float l2[] = { -5.0f, -4.0f, -3.0f, -9.0f, -3.5f };
    ck_assert_int_eq(sampler_sample(s, l2), 2);
    const float l3[] = { NAN, 1.0f, NAN, 2.0f, NAN };
    ck_assert_int_eq(sampler_sample(s, l3), 3);
    const float l4[] = { NAN, NAN, NAN, NAN, NAN };
    ck_assert_int_eq(sampler_sample(s, l4), SAMPLER_ENOCAND);
    const float l5[] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY };
    ck_assert_int_eq(sampler_sample(s, l5), 0);
    ck_assert_int_eq(sampler_sample(s, NULL), SAMPLER_EINVAL);
    ck_assert_int_eq(sampler_sample(NULL, l1), SAMPLER_EINVAL);
    sampler_free(s);

    o.temp = -1.0f; /* any temp <= 0 is greedy */
    s = new_sampler(5, o);
    ck_assert_int_eq(sampler_sample(s, l1), 1);
    sampler_free(s);
    sampler_free(NULL);
}
END_TEST

START_TEST(test_infinities_when_sampling)
{
    struct sampler_opts o = { .temp = 1.0f, .seed = 3 };
    struct sampler *s = new_sampler(4, o);
    const float pinf[] = { 1.0f, INFINITY, 2.0f, INFINITY };
    const float ninf[] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY };
    const float one[] = { -INFINITY, -INFINITY, 0.5f, -INFINITY };
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(sampler_sample(s, pinf), 1);
        ck_assert_int_eq(sampler_sample(s, ninf), 0);
        ck_assert_int_eq(sampler_sample(s, one), 2);
    }
    sampler_free(s);
}
END_TEST

START_TEST(test_deterministic_for_a_seed)
{
    enum { N = 64, DRAWS = 1000 };
    float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = sinf((float)i * 0.7f) * 2.0f;
    struct sampler_opts o = { .temp = 0.9f, .top_p = 0.95f, .top_k = 40, .seed = 42 };
    struct sampler *a = new_sampler(N, o), *b = new_sampler(N, o);
    o.seed = 43;
    struct sampler *c = new_sampler(N, o);
    int32_t first[DRAWS];
    int differ = 0;
    for (int i = 0; i < DRAWS; i++) {
        first[i] = sampler_sample(a, logits);
        ck_assert_int_ge(first[i], 0);
        ck_assert_int_lt(first[i], N);
        ck_assert_int_eq(sampler_sample(b, logits), first[i]);
        differ += sampler_sample(c, logits) != first[i];
    }
    ck_assert_int_gt(differ, 0);
    sampler_reset(a, 42); /* restart: the same sequence again */
    for (int i = 0; i < DRAWS; i++)
        ck_assert_int_eq(sampler_sample(a, logits), first[i]);
    sampler_free(a);
    sampler_free(b);
    sampler_free(c);
}
END_TEST

START_TEST(test_degenerate_top_k_top_p_are_greedy)
{
    enum { N = 100 };
    float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = (float)((i * 37) % N) * 0.01f; /* a permutation of 0..0.99 */
    int best = 0;
    for (int i = 1; i < N; i++)
        if (logits[i] > logits[best])
            best = i;
    struct sampler_opts o1 = { .temp = 5.0f, .top_k = 1, .seed = 1 };
    struct sampler_opts o2 = { .temp = 5.0f, .top_p = 1e-6f, .seed = 2 };
    struct sampler *s1 = new_sampler(N, o1), *s2 = new_sampler(N, o2);
    for (int i = 0; i < 500; i++) {
        ck_assert_int_eq(sampler_sample(s1, logits), best);
        ck_assert_int_eq(sampler_sample(s2, logits), best);
    }
    sampler_free(s1);
    sampler_free(s2);
}
END_TEST

/* Chi-square statistic of counts against probabilities p (summing to 1). */
static double chi_square(const int *counts, const double *p, int n, int draws)
{
    double x = 0.0;
    for (int i = 0; i < n; i++) {
        double e = p[i] * draws;
        if (e == 0.0) {
            ck_assert_int_eq(counts[i], 0);
            continue;
        }
        x += (counts[i] - e) * (counts[i] - e) / e;
    }
    return x;
}

static void softmax(const float *l, int n, double temp, double *p)
{
    double max = -INFINITY, sum = 0.0;
    for (int i = 0; i < n; i++)
        if (l[i] > max)
            max = l[i];
    for (int i = 0; i < n; i++) {
        p[i] = exp((l[i] - max) / temp);
        sum += p[i];
    }
    for (int i = 0; i < n; i++)
        p[i] /= sum;
}

static const float FREQ_LOGITS[8] = { 1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -1.0f, 0.3f, 1.5f };

START_TEST(test_frequencies_match_softmax)
{
    enum { N = 8, DRAWS = 20000 };
    const double temps[] = { 1.0, 0.5, 2.0 };
    for (int t = 0; t < 3; t++) {
        struct sampler_opts o = { .temp = (float)temps[t], .seed = 1000 + (uint64_t)t };
        struct sampler *s = new_sampler(N, o);
        int counts[N] = { 0 };
        for (int i = 0; i < DRAWS; i++)
            counts[sampler_sample(s, FREQ_LOGITS)]++;
        double p[N];
        softmax(FREQ_LOGITS, N, temps[t], p);
        /* 7 degrees of freedom: P(chi2 > 40) is about 1e-6. */
        double x = chi_square(counts, p, N, DRAWS);
        ck_assert_msg(x < 40.0, "temp %g: chi-square %g", temps[t], x);
        sampler_free(s);
    }
}
END_TEST

START_TEST(test_top_k_frequencies)
{
    enum { N = 8, DRAWS = 20000 };
    struct sampler_opts o = { .temp = 0.7f, .top_k = 3, .seed = 7 };
    struct sampler *s = new_sampler(N, o);
    int counts[N] = { 0 };
    for (int i = 0; i < DRAWS; i++)
        counts[sampler_sample(s, FREQ_LOGITS)]++;
    /* The three highest logits: ids 4 (2.0), 7 (1.5), 0 (1.0). */
    const float kept[N] = { 1.0f, -INFINITY, -INFINITY, -INFINITY, 2.0f, -INFINITY, -INFINITY, 1.5f };
    double p[N];
    softmax(kept, N, 0.7, p);
    double x = chi_square(counts, p, N, DRAWS);
    ck_assert_msg(x < 30.0, "chi-square %g", x); /* 2 degrees of freedom */
    sampler_free(s);
}
END_TEST

START_TEST(test_top_p_frequencies)
{
    enum { N = 8, DRAWS = 20000 };
    double p[N];
    softmax(FREQ_LOGITS, N, 1.0, p);
    /* Sorted: 4 (2.0), 7 (1.5), 0 (1.0), 1 (0.5)... keep exactly three by
     * putting top_p halfway between the 2- and 3-token cumulative sums. */
    double c2 = p[4] + p[7], c3 = c2 + p[0];
    struct sampler_opts o = { .temp = 1.0f, .top_p = (float)((c2 + c3) / 2), .seed = 9 };
    struct sampler *s = new_sampler(N, o);
    int counts[N] = { 0 };
    for (int i = 0; i < DRAWS; i++)
        counts[sampler_sample(s, FREQ_LOGITS)]++;
    const float kept[N] = { 1.0f, -INFINITY, -INFINITY, -INFINITY, 2.0f, -INFINITY, -INFINITY, 1.5f };
    double q[N];
    softmax(kept, N, 1.0, q);
    double x = chi_square(counts, q, N, DRAWS);
    ck_assert_msg(x < 30.0, "chi-square %g", x);
    sampler_free(s);
}
END_TEST

START_TEST(test_repetition_penalty)
{
    struct sampler_opts o = { .repeat_penalty = 1.2f, .repeat_last_n = 4 };
    struct sampler *s = new_sampler(3, o);
    const float l[] = { 2.0f, 1.5f, -3.0f };
    /* 0 seen twice: divided by 1.2 once (1.67 > 1.5), not twice (1.39). */
    ck_assert_int_eq(sampler_accept(s, 0), 0);
    ck_assert_int_eq(sampler_accept(s, 0), 0);
    ck_assert_int_eq(sampler_sample(s, l), 0);
    ck_assert_int_eq(sampler_accept(s, 3), SAMPLER_EINVAL);
    ck_assert_int_eq(sampler_accept(s, -1), SAMPLER_EINVAL);
    sampler_free(s);

    o.repeat_penalty = 1.5f; /* 2.0 / 1.5 = 1.33 < 1.5 */
    o.repeat_last_n = 2;
    s = new_sampler(3, o);
    ck_assert_int_eq(sampler_accept(s, 0), 0);
    ck_assert_int_eq(sampler_sample(s, l), 1); /* window {0, 1} now */
    ck_assert_int_eq(sampler_sample(s, l), 0); /* 1.33 vs 1.0: 0 wins; window {1, 0} */
    ck_assert_int_eq(sampler_sample(s, l), 0); /* 1 still in the window */
    /* window {0, 0}: 1 has left it */
    ck_assert_int_eq(sampler_sample(s, l), 1);
    sampler_reset(s, 0); /* forget the window */
    ck_assert_int_eq(sampler_sample(s, l), 0);
    sampler_free(s);

    /* Negative logits are multiplied: -1.0 → -2.0 falls below -1.5. */
    o.repeat_penalty = 2.0f;
    s = new_sampler(2, o);
    const float neg[] = { -1.0f, -1.5f };
    ck_assert_int_eq(sampler_accept(s, 0), 0);
    ck_assert_int_eq(sampler_sample(s, neg), 1);
    sampler_free(s);
}
END_TEST

START_TEST(test_no_allocation_per_sample)
{
    enum { N = 32000 };
    float *logits = malloc(N * sizeof *logits);
    for (int i = 0; i < N; i++)
        logits[i] = cosf((float)i * 0.013f) * 3.0f;
    struct mem_counter mc = { 0 };
    struct mem_hooks h = mem_counting_hooks(&mc);
    const struct sampler_opts opts[] = {
        { 0 },
        { .temp = 0.8f, .seed = 1 },
        { .temp = 0.8f, .top_k = 40, .seed = 2 },
        { .temp = 0.8f, .top_p = 0.9f, .seed = 3 },
        { .temp = 0.8f, .top_k = 50, .top_p = 0.9f, .seed = 4, .repeat_penalty = 1.1f,
          .repeat_last_n = 64 },
    };
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        char err[128];
        struct sampler *s = sampler_new(N, &opts[k], &h, err, sizeof err);
        ck_assert_msg(s != NULL, "%s", err);
        size_t n_alloc = mc.n_alloc, live = mc.bytes_live;
        for (int i = 0; i < 100; i++) {
            int32_t id = sampler_sample(s, logits);
            ck_assert_int_ge(id, 0);
            ck_assert_int_lt(id, N);
        }
        ck_assert_uint_eq(mc.n_alloc, n_alloc);
        ck_assert_uint_eq(mc.bytes_live, live);
        sampler_free(s);
        ck_assert_uint_eq(mc.bytes_live, 0);
    }
    ck_assert_uint_eq(mc.n_alloc, mc.n_free);
    free(logits);
}
END_TEST

START_TEST(test_bad_options)
{
    char err[128];
    struct sampler_opts o = { 0 };
    ck_assert_ptr_null(sampler_new(0, &o, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "n_vocab 0"));
    ck_assert_ptr_null(sampler_new(4, NULL, NULL, err, sizeof err));
    o.repeat_last_n = -1;
    ck_assert_ptr_null(sampler_new(4, &o, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "repeat_last_n -1"));
    o.repeat_last_n = SAMPLER_MAX_WINDOW + 1;
    ck_assert_ptr_null(sampler_new(4, &o, NULL, err, sizeof err));
    o.repeat_last_n = 0;
    o.temp = NAN;
    ck_assert_ptr_null(sampler_new(4, &o, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "NaN"));
}
END_TEST

Suite *sampler_suite(void)
{
    Suite *s = suite_create("sampler");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_greedy);
    tcase_add_test(tc, test_infinities_when_sampling);
    tcase_add_test(tc, test_deterministic_for_a_seed);
    tcase_add_test(tc, test_degenerate_top_k_top_p_are_greedy);
    tcase_add_test(tc, test_frequencies_match_softmax);
    tcase_add_test(tc, test_top_k_frequencies);
    tcase_add_test(tc, test_top_p_frequencies);
    tcase_add_test(tc, test_repetition_penalty);
    tcase_add_test(tc, test_no_allocation_per_sample);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}
