/* quant_simd_gemm suite: the multi-row (gemm) kernels of every AVX2 and
 * AVX-512 variant (see tests/test_quant_simd.c for how a variant is forced)
 * against the reference dot of each pair: weight and activation row counts
 * around the decode (4-row) and prefill (8 x 8) tiles, block counts around
 * the 8-block step and the 256-block tables, misaligned and padded rows,
 * exact for exact inputs; the AMX tiles bit for bit against the VNNI ones,
 * and the decode kernels for weights in 4 KiB pages. */
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

/* ---- multi-row kernels (gemm) --------------------------------------------- */

/* Weights of one kind for nr rows: 0 random, 1 unit scales, 2 extremes. */
static void gemm_weights(int kind, int t, uint8_t *x, int64_t n, uint64_t *s)
{
    if (kind == 0)
        fill_weights(t, x, n, s);
    else if (kind == 1)
        unit_scale_weights(t, x, n, s);
    else
        extreme_weights(t, x, n, s);
}

/* nr weight rows, row r at x + r * xs (xs = row + pad, base misaligned by
 * xoff), against ny activation rows (stride row + ypad): every output
 * s[j * ld + r] must match the reference dot of that pair (exactly for
 * unit scales and extremes, whose sums are exact integers in float; within
 * the dot bound for random blocks), and the padding of the output rows
 * (ld = nr + 3) stays untouched. Returns 1 when the type has a gemm kernel. */
/* Kernels whose gemm results must equal the tested ones bit for bit, for
 * the types of same_bits_type (the AMX int8 tiles against the VNNI tiles
 * whose panels and float step they share; not Q8_0, whose AMX kernel
 * reads the weights in place and scales in its own order); NULL: no such
 * check. */
static const struct quant_kernels *same_bits;
static bool same_bits_type(int t)
{
    return t == QT_Q4_0 || t == QT_Q4_K || t == QT_Q5_K || t == QT_Q6_K;
}

static int check_gemm_case(const struct quant_kernels *fast, const struct quant_kernels *ref, int t, int64_t n,
                           int nr, int ny, int xoff, int pad, int kind, uint64_t *s)
{
    if (!fast->gemm[t])
        return 0;
    const int vt = vec_type(t);
    const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n), xs = xrow + (size_t)pad;
    const size_t ys = yrow + (size_t)(pad ? 7 : 0), ld = (size_t)nr + 3;
    uint8_t *xb = malloc((size_t)xoff + xs * (size_t)(nr - 1) + xrow), *y = malloc(ys * (size_t)ny);
    uint8_t *xa = malloc(xrow), *ya = malloc(yrow);
    float *wf = malloc((size_t)n * sizeof *wf), *af = malloc((size_t)n * sizeof *af);
    float *sf = malloc(ld * (size_t)ny * sizeof *sf);
    ck_assert(xb && y && xa && ya && wf && af && sf);
    uint8_t *x = xb + xoff;
    memset(y, 0xa5, ys * (size_t)ny);
    for (int j = 0; j < ny; j++) {
        if (kind == 0)
            fill_acts(ref, vt, ya, yrow, 1, n, wf, s);
        else
            unit_scale_acts(vt, ya, n, s, kind == 2);
        memcpy(y + (size_t)j * ys, ya, yrow);
    }
    for (int r = 0; r < nr; r++) {
        gemm_weights(kind, t, xa, n, s);
        memcpy(x + (size_t)r * xs, xa, xrow);
        if (pad && r + 1 < nr)
            memset(x + (size_t)r * xs + xrow, 0x5a, (size_t)pad); /* junk between rows */
    }
    for (size_t k = 0; k < ld * (size_t)ny; k++)
        sf[k] = -12345.0f;
    fast->gemm[t](n, x, xs, nr, y, ys, ny, sf, ld);
    /* the VNNI tiles sum a chunk of 8 or fewer activation rows over all
     * blocks in registers, not per 64-block panel as the AMX tiles do: the
     * bits agree where both use panels (or one panel holds every block) */
    const bool panels_alike = ny % 64 == 0 || ny % 64 > 8 || n / 32 <= 64;
    if (same_bits && same_bits_type(t) && same_bits->gemm[t] && panels_alike) {
        float *s2 = malloc(ld * (size_t)ny * sizeof *s2);
        ck_assert(s2);
        for (size_t k = 0; k < ld * (size_t)ny; k++)
            s2[k] = -12345.0f;
        same_bits->gemm[t](n, x, xs, nr, y, ys, ny, s2, ld);
        for (size_t k = 0; k < ld * (size_t)ny; k++)
            ck_assert_msg(memcmp(&sf[k], &s2[k], sizeof *sf) == 0,
                          "%s gemm %s vs %s n=%lld nr=%d ny=%d: output %zu %.9g != %.9g", quant_type_name(t),
                          fast->gemm_variant[t], same_bits->gemm_variant[t], (long long)n, nr, ny, k, sf[k], s2[k]);
        free(s2);
    }
    /* the decode kernel for weights in 4 KiB pages: the same checks, as a
     * table whose gemm slot is that kernel */
    if (ny == 1 && fast->gemm_4k[t]) {
        struct quant_kernels k4 = *fast;
        k4.gemm[t] = fast->gemm_4k[t];
        k4.gemm_4k[t] = NULL;
        k4.gemm_variant[t] = "4k";
        const struct quant_kernels *sb = same_bits;
        same_bits = NULL;
        check_gemm_case(&k4, ref, t, n, nr, ny, xoff, pad, kind, s);
        same_bits = sb;
    }
    for (int j = 0; j < ny; j++) {
        for (size_t k = (size_t)nr; k < ld; k++)
            ck_assert_msg(sf[(size_t)j * ld + k] == -12345.0f, "%s gemm wrote past row %d's %d outputs (n=%lld)",
                          quant_type_name(t), j, nr, (long long)n);
        memcpy(ya, y + (size_t)j * ys, yrow); /* aligned copies for the reference */
        for (int r = 0; r < nr; r++) {
            float sr;
            const float got = sf[(size_t)j * ld + (size_t)r];
            memcpy(xa, x + (size_t)r * xs, xrow);
            ref->dot[t](n, xa, ya, yrow, 1, &sr);
            if (kind == 0) {
                const double mag = dot_magnitude(ref, t, xa, ya, n, wf, af);
                ck_assert_msg(fabs((double)got - sr) <= tolerance(t) * mag + 1e-30,
                              "%s gemm n=%lld nr=%d ny=%d (%d, %d) (xoff %d pad %d): %.9g ref %.9g (magnitude %.4g)",
                              quant_type_name(t), (long long)n, nr, ny, j, r, xoff, pad, got, sr, mag);
            } else {
                /* integer products and sums are exact in float while
                 * every partial sum stays below 2^24, which the sum of the
                 * products' magnitudes bounds; past it each kernel rounds
                 * its partial sums in its own order: one rounding of that
                 * magnitude per group of 16 values at most */
                const double mag = dot_magnitude(ref, t, xa, ya, n, wf, af);
                const bool exact = mag < 16777216.0;
                const double bound = exact ? 0 : mag * FLT_EPSILON * (double)(n / 16);
                ck_assert_msg(exact ? got == sr : fabs((double)got - sr) <= bound,
                              "%s gemm %s n=%lld nr=%d ny=%d (%d, %d): %.9g != ref %.9g",
                              quant_type_name(t), kind == 1 ? "unit scales" : "extremes", (long long)n, nr, ny, j, r,
                              got, sr);
            }
        }
    }
    free(xb);
    free(y);
    free(xa);
    free(ya);
    free(wf);
    free(af);
    free(sf);
    return 1;
}

START_TEST(test_gemm)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    /* n: 1, 3, 8, 9 and 64 blocks of 32 (the tails of the 8-block step);
     * 9216 = 288 blocks crosses the prefill kernels' 128-block tables and
     * 64-block panels */
    static const int64_t ns[] = { 32, 96, 256, 288, 2048 };
    /* 16, 17, 24, 33, 40: the 16-row tile, then its 8-row and single-row tails */
    static const int nrs[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 33, 40 };
    const int n_nrs = (int)(sizeof nrs / sizeof nrs[0]);
    static const int nys[] = { 1, 2, 5, 8, 9, 13, 33, 40 };
    uint64_t s = 0x94d049bb133111ebull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    int cases = 0;
    /* the AMX variant's Q4_0/Q8_0 tiles: the same bits as the VNNI ones */
    struct quant_kernels lower, lower_ref;
    same_bits = _i == 4 && kernels_for(3, &lower, &lower_ref) ? &lower : NULL;
    for (int ti = 0; ti < N_TYPES; ti++) {
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < n_nrs; b++) {
                const int k = a * n_nrs + b, ny = nys[k % 8];
                /* K-quants: 1, 3, 8, 9 and 18 super-blocks of 256 (18
                 * cross the Q4_K tile's 16-super-block panels; more would
                 * take the extremes' sums past 2^24, where float sums are
                 * no longer exact and the bit-equality below fails) */
                const int64_t nn =
                    quant_traits_get(k_types[ti])->blck == QK_K ? (ns[a] == 2048 ? 4608 : ns[a] * 8) : ns[a];
                cases += check_gemm_case(&fast, &ref, k_types[ti], nn, nrs[b], ny, k % 3, (k % 2) * 5, 0, &s);
                if (ns[a] == 2048 || ns[a] == 288) {
                    cases += check_gemm_case(&fast, &ref, k_types[ti], nn, nrs[b], nys[(k + 3) % 8], 1, 0, 1, &s);
                    cases += check_gemm_case(&fast, &ref, k_types[ti], nn, nrs[b], nys[(k + 5) % 8], 2, 3, 2, &s);
                }
            }
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 9, 10, 1, 5, 0, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 8, 3, 0, 0, 1, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 32, 8, 2, 3, 2, &s);
        /* 70 activation rows: past the Q4_0/Q8_0 tiles' 64-row chunks */
        cases += check_gemm_case(&fast, &ref, k_types[ti], 2304, 17, 70, 1, 5, 0, &s);
        /* the AMX tiles' 16 activation rows: one full tile, a full tile and
         * a 15-row remainder, and 64 rows over 288 blocks (4 tiles per
         * panel, 5 panels, 3 tables) */
        cases += check_gemm_case(&fast, &ref, k_types[ti], 2304, 32, 16, 0, 1, 1, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 1024, 16, 31, 2, 0, 0, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 16, 64, 1, 3, 2, &s);
        /* decode past the 4-row groups of the 4 KiB kernel, and F16 rows
         * of no whole 32 values (its plain row kernel takes them) */
        cases += check_gemm_case(&fast, &ref, k_types[ti], 4096, 11, 1, 1, 5, 0, &s);
        if (k_types[ti] == QT_F16)
            cases += check_gemm_case(&fast, &ref, QT_F16, 1000, 9, 1, 2, 3, 2, &s);
    }
    if (isa == QISA_AVX512)
        ck_assert_msg(fast.gemm_4k[QT_F16] != NULL, "%s: no F16 decode kernel for 4 KiB pages", variants[_i].label);
    struct cpu_features f;
    variant_features(_i, &f);
    if (isa == QISA_AVX512 && f.avx512vnni)
        ck_assert_msg(fast.gemm[QT_Q4_0] && fast.gemm[QT_Q8_0], "Q4_0/Q8_0 lack gemm kernels on a VNNI CPU");
    same_bits = NULL;
    if (!cases)
        printf("quant_simd: %s has no gemm kernels: nothing to test\n", variants[_i].label);
}
END_TEST

Suite *quant_simd_gemm_suite(void)
{
    Suite *s = suite_create("quant_simd_gemm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gemm, 0, N_VARIANTS);
    suite_add_tcase(s, tc);
    return s;
}
