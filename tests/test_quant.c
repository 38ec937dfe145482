/* quant suite: the type table (traits, the reference kernel table, the
 * random-block recipes) and fp16/bf16 conversion, exhaustive and at the
 * rounding boundaries.
 *
 * The other quant suites sit beside it, one file each: quant_dequant (the
 * reference kernels on hand-built blocks), quant_quantize (the activation
 * quantizers' rounding rules, quantize/dequantize error bounds), quant_dot
 * (dot products against dequantized floats) and quant_golden (the golden
 * models); their shared helpers are in tests/quant_util.h. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "tests/quant_util.h"

/* ---------------------------------------------------------------------- */
/* type table                                                              */

START_TEST(test_traits_table)
{
    static const struct { int t; const char *name; int64_t blck; size_t size; } rows[] = {
        { QT_F32, "F32", 1, 4 },         { QT_F16, "F16", 1, 2 },
        { QT_BF16, "BF16", 1, 2 },       { QT_Q4_0, "Q4_0", 32, sizeof(struct block_q4_0) },
        { QT_Q4_1, "Q4_1", 32, sizeof(struct block_q4_1) },
        { QT_Q5_0, "Q5_0", 32, sizeof(struct block_q5_0) },
        { QT_Q5_1, "Q5_1", 32, sizeof(struct block_q5_1) },
        { QT_Q8_0, "Q8_0", 32, sizeof(struct block_q8_0) },
        { QT_Q8_1, "Q8_1", 32, sizeof(struct block_q8_1) },
        { QT_Q2_K, "Q2_K", 256, sizeof(struct block_q2_K) },
        { QT_Q3_K, "Q3_K", 256, sizeof(struct block_q3_K) },
        { QT_Q4_K, "Q4_K", 256, sizeof(struct block_q4_K) },
        { QT_Q5_K, "Q5_K", 256, sizeof(struct block_q5_K) },
        { QT_Q6_K, "Q6_K", 256, sizeof(struct block_q6_K) },
        { QT_Q8_K, "Q8_K", 256, sizeof(struct block_q8_K) },
        { QT_IQ4_NL, "IQ4_NL", 32, sizeof(struct block_iq4_nl) },
        { QT_IQ4_XS, "IQ4_XS", 256, sizeof(struct block_iq4_xs) },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct quant_traits *tr = tr_of(rows[i].t);
        ck_assert_str_eq(tr->name, rows[i].name);
        ck_assert_int_eq(tr->blck, rows[i].blck);
        ck_assert_uint_eq(tr->type_size, rows[i].size);
        ck_assert_int_eq(quant_type_from_name(rows[i].name), rows[i].t);
        ck_assert_uint_eq(quant_row_size(rows[i].t, 4 * rows[i].blck), 4 * rows[i].size);
    }
    ck_assert_int_eq(quant_type_from_name("q4_k"), QT_Q4_K);
    ck_assert_int_eq(quant_type_from_name("Q4_K_M"), -1);
    ck_assert_ptr_null(quant_traits_get(4));  /* retired id */
    ck_assert_ptr_null(quant_traits_get(-1));
    ck_assert_ptr_null(quant_traits_get(QT_COUNT));
    ck_assert_str_eq(quant_type_name(5), "unknown");

    /* supported: exactly the 15 weight types; each has a dequantizer, a dot,
     * and a vec_dot_type that can be produced from floats */
    int n_supported = 0;
    for (int t = -2; t < QT_COUNT + 2; t++) {
        bool want = false;
        for (int j = 0; j < N_WEIGHT_TYPES; j++)
            want |= k_weight_types[j] == t;
        ck_assert_msg(quant_supported(t) == want, "quant_supported(%d)", t);
        if (!want)
            continue;
        n_supported++;
        const struct quant_traits *tr = tr_of(t);
        ck_assert_ptr_nonnull(tr->to_float);
        ck_assert_ptr_nonnull(tr->dot);
        const struct quant_traits *vt = tr_of((int)tr->vec_dot_type);
        ck_assert_ptr_nonnull(vt->from_float);
        ck_assert_ptr_nonnull(vt->to_float);
        ck_assert_int_eq(vt->blck, tr->blck); /* one activation block per weight block */
    }
    ck_assert_int_eq(n_supported, 15);
    ck_assert_int_eq(tr_of(QT_Q4_1)->vec_dot_type, QT_Q8_1);
    ck_assert_int_eq(tr_of(QT_Q5_1)->vec_dot_type, QT_Q8_1);
    ck_assert_int_eq(tr_of(QT_IQ4_NL)->vec_dot_type, QT_Q8_0);
    ck_assert_int_eq(tr_of(QT_IQ4_XS)->vec_dot_type, QT_Q8_K);
    ck_assert_int_eq(tr_of(QT_Q6_K)->vec_dot_type, QT_Q8_K);
    ck_assert_int_eq(tr_of(QT_BF16)->vec_dot_type, QT_BF16);
    ck_assert(!quant_supported(QT_Q8_K) && !quant_supported(QT_IQ2_XXS));
}
END_TEST

START_TEST(test_kernels_init_ref)
{
    struct quant_kernels k;
    memset(&k, 0xa5, sizeof k);
    quant_kernels_init(&k, QISA_REF);
    ck_assert_int_eq(k.isa, QISA_REF);
    ck_assert_str_eq(quant_isa_name(QISA_REF), "ref");
    for (int t = 0; t < QT_COUNT; t++) {
        const struct quant_traits *tr = quant_traits_get(t);
        quant_dot_fn dot = tr ? tr->dot : NULL;
        quant_to_float_fn tf = tr ? tr->to_float : NULL;
        quant_from_float_fn ff = tr ? tr->from_float : NULL;
        ck_assert_msg(k.dot[t] == dot, "dot[%d]", t);
        ck_assert_msg(k.to_float[t] == tf, "to_float[%d]", t);
        ck_assert_msg(k.from_float[t] == ff, "from_float[%d]", t);
        if (dot)
            ck_assert_int_eq(k.dot_isa[t], QISA_REF);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* fp16 / bf16                                                             */

/* The value of half h computed from its fields with ldexp, independently of
 * the conversion under test. */
static float half_value(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(1024 + m), e - 25);
    return sign ? -v : v;
}

START_TEST(test_f16_exhaustive)
{
    int n_nan = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = quant_f16_to_f32((qt_half)h);
        float want = half_value((uint16_t)h);
        uint16_t back = quant_f32_to_f16(f);
        if (isnan(want)) {
            n_nan++;
            REQUIRE(isnan(f), "0x%04x should be nan", h);
            REQUIRE((signbit(f) != 0) == ((h >> 15) != 0), "0x%04x sign", h);
            /* the payload survives widening */
            REQUIRE((f2u(f) & 0x7fffff) == (h & 0x3ffu) << 13, "0x%04x payload", h);
            REQUIRE((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0 &&
                              (back & 0x8000) == (h & 0x8000),
                          "nan 0x%04x came back as 0x%04x", h, back);
        } else {
            REQUIRE(f2u(f) == f2u(want), "0x%04x -> %.9g, want %.9g", h, f, want);
            REQUIRE(back == h, "0x%04x -> %.9g -> 0x%04x", h, f, back);
        }
    }
    ck_assert_int_eq(n_nan, 2 * 1023);
}
END_TEST

START_TEST(test_f16_rounding)
{
    static const struct { float f; uint16_t h; } cases[] = {
        { 1.0f, 0x3c00 },
        { 1.0f + 0x1p-11f, 0x3c00 },            /* tie, 1.0 is even */
        { 1.0f + 0x1p-11f + 0x1p-23f, 0x3c01 }, /* just above the tie */
        { 1.0f + 3 * 0x1p-11f, 0x3c02 },        /* tie between 0x3c01 and 0x3c02: even */
        { -1.0f - 3 * 0x1p-11f, 0xbc02 },
        { 65504.0f, 0x7bff },                   /* max half */
        { 65519.996f, 0x7bff },
        { 65520.0f, 0x7c00 },                   /* tie with 65536: rounds to inf */
        { 1e10f, 0x7c00 },
        { -1e10f, 0xfc00 },
        { INFINITY, 0x7c00 },
        { -INFINITY, 0xfc00 },
        { 0x1p-14f, 0x0400 },                   /* smallest normal */
        { 0x1p-14f - 0x1p-25f, 0x0400 },        /* tie 0x3ff / 0x400: even */
        { 0x1p-14f - 3 * 0x1p-25f, 0x03fe },    /* tie 0x3fe / 0x3ff: even */
        { 0x1p-24f, 0x0001 },                   /* smallest subnormal */
        { 0x1p-25f, 0x0000 },                   /* tie 0 / 1: even */
        { 0x1p-25f + 0x1p-40f, 0x0001 },
        { 3 * 0x1p-25f, 0x0002 },               /* tie 1 / 2: even */
        { 5 * 0x1p-25f, 0x0002 },               /* tie 2 / 3: even */
        { -5 * 0x1p-25f, 0x8002 },
        { 1e-10f, 0x0000 },
        { 1e-40f, 0x0000 },                     /* float subnormal */
        { -0.0f, 0x8000 },
        { 0.0f, 0x0000 },
        { 0.1f, 0x2e66 },
        { 3.14159265f, 0x4248 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(quant_f32_to_f16(cases[i].f) == cases[i].h, "%.9g -> 0x%04x, want 0x%04x",
                      cases[i].f, quant_f32_to_f16(cases[i].f), cases[i].h);
    ck_assert(isnan(quant_f16_to_f32(quant_f32_to_f16(NAN))));

    /* Random floats across the whole half range (and beyond it): the result
     * is a nearest half, and on an exact tie the even one. */
    uint64_t s = 7;
    for (int it = 0; it < 200000; it++) {
        uint32_t e = 100 + (uint32_t)(rng_next(&s) % 45); /* 2^-27 .. 2^17 */
        float f = u2f((e << 23) | (uint32_t)(rng_next(&s) & 0x7fffff));
        if (it % 4 == 0) {
            /* the exact midpoint of two adjacent finite halves */
            uint16_t a = (uint16_t)(rng_next(&s) % 0x7bff);
            f = (float)(((double)half_value(a) + half_value((uint16_t)(a + 1))) / 2);
        }
        if (rng_next(&s) & 1)
            f = -f;
        uint16_t hs = quant_f32_to_f16(f);
        REQUIRE((hs & 0x8000) == (signbit(f) ? 0x8000 : 0), "%.9g -> 0x%04x: sign", f, hs);
        uint16_t h = hs & 0x7fff;
        double x = fabs((double)f);
        if (x >= 65520.0) {
            REQUIRE(h == 0x7c00, "%.9g -> 0x%04x, want inf", f, hs);
            continue;
        }
        REQUIRE(h < 0x7c00, "%.9g -> 0x%04x", f, hs);
        double err = fabs(half_value(h) - x);
        double lo = h > 0 ? fabs(half_value((uint16_t)(h - 1)) - x) : INFINITY;
        double hi = h < 0x7bff ? fabs(half_value((uint16_t)(h + 1)) - x) : INFINITY;
        REQUIRE(err <= lo && err <= hi, "%.9g -> 0x%04x is not nearest", f, h);
        if (err == lo || err == hi)
            REQUIRE((h & 1) == 0, "%.9g tie -> odd 0x%04x", f, h);
    }
}
END_TEST

START_TEST(test_bf16)
{
    /* exhaustive widening + round trip */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = quant_bf16_to_f32((uint16_t)h);
        REQUIRE(f2u(f) == h << 16, "bf16 0x%04x widened to 0x%08x", h, f2u(f));
        uint16_t back = quant_f32_to_bf16(f);
        if (isnan(f))
            REQUIRE(isnan(quant_bf16_to_f32(back)) && (back & 0x8000) == (h & 0x8000),
                          "nan 0x%04x -> 0x%04x", h, back);
        else
            REQUIRE(back == h, "0x%04x -> 0x%04x", h, back);
    }
    static const struct { float f; uint16_t h; } cases[] = {
        { 1.0f, 0x3f80 },
        { 1.0f + 0x1p-8f, 0x3f80 },            /* tie, even */
        { 1.0f + 0x1p-8f + 0x1p-23f, 0x3f81 },
        { 1.0f + 3 * 0x1p-8f, 0x3f82 },        /* tie 0x3f81 / 0x3f82: even */
        { -1.0f - 3 * 0x1p-8f, 0xbf82 },
        { 3.4028235e38f, 0x7f80 },             /* FLT_MAX rounds up to inf */
        { 0x1p-140f, 0x0000 },                 /* float subnormal below bf16 resolution */
        { 0x1p-130f, 0x0008 },                 /* float subnormal kept exactly */
        { 0.1f, 0x3dcd },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(quant_f32_to_bf16(cases[i].f) == cases[i].h, "%.9g -> 0x%04x, want 0x%04x",
                      cases[i].f, quant_f32_to_bf16(cases[i].f), cases[i].h);
    uint16_t qn = quant_f32_to_bf16(u2f(0x7f800001)); /* signalling nan with a low payload */
    ck_assert(isnan(quant_bf16_to_f32(qn)));

    /* random: nearest of the two truncation neighbours, ties to even */
    uint64_t s = 11;
    for (int it = 0; it < 200000; it++) {
        uint32_t u = (uint32_t)rng_next(&s);
        if ((u & 0x7f800000u) == 0x7f800000u)
            continue;
        if (it % 4 == 0)
            u = (u & 0xffff0000u) | 0x8000u; /* exact tie */
        uint16_t t = (uint16_t)(u >> 16);
        double x = u2f(u);
        double a = quant_bf16_to_f32(t), b = quant_bf16_to_f32((uint16_t)(t + 1));
        if (((t + 1) & 0x7fff) == 0x7f80) /* next is 2^128: round as if the exponent went on */
            b = copysign(0x1p128, x);
        uint16_t want;
        if (fabs(x - a) < fabs(x - b))
            want = t;
        else if (fabs(x - a) > fabs(x - b))
            want = (uint16_t)(t + 1);
        else
            want = (t & 1) ? (uint16_t)(t + 1) : t;
        REQUIRE(quant_f32_to_bf16(u2f(u)) == want, "0x%08x -> 0x%04x, want 0x%04x", u,
                      quant_f32_to_bf16(u2f(u)), want);
    }
}
END_TEST

/* Every type the engine computes with has a random-block recipe in the
 * table, and its blocks are valid: they dequantize to finite values whose
 * spread is near the one asked for and whose mean is near zero; the same
 * seed gives the same bytes, another seed other bytes. */
START_TEST(test_random_blocks)
{
    for (int t = 0; t < QT_COUNT; t++) {
        const struct quant_traits *tr = quant_traits_get(t);
        if (!tr || !tr->dot)
            continue;
        ck_assert_msg(tr->random_block != NULL, "%s has no random-block recipe", tr->name);
        const int64_t n = 256 * 64;
        const size_t bytes = quant_row_size(t, n), nb = (size_t)(n / tr->blck);
        uint8_t *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
        float *y = malloc((size_t)n * sizeof *y);
        ck_assert(a && b && c && y);
        struct quant_rng r;
        quant_rng_seed(&r, 7, 0);
        ck_assert_int_eq(quant_random_blocks(t, &r, a, nb, 0.02f), 0);
        quant_rng_seed(&r, 7, 0);
        ck_assert_int_eq(quant_random_blocks(t, &r, b, nb, 0.02f), 0);
        quant_rng_seed(&r, 8, 0);
        ck_assert_int_eq(quant_random_blocks(t, &r, c, nb, 0.02f), 0);
        ck_assert_msg(memcmp(a, b, bytes) == 0, "%s: same seed, other bytes", tr->name);
        ck_assert_msg(memcmp(a, c, bytes) != 0, "%s: other seed, same bytes", tr->name);
        tr->to_float(a, y, n);
        double sum = 0.0, sq = 0.0;
        for (int64_t i = 0; i < n; i++) {
            ck_assert_msg(isfinite(y[i]), "%s value %lld not finite", tr->name, (long long)i);
            sum += y[i];
            sq += (double)y[i] * y[i];
        }
        const double mean = sum / (double)n, sd = sqrt(sq / (double)n - mean * mean);
        ck_assert_msg(sd > 0.01 && sd < 0.04, "%s: std %.4f, asked 0.02", tr->name, sd);
        ck_assert_msg(fabs(mean) < 0.005, "%s: mean %.4f", tr->name, mean);
        free(a);
        free(b);
        free(c);
        free(y);
    }
    ck_assert_int_eq(quant_random_blocks(QT_IQ2_XXS, NULL, NULL, 1, 0.02f), -1);
}
END_TEST

Suite *quant_suite(void)
{
    Suite *s = suite_create("quant");

    TCase *tt = tcase_create("table");
    tcase_add_test(tt, test_traits_table);
    tcase_add_test(tt, test_kernels_init_ref);
    tcase_add_test(tt, test_random_blocks);
    suite_add_tcase(s, tt);

    TCase *tf = tcase_create("fp16_bf16");
    tcase_set_timeout(tf, 60);
    tcase_add_test(tf, test_f16_exhaustive);
    tcase_add_test(tf, test_f16_rounding);
    tcase_add_test(tf, test_bf16);
    suite_add_tcase(s, tf);
    return s;
}
