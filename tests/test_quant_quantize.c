/* quant_quantize suite: the activation quantizers' exact rounding rules
 * (Q8_0/Q8_1/Q8_K, and Q4_0/Q5_0's scale choice) and quantize -> dequantize
 * error bounds per element and over a row. Split from the quant suite
 * (tests/test_quant.c), whose helpers it shares through tests/quant_util.h. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "tests/quant_util.h"

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

Suite *quant_quantize_suite(void)
{
    Suite *s = suite_create("quant_quantize");

    TCase *tq = tcase_create("quantize");
    tcase_set_timeout(tq, 60);
    tcase_add_test(tq, test_quantize_q8_0_q8_1_exact);
    tcase_add_test(tq, test_quantize_q8_K_exact);
    tcase_add_test(tq, test_quantize_q4_0_q5_0_exact);
    tcase_add_loop_test(tq, test_roundtrip_bounds, 0, N_RT);
    suite_add_tcase(s, tq);
    return s;
}
