/* quant_simd_util.h — what the quant_simd suites share (tests/test_quant_simd*.c):
 * the types with fast kernels, the kernel variants under test and how each
 * is forced on this CPU, the RNG, and the weight and activation rows the
 * dot and gemm tests both feed the kernels (random, unit scales, extremes)
 * with the bound they are checked within. Header-only and static inline,
 * so each suite keeps its own copy, as when the suites were one file, and
 * one that does not use a helper gets no warning for it. */
#ifndef GGPERF_TESTS_QUANT_SIMD_UTIL_H
#define GGPERF_TESTS_QUANT_SIMD_UTIL_H

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu.h"
#include "engine/quant.h"
#include "tests/testutil.h"

static const int k_types[] = { QT_F16, QT_Q4_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K };
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])

/* ---- helpers ------------------------------------------------------------ */

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* uniform in [-1, 1) */
static inline float rng_unif(uint64_t *s)
{
    return (float)((double)(rng_next(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static inline void put_half(uint8_t *p, float f)
{
    const qt_half h = quant_f32_to_f16(f);
    memcpy(p, &h, 2);
}

/* The kernel variants under test: each ISA level, and within AVX-512 the
 * variant without VNNI, with VNNI but without the VBMI/GFNI Q4_0 paths,
 * with them but without AMX tiles, and with everything the CPU has. A variant is forced by turning CPU features
 * off (cpu_features_disable), so every variant the CPU can run is tested
 * on it, not only the fastest. */
static const struct variant {
    int isa;
    const char *disable;   /* cpu_features_disable list */
    const char *label;
} variants[] = {
    { QISA_AVX2, "", "avx2" },
    { QISA_AVX512, "avx512_vnni,amx_int8,amx_bf16", "avx512 without VNNI" },
    { QISA_AVX512, "avx512_vbmi,gfni,amx_int8,amx_bf16", "avx512-vnni without VBMI/GFNI" },
    { QISA_AVX512, "amx_int8,amx_bf16", "avx512-vbmi-gfni" },
    { QISA_AVX512, "", "avx512-vbmi-gfni+amx" },
};
#define N_VARIANTS (int)(sizeof variants / sizeof variants[0])

/* The features of variant v on this CPU; false (prints why) when the CPU
 * cannot run it or it would be the same as another variant. */
static inline bool variant_features(int v, struct cpu_features *f)
{
    cpu_detect(f);
    const struct variant *va = &variants[v];
    if (va->isa == QISA_AVX2 && !(f->avx2 && f->fma && f->f16c)) {
        tu_skip("avx2", "%s kernels not tested: CPU lacks avx2+fma+f16c", va->label);
        return false;
    }
    if (va->isa == QISA_AVX512 && !(f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq)) {
        tu_skip("avx512", "%s kernels not tested: CPU lacks avx512f/bw/vl/dq", va->label);
        return false;
    }
    if (v >= 2 && !f->avx512vnni) {
        tu_skip("avx512-vnni", "%s kernels not tested: CPU lacks avx512_vnni", va->label);
        return false;
    }
    if (v >= 3 && !(f->avx512vbmi && f->gfni)) {
        tu_skip("avx512-vbmi-gfni", "%s kernels not tested: CPU lacks avx512_vbmi+gfni", va->label);
        return false;
    }
    if (v == 4 && !(f->amx_int8 && f->amx_bf16)) {
        tu_skip("amx", "%s kernels not tested: CPU (or kernel) lacks AMX-INT8/BF16 tiles", va->label);
        return false;
    }
    char err[256];
    ck_assert_msg(cpu_features_disable(f, va->disable, err, sizeof err) == 0, "%s", err);
    return true;
}

/* Fast kernels of variant v and the reference ones; false (skip) when the
 * CPU cannot run that variant. */
static inline bool kernels_for(int v, struct quant_kernels *fast, struct quant_kernels *ref)
{
    struct cpu_features f;
    if (!variant_features(v, &f))
        return false;
    quant_kernels_init_features(fast, (enum quant_isa)variants[v].isa, &f);
    quant_kernels_init(ref, QISA_REF);
    ck_assert_int_eq(fast->isa, variants[v].isa);
    return true;
}

static inline int vec_type(int t)
{
    return quant_traits_get(t)->vec_dot_type;
}

/* Random valid weight blocks: the type's recipe from the quant type table
 * (finite moderate scales, uniform random codes). Full-range scale bytes
 * are covered by unit_scale_weights below. */
static inline void fill_weights(int t, uint8_t *x, int64_t n, uint64_t *s)
{
    struct quant_rng r;
    quant_rng_seed(&r, rng_next(s), 0);
    ck_assert_msg(quant_random_blocks(t, &r, x, (size_t)(n / quant_traits_get(t)->blck), 0.05f) == 0,
                  "no random-block recipe for %s", quant_type_name(t));
}

/* ny activation rows of n values quantized by the reference, row j at
 * y + j * ys; magnitudes vary from row to row. */
static inline void fill_acts(const struct quant_kernels *ref, int vt, uint8_t *y, size_t ys, int ny,
                      int64_t n, float *tmp, uint64_t *s)
{
    for (int j = 0; j < ny; j++) {
        const float scale = (float)(1 + j % 5) * (j % 2 ? 0.1f : 3.0f);
        for (int64_t i = 0; i < n; i++) {
            const float u = rng_unif(s);
            tmp[i] = scale * u * u * u; /* heavier tails than uniform */
        }
        ref->from_float[vt](tmp, y + (size_t)j * ys, n);
    }
}

/* Sum of |terms| the fast kernel may round: sum |w_i * a_i| over the
 * dequantized values, counting the K-quant scale part and min part
 * separately (the kernels form d*isum and dmin*msum apart, and those may
 * cancel). */
static inline double dot_magnitude(const struct quant_kernels *ref, int t, const uint8_t *x, const uint8_t *y,
                            int64_t n, float *wf, float *af)
{
    const int vt = vec_type(t);
    ref->to_float[vt](y, af, n);
    const size_t bytes = quant_row_size(t, n);
    double mag = 0.0;
    if (t == QT_Q4_K || t == QT_Q5_K) {
        const size_t bs = quant_traits_get(t)->type_size;
        uint8_t *xc = malloc(bytes);
        ck_assert_ptr_nonnull(xc);
        for (int part = 0; part < 2; part++) {
            memcpy(xc, x, bytes);
            for (size_t b = 0; b < bytes / bs; b++)
                memset(xc + b * bs + (part ? 0 : 2), 0, 2); /* drop dmin, then d */
            ref->to_float[t](xc, wf, n);
            for (int64_t i = 0; i < n; i++)
                mag += fabs((double)wf[i] * af[i]);
        }
        free(xc);
        return mag;
    }
    ref->to_float[t](x, wf, n);
    for (int64_t i = 0; i < n; i++)
        mag += fabs((double)wf[i] * af[i]);
    return mag;
}

static inline double tolerance(int t)
{
    return t == QT_F16 ? 3e-5 : 1e-5;
}

/* Blocks whose float scales are all 1 (dmin too), quants random in their
 * full range; activations random in [-127, 127] with d = 1 and consistent
 * bsums. With n = 256/512 every partial sum stays far below 2^24, so both
 * kernels compute exact integers in float and must agree bit for bit. F16
 * uses small integers for the same reason. */
static inline void unit_scale_weights(int t, uint8_t *x, int64_t n, uint64_t *s)
{
    const struct quant_traits *tr = quant_traits_get(t);
    const size_t bytes = quant_row_size(t, n);
    for (size_t i = 0; i < bytes; i++)
        x[i] = (uint8_t)rng_next(s);
    for (int64_t b = 0; b < n / tr->blck; b++) {
        uint8_t *p = x + b * tr->type_size;
        switch (t) {
        case QT_F16: put_half(p, (float)((int)(rng_next(s) % 17) - 8)); break;
        case QT_Q4_0:
        case QT_Q8_0: put_half(p, 1.0f); break;
        case QT_Q4_K:
        case QT_Q5_K:
            put_half(p, 1.0f);
            put_half(p + 2, 1.0f);
            break;
        case QT_Q6_K: put_half(p + 208, 1.0f); break;
        default: ck_abort();
        }
    }
}

static inline void unit_scale_acts(int vt, uint8_t *y, int64_t n, uint64_t *s, int extreme)
{
    if (vt == QT_F16) {
        for (int64_t i = 0; i < n; i++)
            put_half(y + 2 * i, (float)((int)(rng_next(s) % 17) - 8));
        return;
    }
    const int blck = vt == QT_Q8_K ? QK_K : QK8_0;
    const size_t bs = quant_traits_get(vt)->type_size;
    for (int64_t b = 0; b < n / blck; b++) {
        uint8_t *p = y + b * bs;
        int8_t q[QK_K];
        for (int i = 0; i < blck; i++) {
            const int r = (int)(rng_next(s) % 255) - 127; /* never -128, as from_float */
            q[i] = (int8_t)(extreme ? (r < 0 ? -127 : 127) : r);
        }
        if (vt == QT_Q8_0) {
            put_half(p, 1.0f);
            memcpy(p + 2, q, QK8_0);
        } else {
            const float one = 1.0f;
            memcpy(p, &one, 4);
            memcpy(p + 4, q, QK_K);
            for (int j = 0; j < 16; j++) {
                int sum = 0;
                for (int i = 0; i < 16; i++)
                    sum += q[16 * j + i];
                const int16_t b16 = (int16_t)sum;
                memcpy(p + 260 + 2 * j, &b16, 2);
            }
        }
    }
}

/* Weights at the ends of their range (all 0 or all max nibbles, -128/127
 * bytes, 63 scales, Q6_K -128/127 scales) against activations of +-127:
 * where a kernel's int16 intermediates could saturate or int32 sums
 * overflow. Compared within the usual bound. */
static inline void extreme_weights(int t, uint8_t *x, int64_t n, uint64_t *s)
{
    if (t == QT_F16) { /* large halves whose products still sum exactly in float (|sum| < 2^24) */
        for (int64_t k = 0; k < n; k++)
            put_half(x + 2 * k, (rng_next(s) & 1) ? 64.0f : -64.0f);
        return;
    }
    const struct quant_traits *tr = quant_traits_get(t);
    for (int64_t b = 0; b < n / tr->blck; b++) {
        uint8_t *p = x + b * tr->type_size;
        const bool hi = rng_next(s) & 1;
        switch (t) {
        case QT_Q4_0:
            put_half(p, 1.0f);
            memset(p + 2, hi ? 0xff : 0x00, 16);
            break;
        case QT_Q8_0:
            put_half(p, 1.0f);
            for (int i = 0; i < 32; i++)
                p[2 + i] = (rng_next(s) & 1) ? 0x80 : 0x7f;
            break;
        case QT_Q4_K:
        case QT_Q5_K:
            put_half(p, 1.0f);
            put_half(p + 2, 1.0f);
            memset(p + 4, 0xff, 12); /* all scales and mins 63 */
            memset(p + 16, hi ? 0xff : 0x00, tr->type_size - 16);
            break;
        case QT_Q6_K:
            memset(p, hi ? 0xff : 0x00, 192);
            for (int i = 0; i < 16; i++)
                p[192 + i] = (rng_next(s) & 1) ? 0x80 : 0x7f;
            put_half(p + 208, 1.0f);
            break;
        default: ck_abort();
        }
    }
}

#endif
