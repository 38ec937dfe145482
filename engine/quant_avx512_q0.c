/* quant_avx512_q0 — Q4_0 and Q8_0 weights x Q8_0 activations on AVX-512
 * with VNNI: the dot kernel (256-bit tiles), the decode loops (512-bit,
 * with VBMI + GFNI) and the prefill / batched-decode tiles (the gemm slot).
 * Reached through quant_avx512_q0_fill(), which quant_avx512_fill() calls.
 * Same rules as the other kernel files: unaligned loads, exact integer
 * parts, float accumulation order free (tests/test_quant_simd.c checks every
 * kernel against the reference at misaligned addresses, tails and extremes).
 *
 * - Q4_0 / Q8_0 (VNNI only; without VNNI the AVX2 kernels stay): 256-bit
 *   vpdpbusd, using the 32 registers for tiles of 8 activation rows. The
 *   signed x signed product uses an offset instead of the sign trick,
 *   exact for every byte value: dpbusd(corr, y ^ 0x80, w) adds
 *   sum((y + 128) * w), and corr = -128 * sum(w) is computed once per weight
 *   block. The per-block scale products dx * dy are computed 4 blocks at a
 *   time and stored, so the inner loop broadcasts them from memory instead
 *   of converting each one. No 512-bit instruction runs in this loop (it
 *   would take vector port 1 away from the 256-bit work).
 *   This is the dot kernel (one weight row) and the decode path of Q8_0;
 *   the engine's matmul goes through the gemm slot below.
 * - Q4_0 with one activation row (decode), where the CPU also has VBMI and
 *   GFNI: a separate 512-bit loop over 8 blocks per iteration (q4_row1),
 *   byte permutes instead of the offset trick, and a 4-weight-row version
 *   of it (q4_rows4); see the comments there.
 * - Q4_0 and Q8_0 with several activation rows (prefill and batched
 *   decode, the gemm slot): 512-bit tiles of 16 weight rows x 8 activation
 *   rows, one 32-bit lane per weight row (q0p_tile), with 8-row tiles whose
 *   128-bit lanes are weight rows (q0g_tile) for the 8-row remainder.
 * - With AMX-INT8 and 16 or more activation rows: Q4_0 through the same
 *   panels as AMX tile B (q0x_tile); Q8_0 with its weights read in place
 *   as tile A and the activations packed as B (q8w_gemm).
 */
#include <float.h>
#include <math.h>

#include "engine/quant_avx512_impl.h"

/* ---- Q4_0 and Q8_0 x Q8_0 (VNNI) ---------------------------------------- */

/* The fp16 scales of 4 consecutive blocks of bs bytes starting at p, as
 * floats. Combined in a general register and converted with one xmm
 * vcvtph2ps: gathering them with 512-bit permutes would shut vector port 1
 * for the 256-bit loop around it. */
V512_INLINE __m128 ld_scales4(const uint8_t *p, int bs)
{
    uint16_t h[4];
    memcpy(&h[0], p, 2);
    memcpy(&h[1], p + bs, 2);
    memcpy(&h[2], p + 2 * bs, 2);
    memcpy(&h[3], p + 3 * bs, 2);
    const uint64_t v = (uint64_t)h[0] | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 32 | (uint64_t)h[3] << 48;
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)v));
}

/* Signed weight bytes of one block and the matching correction
 * -128 * (sum of each group of 4 weights). */
VNNI_INLINE __m256i q0_weights(const uint8_t *xb, int is_q4, __m256i *corr)
{
    if (is_q4) {
        __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(xb + 2)));
        b = _mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
        __m256i q = _mm256_and_si256(b, _mm256_set1_epi8(0x0F)); /* 0..15 */
        /* 4*8*128 - 128*sum(q) = -128 * sum(q - 8) */
        *corr = _mm256_dpbusd_epi32(_mm256_set1_epi32(4096), q, _mm256_set1_epi8(-128));
        return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
    }
    __m256i w = ld256(xb + 2);
    /* 4*128*128 - 128*sum(w + 128) = -128 * sum(w) */
    *corr = _mm256_dpbusd_epi32(_mm256_set1_epi32(65536), _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80)),
                                _mm256_set1_epi8(-128));
    return w;
}

/* sum(y * w) per 4-byte group, exact for all bytes. */
VNNI_INLINE __m256i q0_dot(__m256i corr, __m256i w, const uint8_t *yqs)
{
    return _mm256_dpbusd_epi32(corr, _mm256_xor_si256(ld256(yqs), _mm256_set1_epi8((char)0x80)), w);
}

/* nr (1..Q0_TILE, constant after inlining) activation rows per pass; with
 * one or two rows, two accumulators per row hide the FMA latency. */
VNNI_INLINE void q0_tile(int nb, const uint8_t *x, int xbytes, int is_q4, const uint8_t *y,
                         size_t ys, float *s, const int nr)
{
    const int two = nr <= 2;
    __m256 acc[Q0_TILE][2];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    float sc[Q0_TILE][4]; /* dx * dy of the current 4 blocks, per row */
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
            __m256i corr;
            __m256i w = q0_weights(xb + k * xbytes, is_q4, &corr);
#pragma GCC unroll 8
            for (int r = 0; r < nr; r++) {
                __m256i p = q0_dot(corr, w, yb + (size_t)r * ys + k * Q8_0_BYTES + 2);
                const int a = two ? (k & 1) : 0;
                acc[r][a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&sc[r][k]), acc[r][a]);
            }
        }
    }
    for (; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * xbytes;
        const uint8_t *yb = y + (size_t)i * Q8_0_BYTES;
        __m256i corr;
        __m256i w = q0_weights(xb, is_q4, &corr);
        const float dx = ld_f16(xb);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            __m256i p = q0_dot(corr, w, yr + 2);
            acc[r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dx * ld_f16(yr)), acc[r][0]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        s[r] = hsum256(_mm256_add_ps(acc[r][0], acc[r][1]));
}

VNNI_INLINE void q0_dot_rows(int64_t n, const void *vx, const void *vy, size_t ys, int ny, float *s,
                             int xbytes, int is_q4)
{
    const int nb = (int)(n / 32);
    const uint8_t *x = vx, *y = vy;
    int r = 0;
    for (; r + Q0_TILE <= ny; r += Q0_TILE)
        q0_tile(nb, x, xbytes, is_q4, y + r * ys, ys, s + r, Q0_TILE);
    const uint8_t *yr = y + r * ys;
    switch (ny - r) {
    case 7: q0_tile(nb, x, xbytes, is_q4, yr, ys, s + r, 7); break;
    case 6: q0_tile(nb, x, xbytes, is_q4, yr, ys, s + r, 6); break;
    case 5: q0_tile(nb, x, xbytes, is_q4, yr, ys, s + r, 5); break;
    case 4: q0_tile(nb, x, xbytes, is_q4, yr, ys, s + r, 4); break;
    case 3: q0_tile(nb, x, xbytes, is_q4, yr, ys, s + r, 3); break;
    case 2: q0_tile(nb, x, xbytes, is_q4, yr, ys, s + r, 2); break;
    case 1: q0_tile(nb, x, xbytes, is_q4, yr, ys, s + r, 1); break;
    default: break;
    }
}

/* ---- Q4_0 x Q8_0, one activation row, 512-bit (VNNI + VBMI + GFNI) ------
 *
 * Decode (ny == 1) is bound by the vector ports in the 256-bit kernel above
 * (about 10 vector uops per block). This loop works on groups of 4 blocks
 * in zmm registers:
 *
 *   x: 4 blocks = 72 bytes at xb; y: 4 blocks = 136 bytes at yb.
 *   Q   = vpermt2b of xb[0..63], xb[56..71]: byte 16k+i = nibble byte i of
 *         block k (k = 0..3, i = 0..15), i.e. 128-bit lane k = block k.
 *   Wlo = low nibbles of Q (weights i), Whi = high nibbles (weights 16+i),
 *         both unsigned 0..15, split by one gf2p8affineqb each.
 *   Ylo = vpermt2b of yb[0..127]: byte 16k+i = y_k[i];
 *   Yhi = the same for y_k[16+i], lane 3 (yb[120..135]) inserted.
 *   So int32 lane l of every vpdpbusd belongs to block l / 4, and
 *     P = dpbusd(dpbusd(0, Wlo, Ylo), Whi, Yhi) = sum(q * y)
 *     S = dpbusd(dpbusd(0, 8, Ylo), 8, Yhi)     = 8 * sum(y)
 *   per lane (unsigned q times signed y: exact), P - S = sum((q - 8) * y).
 *   The scales dx_k * dy_k are gathered as fp16 words into the matching lane
 *   layout (vpermw / vpermt2w of the loads above), converted and multiplied.
 * Two groups per iteration share the scale work (q4_row1). Loads stay
 * within the group's blocks; a last group of 4 runs alone, and the
 * remaining nb % 4 blocks go through the 256-bit code. */

/* gf2p8affineqb matrices (qword per output byte row, row 7 in the lowest
 * byte): out bit j = parity(byte (7 - j) of the matrix & in). Low nibble:
 * out bits 0..3 = in bits 0..3. High nibble: out bits 0..3 = in bits 4..7. */
#define GF_LO_NIBBLE 0x0102040800000000ULL
#define GF_HI_NIBBLE 0x1020408000000000ULL

/* vpermt2b / vpermw indexes of q4r1_group (index bit 6, resp. 5 for
 * words, picks the second source). Q: byte 16k+i <- xb[18k+2+i] from
 * xb[0..63] || xb[56..71]; Ylo: <- yb[34k+2+i] from yb[0..127]; Yhi: <-
 * yb[34k+18+i] from yb[0..127] (lane 3, past it, is inserted). Scale
 * words, lane l (word l) -> block l/4: dx_k is word 9k of xb[0..63], dy_k
 * word 17k of yb[0..127]; words 16..31 unused. */
static const uint8_t q4r1_iq[64] __attribute__((aligned(64))) = {
    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
    38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
    56, 57, 58, 59, 60, 61, 62, 63, 72, 73, 74, 75, 76, 77, 78, 79,
};
static const uint8_t q4r1_iylo[64] __attribute__((aligned(64))) = {
    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
    36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
    70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85,
    104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119,
};
static const uint8_t q4r1_iyhi[64] __attribute__((aligned(64))) = {
    18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67,
    86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101,
    120, 121, 122, 123, 124, 125, 126, 127, 0, 0, 0, 0, 0, 0, 0, 0,
};
static const uint16_t q4r1_idx[32] __attribute__((aligned(64))) = {
    0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27,
    0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27,
};
static const uint16_t q4r1_idy[32] __attribute__((aligned(64))) = {
    0, 0, 0, 0, 17, 17, 17, 17, 34, 34, 34, 34, 51, 51, 51, 51,
    0, 0, 0, 0, 17, 17, 17, 17, 34, 34, 34, 34, 51, 51, 51, 51,
};

/* Eight blocks per iteration: the two groups' int32 lanes (each |sum| <=
 * 8 * 8 * 128, so int16 holds them exactly) are packed and pair-summed into
 * one vector, lane j -> block j / 4 for j % 4 < 2, block j / 4 + 4
 * otherwise, so one scale vector, one conversion and one FMA serve 8
 * blocks. Scale words in that layout: dx from xa of both groups (word 9k,
 * +32 for the second group), dy word 17k of each group's yb[0..127],
 * blended. */
static const uint16_t q4r1_idx8[32] __attribute__((aligned(64))) = {
    0, 0, 32, 32, 9, 9, 41, 41, 18, 18, 50, 50, 27, 27, 59, 59,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static const uint16_t q4r1_idy8[32] __attribute__((aligned(64))) = {
    0, 0, 0, 0, 17, 17, 17, 17, 34, 34, 34, 34, 51, 51, 51, 51,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
#define Q4R1_DY8_SECOND 0xCCCCu /* lanes j % 4 >= 2: second group */

struct q4r1_consts {
    __m512i vq, vyl, vyh, glo, ghi, eight;
};

/* Activation side of one group of 4 blocks: Ylo, Yhi (see above), the
 * loads they came from (*y0, *y1: yb[0..127], holding the dy scales) and
 * 8 * sum(y) per int32 lane. */
static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,gfni,fma,f16c")))
void q4r4_ygroup(const uint8_t *yb, const struct q4r1_consts *c, __m512i *ylo, __m512i *yhi, __m512i *y0,
                 __m512i *y1, __m512i *sy)
{
    __m512i a = ld512(yb), b = ld512(yb + 64);
    __asm__("" : "+v"(a), "+v"(b));
    *ylo = _mm512_permutex2var_epi8(a, c->vyl, b);
    *yhi = _mm512_inserti32x4(_mm512_permutex2var_epi8(a, c->vyh, b),
                              _mm_loadu_si128((const __m128i *)(const void *)(yb + 120)), 3);
    *sy = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), c->eight, *ylo), c->eight, *yhi);
    *y0 = a;
    *y1 = b;
}

/* Weight side of one group of 4 blocks: sum(q * y) per int32 lane (lane l
 * -> block l / 4); *xa gets xb[0..63] (the fp16 scales). */
static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,gfni,fma,f16c")))
__m512i q4r4_xgroup(const uint8_t *xb, const struct q4r1_consts *c, __m512i ylo, __m512i yhi, __m512i *xa_out)
{
    __m512i xa = ld512(xb);
    const __m512i xc = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)(xb + 56)));
    __asm__("" : "+v"(xa));
    const __m512i q = _mm512_permutex2var_epi8(xa, c->vq, xc);
    const __m512i wlo = _mm512_gf2p8affine_epi64_epi8(q, c->glo, 0);
    const __m512i whi = _mm512_gf2p8affine_epi64_epi8(q, c->ghi, 0);
    *xa_out = xa;
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), wlo, ylo), whi, yhi);
}

/* One group of 4 blocks: returns sum((q - 8) * y) per int32 lane, lane l
 * -> block l / 4; *xa, *y0, *y1 get xb[0..63], yb[0..63], yb[64..127]
 * (they hold the fp16 scales). */
static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,gfni,fma,f16c")))
__m512i q4r1_group(const uint8_t *xb, const uint8_t *yb, const struct q4r1_consts *c, __m512i *xa_out,
                   __m512i *y0_out, __m512i *y1_out)
{
    quant_prefetch_ahead(xb, 4 * Q4_0_BYTES);
    __m512i ylo, yhi, sy;
    q4r4_ygroup(yb, c, &ylo, &yhi, y0_out, y1_out, &sy);
    return _mm512_sub_epi32(q4r4_xgroup(xb, c, ylo, yhi, xa_out), sy);
}

GFNI_FN __attribute__((noinline)) static float q4_row1(int nb, const uint8_t *x, const uint8_t *y)
{
    const struct q4r1_consts c = {
        .vq = ld512(q4r1_iq), .vyl = ld512(q4r1_iylo), .vyh = ld512(q4r1_iyhi),
        .glo = _mm512_set1_epi64((long long)GF_LO_NIBBLE), .ghi = _mm512_set1_epi64((long long)GF_HI_NIBBLE),
        .eight = _mm512_set1_epi8(8),
    };
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int i = 0;
    if (nb >= 8) {
        const __m512i vdx8 = ld512((const uint8_t *)q4r1_idx8), vdy8 = ld512((const uint8_t *)q4r1_idy8);
        for (; i + 8 <= nb; i += 8) {
            const uint8_t *xb = x + (size_t)i * Q4_0_BYTES;
            const uint8_t *yb = y + (size_t)i * Q8_0_BYTES;
            __m512i xa0, y00, y10, xa1, y01, y11;
            const __m512i t0 = q4r1_group(xb, yb, &c, &xa0, &y00, &y10);
            const __m512i t1 = q4r1_group(xb + 4 * Q4_0_BYTES, yb + 4 * Q8_0_BYTES, &c, &xa1, &y01, &y11);
            /* 128-bit lane L: words 0..3 = t0 (block L), 4..7 = t1 (block L + 4) */
            const __m512i t = _mm512_madd_epi16(_mm512_packs_epi32(t0, t1), _mm512_set1_epi16(1));
            const __m256i hx = _mm512_castsi512_si256(_mm512_permutex2var_epi16(xa0, vdx8, xa1));
            const __m256i hy = _mm512_castsi512_si256(_mm512_mask_blend_epi16(
                Q4R1_DY8_SECOND, _mm512_permutex2var_epi16(y00, vdy8, y10), _mm512_permutex2var_epi16(y01, vdy8, y11)));
            const __m512 sc = _mm512_mul_ps(_mm512_cvtph_ps(hx), _mm512_cvtph_ps(hy));
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), sc, acc0);
        }
    }
    if (i + 4 <= nb) {
        const __m512i vdx = ld512((const uint8_t *)q4r1_idx), vdy = ld512((const uint8_t *)q4r1_idy);
        __m512i xa, y0, y1;
        const __m512i t = q4r1_group(x + (size_t)i * Q4_0_BYTES, y + (size_t)i * Q8_0_BYTES, &c, &xa, &y0, &y1);
        /* fp16 scales, lane l -> block l / 4 */
        const __m256i hx = _mm512_castsi512_si256(_mm512_permutexvar_epi16(vdx, xa));
        const __m256i hy = _mm512_castsi512_si256(_mm512_permutex2var_epi16(y0, vdy, y1));
        const __m512 sc = _mm512_mul_ps(_mm512_cvtph_ps(hx), _mm512_cvtph_ps(hy));
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), sc, acc1);
        i += 4;
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (i < nb) {
        float t;
        q0_tile(nb - i, x + (size_t)i * Q4_0_BYTES, Q4_0_BYTES, 1, y + (size_t)i * Q8_0_BYTES, 0, &t, 1);
        s += t;
    }
    return s;
}

/* ---- Q4_0 x Q8_0, four weight rows x one activation row (gemv) ---------
 *
 * The same 8-block step as q4_row1, for 4 weight rows at a time: the
 * activation side of a step (Ylo/Yhi permutes, the 8 * sum(y) terms and
 * the dy scales) is built once and serves the 4 rows, so a row costs its
 * own nibble unpacking, 4 vpdpbusd and the scale FMA (about 20 vector uops
 * per 8 blocks instead of 33). P = sum(q * y) fits int16 (8 products of
 * 15 * 128 per lane), so the rows pack P and subtract the packed sums.
 *
 * Prefetch: the 4 rows are read side by side, so the far prefetch aims one
 * 4-row chunk ahead (the same column of the next chunk's row), and the
 * near one a few steps ahead in the same row.
 *
 * Q8_0 has no such kernel on purpose: a 4-row Q8_0 version (offset trick
 * on the weight side, the correction shared by the rows) was 19% faster
 * with the weights in L2 but 7-9% slower on 1.1B decode (12.3 vs 13.4
 * tok/s, 1 thread), whose 2 KiB Q8_0 rows made it 4 streams over 8.7 KiB
 * instead of one; Q8_0 decode is bound by memory, not by its kernel.
 * Nor for weights in 4 KiB pages (the gemm_4k slot, where F16 gained 11%
 * from four rows): a 4-row kernel with the offset on the weight side (one
 * activation correction for the four rows) ran 1.1B Q8_0 tg32 from a file
 * mapping at 9.5-10.0 / 17.7-18.5 tok/s (1 / 2 threads) against the row
 * kernel's 10.4-10.5 / 19.5-20.0, with prefetch distances of 256 to 1024
 * bytes or none. */
#define Q4R4_ROWS 4
#define Q4R4_NEAR 512

GFNI_FN __attribute__((noinline)) static void q4_rows4(int nb, const uint8_t *x, size_t xs, const uint8_t *y,
                                                       float *s)
{
    const struct q4r1_consts c = {
        .vq = ld512(q4r1_iq), .vyl = ld512(q4r1_iylo), .vyh = ld512(q4r1_iyhi),
        .glo = _mm512_set1_epi64((long long)GF_LO_NIBBLE), .ghi = _mm512_set1_epi64((long long)GF_HI_NIBBLE),
        .eight = _mm512_set1_epi8(8),
    };
    const __m512i vdx8 = ld512((const uint8_t *)q4r1_idx8), vdy8 = ld512((const uint8_t *)q4r1_idy8);
    const __m512i ones = _mm512_set1_epi16(1);
    __m512 acc[Q4R4_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < Q4R4_ROWS; r++)
        acc[r] = _mm512_setzero_ps();
    const int nb8 = nb & ~7;
    for (int i = 0; i < nb8; i += 8) {
        const uint8_t *yb = y + (size_t)i * Q8_0_BYTES;
        __m512i yl0, yh0, ya0, yb0, sy0, yl1, yh1, ya1, yb1, sy1;
        q4r4_ygroup(yb, &c, &yl0, &yh0, &ya0, &yb0, &sy0);
        q4r4_ygroup(yb + 4 * Q8_0_BYTES, &c, &yl1, &yh1, &ya1, &yb1, &sy1);
        const __m512i sy = _mm512_packs_epi32(sy0, sy1);
        const __m256i hy = _mm512_castsi512_si256(_mm512_mask_blend_epi16(
            Q4R1_DY8_SECOND, _mm512_permutex2var_epi16(ya0, vdy8, yb0), _mm512_permutex2var_epi16(ya1, vdy8, yb1)));
        const __m512 dy = _mm512_cvtph_ps(hy);
#pragma GCC unroll 4
        for (int r = 0; r < Q4R4_ROWS; r++) {
            const uint8_t *xb = x + (size_t)r * xs + (size_t)i * Q4_0_BYTES;
            for (int o = 0; o < 8 * Q4_0_BYTES; o += 64) {
                __builtin_prefetch(xb + Q4R4_ROWS * xs + o, 0, 2);
                __builtin_prefetch(xb + Q4R4_NEAR + o, 0, 3);
            }
            __m512i xa0, xa1;
            const __m512i p0 = q4r4_xgroup(xb, &c, yl0, yh0, &xa0);
            const __m512i p1 = q4r4_xgroup(xb + 4 * Q4_0_BYTES, &c, yl1, yh1, &xa1);
            const __m512i t = _mm512_madd_epi16(_mm512_sub_epi16(_mm512_packs_epi32(p0, p1), sy), ones);
            const __m256i hx = _mm512_castsi512_si256(_mm512_permutex2var_epi16(xa0, vdx8, xa1));
            const __m512 sc = _mm512_mul_ps(_mm512_cvtph_ps(hx), dy);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), sc, acc[r]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < Q4R4_ROWS; r++) {
        s[r] = _mm512_reduce_add_ps(acc[r]);
        if (nb8 < nb)
            s[r] += q4_row1(nb - nb8, x + (size_t)r * xs + (size_t)nb8 * Q4_0_BYTES, y + (size_t)nb8 * Q8_0_BYTES);
    }
}

/* ---- Q4_0 and Q8_0 x Q8_0, 8 weight rows x up to 8 activation rows -----
 * (prefill)
 *
 * The 256-bit tile kernel (q0_tile) pays an xor, a vpdpbusd, a conversion
 * and an FMA for every block of every (weight row, activation row) pair:
 * 4 uops per 32 products. Here one 512-bit vector holds 16 quant bytes of
 * 4 weight rows (128-bit lane r = row r): for Q4_0 the block's nibbles,
 * split into low (values 0..15) and high (16..31) vectors; for Q8_0 its
 * bytes 0..15 and 16..31, each ^ 0x80 so they are w + 128, unsigned. They
 * are prepared once per block and reused by every activation row of the
 * tile, whose 16-byte halves are broadcast to the 4 lanes. Per block and
 * activation row, 8 weight rows cost 4 vpdpbusd, 2 conversions, 2 FMSUBs
 * and 2 FMAs: 10 uops per 256 products.
 *
 * Scaling: lane l of row r holds P = sum(u * y) over its 8 values, exact,
 * where u = w + off (off = 8 for Q4_0's q, 128 for Q8_0). The block's
 * contribution dx * dy * sum(w * y) is taken as dx * sum over the 4 lanes
 * of (P * dy - off / 4 * dy * sum(y)): the per-block activation terms dy
 * and c = off / 4 * dy * sum(y) are tabulated once per activation row and
 * block (q0g_act), so the correction costs no integer work. At the end the
 * 4 lanes of each row are summed. */
#define Q0G_ROWS 8         /* weight rows per tile (two vectors of 4) */
#define Q0G_TILE 8         /* activation rows per tile */
#define Q0G_ACT_CHUNK 64   /* activation rows whose tables (and panels, q0p_pack) are used together */
#define Q0G_K_CHUNK 128    /* blocks per table: 64 x 128 x 8 bytes = 64 KiB of stack (32 x 256 was 4% slower at 64 rows) */
#define Q0G_PF_AHEAD 256   /* bytes of each weight row prefetched ahead (of 128..1024, 256 was fastest on 1.1B pp8/pp64) */

struct q0g_act {
    float dy, c;
};

/* Tables of activation rows [0, na) for blocks [b0, b0 + nbk); off is
 * the weight offset the unsigned products carry (8 for Q4_0's q, 128 for
 * Q8_0's w ^ 0x80), so c = off * dy * sum(y) per block (a quarter of it per
 * lane in q0g_tile, whose rows span 4 lanes). */
static void q0g_tables(const uint8_t *y, size_t ys, int na, int b0, int nbk, float off, struct q0g_act *t)
{
    for (int j = 0; j < na; j++)
        for (int b = 0; b < nbk; b++) {
            const uint8_t *yb = y + (size_t)j * ys + (size_t)(b0 + b) * Q8_0_BYTES;
            int sum = 0;
            for (int i = 0; i < QK8_0; i++)
                sum += (int8_t)yb[2 + i];
            const float dy = quant_f16_to_f32((qt_half)(yb[0] | yb[1] << 8));
            t[(size_t)j * Q0G_K_CHUNK + b] = (struct q0g_act){ dy, off * dy * (float)sum };
        }
}

/* Weight side of one block of 8 rows: nibbles of rows 0..3 (lo, hi) and
 * 4..7, and each row's dx repeated over its 4 lanes. */
struct q0g_w {
    __m512i lo[2], hi[2];
    __m512 dx[2];
};

static const int32_t q0g_dxi[2][16] __attribute__((aligned(64))) = {
    { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 },
    { 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7 },
};


/* Q4_0: lo = q & 15 (values 0..15), hi = q >> 4 (values 16..31). Q8_0:
 * lo = bytes 0..15 ^ 0x80, hi = bytes 16..31 ^ 0x80 (w + 128, unsigned). */
VNNI_INLINE void q0g_weights(const uint8_t *xb, size_t xs, int is_q4, struct q0g_w *w)
{
    const __m512i m = _mm512_set1_epi8(0x0F), flip = _mm512_set1_epi8((char)0x80);
    uint16_t h[8];
    for (int v = 0; v < 2; v++) {
        const uint8_t *r = xb + (size_t)(4 * v) * xs;
        if (is_q4) {
            const __m512i q = q0g_lanes(r + 2, xs);
            w->lo[v] = _mm512_and_si512(q, m);
            w->hi[v] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m);
        } else {
            w->lo[v] = _mm512_xor_si512(q0g_lanes(r + 2, xs), flip);
            w->hi[v] = _mm512_xor_si512(q0g_lanes(r + 18, xs), flip);
        }
        for (int k = 0; k < 4; k++)
            memcpy(&h[4 * v + k], r + (size_t)k * xs, 2);
    }
    __m128i hv;
    memcpy(&hv, h, 16);
    const __m512 d = _mm512_castps256_ps512(_mm256_cvtph_ps(hv));
    w->dx[0] = _mm512_permutexvar_ps(_mm512_load_si512(q0g_dxi[0]), d);
    w->dx[1] = _mm512_permutexvar_ps(_mm512_load_si512(q0g_dxi[1]), d);
}

/* s[j * ld + r] (+)= rows r < 8 x activation rows j < na over blocks
 * [b0, b0 + nbk); t: the tables of those rows and blocks. na is a
 * constant after inlining. */
VNNI_INLINE void q0g_tile(const uint8_t *x, size_t xs, int is_q4, const uint8_t *y, size_t ys, int b0, int nbk,
                          const struct q0g_act *t, float *s, size_t ld, bool add, const int na)
{
    __m512 acc[Q0G_TILE][2];
#pragma GCC unroll 8
    for (int j = 0; j < na; j++)
        acc[j][0] = acc[j][1] = _mm512_setzero_ps();
    const size_t bbytes = is_q4 ? Q4_0_BYTES : Q8_0_BYTES;
    for (int b = 0; b < nbk; b++) {
        /* The tile reads 8 weight rows in 8 interleaved streams, from
         * memory for the first activation tile (and the only one in
         * batched decode): ask for each row's line Q0G_PF_AHEAD bytes
         * ahead, one per row every 64 bytes of progress. On 1.1B Q4_0
         * this took pp8 from 81 to 107-127 tokens/s and pp64 from 126 to
         * 147-162 at 2 threads (A/B, same machine). */
        if (((size_t)b * bbytes) % 64 < bbytes) {
            const uint8_t *pf = x + (size_t)(b0 + b) * bbytes + Q0G_PF_AHEAD;
#pragma GCC unroll 8
            for (int r = 0; r < Q0G_ROWS; r++)
                _mm_prefetch((const char *)(pf + (size_t)r * xs), _MM_HINT_T0);
        }
        struct q0g_w w;
        q0g_weights(x + (size_t)(b0 + b) * bbytes, xs, is_q4, &w);
#pragma GCC unroll 8
        for (int j = 0; j < na; j++) {
            const uint8_t *yq = y + (size_t)j * ys + (size_t)(b0 + b) * Q8_0_BYTES + 2;
            const __m512i ylo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)yq));
            const __m512i yhi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)(yq + 16)));
            const struct q0g_act a = t[(size_t)j * Q0G_K_CHUNK + b];
            const __m512 dy = _mm512_set1_ps(a.dy), c = _mm512_set1_ps(0.25f * a.c);
#pragma GCC unroll 2
            for (int v = 0; v < 2; v++) {
                const __m512i p =
                    _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w.lo[v], ylo), w.hi[v], yhi);
                acc[j][v] = _mm512_fmadd_ps(_mm512_fmsub_ps(_mm512_cvtepi32_ps(p), dy, c), w.dx[v], acc[j][v]);
            }
        }
    }
    /* the 4 lanes of each row summed, rows 0..7 gathered into 8 floats */
    const __m512i pick = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
#pragma GCC unroll 8
    for (int j = 0; j < na; j++) {
        __m512 u[2];
        for (int v = 0; v < 2; v++) {
            u[v] = _mm512_add_ps(acc[j][v], _mm512_permute_ps(acc[j][v], 0xB1));
            u[v] = _mm512_add_ps(u[v], _mm512_permute_ps(u[v], 0x4E));
        }
        __m256 r = _mm512_castps512_ps256(_mm512_permutex2var_ps(u[0], pick, u[1]));
        float *o = s + (size_t)j * ld;
        if (add)
            r = _mm256_add_ps(r, _mm256_loadu_ps(o));
        _mm256_storeu_ps(o, r);
    }
}

/* ---- 16 weight rows x up to 8 activation rows, one lane per row -------
 *
 * q0g_tile above spreads each weight row over a 128-bit lane, so every
 * block ends in 4 partial sums per row, and converting, scaling and
 * accumulating them costs 3 float uops per 4 rows per activation row: more
 * than the 2 vpdpbusd. Here each 32-bit lane belongs to one of 16 weight
 * rows and holds 4 of its quant bytes (the layout a load-time repack would
 * store; here it is built per block in registers, as a BLAS packs a panel):
 * the 16 rows' dwords k = 0..3 (Q8_0: 0..7) are gathered by a 16 x 4 dword
 * transpose of four 4-row loads (4 vpermt2d + 4 vshufi64x2). Each
 * activation row then takes 8 vpdpbusd whose activation operand is a
 * broadcast dword from memory, and one conversion, FMSUB and FMA for all
 * 16 rows: 11 uops per 512 products, against 24 in q0g_tile. The weight
 * side (loads, transpose, nibble split, 16 scales) is paid once per block
 * and shared by the tile's activation rows. Scaling as in q0g_tile, with
 * the whole correction c per lane. */
#define Q0P_ROWS 16


/* w[k]: the unsigned vpdpbusd operand of one block of the 16 rows at xb
 * (xs apart) for activation bytes 4k..4k+3. */
VNNI_INLINE void q0p_block(const uint8_t *xb, size_t xs, int is_q4, __m512i w[8])
{
    const __m512i m4 = _mm512_set1_epi8(0x0F), flip = _mm512_set1_epi8((char)0x80);
    if (is_q4) {
        __m512i q[4];
        q0p_transpose(xb + 2, xs, q);
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            w[k] = _mm512_and_si512(q[k], m4);                            /* values 4k..4k+3 */
            w[k + 4] = _mm512_and_si512(_mm512_srli_epi16(q[k], 4), m4); /* values 16+4k.. */
        }
    } else {
        q0p_transpose(xb + 2, xs, w);
        q0p_transpose(xb + 18, xs, w + 4);
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
            w[k] = _mm512_xor_si512(w[k], flip);
    }
}

/* acc[j] += block blk of the 16 rows (operands w, scales dx) x activation
 * row j < na; t: that block's table entry of row 0 (rows Q0G_K_CHUNK apart). */
VNNI_INLINE void q0p_acts(const __m512i w[8], __m512 dx, const uint8_t *y, size_t ys, int blk,
                          const struct q0g_act *t, __m512 *acc, const int na)
{
#pragma GCC unroll 8
    for (int j = 0; j < na; j++) {
        const uint8_t *yq = y + (size_t)j * ys + (size_t)blk * Q8_0_BYTES + 2;
        __m512i p = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            int32_t yk;
            memcpy(&yk, yq + 4 * k, 4);
            p = _mm512_dpbusd_epi32(p, w[k], _mm512_set1_epi32(yk));
        }
        const struct q0g_act a = t[(size_t)j * Q0G_K_CHUNK];
        acc[j] = _mm512_fmadd_ps(_mm512_fmsub_ps(_mm512_cvtepi32_ps(p), _mm512_set1_ps(a.dy), _mm512_set1_ps(a.c)),
                                 dx, acc[j]);
    }
}

/* s[j * ld + r] (+)= rows r < 16 x activation rows j < na over blocks
 * [b0, b0 + nbk); rowoff: lane i = i * xs (the scales' gather). */
VNNI_INLINE void q0p_tile(const uint8_t *x, size_t xs, int is_q4, const uint8_t *y, size_t ys, int b0, int nbk,
                          const struct q0g_act *t, float *s, size_t ld, bool add, const int na)
{
    __m512 acc[Q0G_TILE];
#pragma GCC unroll 8
    for (int j = 0; j < na; j++)
        acc[j] = _mm512_setzero_ps();
    const size_t bbytes = is_q4 ? Q4_0_BYTES : Q8_0_BYTES;
    const __m512i rowoff = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32((int)xs));
    /* the 16 rows' f16 scales: the low half of a gathered dword each; the
     * gather's latency (about a fifth of the tile's time when its result
     * was used at once) is hidden by gathering one block ahead */
    __m512i d32n = _mm512_i32gather_epi32(rowoff, (const void *)(x + (size_t)b0 * bbytes), 1);
    for (int b = 0; b < nbk; b++) {
        const uint8_t *xb = x + (size_t)(b0 + b) * bbytes;
        const __m512i d32 = d32n;
        if (b + 1 < nbk)
            d32n = _mm512_i32gather_epi32(rowoff, (const void *)(xb + bbytes), 1);
        if (((size_t)b * bbytes) % 64 < bbytes) {
            const uint8_t *pf = xb + Q0G_PF_AHEAD;
#pragma GCC unroll 16
            for (int r = 0; r < Q0P_ROWS; r++)
                _mm_prefetch((const char *)(pf + (size_t)r * xs), _MM_HINT_T0);
        }
        __m512i w[8];
        q0p_block(xb, xs, is_q4, w);
        const __m512 dx = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d32));
        q0p_acts(w, dx, y, ys, b0 + b, t + b, acc, na);
    }
    lane_tile_store(acc, s, ld, add, na);
}

/* ---- the same tile from a panel packed once per call -------------------
 * q0p_tile builds the 16 rows' lane layout of every block in registers for
 * each tile of 8 activation rows; a prompt of 64 tokens builds it 8 times.
 * With more than one tile per row group, q0_gemm_tiles packs it once into
 * a panel (Q0P_PANEL blocks of 16 rows on the stack: operands and scales)
 * that every tile reads. */
#define Q0P_PANEL 64 /* blocks per panel: 64 x 576 B = 36 KiB */

struct q0p_blk {
    uint8_t w[8][64]; /* the vpdpbusd operand for activation bytes 4k..4k+3, lane r = row r */
    float dx[16];
};

VNNI_INLINE void q0p_pack(const uint8_t *x, size_t xs, int is_q4, int b0, int nbk, struct q0p_blk *p)
{
    const size_t bbytes = is_q4 ? Q4_0_BYTES : Q8_0_BYTES;
    const __m512i rowoff = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32((int)xs));
    for (int b = 0; b < nbk; b++) {
        const uint8_t *xb = x + (size_t)(b0 + b) * bbytes;
        __m512i w[8];
        q0p_block(xb, xs, is_q4, w);
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
            _mm512_store_si512(p[b].w[k], w[k]);
        const __m512i d32 = _mm512_i32gather_epi32(rowoff, (const void *)xb, 1);
        _mm512_store_ps(p[b].dx, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d32)));
    }
}

/* q0p_tile over nbk packed blocks that are blocks b0.. of y and t. */
VNNI_INLINE void q0p_tile_panel(const struct q0p_blk *p, const uint8_t *y, size_t ys, int b0, int nbk,
                                const struct q0g_act *t, float *s, size_t ld, bool add, const int na)
{
    __m512 acc[Q0G_TILE];
#pragma GCC unroll 8
    for (int j = 0; j < na; j++)
        acc[j] = _mm512_setzero_ps();
    for (int b = 0; b < nbk; b++) {
        __m512i w[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
            w[k] = _mm512_load_si512(p[b].w[k]);
        q0p_acts(w, _mm512_load_ps(p[b].dx), y, ys, b0 + b, t + b, acc, na);
    }
    lane_tile_store(acc, s, ld, add, na);
}

/* The three tiles of a row group: 16 rows from a packed panel, 16 rows
 * transposed in registers, 8 rows in 128-bit lanes. */
enum q0_tile_kind { Q0T_PANEL, Q0T_LANES, Q0T_ROWS8 };

/* One tile of m activation rows (m a constant after inlining); blocks b0..
 * b0 + nbk of x (or the panel's 0..nbk) and y; t: the table entries of
 * block b0 of the tile's first row. */
VNNI_INLINE void q0_tile_one(const enum q0_tile_kind kind, const struct q0p_blk *panel, const uint8_t *xr, size_t xs,
                             int is_q4, const uint8_t *y, size_t ys, int b0, int nbk, const struct q0g_act *t, float *s,
                             size_t ld, bool add, const int m)
{
    if (kind == Q0T_PANEL)
        q0p_tile_panel(panel, y, ys, b0, nbk, t, s, ld, add, m);
    else if (kind == Q0T_LANES)
        q0p_tile(xr, xs, is_q4, y, ys, b0, nbk, t, s, ld, add, m);
    else
        q0g_tile(xr, xs, is_q4, y, ys, b0, nbk, t, s, ld, add, m);
}

/* All na activation rows (ya, ys) of one row group: full tiles of
 * Q0G_TILE, then the remainder with its row count as a constant. */
VNNI_INLINE void q0_tile_run(const enum q0_tile_kind kind, const struct q0p_blk *panel, const uint8_t *xr, size_t xs,
                             int is_q4, const uint8_t *ya, size_t ys, int b0, int nbk, const struct q0g_act *tab,
                             float *sa, size_t ld, bool add, int na)
{
    int j = 0;
    for (; j + Q0G_TILE <= na; j += Q0G_TILE)
        q0_tile_one(kind, panel, xr, xs, is_q4, ya + (size_t)j * ys, ys, b0, nbk, tab + (size_t)j * Q0G_K_CHUNK,
                    sa + (size_t)j * ld, ld, add, Q0G_TILE);
    const uint8_t *yj = ya + (size_t)j * ys;
    const struct q0g_act *tj = tab + (size_t)j * Q0G_K_CHUNK;
    float *sj = sa + (size_t)j * ld;
    switch (na - j) {
    case 7: q0_tile_one(kind, panel, xr, xs, is_q4, yj, ys, b0, nbk, tj, sj, ld, add, 7); break;
    case 6: q0_tile_one(kind, panel, xr, xs, is_q4, yj, ys, b0, nbk, tj, sj, ld, add, 6); break;
    case 5: q0_tile_one(kind, panel, xr, xs, is_q4, yj, ys, b0, nbk, tj, sj, ld, add, 5); break;
    case 4: q0_tile_one(kind, panel, xr, xs, is_q4, yj, ys, b0, nbk, tj, sj, ld, add, 4); break;
    case 3: q0_tile_one(kind, panel, xr, xs, is_q4, yj, ys, b0, nbk, tj, sj, ld, add, 3); break;
    case 2: q0_tile_one(kind, panel, xr, xs, is_q4, yj, ys, b0, nbk, tj, sj, ld, add, 2); break;
    case 1: q0_tile_one(kind, panel, xr, xs, is_q4, yj, ys, b0, nbk, tj, sj, ld, add, 1); break;
    default: break;
    }
}

/* ---- the same panel through AMX tiles (Sapphire Rapids and later) ------
 *
 * With AMX-INT8, one tdpbsud multiplies a tile of 16 activation rows (A:
 * 16 rows x 32 signed bytes, one block each, read in place from the Q8_0
 * rows) by a block of the panel (B: its 8 operand rows of 64 bytes, which
 * are already the layout a tile wants: 4 bytes of each of 16 weight rows
 * per row) into 16 x 16 int32 sums: the vpdpbusd work of q0p_acts for 16
 * activation rows in one instruction. The sums are the same exact
 * integers (signed activations x the panel's unsigned operands), and the
 * float step after each block is q0p_acts' own (cvt, fmsub with dy and c,
 * fma with dx), so the results are those of the VNNI panel tiles bit for
 * bit (tests/test_quant_simd_gemm.c checks it).
 * What is left on the vector ports is that float step: 3 uops per
 * activation row and block instead of 11.
 *
 * A tile's sums reach the vector registers through memory (tilestored,
 * then loads), and a tdpbsud takes long to finish: done one block at a
 * time, the tile work and the float step ran one after the other (no
 * faster than the VNNI tile). So four blocks' sums are in flight (tmm0..3,
 * operands alternating in tmm4/6 and tmm5/7): block b + 3 is multiplied
 * while block b's sums are scaled (2 in flight: 398 GFLOPS at 64 rows;
 * 4: 440-472). A remainder of fewer than 16 activation rows is copied,
 * zero-padded to 16, so every tile has the one shape. */
#define Q0X_M 16 /* activation rows per tile (the most a tile holds) */

typedef int32_t q0x_sums[Q0X_M][16];

/* Load the tile configuration: tmm0..3 sums (16 x 16 int32), tmm4, 5
 * activations (16 rows x 32 bytes), tmm6, 7 panel blocks (8 rows x 64). */
static inline void q0x_config(void)
{
    struct amx_cfg c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 4; i++)
        c.rows[i] = Q0X_M, c.colsb[i] = 64; /* sums */
    for (int i = 4; i < 6; i++)
        c.rows[i] = Q0X_M, c.colsb[i] = QK8_0; /* activations */
    for (int i = 6; i < 8; i++)
        c.rows[i] = QK8_0 / 4, c.colsb[i] = 64; /* panel blocks */
    amx_config(&c);
}

/* Where a tile's block b of activations lies: rows of the Q8_0 input
 * (y, ys apart) or of the padded copy (pad: block b at pad + b * 512). */
struct q0x_src {
    const uint8_t *y, *pad;
    size_t ys;
};

#define Q0X_ISSUE(C, A, B, src, blk, p)                                                                   \
    do {                                                                                                  \
        AMX_ZERO(C);                                                                                      \
        if ((src)->pad) {                                                                                 \
            const uint8_t *a_ = (src)->pad + (size_t)(blk) * Q0X_M * QK8_0;                               \
            AMX_LOAD(A, a_, QK8_0, *(const uint8_t(*)[Q0X_M * QK8_0])a_);                                 \
        } else {                                                                                          \
            AMX_LOAD(A, (src)->y + (size_t)(blk) * Q8_0_BYTES + 2, (src)->ys, (src)->y[0]);               \
        }                                                                                                 \
        AMX_LOAD(B, (p)->w, 64, (p)->w);                                                                  \
        AMX_DPBSUD(C, A, B);                                                                              \
    } while (0)

/* acc[j] += the scaled sums of one block (panel block p, table entries t
 * of row 0, Q0G_K_CHUNK apart). */
V512_INLINE void q0x_scale(const q0x_sums *c, const struct q0p_blk *p, const struct q0g_act *t, __m512 *lo,
                           __m512 *hi)
{
    const __m512 dx = _mm512_load_ps(p->dx);
#pragma GCC unroll 16
    for (int j = 0; j < Q0X_M; j++) {
        const struct q0g_act a = t[(size_t)j * Q0G_K_CHUNK];
        const __m512 f = _mm512_cvtepi32_ps(_mm512_load_si512((*c)[j]));
        __m512 *acc = j < 8 ? &lo[j] : &hi[j - 8];
        *acc = _mm512_fmadd_ps(_mm512_fmsub_ps(f, _mm512_set1_ps(a.dy), _mm512_set1_ps(a.c)), dx, *acc);
    }
}

/* s[j * ld + r] (+)= panel rows r < 16 x activation rows j < na (<= 16)
 * of src over the panel's nbk blocks, which are blocks b0.. of the
 * activations (the padded copy's 0..) and of t (row 0's entries). */
VNNI_INLINE void q0x_tile(const struct q0p_blk *p, const struct q0x_src *src, int b0, int nbk,
                          const struct q0g_act *t, float *s, size_t ld, bool add, int na)
{
    __m512 lo[8], hi[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        lo[j] = hi[j] = _mm512_setzero_ps();
    q0x_sums sums[4] __attribute__((aligned(64)));
    const int a0 = src->pad ? 0 : b0; /* the activations' block index of panel block 0 */
    /* block b: sums in tmm(b % 4), its operands in tmm(4 + b % 2) and
     * tmm(6 + b % 2); three blocks are in the tile unit while one is scaled */
    Q0X_ISSUE(0, 4, 6, src, a0, &p[0]);
    if (nbk > 1)
        Q0X_ISSUE(1, 5, 7, src, a0 + 1, &p[1]);
    if (nbk > 2)
        Q0X_ISSUE(2, 4, 6, src, a0 + 2, &p[2]);
    /* stage k of a round of 4: issue block b + k + 3 into tiles (C, A, B),
     * then store and scale block b + k from sums tile S (a plain block, not
     * do-while: its break leaves the loop) */
#define Q0X_STAGE(k, C, A, B, S)                                               \
    {                                                                          \
        const int bk = b + (k);                                                \
        if (bk >= nbk)                                                         \
            break;                                                             \
        if (bk + 3 < nbk)                                                      \
            Q0X_ISSUE(C, A, B, src, a0 + bk + 3, &p[bk + 3]);                  \
        AMX_STORE(S, &sums[S]);                                                \
        q0x_scale(&sums[S], &p[bk], t + bk, lo, hi);                           \
    }
    for (int b = 0; b < nbk; b += 4) {
        Q0X_STAGE(0, 3, 5, 7, 0)
        Q0X_STAGE(1, 0, 4, 6, 1)
        Q0X_STAGE(2, 1, 5, 7, 2)
        Q0X_STAGE(3, 2, 4, 6, 3)
    }
#undef Q0X_STAGE
    if (na == Q0X_M) {
        lane_tile_store(lo, s, ld, add, 8);
        lane_tile_store(hi, s + 8 * ld, ld, add, 8);
        return;
    }
    float part[Q0X_M][16] __attribute__((aligned(64)));
    lane_tile_store(lo, &part[0][0], 16, false, 8);
    lane_tile_store(hi, &part[8][0], 16, false, 8);
    for (int j = 0; j < na; j++)
        for (int r = 0; r < 16; r++)
            s[(size_t)j * ld + r] = add ? s[(size_t)j * ld + r] + part[j][r] : part[j][r];
}

/* All na activation rows of one panel: tiles of 16 rows read in place,
 * then the remainder from its padded copy (pad). */
VNNI_INLINE void q0x_run(const struct q0p_blk *p, const uint8_t *ya, size_t ys, const uint8_t *pad, int b0,
                         int nbk, const struct q0g_act *tab, float *sa, size_t ld, bool add, int na)
{
    int j = 0;
    for (; j + Q0X_M <= na; j += Q0X_M) {
        const struct q0x_src src = { ya + (size_t)j * ys, NULL, ys };
        q0x_tile(p, &src, b0, nbk, tab + (size_t)j * Q0G_K_CHUNK, sa + (size_t)j * ld, ld, add, Q0X_M);
    }
    if (j < na) {
        const struct q0x_src src = { NULL, pad, 0 };
        q0x_tile(p, &src, b0, nbk, tab + (size_t)j * Q0G_K_CHUNK, sa + (size_t)j * ld, ld, add, na - j);
    }
}

/* The remainder rows [j0, na) of blocks [b0, b0 + nbk), copied to pad
 * (block b: 16 rows of 32 quant bytes at pad + b * 512) with zero rows
 * up to 16, and their table entries zeroed up to 16 rows (the float step
 * scales all 16; zeros keep it from reading stale floats). */
static void q0x_pad(const uint8_t *y, size_t ys, int j0, int na, int b0, int nbk, uint8_t *pad, struct q0g_act *t)
{
    for (int b = 0; b < nbk; b++)
        for (int j = 0; j < Q0X_M; j++) {
            uint8_t *d = pad + ((size_t)b * Q0X_M + (size_t)j) * QK8_0;
            if (j0 + j < na)
                memcpy(d, y + (size_t)(j0 + j) * ys + (size_t)(b0 + b) * Q8_0_BYTES + 2, QK8_0);
            else
                memset(d, 0, QK8_0);
        }
    for (int j = na; j < j0 + Q0X_M; j++)
        for (int b = 0; b < nbk; b++)
            t[(size_t)j * Q0G_K_CHUNK + b] = (struct q0g_act){ 0.0f, 0.0f };
}

/* Prefill (ny > 1) of Q4_0 or Q8_0 weights. Out of line, so that decode
 * does not pay for (or probe) the 64 KiB table on the stack. */
VNNI_INLINE void q0_gemm_tiles(int64_t n, const uint8_t *x, size_t xs, int nr, const uint8_t *y, size_t ys, int ny,
                               float *s, size_t ld, const int is_q4, const int amx)
{
    const int nb = (int)(n / 32);
    if (amx)
        q0x_config();
    struct q0g_act tab[Q0G_ACT_CHUNK * Q0G_K_CHUNK];
    struct q0p_blk panel[Q0P_PANEL] __attribute__((aligned(64)));
    uint8_t pad[amx ? Q0G_K_CHUNK * Q0X_M * QK8_0 : 1] __attribute__((aligned(64))); /* 64 KiB with AMX */
    const int nr8 = nr & ~(Q0G_ROWS - 1);
    for (int j0 = 0; j0 < ny; j0 += Q0G_ACT_CHUNK) {
        const int na = ny - j0 < Q0G_ACT_CHUNK ? ny - j0 : Q0G_ACT_CHUNK;
        const uint8_t *ya = y + (size_t)j0 * ys;
        float *sa = s + (size_t)j0 * ld;
        for (int b0 = 0; b0 < nb; b0 += Q0G_K_CHUNK) {
            const int nbk = nb - b0 < Q0G_K_CHUNK ? nb - b0 : Q0G_K_CHUNK;
            q0g_tables(ya, ys, na, b0, nbk, is_q4 ? 8.0f : 128.0f, tab);
            const int nr16 = nr & ~(Q0P_ROWS - 1);
            if (amx && nr16 > 0 && na % Q0X_M)
                q0x_pad(ya, ys, na & ~(Q0X_M - 1), na, b0, nbk, pad, tab);
            for (int r = 0; amx && r < nr16; r += Q0P_ROWS) {
                const uint8_t *xr = x + (size_t)r * xs;
                for (int p0 = 0; p0 < nbk; p0 += Q0P_PANEL) {
                    const int np = nbk - p0 < Q0P_PANEL ? nbk - p0 : Q0P_PANEL;
                    q0p_pack(xr, xs, is_q4, b0 + p0, np, panel);
                    q0x_run(panel, ya, ys, pad + (size_t)p0 * Q0X_M * QK8_0, b0 + p0, np, tab + p0, sa + r, ld,
                            b0 + p0 > 0, na);
                }
            }
            for (int r = 0; !amx && na > Q0G_TILE && r < nr16; r += Q0P_ROWS) {
                const uint8_t *xr = x + (size_t)r * xs;
                for (int p0 = 0; p0 < nbk; p0 += Q0P_PANEL) {
                    const int np = nbk - p0 < Q0P_PANEL ? nbk - p0 : Q0P_PANEL;
                    const bool add = b0 + p0 > 0;
                    q0p_pack(xr, xs, is_q4, b0 + p0, np, panel);
                    q0_tile_run(Q0T_PANEL, panel, xr, xs, is_q4, ya, ys, b0 + p0, np, tab + p0, sa + r, ld, add, na);
                }
            }
            /* one tile per row group (batched decode): the in-register layout */
            for (int r = 0; !amx && na <= Q0G_TILE && r < nr16; r += Q0P_ROWS) {
                q0_tile_run(Q0T_LANES, NULL, x + (size_t)r * xs, xs, is_q4, ya, ys, b0, nbk, tab, sa + r, ld, b0 > 0,
                            na);
            }
            for (int r = nr16; r < nr8; r += Q0G_ROWS)
                q0_tile_run(Q0T_ROWS8, NULL, x + (size_t)r * xs, xs, is_q4, ya, ys, b0, nbk, tab, sa + r, ld, b0 > 0,
                            na);
        }
    }
    if (amx)
        amx_release(); /* back to the init state: no tile data in context switches */
    /* rows past the last group of 8: the tiled row kernel */
    float tmp[Q0_TILE];
    for (int r = nr8; r < nr; r++)
        for (int j = 0; j < ny; j += Q0_TILE) {
            const int m = ny - j < Q0_TILE ? ny - j : Q0_TILE;
            q0_dot_rows(n, x + (size_t)r * xs, y + (size_t)j * ys, ys, m, tmp, is_q4 ? Q4_0_BYTES : Q8_0_BYTES,
                        is_q4);
            for (int k = 0; k < m; k++)
                s[(size_t)(j + k) * ld + r] = tmp[k];
        }
}

/* ---- Q8_0 through AMX with the weights in place (q8w_) -------------------
 *
 * Q8_0 weights are signed bytes already, so they can be tile A as they
 * lie (16 weight rows x one block's 32 bytes, the rows xs apart) and the
 * activations are packed once per call into tile B's layout (8 rows of 64
 * bytes: the 4 bytes at 4k..4k+3 of each of 16 activation rows), shared by
 * every weight row of the thread. tdpbssd multiplies signed by signed, so
 * no offset and no correction term is needed, and no weight panel is
 * built: the panel packing cost Q8_0 a quarter of its time at 64 rows
 * (340 GFLOPS at 64 rows, 205 at 16, one thread, 2048 x 2048). The sums
 * come out weight rows by activation rows, so each 16 x 16 tile of
 * results is transposed once at the end of a chunk of blocks.
 * Float step per block: acc[i] += float(sums[i]) * (dy[0..15] * dx[i]),
 * the scale product of llama.cpp's Q8_0 dot (sumi * (dx * dy)).
 * One thread, 64 rows: 390-410 GFLOPS against the panel tiles' 310-370
 * (2048 x 2048, 2048 x 5632; 5632 x 2048 even at 400); 1.1B Q8_0 pp64
 * +7% at 2 threads from huge pages, +6-13% from the mapping, pp512 even. */
/* Blocks per chunk: the activations of a chunk are packed once (4 groups
 * x 64 blocks x 576 B = 144 KiB of stack) and each row group reads its 16
 * rows' chunk in one visit: a whole 2048-wide row. 32 blocks (a row read
 * in two visits, the first tile's A in L1) ran 1.1B Q8_0 pp64 5-12% slower;
 * prefetching the first tile's rows 8 or 16 blocks ahead did not help. */
#ifndef Q8W_KC
#define Q8W_KC 64
#endif
#define Q8W_G (Q0G_ACT_CHUNK / Q0X_M)

struct q8w_blk {
    uint8_t b[8][64]; /* tile B: row k, bytes 4c..4c+3 = activation row c's bytes 4k..4k+3 */
    float dy[16];     /* the 16 activation rows' scales (0 for padding rows) */
};

/* Blocks [b0, b0 + nbk) of activation rows [0, na), na <= Q0G_ACT_CHUNK,
 * into groups of 16 rows (the last zero-padded): p[g * Q8W_KC + b]. */
VNNI_FN static void q8w_pack_acts(const uint8_t *y, size_t ys, int na, int b0, int nbk, struct q8w_blk *p)
{
    const int ng = (na + Q0X_M - 1) / Q0X_M;
    for (int g = 0; g < ng; g++)
        for (int b = 0; b < nbk; b++) {
            struct q8w_blk *o = &p[g * Q8W_KC + b];
            for (int c = 0; c < Q0X_M; c++) {
                const int j = g * Q0X_M + c;
                if (j >= na) {
                    for (int k = 0; k < 8; k++)
                        memset(&o->b[k][4 * c], 0, 4);
                    o->dy[c] = 0.0f;
                    continue;
                }
                const uint8_t *yb = y + (size_t)j * ys + (size_t)(b0 + b) * Q8_0_BYTES;
                for (int k = 0; k < 8; k++)
                    memcpy(&o->b[k][4 * c], yb + 2 + 4 * k, 4);
                o->dy[c] = ld_f16(yb);
            }
        }
}

#define Q8W_ISSUE(C, A, B, x, xs, blk, pb)                                 \
    do {                                                                   \
        AMX_ZERO(C);                                                       \
        AMX_LOAD(A, (x) + (size_t)(blk) * Q8_0_BYTES + 2, (xs), (x)[0]);   \
        AMX_LOAD(B, (pb)->b, 64, (pb)->b);                                 \
        AMX_DPBSSD(C, A, B);                                               \
    } while (0)

/* acc[i] += float(sums[i]) * dy * dx[i] for one block. */
V512_INLINE void q8w_scale(const q0x_sums *c, const struct q8w_blk *pb, const float *dx, __m512 *acc)
{
    const __m512 dy = _mm512_load_ps(pb->dy);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512((*c)[i])),
                                 _mm512_mul_ps(dy, _mm512_set1_ps(dx[i])), acc[i]);
}

/* s[c * ld + i] (+)= weight rows i < 16 (x, xs apart; blocks b0..) x
 * activation rows c < nc of one packed group pb, over nbk blocks; dx[b][i]
 * the weight scales. */
VNNI_INLINE void q8w_tile(const uint8_t *x, size_t xs, int b0, int nbk, const struct q8w_blk *pb,
                          const float (*dx)[16], float *s, size_t ld, bool add, int nc)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        acc[i] = _mm512_setzero_ps();
    q0x_sums sums[4] __attribute__((aligned(64)));
    const uint8_t *xb = x + (size_t)b0 * Q8_0_BYTES;
    /* as q0x_tile: three blocks in the tile unit while one is scaled */
    Q8W_ISSUE(0, 4, 6, xb, xs, 0, &pb[0]);
    if (nbk > 1)
        Q8W_ISSUE(1, 5, 7, xb, xs, 1, &pb[1]);
    if (nbk > 2)
        Q8W_ISSUE(2, 4, 6, xb, xs, 2, &pb[2]);
    /* stage k: issue block bk + 3, store block bk's sums (tile S), scale
     * block bk - 1's, stored a stage earlier (P): loads right behind a
     * tile store wait for it */
#define Q8W_STAGE(k, C, A, B, S, P)                             \
    {                                                           \
        const int bk = b + (k);                                 \
        if (bk >= nbk)                                          \
            break;                                              \
        if (bk + 3 < nbk)                                       \
            Q8W_ISSUE(C, A, B, xb, xs, bk + 3, &pb[bk + 3]);    \
        AMX_STORE(S, &sums[S]);                                 \
        if (bk > 0)                                             \
            q8w_scale(&sums[P], &pb[bk - 1], dx[bk - 1], acc);  \
    }
    for (int b = 0; b < nbk; b += 4) {
        Q8W_STAGE(0, 3, 5, 7, 0, 3)
        Q8W_STAGE(1, 0, 4, 6, 1, 0)
        Q8W_STAGE(2, 1, 5, 7, 2, 1)
        Q8W_STAGE(3, 2, 4, 6, 3, 2)
    }
#undef Q8W_STAGE
    q8w_scale(&sums[(nbk - 1) & 3], &pb[nbk - 1], dx[nbk - 1], acc);
    transpose16_ps(acc); /* acc[c] lane i: activation row c, weight row i */
    for (int c = 0; c < nc; c++) {
        float *o = s + (size_t)c * ld;
        _mm512_storeu_ps(o, add ? _mm512_add_ps(acc[c], _mm512_loadu_ps(o)) : acc[c]);
    }
}

/* Rows [0, nr16) of a Q8_0 prefill (nr16 a multiple of 16, ny >= 1). */
VNNI_FN __attribute__((noinline)) static void q8w_gemm(int64_t n, const uint8_t *x, size_t xs, int nr16,
                                                       const uint8_t *y, size_t ys, int ny, float *s, size_t ld)
{
    const int nb = (int)(n / 32);
    q0x_config();
    struct q8w_blk pk[Q8W_G * Q8W_KC] __attribute__((aligned(64)));
    float dx[Q8W_KC][16] __attribute__((aligned(64)));
    const __m512i rowoff = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32((int)xs));
    for (int j0 = 0; j0 < ny; j0 += Q0G_ACT_CHUNK) {
        const int na = ny - j0 < Q0G_ACT_CHUNK ? ny - j0 : Q0G_ACT_CHUNK;
        const int ng = (na + Q0X_M - 1) / Q0X_M;
        for (int b0 = 0; b0 < nb; b0 += Q8W_KC) {
            const int nbk = nb - b0 < Q8W_KC ? nb - b0 : Q8W_KC;
            q8w_pack_acts(y + (size_t)j0 * ys, ys, na, b0, nbk, pk);
            for (int r = 0; r < nr16; r += 16) {
                const uint8_t *xr = x + (size_t)r * xs;
                for (int b = 0; b < nbk; b++) {
                    const __m512i d32 = _mm512_i32gather_epi32(rowoff, (const void *)(xr + (size_t)(b0 + b) * Q8_0_BYTES), 1);
                    _mm512_store_ps(dx[b], _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d32)));
                }
                for (int g = 0; g < ng; g++) {
                    const int nc = na - g * Q0X_M < Q0X_M ? na - g * Q0X_M : Q0X_M;
                    q8w_tile(xr, xs, b0, nbk, &pk[g * Q8W_KC], (const float(*)[16])dx,
                             s + (size_t)(j0 + g * Q0X_M) * ld + r, ld, b0 > 0, nc);
                }
            }
        }
    }
    amx_release();
}

VNNI_FN __attribute__((noinline)) static void q4_gemm_tiles(int64_t n, const uint8_t *x, size_t xs, int nr,
                                                            const uint8_t *y, size_t ys, int ny, float *s, size_t ld)
{
    q0_gemm_tiles(n, x, xs, nr, y, ys, ny, s, ld, 1, 0);
}

VNNI_FN __attribute__((noinline)) static void q8_gemm_tiles(int64_t n, const uint8_t *x, size_t xs, int nr,
                                                            const uint8_t *y, size_t ys, int ny, float *s, size_t ld)
{
    q0_gemm_tiles(n, x, xs, nr, y, ys, ny, s, ld, 0, 0);
}

VNNI_FN __attribute__((noinline)) static void q4_gemm_amx(int64_t n, const uint8_t *x, size_t xs, int nr,
                                                          const uint8_t *y, size_t ys, int ny, float *s, size_t ld)
{
    q0_gemm_tiles(n, x, xs, nr, y, ys, ny, s, ld, 1, 1);
}

/* Q4_0 (without VBMI/GFNI) and Q8_0: prefill through the tiles, decode on
 * the row kernel (see the note at q4_rows4 on why Q8_0 has no multi-row
 * decode kernel). */
VNNI_INLINE void q0_gemm(int64_t n, const uint8_t *x, size_t xs, int nr, const uint8_t *y, size_t ys, int ny,
                         float *s, size_t ld, const int is_q4)
{
    if (ny > 1) {
        (is_q4 ? q4_gemm_tiles : q8_gemm_tiles)(n, x, xs, nr, y, ys, ny, s, ld);
        return;
    }
    for (int r = 0; r < nr; r++)
        q0_dot_rows(n, x + (size_t)r * xs, y, 0, 1, s + r, is_q4 ? Q4_0_BYTES : Q8_0_BYTES, is_q4);
}

VNNI_FN static void gemm_q4_0_q8_0_vnni(int64_t n, const void *restrict x, size_t xs, int nr,
                                        const void *restrict y, size_t ys, int ny, float *restrict s, size_t ld)
{
    q0_gemm(n, x, xs, nr, y, ys, ny, s, ld, 1);
}

VNNI_FN static void gemm_q8_0_q8_0_vnni(int64_t n, const void *restrict x, size_t xs, int nr,
                                        const void *restrict y, size_t ys, int ny, float *restrict s, size_t ld)
{
    q0_gemm(n, x, xs, nr, y, ys, ny, s, ld, 0);
}

GFNI_FN static void gemm_q4_0_q8_0_vbmi(int64_t n, const void *restrict vx, size_t xs, int nr,
                                        const void *restrict vy, size_t ys, int ny, float *restrict s, size_t ld)
{
    const uint8_t *x = vx, *y = vy;
    if (ny > 1) {
        q4_gemm_tiles(n, x, xs, nr, y, ys, ny, s, ld);
        return;
    }
    const int nb = (int)(n / 32);
    int r = 0;
    for (; r + Q4R4_ROWS <= nr; r += Q4R4_ROWS)
        q4_rows4(nb, x + (size_t)r * xs, xs, y, s + r);
    for (; r < nr; r++)
        s[r] = q4_row1(nb, x + (size_t)r * xs, y);
}

/* With AMX: prefill through tiles; batched decode (fewer than 16 rows,
 * where a padded tile and a panel per tile cost more than the VNNI tiles:
 * 8 rows ran at 135 GFLOPS against 246) and decode as without. */
#define Q0X_MIN_NY 16


GFNI_FN static void gemm_q4_0_q8_0_amx(int64_t n, const void *restrict vx, size_t xs, int nr,
                                       const void *restrict vy, size_t ys, int ny, float *restrict s, size_t ld)
{
    if (ny >= Q0X_MIN_NY)
        q4_gemm_amx(n, vx, xs, nr, vy, ys, ny, s, ld);
    else
        gemm_q4_0_q8_0_vbmi(n, vx, xs, nr, vy, ys, ny, s, ld);
}

VNNI_FN static void gemm_q8_0_q8_0_amx(int64_t n, const void *restrict vx, size_t xs, int nr,
                                       const void *restrict vy, size_t ys, int ny, float *restrict s, size_t ld)
{
    if (ny < Q0X_MIN_NY) {
        q0_gemm(n, vx, xs, nr, vy, ys, ny, s, ld, 0);
        return;
    }
    const int nr16 = nr & ~15;
    if (nr16)
        q8w_gemm(n, vx, xs, nr16, vy, ys, ny, s, ld);
    if (nr > nr16) /* the last rows: the VNNI tiles (no whole 16-row group, so no tile work) */
        q8_gemm_tiles(n, (const uint8_t *)vx + (size_t)nr16 * xs, xs, nr - nr16, vy, ys, ny, s + nr16, ld);
}

VNNI_FN static void dot_q4_0_q8_0_vnni(int64_t n, const void *restrict x, const void *restrict y,
                                       size_t ys, int ny, float *restrict s);

/* ny == 1 (decode) takes the 512-bit loop; the rest the tiled 256-bit one.
 * Both out of line, so that this call does not pay the tiled kernel's
 * prologue. */
GFNI_FN static void dot_q4_0_q8_0_vbmi(int64_t n, const void *restrict x, const void *restrict y,
                                       size_t ys, int ny, float *restrict s)
{
    if (ny == 1) {
        s[0] = q4_row1((int)(n / 32), x, y);
        return;
    }
    dot_q4_0_q8_0_vnni(n, x, y, ys, ny, s);
}

VNNI_FN static void dot_q4_0_q8_0_vnni(int64_t n, const void *restrict x, const void *restrict y,
                                       size_t ys, int ny, float *restrict s)
{
    q0_dot_rows(n, x, y, ys, ny, s, Q4_0_BYTES, 1);
}

VNNI_FN static void dot_q8_0_q8_0_vnni(int64_t n, const void *restrict x, const void *restrict y,
                                       size_t ys, int ny, float *restrict s)
{
    q0_dot_rows(n, x, y, ys, ny, s, Q8_0_BYTES, 0);
}

void quant_avx512_q0_fill(struct quant_kernels *k, const struct cpu_features *f)
{
    if (!f->avx512vnni)
        return;
    k->dot[QT_Q4_0] = dot_q4_0_q8_0_vnni;
    k->dot[QT_Q8_0] = dot_q8_0_q8_0_vnni;
    k->dot_isa[QT_Q4_0] = k->dot_isa[QT_Q8_0] = QISA_AVX512;
    k->gemm[QT_Q4_0] = gemm_q4_0_q8_0_vnni;
    k->gemm[QT_Q8_0] = gemm_q8_0_q8_0_vnni;
    k->dot_variant[QT_Q4_0] = k->dot_variant[QT_Q8_0] = "avx512-vnni";
    k->gemm_variant[QT_Q4_0] = k->gemm_variant[QT_Q8_0] = "avx512-vnni";
    if (f->avx512vbmi && f->gfni) {
        k->dot[QT_Q4_0] = dot_q4_0_q8_0_vbmi;
        k->gemm[QT_Q4_0] = gemm_q4_0_q8_0_vbmi;
        k->dot_variant[QT_Q4_0] = k->gemm_variant[QT_Q4_0] = "avx512-vbmi-gfni";
    }
    if (f->amx_int8) {
        k->gemm[QT_Q8_0] = gemm_q8_0_q8_0_amx;
        k->gemm_variant[QT_Q8_0] = "avx512-vnni+amx";
        if (f->avx512vbmi && f->gfni) { /* every AMX CPU so far; without, Q4_0 keeps the VNNI tiles */
            k->gemm[QT_Q4_0] = gemm_q4_0_q8_0_amx;
            k->gemm_variant[QT_Q4_0] = "avx512-vbmi-gfni+amx";
        }
    }
}
