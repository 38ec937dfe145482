/* quant_dot suite: the reference dot products of every weight type on
 * random blocks against the dequantized floats (and one row at a time
 * against several), and a hand-computed dot of single blocks. Split from
 * the quant suite (tests/test_quant.c), whose helpers it shares through
 * tests/quant_util.h. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "tests/quant_util.h"

/* uniform magnitude in [lo, hi) with a random sign when signed_ is set */
static float rng_scale(uint64_t *s, float lo, float hi, bool signed_)
{
    float v = lo + (hi - lo) * rng_unif(s);
    return (signed_ && (rng_next(s) & 1)) ? -v : v;
}

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

Suite *quant_dot_suite(void)
{
    Suite *s = suite_create("quant_dot");

    TCase *tdot = tcase_create("dot");
    tcase_set_timeout(tdot, 60);
    tcase_add_test(tdot, test_dot_exact_small);
    tcase_add_loop_test(tdot, test_dot_vs_dequant, 0, N_WEIGHT_TYPES);
    suite_add_tcase(s, tdot);
    return s;
}
