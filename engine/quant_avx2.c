/* quant_avx2 — AVX2 + FMA + F16C kernels: dot products of F16, Q4_0, Q8_0,
 * Q4_K, Q5_K and Q6_K weight rows with activation rows, and the activation
 * quantizers (F16, Q8_0, Q8_K).
 *
 * The binary is built for baseline x86-64, so every function here carries a
 * target attribute and is reached only through quant_avx2_fill(), which
 * quant_kernels_init() calls when the CPU has avx2, fma and f16c.
 *
 * Shared design (see also quant_avx512.c):
 * - Every pointer may be misaligned (weights at any byte offset, activation
 *   rows at any stride): blocks are read with unaligned loads and memcpy,
 *   never through struct pointers.
 * - Integer parts are exact: each block's integer dot equals the reference
 *   kernel's; only the float accumulation order differs.
 * - ny == 1 (decode) streams the weight row once with two accumulators;
 *   ny > 1 (prefill) walks the row once per tile of up to 4 activation rows,
 *   so the unpacked weight registers serve 4 rows.
 * - Signed x signed int8 products use maddubs with the sign trick
 *   (|w| times y with w's sign applied). That is exact as long as the
 *   activation byte is never -128, which the Q8_0/Q8_K quantizers guarantee
 *   (their range is [-127, 127]).
 * - K-quant mins and the Q6_K -32 offset are applied through the Q8_K bsums.
 */
#include <float.h>
#include <math.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "engine/quant_impl.h"

#define AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/* Activation rows per prefill tile: 4 keeps accumulators, the unpacked
 * weights and the constants inside the 16 ymm registers. */
#define AVX2_TILE 4


AVX2_INLINE float ld_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

AVX2_INLINE float ld_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, 4);
    return f;
}

AVX2_INLINE __m256i ld256(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

AVX2_INLINE float hsum_ps(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

/* 16 bytes of packed nibbles -> 32 bytes: low nibbles first, then high ones
 * (Q4_0's value order). */
AVX2_INLINE __m256i unpack_nibbles16(const uint8_t *p)
{
    __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p));
    b = _mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* Signed byte dot in 8 int32 lanes: sum of w*y, exact while y != -128. */
AVX2_INLINE __m256i dot_i8(__m256i w_abs, __m256i w, __m256i y)
{
    __m256i p16 = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(y, w));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/* ---- Q4_0 and Q8_0 x Q8_0 ----------------------------------------------
 * Both reduce to "signed weight bytes of one 32-value block times signed
 * activation bytes": Q4_0 unpacks its nibbles and subtracts 8 first. */

AVX2_INLINE __m256i q4_0_or_q8_0_weights(const uint8_t *xb, int is_q4)
{
    if (is_q4)
        return _mm256_sub_epi8(unpack_nibbles16(xb + 2), _mm256_set1_epi8(8));
    return ld256(xb + 2);
}

/* The fp16 scales of 4 consecutive blocks of bs bytes starting at p, as
 * floats: combined in a general register, one vcvtph2ps. */
AVX2_INLINE __m128 ld_scales4(const uint8_t *p, int bs)
{
    uint16_t h[4];
    memcpy(&h[0], p, 2);
    memcpy(&h[1], p + bs, 2);
    memcpy(&h[2], p + 2 * bs, 2);
    memcpy(&h[3], p + 3 * bs, 2);
    const uint64_t v = (uint64_t)h[0] | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 32 | (uint64_t)h[3] << 48;
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)v));
}

/* nr (1..AVX2_TILE, a constant after inlining) activation rows per pass.
 * The scale products dx * dy of 4 blocks are computed together and stored,
 * so the inner loop broadcasts them from memory; one or two rows get two
 * accumulators each to hide the FMA latency. */
AVX2_INLINE void q_0_tile(int nb, const uint8_t *x, int xbytes, int is_q4, const uint8_t *y,
                          size_t ys, float *s, const int nr)
{
    const int two = nr <= 2;
    __m256 acc[AVX2_TILE][2];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    float sc[AVX2_TILE][4];
    int i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *xb = x + (size_t)i * xbytes;
        const uint8_t *yb = y + (size_t)i * Q8_0_BYTES;
        quant_prefetch_ahead(xb, 4 * xbytes);
        const __m128 dx = ld_scales4(xb, xbytes);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++)
            _mm_storeu_ps(sc[r], _mm_mul_ps(dx, ld_scales4(yb + (size_t)r * ys, Q8_0_BYTES)));
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            __m256i w = q4_0_or_q8_0_weights(xb + k * xbytes, is_q4);
            __m256i wa = _mm256_sign_epi8(w, w);
#pragma GCC unroll 8
            for (int r = 0; r < nr; r++) {
                __m256i p = dot_i8(wa, w, ld256(yb + (size_t)r * ys + k * Q8_0_BYTES + 2));
                const int a = two ? (k & 1) : 0;
                acc[r][a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&sc[r][k]), acc[r][a]);
            }
        }
    }
    for (; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * xbytes;
        const uint8_t *yb = y + (size_t)i * Q8_0_BYTES;
        __m256i w = q4_0_or_q8_0_weights(xb, is_q4);
        __m256i wa = _mm256_sign_epi8(w, w);
        const float dx = ld_f16(xb);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            __m256i p = dot_i8(wa, w, ld256(yr + 2));
            acc[r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dx * ld_f16(yr)), acc[r][0]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        s[r] = hsum_ps(_mm256_add_ps(acc[r][0], acc[r][1]));
}

AVX2_INLINE void q_0_dot(int64_t n, const void *vx, const void *vy, size_t ys, int ny, float *s,
                         int xbytes, int is_q4)
{
    const int nb = (int)(n / 32);
    const uint8_t *x = vx, *y = vy;
    int r = 0;
    for (; r + AVX2_TILE <= ny; r += AVX2_TILE)
        q_0_tile(nb, x, xbytes, is_q4, y + r * ys, ys, s + r, AVX2_TILE);
    switch (ny - r) {
    case 3: q_0_tile(nb, x, xbytes, is_q4, y + r * ys, ys, s + r, 3); break;
    case 2: q_0_tile(nb, x, xbytes, is_q4, y + r * ys, ys, s + r, 2); break;
    case 1: q_0_tile(nb, x, xbytes, is_q4, y + r * ys, ys, s + r, 1); break;
    default: break;
    }
}

AVX2_FN static void dot_q4_0_q8_0(int64_t n, const void *restrict x, const void *restrict y,
                                  size_t ys, int ny, float *restrict s)
{
    q_0_dot(n, x, y, ys, ny, s, Q4_0_BYTES, 1);
}

AVX2_FN static void dot_q8_0_q8_0(int64_t n, const void *restrict x, const void *restrict y,
                                  size_t ys, int ny, float *restrict s)
{
    q_0_dot(n, x, y, ys, ny, s, Q8_0_BYTES, 0);
}

/* ---- Q4_K / Q5_K x Q8_K -------------------------------------------------
 * Per 256-value super-block: 8 sub-blocks of 32 with 6-bit scales and mins.
 * isum = sum_j scale_j * dot(q_j, y_j) with q unsigned (0..15 or 0..31), so
 * maddubs needs no sign trick; the mins come in through the bsums:
 * result = d*dy*isum - dmin*dy*sum_j min_j * (bsums[2j] + bsums[2j+1]). */

/* The 12 packed 6-bit scale/min bytes of Q4_K/Q5_K at p -> bytes
 * [scale 0..7, min 0..7]. In u32 words u0..u2: scales 0-3 = u0 & 0x3f..,
 * scales 4-7 = (u2 & 0x0f..) | top bits of u0 at 4-5, mins 0-3 = u1 & 0x3f..,
 * mins 4-7 = (u2 >> 4 & 0x0f..) | top bits of u1 at 4-5. Done in xmm lanes:
 * scalar code here gets SLP-vectorized by the compiler into store/reload
 * sequences that stall. Reads 16 bytes (the 4 after the scales are in the
 * block). */
AVX2_INLINE __m128i k4_scales(const uint8_t *p)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i a = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0)); /* u0 u2 u1 u2 */
    const __m128i b = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0)); /* u0 u0 u1 u1 */
    a = _mm_srlv_epi32(a, _mm_setr_epi32(0, 0, 0, 4));
    const __m128i lo = _mm_and_si128(a, _mm_set1_epi32(0x3f3f3f3f));
    const __m128i hi = _mm_or_si128(_mm_and_si128(a, _mm_set1_epi32(0x0f0f0f0f)),
                                    _mm_and_si128(_mm_srli_epi32(b, 2), _mm_set1_epi32(0x30303030)));
    return _mm_blend_epi32(lo, hi, 0xA);
}

/* int16 broadcast of scale j from a vector holding the 8 scales as int16 in
 * both 128-bit lanes. */
AVX2_INLINE __m256i bcast_w16(__m256i sc, int j)
{
    const int8_t lo = (int8_t)(2 * j), hi = (int8_t)(2 * j + 1);
    return _mm256_shuffle_epi8(sc, _mm256_setr_epi8(lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi,
                                                    lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi,
                                                    lo, hi, lo, hi, lo, hi, lo, hi));
}

/* The (values 0..31) byte vector of sub-block j of a Q4_K/Q5_K super-block:
 * qs 32-byte chunk j/2, low nibbles for even j, high for odd; Q5_K adds
 * bit j of qh[l] as bit 4. */
AVX2_INLINE __m256i k45_sub(const uint8_t *qs, __m256i qh, int j, int five)
{
    __m256i v = ld256(qs + 32 * (j / 2));
    if (j & 1)
        v = _mm256_srli_epi16(v, 4);
    v = _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
    if (five) {
        __m256i h = j <= 4 ? _mm256_slli_epi16(qh, 4 - j) : _mm256_srli_epi16(qh, j - 4);
        v = _mm256_or_si256(v, _mm256_and_si256(h, _mm256_set1_epi8(0x10)));
    }
    return v;
}

AVX2_INLINE void k45_tile(int nb, const uint8_t *x, int five, const uint8_t *y, size_t ys,
                          float *s, const int nr)
{
    const int xbytes = five ? Q5_K_BYTES : Q4_K_BYTES;
    const int qs_off = five ? 48 : 16;
    __m256 acc[AVX2_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r] = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * xbytes;
        quant_prefetch_ahead(xb, xbytes);
        const uint8_t *yb = y + (size_t)i * Q8_K_BYTES;
        const __m128i sm8 = k4_scales(xb + 4);
        __m128i sm16 = _mm_cvtepu8_epi16(sm8);
        __m128i mn16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm8, 8));
        __m256i sc = _mm256_broadcastsi128_si256(sm16);
        /* [m0 m0 m1 m1 ... m7 m7]: min j covers bsums 2j and 2j+1 */
        __m256i mins = _mm256_setr_m128i(_mm_unpacklo_epi16(mn16, mn16), _mm_unpackhi_epi16(mn16, mn16));
        const float dx = ld_f16(xb), dmx = ld_f16(xb + 2);
        __m256i qh = five ? ld256(xb + 16) : _mm256_setzero_si256();
        __m256i isum[AVX2_TILE];
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            __m256i ms = _mm256_madd_epi16(ld256(yr + Q8K_BSUMS), mins);
            acc[r] = _mm256_fnmadd_ps(_mm256_set1_ps(dmx * ld_f32(yr)), _mm256_cvtepi32_ps(ms), acc[r]);
            isum[r] = _mm256_setzero_si256();
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m256i q = k45_sub(xb + qs_off, qh, j, five);
            __m256i scj = bcast_w16(sc, j);
#pragma GCC unroll 8
            for (int r = 0; r < nr; r++) {
                const uint8_t *yr = yb + (size_t)r * ys;
                __m256i p = _mm256_maddubs_epi16(q, ld256(yr + Q8K_QS + 32 * j));
                isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(p, scj));
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * ld_f32(yr)), _mm256_cvtepi32_ps(isum[r]), acc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        s[r] = hsum_ps(acc[r]);
}

AVX2_INLINE void k45_dot(int64_t n, const void *vx, const void *vy, size_t ys, int ny, float *s,
                         int five)
{
    const int nb = (int)(n / QK_K);
    const uint8_t *x = vx, *y = vy;
    int r = 0;
    for (; r + AVX2_TILE <= ny; r += AVX2_TILE)
        k45_tile(nb, x, five, y + r * ys, ys, s + r, AVX2_TILE);
    switch (ny - r) {
    case 3: k45_tile(nb, x, five, y + r * ys, ys, s + r, 3); break;
    case 2: k45_tile(nb, x, five, y + r * ys, ys, s + r, 2); break;
    case 1: k45_tile(nb, x, five, y + r * ys, ys, s + r, 1); break;
    default: break;
    }
}

AVX2_FN static void dot_q4_K_q8_K(int64_t n, const void *restrict x, const void *restrict y,
                                  size_t ys, int ny, float *restrict s)
{
    k45_dot(n, x, y, ys, ny, s, 0);
}

AVX2_FN static void dot_q5_K_q8_K(int64_t n, const void *restrict x, const void *restrict y,
                                  size_t ys, int ny, float *restrict s)
{
    k45_dot(n, x, y, ys, ny, s, 1);
}

/* ---- Q6_K x Q8_K --------------------------------------------------------
 * 16 sub-blocks of 16 with int8 scales; q = 6-bit unsigned (0..63), weight
 * = d * scale * (q - 32). The -32 goes through the bsums:
 * isum = sum_j scale_j * (dot(q_j, y_j) - 32 * bsums[j]). */

/* Values 32k..32k+31 (k = 0..3) of one 128-value half from its 64 ql bytes
 * and 32 qh bytes. */
AVX2_INLINE __m256i q6_sub(const uint8_t *ql, __m256i qh, int k)
{
    __m256i l = ld256(ql + 32 * (k & 1));
    if (k >= 2)
        l = _mm256_srli_epi16(l, 4);
    l = _mm256_and_si256(l, _mm256_set1_epi8(0x0F));
    __m256i h;
    switch (k) {
    case 0: h = _mm256_slli_epi16(qh, 4); break;
    case 1: h = _mm256_slli_epi16(qh, 2); break;
    case 2: h = qh; break;
    default: h = _mm256_srli_epi16(qh, 2); break;
    }
    return _mm256_or_si256(l, _mm256_and_si256(h, _mm256_set1_epi8(0x30)));
}

/* [scale 2m x8 | scale 2m+1 x8] as int16 from one lane-duplicated vector of
 * 8 int16 scales; m in 0..3 within that vector. */
AVX2_INLINE __m256i q6_scale_pair(__m256i sc8, int m)
{
    const int8_t a = (int8_t)(4 * m), b = (int8_t)(4 * m + 1), c = (int8_t)(4 * m + 2), d = (int8_t)(4 * m + 3);
    return _mm256_shuffle_epi8(sc8, _mm256_setr_epi8(a, b, a, b, a, b, a, b, a, b, a, b, a, b, a, b,
                                                     c, d, c, d, c, d, c, d, c, d, c, d, c, d, c, d));
}

AVX2_INLINE void q6_tile(int nb, const uint8_t *x, const uint8_t *y, size_t ys, float *s, const int nr)
{
    __m256 acc[AVX2_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r] = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * Q6_K_BYTES;
        quant_prefetch_ahead(xb, Q6_K_BYTES);
        const uint8_t *yb = y + (size_t)i * Q8_K_BYTES;
        /* scales as int16: [s0..s7 | s8..s15] */
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(xb + 192)));
        const float dx = ld_f16(xb + 208);
        __m256i isum[AVX2_TILE];
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            __m256i bias = _mm256_madd_epi16(ld256(yr + Q8K_BSUMS), sc16);
            isum[r] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(bias, 5));
        }
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            /* the immediate must be a constant for every compiler */
            __m256i sch = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                            : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            __m256i qh = ld256(xb + 128 + 32 * h);
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                __m256i q = q6_sub(xb + 64 * h, qh, k);
                __m256i scv = q6_scale_pair(sch, k);
#pragma GCC unroll 8
                for (int r = 0; r < nr; r++) {
                    const uint8_t *yr = yb + (size_t)r * ys;
                    __m256i p = _mm256_maddubs_epi16(q, ld256(yr + Q8K_QS + 128 * h + 32 * k));
                    isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(p, scv));
                }
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * ld_f32(yr)), _mm256_cvtepi32_ps(isum[r]), acc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        s[r] = hsum_ps(acc[r]);
}

AVX2_FN static void dot_q6_K_q8_K(int64_t n, const void *restrict vx, const void *restrict vy,
                                  size_t ys, int ny, float *restrict s)
{
    const int nb = (int)(n / QK_K);
    const uint8_t *x = vx, *y = vy;
    int r = 0;
    for (; r + AVX2_TILE <= ny; r += AVX2_TILE)
        q6_tile(nb, x, y + r * ys, ys, s + r, AVX2_TILE);
    switch (ny - r) {
    case 3: q6_tile(nb, x, y + r * ys, ys, s + r, 3); break;
    case 2: q6_tile(nb, x, y + r * ys, ys, s + r, 2); break;
    case 1: q6_tile(nb, x, y + r * ys, ys, s + r, 1); break;
    default: break;
    }
}

/* ---- F16 x F16 ------------------------------------------------------------
 * Converted to f32 with F16C and accumulated in f32 lanes (the reference
 * sums in double; the difference is float rounding only). */

AVX2_INLINE __m256 ld_ph8(const uint8_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

AVX2_INLINE float f16_row1(int64_t n, const uint8_t *x, const uint8_t *y)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(ld_ph8(x + 2 * i), ld_ph8(y + 2 * i), a0);
        a1 = _mm256_fmadd_ps(ld_ph8(x + 2 * i + 16), ld_ph8(y + 2 * i + 16), a1);
        a2 = _mm256_fmadd_ps(ld_ph8(x + 2 * i + 32), ld_ph8(y + 2 * i + 32), a2);
        a3 = _mm256_fmadd_ps(ld_ph8(x + 2 * i + 48), ld_ph8(y + 2 * i + 48), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(ld_ph8(x + 2 * i), ld_ph8(y + 2 * i), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        sum += ld_f16(x + 2 * i) * ld_f16(y + 2 * i);
    return sum;
}

AVX2_INLINE void f16_tile(int64_t n, const uint8_t *x, const uint8_t *y, size_t ys, float *s, const int nr)
{
    __m256 acc[AVX2_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = ld_ph8(x + 2 * i);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++)
            acc[r] = _mm256_fmadd_ps(xv, ld_ph8(y + (size_t)r * ys + 2 * i), acc[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++) {
        float sum = hsum_ps(acc[r]);
        for (int64_t j = i; j < n; j++)
            sum += ld_f16(x + 2 * j) * ld_f16(y + (size_t)r * ys + 2 * j);
        s[r] = sum;
    }
}

AVX2_FN static void dot_f16_f16(int64_t n, const void *restrict vx, const void *restrict vy,
                                size_t ys, int ny, float *restrict s)
{
    const uint8_t *x = vx, *y = vy;
    int r = 0;
    for (; r + AVX2_TILE <= ny; r += AVX2_TILE)
        f16_tile(n, x, y + r * ys, ys, s + r, AVX2_TILE);
    switch (ny - r) {
    case 3: f16_tile(n, x, y + r * ys, ys, s + r, 3); break;
    case 2: f16_tile(n, x, y + r * ys, ys, s + r, 2); break;
    case 1: s[r] = f16_row1(n, x, y + r * ys); break;
    default: break;
    }
}

/* ---- activation quantizers ----------------------------------------------
 * Byte-identical to the reference: same float operations in the same order
 * per element, and the same rounding (roundf for Q8_0, round-half-even for
 * Q8_K, F16C round-to-nearest-even for F16). */

/* roundf: nearest, ties away from zero (what the Q8_0 reference does). */
AVX2_INLINE __m256 round_half_away(__m256 v)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t)); /* exact */
    __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

/* Four vectors of 8 int32 (each in [-128, 127] or saturating) -> 32 int8
 * in order. */
AVX2_INLINE __m256i pack_i32x32(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i v = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

AVX2_INLINE float hmax_ps(__m256 v)
{
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

AVX2_FN static void from_float_q8_0(const float *restrict x, void *restrict vy, int64_t n)
{
    uint8_t *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0, y += Q8_0_BYTES) {
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            /* max_ps returns its second operand when either is NaN: NaN
             * inputs are skipped, as fmaxf does in the reference */
            m = _mm256_max_ps(_mm256_andnot_ps(sign, v[k]), m);
        }
        const float amax = hmax_ps(m);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        memcpy(y, &dh, 2);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 r = round_half_away(_mm256_mul_ps(v[k], _mm256_set1_ps(id)));
            /* as the reference's sat_i8: NaN -> 0, +-inf (id overflowed
             * for a tiny amax) -> 127 / -128 */
            r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q));
            r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
            q[k] = _mm256_cvttps_epi32(r);
        }
        _mm256_storeu_si256((__m256i *)(void *)(y + 2), pack_i32x32(q[0], q[1], q[2], q[3]));
    }
}

AVX2_FN static void from_float_q8_K(const float *restrict x, void *restrict vy, int64_t n)
{
    uint8_t *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K, y += Q8_K_BYTES) {
        __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
        for (int k = 0; k < 32; k += 2) {
            /* operand order: max_ps returns its second operand when
             * either is NaN, so a NaN input is skipped as in the reference */
            m0 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), m0);
            m1 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k + 8)), m1);
        }
        const float amax = hmax_ps(_mm256_max_ps(m0, m1));
        if (amax == 0.0f || !(amax <= FLT_MAX)) { /* as the reference: zero block */
            memset(y, 0, Q8_K_BYTES);
            continue;
        }
        /* the signed value of the first element whose |x| is the maximum */
        const __m256 am = _mm256_set1_ps(amax);
        float max = 0.0f;
        for (int k = 0; k < 32; k++) {
            int bits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), am, _CMP_EQ_OQ));
            if (bits) {
                max = x[8 * k + __builtin_ctz((unsigned)bits)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 is = _mm256_set1_ps(iscale);
        int16_t bsums[16];
        for (int g = 0; g < 8; g++) {
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                __m256 v = _mm256_mul_ps(is, _mm256_loadu_ps(x + 32 * g + 8 * k));
                /* NaN or inf (a NaN input, or iscale overflowed for a tiny
                 * max) -> 0, what the reference's round_even gives */
                __m256 fin = _mm256_cmp_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(FLT_MAX), _CMP_LE_OQ);
                q[k] = _mm256_cvtps_epi32(_mm256_and_ps(v, fin));
            }
            __m256i qb = pack_i32x32(q[0], q[1], q[2], q[3]); /* saturation = MIN(127, v) */
            _mm256_storeu_si256((__m256i *)(void *)(y + Q8K_QS + 32 * g), qb);
            /* sums of 8 bytes via SAD on the biased bytes (+128 each) */
            __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(qb, _mm256_set1_epi8((char)0x80)), _mm256_setzero_si256());
            sad = _mm256_add_epi64(sad, _mm256_shuffle_epi32(sad, 0x4E));
            bsums[2 * g] = (int16_t)(_mm256_extract_epi64(sad, 0) - 16 * 128);
            bsums[2 * g + 1] = (int16_t)(_mm256_extract_epi64(sad, 2) - 16 * 128);
        }
        memcpy(y + Q8K_BSUMS, bsums, sizeof bsums);
        const float d = 1.0f / iscale;
        memcpy(y, &d, 4);
    }
}

AVX2_FN static void from_float_f16(const float *restrict x, void *restrict vy, int64_t n)
{
    uint8_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
        const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
        if (_mm256_movemask_ps(nan)) {
            /* every NaN becomes sign | 0x7e00 as in quant_f32_to_f16
             * (the hardware would keep payload bits) */
            const __m256i m32 = _mm256_castps_si256(nan);
            const __m128i m16 = _mm_packs_epi32(_mm256_castsi256_si128(m32), _mm256_extracti128_si256(m32, 1));
            const __m128i canon = _mm_or_si128(_mm_and_si128(h, _mm_set1_epi16((short)0x8000)), _mm_set1_epi16(0x7e00));
            h = _mm_blendv_epi8(h, canon, m16);
        }
        _mm_storeu_si128((__m128i *)(void *)(y + 2 * i), h);
    }
    for (; i < n; i++) {
        const uint16_t h = quant_f32_to_f16(x[i]);
        memcpy(y + 2 * i, &h, 2);
    }
}

/* ---- attention over an fp16 KV cache (quant_attn_kq_fn / _pv_fn) ----------
 * Four keys at a time share one horizontal reduction (three hadds); the
 * elements past the last multiple of 8 go one at a time with F16C's scalar
 * conversion (head sizes are multiples of 8 in practice). */
AVX2_INLINE __m128 hsum4_256(__m256 b0, __m256 b1, __m256 b2, __m256 b3)
{
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(b0, b1), _mm256_hadd_ps(b2, b3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

AVX2_INLINE float half_at(const uint8_t *row, int i)
{
    uint16_t h;
    memcpy(&h, row + 2 * (size_t)i, 2);
    return _cvtsh_ss(h);
}

AVX2_FN static void attn_kq_f16(const float *restrict q, const uint16_t *restrict k, size_t rs, int n, int hd,
                                float *restrict s)
{
    const uint8_t *kb = (const uint8_t *)k;
    const int h8 = hd & ~7;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = kb + (size_t)j * rs, *r1 = r0 + rs, *r2 = r1 + rs, *r3 = r2 + rs;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < h8; i += 8) {
            const __m256 qv = _mm256_loadu_ps(q + i);
            a0 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r0 + 2 * i))), a0);
            a1 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r1 + 2 * i))), a1);
            a2 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r2 + 2 * i))), a2);
            a3 = _mm256_fmadd_ps(qv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r3 + 2 * i))), a3);
        }
        __m128 v = hsum4_256(a0, a1, a2, a3);
        float t[4];
        _mm_storeu_ps(t, v);
        for (int i = h8; i < hd; i++) {
            t[0] += q[i] * half_at(r0, i);
            t[1] += q[i] * half_at(r1, i);
            t[2] += q[i] * half_at(r2, i);
            t[3] += q[i] * half_at(r3, i);
        }
        memcpy(s + j, t, sizeof t);
    }
    for (; j < n; j++) {
        const uint8_t *r = kb + (size_t)j * rs;
        __m256 a = _mm256_setzero_ps();
        for (int i = 0; i < h8; i += 8)
            a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 2 * i))), a);
        float t = _mm_cvtss_f32(hsum4_256(a, a, a, a));
        for (int i = h8; i < hd; i++)
            t += q[i] * half_at(r, i);
        s[j] = t;
    }
}

/* 32 output values (four ymm) stay in registers while every key's row
 * streams past; then the next 32. */
AVX2_FN static void attn_pv_f16(const float *restrict p, const uint16_t *restrict v, size_t rs, int n, int hd,
                                float *restrict out)
{
    const uint8_t *vb = (const uint8_t *)v;
    const int h8 = hd & ~7;
    int i0 = 0;
    for (; i0 + 32 <= h8; i0 += 32) {
        __m256 a0 = _mm256_loadu_ps(out + i0), a1 = _mm256_loadu_ps(out + i0 + 8);
        __m256 a2 = _mm256_loadu_ps(out + i0 + 16), a3 = _mm256_loadu_ps(out + i0 + 24);
        for (int j = 0; j < n; j++) {
            const uint8_t *r = vb + (size_t)j * rs + 2 * (size_t)i0;
            const __m256 pj = _mm256_broadcast_ss(p + j);
            a0 = _mm256_fmadd_ps(pj, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)r)), a0);
            a1 = _mm256_fmadd_ps(pj, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 16))), a1);
            a2 = _mm256_fmadd_ps(pj, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 32))), a2);
            a3 = _mm256_fmadd_ps(pj, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 48))), a3);
        }
        _mm256_storeu_ps(out + i0, a0);
        _mm256_storeu_ps(out + i0 + 8, a1);
        _mm256_storeu_ps(out + i0 + 16, a2);
        _mm256_storeu_ps(out + i0 + 24, a3);
    }
    for (; i0 < h8; i0 += 8) {
        __m256 a = _mm256_loadu_ps(out + i0);
        for (int j = 0; j < n; j++)
            a = _mm256_fmadd_ps(_mm256_broadcast_ss(p + j),
                                _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vb + (size_t)j * rs + 2 * (size_t)i0))), a);
        _mm256_storeu_ps(out + i0, a);
    }
    for (int i = h8; i < hd; i++) {
        float a = out[i];
        for (int j = 0; j < n; j++)
            a += p[j] * half_at(vb + (size_t)j * rs, i);
        out[i] = a;
    }
}

AVX2_FN static void f16_round(const float *x, float scale, float *y, int n)
{
    const __m256 sc = _mm256_set1_ps(scale);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(x + i), sc),
                                                                _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++)
        y[i] = _cvtsh_ss(_cvtss_sh(x[i] * scale, _MM_FROUND_TO_NEAREST_INT));
}

/* exp for x <= 0: the QEXP_* recipe of quant_impl.h */
AVX2_INLINE __m256 exp_neg8(__m256 x)
{
    const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(QEXP_NEG_MIN), _CMP_LT_OQ);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(QEXP_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(QEXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(QEXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(QEXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QEXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QEXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QEXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QEXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QEXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* 2^n into the exponent field: n is in [-126, 0] wherever the result is kept */
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

AVX2_FN static double attn_exp(float *s, int n, float scale)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        mx = fmaxf(mx, s[i] * scale);
    const __m256 sc = _mm256_set1_ps(scale), vmax = _mm256_set1_ps(mx);
    __m256d sum = _mm256_setzero_pd();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp_neg8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(s + i), sc), vmax));
        _mm256_storeu_ps(s + i, e);
        sum = _mm256_add_pd(sum, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)),
                                               _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1))));
    }
    double t[4];
    _mm256_storeu_pd(t, sum);
    double total = (t[0] + t[1]) + (t[2] + t[3]);
    if (i < n) { /* the tail through the same polynomial, zero-padded */
        float buf[8] = { 0 };
        for (int k = i; k < n; k++)
            buf[k - i] = s[k] * scale - mx;
        float e[8];
        _mm256_storeu_ps(e, exp_neg8(_mm256_loadu_ps(buf)));
        for (int k = i; k < n; k++) {
            s[k] = e[k - i];
            total += e[k - i];
        }
    }
    return total;
}

void quant_avx2_fill(struct quant_kernels *k)
{
    k->attn_exp = attn_exp;
    k->attn_kq_f16 = attn_kq_f16;
    k->attn_pv_f16 = attn_pv_f16;
    k->f16_round = f16_round;
    k->attn_variant = "avx2";
    static const struct { enum qtype t; quant_dot_fn dot; } dots[] = {
        { QT_F16, dot_f16_f16 },
        { QT_Q4_0, dot_q4_0_q8_0 },
        { QT_Q8_0, dot_q8_0_q8_0 },
        { QT_Q4_K, dot_q4_K_q8_K },
        { QT_Q5_K, dot_q5_K_q8_K },
        { QT_Q6_K, dot_q6_K_q8_K },
    };
    for (size_t i = 0; i < sizeof dots / sizeof dots[0]; i++) {
        k->dot[dots[i].t] = dots[i].dot;
        k->dot_isa[dots[i].t] = QISA_AVX2;
        k->dot_variant[dots[i].t] = "avx2";
    }
    k->from_float[QT_Q8_0] = from_float_q8_0;
    k->from_float[QT_Q8_K] = from_float_q8_K;
    k->from_float[QT_F16] = from_float_f16;
}
