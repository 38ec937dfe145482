/* quant_ref — scalar reference kernels: the ground truth every fast kernel
 * is tested against, and the path the engine runs when QISA_REF is asked.
 *
 * Plain portable C. The arithmetic follows ggml's reference quantizers
 * (quantize_row_*_ref), dequantizers (dequantize_row_*) and generic dot
 * products (ggml_vec_dot_*_generic) of llama.cpp c392e50 operation for
 * operation: the integer sums are exact whatever the order, and the float
 * operations are done in the same order and precision, so a dot product
 * here gives the same float as llama.cpp's scalar path.
 *
 * Block layouts are drawn in quant.h; the comments here say which bit of
 * which byte holds weight i. All multi-byte fields are little-endian. */
#include "engine/quant_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define QK_SUB 16 /* weights per bsums entry of Q8_K */

/* ---- gate self-test knob (owner: gate; see ci/gate.sh, make gate-selftest) ----
 * `make SLOW_KERNEL=1` defines GGPERF_SLOW_KERNEL=1: dot1_q8_0 then does a
 * redundant second pass over every fourth block, so the CI regression gate can
 * show that it catches a slower build. The results are unchanged. It is a
 * constant condition, not #if, so both paths always compile; with the
 * default 0 the optimizer drops the block. */
#ifndef GGPERF_SLOW_KERNEL
#define GGPERF_SLOW_KERNEL 0
#endif
/* ---- end gate self-test knob ---- */

/* Round to nearest, ties to even, for |f| < 2^22: adding 1.5 * 2^23 leaves
 * the integer in the low mantissa bits (the float add does the rounding).
 * This is ggml's nearest_int(); using the same trick keeps tie-breaking
 * identical. */
static inline int round_even(float f)
{
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Float to int8 after rounding: the value is in range for every finite
 * input; the clamp only keeps NaN/inf inputs from undefined behaviour. */
static inline int8_t sat_i8(float f)
{
    if (!(f >= -128.0f))
        return f != f ? 0 : -128;
    if (f > 127.0f)
        return 127;
    return (int8_t)f;
}

static inline float h2f(qt_half h)
{
    return quant_f16_to_f32(h);
}

/* Index of the value of tbl[0..n) (sorted ascending) nearest to x; on a tie
 * the upper one. ggml's best_index_int8(). */
static int nearest_index(int n, const int8_t *tbl, float x)
{
    if (x <= tbl[0])
        return 0;
    if (x >= tbl[n - 1])
        return n - 1;
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x < tbl[mid])
            hi = mid;
        else
            lo = mid;
    }
    return x - tbl[hi - 1] < tbl[hi] - x ? hi - 1 : hi;
}

/* Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins in 12 bytes.
 *   j < 4 : scale = q[j] & 63,          min = q[j + 4] & 63
 *   j >= 4: scale = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4
 *           min   = (q[j + 4] >> 4) | (q[j] >> 6) << 4
 * (the top two bits of bytes 0..7 carry the high bits of scales/mins 4..7) */
static inline void k4_scale_min(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q3_K: sixteen 6-bit scales biased by 32 in 12 bytes.
 *   low 4 bits of scale j: j < 8 -> low nibble of byte j,
 *                          j >= 8 -> high nibble of byte j - 8
 *   high 2 bits of scale j: bits 2*(j/4)..2*(j/4)+1 of byte 8 + j%4
 * out[j] is the unbiased scale (-32..31). */
static void q3k_scales(const uint8_t *q, int out[16])
{
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? q[j] & 15 : q[j - 8] >> 4;
        int hi = (q[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (lo | hi << 4) - 32;
    }
}

/* IQ4_XS: 6-bit scale of sub-block ib (0..7), biased by 32: low 4 bits in
 * nibble ib%2 of scales_l[ib/2], high 2 bits at bits 2ib of scales_h. */
static inline int iq4xs_scale(const struct block_iq4_xs *b, int ib)
{
    int lo = (b->scales_l[ib / 2] >> (4 * (ib % 2))) & 15;
    int hi = (b->scales_h >> (2 * ib)) & 3;
    return lo | hi << 4;
}

/* =================== dequantize ======================================= */

void quant_ref_to_float_f32(const void *restrict x, float *restrict y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

void quant_ref_to_float_f16(const void *restrict x, float *restrict y, int64_t n)
{
    const qt_half *h = x;
    for (int64_t i = 0; i < n; i++)
        y[i] = h2f(h[i]);
}

void quant_ref_to_float_bf16(const void *restrict x, float *restrict y, int64_t n)
{
    const uint16_t *h = x;
    for (int64_t i = 0; i < n; i++)
        y[i] = quant_bf16_to_f32(h[i]);
}

/* Q4_0: weight j (j < 16) is the low nibble of qs[j], weight j + 16 the
 * high nibble; w = d * (q - 8). */
void quant_ref_to_float_q4_0(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q4_0 *b = x;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, y += QK4_0) {
        const float d = h2f(b->d);
        for (int j = 0; j < 16; j++) {
            y[j] = ((b->qs[j] & 15) - 8) * d;
            y[j + 16] = ((b->qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1: nibbles as Q4_0; w = d * q + m. */
void quant_ref_to_float_q4_1(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q4_1 *b = x;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, y += QK4_0) {
        const float d = h2f(b->d), m = h2f(b->m);
        for (int j = 0; j < 16; j++) {
            y[j] = (b->qs[j] & 15) * d + m;
            y[j + 16] = (b->qs[j] >> 4) * d + m;
        }
    }
}

/* Q5_0: nibbles as Q4_0; bit j of the 32-bit little-endian qh is the fifth
 * bit of weight j. w = d * (q - 16). */
void quant_ref_to_float_q5_0(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q5_0 *b = x;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, y += QK4_0) {
        const float d = h2f(b->d);
        uint32_t qh;
        memcpy(&qh, b->qh, sizeof qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (b->qs[j] & 15) | ((qh >> j) & 1) << 4;
            int q1 = (b->qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            y[j] = (q0 - 16) * d;
            y[j + 16] = (q1 - 16) * d;
        }
    }
}

/* Q5_1: bits as Q5_0; w = d * q + m. */
void quant_ref_to_float_q5_1(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q5_1 *b = x;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, y += QK4_0) {
        const float d = h2f(b->d), m = h2f(b->m);
        uint32_t qh;
        memcpy(&qh, b->qh, sizeof qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (b->qs[j] & 15) | ((qh >> j) & 1) << 4;
            int q1 = (b->qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            y[j] = q0 * d + m;
            y[j + 16] = q1 * d + m;
        }
    }
}

void quant_ref_to_float_q8_0(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q8_0 *b = x;
    for (int64_t i = 0; i < n / QK8_0; i++, b++, y += QK8_0) {
        const float d = h2f(b->d);
        for (int j = 0; j < QK8_0; j++)
            y[j] = b->qs[j] * d;
    }
}

/* Q8_1: w = d * q (s is only a shortcut for the dot product). */
void quant_ref_to_float_q8_1(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q8_1 *b = x;
    for (int64_t i = 0; i < n / QK8_0; i++, b++, y += QK8_0) {
        const float d = h2f(b->d);
        for (int j = 0; j < QK8_0; j++)
            y[j] = b->qs[j] * d;
    }
}

/* Q2_K: two halves of 128 weights, each using 32 bytes of qs. Within half
 * h, weight 32k + l (k = 0..3, l < 32) is bits 2k..2k+1 of qs[32h + l].
 * Sub-block s = i/16 has scale scales[s] & 15 and min scales[s] >> 4;
 * w = d * scale * q - dmin * min. */
void quant_ref_to_float_q2_K(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q2_K *b = x;
    for (int64_t i = 0; i < n / QK_K; i++, b++) {
        const float d = h2f(b->d), dmin = h2f(b->dmin);
        const uint8_t *q = b->qs;
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; part++) {
                    const uint8_t sc = b->scales[is++];
                    const float dl = d * (sc & 15), ml = dmin * (sc >> 4);
                    for (int l = 16 * part; l < 16 * part + 16; l++)
                        *y++ = dl * ((q[l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* Q3_K: the low two bits are laid out as Q2_K's; the third bit of weight i
 * is bit i/32 of hmask[i % 32], and when it is CLEAR the weight is lowered
 * by 4, so q ranges -4..3. w = d * scale * q with the 6-bit scales of
 * q3k_scales(). */
void quant_ref_to_float_q3_K(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q3_K *b = x;
    for (int64_t i = 0; i < n / QK_K; i++, b++) {
        const float d_all = h2f(b->d);
        int sc[16];
        q3k_scales(b->scales, sc);
        const uint8_t *q = b->qs;
        uint8_t m = 1;
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int part = 0; part < 2; part++) {
                    const float dl = d_all * sc[is++];
                    for (int l = 16 * part; l < 16 * part + 16; l++) {
                        int v = ((q[l] >> shift) & 3) - ((b->hmask[l] & m) ? 0 : 4);
                        *y++ = dl * v;
                    }
                }
            }
        }
    }
}

/* Q4_K: four chunks of 64 weights, each using 32 bytes of qs: weight l of
 * chunk c is the low nibble of qs[32c + l], weight 32 + l the high nibble.
 * Sub-block s = i/32 uses k4_scale_min(s); w = d * scale * q - dmin * min. */
void quant_ref_to_float_q4_K(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q4_K *b = x;
    for (int64_t i = 0; i < n / QK_K; i++, b++) {
        const float d = h2f(b->d), dmin = h2f(b->dmin);
        const uint8_t *q = b->qs;
        for (int c = 0; c < 4; c++, q += 32) {
            int sc, m;
            k4_scale_min(2 * c, b->scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            k4_scale_min(2 * c + 1, b->scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (q[l] & 15) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

/* Q5_K: nibbles and scales as Q4_K; the fifth bit of weight i is bit i/32
 * of qh[i % 32]. */
void quant_ref_to_float_q5_K(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q5_K *b = x;
    for (int64_t i = 0; i < n / QK_K; i++, b++) {
        const float d = h2f(b->d), dmin = h2f(b->dmin);
        const uint8_t *q = b->qs;
        for (int c = 0; c < 4; c++, q += 32) {
            int sc, m;
            k4_scale_min(2 * c, b->scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            k4_scale_min(2 * c + 1, b->scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            const uint8_t u1 = (uint8_t)(1u << (2 * c)), u2 = (uint8_t)(2u << (2 * c));
            for (int l = 0; l < 32; l++)
                *y++ = d1 * ((q[l] & 15) + ((b->qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * ((q[l] >> 4) + ((b->qh[l] & u2) ? 16 : 0)) - m2;
        }
    }
}

/* Q6_K: two halves of 128 weights; half h uses ql[64h..64h+63] and
 * qh[32h..32h+31]. Weight 32k + l of the half (k = 0..3, l < 32):
 *   low 4 bits : k=0 low nibble of ql[l], k=1 low nibble of ql[l + 32],
 *                k=2 high nibble of ql[l], k=3 high nibble of ql[l + 32]
 *   high 2 bits: bits 2k..2k+1 of qh[l]
 * w = d * scales[i/16] * (q - 32). */
void quant_ref_to_float_q6_K(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q6_K *b = x;
    for (int64_t i = 0; i < n / QK_K; i++, b++) {
        const float d = h2f(b->d);
        const uint8_t *ql = b->ql, *qh = b->qh;
        const int8_t *sc = b->scales;
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q2 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void quant_ref_to_float_q8_K(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_q8_K *b = x;
    for (int64_t i = 0; i < n / QK_K; i++, b++)
        for (int j = 0; j < QK_K; j++)
            *y++ = b->d * b->qs[j];
}

/* IQ4_NL: nibbles as Q4_0, each an index into quant_kvalues_iq4nl. */
void quant_ref_to_float_iq4_nl(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_iq4_nl *b = x;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, y += QK4_0) {
        const float d = h2f(b->d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * quant_kvalues_iq4nl[b->qs[j] & 15];
            y[j + 16] = d * quant_kvalues_iq4nl[b->qs[j] >> 4];
        }
    }
}

/* IQ4_XS: eight sub-blocks of 32 laid out like IQ4_NL blocks (16 bytes of
 * qs each), with the 6-bit scales of iq4xs_scale(); w = d * (ls - 32) * kv. */
void quant_ref_to_float_iq4_xs(const void *restrict x, float *restrict y, int64_t n)
{
    const struct block_iq4_xs *b = x;
    for (int64_t i = 0; i < n / QK_K; i++, b++) {
        const float d = h2f(b->d);
        const uint8_t *qs = b->qs;
        for (int ib = 0; ib < 8; ib++, qs += 16, y += 32) {
            const float dl = d * (iq4xs_scale(b, ib) - 32);
            for (int j = 0; j < 16; j++) {
                y[j] = dl * quant_kvalues_iq4nl[qs[j] & 15];
                y[j + 16] = dl * quant_kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

/* =================== quantize ========================================= */

void quant_ref_from_float_f32(const float *restrict x, void *restrict y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

void quant_ref_from_float_f16(const float *restrict x, void *restrict y, int64_t n)
{
    qt_half *h = y;
    for (int64_t i = 0; i < n; i++)
        h[i] = quant_f32_to_f16(x[i]);
}

void quant_ref_from_float_bf16(const float *restrict x, void *restrict y, int64_t n)
{
    uint16_t *h = y;
    for (int64_t i = 0; i < n; i++)
        h[i] = quant_f32_to_bf16(x[i]);
}

/* Signed value of largest magnitude (the first one on ties), 0 if none. */
static float signed_absmax(const float *x, int n)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

/* Q4_0: d = max / -8 where max is the signed value of largest magnitude,
 * so that value maps to q = 0 exactly; q = trunc(x/d + 8.5) capped at 15. */
void quant_ref_from_float_q4_0(const float *restrict x, void *restrict y, int64_t n)
{
    struct block_q4_0 *b = y;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
        const float d = signed_absmax(x, QK4_0) / -8;
        const float id = d ? 1.0f / d : 0.0f;
        b->d = quant_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)(x[j] * id + 8.5f), q1 = (int8_t)(x[j + 16] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            b->qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void minmax(const float *x, int n, float *mn, float *mx)
{
    *mn = FLT_MAX;
    *mx = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < *mn)
            *mn = x[j];
        if (x[j] > *mx)
            *mx = x[j];
    }
}

/* Q4_1: d = (max - min) / 15, m = min, q = trunc((x - min)/d + 0.5). */
void quant_ref_from_float_q4_1(const float *restrict x, void *restrict y, int64_t n)
{
    struct block_q4_1 *b = y;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
        float mn, mx;
        minmax(x, QK4_0, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        b->d = quant_f32_to_f16(d);
        b->m = quant_f32_to_f16(mn);
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)((x[j] - mn) * id + 0.5f), q1 = (int8_t)((x[j + 16] - mn) * id + 0.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            b->qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

/* Q5_0: d = max / -16, q = trunc(x/d + 16.5) capped at 31. */
void quant_ref_from_float_q5_0(const float *restrict x, void *restrict y, int64_t n)
{
    struct block_q5_0 *b = y;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
        const float d = signed_absmax(x, QK4_0) / -16;
        const float id = d ? 1.0f / d : 0.0f;
        b->d = quant_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)(x[j] * id + 16.5f), q1 = (int8_t)(x[j + 16] * id + 16.5f);
            q0 = q0 < 31 ? q0 : 31;
            q1 = q1 < 31 ? q1 : 31;
            b->qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        memcpy(b->qh, &qh, sizeof qh);
    }
}

/* Q5_1: d = (max - min) / 31, m = min, q = trunc((x - min)/d + 0.5). */
void quant_ref_from_float_q5_1(const float *restrict x, void *restrict y, int64_t n)
{
    struct block_q5_1 *b = y;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
        float mn, mx;
        minmax(x, QK4_0, &mn, &mx);
        const float d = (mx - mn) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        b->d = quant_f32_to_f16(d);
        b->m = quant_f32_to_f16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            /* (x - min)/d never exceeds 31.5 for finite input; the cap
             * only guards the bit packing. */
            int q0 = (uint8_t)((x[j] - mn) * id + 0.5f), q1 = (uint8_t)((x[j + 16] - mn) * id + 0.5f);
            q0 = q0 < 31 ? q0 : 31;
            q1 = q1 < 31 ? q1 : 31;
            b->qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        memcpy(b->qh, &qh, sizeof qh);
    }
}

/* Q8_0: d = amax / 127, q = roundf(x * (1/d)) — roundf, i.e. ties away from
 * zero, as ggml's reference (its AVX path rounds ties to even instead). d is
 * stored as fp16 but q is computed with the unrounded d. */
void quant_ref_from_float_q8_0(const float *restrict x, void *restrict y, int64_t n)
{
    struct block_q8_0 *b = y;
    for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        b->d = quant_f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++)
            b->qs[j] = sat_i8(roundf(x[j] * id));
    }
}

/* Q8_1: as Q8_0, plus s = fp16(d * sum(q)) with the unrounded d. */
void quant_ref_from_float_q8_1(const float *restrict x, void *restrict y, int64_t n)
{
    struct block_q8_1 *b = y;
    for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        b->d = quant_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < QK8_0; j++) {
            b->qs[j] = sat_i8(roundf(x[j] * id));
            sum += b->qs[j];
        }
        b->s = quant_f32_to_f16(sum * d);
    }
}

/* Q8_K: iscale = -127 / max, max the signed value of largest magnitude (so
 * d = 1/iscale is negative when max is positive); q = nearest_int(iscale*x)
 * (ties to even) capped at 127; bsums[j] = sum of q[16j..16j+15]. An all-zero
 * block gets d = 0 and zero quants. */
void quant_ref_from_float_q8_K(const float *restrict x, void *restrict y, int64_t n)
{
    struct block_q8_K *b = y;
    for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f || !(amax <= FLT_MAX)) {
            /* ggml leaves bsums unwritten here; zero is the consistent value.
             * Non-finite input is treated the same rather than computing
             * garbage through round_even(). */
            memset(b, 0, sizeof *b);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = round_even(iscale * x[j]);
            b->qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < QK_K / QK_SUB; j++) {
            int sum = 0;
            for (int l = 0; l < QK_SUB; l++)
                sum += b->qs[QK_SUB * j + l];
            b->bsums[j] = (int16_t)sum;
        }
        b->d = 1 / iscale;
    }
}

/* IQ4_NL: ggml's quantize_iq4_nl without an importance matrix (what
 * llama-quantize runs): weights w = x^2; start from d = max/127 and the
 * nearest table value of each x/d, take the least-squares scale, then try
 * 15 more inverse scales (itry - 127)/max, itry = -7..7, keeping the one
 * with the best weighted fit; finally re-pick the indices for that scale. */
void quant_ref_from_float_iq4_nl(const float *restrict x, void *restrict y, int64_t n)
{
    enum { NTRY = 7 };
    const int8_t *kv = quant_kvalues_iq4nl;
    struct block_iq4_nl *b = y;
    for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
        float w[QK4_0];
        uint8_t L[QK4_0];
        for (int j = 0; j < QK4_0; j++)
            w[j] = x[j] * x[j];
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        float d = 0.0f;
        if (amax >= 1e-15f) {
            d = -max / kv[0];
            float id = 1 / d;
            float sumqx = 0, sumq2 = 0;
            for (int j = 0; j < QK4_0; j++) {
                float q = kv[nearest_index(16, kv, id * x[j])];
                sumqx += w[j] * q * x[j];
                sumq2 += w[j] * q * q;
            }
            d = sumqx / sumq2;
            float best = d * sumqx;
            for (int itry = -NTRY; itry <= NTRY; itry++) {
                id = (itry + kv[0]) / max;
                sumqx = sumq2 = 0;
                for (int j = 0; j < QK4_0; j++) {
                    float q = kv[nearest_index(16, kv, id * x[j])];
                    sumqx += w[j] * q * x[j];
                    sumq2 += w[j] * q * q;
                }
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    d = sumqx / sumq2;
                    best = d * sumqx;
                }
            }
        }
        b->d = quant_f32_to_f16(d);
        const float id = d ? 1 / d : 0;
        for (int j = 0; j < QK4_0; j++)
            L[j] = (uint8_t)nearest_index(16, kv, id * x[j]);
        for (int j = 0; j < 16; j++)
            b->qs[j] = (uint8_t)(L[j] | L[j + 16] << 4);
    }
}

/* =================== dot products ===================================== */

/* One weight row against one activation row. */
typedef float (*dot1_fn)(int64_t n, const void *x, const void *y);

static inline void dot_rows(dot1_fn f, int64_t n, const void *x, const void *y,
                            size_t y_stride, int ny, float *s)
{
    for (int j = 0; j < ny; j++)
        s[j] = f(n, x, (const char *)y + (size_t)j * y_stride);
}

/* The float dots accumulate in double, like ggml's scalar
 * ggml_vec_dot_f32/f16/bf16 (ggml_float); products are formed in float
 * (exact for f16 and bf16 operands). */
static float dot1_f32(int64_t n, const void *vx, const void *vy)
{
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * y[i]);
    return (float)sum;
}

static float dot1_f16(int64_t n, const void *vx, const void *vy)
{
    const qt_half *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(h2f(x[i]) * h2f(y[i]));
    return (float)sum;
}

static float dot1_bf16(int64_t n, const void *vx, const void *vy)
{
    const uint16_t *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(quant_bf16_to_f32(x[i]) * quant_bf16_to_f32(y[i]));
    return (float)sum;
}

static float dot1_q4_0(int64_t n, const void *vx, const void *vy)
{
    const struct block_q4_0 *x = vx;
    const struct block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += ((x[i].qs[j] & 15) - 8) * y[i].qs[j];
            sumi1 += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sumf += (sumi0 + sumi1) * h2f(x[i].d) * h2f(y[i].d);
    }
    return sumf;
}

static float dot1_q4_1(int64_t n, const void *vx, const void *vy)
{
    const struct block_q4_1 *x = vx;
    const struct block_q8_1 *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += (x[i].qs[j] & 15) * y[i].qs[j];
            sumi1 += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        }
        /* sum(w*a) = d_x*d_y*sum(q*qa) + m * (d_y*sum(qa)), the last factor
         * being the precomputed s of the Q8_1 block */
        sumf += (h2f(x[i].d) * h2f(y[i].d)) * (sumi0 + sumi1) + h2f(x[i].m) * h2f(y[i].s);
    }
    return sumf;
}

static float dot1_q5_0(int64_t n, const void *vx, const void *vy)
{
    const struct block_q5_0 *x = vx;
    const struct block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = ((x[i].qs[j] & 15) | ((qh >> j) & 1) << 4) - 16;
            int q1 = ((x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16;
            sumi0 += q0 * y[i].qs[j];
            sumi1 += q1 * y[i].qs[j + 16];
        }
        sumf += (h2f(x[i].d) * h2f(y[i].d)) * (sumi0 + sumi1);
    }
    return sumf;
}

static float dot1_q5_1(int64_t n, const void *vx, const void *vy)
{
    const struct block_q5_1 *x = vx;
    const struct block_q8_1 *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 15) | ((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            sumi0 += q0 * y[i].qs[j];
            sumi1 += q1 * y[i].qs[j + 16];
        }
        sumf += (h2f(x[i].d) * h2f(y[i].d)) * (sumi0 + sumi1) + h2f(x[i].m) * h2f(y[i].s);
    }
    return sumf;
}

static float dot1_q8_0(int64_t n, const void *vx, const void *vy)
{
    const struct block_q8_0 *x = vx;
    const struct block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++)
            sumi += x[i].qs[j] * y[i].qs[j];
        if (GGPERF_SLOW_KERNEL && i % 4 == 0) { /* gate self-test knob (see top): redundant work only */
            int redo = 0;
            for (int j = 0; j < QK8_0; j++)
                redo += x[i].qs[j] * y[i].qs[j];
            volatile int sink = redo; /* the store keeps the redundant loop alive */
            (void)sink;
        }
        sumf += sumi * (h2f(x[i].d) * h2f(y[i].d));
    }
    return sumf;
}

static float dot1_iq4_nl(int64_t n, const void *vx, const void *vy)
{
    const struct block_iq4_nl *x = vx;
    const struct block_q8_0 *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float d = h2f(y[i].d) * h2f(x[i].d);
        int sumi1 = 0, sumi2 = 0;
        for (int j = 0; j < 16; j++) {
            sumi1 += y[i].qs[j] * quant_kvalues_iq4nl[x[i].qs[j] & 15];
            sumi2 += y[i].qs[j + 16] * quant_kvalues_iq4nl[x[i].qs[j] >> 4];
        }
        sumf += d * (sumi1 + sumi2);
    }
    return sumf;
}

/* Q2_K: sum(w*a) = d_y * (d * sum_s scale_s * sum(q*qa) - dmin * sum_s
 * min_s * bsum_s); the min term uses Q8_K's bsums (one per sub-block). */
static float dot1_q2_K(int64_t n, const void *vx, const void *vy)
{
    const struct block_q2_K *x = vx;
    const struct block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *q2 = x[i].qs, *sc = x[i].scales;
        const int8_t *q8 = y[i].qs;
        int summs = 0;
        for (int j = 0; j < 16; j++)
            summs += y[i].bsums[j] * (sc[j] >> 4);
        const float dall = y[i].d * h2f(x[i].d);
        const float dmin = y[i].d * h2f(x[i].dmin);
        int isum = 0, is = 0;
        for (int half = 0; half < 2; half++, q2 += 32) {
            for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
                for (int part = 0; part < 2; part++) {
                    int isuml = 0;
                    for (int l = 16 * part; l < 16 * part + 16; l++)
                        isuml += q8[l] * ((q2[l] >> shift) & 3);
                    isum += (sc[is++] & 15) * isuml;
                }
            }
        }
        sumf += dall * isum - dmin * summs;
    }
    return sumf;
}

/* ggml's generic Q3_K..Q6_K dots accumulate the scaled integer products of
 * a block in eight int32 lanes (lane l gets weights i with i % 8 == l), add
 * d * lane into eight float partial sums per lane, and sum the eight floats
 * only at the end of the row. The integer part is exact in any order; the
 * float part is not, so the eight lanes are kept. */
enum { LANES = 8 };

static float lanes_total(const float sums[LANES], float sumf)
{
    for (int l = 0; l < LANES; l++)
        sumf += sums[l];
    return sumf;
}

/* aux32[i % 8] += scale16[i / 16] * (a[i] * q8[i]) over the 256 weights i
 * of a block (the product fits int16, as in ggml). a: the weights' integer
 * values in weight order; scale16: one scale per 16 weights. */
static void lanes_accumulate(const int8_t *a, const int8_t *q8, const int *scale16,
                             int32_t aux32[LANES])
{
    for (int g = 0; g < QK_K / 16; g++) {
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < LANES; l++) {
                int16_t p = (int16_t)(q8[l] * a[l]);
                aux32[l] += scale16[g] * p;
            }
            q8 += LANES;
            a += LANES;
        }
    }
}

static float dot1_q3_K(int64_t n, const void *vx, const void *vy)
{
    const struct block_q3_K *x = vx;
    const struct block_q8_K *y = vy;
    float sums[LANES] = { 0 };
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t a[QK_K];
        const uint8_t *q3 = x[i].qs, *hm = x[i].hmask;
        int8_t *p = a;
        uint8_t m = 1;
        for (int half = 0; half < 2; half++, q3 += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1, p += 32)
                for (int l = 0; l < 32; l++)
                    p[l] = (int8_t)(((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
        }
        int sc[16];
        q3k_scales(x[i].scales, sc);
        int32_t aux32[LANES] = { 0 };
        lanes_accumulate(a, y[i].qs, sc, aux32);
        const float d = h2f(x[i].d) * y[i].d;
        for (int l = 0; l < LANES; l++)
            sums[l] += d * aux32[l];
    }
    return lanes_total(sums, 0.0f);
}

/* Q4_K / Q5_K weights as integers 0..15 / 0..31, in weight order (the
 * nibble layout of quant_ref_to_float_q4_K; qh == NULL for Q4_K). */
static void k4_unpack(const uint8_t *qs, const uint8_t *qh, int8_t a[QK_K])
{
    uint8_t m = 1;
    for (int c = 0; c < 4; c++, qs += 32, a += 64, m <<= 2) {
        for (int l = 0; l < 32; l++) {
            a[l] = (int8_t)(qs[l] & 15);
            a[l + 32] = (int8_t)(qs[l] >> 4);
            if (qh) {
                a[l] += (qh[l] & m) ? 16 : 0;
                a[l + 32] += (qh[l] & (m << 1)) ? 16 : 0;
            }
        }
    }
}

static float dot1_q4_K_or_q5_K(int64_t n, const void *vx, const void *vy, bool five)
{
    const struct block_q8_K *y = vy;
    float sums[LANES] = { 0 };
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *scales, *qs, *qh = NULL;
        qt_half hd, hdmin;
        if (five) {
            const struct block_q5_K *b = (const struct block_q5_K *)vx + i;
            scales = b->scales;
            qs = b->qs;
            qh = b->qh;
            hd = b->d;
            hdmin = b->dmin;
        } else {
            const struct block_q4_K *b = (const struct block_q4_K *)vx + i;
            scales = b->scales;
            qs = b->qs;
            hd = b->d;
            hdmin = b->dmin;
        }
        int8_t a[QK_K];
        k4_unpack(qs, qh, a);
        int sc16[16], mins[8];
        for (int s = 0; s < 8; s++) {
            int sc, m;
            k4_scale_min(s, scales, &sc, &m);
            sc16[2 * s] = sc16[2 * s + 1] = sc;
            mins[s] = m;
        }
        int sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += y[i].bsums[j] * mins[j / 2];
        int32_t aux32[LANES] = { 0 };
        lanes_accumulate(a, y[i].qs, sc16, aux32);
        const float d = h2f(hd) * y[i].d;
        for (int l = 0; l < LANES; l++)
            sums[l] += d * aux32[l];
        const float dmin = h2f(hdmin) * y[i].d;
        sumf -= dmin * sumi;
    }
    return lanes_total(sums, sumf);
}

static float dot1_q4_K(int64_t n, const void *vx, const void *vy)
{
    return dot1_q4_K_or_q5_K(n, vx, vy, false);
}

static float dot1_q5_K(int64_t n, const void *vx, const void *vy)
{
    return dot1_q4_K_or_q5_K(n, vx, vy, true);
}

static float dot1_q6_K(int64_t n, const void *vx, const void *vy)
{
    const struct block_q6_K *x = vx;
    const struct block_q8_K *y = vy;
    float sums[LANES] = { 0 };
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t a[QK_K];
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        int8_t *p = a;
        for (int half = 0; half < 2; half++, p += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                p[l] = (int8_t)(((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32);
                p[l + 32] = (int8_t)(((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32);
                p[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                p[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
        int sc[16];
        for (int j = 0; j < 16; j++)
            sc[j] = x[i].scales[j];
        int32_t aux32[LANES] = { 0 };
        lanes_accumulate(a, y[i].qs, sc, aux32);
        const float d = h2f(x[i].d) * y[i].d;
        for (int l = 0; l < LANES; l++)
            sums[l] += d * aux32[l];
    }
    return lanes_total(sums, 0.0f);
}

static float dot1_iq4_xs(int64_t n, const void *vx, const void *vy)
{
    const struct block_iq4_xs *x = vx;
    const struct block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d4d8 = h2f(x[i].d) * y[i].d;
        const uint8_t *qs = x[i].qs;
        const int8_t *q8 = y[i].qs;
        for (int ib = 0; ib < 8; ib++, qs += 16, q8 += 32) {
            const float dl = d4d8 * (iq4xs_scale(&x[i], ib) - 32);
            int sumi1 = 0, sumi2 = 0;
            for (int j = 0; j < 16; j++) {
                sumi1 += q8[j] * quant_kvalues_iq4nl[qs[j] & 15];
                sumi2 += q8[j + 16] * quant_kvalues_iq4nl[qs[j] >> 4];
            }
            sumf += dl * (sumi1 + sumi2);
        }
    }
    return sumf;
}

void quant_ref_dot_f32(int64_t n, const void *restrict x, const void *restrict y,
                       size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_f32, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_f16(int64_t n, const void *restrict x, const void *restrict y,
                       size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_f16, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_bf16(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_bf16, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q4_0(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q4_0, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q4_1(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q4_1, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q5_0(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q5_0, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q5_1(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q5_1, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q8_0(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q8_0, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q2_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q2_K, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q3_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q3_K, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q4_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q4_K, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q5_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q5_K, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_q6_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_q6_K, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_iq4_nl(int64_t n, const void *restrict x, const void *restrict y,
                          size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_iq4_nl, n, x, y, y_stride, ny, s);
}

void quant_ref_dot_iq4_xs(int64_t n, const void *restrict x, const void *restrict y,
                          size_t y_stride, int ny, float *restrict s)
{
    dot_rows(dot1_iq4_xs, n, x, y, y_stride, ny, s);
}

/* Copy the reference kernels of every type that has them from the traits
 * table into k, and mark those dots as running the reference path. */
void quant_ref_fill(struct quant_kernels *k)
{
    k->attn_variant = "ref"; /* attention slots stay NULL: the engine's scalar loops */
    for (int t = 0; t < QT_COUNT; t++) {
        const struct quant_traits *tr = quant_traits_get(t);
        if (!tr)
            continue;
        if (tr->dot) {
            k->dot[t] = tr->dot;
            k->dot_isa[t] = QISA_REF;
            k->dot_variant[t] = "ref";
        }
        if (tr->to_float)
            k->to_float[t] = tr->to_float;
        if (tr->from_float)
            k->from_float[t] = tr->from_float;
    }
}
