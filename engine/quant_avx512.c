/* quant_avx512 — AVX-512 (F, BW, VL, DQ; VNNI where the CPU has it)
 * kernels: dot products of F16, Q4_K, Q5_K and Q6_K weight rows with
 * activation rows (Q4_0 and Q8_0: quant_avx512_q0.c), the activation
 * quantizers (F16, Q8_0, Q8_K) and attention over an fp16 KV cache.
 *
 * Reached only through quant_avx512_fill(), which quant_kernels_init() calls
 * when the CPU has avx512f/bw/vl/dq; it runs after quant_avx2_fill() and
 * overrides only the slots that gain from AVX-512.
 *
 * Same rules as quant_avx2.c: unaligned loads everywhere, exact integer
 * parts, float accumulation order free. Specific choices:
 * - Q4_0 / Q8_0: quant_avx512_q0.c.
 * - K-quants: 512-bit vectors of 64 values; maddubs (unsigned weights x
 *   signed activations) then the int16 sub-block scales with vpdpwssd
 *   (VNNI) or vpmaddwd + add. The VNNI instruction is issued through a
 *   one-line asm so the non-VNNI variant is compiled from the same code
 *   without enabling VNNI for the compiler.
 * - F16: 512-bit f16 -> f32 conversion and FMA; masked loads for the tail.
 */
#include <float.h>
#include <math.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "engine/quant_avx512_impl.h"

/* ---- K-quants x Q8_K --------------------------------------------------- */

/* acc + sum over word pairs of a * b (int16 x int16 -> int32): vpdpwssd
 * when vnni (only ever true on CPUs that have it), else vpmaddwd + add. */
V512_INLINE __m512i madd_acc(__m512i acc, __m512i a, __m512i b, int vnni)
{
    if (vnni) {
        __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
        return acc;
    }
    return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
}

/* The 12 packed 6-bit scale/min bytes of Q4_K/Q5_K at p -> bytes
 * [scale 0..7, min 0..7]. In u32 words u0..u2: scales 0-3 = u0 & 0x3f..,
 * scales 4-7 = (u2 & 0x0f..) | top bits of u0 at 4-5, mins 0-3 = u1 & 0x3f..,
 * mins 4-7 = (u2 >> 4 & 0x0f..) | top bits of u1 at 4-5. Done in xmm lanes:
 * scalar code here gets SLP-vectorized by the compiler into store/reload
 * sequences that stall. Reads 16 bytes (the 4 after the scales are in the
 * block). */
V512_INLINE __m128i k4_scales(const uint8_t *p)
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

/* int16 vector: word lanes 0..31 take word idx0 for lanes 0..15 of s and
 * idx1 for 16..31 (Q4_K: one scale per 32 values) — or, for Q6_K, four
 * scales per 64 values, 8 lanes each. */
V512_INLINE __m512i perm_w16(__m512i s, int a, int b, int c, int d)
{
    const __m512i idx = _mm512_setr_epi32(a | a << 16, a | a << 16, a | a << 16, a | a << 16,
                                          b | b << 16, b | b << 16, b | b << 16, b | b << 16,
                                          c | c << 16, c | c << 16, c | c << 16, c | c << 16,
                                          d | d << 16, d | d << 16, d | d << 16, d | d << 16);
    return _mm512_permutexvar_epi16(idx, s);
}

/* Q4_K / Q5_K: w[k] holds values 64k..64k+63 (sub-blocks 2k, 2k+1) as
 * unsigned bytes; sc[k] the matching int16 scales. */
V512_INLINE void k45_unpack(const uint8_t *xb, int five, __m512i w[4], __m512i sc[4], __m256i *mins)
{
    __m128i s8 = k4_scales(xb + 4);
    __m512i s16 = _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(s8)); /* scales 0..7, mins 8..15 */
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++)
        sc[k] = perm_w16(s16, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1);
    /* [m0 m0 m1 m1 ... m7 m7]: min j covers bsums 2j and 2j+1 */
    *mins = _mm512_castsi512_si256(_mm512_permutexvar_epi16(
        _mm512_setr_epi32(8 | 8 << 16, 9 | 9 << 16, 10 | 10 << 16, 11 | 11 << 16,
                          12 | 12 << 16, 13 | 13 << 16, 14 | 14 << 16, 15 | 15 << 16,
                          0, 0, 0, 0, 0, 0, 0, 0), s16));
    const uint8_t *qs = xb + (five ? 48 : 16);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
#pragma GCC unroll 2
    for (int c = 0; c < 2; c++) {
        __m512i q = ld512(qs + 64 * c);
        __m512i lo = _mm512_and_si512(q, m4);                         /* [sub 4c | sub 4c+2] */
        __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);   /* [sub 4c+1 | sub 4c+3] */
        w[2 * c] = _mm512_shuffle_i64x2(lo, hi, 0x44);
        w[2 * c + 1] = _mm512_shuffle_i64x2(lo, hi, 0xEE);
    }
    if (five) {
        /* bit j of qh[l] is bit 4 of value l of sub-block j */
        __m512i qh = _mm512_broadcast_i64x4(ld256(xb + 16));
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * k))),
                                             _mm256_set1_epi8((char)(1 << (2 * k + 1))), 1);
            __mmask64 m = _mm512_test_epi8_mask(qh, bit);
            w[k] = _mm512_mask_add_epi8(w[k], m, w[k], _mm512_set1_epi8(16));
        }
    }
}

V512_INLINE void k45_tile(int nb, const uint8_t *x, int five, const uint8_t *y, size_t ys,
                          float *s, const int nr, int vnni)
{
    const int xbytes = five ? Q5_K_BYTES : Q4_K_BYTES;
    const int two = nr <= 2;
    __m512 acc[K_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r] = _mm512_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * xbytes;
        quant_prefetch_ahead(xb, xbytes);
        const uint8_t *yb = y + (size_t)i * Q8_K_BYTES;
        __m512i w[4], sc[4];
        __m256i mins;
        k45_unpack(xb, five, w, sc, &mins);
        /* [dx, dmin] with one conversion; the products with dy go through
         * memory so the FMAs broadcast them for free */
        const __m128 dxm = _mm_cvtph_ps(_mm_loadu_si32(xb));
        float dd[K_TILE][4];
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++)
            _mm_storeu_ps(dd[r], _mm_mul_ps(dxm, _mm_set1_ps(ld_f32(yb + (size_t)r * ys))));
        /* keep the compiler from forwarding the stores into registers
         * (which costs a port-5 broadcast per use) */
        __asm__("" : "+m"(dd));
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            __m512i is[2] = { _mm512_setzero_si512(), _mm512_setzero_si512() };
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                __m512i p = _mm512_maddubs_epi16(w[k], ld512(yr + Q8K_QS + 64 * k));
                is[two ? k & 1 : 0] = madd_acc(is[two ? k & 1 : 0], p, sc[k], vnni);
            }
            __m512i ms = _mm512_zextsi256_si512(_mm256_madd_epi16(ld256(yr + Q8K_BSUMS), mins));
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(dd[r][0]), _mm512_cvtepi32_ps(_mm512_add_epi32(is[0], is[1])), acc[r]);
            acc[r] = _mm512_fnmadd_ps(_mm512_set1_ps(dd[r][1]), _mm512_cvtepi32_ps(ms), acc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        s[r] = _mm512_reduce_add_ps(acc[r]);
}

/* Q6_K: w[m] holds values 64m..64m+63 (sub-blocks 4m..4m+3) as unsigned
 * 6-bit bytes; sc[m] the matching int16 scales, 8 lanes per sub-block. */
V512_INLINE void q6_unpack(const uint8_t *xb, __m512i w[4], __m512i sc[4], __m256i *sc16)
{
    *sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(xb + 192)));
    __m512i s = _mm512_zextsi256_si512(*sc16);
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++)
        sc[m] = perm_w16(s, 4 * m, 4 * m + 1, 4 * m + 2, 4 * m + 3);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    /* per 256-bit half: values 0..31 take qh bits 0-1, 32..63 bits 2-3
     * (first vector); 64..95 bits 4-5, 96..127 bits 6-7 (second) */
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m512i ql = ld512(xb + 64 * h);
        __m512i qh = _mm512_broadcast_i64x4(ld256(xb + 128 + 32 * h));
        /* imm 0xF8: a | (b & c) */
        w[2 * h] = _mm512_ternarylogic_epi32(_mm512_and_si512(ql, m4), _mm512_sllv_epi16(qh, shl), m30, 0xF8);
        w[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                                 _mm512_srlv_epi16(qh, shr), m30, 0xF8);
    }
}

V512_INLINE void q6_tile(int nb, const uint8_t *x, const uint8_t *y, size_t ys, float *s, const int nr,
                         int vnni)
{
    const int two = nr <= 2;
    __m512 acc[K_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r] = _mm512_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * Q6_K_BYTES;
        quant_prefetch_ahead(xb, Q6_K_BYTES);
        const uint8_t *yb = y + (size_t)i * Q8_K_BYTES;
        __m512i w[4], sc[4];
        __m256i sc16;
        q6_unpack(xb, w, sc, &sc16);
        const float dx = ld_f16(xb + 208);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            const uint8_t *yr = yb + (size_t)r * ys;
            /* -32 * sum_j scale_j * bsums[j] */
            __m256i bias = _mm256_slli_epi32(_mm256_madd_epi16(ld256(yr + Q8K_BSUMS), sc16), 5);
            __m512i is[2] = { _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(bias)),
                              _mm512_setzero_si512() };
#pragma GCC unroll 4
            for (int m = 0; m < 4; m++) {
                __m512i p = _mm512_maddubs_epi16(w[m], ld512(yr + Q8K_QS + 64 * m));
                is[two ? m & 1 : 0] = madd_acc(is[two ? m & 1 : 0], p, sc[m], vnni);
            }
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(dx * ld_f32(yr)),
                                     _mm512_cvtepi32_ps(_mm512_add_epi32(is[0], is[1])), acc[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        s[r] = _mm512_reduce_add_ps(acc[r]);
}

/* nr rows (1..K_TILE, constant after inlining) of kind 0 Q4_K, 1 Q5_K,
 * 2 Q6_K. */
V512_INLINE void k_tile(int nb, const uint8_t *x, const uint8_t *y, size_t ys, float *s, const int nr,
                        int kind, int vnni)
{
    if (kind == 2)
        q6_tile(nb, x, y, ys, s, nr, vnni);
    else
        k45_tile(nb, x, kind, y, ys, s, nr, vnni);
}

V512_INLINE void k_dot_rows(int64_t n, const void *vx, const void *vy, size_t ys, int ny, float *s,
                            int kind, int vnni)
{
    const int nb = (int)(n / QK_K);
    const uint8_t *x = vx, *y = vy;
    int r = 0;
    for (; r + K_TILE <= ny; r += K_TILE)
        k_tile(nb, x, y + r * ys, ys, s + r, K_TILE, kind, vnni);
    const uint8_t *yr = y + r * ys;
    /* cases >= K_TILE cannot occur; the modulo keeps those dead calls'
     * row counts within the tile arrays */
    switch (ny - r) {
    case 7: k_tile(nb, x, yr, ys, s + r, 7 % K_TILE, kind, vnni); break;
    case 6: k_tile(nb, x, yr, ys, s + r, 6 % K_TILE, kind, vnni); break;
    case 5: k_tile(nb, x, yr, ys, s + r, 5 % K_TILE, kind, vnni); break;
    case 4: k_tile(nb, x, yr, ys, s + r, 4 % K_TILE, kind, vnni); break;
    case 3: k_tile(nb, x, yr, ys, s + r, 3, kind, vnni); break;
    case 2: k_tile(nb, x, yr, ys, s + r, 2, kind, vnni); break;
    case 1: k_tile(nb, x, yr, ys, s + r, 1, kind, vnni); break;
    default: break;
    }
}

V512_FN static void dot_q4_K_q8_K(int64_t n, const void *restrict x, const void *restrict y,
                                  size_t ys, int ny, float *restrict s)
{
    k_dot_rows(n, x, y, ys, ny, s, 0, 0);
}

V512_FN static void dot_q5_K_q8_K(int64_t n, const void *restrict x, const void *restrict y,
                                  size_t ys, int ny, float *restrict s)
{
    k_dot_rows(n, x, y, ys, ny, s, 1, 0);
}

V512_FN static void dot_q6_K_q8_K(int64_t n, const void *restrict x, const void *restrict y,
                                  size_t ys, int ny, float *restrict s)
{
    k_dot_rows(n, x, y, ys, ny, s, 2, 0);
}

V512_FN static void dot_q4_K_q8_K_vnni(int64_t n, const void *restrict x, const void *restrict y,
                                       size_t ys, int ny, float *restrict s)
{
    k_dot_rows(n, x, y, ys, ny, s, 0, 1);
}

V512_FN static void dot_q5_K_q8_K_vnni(int64_t n, const void *restrict x, const void *restrict y,
                                       size_t ys, int ny, float *restrict s)
{
    k_dot_rows(n, x, y, ys, ny, s, 1, 1);
}

V512_FN static void dot_q6_K_q8_K_vnni(int64_t n, const void *restrict x, const void *restrict y,
                                       size_t ys, int ny, float *restrict s)
{
    k_dot_rows(n, x, y, ys, ny, s, 2, 1);
}

/* ---- K-quants x Q8_K, 16 weight rows x up to 8 activation rows (gemm) --
 *
 * The tiles above cost 9 integer multiply uops (maddubs, vpdpwssd) per 256
 * products of one weight row and one activation row. Here, as in the Q4_0
 * tiles (quant_avx512_q0.c), each 32-bit lane belongs to one of 16 weight
 * rows: a group of values with one scale (32 for Q4_K/Q5_K, 16 for Q6_K)
 * is 8 or 4 vpdpbusd for 16 rows, whose activation operand is a broadcast
 * dword from memory, then one conversion and FMA by the rows' d * scale.
 * The rest of each super-block's sum (Q4_K/Q5_K: dmin * mins . bsums;
 * Q6_K: the -32 offset, 32 d * scales . bsums) takes 8 vpdpwssd against
 * the activation's bsums. About 91 (Q6_K: 107) uops per 4096 products,
 * against 224.
 *
 * The weights are packed per call, a chunk of super-blocks of 16 rows at a
 * time, into a panel on the stack (kp_sb: values unpacked to unsigned
 * bytes in the lane layout, scales decoded), which every tile of 8
 * activation rows then reads: the packing is paid once per 16 rows and
 * chunk whatever the prompt length. With fewer than KP_MIN_NY activation
 * rows (decode) the row kernels are faster and run instead. */
#define KP_ROWS 16
#define KP_SB_CHUNK 16 /* super-blocks per panel: 16 x 5696 B = 89 KiB of stack */
#define KP_MIN_NY 8 /* of 1..16 activation rows, where the packed tile began to win (2048x2048 Q4_K: 4 rows 91 vs 117 GFLOPS, 8 rows 154 vs 107) */

struct kp_sb {
    uint8_t w[64][64];   /* dword k of the super-block: byte 4 * row + i = value 4k + i of that row */
    float scf[16][16];   /* d * scale of each group (8 or 16 of them), per row */
    int32_t mp[8][16];   /* the int16 pair that multiplies bsums 2t, 2t + 1, per row */
    float corr[16];      /* per row: what mp . bsums is multiplied by before it is subtracted */
};

/* The 16 rows' f16 at byte off of their blocks (xb + r * xs + off). */
VNNI_INLINE __m512 kp_f16x16(const uint8_t *xb, size_t xs, size_t off)
{
    uint16_t h[16];
    for (int r = 0; r < KP_ROWS; r++)
        memcpy(&h[r], xb + (size_t)r * xs + off, 2);
    __m256i v;
    memcpy(&v, h, 32);
    return _mm512_cvtph_ps(v);
}

/* Byte i of every dword lane of v, zero-extended. */
VNNI_INLINE __m512i kp_byte(__m512i v, int i)
{
    return _mm512_and_si512(_mm512_srli_epi32(v, 8 * i), _mm512_set1_epi32(0xFF));
}

/* Q4_K / Q5_K scales of 16 rows, vectorized: the 12 scale bytes of each
 * row (bytes 4..15, read as 4..19 and transposed so that lane r holds
 * q[4k..4k+3] of row r in o[k]) decoded byte-parallel as k4_scale_min
 * does one at a time. */
VNNI_INLINE void kp_scales45(const uint8_t *xb, size_t xs, struct kp_sb *o)
{
    __m512i q[4];
    q0p_transpose(xb + 4, xs, q);
    const __m512i m6 = _mm512_set1_epi8(0x3F), m4 = _mm512_set1_epi8(0x0F), hi2 = _mm512_set1_epi8((char)0xC0);
    const __m512i sc03 = _mm512_and_si512(q[0], m6), mn03 = _mm512_and_si512(q[1], m6);
    /* j >= 4: low 4 bits from q[j + 4], top 2 from bits 6-7 of q[j - 4] (scale) or q[j] (min) */
    const __m512i sc47 = _mm512_or_si512(_mm512_and_si512(q[2], m4),
                                         _mm512_srli_epi16(_mm512_and_si512(q[0], hi2), 2));
    const __m512i mn47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q[2], 4), m4),
                                         _mm512_srli_epi16(_mm512_and_si512(q[1], hi2), 2));
    const __m512 d = kp_f16x16(xb, xs, 0);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        const __m512i sc = kp_byte(j < 4 ? sc03 : sc47, j & 3), m = kp_byte(j < 4 ? mn03 : mn47, j & 3);
        _mm512_store_ps(o->scf[j], _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc)));
        _mm512_store_si512(o->mp[j], _mm512_or_si512(m, _mm512_slli_epi32(m, 16))); /* bsums 2j, 2j + 1 */
    }
    _mm512_store_ps(o->corr, kp_f16x16(xb, xs, 2));
}

/* Q6_K scales of 16 rows: the 16 int8 scales (bytes 192..207) transposed
 * as in kp_scales45, sign-extended. */
VNNI_INLINE void kp_scales6(const uint8_t *xb, size_t xs, struct kp_sb *o)
{
    __m512i q[4];
    q0p_transpose(xb + 192, xs, q);
    const __m512 d = kp_f16x16(xb, xs, 208);
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const __m512i sc = _mm512_srai_epi32(_mm512_slli_epi32(q[k], 24 - 8 * i), 24);
            _mm512_store_ps(o->scf[4 * k + i], _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc)));
        }
        /* int16 pairs (scale 4k, 4k+1) and (4k+2, 4k+3): bytes 0/2 and 1/3
         * of each dword, sign-extended to words */
        const __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(q[k], 8), 8), odd = _mm512_srai_epi16(q[k], 8);
        _mm512_store_si512(o->mp[2 * k], _mm512_mask_blend_epi16(0xAAAAAAAAu, even, _mm512_slli_epi32(odd, 16)));
        _mm512_store_si512(o->mp[2 * k + 1], _mm512_mask_blend_epi16(0xAAAAAAAAu, _mm512_srli_epi32(even, 16), odd));
    }
    _mm512_store_ps(o->corr, _mm512_mul_ps(d, _mm512_set1_ps(32.0f))); /* the values are stored + 32 */
}

/* Q4_K / Q5_K: the 16 rows at x (xs apart), super-blocks [sb0, sb0 + nsb),
 * into p. Group j is values 32j..32j+31 (dwords 8j..8j+7). */
VNNI_INLINE void k45p_pack(const uint8_t *x, size_t xs, int five, int sb0, int nsb, struct kp_sb *p)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F), b16 = _mm512_set1_epi8(16);
    const size_t bytes = five ? Q5_K_BYTES : Q4_K_BYTES, qs = five ? 48 : 16;
    for (int b = 0; b < nsb; b++) {
        const uint8_t *xb = x + (size_t)(sb0 + b) * bytes;
        struct kp_sb *o = p + b;
        __m512i qh[8];
        if (five) { /* bit j of qh[l] is bit 4 of value l of group j */
            q0p_transpose(xb + 16, xs, qh);
            q0p_transpose(xb + 32, xs, qh + 4);
        }
        /* qs chunk c: low nibbles are group 2c, high nibbles 2c + 1 */
        for (int c = 0; c < 4; c++) {
            __m512i raw[8];
            q0p_transpose(xb + qs + 32 * c, xs, raw);
            q0p_transpose(xb + qs + 32 * c + 16, xs, raw + 4);
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                __m512i lo = _mm512_and_si512(raw[k], m4), hi = _mm512_and_si512(_mm512_srli_epi16(raw[k], 4), m4);
                if (five) {
                    lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh[k], _mm512_set1_epi8((char)(1 << (2 * c)))),
                                              lo, b16);
                    hi = _mm512_mask_add_epi8(
                        hi, _mm512_test_epi8_mask(qh[k], _mm512_set1_epi8((char)(1 << (2 * c + 1)))), hi, b16);
                }
                _mm512_store_si512(o->w[8 * (2 * c) + k], lo);
                _mm512_store_si512(o->w[8 * (2 * c + 1) + k], hi);
            }
        }
        kp_scales45(xb, xs, o);
    }
}

/* Q6_K: as k45p_pack. Group g is values 16g..16g+15 (dwords 4g..4g+3);
 * value 128h + 32m + l (l < 32) is ql[64h + 32(m & 1) + l] (low nibble for
 * m < 2, high for m >= 2) with qh[32h + l] bits 2m, 2m+1 on top. */
VNNI_INLINE void q6p_pack(const uint8_t *x, size_t xs, int sb0, int nsb, struct kp_sb *p)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(0x03);
    for (int b = 0; b < nsb; b++) {
        const uint8_t *xb = x + (size_t)(sb0 + b) * Q6_K_BYTES;
        struct kp_sb *o = p + b;
        for (int h = 0; h < 2; h++) {
            __m512i A[8], B[8], H[8];
            q0p_transpose(xb + 64 * h, xs, A);
            q0p_transpose(xb + 64 * h + 16, xs, A + 4);
            q0p_transpose(xb + 64 * h + 32, xs, B);
            q0p_transpose(xb + 64 * h + 48, xs, B + 4);
            q0p_transpose(xb + 128 + 32 * h, xs, H);
            q0p_transpose(xb + 128 + 32 * h + 16, xs, H + 4);
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                const __m512i h0 = _mm512_slli_epi16(_mm512_and_si512(H[k], m3), 4);
                const __m512i h1 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(H[k], 2), m3), 4);
                const __m512i h2 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(H[k], 4), m3), 4);
                const __m512i h3 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(H[k], 6), m3), 4);
                const int d0 = 32 * h + k; /* dword of value 128h + 4k */
                _mm512_store_si512(o->w[d0], _mm512_or_si512(_mm512_and_si512(A[k], m4), h0));
                _mm512_store_si512(o->w[d0 + 8], _mm512_or_si512(_mm512_and_si512(B[k], m4), h1));
                _mm512_store_si512(o->w[d0 + 16],
                                   _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(A[k], 4), m4), h2));
                _mm512_store_si512(o->w[d0 + 24],
                                   _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(B[k], 4), m4), h3));
            }
        }
        kp_scales6(xb, xs, o);
    }
}

/* A super-block's bsums correction terms (mp, returned corr) from its
 * packed form. */
VNNI_INLINE __m512 kp_corr(const struct kp_sb *o, __m512i mp[8])
{
#pragma GCC unroll 8
    for (int t = 0; t < 8; t++)
        mp[t] = _mm512_load_si512(o->mp[t]);
    return _mm512_load_ps(o->corr);
}

/* acc + d_y * (S - corr * (mp . bsums)) for activation row yj: the end of
 * a super-block, once its group sums are scaled into S. */
VNNI_INLINE __m512 kp_finish(const __m512i mp[8], __m512 corr, const uint8_t *yj, __m512 S, __m512 acc)
{
    __m512i M = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int t = 0; t < 8; t++) {
        int32_t bs;
        memcpy(&bs, yj + Q8K_BSUMS + 4 * t, 4); /* bsums 2t, 2t + 1 */
        M = _mm512_dpwssd_epi32(M, mp[t], _mm512_set1_epi32(bs));
    }
    const __m512 T = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(M), corr, S);
    return _mm512_fmadd_ps(T, _mm512_set1_ps(ld_f32(yj)), acc);
}

/* s[j * ld + r] (+)= packed rows r < 16 x activation rows j < na over the
 * panel's nsb super-blocks, which start at super-block sb0 of y; G groups
 * (8 of 32 values, or 16 of 16) per super-block. */
VNNI_INLINE void kp_tile(const struct kp_sb *p, int nsb, const uint8_t *y, size_t ys, int sb0, float *s, size_t ld,
                         bool add, const int na, const int G)
{
    const int D = 64 / G; /* dwords per group */
    __m512 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < na; j++)
        acc[j] = _mm512_setzero_ps();
    for (int b = 0; b < nsb; b++) {
        const struct kp_sb *o = p + b;
        const uint8_t *yb = y + (size_t)(sb0 + b) * Q8_K_BYTES;
        __m512 S[8];
#pragma GCC unroll 8
        for (int j = 0; j < na; j++)
            S[j] = _mm512_setzero_ps();
        for (int g = 0; g < G; g++) {
            __m512i w[8];
#pragma GCC unroll 8
            for (int k = 0; k < D; k++)
                w[k] = _mm512_load_si512(o->w[g * D + k]);
            const __m512 scf = _mm512_load_ps(o->scf[g]);
#pragma GCC unroll 8
            for (int j = 0; j < na; j++) {
                const uint8_t *yq = yb + (size_t)j * ys + Q8K_QS + 4 * D * g;
                __m512i P = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int k = 0; k < D; k++) {
                    int32_t yk;
                    memcpy(&yk, yq + 4 * k, 4);
                    P = _mm512_dpbusd_epi32(P, w[k], _mm512_set1_epi32(yk));
                }
                S[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(P), scf, S[j]);
            }
        }
        __m512i mp[8];
        const __m512 corr = kp_corr(o, mp);
#pragma GCC unroll 8
        for (int j = 0; j < na; j++)
            acc[j] = kp_finish(mp, corr, yb + (size_t)j * ys, S[j], acc[j]);
    }
    lane_tile_store(acc, s, ld, add, na);
}

/* ---- the same panels through AMX-INT8 tiles -----------------------------
 * As for Q4_0 (quant_avx512_q0.c): one tdpbsud multiplies a group of 16
 * activation rows (A: 32 or 16 signed bytes per row, read in place from
 * the Q8_K rows) by the panel's operand rows of that group (B: its 8 or 4
 * dwords of 16 rows, already the tile layout) into 16 x 16 int32 sums, the
 * work of 8 (4) vpdpbusd per activation row. The sums of a super-block's
 * groups are stored (four sum tiles in flight), then scaled as kp_tile
 * does: the same integers, the same float step per row and group, and the
 * same bsums correction, so the results are kp_tile's bits. Only full tiles
 * of 16 activation rows take this path; kp_tile does a remainder. */
#define KX_M 16

typedef int32_t kx_sums[KX_M][16];

/* tmm0..3 sums, tmm4, 5 activations (16 rows x 4D bytes), tmm6, 7 panel
 * groups (D rows of 64 bytes); D dwords per group (8, or 4 for Q6_K). */
static inline void kx_config(int D)
{
    struct amx_cfg c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 4; i++)
        c.rows[i] = KX_M, c.colsb[i] = 64;
    for (int i = 4; i < 6; i++)
        c.rows[i] = KX_M, c.colsb[i] = (uint16_t)(4 * D);
    for (int i = 6; i < 8; i++)
        c.rows[i] = (uint8_t)D, c.colsb[i] = 64;
    amx_config(&c);
}

/* Group g of super-block o against the 16 activation rows at yb (ys
 * apart) into sums tile C, stored to out. */
#define KX_GROUP(C, A, B, g)                                                                 \
    do {                                                                                     \
        AMX_ZERO(C);                                                                         \
        AMX_LOAD(A, yb + Q8K_QS + 4 * D * (g), ys, *yb);                                     \
        AMX_LOAD(B, o->w[D * (g)], 64, o->w);                                                \
        AMX_DPBSUD(C, A, B);                                                                      \
        AMX_STORE(C, &sums[g]);                                                              \
    } while (0)

/* s[j * ld + r] (+)= packed rows r < 16 x activation rows j < 16 over the
 * panel's nsb super-blocks (from super-block sb0 of y); G groups. */
VNNI_INLINE void kx_tile(const struct kp_sb *p, int nsb, const uint8_t *y, size_t ys, int sb0, float *s, size_t ld,
                         bool add, const int G)
{
    const int D = 64 / G;
    __m512 acc[KX_M];
#pragma GCC unroll 16
    for (int j = 0; j < KX_M; j++)
        acc[j] = _mm512_setzero_ps();
    kx_sums sums[16] __attribute__((aligned(64)));
    for (int b = 0; b < nsb; b++) {
        const struct kp_sb *o = p + b;
        const uint8_t *yb = y + (size_t)(sb0 + b) * Q8_K_BYTES;
        for (int g = 0; g < G; g += 4) {
            KX_GROUP(0, 4, 6, g);
            KX_GROUP(1, 5, 7, g + 1);
            KX_GROUP(2, 4, 6, g + 2);
            KX_GROUP(3, 5, 7, g + 3);
        }
        __m512i mp[8];
        const __m512 corr = kp_corr(o, mp);
#pragma GCC unroll 16
        for (int j = 0; j < KX_M; j++) {
            __m512 S = _mm512_setzero_ps();
            for (int g = 0; g < G; g++)
                S = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums[g][j])), _mm512_load_ps(o->scf[g]), S);
            acc[j] = kp_finish(mp, corr, yb + (size_t)j * ys, S, acc[j]);
        }
    }
    lane_tile_store(acc, s, ld, add, KX_M);
}

/* Rows [r0, r1) against every activation row with the row kernel of kind
 * (0 Q4_K, 1 Q5_K, 2 Q6_K), into their columns. */
VNNI_INLINE void kp_rows_dot(int64_t n, const uint8_t *x, size_t xs, int r0, int r1, const uint8_t *y, size_t ys,
                             int ny, float *s, size_t ld, int kind)
{
    float tmp[K_TILE];
    for (int r = r0; r < r1; r++)
        for (int j = 0; j < ny; j += K_TILE) {
            const int m = ny - j < K_TILE ? ny - j : K_TILE;
            k_dot_rows(n, x + (size_t)r * xs, y + (size_t)j * ys, ys, m, tmp, kind, 1);
            for (int t = 0; t < m; t++)
                s[(size_t)(j + t) * ld + r] = tmp[t];
        }
}

VNNI_INLINE void kp_gemm(int64_t n, const uint8_t *x, size_t xs, int nr, const uint8_t *y, size_t ys, int ny,
                         float *s, size_t ld, const int kind, const int amx)
{
    if (ny < KP_MIN_NY) {
        kp_rows_dot(n, x, xs, 0, nr, y, ys, ny, s, ld, kind);
        return;
    }
    const int nsb = (int)(n / QK_K), nr16 = nr & ~(KP_ROWS - 1), G = kind == 2 ? 16 : 8;
    struct kp_sb panel[KP_SB_CHUNK] __attribute__((aligned(64)));
    const int ny16 = amx ? ny & ~(KX_M - 1) : 0; /* rows the tiles take */
    if (ny16)
        kx_config(64 / G);
    for (int r = 0; r < nr16; r += KP_ROWS) {
        for (int b0 = 0; b0 < nsb; b0 += KP_SB_CHUNK) {
            const int nb = nsb - b0 < KP_SB_CHUNK ? nsb - b0 : KP_SB_CHUNK;
            if (kind == 2)
                q6p_pack(x + (size_t)r * xs, xs, b0, nb, panel);
            else
                k45p_pack(x + (size_t)r * xs, xs, kind, b0, nb, panel);
            const bool add = b0 > 0;
            int j = 0;
            for (; j < ny16; j += KX_M)
                kx_tile(panel, nb, y + (size_t)j * ys, ys, b0, s + (size_t)j * ld + r, ld, add, G);
            for (; j + 8 <= ny; j += 8)
                kp_tile(panel, nb, y + (size_t)j * ys, ys, b0, s + (size_t)j * ld + r, ld, add, 8, G);
            const uint8_t *yj = y + (size_t)j * ys;
            float *sj = s + (size_t)j * ld + r;
            switch (ny - j) {
            case 7: kp_tile(panel, nb, yj, ys, b0, sj, ld, add, 7, G); break;
            case 6: kp_tile(panel, nb, yj, ys, b0, sj, ld, add, 6, G); break;
            case 5: kp_tile(panel, nb, yj, ys, b0, sj, ld, add, 5, G); break;
            case 4: kp_tile(panel, nb, yj, ys, b0, sj, ld, add, 4, G); break;
            case 3: kp_tile(panel, nb, yj, ys, b0, sj, ld, add, 3, G); break;
            case 2: kp_tile(panel, nb, yj, ys, b0, sj, ld, add, 2, G); break;
            case 1: kp_tile(panel, nb, yj, ys, b0, sj, ld, add, 1, G); break;
            default: break;
            }
        }
    }
    if (ny16)
        amx_release();
    kp_rows_dot(n, x, xs, nr16, nr, y, ys, ny, s, ld, kind);
}

VNNI_FN __attribute__((noinline)) static void gemm_q4_K_q8_K_vnni(int64_t n, const void *restrict x, size_t xs,
                                                                 int nr, const void *restrict y, size_t ys, int ny,
                                                                 float *restrict s, size_t ld)
{
    kp_gemm(n, x, xs, nr, y, ys, ny, s, ld, 0, 0);
}

VNNI_FN __attribute__((noinline)) static void gemm_q4_K_q8_K_amx(int64_t n, const void *restrict x, size_t xs,
                                                                int nr, const void *restrict y, size_t ys, int ny,
                                                                float *restrict s, size_t ld)
{
    kp_gemm(n, x, xs, nr, y, ys, ny, s, ld, 0, 1);
}

VNNI_FN __attribute__((noinline)) static void gemm_q5_K_q8_K_vnni(int64_t n, const void *restrict x, size_t xs,
                                                                 int nr, const void *restrict y, size_t ys, int ny,
                                                                 float *restrict s, size_t ld)
{
    kp_gemm(n, x, xs, nr, y, ys, ny, s, ld, 1, 0);
}

VNNI_FN __attribute__((noinline)) static void gemm_q5_K_q8_K_amx(int64_t n, const void *restrict x, size_t xs,
                                                                int nr, const void *restrict y, size_t ys, int ny,
                                                                float *restrict s, size_t ld)
{
    kp_gemm(n, x, xs, nr, y, ys, ny, s, ld, 1, 1);
}

VNNI_FN __attribute__((noinline)) static void gemm_q6_K_q8_K_vnni(int64_t n, const void *restrict x, size_t xs,
                                                                 int nr, const void *restrict y, size_t ys, int ny,
                                                                 float *restrict s, size_t ld)
{
    kp_gemm(n, x, xs, nr, y, ys, ny, s, ld, 2, 0);
}

VNNI_FN __attribute__((noinline)) static void gemm_q6_K_q8_K_amx(int64_t n, const void *restrict x, size_t xs,
                                                                int nr, const void *restrict y, size_t ys, int ny,
                                                                float *restrict s, size_t ld)
{
    kp_gemm(n, x, xs, nr, y, ys, ny, s, ld, 2, 1);
}

/* ---- F16 x F16 ------------------------------------------------------------ */

V512_INLINE __m512 ld_ph16(const uint8_t *p)
{
    return _mm512_cvtph_ps(ld256(p));
}

/* The last m (< 16) values, zero-filled. */
V512_INLINE __m512 ld_ph16_tail(const uint8_t *p, int m)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((__mmask16)((1u << m) - 1), p));
}

/* F16 decode streams 2 bytes per weight, more than any other type: the
 * row loop asks for its lines F16_PF_AHEAD bytes ahead. On 1.1B F16 tg32
 * (1 / 2 threads) 1024 gave +12% / +11% with --weights map and +14% / +11%
 * from huge pages; 512 and 1536 less, 2048 lost on map (4 KiB pages: the
 * prefetch crosses into a page whose walk has not begun). -D overrides it
 * for such measurements. */
#ifndef F16_PF_AHEAD
#define F16_PF_AHEAD 1024
#endif

V512_INLINE float f16_row1(int64_t n, const uint8_t *x, const uint8_t *y)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        _mm_prefetch((const char *)(x + 2 * i + F16_PF_AHEAD), _MM_HINT_T0);
        _mm_prefetch((const char *)(x + 2 * i + F16_PF_AHEAD + 64), _MM_HINT_T0);
        a0 = _mm512_fmadd_ps(ld_ph16(x + 2 * i), ld_ph16(y + 2 * i), a0);
        a1 = _mm512_fmadd_ps(ld_ph16(x + 2 * i + 32), ld_ph16(y + 2 * i + 32), a1);
        a2 = _mm512_fmadd_ps(ld_ph16(x + 2 * i + 64), ld_ph16(y + 2 * i + 64), a2);
        a3 = _mm512_fmadd_ps(ld_ph16(x + 2 * i + 96), ld_ph16(y + 2 * i + 96), a3);
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_fmadd_ps(ld_ph16(x + 2 * i), ld_ph16(y + 2 * i), a0);
    if (i < n)
        a1 = _mm512_fmadd_ps(ld_ph16_tail(x + 2 * i, (int)(n - i)), ld_ph16_tail(y + 2 * i, (int)(n - i)), a1);
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

V512_INLINE void f16_tile(int64_t n, const uint8_t *x, const uint8_t *y, size_t ys, float *s, const int nr)
{
    __m512 acc[F16_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 xv = ld_ph16(x + 2 * i);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++)
            acc[r] = _mm512_fmadd_ps(xv, ld_ph16(y + (size_t)r * ys + 2 * i), acc[r]);
    }
    if (i < n) {
        const int m = (int)(n - i);
        __m512 xv = ld_ph16_tail(x + 2 * i, m);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++)
            acc[r] = _mm512_fmadd_ps(xv, ld_ph16_tail(y + (size_t)r * ys + 2 * i, m), acc[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        s[r] = _mm512_reduce_add_ps(acc[r]);
}

V512_FN static void dot_f16_f16(int64_t n, const void *restrict vx, const void *restrict vy,
                                size_t ys, int ny, float *restrict s)
{
    const uint8_t *x = vx, *y = vy;
    int r = 0;
    for (; r + F16_TILE <= ny; r += F16_TILE)
        f16_tile(n, x, y + r * ys, ys, s + r, F16_TILE);
    switch (ny - r) {
    case 3: f16_tile(n, x, y + r * ys, ys, s + r, 3); break;
    case 2: f16_tile(n, x, y + r * ys, ys, s + r, 2); break;
    case 1: s[r] = f16_row1(n, x, y + r * ys); break;
    default: break;
    }
}

/* F16 x F16 gemm (prefill): an R x C tile of outputs (R weight rows, C
 * activation rows) in R*C registers. Each 16-value step converts R + C
 * half vectors and does R*C FMAs; the dot kernel above converts one
 * activation vector per FMA, and the conversions share port 5 with the
 * FMAs, so the tile roughly halves the conversions per FMA (4 x 6: 10 per
 * 24). Products and sums are f32 as in the dot kernel; only the summation
 * order differs. */
#define F16G_R 4
#define F16G_C 6

V512_INLINE void f16_gemm_tile(int64_t n, const uint8_t *x, size_t xs, const int R, const uint8_t *y, size_t ys,
                               const int C, float *s, size_t ld)
{
    __m512 acc[F16G_R][F16G_C];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 6
        for (int c = 0; c < C; c++)
            acc[r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 w[F16G_R];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            w[r] = ld_ph16(x + (size_t)r * xs + 2 * i);
#pragma GCC unroll 6
        for (int c = 0; c < C; c++) {
            const __m512 a = ld_ph16(y + (size_t)c * ys + 2 * i);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][c] = _mm512_fmadd_ps(w[r], a, acc[r][c]);
        }
    }
    if (i < n) {
        const int m = (int)(n - i);
        __m512 w[F16G_R];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            w[r] = ld_ph16_tail(x + (size_t)r * xs + 2 * i, m);
#pragma GCC unroll 6
        for (int c = 0; c < C; c++) {
            const __m512 a = ld_ph16_tail(y + (size_t)c * ys + 2 * i, m);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][c] = _mm512_fmadd_ps(w[r], a, acc[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 6
        for (int c = 0; c < C; c++)
            s[(size_t)c * ld + r] = _mm512_reduce_add_ps(acc[r][c]);
}

/* Full-height (R = 4) tiles along the activation rows, C a constant per call. */
V512_FN __attribute__((noinline)) static void f16_gemm_rows4(int64_t n, const uint8_t *x, size_t xs,
                                                             const uint8_t *y, size_t ys, int ny, float *s, size_t ld)
{
    int c = 0;
    for (; c + F16G_C <= ny; c += F16G_C)
        f16_gemm_tile(n, x, xs, 4, y + (size_t)c * ys, ys, F16G_C, s + (size_t)c * ld, ld);
    switch (ny - c) {
    case 5: f16_gemm_tile(n, x, xs, 4, y + (size_t)c * ys, ys, 5, s + (size_t)c * ld, ld); break;
    case 4: f16_gemm_tile(n, x, xs, 4, y + (size_t)c * ys, ys, 4, s + (size_t)c * ld, ld); break;
    case 3: f16_gemm_tile(n, x, xs, 4, y + (size_t)c * ys, ys, 3, s + (size_t)c * ld, ld); break;
    case 2: f16_gemm_tile(n, x, xs, 4, y + (size_t)c * ys, ys, 2, s + (size_t)c * ld, ld); break;
    case 1: f16_gemm_tile(n, x, xs, 4, y + (size_t)c * ys, ys, 1, s + (size_t)c * ld, ld); break;
    default: break;
    }
}

V512_FN void quant_avx512_gemm_f16(int64_t n, const void *restrict vx, size_t xs, int nr, const void *restrict vy,
                                   size_t ys, int ny, float *restrict s, size_t ld)
{
    const uint8_t *x = vx, *y = vy;
    if (ny == 1) { /* decode: streaming the weights is the cost; the dot kernel's 4 chains do it */
        for (int r = 0; r < nr; r++)
            s[r] = f16_row1(n, x + (size_t)r * xs, y);
        return;
    }
    int r = 0;
    for (; r + F16G_R <= nr; r += F16G_R)
        f16_gemm_rows4(n, x + (size_t)r * xs, xs, y, ys, ny, s + r, ld);
    /* leftover weight rows: the dot kernel's tiles, one row at a time */
    for (; r < nr; r++) {
        float t[F16_TILE];
        int c = 0;
        for (; c + F16_TILE <= ny; c += F16_TILE) {
            f16_tile(n, x + (size_t)r * xs, y + (size_t)c * ys, ys, t, F16_TILE);
            for (int k = 0; k < F16_TILE; k++)
                s[(size_t)(c + k) * ld + r] = t[k];
        }
        for (; c < ny; c++)
            s[(size_t)c * ld + r] = f16_row1(n, x + (size_t)r * xs, y + (size_t)c * ys);
    }
}

/* Decode from weights in 4 KiB pages (a file mapping): four rows at a
 * time, one activation conversion shared by four weight streams. From such
 * pages a single row stream stalls at every page boundary (a page walk,
 * and the hardware prefetcher stops at the page); four streams overlap
 * those stalls. On 1.1B F16 tg32 with --weights map this ran at 6.6-6.7 /
 * 12.7-13.1 tok/s (1 / 2 threads) against 5.9-6.1 / 11.4-11.5 for the row
 * kernel; from 2 MiB pages it was 5-9% slower than the row kernel, which
 * is why it is only the 4 KiB kernel. Each row's stream is prefetched
 * F16_4K_PF_AHEAD bytes ahead (512 beat 1024, 2048 and none on map). */
#define F16_4K_ROWS 4
#ifndef F16_4K_PF_AHEAD
#define F16_4K_PF_AHEAD 512
#endif

/* s[r] for r < 4: n % 32 == 0. Two chains per row hide the FMA latency. */
V512_INLINE void f16_rows4_1(int64_t n, const uint8_t *x, size_t xs, const uint8_t *y, float *s)
{
    __m512 a[F16_4K_ROWS][2];
#pragma GCC unroll 4
    for (int r = 0; r < F16_4K_ROWS; r++)
        a[r][0] = a[r][1] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 32) {
        const __m512 y0 = ld_ph16(y + 2 * i), y1 = ld_ph16(y + 2 * i + 32);
#pragma GCC unroll 4
        for (int r = 0; r < F16_4K_ROWS; r++) {
            const uint8_t *xr = x + (size_t)r * xs + 2 * i;
            _mm_prefetch((const char *)(xr + F16_4K_PF_AHEAD), _MM_HINT_T0);
            a[r][0] = _mm512_fmadd_ps(ld_ph16(xr), y0, a[r][0]);
            a[r][1] = _mm512_fmadd_ps(ld_ph16(xr + 32), y1, a[r][1]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < F16_4K_ROWS; r++)
        s[r] = _mm512_reduce_add_ps(_mm512_add_ps(a[r][0], a[r][1]));
}

V512_FN static void gemm_f16_4k(int64_t n, const void *restrict vx, size_t xs, int nr, const void *restrict vy,
                                size_t ys, int ny, float *restrict s, size_t ld)
{
    const uint8_t *x = vx, *y = vy;
    if (ny != 1 || n % 32 != 0) {
        quant_avx512_gemm_f16(n, vx, xs, nr, vy, ys, ny, s, ld);
        return;
    }
    int r = 0;
    for (; r + F16_4K_ROWS <= nr; r += F16_4K_ROWS)
        f16_rows4_1(n, x + (size_t)r * xs, xs, y, s + r);
    for (; r < nr; r++)
        s[r] = f16_row1(n, x + (size_t)r * xs, y);
}

/* ---- activation quantizers (byte-identical to the reference) ------------ */

/* roundf: nearest, ties away from zero. */
V512_INLINE __m512 round_half_away(__m512 v)
{
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __m512 one = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    return _mm512_mask_add_ps(t, up, t, one);
}

/* As the reference's sat_i8: NaN -> 0, +-inf (id overflowed for a tiny
 * amax) -> 127 / -128; finite values are already within that. */
V512_INLINE __m512 sat_i8_ps(__m512 r)
{
    r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, r, _CMP_ORD_Q), r);
    return _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f));
}

V512_FN static void from_float_q8_0(const float *restrict x, void *restrict vy, int64_t n)
{
    uint8_t *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0, y += Q8_0_BYTES) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        /* NaN inputs are skipped, as fmaxf does in the reference: max_ps
         * returns its second operand when either is NaN */
        const __m512 m = _mm512_max_ps(_mm512_abs_ps(v1), _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps()));
        const float amax = _mm512_reduce_max_ps(m);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        memcpy(y, &dh, 2);
        const __m512 idv = _mm512_set1_ps(id);
        __m128i q0 = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(sat_i8_ps(round_half_away(_mm512_mul_ps(v0, idv)))));
        __m128i q1 = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(sat_i8_ps(round_half_away(_mm512_mul_ps(v1, idv)))));
        _mm256_storeu_si256((__m256i *)(void *)(y + 2), _mm256_setr_m128i(q0, q1));
    }
}

V512_FN static void from_float_q8_K(const float *restrict x, void *restrict vy, int64_t n)
{
    uint8_t *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K, y += Q8_K_BYTES) {
        __m512 m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps();
        for (int k = 0; k < 16; k += 2) {
            /* max_ps returns its second operand when either is NaN, so a
             * NaN input is skipped as in the reference */
            m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * k)), m0);
            m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * k + 16)), m1);
        }
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
        if (amax == 0.0f || !(amax <= FLT_MAX)) { /* as the reference: zero block */
            memset(y, 0, Q8_K_BYTES);
            continue;
        }
        /* the signed value of the first element whose |x| is the maximum */
        const __m512 am = _mm512_set1_ps(amax);
        float max = 0.0f;
        for (int k = 0; k < 16; k++) {
            __mmask16 e = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * k)), am, _CMP_EQ_OQ);
            if (e) {
                max = x[16 * k + __builtin_ctz((unsigned)e)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m512 is = _mm512_set1_ps(iscale);
        int16_t bsums[16];
        for (int g = 0; g < 4; g++) {
            __m512i q[4];
            for (int k = 0; k < 4; k++) {
                __m512 v = _mm512_mul_ps(is, _mm512_loadu_ps(x + 64 * g + 16 * k));
                /* NaN or inf (a NaN input, or iscale overflowed for a tiny
                 * max) -> 0, what the reference's round_even gives */
                __mmask16 fin = _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(FLT_MAX), _CMP_LE_OQ);
                q[k] = _mm512_cvtps_epi32(_mm512_maskz_mov_ps(fin, v));
            }
            /* saturating packs = MIN(127, v); then undo the per-lane
             * interleave of the packs */
            __m512i p = _mm512_packs_epi16(_mm512_packs_epi32(q[0], q[1]), _mm512_packs_epi32(q[2], q[3]));
            p = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), p);
            _mm512_storeu_si512((void *)(y + Q8K_QS + 64 * g), p);
            /* sums of 8 bytes via SAD on the biased bytes (+128 each) */
            __m512i sad = _mm512_sad_epu8(_mm512_xor_si512(p, _mm512_set1_epi8((char)0x80)), _mm512_setzero_si512());
            sad = _mm512_add_epi64(sad, _mm512_shuffle_epi32(sad, 0x4E));
            uint64_t t[8];
            _mm512_storeu_si512((void *)t, sad);
            for (int j = 0; j < 4; j++)
                bsums[4 * g + j] = (int16_t)((int64_t)t[2 * j] - 16 * 128);
        }
        memcpy(y + Q8K_BSUMS, bsums, sizeof bsums);
        const float d = 1.0f / iscale;
        memcpy(y, &d, 4);
    }
}

V512_FN static void from_float_f16(const float *restrict x, void *restrict vy, int64_t n)
{
    uint8_t *y = vy;
    int64_t i = 0;
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
        /* every NaN becomes sign | 0x7e00 as in quant_f32_to_f16 (the
         * hardware would keep payload bits) */
        const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        if (nan)
            h = _mm256_mask_mov_epi16(h, nan, _mm256_or_si256(_mm256_and_si256(h, _mm256_set1_epi16((short)0x8000)),
                                                               _mm256_set1_epi16(0x7e00)));
        _mm256_mask_storeu_epi16(y + 2 * i, m, h);
    }
}

/* ---- attention over an fp16 KV cache (quant_attn_kq_fn / _pv_fn) ----------
 * kq: four keys at a time, 16 values per step with masked loads for the
 * tail, one shared reduction of the four accumulators. pv: 64 output
 * values (four zmm) stay in registers while every row streams past. */
V512_INLINE __mmask16 mask_from(int left)
{
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
}

V512_INLINE __m512 half16(const uint8_t *row, int i, __mmask16 m)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * (size_t)i));
}

V512_INLINE __m256 fold512(__m512 a)
{
    return _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
}

V512_FN static void attn_kq_f16(const float *restrict q, const uint16_t *restrict k, size_t rs, int n, int hd,
                                float *restrict s)
{
    const uint8_t *kb = (const uint8_t *)k;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = kb + (size_t)j * rs, *r1 = r0 + rs, *r2 = r1 + rs, *r3 = r2 + rs;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < hd; i += 16) {
            const __mmask16 m = mask_from(hd - i);
            const __m512 qv = _mm512_maskz_loadu_ps(m, q + i);
            a0 = _mm512_fmadd_ps(qv, half16(r0, i, m), a0);
            a1 = _mm512_fmadd_ps(qv, half16(r1, i, m), a1);
            a2 = _mm512_fmadd_ps(qv, half16(r2, i, m), a2);
            a3 = _mm512_fmadd_ps(qv, half16(r3, i, m), a3);
        }
        const __m256 b0 = fold512(a0), b1 = fold512(a1), b2 = fold512(a2), b3 = fold512(a3);
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(b0, b1), _mm256_hadd_ps(b2, b3));
        _mm_storeu_ps(s + j, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    for (; j < n; j++) {
        const uint8_t *r = kb + (size_t)j * rs;
        __m512 a = _mm512_setzero_ps();
        for (int i = 0; i < hd; i += 16) {
            const __mmask16 m = mask_from(hd - i);
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), half16(r, i, m), a);
        }
        s[j] = _mm512_reduce_add_ps(a);
    }
}

V512_FN static void attn_pv_f16(const float *restrict p, const uint16_t *restrict v, size_t rs, int n, int hd,
                                float *restrict out)
{
    const uint8_t *vb = (const uint8_t *)v;
    for (int i0 = 0; i0 < hd; i0 += 64) {
        const __mmask16 m0 = mask_from(hd - i0), m1 = mask_from(hd - i0 - 16), m2 = mask_from(hd - i0 - 32),
                        m3 = mask_from(hd - i0 - 48);
        __m512 a0 = _mm512_maskz_loadu_ps(m0, out + i0), a1 = _mm512_maskz_loadu_ps(m1, out + i0 + 16);
        __m512 a2 = _mm512_maskz_loadu_ps(m2, out + i0 + 32), a3 = _mm512_maskz_loadu_ps(m3, out + i0 + 48);
        if (m2 == 0) { /* 32 values or fewer left: two registers */
            for (int j = 0; j < n; j++) {
                const uint8_t *r = vb + (size_t)j * rs;
                const __m512 pj = _mm512_set1_ps(p[j]);
                a0 = _mm512_fmadd_ps(pj, half16(r, i0, m0), a0);
                a1 = _mm512_fmadd_ps(pj, half16(r, i0 + 16, m1), a1);
            }
        } else {
            for (int j = 0; j < n; j++) {
                const uint8_t *r = vb + (size_t)j * rs;
                const __m512 pj = _mm512_set1_ps(p[j]);
                a0 = _mm512_fmadd_ps(pj, half16(r, i0, m0), a0);
                a1 = _mm512_fmadd_ps(pj, half16(r, i0 + 16, m1), a1);
                a2 = _mm512_fmadd_ps(pj, half16(r, i0 + 32, m2), a2);
                a3 = _mm512_fmadd_ps(pj, half16(r, i0 + 48, m3), a3);
            }
        }
        _mm512_mask_storeu_ps(out + i0, m0, a0);
        _mm512_mask_storeu_ps(out + i0 + 16, m1, a1);
        _mm512_mask_storeu_ps(out + i0 + 32, m2, a2);
        _mm512_mask_storeu_ps(out + i0 + 48, m3, a3);
    }
}

V512_FN static void f16_round(const float *x, float scale, float *y, int n)
{
    const __m512 sc = _mm512_set1_ps(scale);
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = mask_from(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sc);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)));
    }
}

/* exp for x <= 0: the QEXP_* recipe of quant_impl.h */
V512_INLINE __m512 exp_neg16(__m512 x)
{
    const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(QEXP_NEG_MIN), _CMP_LT_OQ);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(QEXP_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(QEXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(QEXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(QEXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QEXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QEXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QEXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QEXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QEXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps((__mmask16)~tiny, _mm512_scalef_ps(p, n));
}

V512_FN static double attn_exp(float *s, int n, float scale)
{
    const __m512 sc = _mm512_set1_ps(scale);
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = mask_from(n - i);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + i), sc));
    }
    const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512d sum0 = _mm512_setzero_pd(), sum1 = sum0;
    for (int i = 0; i < n; i += 16) {
        const __mmask16 m = mask_from(n - i);
        const __m512 e = _mm512_maskz_mov_ps(m, exp_neg16(_mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + i), sc), vmax)));
        _mm512_mask_storeu_ps(s + i, m, e);
        sum0 = _mm512_add_pd(sum0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        sum1 = _mm512_add_pd(sum1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(sum0, sum1));
}

/* silu(g) * u with one exp of a non-positive argument: e = exp(-|x|);
 * silu(x) = x / (1 + e) for x >= 0 and x * e / (1 + e) below (the same
 * value, without exp overflowing for large negative x). The scalar loop
 * took 6% of a 1.1B prefill (libm expf per value). */
V512_FN static void swiglu(float *restrict g, const float *restrict u, int64_t n)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = mask_from((int)(n - i < 16 ? n - i : 16));
        const __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        const __m512 e = exp_neg16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
        const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
        const __m512 num = _mm512_mask_mul_ps(x, neg, x, e);
        const __m512 y = _mm512_mul_ps(_mm512_div_ps(num, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, u + i));
        _mm512_mask_storeu_ps(g + i, m, y);
    }
}

/* The sum of squares in double (products of floats are exact there) over
 * 4 x 8 lanes instead of one chain of dependent adds: the scalar loop took
 * 2.6% of a 1.1B prefill. */
V512_FN static void rmsnorm(const float *x, const float *w, float *y, int n, float eps)
{
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512d a = _mm512_cvtps_pd(_mm256_loadu_ps(x + i)), b = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8));
        const __m512d c = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 16)), d = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 24));
        s0 = _mm512_fmadd_pd(a, a, s0);
        s1 = _mm512_fmadd_pd(b, b, s1);
        s2 = _mm512_fmadd_pd(c, c, s2);
        s3 = _mm512_fmadd_pd(d, d, s3);
    }
    for (; i < n; i += 8) {
        const __mmask8 m = (__mmask8)(n - i >= 8 ? 0xff : (1u << (n - i)) - 1);
        const __m512d a = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + i));
        s0 = _mm512_fmadd_pd(a, a, s0);
    }
    const double sum = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
    const float mean = (float)(sum / n);
    const __m512 sc = _mm512_set1_ps(1.0f / sqrtf(mean + eps));
    for (i = 0; i < n; i += 16) {
        const __mmask16 m = mask_from(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sc), _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

void quant_avx512_fill(struct quant_kernels *k, const struct cpu_features *f)
{
    k->attn_exp = attn_exp;
    k->swiglu = swiglu;
    k->rmsnorm = rmsnorm;
    k->attn_kq_f16 = attn_kq_f16;
    k->attn_pv_f16 = attn_pv_f16;
    k->f16_round = f16_round;
    k->attn_variant = "avx512";
    const bool vnni = f->avx512vnni;
    quant_avx512_q0_fill(k, f);
    k->dot[QT_Q4_K] = vnni ? dot_q4_K_q8_K_vnni : dot_q4_K_q8_K;
    k->dot[QT_Q5_K] = vnni ? dot_q5_K_q8_K_vnni : dot_q5_K_q8_K;
    k->dot[QT_Q6_K] = vnni ? dot_q6_K_q8_K_vnni : dot_q6_K_q8_K;
    k->dot_variant[QT_Q4_K] = k->dot_variant[QT_Q5_K] = k->dot_variant[QT_Q6_K] = vnni ? "avx512-vnni" : "avx512";
    if (vnni) {
        k->gemm[QT_Q4_K] = gemm_q4_K_q8_K_vnni;
        k->gemm[QT_Q5_K] = gemm_q5_K_q8_K_vnni;
        k->gemm[QT_Q6_K] = gemm_q6_K_q8_K_vnni;
        k->gemm_variant[QT_Q4_K] = k->gemm_variant[QT_Q5_K] = k->gemm_variant[QT_Q6_K] = "avx512-vnni";
        if (f->amx_int8) {
            k->gemm[QT_Q4_K] = gemm_q4_K_q8_K_amx;
            k->gemm[QT_Q5_K] = gemm_q5_K_q8_K_amx;
            k->gemm[QT_Q6_K] = gemm_q6_K_q8_K_amx;
            k->gemm_variant[QT_Q4_K] = k->gemm_variant[QT_Q5_K] = k->gemm_variant[QT_Q6_K] = "avx512-vnni+amx";
        }
    }
    k->dot[QT_F16] = dot_f16_f16;
    k->gemm[QT_F16] = quant_avx512_gemm_f16;
    k->dot_variant[QT_F16] = "avx512";
    k->gemm_variant[QT_F16] = "avx512";
    k->gemm_4k[QT_F16] = gemm_f16_4k;
    k->dot_isa[QT_Q4_K] = k->dot_isa[QT_Q5_K] = k->dot_isa[QT_Q6_K] = k->dot_isa[QT_F16] = QISA_AVX512;
    k->from_float[QT_Q8_0] = from_float_q8_0;
    k->from_float[QT_Q8_K] = from_float_q8_K;
    k->from_float[QT_F16] = from_float_f16;
    quant_avx512_f16x_fill(k, f);
}
