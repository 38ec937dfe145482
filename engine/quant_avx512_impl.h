/* quant_avx512_impl — what the AVX-512 kernel files share: the target
 * attributes, the tile sizes and the small unaligned loaders. Internal to
 * engine/quant_avx512*.c; nothing else includes it.
 *
 * The kernels are split by quant family: quant_avx512_q0.c holds Q4_0 and
 * Q8_0 (dot, decode and prefill tiles), quant_avx512.c the K-quants, F16,
 * the activation quantizers and attention, and fills the table.
 */
#ifndef GGPERF_ENGINE_QUANT_AVX512_IMPL_H
#define GGPERF_ENGINE_QUANT_AVX512_IMPL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "engine/cpu.h"
#include "engine/quant_impl.h"

#define V512_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define V512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define VNNI_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))
#define VNNI_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))
#define GFNI_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,gfni,fma,f16c")))

/* Activation rows per prefill tile. Q4_0/Q8_0 keep one ymm accumulator per
 * row; the K-quants keep two zmm (int and float) per row next to 8 zmm of
 * unpacked weights and scales (8 rows measured ~15% faster than 4); F16
 * converts each activation vector anyway, so its tile only amortizes the
 * weight conversion. */
#define Q0_TILE 8
#define K_TILE 8
#define F16_TILE 4
/* the remainder switches below handle up to 7 leftover rows */
_Static_assert(Q0_TILE <= 8 && K_TILE >= 4 && K_TILE <= 8 && F16_TILE == 4, "tile sizes");

V512_INLINE float ld_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

V512_INLINE float ld_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, 4);
    return f;
}

V512_INLINE __m256i ld256(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

V512_INLINE __m512i ld512(const uint8_t *p)
{
    return _mm512_loadu_si512((const void *)p);
}

V512_INLINE float hsum256(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

/* ---- 16 weight rows, one 32-bit lane each (the gemm tiles) ---------------- */

/* 16 bytes of each of 4 rows xs apart, row i in 128-bit lane i. */
VNNI_INLINE __m512i q0g_lanes(const uint8_t *r, size_t xs)
{
    __m512i q = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)r));
    q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(const void *)(r + xs)), 1);
    q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(const void *)(r + 2 * xs)), 2);
    return _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(const void *)(r + 3 * xs)), 3);
}

static const int32_t q0p_idx[2][16] __attribute__((aligned(64))) = {
    { 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29 },
    { 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31 },
};

/* A 16 x 4 dword transpose: o[k] = dword k of each of the 16 rows whose
 * dwords 0..3 are at r + i * xs (lane i = row i), k = 0..3; 4 vpermt2d and
 * 4 vshufi64x2. */
VNNI_INLINE void q0p_transpose(const uint8_t *r, size_t xs, __m512i o[4])
{
    const __m512i i01 = _mm512_load_si512(q0p_idx[0]), i23 = _mm512_load_si512(q0p_idx[1]);
    const __m512i in0 = q0g_lanes(r, xs), in1 = q0g_lanes(r + 4 * xs, xs);
    const __m512i in2 = q0g_lanes(r + 8 * xs, xs), in3 = q0g_lanes(r + 12 * xs, xs);
    const __m512i a01 = _mm512_permutex2var_epi32(in0, i01, in1), a23 = _mm512_permutex2var_epi32(in0, i23, in1);
    const __m512i b01 = _mm512_permutex2var_epi32(in2, i01, in3), b23 = _mm512_permutex2var_epi32(in2, i23, in3);
    o[0] = _mm512_shuffle_i64x2(a01, b01, 0x44);
    o[1] = _mm512_shuffle_i64x2(a01, b01, 0xEE);
    o[2] = _mm512_shuffle_i64x2(a23, b23, 0x44);
    o[3] = _mm512_shuffle_i64x2(a23, b23, 0xEE);
}

/* The tiles' results: s[j * ld + 0..15] (+)= acc[j] for j < na (a
 * compile-time constant after inlining). */
V512_INLINE void lane_tile_store(const __m512 *acc, float *s, size_t ld, bool add, const int na)
{
#pragma GCC unroll 8
    for (int j = 0; j < na; j++) {
        float *o = s + (size_t)j * ld;
        __m512 r = acc[j];
        if (add)
            r = _mm512_add_ps(r, _mm512_loadu_ps(o));
        _mm512_storeu_ps(o, r);
    }
}

/* ---- AMX tiles (Sapphire Rapids and later) ------------------------------
 * The tile instructions as inline assembly (the assembler knows them; no
 * target attribute needed). The memory a tile load reads (m) and a store
 * writes are operands, so the compiler orders the packing stores and the
 * loads that read stored sums around them. A kernel loads its
 * configuration once per call and releases it at the end, so a thread
 * holds no tile state between calls (nor in its context switches). */
struct amx_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct amx_cfg) == 64, "ldtilecfg reads 64 bytes");

static inline void amx_config(const struct amx_cfg *c)
{
    __asm__ volatile("ldtilecfg %0" ::"m"(*c) : "memory");
}

static inline void amx_release(void)
{
    __asm__ volatile("tilerelease" ::: "memory");
}

#define AMX_LOAD(t, base, stride, m) \
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(base), "r"((long)(stride)), "m"(m))
/* rows of 64 bytes at arr, a pointer to an array of the tile's size */
#define AMX_STORE(t, arr) __asm__ volatile("tilestored %%tmm" #t ", (%1,%2,1)" : "=m"(*(arr)) : "r"(arr), "r"(64L))
#define AMX_ZERO(t) __asm__ volatile("tilezero %%tmm" #t ::)
/* sums tile c += signed bytes of a x unsigned bytes of b (tdpbsud) */
#define AMX_DPBSUD(c, a, b) __asm__ volatile("tdpbsud %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)
/* sums tile c += signed bytes of a x signed bytes of b (tdpbssd) */
#define AMX_DPBSSD(c, a, b) __asm__ volatile("tdpbssd %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)

/* 16 x 16 transpose of 32-bit elements: r[i] lane j -> r[j] lane i. */
V512_INLINE void transpose16_ps(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* r[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j */
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    __m512 o[16];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
        const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        const __m512 d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
        o[j] = _mm512_shuffle_f32x4(a, c, 0x88);
        o[8 + j] = _mm512_shuffle_f32x4(a, c, 0xDD);
        o[4 + j] = _mm512_shuffle_f32x4(b, d, 0x88);
        o[12 + j] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = o[i];
}

/* quant_avx512.c's F16 gemm (the AMX one's fallback for short prompts and
 * leftover rows). */
void quant_avx512_gemm_f16(int64_t n, const void *restrict vx, size_t xs, int nr, const void *restrict vy, size_t ys,
                           int ny, float *restrict s, size_t ld);

/* quant_avx512_f16x.c: F16 prefill through AMX-BF16 tiles (the gemm slot
 * of F16 where the CPU has them; call after F16's AVX-512 slots are set). */
void quant_avx512_f16x_fill(struct quant_kernels *k, const struct cpu_features *f);

/* quant_avx512_q0.c: the Q4_0 and Q8_0 slots (dot, gemm and their variant
 * names) for a CPU with AVX-512 VNNI, and VBMI + GFNI for Q4_0's decode
 * loop; nothing without VNNI (the AVX2 kernels stay). */
void quant_avx512_q0_fill(struct quant_kernels *k, const struct cpu_features *f);

#endif
