/* quant suite: the type table, fp16/bf16 conversion (exhaustive and at the
 * rounding boundaries), the reference kernels on hand-built blocks with
 * exact expected values, the activation quantizers' rounding rules, dot
 * products against dequantized floats on random blocks, quantize/dequantize
 * error bounds, and the golden models: every quantized matrix dequantized
 * against the F32 source, and the simple quantizers reproducing
 * llama-quantize's bytes.
 *
 * Expected values here are derived from the layout descriptions (weight i
 * lives in bit b of byte k), independently of the loop structure of the
 * kernels under test. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/quant.h"
#include "tests/testutil.h"

/* For hot loops: every passing ck_assert records its location through
 * Check's fork-mode channel, which costs a write per call; this checks
 * silently and only reports a failure. */
#define REQUIRE(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* The 15 weight types the engine computes with. */
static const int k_weight_types[] = {
    QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1, QT_Q8_0,
    QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_IQ4_NL, QT_IQ4_XS,
};
#define N_WEIGHT_TYPES ((int)(sizeof k_weight_types / sizeof k_weight_types[0]))

/* IQ4_NL's table, written out here as data so a typo in the engine's copy
 * fails. */
static const int8_t k_kv[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
                                 1,    13,   25,  38,  53,  69,  89,  113 };

static bool verbose(void)
{
    return getenv("GGPERF_QUANT_VERBOSE") != NULL;
}

/* ---------------------------------------------------------------------- */
/* small helpers                                                           */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* uniform in [0, 1) */
static float rng_unif(uint64_t *s)
{
    return (float)(rng_next(s) >> 40) * 0x1p-24f;
}

static float rng_normal(uint64_t *s)
{
    float u1 = rng_unif(s), u2 = rng_unif(s);
    if (u1 < 1e-7f)
        u1 = 1e-7f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

/* uniform magnitude in [lo, hi) with a random sign when signed_ is set */
static float rng_scale(uint64_t *s, float lo, float hi, bool signed_)
{
    float v = lo + (hi - lo) * rng_unif(s);
    return (signed_ && (rng_next(s) & 1)) ? -v : v;
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static const struct quant_traits *tr_of(int t)
{
    const struct quant_traits *tr = quant_traits_get(t);
    ck_assert_msg(tr != NULL, "no traits for type %d", t);
    return tr;
}

/* Dequantize n values of type t with the reference kernel and require every
 * one to equal want[] bit for bit. */
static void expect_dequant(int t, const void *blocks, const float *want, int n)
{
    float *got = malloc((size_t)n * sizeof *got);
    ck_assert_ptr_nonnull(got);
    tr_of(t)->to_float(blocks, got, n);
    for (int i = 0; i < n; i++)
        REQUIRE(f2u(got[i]) == f2u(want[i]), "%s: weight %d is %.9g, want %.9g",
                      quant_type_name(t), i, got[i], want[i]);
    free(got);
}

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

/* ---------------------------------------------------------------------- */
/* hand-built blocks                                                       */

START_TEST(test_dequant_q4_0)
{
    struct block_q4_0 b[2];
    float want[64];
    for (int k = 0; k < 2; k++) {
        b[k].d = k == 0 ? 0x3800 : 0xc000; /* 0.5, -2.0 */
        float d = k == 0 ? 0.5f : -2.0f;
        for (int j = 0; j < 16; j++)
            b[k].qs[j] = (uint8_t)(j | (15 - j) << 4);
        /* weight j < 16: low nibble of qs[j]; weight 16 + j: high nibble */
        for (int j = 0; j < 16; j++) {
            want[32 * k + j] = (float)(j - 8) * d;
            want[32 * k + 16 + j] = (float)(7 - j) * d;
        }
    }
    ck_assert_float_eq(want[0], -4.0f);
    ck_assert_float_eq(want[15], 3.5f);
    ck_assert_float_eq(want[16], 3.5f);
    ck_assert_float_eq(want[63], 16.0f);
    expect_dequant(QT_Q4_0, b, want, 64);
}
END_TEST

START_TEST(test_dequant_q4_1_q5_1)
{
    struct block_q4_1 a = { .d = 0x3800, .m = 0xc000 }; /* 0.5, -2 */
    float wa[32];
    for (int j = 0; j < 16; j++)
        a.qs[j] = (uint8_t)(((7 * j) % 16) | ((7 * (j + 16)) % 16) << 4);
    for (int i = 0; i < 32; i++)
        wa[i] = (float)((7 * i) % 16) * 0.5f - 2.0f;
    ck_assert_float_eq(wa[1], 1.5f);
    expect_dequant(QT_Q4_1, &a, wa, 32);

    struct block_q5_1 b = { .d = 0x3400, .m = 0x3c00 }; /* 0.25, 1 */
    float wb[32];
    uint32_t qh = 0;
    memset(b.qs, 0, sizeof b.qs);
    for (int i = 0; i < 32; i++) {
        int q = (11 * i) % 32;
        b.qs[i % 16] |= (uint8_t)((q & 15) << (i < 16 ? 0 : 4));
        qh |= (uint32_t)(q >> 4) << i;
        wb[i] = (float)q * 0.25f + 1.0f;
    }
    for (int k = 0; k < 4; k++)
        b.qh[k] = (uint8_t)(qh >> (8 * k));
    expect_dequant(QT_Q5_1, &b, wb, 32);
}
END_TEST

START_TEST(test_dequant_q5_0)
{
    struct block_q5_0 b = { .d = 0x3400, .qh = { 0xa5, 0xa5, 0xf0, 0xf0 } }; /* d = 0.25 */
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float want[32];
    for (int i = 0; i < 32; i++) {
        int nib = i < 16 ? b.qs[i] & 15 : b.qs[i - 16] >> 4;
        int bit5 = (b.qh[i / 8] >> (i % 8)) & 1; /* bit i of the 32-bit LE qh */
        want[i] = (float)((nib | bit5 << 4) - 16) * 0.25f;
    }
    ck_assert_float_eq(want[0], 0.0f);   /* nib 0, bit 1 -> 16 */
    ck_assert_float_eq(want[1], -3.75f); /* nib 1, bit 0 -> 1 */
    ck_assert_float_eq(want[16], -0.25f);/* nib 15, bit 0 -> 15 */
    ck_assert_float_eq(want[31], 0.0f);  /* nib 0, bit 1 -> 16 */
    expect_dequant(QT_Q5_0, &b, want, 32);
}
END_TEST

START_TEST(test_dequant_q8_0_q8_1_q8_K)
{
    struct block_q8_0 b = { .d = 0x4000 }; /* 2.0 */
    struct block_q8_1 c = { .d = 0x3800, .s = 0x7bff }; /* 0.5; s is not used */
    float wb[32], wc[32];
    for (int j = 0; j < 32; j++) {
        b.qs[j] = (int8_t)(8 * j - 128);
        c.qs[j] = (int8_t)(127 - 8 * j);
        wb[j] = 2.0f * (float)(8 * j - 128);
        wc[j] = 0.5f * (float)(127 - 8 * j);
    }
    ck_assert_float_eq(wb[0], -256.0f);
    expect_dequant(QT_Q8_0, &b, wb, 32);
    expect_dequant(QT_Q8_1, &c, wc, 32);

    static struct block_q8_K k;
    static float wk[256];
    k.d = -0.25f;
    for (int j = 0; j < 256; j++) {
        k.qs[j] = (int8_t)(j - 128);
        wk[j] = -0.25f * (float)(j - 128);
    }
    expect_dequant(QT_Q8_K, &k, wk, 256);
}
END_TEST

START_TEST(test_dequant_iq4_nl)
{
    struct block_iq4_nl b = { .d = 0x3800 }; /* 0.5 */
    float want[32];
    memset(b.qs, 0, sizeof b.qs);
    for (int i = 0; i < 32; i++) {
        int idx = (3 * i + 1) % 16;
        b.qs[i % 16] |= (uint8_t)(idx << (i < 16 ? 0 : 4));
        want[i] = 0.5f * (float)k_kv[idx];
    }
    ck_assert_float_eq(want[0], -52.0f);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(quant_kvalues_iq4nl[i], k_kv[i]);
    expect_dequant(QT_IQ4_NL, &b, want, 32);
}
END_TEST

START_TEST(test_dequant_q2_K)
{
    struct block_q2_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3800;    /* 0.5 */
    b.dmin = 0x3400; /* 0.25 */
    for (int s = 0; s < 16; s++)
        b.scales[s] = (uint8_t)(s | (15 - s) << 4); /* scale s, min 15 - s */
    for (int i = 0; i < 256; i++) {
        int q = (3 * i + 1) % 4;
        /* half i/128 uses qs[32h..32h+31]; weight 32k + l of the half is
         * bits 2k..2k+1 of qs[32h + l] */
        int h = i / 128, k = (i % 128) / 32, l = i % 32;
        b.qs[32 * h + l] |= (uint8_t)(q << (2 * k));
        int s = i / 16;
        want[i] = (0.5f * (float)s) * (float)q - 0.25f * (float)(15 - s);
    }
    ck_assert_float_eq(want[0], -3.75f);       /* s 0, q 1 */
    ck_assert_float_eq(want[255], 15.0f);      /* s 15, q 766 % 4 = 2, min 0 */
    expect_dequant(QT_Q2_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_q3_K)
{
    struct block_q3_K b;
    float want[256];
    int raw[16];
    memset(&b, 0, sizeof b);
    b.d = 0x3400; /* 0.25 */
    for (int j = 0; j < 16; j++) {
        raw[j] = (4 * j + 3 + (j % 3) * 17) % 64; /* 6-bit, stored biased by 32 */
        /* low 4 bits: j < 8 low nibble of byte j, else high nibble of byte j - 8;
         * high 2 bits: bits 2*(j/4) of byte 8 + j%4 */
        if (j < 8)
            b.scales[j] |= (uint8_t)(raw[j] & 15);
        else
            b.scales[j - 8] |= (uint8_t)((raw[j] & 15) << 4);
        b.scales[8 + j % 4] |= (uint8_t)((raw[j] >> 4) << (2 * (j / 4)));
    }
    for (int i = 0; i < 256; i++) {
        int q = (5 * i + 2) % 8 - 4; /* -4..3 */
        int hbit = q >= 0, low = hbit ? q : q + 4; /* value = low - (hbit ? 0 : 4) */
        int h = i / 128, k = (i % 128) / 32, l = i % 32;
        b.qs[32 * h + l] |= (uint8_t)(low << (2 * k));
        b.hmask[i % 32] |= (uint8_t)(hbit << (i / 32));
        want[i] = (0.25f * (float)(raw[i / 16] - 32)) * (float)q;
    }
    expect_dequant(QT_Q3_K, &b, want, 256);
}
END_TEST

/* Pack Q4_K/Q5_K's eight 6-bit scales and mins into 12 bytes:
 * bytes 0..3: scale j (j < 4) in the low 6 bits, high 2 bits of scale j + 4 on top;
 * bytes 4..7: min j (j < 4) likewise, high 2 bits of min j + 4 on top;
 * bytes 8..11: low nibble = low 4 bits of scale j + 4, high nibble = of min j + 4. */
static void pack_k4_scales(uint8_t out[12], const int sc[8], const int mn[8])
{
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        out[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        out[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
}

static const int k_sc[8] = { 1, 17, 33, 63, 5, 40, 21, 50 };
static const int k_mn[8] = { 0, 2, 63, 7, 33, 12, 48, 1 };

START_TEST(test_dequant_q4_K)
{
    struct block_q4_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3c00;    /* 1.0 */
    b.dmin = 0x3800; /* 0.5 */
    pack_k4_scales(b.scales, k_sc, k_mn);
    for (int i = 0; i < 256; i++) {
        int q = (7 * i + 3) % 16;
        /* chunk c = i/64 uses qs[32c..32c+31]: first 32 weights in the low
         * nibbles, next 32 in the high nibbles */
        int c = i / 64, r = i % 64;
        b.qs[32 * c + r % 32] |= (uint8_t)(q << (r < 32 ? 0 : 4));
        want[i] = (float)k_sc[i / 32] * (float)q - 0.5f * (float)k_mn[i / 32];
    }
    ck_assert_float_eq(want[0], 3.0f);
    ck_assert_float_eq(want[64], 67.5f); /* scale 33, q 3, min 63 */
    expect_dequant(QT_Q4_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_q5_K)
{
    struct block_q5_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3800;    /* 0.5 */
    b.dmin = 0x3c00; /* 1.0 */
    pack_k4_scales(b.scales, k_sc, k_mn);
    for (int i = 0; i < 256; i++) {
        int q = (13 * i + 5) % 32;
        int c = i / 64, r = i % 64;
        b.qs[32 * c + r % 32] |= (uint8_t)((q & 15) << (r < 32 ? 0 : 4));
        b.qh[i % 32] |= (uint8_t)((q >> 4) << (i / 32)); /* fifth bit: bit i/32 of qh[i%32] */
        want[i] = (0.5f * (float)k_sc[i / 32]) * (float)q - (float)k_mn[i / 32];
    }
    expect_dequant(QT_Q5_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_q6_K)
{
    struct block_q6_K b;
    float want[256];
    memset(&b, 0, sizeof b);
    b.d = 0x3000; /* 0.125 */
    for (int s = 0; s < 16; s++)
        b.scales[s] = (int8_t)(9 * s - 70);
    for (int i = 0; i < 256; i++) {
        int q = (13 * i + 5) % 64;
        /* half n = i/128 uses ql[64n..] and qh[32n..]; quarter k = (i%128)/32:
         * low 4 bits in ql[64n + l + 32*(k&1)], low nibble for k < 2;
         * high 2 bits at bits 2k of qh[32n + l] */
        int n = i / 128, k = (i % 128) / 32, l = i % 32;
        b.ql[64 * n + l + 32 * (k & 1)] |= (uint8_t)((q & 15) << (k < 2 ? 0 : 4));
        b.qh[32 * n + l] |= (uint8_t)((q >> 4) << (2 * k));
        want[i] = 0.125f * (float)b.scales[i / 16] * (float)(q - 32);
    }
    ck_assert_float_eq(want[0], 0.125f * -70.0f * (5 - 32));
    expect_dequant(QT_Q6_K, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_iq4_xs)
{
    struct block_iq4_xs b;
    float want[256];
    static const int ls[8] = { 0, 63, 32, 31, 1, 45, 17, 60 };
    memset(&b, 0, sizeof b);
    b.d = 0x3800; /* 0.5 */
    for (int ib = 0; ib < 8; ib++) {
        /* low 4 bits: nibble ib%2 of scales_l[ib/2]; high 2: bits 2ib of scales_h */
        b.scales_l[ib / 2] |= (uint8_t)((ls[ib] & 15) << (4 * (ib % 2)));
        b.scales_h |= (uint16_t)((ls[ib] >> 4) << (2 * ib));
    }
    for (int i = 0; i < 256; i++) {
        int idx = (5 * i + 1) % 16, ib = i / 32, r = i % 32;
        b.qs[16 * ib + r % 16] |= (uint8_t)(idx << (r < 16 ? 0 : 4));
        want[i] = (0.5f * (float)(ls[ib] - 32)) * (float)k_kv[idx];
    }
    ck_assert_float_eq(want[0], -16.0f * -104.0f); /* ls 0, idx 1 */
    expect_dequant(QT_IQ4_XS, &b, want, 256);
}
END_TEST

START_TEST(test_dequant_float_types)
{
    const uint16_t h[4] = { 0x3c00, 0xc000, 0x0001, 0x7bff };
    const float wh[4] = { 1.0f, -2.0f, 0x1p-24f, 65504.0f };
    expect_dequant(QT_F16, h, wh, 4);
    const uint16_t bf[3] = { 0x3f80, 0xc040, 0x0001 };
    const float wbf[3] = { 1.0f, -3.0f, u2f(0x00010000) };
    expect_dequant(QT_BF16, bf, wbf, 3);
    const float f[3] = { 1.5f, -0.0f, 1e-30f };
    expect_dequant(QT_F32, f, f, 3);

    float back[4];
    uint16_t hq[4];
    tr_of(QT_F16)->from_float(wh, hq, 4);
    ck_assert_mem_eq(hq, h, sizeof h);
    tr_of(QT_BF16)->from_float(wbf, hq, 3);
    ck_assert_mem_eq(hq, bf, sizeof bf);
    tr_of(QT_F32)->from_float(f, back, 3);
    ck_assert_mem_eq(back, f, sizeof f);
}
END_TEST

START_TEST(test_zero_blocks)
{
    /* An all-zero input quantizes to blocks that dequantize to zeros. */
    static float x[512], y[512];
    static unsigned char buf[4096];
    const int types[] = { QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1, QT_Q8_0, QT_Q8_1, QT_Q8_K, QT_IQ4_NL };
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const struct quant_traits *tr = tr_of(types[k]);
        memset(buf, 0xee, sizeof buf);
        tr->from_float(x, buf, 512);
        for (int i = 0; i < 512; i++)
            y[i] = 1.0f;
        tr->to_float(buf, y, 512);
        for (int i = 0; i < 512; i++)
            REQUIRE(y[i] == 0.0f, "%s: %d is %g", tr->name, i, y[i]);
    }
    struct block_q8_K kb[2];
    tr_of(QT_Q8_K)->from_float(x, kb, 512);
    for (int j = 0; j < 16; j++)
        ck_assert_int_eq(kb[1].bsums[j], 0);
    ck_assert_float_eq(kb[1].d, 0.0f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* activation quantizers: exact rounding rules                             */

START_TEST(test_quantize_q8_0_q8_1_exact)
{
    float x[32] = { 0 };
    /* amax 127 -> d = 1 exactly, so q = roundf(x): ties away from zero */
    x[0] = 127.0f;
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.5f;
    x[4] = -0.49f;
    x[5] = -127.0f;
    x[6] = 126.5f;
    x[7] = 3.5f;
    const int8_t want[8] = { 127, 3, -3, 1, 0, -127, 127, 4 };
    struct block_q8_0 b;
    tr_of(QT_Q8_0)->from_float(x, &b, 32);
    ck_assert_uint_eq(b.d, 0x3c00);
    for (int j = 0; j < 8; j++)
        ck_assert_int_eq(b.qs[j], want[j]);
    for (int j = 8; j < 32; j++)
        ck_assert_int_eq(b.qs[j], 0);

    struct block_q8_1 c;
    tr_of(QT_Q8_1)->from_float(x, &c, 32);
    ck_assert_uint_eq(c.d, 0x3c00);
    ck_assert_mem_eq(c.qs, b.qs, 32);
    int sum = 0;
    for (int j = 0; j < 32; j++)
        sum += c.qs[j];
    ck_assert_uint_eq(c.s, quant_f32_to_f16((float)sum));

    /* d is stored as fp16 of the float amax/127; q uses the unrounded d */
    for (int j = 0; j < 32; j++)
        x[j] = (float)j / 31.0f;
    tr_of(QT_Q8_0)->from_float(x, &b, 32);
    ck_assert_uint_eq(b.d, quant_f32_to_f16(1.0f / 127));
    for (int j = 0; j < 32; j++)
        ck_assert_int_eq(b.qs[j], (int)roundf(x[j] * (1.0f / (1.0f / 127))));
}
END_TEST

START_TEST(test_quantize_q8_K_exact)
{
    static float x[3 * 256];
    memset(x, 0, sizeof x);
    /* block 0: max magnitude is negative (-127): iscale = -127/max = 1,
     * d = 1, q = nearest_int(x): ties to even */
    x[0] = -127.0f;
    x[1] = 2.5f;
    x[2] = 3.5f;
    x[3] = -2.5f;
    x[4] = 0.5f;
    x[5] = 1.5f;
    x[6] = 127.0f; /* same magnitude later: the first one sets the sign */
    x[20] = -0.5f;
    /* block 1: max magnitude positive: iscale = -1, d = -1, q = -x */
    x[256] = 127.0f;
    x[257] = 2.5f;
    x[258] = -3.5f;
    /* block 2 stays zero */
    struct block_q8_K b[3];
    tr_of(QT_Q8_K)->from_float(x, b, 3 * 256);
    const int8_t w0[7] = { -127, 2, 4, -2, 0, 2, 127 };
    ck_assert_float_eq(b[0].d, 1.0f);
    for (int j = 0; j < 7; j++)
        ck_assert_int_eq(b[0].qs[j], w0[j]);
    ck_assert_int_eq(b[0].qs[20], 0);
    ck_assert_int_eq(b[0].bsums[0], -127 + 2 + 4 - 2 + 0 + 2 + 127);
    ck_assert_int_eq(b[0].bsums[1], 0);
    ck_assert_float_eq(b[1].d, -1.0f);
    ck_assert_int_eq(b[1].qs[0], -127);
    ck_assert_int_eq(b[1].qs[1], -2);
    ck_assert_int_eq(b[1].qs[2], 4);
    ck_assert_int_eq(b[1].bsums[0], -127 - 2 + 4);
    ck_assert_float_eq(b[2].d, 0.0f);
    for (int j = 0; j < 256; j++)
        REQUIRE(b[2].qs[j] == 0, "zero block q[%d] = %d", j, b[2].qs[j]);

    /* a generic block: bsums are the sums of 16 and d * q tracks x */
    uint64_t s = 3;
    for (int j = 0; j < 256; j++)
        x[j] = rng_normal(&s);
    tr_of(QT_Q8_K)->from_float(x, b, 256);
    float amax = 0;
    for (int j = 0; j < 256; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    ck_assert_float_eq_tol(fabsf(b[0].d), amax / 127, amax * 1e-6f);
    for (int g = 0; g < 16; g++) {
        int sum = 0;
        for (int l = 0; l < 16; l++)
            sum += b[0].qs[16 * g + l];
        ck_assert_int_eq(b[0].bsums[g], sum);
    }
    for (int j = 0; j < 256; j++)
        REQUIRE(fabsf(b[0].d * b[0].qs[j] - x[j]) <= 0.5f * fabsf(b[0].d) * 1.0001f,
                "q8_K weight %d: %g vs %g", j, b[0].d * b[0].qs[j], x[j]);
}
END_TEST

START_TEST(test_quantize_q4_0_q5_0_exact)
{
    /* Q4_0: d = max/-8 with max the signed value of largest magnitude, so
     * that value becomes q 0; q = trunc(x/d + 8.5) capped at 15. */
    float x[32];
    for (int j = 0; j < 32; j++)
        x[j] = (float)(j - 16) * 0.25f; /* -4 .. 3.75 */
    struct block_q4_0 b;
    tr_of(QT_Q4_0)->from_float(x, &b, 32);
    ck_assert_uint_eq(b.d, quant_f32_to_f16(0.5f)); /* -4 / -8 */
    for (int j = 0; j < 32; j++) {
        int q = j < 16 ? b.qs[j] & 15 : b.qs[j - 16] >> 4;
        int want = (int)(x[j] * 2.0f + 8.5f);
        ck_assert_int_eq(q, want < 15 ? want : 15);
    }
    /* Q5_0: d = max/-16 */
    struct block_q5_0 c;
    tr_of(QT_Q5_0)->from_float(x, &c, 32);
    ck_assert_uint_eq(c.d, quant_f32_to_f16(0.25f));
    for (int j = 0; j < 32; j++) {
        int q = (j < 16 ? c.qs[j] & 15 : c.qs[j - 16] >> 4) | ((c.qh[j / 8] >> (j % 8)) & 1) << 4;
        int want = (int)(x[j] * 4.0f + 16.5f);
        ck_assert_int_eq(q, want < 31 ? want : 31);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* quantize -> dequantize error bounds                                     */

struct rt_case {
    int type;
    double max_rel_rms; /* over the whole row, relative to the rms of x */
};

static const struct rt_case k_rt[] = {
    { QT_Q8_0, 0.008 }, { QT_Q8_1, 0.008 }, { QT_Q8_K, 0.008 }, { QT_Q4_0, 0.13 },
    { QT_Q4_1, 0.11 },  { QT_Q5_0, 0.065 }, { QT_Q5_1, 0.055 }, { QT_IQ4_NL, 0.11 },
};
#define N_RT ((int)(sizeof k_rt / sizeof k_rt[0]))

START_TEST(test_roundtrip_bounds)
{
    const struct rt_case *c = &k_rt[_i];
    const struct quant_traits *tr = tr_of(c->type);
    enum { N = 8192 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    void *q = malloc(quant_row_size(c->type, N));
    ck_assert(x && y && q);
    uint64_t s = 1234 + (uint64_t)c->type;
    for (int i = 0; i < N; i++)
        x[i] = rng_normal(&s) * (i < N / 2 ? 0.02f : 3.0f); /* two magnitudes */
    tr->from_float(x, q, N);
    tr->to_float(q, y, N);
    double se = 0, sx = 0;
    const int bl = (int)tr->blck;
    for (int b = 0; b < N / bl; b++) {
        const float *xb = x + b * bl, *yb = y + b * bl;
        float amax = 0, mn = xb[0], mx = xb[0];
        for (int j = 0; j < bl; j++) {
            amax = fmaxf(amax, fabsf(xb[j]));
            mn = fminf(mn, xb[j]);
            mx = fmaxf(mx, xb[j]);
        }
        /* per-element bound: half a step, or a whole step where the code
         * range is asymmetric (Q4_0/Q5_0: +8/+16 is clamped to 7/15), plus
         * the fp16 rounding of d (and m) times the largest code */
        double step, bound;
        switch (c->type) {
        case QT_Q8_0: case QT_Q8_1:
            step = amax / 127.0;
            bound = 0.5 * step + 127 * step * 0x1p-11;
            break;
        case QT_Q8_K:
            bound = 0.5 * amax / 127.0 * 1.0001;
            break;
        case QT_Q4_0:
            step = amax / 8.0;
            bound = step + 8 * step * 0x1p-11;
            break;
        case QT_Q5_0:
            step = amax / 16.0;
            bound = step + 16 * step * 0x1p-11;
            break;
        case QT_Q4_1:
            step = (mx - mn) / 15.0;
            bound = 0.5 * step + 15 * step * 0x1p-11 + fabs(mn) * 0x1p-11;
            break;
        case QT_Q5_1:
            step = (mx - mn) / 31.0;
            bound = 0.5 * step + 31 * step * 0x1p-11 + fabs(mn) * 0x1p-11;
            break;
        default: /* IQ4_NL: the widest gap of the table is 24/127 of the range */
            bound = amax * (24.0 / 127.0) * 1.05;
            break;
        }
        bound += amax * 1e-6;
        for (int j = 0; j < bl; j++) {
            double e = fabs((double)xb[j] - yb[j]);
            REQUIRE(e <= bound, "%s block %d weight %d: x %.7g -> %.7g, error %.3g > %.3g",
                          tr->name, b, j, xb[j], yb[j], e, bound);
            se += e * e;
            sx += (double)xb[j] * xb[j];
        }
    }
    double rel = sqrt(se / sx);
    if (verbose())
        printf("roundtrip %-6s rel rms %.5f (bound %.3f)\n", tr->name, rel, c->max_rel_rms);
    ck_assert_msg(rel < c->max_rel_rms, "%s: relative rms error %.4f >= %.4f", tr->name, rel,
                  c->max_rel_rms);
    free(x);
    free(y);
    free(q);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* dot products against dequantized floats                                 */

/* Fill nb blocks of type t with random bytes, then give every fp16 scale a
 * finite, sane value (random bytes there could be inf/nan or huge). */
static void random_blocks(int t, void *buf, int64_t n, uint64_t *s)
{
    const struct quant_traits *tr = tr_of(t);
    size_t bytes = quant_row_size(t, n);
    unsigned char *p = buf;
    for (size_t i = 0; i < bytes; i++)
        p[i] = (unsigned char)rng_next(s);
    int64_t nb = n / tr->blck;
#define H(v) quant_f32_to_f16(v)
    for (int64_t i = 0; i < nb; i++) {
        switch (t) {
        case QT_F32: ((float *)buf)[i] = rng_normal(s); break;
        case QT_F16: ((qt_half *)buf)[i] = H(rng_normal(s)); break;
        case QT_BF16: ((uint16_t *)buf)[i] = quant_f32_to_bf16(rng_normal(s)); break;
        case QT_Q4_0: ((struct block_q4_0 *)buf)[i].d = H(rng_scale(s, 1e-3f, 1e-2f, true)); break;
        case QT_Q5_0: ((struct block_q5_0 *)buf)[i].d = H(rng_scale(s, 1e-3f, 1e-2f, true)); break;
        case QT_Q8_0: ((struct block_q8_0 *)buf)[i].d = H(rng_scale(s, 1e-4f, 1e-3f, true)); break;
        case QT_IQ4_NL: ((struct block_iq4_nl *)buf)[i].d = H(rng_scale(s, 1e-4f, 1e-3f, true)); break;
        case QT_Q4_1: {
            struct block_q4_1 *b = (struct block_q4_1 *)buf + i;
            b->d = H(rng_scale(s, 1e-3f, 1e-2f, false));
            b->m = H(rng_scale(s, 0.0f, 0.08f, true));
            break;
        }
        case QT_Q5_1: {
            struct block_q5_1 *b = (struct block_q5_1 *)buf + i;
            b->d = H(rng_scale(s, 1e-3f, 1e-2f, false));
            b->m = H(rng_scale(s, 0.0f, 0.15f, true));
            break;
        }
        case QT_Q2_K: {
            struct block_q2_K *b = (struct block_q2_K *)buf + i;
            b->d = H(rng_scale(s, 1e-3f, 1e-2f, false));
            b->dmin = H(rng_scale(s, 1e-3f, 1e-2f, false));
            break;
        }
        case QT_Q4_K: {
            struct block_q4_K *b = (struct block_q4_K *)buf + i;
            b->d = H(rng_scale(s, 1e-4f, 1e-3f, false));
            b->dmin = H(rng_scale(s, 1e-4f, 1e-3f, false));
            break;
        }
        case QT_Q5_K: {
            struct block_q5_K *b = (struct block_q5_K *)buf + i;
            b->d = H(rng_scale(s, 1e-4f, 1e-3f, false));
            b->dmin = H(rng_scale(s, 1e-4f, 1e-3f, false));
            break;
        }
        case QT_Q3_K: ((struct block_q3_K *)buf)[i].d = H(rng_scale(s, 1e-4f, 1e-3f, true)); break;
        case QT_Q6_K: ((struct block_q6_K *)buf)[i].d = H(rng_scale(s, 1e-5f, 1e-4f, true)); break;
        case QT_IQ4_XS: ((struct block_iq4_xs *)buf)[i].d = H(rng_scale(s, 1e-5f, 1e-4f, true)); break;
        default: ck_abort_msg("no random blocks for %s", tr->name);
        }
    }
#undef H
}

START_TEST(test_dot_vs_dequant)
{
    const int t = k_weight_types[_i];
    const struct quant_traits *tr = tr_of(t);
    const int vt = (int)tr->vec_dot_type;
    const struct quant_traits *vtr = tr_of(vt);
    enum { N = 1024, NY = 3, REPS = 4 };
    const size_t xrow = quant_row_size(t, N), yrow = quant_row_size(vt, N);
    const size_t stride = yrow + 64; /* rows not packed: the stride is honoured */
    void *x = malloc(xrow), *yq = malloc(stride * NY);
    float *xf = malloc(N * sizeof *xf), *yf = malloc(NY * N * sizeof *yf),
          *yd = malloc(N * sizeof *yd);
    ck_assert(x && yq && xf && yf && yd);
    uint64_t s = 99 + (uint64_t)t;
    for (int rep = 0; rep < REPS; rep++) {
        random_blocks(t, x, N, &s);
        tr->to_float(x, xf, N);
        memset(yq, 0x5a, stride * NY);
        for (int r = 0; r < NY; r++) {
            for (int i = 0; i < N; i++)
                yf[r * N + i] = rng_normal(&s) * (r == 2 ? 100.0f : 1.0f);
            vtr->from_float(yf + r * N, (char *)yq + r * stride, N);
        }
        float got[NY];
        tr->dot(N, x, yq, stride, NY, got);
        for (int r = 0; r < NY; r++) {
            /* one row at a time gives the same bits */
            float one;
            tr->dot(N, x, (char *)yq + r * stride, yrow, 1, &one);
            ck_assert_msg(f2u(one) == f2u(got[r]), "%s row %d: ny=1 %.9g vs ny=3 %.9g", tr->name,
                          r, one, got[r]);
            vtr->to_float((char *)yq + r * stride, yd, N);
            double ref = 0, mag = 0, reff = 0;
            for (int i = 0; i < N; i++) {
                ref += (double)xf[i] * yd[i];
                reff += (double)xf[i] * yf[r * N + i];
                mag += fabs((double)xf[i] * yd[i]);
            }
            /* Same operands, so only float rounding differs: a few ulps of
             * the block sums. Q4_1/Q5_1 use Q8_1's s = fp16(d*sum q) for the
             * min term, which differs from fp16(d)*sum q by up to 2^-10. */
            double tol = (vt == QT_Q8_1 ? 2e-3 : 1e-5) * mag + 1e-30;
            if (verbose() && rep == 0 && r == 0)
                printf("dot %-6s got %.7g ref %.7g |diff|/mag %.2e (tol %.0e); vs float y %.2e\n",
                       tr->name, got[r], ref, fabs(got[r] - ref) / mag, tol / mag,
                       fabs(got[r] - reff) / mag);
            ck_assert_msg(fabs(got[r] - ref) <= tol, "%s rep %d row %d: dot %.9g, dequantized %.9g",
                          tr->name, rep, r, got[r], ref);
            /* and the activation quantization itself stays small */
            ck_assert_msg(fabs(got[r] - reff) <= 0.02 * mag, "%s: dot %.9g vs float %.9g",
                          tr->name, got[r], reff);
        }
    }
    free(x);
    free(yq);
    free(xf);
    free(yf);
    free(yd);
}
END_TEST

/* Hand-computed dot on one Q4_0 block and one Q8_0 block: the integer sum
 * is scaled as sumi * dx * dy. */
START_TEST(test_dot_exact_small)
{
    struct block_q4_0 x = { .d = 0x3800 }; /* 0.5 */
    struct block_q8_0 y = { .d = 0x4000 }; /* 2 */
    int sumi = 0;
    for (int j = 0; j < 16; j++) {
        x.qs[j] = (uint8_t)(j | (15 - j) << 4);
        y.qs[j] = (int8_t)(j - 3);
        y.qs[j + 16] = (int8_t)(2 * j);
        sumi += (j - 8) * (j - 3) + (7 - j) * (2 * j);
    }
    float s;
    tr_of(QT_Q4_0)->dot(32, &x, &y, sizeof y, 1, &s);
    ck_assert_float_eq(s, (float)sumi * 0.5f * 2.0f);

    struct block_q8_0 a = { .d = 0x3c00 }, b = { .d = 0xb800 }; /* 1, -0.5 */
    sumi = 0;
    for (int j = 0; j < 32; j++) {
        a.qs[j] = (int8_t)(j * 4 - 64);
        b.qs[j] = (int8_t)(127 - j);
        sumi += (j * 4 - 64) * (127 - j);
    }
    tr_of(QT_Q8_0)->dot(32, &a, &b, sizeof b, 1, &s);
    ck_assert_float_eq(s, (float)sumi * -0.5f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* golden models                                                           */

struct gfile {
    const char *name;   /* shared-<name>.gguf */
    bool tied;          /* compare with shared-tied-F32.gguf */
    bool requant_exact; /* our from_float must reproduce the file's bytes */
};

static const struct gfile k_golden[] = {
    { "Q8_0", false, true },    { "Q4_0", false, true },       { "Q4_1", false, true },
    { "Q5_0", false, true },    { "Q5_1", false, true },       { "IQ4_NL", false, true },
    { "Q2_K", false, false },   { "Q3_K", false, false },      { "Q4_K", false, false },
    { "Q5_K", false, false },   { "Q6_K", false, false },      { "IQ4_XS", false, false },
    { "mix-Q4_0", false, false }, { "mix-Q4_K_S", false, false }, { "mix-Q4_K_M", false, false },
    { "mix-Q5_K_M", false, false }, { "tied-Q8_0", true, true }, { "F16", false, true },
    { "BF16", false, true },
};
#define N_GOLDEN ((int)(sizeof k_golden / sizeof k_golden[0]))

/* Relative rms error of a dequantized matrix against its F32 source, per
 * type: the worst matrix measured on the golden files (in the comments)
 * with about 1.25x margin; the spread between matrices is under 1%. A
 * wrong bit layout scrambles weights and gives errors near 1. */
static double rms_bound(int t)
{
    switch (t) {
    case QT_F16: return 3e-4;    /* measured 2.1e-4 */
    case QT_BF16: return 2.2e-3; /* 1.67e-3 */
    case QT_Q8_0: return 0.007;  /* 0.0054 */
    case QT_Q6_K: return 0.023;  /* 0.0180 */
    case QT_Q5_0: return 0.055;  /* 0.0430 */
    case QT_Q5_1: return 0.05;   /* 0.0381 */
    case QT_Q5_K: return 0.047;  /* 0.0363 */
    case QT_Q4_0: return 0.11;   /* 0.0864 */
    case QT_Q4_1: return 0.10;   /* 0.0786 */
    case QT_Q4_K: return 0.092;  /* 0.0716 */
    case QT_IQ4_NL: return 0.098;/* 0.0764 */
    case QT_IQ4_XS: return 0.098;/* 0.0770 */
    case QT_Q3_K: return 0.19;   /* 0.152 */
    case QT_Q2_K: return 0.37;   /* 0.298 */
    default: return 0.0;
    }
}

struct gmodel {
    void *buf;
    struct gguf g;
};

static void gmodel_open(struct gmodel *m, const char *file)
{
    char path[4096], err[256] = "";
    size_t len = 0;
    tu_golden_path(path, sizeof path, file);
    m->buf = tu_read_file(path, &len);
    ck_assert_msg(m->buf != NULL, "cannot read %s", path);
    int rc = gguf_open_alloc(&m->g, m->buf, len, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", path, err);
}

static void gmodel_close(struct gmodel *m)
{
    gguf_close(&m->g);
    free(m->buf);
}

START_TEST(test_golden_dequant)
{
    const struct gfile *gf = &k_golden[_i];
    char file[128];
    snprintf(file, sizeof file, "shared-%s.gguf", gf->name);
    struct gmodel q, f;
    gmodel_open(&q, file);
    gmodel_open(&f, gf->tied ? "shared-tied-F32.gguf" : "shared-F32.gguf");

    int n_mat = 0;
    double se_type[QT_COUNT] = { 0 }, sx_type[QT_COUNT] = { 0 }, worst[QT_COUNT] = { 0 };
    for (uint64_t i = 0; i < q.g.n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(&q.g, i);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        const struct gguf_tensor *src = gguf_find_tensor(&f.g, name);
        ck_assert_msg(src != NULL, "%s: %s not in the F32 model", file, name);
        ck_assert_int_eq(src->type, QT_F32);
        ck_assert_int_eq(src->n_elements, t->n_elements);
        ck_assert_int_eq(src->ne[0], t->ne[0]);
        if (t->n_dims != 2)
            continue; /* the norm vectors are F32 everywhere */
        ck_assert_msg(quant_supported(t->type), "%s: %s has type %s", file, name,
                      quant_type_name(t->type));
        const struct quant_traits *tr = tr_of(t->type);
        const int64_t n = t->n_elements;
        float *y = malloc((size_t)n * sizeof *y);
        float *ref = malloc((size_t)n * sizeof *ref);
        ck_assert(y && ref);
        memcpy(ref, src->data, (size_t)n * sizeof *ref); /* the view may be unaligned */
        tr->to_float(t->data, y, n);
        double se = 0, sx = 0;
        for (int64_t j = 0; j < n; j++) {
            REQUIRE(isfinite(y[j]), "%s: %s[%lld] = %g", file, name, (long long)j, y[j]);
            double e = (double)y[j] - ref[j];
            se += e * e;
            sx += (double)ref[j] * ref[j];
        }
        double rel = sqrt(se / sx);
        ck_assert_msg(rel < rms_bound(t->type), "%s: %s (%s) relative rms error %.5f >= %.5f", file,
                      name, tr->name, rel, rms_bound(t->type));
        worst[t->type] = fmax(worst[t->type], rel);
        se_type[t->type] += se;
        sx_type[t->type] += sx;

        if (gf->requant_exact) {
            /* llama-quantize (no imatrix) runs exactly these reference
             * quantizers: our bytes must be the file's bytes. */
            size_t bytes = quant_row_size(t->type, n);
            ck_assert_uint_eq(bytes, t->n_bytes);
            unsigned char *mine = malloc(bytes);
            ck_assert_ptr_nonnull(mine);
            tr->from_float(ref, mine, n);
            const size_t bsz = tr->type_size;
            size_t bad = 0, first = 0;
            for (size_t b = 0; b < bytes / bsz; b++) {
                if (memcmp(mine + b * bsz, t->data + b * bsz, bsz) != 0) {
                    if (!bad)
                        first = b;
                    bad++;
                }
            }
            ck_assert_msg(bad == 0, "%s: %s: %zu of %zu blocks differ from llama-quantize's, first %zu",
                          file, name, bad, bytes / bsz, first);
            free(mine);
        }
        free(y);
        free(ref);
        n_mat++;
    }
    ck_assert_int_eq(n_mat, gf->tied ? 15 : 16);
    if (verbose())
        for (int t = 0; t < QT_COUNT; t++)
            if (sx_type[t] > 0)
                printf("golden %-12s %-6s rel rms %.5f, worst matrix %.5f (bound %.4f)\n", gf->name,
                       quant_type_name(t), sqrt(se_type[t] / sx_type[t]), worst[t], rms_bound(t));
    gmodel_close(&q);
    gmodel_close(&f);
}
END_TEST

/* A layout error must not slip through the golden bound: shuffling the
 * nibbles of Q4_0 (as a wrong layout would) gives an error far above it. */
START_TEST(test_golden_bound_detects_bad_layout)
{
    struct gmodel q, f;
    gmodel_open(&q, "shared-Q4_0.gguf");
    gmodel_open(&f, "shared-F32.gguf");
    const struct gguf_tensor *t = gguf_find_tensor(&q.g, "blk.0.ffn_up.weight");
    const struct gguf_tensor *src = gguf_find_tensor(&f.g, "blk.0.ffn_up.weight");
    ck_assert(t && src && t->type == QT_Q4_0);
    const int64_t n = t->n_elements;
    unsigned char *bad = malloc(t->n_bytes);
    float *y = malloc((size_t)n * sizeof *y), *ref = malloc((size_t)n * sizeof *ref);
    ck_assert(bad && y && ref);
    memcpy(bad, t->data, t->n_bytes);
    memcpy(ref, src->data, (size_t)n * sizeof *ref);
    for (size_t b = 0; b < t->n_bytes / sizeof(struct block_q4_0); b++) {
        uint8_t *qs = bad + b * sizeof(struct block_q4_0) + 2;
        for (int j = 0; j < 16; j++)
            qs[j] = (uint8_t)(qs[j] >> 4 | qs[j] << 4); /* swap the halves */
    }
    tr_of(QT_Q4_0)->to_float(bad, y, n);
    double se = 0, sx = 0;
    for (int64_t j = 0; j < n; j++) {
        se += ((double)y[j] - ref[j]) * ((double)y[j] - ref[j]);
        sx += (double)ref[j] * ref[j];
    }
    ck_assert_msg(sqrt(se / sx) > 5 * rms_bound(QT_Q4_0), "swapped nibbles: %.3f", sqrt(se / sx));
    free(bad);
    free(y);
    free(ref);
    gmodel_close(&q);
    gmodel_close(&f);
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

    TCase *td = tcase_create("dequant");
    tcase_add_test(td, test_dequant_q4_0);
    tcase_add_test(td, test_dequant_q4_1_q5_1);
    tcase_add_test(td, test_dequant_q5_0);
    tcase_add_test(td, test_dequant_q8_0_q8_1_q8_K);
    tcase_add_test(td, test_dequant_iq4_nl);
    tcase_add_test(td, test_dequant_q2_K);
    tcase_add_test(td, test_dequant_q3_K);
    tcase_add_test(td, test_dequant_q4_K);
    tcase_add_test(td, test_dequant_q5_K);
    tcase_add_test(td, test_dequant_q6_K);
    tcase_add_test(td, test_dequant_iq4_xs);
    tcase_add_test(td, test_dequant_float_types);
    tcase_add_test(td, test_zero_blocks);
    suite_add_tcase(s, td);

    TCase *tq = tcase_create("quantize");
    tcase_set_timeout(tq, 60);
    tcase_add_test(tq, test_quantize_q8_0_q8_1_exact);
    tcase_add_test(tq, test_quantize_q8_K_exact);
    tcase_add_test(tq, test_quantize_q4_0_q5_0_exact);
    tcase_add_loop_test(tq, test_roundtrip_bounds, 0, N_RT);
    suite_add_tcase(s, tq);

    TCase *tdot = tcase_create("dot");
    tcase_set_timeout(tdot, 60);
    tcase_add_test(tdot, test_dot_exact_small);
    tcase_add_loop_test(tdot, test_dot_vs_dequant, 0, N_WEIGHT_TYPES);
    suite_add_tcase(s, tdot);

    TCase *tg = tcase_create("golden");
    tcase_set_timeout(tg, 120);
    tcase_add_loop_test(tg, test_golden_dequant, 0, N_GOLDEN);
    tcase_add_test(tg, test_golden_bound_detects_bad_layout);
    suite_add_tcase(s, tg);
    return s;
}
