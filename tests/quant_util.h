/* quant_util.h — helpers shared by the quant suites (tests/test_quant*.c;
 * quant_simd has its own, tests/quant_simd_util.h): a silent assertion for
 * hot loops, the weight types the engine computes with, the verbose switch,
 * a small deterministic RNG, float bit casts and the traits lookup.
 * Header-only and static inline, so each suite keeps its own copy, as when
 * the suites were one file, and one that does not use a helper gets no
 * warning for it. */
#ifndef GGPERF_TESTS_QUANT_UTIL_H
#define GGPERF_TESTS_QUANT_UTIL_H

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"

/* For hot loops: every passing ck_assert records its location through
 * Check's fork-mode channel, which costs a write per call; this checks
 * silently and only reports a failure. */
#define REQUIRE(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* The 15 weight types the engine computes with. */
static const int k_weight_types[] = {
    QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1, QT_Q8_0,
    QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_IQ4_NL, QT_IQ4_XS,
};
#define N_WEIGHT_TYPES ((int)(sizeof k_weight_types / sizeof k_weight_types[0]))

static inline bool verbose(void)
{
    return getenv("GGPERF_QUANT_VERBOSE") != NULL;
}

/* ---------------------------------------------------------------------- */
/* small helpers                                                           */

static inline uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* uniform in [0, 1) */
static inline float rng_unif(uint64_t *s)
{
    return (float)(rng_next(s) >> 40) * 0x1p-24f;
}

static inline float rng_normal(uint64_t *s)
{
    float u1 = rng_unif(s), u2 = rng_unif(s);
    if (u1 < 1e-7f)
        u1 = 1e-7f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline const struct quant_traits *tr_of(int t)
{
    const struct quant_traits *tr = quant_traits_get(t);
    ck_assert_msg(tr != NULL, "no traits for type %d", t);
    return tr;
}

#endif
