/* quant_impl — private to the quant module: the per-ISA kernel tables that
 * quant.c stitches together in quant_kernels_init(), and the scalar
 * reference kernels (quant_ref.c) that the traits table points at and that
 * the SIMD files may call for tails or fall back to.
 *
 * Every reference kernel follows the contracts of quant.h: quant_to_float_fn,
 * quant_from_float_fn, quant_dot_fn. n is a multiple of the type's block size;
 * nothing allocates; the arithmetic, including the order of the float
 * operations, is that of ggml's reference/generic C code (llama.cpp c392e50),
 * so results match llama.cpp's scalar path bit for bit. */
#ifndef GGPERF_ENGINE_QUANT_IMPL_H
#define GGPERF_ENGINE_QUANT_IMPL_H

#include <stddef.h>

#include "engine/quant.h"

/* Block sizes and field offsets, from the structs in quant.h: the SIMD
 * kernels read blocks as bytes (without alignment), never through the
 * structs, and share these so the layouts live in one place. */
enum {
    Q4_0_BYTES = sizeof(struct block_q4_0), Q8_0_BYTES = sizeof(struct block_q8_0),
    Q8_K_BYTES = sizeof(struct block_q8_K), Q4_K_BYTES = sizeof(struct block_q4_K),
    Q5_K_BYTES = sizeof(struct block_q5_K), Q6_K_BYTES = sizeof(struct block_q6_K),
    Q8K_QS = offsetof(struct block_q8_K, qs), Q8K_BSUMS = offsetof(struct block_q8_K, bsums),
};

/* exp(x) for the softmax numerators (x <= 0), shared by the AVX2 and
 * AVX-512 attention kernels: Cephes' expf. x = n ln2 + r with ln2 split
 * in two (LN2_HI exact in few bits, so n * LN2_HI is exact), then
 * e^r = 1 + r + r^2 * P(r) with P of degree 5 on |r| <= ln2 / 2; below
 * QEXP_NEG_MIN the result is 0 (expf is subnormal there). */
#define QEXP_LOG2E 1.44269504088896341f
#define QEXP_LN2_HI 0.693359375f
#define QEXP_LN2_LO -2.12194440e-4f
#define QEXP_P0 1.9875691500e-4f
#define QEXP_P1 1.3981999507e-3f
#define QEXP_P2 8.3334519073e-3f
#define QEXP_P3 4.1665795894e-2f
#define QEXP_P4 1.6666665459e-1f
#define QEXP_P5 5.0000001201e-1f
#define QEXP_NEG_MIN -87.3f

/* Each file fills the slots it implements and leaves the rest alone. */
struct cpu_features;
void quant_ref_fill(struct quant_kernels *k);    /* quant_ref.c: every supported type */
void quant_avx2_fill(struct quant_kernels *k);   /* quant_avx2.c */
/* quant_avx512.c; f says which of its variants the CPU may run (VNNI, VBMI + GFNI) */
void quant_avx512_fill(struct quant_kernels *k, const struct cpu_features *f);

/* --- dequantize a row (quant_to_float_fn) ------------------------------ */
void quant_ref_to_float_f32(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_f16(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_bf16(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q4_0(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q4_1(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q5_0(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q5_1(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q8_0(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q8_1(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q2_K(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q3_K(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q4_K(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q5_K(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q6_K(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_q8_K(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_iq4_nl(const void *restrict x, float *restrict y, int64_t n);
void quant_ref_to_float_iq4_xs(const void *restrict x, float *restrict y, int64_t n);

/* --- quantize a row (quant_from_float_fn) -------------------------------
 * Activation formats (Q8_0, Q8_1, Q8_K) and float types, plus the simple
 * weight quantizers ggml uses without an importance matrix (Q4_0, Q4_1,
 * Q5_0, Q5_1, IQ4_NL), which reproduce llama-quantize's output exactly. */
void quant_ref_from_float_f32(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_f16(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_bf16(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_q4_0(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_q4_1(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_q5_0(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_q5_1(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_q8_0(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_q8_1(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_q8_K(const float *restrict x, void *restrict y, int64_t n);
void quant_ref_from_float_iq4_nl(const float *restrict x, void *restrict y, int64_t n);

/* --- dot products (quant_dot_fn): weight row x ny rows of vec_dot_type -- */
void quant_ref_dot_f32(int64_t n, const void *restrict x, const void *restrict y,
                       size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_f16(int64_t n, const void *restrict x, const void *restrict y,
                       size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_bf16(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q4_0(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q4_1(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q5_0(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q5_1(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q8_0(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q2_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q3_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q4_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q5_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_q6_K(int64_t n, const void *restrict x, const void *restrict y,
                        size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_iq4_nl(int64_t n, const void *restrict x, const void *restrict y,
                          size_t y_stride, int ny, float *restrict s);
void quant_ref_dot_iq4_xs(int64_t n, const void *restrict x, const void *restrict y,
                          size_t y_stride, int ny, float *restrict s);


/* Bytes ahead of the weights being read that the fast kernels prefetch,
 * into L2 (prefetcht1). Decode reads every weight once from DRAM; the
 * hardware prefetcher alone left the loads waiting about half the time.
 * 1.1B decode on this 2-core VM: Q4_0 1 thread 8.3 -> 15.3 tok/s; Q8_0
 * prefetching into L2 rather than L1 adds 12% (1 thread) and 17% (2
 * threads); 2048..8192 bytes ahead are all within noise of each other. */
#ifndef QUANT_PREFETCH_BYTES
#define QUANT_PREFETCH_BYTES 4096
#endif
/* A second, nearer prefetch into L1 so the loads find the lines there, not
 * in L2: another 3-6% on 1-thread decode (1.1B Q4_K_M 16.6 -> 17.3 tok/s,
 * Q8_0 11.4 -> 12.0; 512 and 1024 bytes about the same). */
#ifndef QUANT_PREFETCH_L1_BYTES
#define QUANT_PREFETCH_L1_BYTES 1024
#endif

/* Prefetch the lines of [p + QUANT_PREFETCH_BYTES, + bytes) into L2 and
 * those of [p + QUANT_PREFETCH_L1_BYTES, + bytes) into L1. A
 * prefetch never faults, so running past the end of a tensor is harmless. */
static inline void quant_prefetch_ahead(const void *p, int bytes)
{
    for (int o = 0; o < bytes; o += 64) {
        __builtin_prefetch((const char *)p + QUANT_PREFETCH_BYTES + o, 0, 2);
        __builtin_prefetch((const char *)p + QUANT_PREFETCH_L1_BYTES + o, 0, 3);
    }
}

/* --- valid random blocks (quant_random_fn; quant_random.c) ------------ */
void quant_random_f32(void *restrict dst, struct quant_rng *r, float std);
void quant_random_f16(void *restrict dst, struct quant_rng *r, float std);
void quant_random_bf16(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q4_0(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q4_1(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q5_0(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q5_1(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q8_0(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q2_K(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q3_K(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q4_K(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q5_K(void *restrict dst, struct quant_rng *r, float std);
void quant_random_q6_K(void *restrict dst, struct quant_rng *r, float std);
void quant_random_iq4_nl(void *restrict dst, struct quant_rng *r, float std);
void quant_random_iq4_xs(void *restrict dst, struct quant_rng *r, float std);

#endif
