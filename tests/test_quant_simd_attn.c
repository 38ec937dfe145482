/* quant_simd_attn suite: the attention kernels (fp16 KV cache) of every
 * AVX2 and AVX-512 variant (see tests/test_quant_simd.c for how a variant
 * is forced) against double sums: head sizes and key counts around every
 * step, misaligned and padded rows; and the small float kernels beside
 * them (fp16 rounding, the softmax numerators, the SwiGLU gate, RMS norm). */
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

/* ---- attention over an fp16 KV cache -------------------------------------- */

/* n rows of hd halves, rows rs bytes apart, starting off bytes into a block
 * that ends exactly where the last row ends (ASan sees any over-read). */
static uint8_t *kv_rows(int n, int hd, size_t rs, size_t off, bool exact_ints, uint64_t *sd, uint8_t **base)
{
    size_t bytes = off + (n > 0 ? (size_t)(n - 1) * rs + 2 * (size_t)hd : 0);
    *base = malloc(bytes ? bytes : 1);
    ck_assert_ptr_nonnull(*base);
    memset(*base, 0x7c, bytes); /* padding reads as NaN halves: a kernel that reads it is caught */
    uint8_t *rows = *base + off;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < hd; i++)
            put_half(rows + (size_t)j * rs + 2 * (size_t)i,
                     exact_ints ? (float)((int)(rng_next(sd) % 9) - 4) : 3 * rng_unif(sd));
    return rows;
}

/* kq and pv of each variant against double sums of the same f32 products:
 * head sizes around the 8/16/32/64-value steps, key counts around the
 * 4-key step, misaligned rows and padded strides; bit-identical when every
 * product and partial sum is a small integer. Neither kernel writes past
 * s[n) or out[hd). */
START_TEST(test_attn)
{
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    ck_assert_str_eq(ref.attn_variant, "ref");
    ck_assert(ref.attn_kq_f16 == NULL && ref.attn_pv_f16 == NULL);
    ck_assert_ptr_nonnull(fast.attn_kq_f16);
    ck_assert_ptr_nonnull(fast.attn_pv_f16);
    ck_assert_str_eq(fast.attn_variant, variants[_i].isa == QISA_AVX2 ? "avx2" : "avx512");
    ck_assert(ref.f16_round == NULL);
    ck_assert_ptr_nonnull(fast.f16_round);
    /* the rounding equals quant_f32_to_f16 bit for bit: ties, subnormals,
     * overflow to inf, signed zeros, every length around the vector steps */
    {
        static const float special[] = { 0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f,
                                         5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-10f, 1.0009765625f, 1.00048828125f,
                                         1.00146484375f, -2.5f, 3.14159f, INFINITY, -INFINITY };
        float x[71], y[72];
        uint64_t rs = 99;
        for (int len = 0; len <= 71; len++) {
            for (int i = 0; i < len; i++)
                x[i] = i < (int)(sizeof special / sizeof special[0]) && len % 2 ? special[i]
                                                                                : 1e3f * rng_unif(&rs) * rng_unif(&rs);
            y[len] = 42.0f;
            const float scale = len % 3 ? 1.0f : 0.37f;
            fast.f16_round(x, scale, y, len);
            ck_assert(y[len] == 42.0f);
            for (int i = 0; i < len; i++) {
                float want = quant_f16_to_f32(quant_f32_to_f16(x[i] * scale));
                ck_assert_msg(memcmp(&want, &y[i], 4) == 0, "%s f16_round(%.9g * %g) = %.9g, want %.9g",
                              variants[_i].label, x[i], scale, y[i], want);
            }
            fast.f16_round(x, scale, x, len); /* in place */
            ck_assert(len == 0 || memcmp(x, y, (size_t)len * 4) == 0);
        }
    }
    /* the softmax numerators: within 2 ulp of expf (0 where expf is
     * subnormal), the maximum's exactly 1, the sum theirs */
    ck_assert(ref.attn_exp == NULL);
    ck_assert_ptr_nonnull(fast.attn_exp);
    {
        static const int lens[] = { 1, 2, 7, 8, 9, 15, 16, 17, 33, 100, 513 };
        float x[513], y[514];
        uint64_t es = 7;
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            const int len = lens[li];
            const float scale = li % 2 ? 0.125f : 1.0f;
            for (int i = 0; i < len; i++)
                x[i] = (li % 3 == 0 ? 120.0f : 12.0f) * rng_unif(&es); /* some far below the max */
            memcpy(y, x, (size_t)len * 4);
            y[len] = 42.0f;
            double sum = fast.attn_exp(y, len, scale);
            ck_assert(y[len] == 42.0f);
            float mx = -INFINITY;
            for (int i = 0; i < len; i++)
                mx = fmaxf(mx, x[i] * scale);
            double want_sum = 0;
            for (int i = 0; i < len; i++) {
                const float arg = x[i] * scale - mx;
                const float want = arg < -87.3f ? 0.0f : expf(arg);
                want_sum += want;
                ck_assert_msg(fabsf(y[i] - want) <= 2.5f * 1.1920929e-7f * want, "%s exp(%.9g) = %.9g, want %.9g",
                              variants[_i].label, (double)arg, (double)y[i], (double)want);
                if (x[i] * scale == mx)
                    ck_assert(y[i] == 1.0f);
            }
            ck_assert_msg(fabs(sum - want_sum) <= 1e-6 * want_sum, "%s sum %.12g vs %.12g", variants[_i].label, sum,
                          want_sum);
        }
    }
    /* the FFN gate: silu(g) * u within 4 ulp of the double-precision
     * value (2 of them exp's), tiny where exp is below float's range,
     * NaN for NaN, nothing written past n */
    ck_assert(ref.swiglu == NULL);
    ck_assert((fast.swiglu != NULL) == (variants[_i].isa == QISA_AVX512)); /* AVX2 keeps the engine's loop */
    if (fast.swiglu) {
        static const float special[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f, 87.0f, -87.0f, 88.0f, -88.0f,
                                         100.0f, -100.0f, 1e30f, -1e30f, 3.4e38f, -3.4e38f };
        const int ns_[] = { 1, 15, 16, 17, 100, 257 };
        float g[258], u[258], g0[258];
        uint64_t es = 11;
        for (size_t k = 0; k < sizeof ns_ / sizeof ns_[0]; k++) {
            const int len = ns_[k];
            for (int i = 0; i < len; i++) {
                g[i] = i < (int)(sizeof special / sizeof special[0]) && k == 5 ? special[i] : 24.0f * rng_unif(&es);
                u[i] = 2.0f * rng_unif(&es);
            }
            if (k == 4)
                g[7] = NAN;
            g[len] = 42.0f;
            memcpy(g0, g, sizeof g);
            fast.swiglu(g, u, len);
            ck_assert(g[len] == 42.0f);
            for (int i = 0; i < len; i++) {
                const double x = g0[i], want = x / (1.0 + exp(-x)) * (double)u[i];
                if (isnan(x)) {
                    ck_assert_msg(isnan(g[i]), "%s swiglu(NaN) = %.9g", variants[_i].label, (double)g[i]);
                    continue;
                }
                if (fabs(want) > FLT_MAX) { /* the product overflows float */
                    ck_assert_msg(isinf(g[i]) && (g[i] > 0) == (want > 0), "%s swiglu(%.9g, %.9g) = %.9g, want inf",
                                  variants[_i].label, x, (double)u[i], (double)g[i]);
                    continue;
                }
                ck_assert_msg(fabs((double)g[i] - want) <= 4 * 1.1920929e-7 * fabs(want) + 1e-35,
                              "%s swiglu(%.9g, %.9g) = %.9g, want %.9g", variants[_i].label, x, (double)u[i],
                              (double)g[i], want);
            }
        }
    }
    /* RMS norm: the engine's scalar loop's result within 2 ulp (the double
     * sum in another order may round the float mean differently), nothing
     * written past n */
    ck_assert(ref.rmsnorm == NULL);
    ck_assert((fast.rmsnorm != NULL) == (variants[_i].isa == QISA_AVX512));
    if (fast.rmsnorm) {
        const int ns_[] = { 1, 7, 8, 9, 31, 32, 33, 100, 768, 2048, 2049 };
        static float x[2050], w[2050], y[2050];
        uint64_t es = 13;
        for (size_t k = 0; k < sizeof ns_ / sizeof ns_[0]; k++) {
            const int len = ns_[k];
            for (int i = 0; i < len; i++) {
                x[i] = (k % 3 == 0 ? 1e-3f : k % 3 == 1 ? 1.0f : 1e3f) * rng_unif(&es);
                w[i] = 1.0f + rng_unif(&es);
            }
            y[len] = 42.0f;
            fast.rmsnorm(x, w, y, len, 1e-5f);
            ck_assert(y[len] == 42.0f);
            double sum = 0;
            for (int i = 0; i < len; i++)
                sum += (double)x[i] * x[i];
            const float sc = 1.0f / sqrtf((float)(sum / len) + 1e-5f);
            for (int i = 0; i < len; i++) {
                const float want = (x[i] * sc) * w[i];
                ck_assert_msg(fabsf(y[i] - want) <= 2.5f * 1.1920929e-7f * fabsf(want), "%s rmsnorm n=%d [%d] %.9g want %.9g",
                              variants[_i].label, len, i, (double)y[i], (double)want);
            }
        }
    }
    static const int hds[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 80, 96, 112, 128, 130 };
    static const int ns[] = { 0, 1, 3, 4, 5, 7, 8, 9, 33 };
    uint64_t sd = 0x5eed0000u + (uint64_t)_i;
    for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++)
            for (int exact = 0; exact < 2; exact++) {
                const int hd = hds[a], n = ns[b];
                const size_t rs = 2 * (size_t)hd + (size_t)(b % 3) * 6, off = (size_t)(a + b) % 2 * 2;
                uint8_t *kbase, *vbase;
                const uint8_t *k = kv_rows(n, hd, rs, off, exact, &sd, &kbase);
                const uint8_t *v = kv_rows(n, hd, rs, off, exact, &sd, &vbase);
                float q[131], p[34], s[34], out[131];
                for (int i = 0; i < hd; i++)
                    q[i] = exact ? (float)((int)(rng_next(&sd) % 7) - 3) : quant_f16_to_f32(quant_f32_to_f16(rng_unif(&sd)));
                for (int j = 0; j < n; j++)
                    p[j] = exact ? (float)(rng_next(&sd) % 3) : quant_f16_to_f32(quant_f32_to_f16(0.5f * (rng_unif(&sd) + 1)));
                for (int j = 0; j <= n; j++)
                    s[j] = -7.0f;
                for (int i = 0; i <= hd; i++)
                    out[i] = exact ? 1.0f : 0.25f;
                fast.attn_kq_f16(q, (const uint16_t *)k, rs, n, hd, s);
                fast.attn_pv_f16(p, (const uint16_t *)v, rs, n, hd, out);
                ck_assert_msg(s[n] == -7.0f, "hd %d n %d: kq wrote s[n]", hd, n);
                ck_assert_msg(out[hd] == (exact ? 1.0f : 0.25f), "hd %d n %d: pv wrote out[hd]", hd, n);
                for (int j = 0; j < n; j++) {
                    double want = 0, mag = 0;
                    for (int i = 0; i < hd; i++) {
                        uint16_t h;
                        memcpy(&h, k + (size_t)j * rs + 2 * (size_t)i, 2);
                        double t = (double)q[i] * quant_f16_to_f32(h);
                        want += t;
                        mag += fabs(t);
                    }
                    if (exact)
                        ck_assert_msg(s[j] == (float)want, "%s hd %d n %d: kq[%d] %.9g != %.9g", variants[_i].label,
                                      hd, n, j, s[j], want);
                    else
                        ck_assert_msg(fabs(s[j] - want) <= 1e-6 * mag + 1e-30, "%s hd %d n %d: kq[%d] %.9g vs %.9g",
                                      variants[_i].label, hd, n, j, s[j], want);
                }
                for (int i = 0; i < hd; i++) {
                    double want = exact ? 1.0 : 0.25, mag = fabs(want);
                    for (int j = 0; j < n; j++) {
                        uint16_t h;
                        memcpy(&h, v + (size_t)j * rs + 2 * (size_t)i, 2);
                        double t = (double)p[j] * quant_f16_to_f32(h);
                        want += t;
                        mag += fabs(t);
                    }
                    if (exact)
                        ck_assert_msg(out[i] == (float)want, "%s hd %d n %d: pv[%d] %.9g != %.9g", variants[_i].label,
                                      hd, n, i, out[i], want);
                    else
                        ck_assert_msg(fabs(out[i] - want) <= 1e-6 * mag + 1e-30, "%s hd %d n %d: pv[%d] %.9g vs %.9g",
                                      variants[_i].label, hd, n, i, out[i], want);
                }
                free(kbase);
                free(vbase);
            }
}
END_TEST

Suite *quant_simd_attn_suite(void)
{
    Suite *s = suite_create("quant_simd_attn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_attn, 0, N_VARIANTS);
    suite_add_tcase(s, tc);
    return s;
}
