/* quant — GGUF tensor types: block layouts, the per-type property table,
 * and the kernels (dequantize row, quantize activations, dot product).
 *
 * One table indexed by type holds everything the engine needs to know about
 * a type. Every kernel has a scalar reference version (quant_ref.c), the
 * ground truth; fast versions (quant_avx2.c, quant_avx512.c) are compiled
 * with per-function target attributes and chosen at run time through
 * quant_kernels_init(), never by the preprocessor.
 *
 * Dot products are "weight row x activation rows": the activations are first
 * quantized to the type's vec_dot_type (Q8_0, Q8_1 or Q8_K blocks for the
 * integer types, F16/BF16/F32 for the float types), the way fast CPU engines
 * do it, so results line up with llama.cpp.
 */
#ifndef GGPERF_ENGINE_QUANT_H
#define GGPERF_ENGINE_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type ids as stored in GGUF files (ggml's numbering). Gaps are ids that
 * were retired upstream; the reader treats them as unknown. */
enum qtype {
    QT_F32 = 0,
    QT_F16 = 1,
    QT_Q4_0 = 2,
    QT_Q4_1 = 3,
    QT_Q5_0 = 6,
    QT_Q5_1 = 7,
    QT_Q8_0 = 8,
    QT_Q8_1 = 9,
    QT_Q2_K = 10,
    QT_Q3_K = 11,
    QT_Q4_K = 12,
    QT_Q5_K = 13,
    QT_Q6_K = 14,
    QT_Q8_K = 15,
    QT_IQ2_XXS = 16,
    QT_IQ2_XS = 17,
    QT_IQ3_XXS = 18,
    QT_IQ1_S = 19,
    QT_IQ4_NL = 20,
    QT_IQ3_S = 21,
    QT_IQ2_S = 22,
    QT_IQ4_XS = 23,
    QT_I8 = 24,
    QT_I16 = 25,
    QT_I32 = 26,
    QT_I64 = 27,
    QT_F64 = 28,
    QT_IQ1_M = 29,
    QT_BF16 = 30,
    QT_TQ1_0 = 34,
    QT_TQ2_0 = 35,
    QT_MXFP4 = 39,
    QT_COUNT = 40
};

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

typedef uint16_t qt_half; /* IEEE fp16 bits */

/* Q4_0: 32 weights, w = d * (q - 8), q in 0..15.
 * | d f16 (2) | qs[16]: low nibbles = weights 0..15, high = 16..31 | */
struct block_q4_0 { qt_half d; uint8_t qs[16]; };
/* Q4_1: w = d * q + m.  | d (2) | m (2) | qs[16] | */
struct block_q4_1 { qt_half d; qt_half m; uint8_t qs[16]; };
/* Q5_0: 5-bit q = nibble | (bit j of qh) << 4, w = d * (q - 16).
 * | d (2) | qh[4] (32 high bits) | qs[16] | */
struct block_q5_0 { qt_half d; uint8_t qh[4]; uint8_t qs[16]; };
/* Q5_1: w = d * q + m.  | d (2) | m (2) | qh[4] | qs[16] | */
struct block_q5_1 { qt_half d; qt_half m; uint8_t qh[4]; uint8_t qs[16]; };
/* Q8_0: w = d * q.  | d (2) | qs[32] int8 | */
struct block_q8_0 { qt_half d; int8_t qs[32]; };
/* Q8_1 (activations of Q4_1/Q5_1): s = d * sum(qs).  | d (2) | s (2) | qs[32] | */
struct block_q8_1 { qt_half d; qt_half s; int8_t qs[32]; };

/* Q2_K: 256 weights in 16 sub-blocks of 16; scales[i] = scale4 | min4 << 4.
 * | scales[16] | qs[64] (2 bits each) | d (2) | dmin (2) | */
struct block_q2_K { uint8_t scales[16]; uint8_t qs[64]; qt_half d; qt_half dmin; };
/* Q3_K: 16 sub-blocks of 16, 6-bit scales packed in 12 bytes.
 * | hmask[32] | qs[64] | scales[12] | d (2) | */
struct block_q3_K { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; qt_half d; };
/* Q4_K: 8 sub-blocks of 32, 6-bit scales and mins packed in 12 bytes.
 * | d (2) | dmin (2) | scales[12] | qs[128] | */
struct block_q4_K { qt_half d; qt_half dmin; uint8_t scales[12]; uint8_t qs[128]; };
/* Q5_K: as Q4_K plus one high bit per weight.
 * | d (2) | dmin (2) | scales[12] | qh[32] | qs[128] | */
struct block_q5_K { qt_half d; qt_half dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
/* Q6_K: 16 sub-blocks of 16, int8 scales, w = d * scale * (q - 32).
 * | ql[128] | qh[64] | scales[16] int8 | d (2) | */
struct block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; qt_half d; };
/* Q8_K (activations of the K-quants and IQ4_XS): float scale, bsums[j] =
 * sum of qs[16j .. 16j+15].  | d f32 (4) | qs[256] | bsums[16] int16 | */
struct block_q8_K { float d; int8_t qs[256]; int16_t bsums[16]; };
/* IQ4_NL: 32 weights, w = d * kvalues_iq4nl[nibble].  | d (2) | qs[16] | */
struct block_iq4_nl { qt_half d; uint8_t qs[16]; };
/* IQ4_XS: 8 sub-blocks of 32, 6-bit scales (low 4 bits in scales_l, high 2
 * in scales_h), w = d * (scale - 32) * kvalues_iq4nl[nibble].
 * | d (2) | scales_h (2) | scales_l[4] | qs[128] | */
struct block_iq4_xs { qt_half d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; };

_Static_assert(sizeof(struct block_q4_0) == 18, "q4_0 size");
_Static_assert(sizeof(struct block_q4_1) == 20, "q4_1 size");
_Static_assert(sizeof(struct block_q5_0) == 22, "q5_0 size");
_Static_assert(sizeof(struct block_q5_1) == 24, "q5_1 size");
_Static_assert(sizeof(struct block_q8_0) == 34, "q8_0 size");
_Static_assert(sizeof(struct block_q8_1) == 36, "q8_1 size");
_Static_assert(sizeof(struct block_q2_K) == 84, "q2_K size");
_Static_assert(sizeof(struct block_q3_K) == 110, "q3_K size");
_Static_assert(sizeof(struct block_q4_K) == 144, "q4_K size");
_Static_assert(sizeof(struct block_q5_K) == 176, "q5_K size");
_Static_assert(sizeof(struct block_q6_K) == 210, "q6_K size");
_Static_assert(sizeof(struct block_q8_K) == 292, "q8_K size");
_Static_assert(sizeof(struct block_iq4_nl) == 18, "iq4_nl size");
_Static_assert(sizeof(struct block_iq4_xs) == 136, "iq4_xs size");

/* Dequantize n values (n a multiple of the block size) from x into y. */
typedef void (*quant_to_float_fn)(const void *restrict x, float *restrict y, int64_t n);
/* Quantize n floats (n a multiple of the block size) into blocks at y. */
typedef void (*quant_from_float_fn)(const float *restrict x, void *restrict y, int64_t n);
/* s[j] = dot(x, row j of y) for j < ny.
 * x: one weight row of n values in this type; y: ny activation rows in this
 * type's vec_dot_type, row j starting at (const char *)y + j * y_stride.
 * Fast versions tile over ny so one pass over the weights serves several
 * activation rows (prefill). n is a multiple of the block size. */
typedef void (*quant_dot_fn)(int64_t n, const void *restrict x, const void *restrict y,
                             size_t y_stride, int ny, float *restrict s);
/* s[j * ld + r] = dot(row r of x, row j of y) for r < nr, j < ny: nr
 * weight rows, row r at (const char *)x + r * x_stride, against ny
 * activation rows in vec_dot_type, row j at (const char *)y + j * y_stride.
 * Walking several weight rows at once shares the activation unpacking and
 * the per-block activation work between them (decode, ny == 1) and, for
 * prefill, the weight unpacking between activation rows while a whole
 * tile of outputs stays in registers. Optional: a NULL slot means calling
 * the dot kernel once per weight row. Each result equals the type's dot
 * kernel's up to float summation order. */
typedef void (*quant_gemm_fn)(int64_t n, const void *restrict x, size_t x_stride, int nr,
                              const void *restrict y, size_t y_stride, int ny, float *restrict s, size_t ld);

/* Attention over an fp16 KV cache, for one query head of hd values against
 * n cached positions whose rows lie row_stride bytes apart (hd >= 1, n >= 0):
 *   kq: s[j] = sum_i q[i] * k_j[i]        for j < n
 *   pv: out[i] += sum_j p[j] * v_j[i]     for i < hd
 * q and p hold fp16 values widened to f32 (the engine rounds the query and
 * the probabilities as llama.cpp's KQ and KQV products do); the products
 * and sums are f32, in any order. Optional: NULL slots (the reference
 * kernels) mean the engine's own scalar loops. */
typedef void (*quant_attn_kq_fn)(const float *restrict q, const uint16_t *restrict k, size_t row_stride, int n,
                                 int hd, float *restrict s);
typedef void (*quant_attn_pv_fn)(const float *restrict p, const uint16_t *restrict v, size_t row_stride, int n,
                                 int hd, float *restrict out);
/* y[i] = x[i] * scale rounded to fp16 (nearest, ties to even: exactly
 * quant_f32_to_f16 for every non-NaN value) and widened back to f32; y may
 * be x. Used for the query and the probabilities of the fp16 attention. */
typedef void (*quant_f16_round_fn)(const float *x, float scale, float *y, int n);
/* The softmax numerators of attention scores: with m = max_j s[j] * scale,
 * s[j] = exp(s[j] * scale - m) for j < n (n >= 1; within 2 ulp of expf,
 * 0 below -87.3 where expf is subnormal); returns their sum. */
typedef double (*quant_attn_exp_fn)(float *s, int n, float scale);
/* The FFN's gate: g[i] = silu(g[i]) * u[i] for i < n, silu(x) = x / (1 +
 * exp(-x)) with exp within 2 ulp of expf (0 below -87.3), the division
 * exact to rounding. */
typedef void (*quant_swiglu_fn)(float *restrict g, const float *restrict u, int64_t n);
/* RMS norm of one row: y[i] = (x[i] * s) * w[i], s = 1 / sqrtf(mean + eps)
 * with mean the float of the double sum of x[i]^2 over n (any order) / n. */
typedef void (*quant_rmsnorm_fn)(const float *x, const float *w, float *y, int n, float eps);

/* A deterministic random stream for making data (xoshiro256** seeded
 * through splitmix64; quant_random.c). The bytes depend only on the seed. */
struct quant_rng {
    uint64_t s[4];
};

/* Seed r from seed and a stream id (e.g. a hash of a tensor name, or 0):
 * equal (seed, stream) pairs give equal streams. */
void quant_rng_seed(struct quant_rng *r, uint64_t seed, uint64_t stream);
/* The next 64 random bits. */
uint64_t quant_rng_next(struct quant_rng *r);
/* n random bytes at dst. */
void quant_rng_bytes(struct quant_rng *r, void *dst, size_t n);

/* Write one valid random block at dst (no alignment needed): finite,
 * moderate scales, uniform random codes, dequantized values of mean ~0 and
 * standard deviation ~std. */
typedef void (*quant_random_fn)(void *restrict dst, struct quant_rng *r, float std);

/* Static properties of a type: known to the reader for every GGUF type. */
struct quant_traits {
    const char *name;      /* "Q4_K"; NULL for an unknown id */
    int64_t blck;          /* values per block */
    size_t type_size;      /* bytes per block */
    bool is_quantized;
    /* Reference kernels; NULL where the engine does not support the type. */
    enum qtype vec_dot_type;
    quant_to_float_fn to_float;
    quant_from_float_fn from_float; /* set for activation formats (Q8_0, Q8_1, Q8_K), float
                                     * types, and the simple weight quantizers that
                                     * llama-quantize uses without an imatrix (Q4_0,
                                     * Q4_1, Q5_0, Q5_1, IQ4_NL) */
    quant_dot_fn dot;
    quant_random_fn random_block; /* NULL where there is no recipe */
};

/* The traits of type t, or NULL when t is not a known GGUF type id. The
 * returned pointer is to static storage. */
const struct quant_traits *quant_traits_get(int t);

/* Fill nb consecutive blocks of type t at dst with the type's random_block
 * recipe. Returns 0, or -1 when t has no recipe (dst untouched). */
int quant_random_blocks(int t, struct quant_rng *r, void *dst, size_t nb, float std);

/* Name of a type id ("Q4_K"), or "unknown". */
const char *quant_type_name(int t);

/* Parse a type name (case-insensitive) into its id; -1 when unknown. */
int quant_type_from_name(const char *name);

/* Bytes taken by n values of type t (n a multiple of the block size). */
size_t quant_row_size(int t, int64_t n);

/* True when the engine can compute with weights of type t. */
bool quant_supported(int t);

/* Instruction-set levels for the kernel table. */
enum quant_isa { QISA_REF = 0, QISA_AVX2 = 1, QISA_AVX512 = 2 };

/* The kernels one engine context uses: filled once, then read-only, so
 * threads share it without synchronisation. */
struct quant_kernels {
    enum quant_isa isa;                /* the best ISA asked for and available */
    quant_dot_fn dot[QT_COUNT];
    quant_gemm_fn gemm[QT_COUNT];      /* NULL where the type has none */
    /* Decode (ny == 1) when the weights sit in 4 KiB pages (a file
     * mapping): walking several rows at once overlaps the page walks that
     * stall one row's stream, but runs slower from 2 MiB pages, where
     * gemm's row kernel is faster. NULL: gemm serves both. Any ny is
     * accepted (ny != 1 goes to the type's plain kernels). */
    quant_gemm_fn gemm_4k[QT_COUNT];
    quant_from_float_fn from_float[QT_COUNT];
    quant_to_float_fn to_float[QT_COUNT];
    enum quant_isa dot_isa[QT_COUNT];  /* which ISA level each dot runs */
    /* The exact variant of each dot and gemm slot (static strings; NULL
     * where the slot is empty): "ref", "avx2", "avx512" (no VNNI),
     * "avx512-vnni", "avx512-vbmi-gfni" (the Q4_0 byte-permute paths). Two
     * variants of one ISA level differ here, not in dot_isa. */
    const char *dot_variant[QT_COUNT];
    const char *gemm_variant[QT_COUNT];
    quant_attn_kq_fn attn_kq_f16;      /* NULL: the engine's scalar loop */
    quant_attn_pv_fn attn_pv_f16;
    quant_f16_round_fn f16_round;      /* NULL with the reference kernels, like the two above */
    quant_attn_exp_fn attn_exp;        /* NULL: expf in the engine's loop */
    quant_swiglu_fn swiglu;            /* NULL: the engine's loop over expf */
    quant_rmsnorm_fn rmsnorm;          /* NULL: the engine's scalar loop */
    const char *attn_variant;          /* "ref" (the scalar loops), "avx2", "avx512" */
};

struct cpu_features;

/* Fill k with the fastest kernels the CPU supports, capped at max_isa
 * (QISA_REF forces every reference kernel). The CPU's features are
 * cpu_detect()'s, less those named in $GGPERF_CPU_DISABLE (see
 * cpu_features_disable; a word it does not know disables nothing, so
 * front ends check the variable first with quant_cpu_disable_check). */
void quant_kernels_init(struct quant_kernels *k, enum quant_isa max_isa);

/* As quant_kernels_init, for the CPU features f (which must not claim
 * more than the CPU has): tests force each variant through this. */
void quant_kernels_init_features(struct quant_kernels *k, enum quant_isa max_isa, const struct cpu_features *f);

/* Check $GGPERF_CPU_DISABLE: 0 when unset or valid, else -1 with err. */
int quant_cpu_disable_check(char *err, unsigned err_len);

/* Name of an ISA level: "ref", "avx2", "avx512". */
const char *quant_isa_name(enum quant_isa isa);

/* --- fp16 / bf16 conversions (exact, round to nearest even) ----------- */
float quant_f16_to_f32(qt_half h);
qt_half quant_f32_to_f16(float f);
float quant_bf16_to_f32(uint16_t h);
uint16_t quant_f32_to_bf16(float f);

/* The 16 non-linear values of IQ4_NL / IQ4_XS. */
extern const int8_t quant_kvalues_iq4nl[16];

#endif
