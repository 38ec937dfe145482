/* quant — the per-type property table, type names, fp16/bf16 conversion,
 * and kernel selection. Kernels themselves live in quant_ref.c (scalar
 * ground truth), quant_avx2.c and quant_avx512.c. */
#include "engine/quant.h"

#include <string.h>
#include <strings.h>

#include "engine/cpu.h"
#include "engine/quant_impl.h"

/* Properties of every GGUF type id: the reader needs block sizes of all of
 * them to validate files, even those the engine cannot compute with. */
static const struct quant_traits traits[QT_COUNT] = {
    [QT_F32] = { "F32", 1, 4, false, QT_F32, NULL, NULL, NULL },
    [QT_F16] = { "F16", 1, 2, false, QT_F16, NULL, NULL, NULL },
    [QT_Q4_0] = { "Q4_0", 32, 18, true, QT_Q8_0, NULL, NULL, NULL },
    [QT_Q4_1] = { "Q4_1", 32, 20, true, QT_Q8_1, NULL, NULL, NULL },
    [QT_Q5_0] = { "Q5_0", 32, 22, true, QT_Q8_0, NULL, NULL, NULL },
    [QT_Q5_1] = { "Q5_1", 32, 24, true, QT_Q8_1, NULL, NULL, NULL },
    [QT_Q8_0] = { "Q8_0", 32, 34, true, QT_Q8_0, NULL, NULL, NULL },
    [QT_Q8_1] = { "Q8_1", 32, 36, true, QT_Q8_1, NULL, NULL, NULL },
    [QT_Q2_K] = { "Q2_K", 256, 84, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_Q3_K] = { "Q3_K", 256, 110, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_Q4_K] = { "Q4_K", 256, 144, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_Q5_K] = { "Q5_K", 256, 176, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_Q6_K] = { "Q6_K", 256, 210, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_Q8_K] = { "Q8_K", 256, 292, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ2_XXS] = { "IQ2_XXS", 256, 66, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ2_XS] = { "IQ2_XS", 256, 74, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ3_XXS] = { "IQ3_XXS", 256, 98, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ1_S] = { "IQ1_S", 256, 50, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ4_NL] = { "IQ4_NL", 32, 18, true, QT_Q8_0, NULL, NULL, NULL },
    [QT_IQ3_S] = { "IQ3_S", 256, 110, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ2_S] = { "IQ2_S", 256, 82, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_IQ4_XS] = { "IQ4_XS", 256, 136, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_I8] = { "I8", 1, 1, false, QT_I8, NULL, NULL, NULL },
    [QT_I16] = { "I16", 1, 2, false, QT_I16, NULL, NULL, NULL },
    [QT_I32] = { "I32", 1, 4, false, QT_I32, NULL, NULL, NULL },
    [QT_I64] = { "I64", 1, 8, false, QT_I64, NULL, NULL, NULL },
    [QT_F64] = { "F64", 1, 8, false, QT_F64, NULL, NULL, NULL },
    [QT_IQ1_M] = { "IQ1_M", 256, 56, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_BF16] = { "BF16", 1, 2, false, QT_BF16, NULL, NULL, NULL },
    [QT_TQ1_0] = { "TQ1_0", 256, 54, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_TQ2_0] = { "TQ2_0", 256, 66, true, QT_Q8_K, NULL, NULL, NULL },
    [QT_MXFP4] = { "MXFP4", 32, 17, true, QT_Q8_0, NULL, NULL, NULL },
};

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

const char *quant_isa_name(enum quant_isa isa)
{
    switch (isa) {
    case QISA_REF: return "ref";
    case QISA_AVX2: return "avx2";
    case QISA_AVX512: return "avx512";
    }
    return "unknown";
}

/* fp16 <-> fp32, exact, without F16C so the baseline build has it. */
float quant_f16_to_f32(qt_half h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while ((mant & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

qt_half quant_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (qt_half)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (qt_half)(sign | 0x7c00);
    if (absx < 0x38800000u) { /* result subnormal or zero */
        if (absx < 0x33000000u)
            return (qt_half)sign;
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14 + (113 - e) - ... */
        uint32_t half_m = m >> (shift - 0);
        /* round to nearest even on the dropped bits */
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        half_m >>= 0;
        uint32_t res = m >> shift;
        (void)half_m;
        if (rem > halfway || (rem == halfway && (res & 1)))
            res++;
        return (qt_half)(sign | res);
    }
    uint32_t res = ((absx - 0x38000000u) >> 13);
    uint32_t rem = absx & 0x1fff;
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

void quant_kernels_init(struct quant_kernels *k, enum quant_isa max_isa)
{
    memset(k, 0, sizeof *k);
    quant_ref_fill(k);
    k->isa = QISA_REF;
    if (max_isa == QISA_REF)
        return;
    struct cpu_features f;
    cpu_detect(&f);
    if (f.avx2 && f.fma && f.f16c) {
        quant_avx2_fill(k);
        k->isa = QISA_AVX2;
    }
    if (max_isa >= QISA_AVX512 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) {
        quant_avx512_fill(k);
        k->isa = QISA_AVX512;
    }
}
