/* quant_avx512_f16x — F16 weights x F16 activations (prefill) through
 * AMX-BF16 tiles, for CPUs that have them (Sapphire Rapids and later).
 * Reached through quant_avx512_f16x_fill(), which quant_avx512_fill()
 * calls; below 16 activation rows, and where n is not a multiple of 32, the
 * AVX-512 gemm in quant_avx512.c does the work.
 *
 * Exact products without fp16 arithmetic: an f16 value has 11 significant
 * bits, a bf16 8. Each f16 w is split into hi + lo, both bf16 and exact:
 * hi = w as f32 with the low 16 bits cleared (its top 8 significant bits),
 * lo = w - hi (the remaining 3 bits, which bf16 holds exactly). Then
 *   w * y = wh*yh + wh*yl + wl*yh + wl*yl
 * and tdpbf16ps forms each bf16 x bf16 product exactly in f32 and adds it
 * to an f32 sum: four tile products give the f32 dot product of the f16
 * values, as the AVX-512 kernel's FMAs do, in another summation order
 * (tdpbf16ps treats f32 denormal results as zero, which the golden test's
 * tolerance does not see). The four terms still leave the tiles 4x the
 * AVX-512 FMA rate: one tdpbf16ps is 16 x 16 x 32 multiply-adds.
 *
 * Orientation: tile A is 16 weight rows x 32 bf16 (each row in its natural
 * order, so the weight panel needs no transpose), tile B 16 pairs x 16
 * activation rows (the activations transposed once per chunk, shared by
 * every weight row). The sums are weight rows x activation rows, so each
 * tile's sums are transposed (16 x 16 in registers) into the output rows.
 *
 * Per call: activation rows in chunks of F16X_ACT (their hi/lo tiles for
 * F16X_KC values of k on the stack: 128 KiB), and for each group of 16
 * weight rows a panel of the same k range (32 KiB), multiplied with two
 * activation tiles at a time: tmm0, tmm1 sums; tmm2, tmm3 weights hi/lo;
 * tmm4..7 the two tiles' activations hi/lo. */
#include "engine/quant_avx512_impl.h"

#define F16X_ACT 64  /* activation rows per chunk (4 tiles) */
#define F16X_KC 512  /* values of k per chunk: 16 tile steps of 32 */
#define F16X_KS (F16X_KC / 32)
#define F16X_MIN_NY 16

#define F16X_DP(c, a, b) __asm__ volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)

typedef uint8_t f16x_tile[16][64]; /* one tile's data: 16 rows of 64 bytes */

/* word 2i + 1 of a (i < 16), then of b: the high halves of 32 f32 */
static const uint16_t f16x_hiw[32] __attribute__((aligned(64))) = {
    1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
    33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63,
};

/* 32 f16 at p split into bf16 hi and lo (see above), each 32 values in
 * order (64 bytes). */
V512_INLINE void f16x_split(const uint8_t *p, __m512i *hi, __m512i *lo)
{
    const __m512i idx = _mm512_load_si512(f16x_hiw);
    const __m512 mask = _mm512_castsi512_ps(_mm512_set1_epi32((int)0xFFFF0000u));
    const __m512 f0 = _mm512_cvtph_ps(ld256(p)), f1 = _mm512_cvtph_ps(ld256(p + 32));
    const __m512 h0 = _mm512_and_ps(f0, mask), h1 = _mm512_and_ps(f1, mask);
    const __m512 l0 = _mm512_sub_ps(f0, h0), l1 = _mm512_sub_ps(f1, h1);
    *hi = _mm512_permutex2var_epi16(_mm512_castps_si512(h0), idx, _mm512_castps_si512(h1));
    *lo = _mm512_permutex2var_epi16(_mm512_castps_si512(l0), idx, _mm512_castps_si512(l1));
}

/* Activation tiles of rows [0, na) (na <= F16X_ACT, the rest zero) for
 * k in [k0, k0 + kc): hi[t][s] / lo[t][s] is tile t (rows 16t..) at step
 * s: row d = the bf16 pairs (k0 + 32s + 2d, +1) of the tile's 16 rows. */
V512_FN static void f16x_acts(const uint8_t *y, size_t ys, int na, int k0, int kc, f16x_tile (*hi)[F16X_KS],
                              f16x_tile (*lo)[F16X_KS])
{
    const int nt = (na + 15) / 16;
    for (int t = 0; t < nt; t++)
        for (int st = 0; st < kc / 32; st++) {
            __m512 h[16], l[16];
#pragma GCC unroll 16
            for (int m = 0; m < 16; m++) {
                __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
                if (16 * t + m < na)
                    f16x_split(y + (size_t)(16 * t + m) * ys + (size_t)(k0 + 32 * st) * 2, &a, &b);
                h[m] = _mm512_castsi512_ps(a);
                l[m] = _mm512_castsi512_ps(b);
            }
            transpose16_ps(h);
            transpose16_ps(l);
#pragma GCC unroll 16
            for (int d = 0; d < 16; d++) {
                _mm512_store_ps(hi[t][st][d], h[d]);
                _mm512_store_ps(lo[t][st][d], l[d]);
            }
        }
}

/* The 16 weight rows at x (xs apart), k in [k0, k0 + kc): hi[s] / lo[s]
 * row i = the 32 values of step s of row i. */
V512_FN static void f16x_panel(const uint8_t *x, size_t xs, int k0, int kc, f16x_tile *hi, f16x_tile *lo)
{
    for (int st = 0; st < kc / 32; st++)
        for (int i = 0; i < 16; i++) {
            __m512i a, b;
            f16x_split(x + (size_t)i * xs + (size_t)(k0 + 32 * st) * 2, &a, &b);
            _mm512_store_si512(hi[st][i], a);
            _mm512_store_si512(lo[st][i], b);
        }
}

/* s[(j0 + m) * ld + n] (+)= sums[n][m] for the tile's m < rows (16 weight
 * rows n). */
V512_FN static void f16x_out(const float (*sums)[16], float *s, size_t ld, bool add, int rows)
{
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_load_ps(sums[i]);
    transpose16_ps(r);
    for (int m = 0; m < rows; m++) {
        float *o = s + (size_t)m * ld;
        const __m512 v = add ? _mm512_add_ps(r[m], _mm512_loadu_ps(o)) : r[m];
        _mm512_storeu_ps(o, v);
    }
}

/* The four products of one step into sums tile C from weights (tmm2 hi,
 * tmm3 lo) and activations AH / AL. */
#define F16X_STEP(C, AH, AL) \
    do {                     \
        F16X_DP(C, 2, AH);   \
        F16X_DP(C, 2, AL);   \
        F16X_DP(C, 3, AH);   \
        F16X_DP(C, 3, AL);   \
    } while (0)

static void f16x_config(void)
{
    struct amx_cfg c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 8; i++)
        c.rows[i] = 16, c.colsb[i] = 64; /* sums 16 x 16 f32; operands 16 rows of 32 bf16 */
    amx_config(&c);
}

V512_FN __attribute__((noinline)) static void f16x_gemm(int64_t n, const uint8_t *x, size_t xs, int nr,
                                                       const uint8_t *y, size_t ys, int ny, float *s, size_t ld)
{
    f16x_tile ah[F16X_ACT / 16][F16X_KS] __attribute__((aligned(64)));
    f16x_tile al[F16X_ACT / 16][F16X_KS] __attribute__((aligned(64)));
    f16x_tile wh[F16X_KS] __attribute__((aligned(64))), wl[F16X_KS] __attribute__((aligned(64)));
    float sums[2][16][16] __attribute__((aligned(64)));
    const int nr16 = nr & ~15;
    f16x_config();
    for (int j0 = 0; j0 < ny; j0 += F16X_ACT) {
        const int na = ny - j0 < F16X_ACT ? ny - j0 : F16X_ACT;
        const int nt = (na + 15) / 16;
        for (int k0 = 0; k0 < n; k0 += F16X_KC) {
            const int kc = n - k0 < F16X_KC ? (int)(n - k0) : F16X_KC;
            f16x_acts(y + (size_t)j0 * ys, ys, na, k0, kc, ah, al);
            for (int r = 0; r < nr16; r += 16) {
                f16x_panel(x + (size_t)r * xs, xs, k0, kc, wh, wl);
                for (int t = 0; t < nt; t += 2) {
                    const bool two = t + 1 < nt;
                    AMX_ZERO(0);
                    AMX_ZERO(1);
                    for (int st = 0; st < kc / 32; st++) {
                        AMX_LOAD(2, wh[st], 64, wh[st]);
                        AMX_LOAD(3, wl[st], 64, wl[st]);
                        AMX_LOAD(4, ah[t][st], 64, ah[t][st]);
                        AMX_LOAD(5, al[t][st], 64, al[t][st]);
                        if (two) {
                            AMX_LOAD(6, ah[t + 1][st], 64, ah[t + 1][st]);
                            AMX_LOAD(7, al[t + 1][st], 64, al[t + 1][st]);
                            /* the two tiles' products alternate, so each sum
                             * tile waits on its previous product half as often */
                            F16X_DP(0, 2, 4);
                            F16X_DP(1, 2, 6);
                            F16X_DP(0, 2, 5);
                            F16X_DP(1, 2, 7);
                            F16X_DP(0, 3, 4);
                            F16X_DP(1, 3, 6);
                            F16X_DP(0, 3, 5);
                            F16X_DP(1, 3, 7);
                        } else {
                            F16X_STEP(0, 4, 5);
                        }
                    }
                    AMX_STORE(0, &sums[0]);
                    const int rows0 = na - 16 * t < 16 ? na - 16 * t : 16;
                    f16x_out((const float(*)[16])sums[0], s + (size_t)(j0 + 16 * t) * ld + r, ld, k0 > 0, rows0);
                    if (two) {
                        AMX_STORE(1, &sums[1]);
                        const int rows1 = na - 16 * (t + 1) < 16 ? na - 16 * (t + 1) : 16;
                        f16x_out((const float(*)[16])sums[1], s + (size_t)(j0 + 16 * (t + 1)) * ld + r, ld, k0 > 0,
                                 rows1);
                    }
                }
            }
        }
    }
    amx_release();
}

V512_FN static void gemm_f16_f16_amx(int64_t n, const void *restrict vx, size_t xs, int nr, const void *restrict vy,
                                     size_t ys, int ny, float *restrict s, size_t ld)
{
    const uint8_t *x = vx, *y = vy;
    if (ny < F16X_MIN_NY || n % 32 != 0 || nr < 16) {
        quant_avx512_gemm_f16(n, vx, xs, nr, vy, ys, ny, s, ld);
        return;
    }
    const int nr16 = nr & ~15;
    f16x_gemm(n, x, xs, nr16, y, ys, ny, s, ld);
    if (nr16 < nr) /* the last rows of the range: the AVX-512 tiles */
        quant_avx512_gemm_f16(n, x + (size_t)nr16 * xs, xs, nr - nr16, y, ys, ny, s + nr16, ld);
}

void quant_avx512_f16x_fill(struct quant_kernels *k, const struct cpu_features *f)
{
    if (!f->amx_bf16)
        return;
    k->gemm[QT_F16] = gemm_f16_f16_amx;
    k->gemm_variant[QT_F16] = "avx512+amx-bf16";
}
