/* quant — the per-type property table, type names, fp16/bf16 conversion,
 * and kernel selection. Kernels themselves live in quant_ref.c (scalar
 * ground truth), quant_avx2.c and quant_avx512.c. */
#include "engine/quant.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/cpu.h"
#include "engine/quant_impl.h"

/* Properties of every GGUF type id: the reader needs block sizes of all of
 * them to validate files, even those the engine cannot compute with. */
/* Short names for the reference kernels in the table below. */
#define TF(t) quant_ref_to_float_##t
#define FF(t) quant_ref_from_float_##t
#define DOT(t) quant_ref_dot_##t
#define RB(t) quant_random_##t

static const struct quant_traits traits[QT_COUNT] = {
    /* name, blck, type_size, is_quantized, vec_dot_type, to_float, from_float, dot, random_block */
    [QT_F32] = { "F32", 1, 4, false, QT_F32, TF(f32), FF(f32), DOT(f32), RB(f32) },
    [QT_F16] = { "F16", 1, 2, false, QT_F16, TF(f16), FF(f16), DOT(f16), RB(f16) },
    [QT_Q4_0] = { "Q4_0", 32, 18, true, QT_Q8_0, TF(q4_0), FF(q4_0), DOT(q4_0), RB(q4_0) },
    [QT_Q4_1] = { "Q4_1", 32, 20, true, QT_Q8_1, TF(q4_1), FF(q4_1), DOT(q4_1), RB(q4_1) },
    [QT_Q5_0] = { "Q5_0", 32, 22, true, QT_Q8_0, TF(q5_0), FF(q5_0), DOT(q5_0), RB(q5_0) },
    [QT_Q5_1] = { "Q5_1", 32, 24, true, QT_Q8_1, TF(q5_1), FF(q5_1), DOT(q5_1), RB(q5_1) },
    [QT_Q8_0] = { "Q8_0", 32, 34, true, QT_Q8_0, TF(q8_0), FF(q8_0), DOT(q8_0), RB(q8_0) },
    [QT_Q8_1] = { "Q8_1", 32, 36, true, QT_Q8_1, TF(q8_1), FF(q8_1), NULL },
    [QT_Q2_K] = { "Q2_K", 256, 84, true, QT_Q8_K, TF(q2_K), NULL, DOT(q2_K), RB(q2_K) },
    [QT_Q3_K] = { "Q3_K", 256, 110, true, QT_Q8_K, TF(q3_K), NULL, DOT(q3_K), RB(q3_K) },
    [QT_Q4_K] = { "Q4_K", 256, 144, true, QT_Q8_K, TF(q4_K), NULL, DOT(q4_K), RB(q4_K) },
    [QT_Q5_K] = { "Q5_K", 256, 176, true, QT_Q8_K, TF(q5_K), NULL, DOT(q5_K), RB(q5_K) },
    [QT_Q6_K] = { "Q6_K", 256, 210, true, QT_Q8_K, TF(q6_K), NULL, DOT(q6_K), RB(q6_K) },
    [QT_Q8_K] = { "Q8_K", 256, 292, true, QT_Q8_K, TF(q8_K), FF(q8_K), NULL },
    [QT_IQ2_XXS] = { "IQ2_XXS", 256, 66, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ2_XS] = { "IQ2_XS", 256, 74, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ3_XXS] = { "IQ3_XXS", 256, 98, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ1_S] = { "IQ1_S", 256, 50, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ4_NL] = { "IQ4_NL", 32, 18, true, QT_Q8_0, TF(iq4_nl), FF(iq4_nl), DOT(iq4_nl), RB(iq4_nl) },
    [QT_IQ3_S] = { "IQ3_S", 256, 110, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ2_S] = { "IQ2_S", 256, 82, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ4_XS] = { "IQ4_XS", 256, 136, true, QT_Q8_K, TF(iq4_xs), NULL, DOT(iq4_xs), RB(iq4_xs) },
    [QT_I8] = { "I8", 1, 1, false, QT_I8, NULL, NULL, NULL },
    [QT_I16] = { "I16", 1, 2, false, QT_I16, NULL, NULL, NULL },
    [QT_I32] = { "I32", 1, 4, false, QT_I32, NULL, NULL, NULL },
    [QT_I64] = { "I64", 1, 8, false, QT_I64, NULL, NULL, NULL },
    [QT_F64] = { "F64", 1, 8, false, QT_F64, NULL, NULL, NULL },
    [QT_IQ1_M] = { "IQ1_M", 256, 56, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_BF16] = { "BF16", 1, 2, false, QT_BF16, TF(bf16), FF(bf16), DOT(bf16), RB(bf16) },
    [QT_TQ1_0] = { "TQ1_0", 256, 54, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_TQ2_0] = { "TQ2_0", 256, 66, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_MXFP4] = { "MXFP4", 32, 17, true, QT_Q8_0, NULL, NULL, NULL },
};

#undef TF
#undef FF
#undef DOT
#undef RB

const struct quant_traits *quant_traits_get(int t)
{
    if (t < 0 || t >= QT_COUNT || traits[t].name == NULL)
        return NULL;
    return &traits[t];
}

const char *quant_type_name(int t)
{
    const struct quant_traits *tr = quant_traits_get(t);
    return tr ? tr->name : "unknown";
}

int quant_type_from_name(const char *name)
{
    for (int t = 0; t < QT_COUNT; t++)
        if (traits[t].name && strcasecmp(traits[t].name, name) == 0)
            return t;
    return -1;
}

size_t quant_row_size(int t, int64_t n)
{
    const struct quant_traits *tr = quant_traits_get(t);
    return tr ? (size_t)(n / tr->blck) * tr->type_size : 0;
}

bool quant_supported(int t)
{
    const struct quant_traits *tr = quant_traits_get(t);
    return tr != NULL && tr->dot != NULL;
}

const char *quant_isa_name(enum quant_isa isa)
{
    switch (isa) {
    case QISA_REF: return "ref";
    case QISA_AVX2: return "avx2";
    case QISA_AVX512: return "avx512";
    }
    return "unknown";
}

/* fp16 <-> fp32 without F16C, so the baseline build has them.
 * fp16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 * fp32: 1 sign bit, 8 exponent bits (bias 127), 23 mantissa bits. */
float quant_f16_to_f32(qt_half h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in float */
        float f = (float)mant * 0x1p-24f;
        return sign ? -f : f;
    }
    if (exp == 31) /* inf, or nan with its payload kept */
        bits = sign | 0x7f800000u | (mant << 13);
    else
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Round to nearest, ties to even (what F16C's vcvtps2ph does in the default
 * rounding mode, and what ggml's software fallback does). NaN becomes a
 * quiet NaN of the same sign; values from 65520 up become inf. */
qt_half quant_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (qt_half)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) /* 65520 = max half + half an ulp: overflow */
        return (qt_half)(sign | 0x7c00);
    if (absx < 0x38800000u) {
        /* below 2^-14, the smallest normal half: the result is a multiple
         * of 2^-24 (a subnormal, or 2^-14 after rounding up). |f| = m *
         * 2^(e - 150) with the implicit bit in m, so in units of 2^-24 it
         * is m >> (126 - e), rounded on the dropped bits. */
        if (absx <= 0x33000000u) /* <= 2^-25: rounds to zero (2^-25 is a tie, zero is even) */
            return (qt_half)sign;
        const uint32_t e = absx >> 23; /* 102..112 here */
        const uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - e; /* 14..24 */
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t halfway = 1u << (shift - 1);
        uint32_t res = m >> shift;
        if (rem > halfway || (rem == halfway && (res & 1)))
            res++;
        return (qt_half)(sign | res);
    }
    /* normal: rebias the exponent (127 - 15 = 112 = 0x38000000 >> 23) and
     * drop 13 mantissa bits; a carry out of the mantissa correctly bumps
     * the exponent, up to inf. */
    uint32_t res = (absx - 0x38000000u) >> 13;
    const uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (res & 1)))
        res++;
    return (qt_half)(sign | res);
}

float quant_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t quant_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* nan: keep it a quiet nan */
        return (uint16_t)((x >> 16) | 64);
    return (uint16_t)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

const int8_t quant_kvalues_iq4nl[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

void quant_kernels_init_features(struct quant_kernels *k, enum quant_isa max_isa, const struct cpu_features *f)
{
    memset(k, 0, sizeof *k);
    quant_ref_fill(k);
    k->isa = QISA_REF;
    if (max_isa == QISA_REF)
        return;
    if (f->avx2 && f->fma && f->f16c) {
        quant_avx2_fill(k);
        k->isa = QISA_AVX2;
    }
    if (max_isa >= QISA_AVX512 && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq) {
        quant_avx512_fill(k, f);
        k->isa = QISA_AVX512;
    }
}

/* The features the kernels may use: the CPU's, less $GGPERF_CPU_DISABLE. */
static void effective_features(struct cpu_features *f)
{
    cpu_detect(f);
    const char *off = getenv("GGPERF_CPU_DISABLE");
    if (off && *off)
        (void)cpu_features_disable(f, off, NULL, 0); /* checked by the front end */
}

void quant_kernels_init(struct quant_kernels *k, enum quant_isa max_isa)
{
    struct cpu_features f;
    effective_features(&f);
    quant_kernels_init_features(k, max_isa, &f);
}

int quant_cpu_disable_check(char *err, unsigned err_len)
{
    const char *off = getenv("GGPERF_CPU_DISABLE");
    struct cpu_features f;
    cpu_detect(&f);
    if (off && *off && cpu_features_disable(&f, off, err, err_len) != 0)
        return -1;
    return 0;
}
