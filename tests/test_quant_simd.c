/* quant_simd suite: the AVX2 and AVX-512 kernels (quant_avx2.c,
 * quant_avx512*.c) against the scalar reference (quant_ref.c): the kernel
 * table and the single-row dot products.
 *
 * Every test loops over the kernel variants: AVX2, and AVX-512 without
 * VNNI, with VNNI but without the VBMI/GFNI Q4_0 paths, and with them, each
 * forced by turning CPU features off (cpu_features_disable), so a CPU with
 * the best variant tests the others too; a variant the CPU cannot run is
 * skipped with the reason printed. What is checked here:
 * - which exact variant each slot runs (dot_variant, gemm_variant), and that
 *   differently named variants are different functions;
 * - the kernel table: which slots each level fills and what it reports;
 * - dot products on random valid blocks for many row lengths, activation row
 *   counts (tile remainders), misaligned weights and activation rows and odd
 *   strides, within a bound relative to the sum of absolute terms; buffers
 *   end exactly where the data ends so ASan sees any over-read, and the
 *   output slot past ny is never written;
 * - bit-identical dots when every float operation is exact (unit scales,
 *   small sums), which pins down the integer parts;
 * - extreme quant values (saturation and overflow traps).
 * The same variants' multi-row (gemm) kernels, activation quantizers and
 * attention kernels have their own suites beside this file
 * (quant_simd_gemm, quant_simd_from_float, quant_simd_attn); what they share
 * is in tests/quant_simd_util.h. */
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

/* One weight row at byte offset xoff, ny activation rows at byte offset
 * yoff with stride row + pad; buffers end exactly at the data. Checks fast
 * against ref within the bound; returns the worst |diff| / magnitude. The
 * reference reads through typed pointers, so it gets aligned copies (UBSan
 * would stop it on the misaligned ones); only the fast kernel sees those. */
static double check_dot_case(const struct quant_kernels *fast, const struct quant_kernels *ref, int t,
                             int64_t n, int ny, int xoff, int yoff, int pad, uint64_t *s)
{
    const int vt = vec_type(t);
    const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n);
    const size_t ys = yrow + (size_t)pad;
    const size_t ybytes = ys * (size_t)(ny - 1) + yrow;
    uint8_t *xb = malloc((size_t)xoff + xrow), *yb = malloc((size_t)yoff + ybytes);
    float *wf = malloc((size_t)n * sizeof *wf), *af = malloc((size_t)n * sizeof *af);
    float *sf = malloc((size_t)(ny + 1) * sizeof *sf), *sr = malloc((size_t)ny * sizeof *sr);
    ck_assert(xb && yb && wf && af && sf && sr);
    uint8_t *x = xb + xoff, *y = yb + yoff;
    uint8_t *xa = malloc(xrow), *ya = malloc(yrow * (size_t)ny);
    ck_assert(xa && ya);
    fill_weights(t, xa, n, s);
    memcpy(x, xa, xrow);
    fill_acts(ref, vt, ya, yrow, ny, n, wf, s);
    memset(yb, 0xa5, (size_t)yoff + ybytes); /* padding between rows: junk */
    for (int j = 0; j < ny; j++)
        memcpy(y + (size_t)j * ys, ya + (size_t)j * yrow, yrow);

    sf[ny] = -12345.0f;
    ref->dot[t](n, xa, ya, yrow, ny, sr);
    fast->dot[t](n, x, y, ys, ny, sf);
    ck_assert_msg(sf[ny] == -12345.0f, "%s dot wrote past s[ny-1] (n=%lld ny=%d)", quant_type_name(t),
                  (long long)n, ny);
    double worst = 0.0;
    for (int j = 0; j < ny; j++) {
        const double mag = dot_magnitude(ref, t, xa, ya + (size_t)j * yrow, n, wf, af);
        const double diff = fabs((double)sf[j] - (double)sr[j]);
        ck_assert_msg(isfinite(sf[j]), "%s n=%lld ny=%d row %d: fast %g", quant_type_name(t), (long long)n,
                      ny, j, sf[j]);
        ck_assert_msg(diff <= tolerance(t) * mag + 1e-30,
                      "%s %s n=%lld ny=%d row %d (xoff %d yoff %d pad %d): fast %.9g ref %.9g diff %.3g > %.1g * %.4g",
                      fast->dot_variant[t], quant_type_name(t), (long long)n, ny, j, xoff, yoff, pad,
                      sf[j], sr[j], diff, tolerance(t), mag);
        if (mag > 0 && diff / mag > worst)
            worst = diff / mag;
    }
    free(xa);
    free(ya);
    free(xb);
    free(yb);
    free(wf);
    free(af);
    free(sf);
    free(sr);
    return worst;
}

/* ---- the kernel table ---------------------------------------------------- */

START_TEST(test_table)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    /* the exact variant of every slot: what ran, not only the ISA level */
    static const char *const want_dot[N_VARIANTS][6] = {
        /*  F16       Q4_0                Q8_0           Q4_K           Q5_K           Q6_K */
        { "avx2", "avx2", "avx2", "avx2", "avx2", "avx2" },
        { "avx512", "avx2", "avx2", "avx512", "avx512", "avx512" },
        { "avx512", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni" },
        { "avx512", "avx512-vbmi-gfni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni" },
        { "avx512", "avx512-vbmi-gfni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni" },
    };
    static const int gemm_types[6] = { QT_Q4_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_F16 };
    static const char *const want_gemm[N_VARIANTS][6] = {
        /* Q4_0             Q8_0           Q4_K           Q5_K           Q6_K       F16 */
        { NULL, NULL, NULL, NULL, NULL, NULL },
        { NULL, NULL, NULL, NULL, NULL, "avx512" },
        { "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512" },
        { "avx512-vbmi-gfni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512" },
        { "avx512-vbmi-gfni+amx", "avx512-vnni+amx", "avx512-vnni+amx", "avx512-vnni+amx", "avx512-vnni+amx",
          "avx512+amx-bf16" },
    };
    for (int i = 0; i < N_TYPES; i++) {
        const int t = k_types[i];
        ck_assert_ptr_nonnull(ref.dot[t]);
        ck_assert_ptr_nonnull(fast.dot[t]);
        ck_assert_str_eq(ref.dot_variant[t], "ref");
        ck_assert_msg(fast.dot[t] != ref.dot[t], "%s dot still the reference at %s", quant_type_name(t),
                      variants[_i].label);
        ck_assert_msg(strcmp(fast.dot_variant[t], want_dot[_i][i]) == 0, "%s: %s dot variant %s, want %s",
                      variants[_i].label, quant_type_name(t), fast.dot_variant[t], want_dot[_i][i]);
        int want = strncmp(want_dot[_i][i], "avx512", 6) == 0 ? QISA_AVX512 : QISA_AVX2;
        ck_assert_msg(fast.dot_isa[t] == (enum quant_isa)want, "%s dot_isa %s, want %s", quant_type_name(t),
                      fast.dot_variant[t], quant_isa_name((enum quant_isa)want));
    }
    for (int i = 0; i < 6; i++) {
        const int t = gemm_types[i];
        const char *w = want_gemm[_i][i];
        ck_assert_msg(w ? fast.gemm_variant[t] && strcmp(fast.gemm_variant[t], w) == 0 : fast.gemm_variant[t] == NULL,
                      "%s: %s gemm variant %s, want %s", variants[_i].label, quant_type_name(t),
                      fast.gemm_variant[t] ? fast.gemm_variant[t] : "none", w ? w : "none");
        ck_assert((fast.gemm[t] != NULL) == (w != NULL));
    }
    /* variants with different names run different functions: the next
     * variant down (one feature fewer) differs exactly where the name does */
    if (_i > 0) {
        struct cpu_features f;
        if (variant_features(_i - 1, &f)) {
            struct quant_kernels lower;
            quant_kernels_init_features(&lower, (enum quant_isa)variants[_i - 1].isa, &f);
            for (int i = 0; i < N_TYPES; i++) {
                const int t = k_types[i];
                bool same_name = strcmp(lower.dot_variant[t], fast.dot_variant[t]) == 0;
                ck_assert_msg((lower.dot[t] == fast.dot[t]) == same_name, "%s: %s dot %s vs %s", variants[_i].label,
                              quant_type_name(t), lower.dot_variant[t], fast.dot_variant[t]);
            }
        }
    }
    /* $GGPERF_CPU_DISABLE forces the same variant through quant_kernels_init */
    if (variants[_i].disable[0]) {
        struct quant_kernels via_env;
        setenv("GGPERF_CPU_DISABLE", variants[_i].disable, 1);
        quant_kernels_init(&via_env, (enum quant_isa)isa);
        unsetenv("GGPERF_CPU_DISABLE");
        for (int i = 0; i < N_TYPES; i++)
            ck_assert(via_env.dot[k_types[i]] == fast.dot[k_types[i]]);
        ck_assert(via_env.gemm[QT_Q4_0] == fast.gemm[QT_Q4_0]);
    }
    static const int acts[] = { QT_Q8_0, QT_Q8_K, QT_F16 };
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(fast.from_float[acts[i]]);
        ck_assert(fast.from_float[acts[i]] != ref.from_float[acts[i]]);
    }
    /* untouched slots keep the reference kernels */
    ck_assert(fast.dot[QT_Q2_K] == ref.dot[QT_Q2_K]);
    ck_assert_int_eq(fast.dot_isa[QT_Q2_K], QISA_REF);
    ck_assert_str_eq(fast.dot_variant[QT_Q2_K], "ref");
    ck_assert(fast.to_float[QT_Q4_K] == ref.to_float[QT_Q4_K]);
}
END_TEST

/* ---- dot products on random blocks --------------------------------------- */

START_TEST(test_dot_random)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    static const int64_t n32[] = { 32, 96, 256, 512, 4096, 5632 };
    static const int64_t n256[] = { 256, 512, 4096, 5632 };
    static const int64_t nf16[] = { 1, 7, 8, 15, 16, 17, 31, 33, 100, 256, 4096, 5632 };
    static const int nys[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13 };
    uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    int cases = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int t = k_types[ti];
        const int64_t *ns = t == QT_F16 ? nf16 : quant_traits_get(t)->blck == 32 ? n32 : n256;
        const int nn = t == QT_F16 ? 12 : quant_traits_get(t)->blck == 32 ? 6 : 4;
        double worst = 0.0;
        for (int a = 0; a < nn; a++)
            for (int b = 0; b < (int)(sizeof nys / sizeof nys[0]); b++) {
                const int k = a * 9 + b;
                double w = check_dot_case(&fast, &ref, t, ns[a], nys[b], k % 4, (k / 4) % 4, (k * 7) % 5, &s);
                if (w > worst)
                    worst = w;
                cases++;
            }
        if (getenv("QUANT_SIMD_VERBOSE"))
            printf("quant_simd: %s %s worst |diff|/magnitude %.3g\n", fast.dot_variant[t],
                   quant_type_name(t), worst);
    }
    ck_assert_int_eq(cases, (12 + 2 * 6 + 3 * 4) * 9);
}
END_TEST

/* ---- bit-identical when every float op is exact -------------------------- */

START_TEST(test_dot_exact)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    static const int nys[] = { 1, 3, 4, 5, 8, 9 };
    uint64_t s = 0x2545f4914f6cdd1dull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int t = k_types[ti], vt = vec_type(t);
        for (int64_t n = 256; n <= 512; n += 256)
            for (int b = 0; b < (int)(sizeof nys / sizeof nys[0]); b++) {
                const int ny = nys[b];
                const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n);
                uint8_t *x = malloc(xrow), *y = malloc(yrow * (size_t)ny);
                float sf[9], sr[9];
                ck_assert(x && y);
                unit_scale_weights(t, x, n, &s);
                for (int j = 0; j < ny; j++)
                    unit_scale_acts(vt, y + (size_t)j * yrow, n, &s, 0);
                ref.dot[t](n, x, y, yrow, ny, sr);
                fast.dot[t](n, x, y, yrow, ny, sf);
                for (int j = 0; j < ny; j++) {
                    ck_assert_msg(sr[j] == rintf(sr[j]) && fabsf(sr[j]) < 16777216.0f,
                                  "%s reference not an exact integer: %.9g", quant_type_name(t), sr[j]);
                    ck_assert_msg(sf[j] == sr[j], "%s %s n=%lld ny=%d row %d: fast %.9g != ref %.9g",
                                  fast.dot_variant[t], quant_type_name(t), (long long)n, ny, j,
                                  sf[j], sr[j]);
                }
                free(x);
                free(y);
            }
    }
}
END_TEST

/* ---- extreme quant values ------------------------------------------------ */

START_TEST(test_dot_extremes)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    uint64_t s = 0x5851f42d4c957f2dull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    for (int ti = 1; ti < N_TYPES; ti++) { /* not F16: no integer parts */
        const int t = k_types[ti], vt = vec_type(t);
        const int64_t n = 4096;
        const int ny = 5;
        const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n);
        uint8_t *x = malloc(xrow), *y = malloc(yrow * ny);
        float *wf = malloc(n * sizeof *wf), *af = malloc(n * sizeof *af);
        float sf[5], sr[5];
        ck_assert(x && y && wf && af);
        extreme_weights(t, x, n, &s);
        for (int j = 0; j < ny; j++)
            unit_scale_acts(vt, y + (size_t)j * yrow, n, &s, 1);
        ref.dot[t](n, x, y, yrow, ny, sr);
        fast.dot[t](n, x, y, yrow, ny, sf);
        for (int j = 0; j < ny; j++) {
            const double mag = dot_magnitude(&ref, t, x, y + (size_t)j * yrow, n, wf, af);
            ck_assert_msg(fabs((double)sf[j] - sr[j]) <= tolerance(t) * mag,
                          "%s %s extreme row %d: fast %.9g ref %.9g (magnitude %.4g)",
                          fast.dot_variant[t], quant_type_name(t), j, sf[j], sr[j], mag);
        }
        free(x);
        free(y);
        free(wf);
        free(af);
    }
}
END_TEST

Suite *quant_simd_suite(void)
{
    Suite *s = suite_create("quant_simd");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_table, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_dot_random, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_dot_exact, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_dot_extremes, 0, N_VARIANTS);
    suite_add_tcase(s, tc);
    return s;
}
