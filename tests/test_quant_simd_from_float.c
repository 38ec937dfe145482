/* quant_simd_from_float suite: the activation quantizers of every AVX2
 * and AVX-512 variant (see tests/test_quant_simd.c for how a variant is
 * forced) give identical bytes to the reference for random, tie, zero,
 * tiny, huge and non-finite inputs, at misaligned outputs, writing nothing
 * past the row. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu.h"
#include "engine/quant.h"
#include "tests/quant_simd_util.h"
#include "tests/testutil.h"

/* ---- activation quantizers ------------------------------------------------ */

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Input pattern p for block-structured activations of n values (blocks of
 * blck): several blocks per pattern so every special case sits in its own
 * block next to ordinary ones. */
static void act_pattern(float *x, int64_t n, int blck, int p, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = rng_unif(s) * 4.0f;
    for (int64_t b = 0; b < n / blck; b++) {
        float *v = x + b * blck;
        switch ((p + b) % 9) {
        case 0: /* plain */
            break;
        case 1: /* exact ties: max 127 so the scale is 1 (Q8_0) or -1 (Q8_K) */
            for (int i = 0; i < blck; i++)
                v[i] = (float)((int)(rng_next(s) % 253) - 126) + 0.5f;
            v[rng_next(s) % blck] = (rng_next(s) & 1) ? 127.0f : -127.0f;
            break;
        case 2: /* all zero, with a negative zero */
            memset(v, 0, (size_t)blck * sizeof *v);
            v[3] = -0.0f;
            break;
        case 3: /* a single non-zero value */
            memset(v, 0, (size_t)blck * sizeof *v);
            v[rng_next(s) % blck] = -0.75f;
            break;
        case 4: { /* +a and -a both of largest magnitude: the first wins;
                   * in one vector lane group and in different ones */
            const float a = (rng_next(s) & 1) ? 5.0f : -5.0f;
            const int second = (b & 1) ? 6 : blck - 2;
            v[5] = a;
            v[second] = -a;
            break;
        }
        case 5: /* tiny: scale computations near and below FLT_MIN */
            for (int i = 0; i < blck; i++)
                v[i] *= (b & 1) ? 1e-37f : 1e-39f;
            break;
        case 6: /* huge */
            for (int i = 0; i < blck; i++)
                v[i] *= 1e37f;
            break;
        case 7: /* non-finite */
            v[1] = bits_float(0x7fc00000u); /* default NaN */
            if (b & 1)
                v[blck - 1] = (rng_next(s) & 1) ? INFINITY : -INFINITY;
            break;
        default: /* wide dynamic range inside one block */
            for (int i = 0; i < blck; i++)
                v[i] *= powf(10.0f, (float)((int)(rng_next(s) % 13) - 6));
            break;
        }
    }
}

static void check_same_bytes(const char *what, const struct quant_kernels *fast, const struct quant_kernels *ref,
                             int t, const float *x, int64_t n, int off)
{
    const size_t bytes = quant_row_size(t, n);
    uint8_t *a = calloc(bytes + 4, 1), *b = calloc(bytes + 4, 1);
    ck_assert(a && b);
    ref->from_float[t](x, a, n);
    fast->from_float[t](x, b + off, n);
    for (size_t i = 0; i < bytes; i++)
        ck_assert_msg(a[i] == b[off + i], "%s %s from_float (%s, n=%lld): byte %zu (block %zu) fast 0x%02x ref 0x%02x",
                      quant_isa_name(fast->isa), quant_type_name(t), what, (long long)n, i,
                      i / quant_traits_get(t)->type_size, b[off + i], a[i]);
    for (int i = 0; i < off; i++)
        ck_assert_int_eq(b[i], 0);
    ck_assert_int_eq(b[off + bytes], 0); /* nothing past the row */
    free(a);
    free(b);
}

START_TEST(test_from_float_q8)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    uint64_t s = 0xd1b54a32d192ed03ull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    static const int ts[] = { QT_Q8_0, QT_Q8_K };
    for (int k = 0; k < 2; k++) {
        const int t = ts[k];
        const int blck = t == QT_Q8_K ? QK_K : QK8_0;
        const int64_t n = 18 * (int64_t)blck;
        float *x = malloc((size_t)n * sizeof *x);
        ck_assert_ptr_nonnull(x);
        for (int p = 0; p < 9; p++) {
            act_pattern(x, n, blck, p, &s);
            check_same_bytes("patterns", &fast, &ref, t, x, n, p % 4);
        }
        /* one block only, and a long row of ordinary values */
        act_pattern(x, blck, blck, 0, &s);
        check_same_bytes("one block", &fast, &ref, t, x, blck, 1);
        free(x);
        x = malloc(5632 * sizeof *x);
        ck_assert_ptr_nonnull(x);
        for (int i = 0; i < 5632; i++)
            x[i] = rng_unif(&s) * 2.5f;
        check_same_bytes("long row", &fast, &ref, t, x, 5632, 3);
        free(x);
    }
}
END_TEST

START_TEST(test_from_float_f16)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    uint64_t s = 0x94d049bb133111ebull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    enum { N = 4099 };
    float *x = malloc(N * sizeof *x);
    ck_assert_ptr_nonnull(x);
    /* random bit patterns (all exponents: f16 subnormals, overflow to inf,
     * f32 subnormals, inf, NaN with payloads) and ordinary values */
    for (int i = 0; i < N; i++) {
        const uint32_t u = (uint32_t)rng_next(&s);
        x[i] = i % 3 ? bits_float(u) : rng_unif(&s) * 100.0f;
    }
    /* round-to-even ties at the f16 precision, and the overflow edge */
    x[0] = 1.0f + 1.0f / 2048.0f;
    x[1] = 1.0f + 3.0f / 2048.0f;
    x[2] = 65519.0f;
    x[3] = 65520.0f;
    x[4] = 5.9604645e-8f; /* 2^-24, the smallest f16 subnormal */
    x[5] = 2.9802322e-8f; /* 2^-25: ties to zero */
    static const int lens[] = { N, 1, 7, 8, 9, 15, 16, 17, 33, 100 };
    for (int k = 0; k < (int)(sizeof lens / sizeof lens[0]); k++)
        check_same_bytes("bit patterns", &fast, &ref, QT_F16, x + k, lens[k], k % 4);
    free(x);
}
END_TEST

Suite *quant_simd_from_float_suite(void)
{
    Suite *s = suite_create("quant_simd_from_float");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_from_float_q8, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_from_float_f16, 0, N_VARIANTS);
    suite_add_tcase(s, tc);
    return s;
}
