/* quant_random — valid random blocks of each quant type, for synthesized
 * models, workloads, microbenchmarks and tests.
 *
 * One recipe per type, pointed at by the type's row in the traits table
 * (quant.c), so a new type's random-block support is one function here and
 * its name in that row. A block is "valid" when every scale is a finite,
 * moderate fp16 (random bytes there would give NaN, inf or huge values)
 * and the payload codes are uniform random bits; the block scale is chosen
 * so that the dequantized weights have a standard deviation of about `std`
 * and a mean near zero, as real weights do.
 *
 * The stream is xoshiro256** seeded through splitmix64: fast, and the bytes
 * depend only on the seed (integer arithmetic until one multiply per value,
 * so they do not depend on the libm). */
#include "engine/quant.h"

#include <string.h>

#include "engine/quant_impl.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void quant_rng_seed(struct quant_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    x = splitmix64(&x) ^ stream;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t quant_rng_next(struct quant_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

void quant_rng_bytes(struct quant_rng *r, void *dst, size_t n)
{
    uint8_t *p = dst;
    while (n >= 8) {
        uint64_t v = quant_rng_next(r);
        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t v = quant_rng_next(r);
        memcpy(p, &v, n);
    }
}

/* Uniform in [0.75, 1.25): per-block jitter of the scale, as real blocks
 * differ in their largest weight. */
static inline float rng_jitter(struct quant_rng *r)
{
    return 0.75f + 0.5f * (float)(quant_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* +1 or -1: symmetric types get a random sign on a scale, so the small
 * offset of uniform codes (mean -0.5 of a step) cancels over a row. */
static inline float rng_sign(struct quant_rng *r)
{
    return (quant_rng_next(r) >> 63) ? -1.0f : 1.0f;
}

/* Approximately N(0, 1): the sum of four 16-bit uniforms, centred and
 * scaled (Irwin-Hall). Bounded at +-3.46, integer arithmetic until one
 * multiply, so the bytes do not depend on the libm. */
static inline float rng_normal(struct quant_rng *r)
{
    uint64_t x = quant_rng_next(r);
    int32_t sum = (int32_t)(x & 0xffff) + (int32_t)((x >> 16) & 0xffff) + (int32_t)((x >> 32) & 0xffff) +
                  (int32_t)(x >> 48);
    return (float)(sum - 131070) * (1.0f / 37837.227f);
}

/* Standard deviations of uniformly random codes, in code units: the
 * quantized payloads below are uniform random bits, and the block scale
 * is chosen so that scale * code_std = std. */
#define STD_U2 1.1180f   /* 0..3 */
#define STD_U3 2.2913f   /* 0..7 */
#define STD_U4 4.6098f   /* 0..15 */
#define STD_U5 9.2331f   /* 0..31 */
#define STD_U6 18.473f   /* 0..63 */
#define STD_U8 73.901f   /* -128..127 */
#define STD_IQ4 67.18f   /* the 16 IQ4_NL values */

static inline qt_half half_of(float f) { return quant_f32_to_f16(f); }
static inline float half_val(qt_half h) { return quant_f16_to_f32(h); }

/* Each recipe builds its block in a local and copies it out: dst need not
 * be aligned. */

void quant_random_f32(void *restrict dst, struct quant_rng *r, float std)
{
    float v = std * rng_normal(r);
    memcpy(dst, &v, 4);
}

void quant_random_f16(void *restrict dst, struct quant_rng *r, float std)
{
    qt_half h = half_of(std * rng_normal(r));
    memcpy(dst, &h, 2);
}

void quant_random_bf16(void *restrict dst, struct quant_rng *r, float std)
{
    uint16_t h = quant_f32_to_bf16(std * rng_normal(r));
    memcpy(dst, &h, 2);
}

void quant_random_q4_0(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q4_0 b;
    b.d = half_of(rng_sign(r) * std / STD_U4 * rng_jitter(r));
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

void quant_random_q4_1(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q4_1 b;
    b.d = half_of(std / STD_U4 * rng_jitter(r));
    b.m = half_of(-7.5f * half_val(b.d)); /* w = d*q + m centred on 0 */
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

void quant_random_q5_0(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q5_0 b;
    b.d = half_of(rng_sign(r) * std / STD_U5 * rng_jitter(r));
    quant_rng_bytes(r, b.qh, sizeof b.qh);
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

void quant_random_q5_1(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q5_1 b;
    b.d = half_of(std / STD_U5 * rng_jitter(r));
    b.m = half_of(-15.5f * half_val(b.d));
    quant_rng_bytes(r, b.qh, sizeof b.qh);
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

void quant_random_q8_0(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q8_0 b;
    b.d = half_of(rng_sign(r) * std / STD_U8 * rng_jitter(r));
    quant_rng_bytes(r, (uint8_t *)b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

void quant_random_iq4_nl(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_iq4_nl b;
    b.d = half_of(rng_sign(r) * std / STD_IQ4 * rng_jitter(r));
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

/* w = d*sc*q - dmin*m, q 0..3; sc 8..15 and m = sc with dmin = 1.5 d
 * centre each sub-block on 0. */
void quant_random_q2_K(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q2_K b;
    uint64_t bits = quant_rng_next(r);
    for (int j = 0; j < 16; j++) {
        uint8_t sc = (uint8_t)(8 + ((bits >> (3 * j)) & 7));
        b.scales[j] = (uint8_t)(sc | (sc << 4));
    }
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    b.d = half_of(std / (STD_U2 * 11.5f) * rng_jitter(r));
    b.dmin = half_of(1.5f * half_val(b.d));
    memcpy(dst, &b, sizeof b);
}

/* w = d*(sc-32)*q, q in -4..3; sixteen 6-bit sc, sc-32 in +-(16..31) with
 * random sign. Packing: low nibbles in bytes 0..7 (sub-block j at byte
 * j%8, nibble j/8), high 2 bits in bytes 8..11 (byte 8+j%4, bits 2*(j/4)). */
void quant_random_q3_K(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q3_K b;
    quant_rng_bytes(r, b.hmask, sizeof b.hmask);
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memset(b.scales, 0, sizeof b.scales);
    uint64_t bits = quant_rng_next(r), signs = quant_rng_next(r);
    for (int j = 0; j < 16; j++) {
        unsigned sc = 48u + (unsigned)((bits >> (4 * j)) & 15);
        if ((signs >> j) & 1)
            sc = 64u - sc; /* 32 - (sc - 32): the negative side */
        b.scales[j % 8] |= (uint8_t)((sc & 15) << (4 * (j / 8)));
        b.scales[8 + j % 4] |= (uint8_t)((sc >> 4) << (2 * (j / 4)));
    }
    b.d = half_of(std / (STD_U3 * 23.5f) * rng_jitter(r));
    memcpy(dst, &b, sizeof b);
}

/* The 12 scale bytes of Q4_K and Q5_K: w = d*sc*q - dmin*m with 6-bit sc,
 * m per sub-block of 32; sc in 32..63, m = sc and dmin = centre * d give a
 * zero mean. Packing (llama.cpp get_scale_min_k4): j < 4: sc in byte j, m
 * in byte j+4 (low 6 bits); j >= 4: low nibbles in byte j+4, high 2 bits
 * in the top of bytes j-4 (sc) and j (m). */
static void random_k4_scales(struct quant_rng *r, uint8_t scales[12])
{
    uint8_t sc[8], m[8];
    uint64_t bits = quant_rng_next(r);
    for (int j = 0; j < 8; j++) {
        sc[j] = (uint8_t)(32 + ((bits >> (5 * j)) & 31));
        m[j] = sc[j];
    }
    for (int j = 0; j < 4; j++) {
        scales[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
        scales[j + 4] = (uint8_t)(m[j] | ((m[j + 4] >> 4) << 6));
        scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
}

void quant_random_q4_K(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q4_K b;
    random_k4_scales(r, b.scales);
    b.d = half_of(std / (STD_U4 * 47.5f) * rng_jitter(r));
    b.dmin = half_of(7.5f * half_val(b.d));
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

void quant_random_q5_K(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q5_K b;
    random_k4_scales(r, b.scales);
    b.d = half_of(std / (STD_U5 * 47.5f) * rng_jitter(r));
    b.dmin = half_of(15.5f * half_val(b.d));
    quant_rng_bytes(r, b.qh, sizeof b.qh);
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

/* w = d*sc*(q-32), q 0..63, int8 sc in +-(64..124): d comes out around
 * 1e-5 for std 0.02, an fp16 subnormal, as in real Q6_K files. */
void quant_random_q6_K(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_q6_K b;
    quant_rng_bytes(r, b.ql, sizeof b.ql);
    quant_rng_bytes(r, b.qh, sizeof b.qh);
    uint64_t bits = quant_rng_next(r), signs = quant_rng_next(r);
    for (int j = 0; j < 16; j++) {
        int sc = 64 + (int)((bits >> (4 * j)) & 15) * 4;
        b.scales[j] = (int8_t)(((signs >> j) & 1) ? -sc : sc);
    }
    b.d = half_of(std / (STD_U6 * 94.0f) * rng_jitter(r));
    memcpy(dst, &b, sizeof b);
}

/* w = d*(ls-32)*kvalues[q], ls-32 in +-(16..31) with random sign; ls 6
 * bits: low nibble in scales_l[j/2] (nibble j%2), high 2 bits at
 * scales_h >> 2j. */
void quant_random_iq4_xs(void *restrict dst, struct quant_rng *r, float std)
{
    struct block_iq4_xs b;
    uint64_t bits = quant_rng_next(r);
    uint16_t sh = 0;
    memset(b.scales_l, 0, sizeof b.scales_l);
    for (int j = 0; j < 8; j++) {
        unsigned ls = 48u + (unsigned)((bits >> (4 * j)) & 15);
        if ((bits >> (63 - j)) & 1)
            ls = 64u - ls;
        b.scales_l[j / 2] |= (uint8_t)((ls & 15) << (4 * (j % 2)));
        sh |= (uint16_t)((ls >> 4) << (2 * j));
    }
    b.scales_h = sh;
    b.d = half_of(std / (STD_IQ4 * 23.5f) * rng_jitter(r));
    quant_rng_bytes(r, b.qs, sizeof b.qs);
    memcpy(dst, &b, sizeof b);
}

int quant_random_blocks(int t, struct quant_rng *r, void *dst, size_t nb, float std)
{
    const struct quant_traits *tr = quant_traits_get(t);
    if (!tr || !tr->random_block)
        return -1;
    uint8_t *p = dst;
    for (size_t i = 0; i < nb; i++, p += tr->type_size)
        tr->random_block(p, r, std);
    return 0;
}
