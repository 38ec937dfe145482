/* quant_simd suite: the AVX2 and AVX-512 kernels (quant_avx2.c,
 * quant_avx512*.c) against the scalar reference (quant_ref.c).
 *
 * Every test loops over the kernel variants: AVX2, and AVX-512 without
 * VNNI, with VNNI but without the VBMI/GFNI Q4_0 paths, and with them, each
 * forced by turning CPU features off (cpu_features_disable), so a CPU with
 * the best variant tests the others too; a variant the CPU cannot run is
 * skipped with the reason printed. What is checked:
 * - which exact variant each slot runs (dot_variant, gemm_variant), and that
 *   differently named variants are different functions;
 * - the kernel table: which slots each level fills and what it reports;
 * - dot products on random valid blocks for many row lengths, activation row
 *   counts (tile remainders), misaligned weights and activation rows and odd
 *   strides, within a bound relative to the sum of absolute terms; buffers
 *   end exactly where the data ends so ASan sees any over-read, and the
 *   output slot past ny is never written;
 * - bit-identical dots when every float operation is exact (unit scales,
 *   small sums), which pins down the integer parts;
 * - extreme quant values (saturation and overflow traps);
 * - the multi-row (gemm) kernels against the reference dot of each pair:
 *   weight and activation row counts around the decode (4-row) and
 *   prefill (8 x 8) tiles, block counts around the 8-block step and the
 *   256-block tables, misaligned and padded rows, exact for exact inputs;
 * - activation quantizers: identical bytes to the reference for random,
 *   tie, zero, tiny, huge and non-finite inputs;
 * - the attention kernels (fp16 KV cache) against double sums: head sizes
 *   and key counts around every step, misaligned and padded rows. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu.h"
#include "engine/quant.h"
#include "tests/testutil.h"

static const int k_types[] = { QT_F16, QT_Q4_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K };
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* uniform in [-1, 1) */
static float rng_unif(uint64_t *s)
{
    return (float)((double)(rng_next(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static void put_half(uint8_t *p, float f)
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
static bool variant_features(int v, struct cpu_features *f)
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
static bool kernels_for(int v, struct quant_kernels *fast, struct quant_kernels *ref)
{
    struct cpu_features f;
    if (!variant_features(v, &f))
        return false;
    quant_kernels_init_features(fast, (enum quant_isa)variants[v].isa, &f);
    quant_kernels_init(ref, QISA_REF);
    ck_assert_int_eq(fast->isa, variants[v].isa);
    return true;
}

static int vec_type(int t)
{
    return quant_traits_get(t)->vec_dot_type;
}

/* Random valid weight blocks: the type's recipe from the quant type table
 * (finite moderate scales, uniform random codes). Full-range scale bytes
 * are covered by unit_scale_weights below. */
static void fill_weights(int t, uint8_t *x, int64_t n, uint64_t *s)
{
    struct quant_rng r;
    quant_rng_seed(&r, rng_next(s), 0);
    ck_assert_msg(quant_random_blocks(t, &r, x, (size_t)(n / quant_traits_get(t)->blck), 0.05f) == 0,
                  "no random-block recipe for %s", quant_type_name(t));
}

/* ny activation rows of n values quantized by the reference, row j at
 * y + j * ys; magnitudes vary from row to row. */
static void fill_acts(const struct quant_kernels *ref, int vt, uint8_t *y, size_t ys, int ny,
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
static double dot_magnitude(const struct quant_kernels *ref, int t, const uint8_t *x, const uint8_t *y,
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

static double tolerance(int t)
{
    return t == QT_F16 ? 3e-5 : 1e-5;
}

/* One weight row at byte offset xoff, ny activation rows at byte offset
 * yoff with stride row + pad; buffers end exactly at the data. Checks fast
 * against ref within the bound; returns the worst |diff| / magnitude. The
 * reference reads through typed pointers, so it gets aligned copies (UBSan
 * would stop it on the misaligned ones); only the fast kernel sees those. */
static double check_dot_case(const struct quant_kernels *fast, const struct quant_kernels *ref, int t,
                             int64_t n, int ny, int xoff, int yoff, int pad, uint64_t *s)
{
    const int vt = vec_type(t);
    const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n);
    const size_t ys = yrow + (size_t)pad;
    const size_t ybytes = ys * (size_t)(ny - 1) + yrow;
    uint8_t *xb = malloc((size_t)xoff + xrow), *yb = malloc((size_t)yoff + ybytes);
    float *wf = malloc((size_t)n * sizeof *wf), *af = malloc((size_t)n * sizeof *af);
    float *sf = malloc((size_t)(ny + 1) * sizeof *sf), *sr = malloc((size_t)ny * sizeof *sr);
    ck_assert(xb && yb && wf && af && sf && sr);
    uint8_t *x = xb + xoff, *y = yb + yoff;
    uint8_t *xa = malloc(xrow), *ya = malloc(yrow * (size_t)ny);
    ck_assert(xa && ya);
    fill_weights(t, xa, n, s);
    memcpy(x, xa, xrow);
    fill_acts(ref, vt, ya, yrow, ny, n, wf, s);
    memset(yb, 0xa5, (size_t)yoff + ybytes); /* padding between rows: junk */
    for (int j = 0; j < ny; j++)
        memcpy(y + (size_t)j * ys, ya + (size_t)j * yrow, yrow);

    sf[ny] = -12345.0f;
    ref->dot[t](n, xa, ya, yrow, ny, sr);
    fast->dot[t](n, x, y, ys, ny, sf);
    ck_assert_msg(sf[ny] == -12345.0f, "%s dot wrote past s[ny-1] (n=%lld ny=%d)", quant_type_name(t),
                  (long long)n, ny);
    double worst = 0.0;
    for (int j = 0; j < ny; j++) {
        const double mag = dot_magnitude(ref, t, xa, ya + (size_t)j * yrow, n, wf, af);
        const double diff = fabs((double)sf[j] - (double)sr[j]);
        ck_assert_msg(isfinite(sf[j]), "%s n=%lld ny=%d row %d: fast %g", quant_type_name(t), (long long)n,
                      ny, j, sf[j]);
        ck_assert_msg(diff <= tolerance(t) * mag + 1e-30,
                      "%s %s n=%lld ny=%d row %d (xoff %d yoff %d pad %d): fast %.9g ref %.9g diff %.3g > %.1g * %.4g",
                      fast->dot_variant[t], quant_type_name(t), (long long)n, ny, j, xoff, yoff, pad,
                      sf[j], sr[j], diff, tolerance(t), mag);
        if (mag > 0 && diff / mag > worst)
            worst = diff / mag;
    }
    free(xa);
    free(ya);
    free(xb);
    free(yb);
    free(wf);
    free(af);
    free(sf);
    free(sr);
    return worst;
}

/* ---- the kernel table ---------------------------------------------------- */

START_TEST(test_table)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    /* the exact variant of every slot: what ran, not only the ISA level */
    static const char *const want_dot[N_VARIANTS][6] = {
        /*  F16       Q4_0                Q8_0           Q4_K           Q5_K           Q6_K */
        { "avx2", "avx2", "avx2", "avx2", "avx2", "avx2" },
        { "avx512", "avx2", "avx2", "avx512", "avx512", "avx512" },
        { "avx512", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni" },
        { "avx512", "avx512-vbmi-gfni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni" },
        { "avx512", "avx512-vbmi-gfni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni" },
    };
    static const int gemm_types[6] = { QT_Q4_0, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_F16 };
    static const char *const want_gemm[N_VARIANTS][6] = {
        /* Q4_0             Q8_0           Q4_K           Q5_K           Q6_K       F16 */
        { NULL, NULL, NULL, NULL, NULL, NULL },
        { NULL, NULL, NULL, NULL, NULL, "avx512" },
        { "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512" },
        { "avx512-vbmi-gfni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512-vnni", "avx512" },
        { "avx512-vbmi-gfni+amx", "avx512-vnni+amx", "avx512-vnni+amx", "avx512-vnni+amx", "avx512-vnni+amx",
          "avx512+amx-bf16" },
    };
    for (int i = 0; i < N_TYPES; i++) {
        const int t = k_types[i];
        ck_assert_ptr_nonnull(ref.dot[t]);
        ck_assert_ptr_nonnull(fast.dot[t]);
        ck_assert_str_eq(ref.dot_variant[t], "ref");
        ck_assert_msg(fast.dot[t] != ref.dot[t], "%s dot still the reference at %s", quant_type_name(t),
                      variants[_i].label);
        ck_assert_msg(strcmp(fast.dot_variant[t], want_dot[_i][i]) == 0, "%s: %s dot variant %s, want %s",
                      variants[_i].label, quant_type_name(t), fast.dot_variant[t], want_dot[_i][i]);
        int want = strncmp(want_dot[_i][i], "avx512", 6) == 0 ? QISA_AVX512 : QISA_AVX2;
        ck_assert_msg(fast.dot_isa[t] == (enum quant_isa)want, "%s dot_isa %s, want %s", quant_type_name(t),
                      fast.dot_variant[t], quant_isa_name((enum quant_isa)want));
    }
    for (int i = 0; i < 6; i++) {
        const int t = gemm_types[i];
        const char *w = want_gemm[_i][i];
        ck_assert_msg(w ? fast.gemm_variant[t] && strcmp(fast.gemm_variant[t], w) == 0 : fast.gemm_variant[t] == NULL,
                      "%s: %s gemm variant %s, want %s", variants[_i].label, quant_type_name(t),
                      fast.gemm_variant[t] ? fast.gemm_variant[t] : "none", w ? w : "none");
        ck_assert((fast.gemm[t] != NULL) == (w != NULL));
    }
    /* variants with different names run different functions: the next
     * variant down (one feature fewer) differs exactly where the name does */
    if (_i > 0) {
        struct cpu_features f;
        if (variant_features(_i - 1, &f)) {
            struct quant_kernels lower;
            quant_kernels_init_features(&lower, (enum quant_isa)variants[_i - 1].isa, &f);
            for (int i = 0; i < N_TYPES; i++) {
                const int t = k_types[i];
                bool same_name = strcmp(lower.dot_variant[t], fast.dot_variant[t]) == 0;
                ck_assert_msg((lower.dot[t] == fast.dot[t]) == same_name, "%s: %s dot %s vs %s", variants[_i].label,
                              quant_type_name(t), lower.dot_variant[t], fast.dot_variant[t]);
            }
        }
    }
    /* $GGPERF_CPU_DISABLE forces the same variant through quant_kernels_init */
    if (variants[_i].disable[0]) {
        struct quant_kernels via_env;
        setenv("GGPERF_CPU_DISABLE", variants[_i].disable, 1);
        quant_kernels_init(&via_env, (enum quant_isa)isa);
        unsetenv("GGPERF_CPU_DISABLE");
        for (int i = 0; i < N_TYPES; i++)
            ck_assert(via_env.dot[k_types[i]] == fast.dot[k_types[i]]);
        ck_assert(via_env.gemm[QT_Q4_0] == fast.gemm[QT_Q4_0]);
    }
    static const int acts[] = { QT_Q8_0, QT_Q8_K, QT_F16 };
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(fast.from_float[acts[i]]);
        ck_assert(fast.from_float[acts[i]] != ref.from_float[acts[i]]);
    }
    /* untouched slots keep the reference kernels */
    ck_assert(fast.dot[QT_Q2_K] == ref.dot[QT_Q2_K]);
    ck_assert_int_eq(fast.dot_isa[QT_Q2_K], QISA_REF);
    ck_assert_str_eq(fast.dot_variant[QT_Q2_K], "ref");
    ck_assert(fast.to_float[QT_Q4_K] == ref.to_float[QT_Q4_K]);
}
END_TEST

/* ---- dot products on random blocks --------------------------------------- */

START_TEST(test_dot_random)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    static const int64_t n32[] = { 32, 96, 256, 512, 4096, 5632 };
    static const int64_t n256[] = { 256, 512, 4096, 5632 };
    static const int64_t nf16[] = { 1, 7, 8, 15, 16, 17, 31, 33, 100, 256, 4096, 5632 };
    static const int nys[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13 };
    uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    int cases = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int t = k_types[ti];
        const int64_t *ns = t == QT_F16 ? nf16 : quant_traits_get(t)->blck == 32 ? n32 : n256;
        const int nn = t == QT_F16 ? 12 : quant_traits_get(t)->blck == 32 ? 6 : 4;
        double worst = 0.0;
        for (int a = 0; a < nn; a++)
            for (int b = 0; b < (int)(sizeof nys / sizeof nys[0]); b++) {
                const int k = a * 9 + b;
                double w = check_dot_case(&fast, &ref, t, ns[a], nys[b], k % 4, (k / 4) % 4, (k * 7) % 5, &s);
                if (w > worst)
                    worst = w;
                cases++;
            }
        if (getenv("QUANT_SIMD_VERBOSE"))
            printf("quant_simd: %s %s worst |diff|/magnitude %.3g\n", fast.dot_variant[t],
                   quant_type_name(t), worst);
    }
    ck_assert_int_eq(cases, (12 + 2 * 6 + 3 * 4) * 9);
}
END_TEST

/* ---- bit-identical when every float op is exact -------------------------- */

/* Blocks whose float scales are all 1 (dmin too), quants random in their
 * full range; activations random in [-127, 127] with d = 1 and consistent
 * bsums. With n = 256/512 every partial sum stays far below 2^24, so both
 * kernels compute exact integers in float and must agree bit for bit. F16
 * uses small integers for the same reason. */
static void unit_scale_weights(int t, uint8_t *x, int64_t n, uint64_t *s)
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

static void unit_scale_acts(int vt, uint8_t *y, int64_t n, uint64_t *s, int extreme)
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

START_TEST(test_dot_exact)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    static const int nys[] = { 1, 3, 4, 5, 8, 9 };
    uint64_t s = 0x2545f4914f6cdd1dull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const int t = k_types[ti], vt = vec_type(t);
        for (int64_t n = 256; n <= 512; n += 256)
            for (int b = 0; b < (int)(sizeof nys / sizeof nys[0]); b++) {
                const int ny = nys[b];
                const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n);
                uint8_t *x = malloc(xrow), *y = malloc(yrow * (size_t)ny);
                float sf[9], sr[9];
                ck_assert(x && y);
                unit_scale_weights(t, x, n, &s);
                for (int j = 0; j < ny; j++)
                    unit_scale_acts(vt, y + (size_t)j * yrow, n, &s, 0);
                ref.dot[t](n, x, y, yrow, ny, sr);
                fast.dot[t](n, x, y, yrow, ny, sf);
                for (int j = 0; j < ny; j++) {
                    ck_assert_msg(sr[j] == rintf(sr[j]) && fabsf(sr[j]) < 16777216.0f,
                                  "%s reference not an exact integer: %.9g", quant_type_name(t), sr[j]);
                    ck_assert_msg(sf[j] == sr[j], "%s %s n=%lld ny=%d row %d: fast %.9g != ref %.9g",
                                  fast.dot_variant[t], quant_type_name(t), (long long)n, ny, j,
                                  sf[j], sr[j]);
                }
                free(x);
                free(y);
            }
    }
}
END_TEST

/* ---- extreme quant values ------------------------------------------------ */

/* Weights at the ends of their range (all 0 or all max nibbles, -128/127
 * bytes, 63 scales, Q6_K -128/127 scales) against activations of +-127:
 * where a kernel's int16 intermediates could saturate or int32 sums
 * overflow. Compared within the usual bound. */
static void extreme_weights(int t, uint8_t *x, int64_t n, uint64_t *s)
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

START_TEST(test_dot_extremes)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    uint64_t s = 0x5851f42d4c957f2dull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    for (int ti = 1; ti < N_TYPES; ti++) { /* not F16: no integer parts */
        const int t = k_types[ti], vt = vec_type(t);
        const int64_t n = 4096;
        const int ny = 5;
        const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n);
        uint8_t *x = malloc(xrow), *y = malloc(yrow * ny);
        float *wf = malloc(n * sizeof *wf), *af = malloc(n * sizeof *af);
        float sf[5], sr[5];
        ck_assert(x && y && wf && af);
        extreme_weights(t, x, n, &s);
        for (int j = 0; j < ny; j++)
            unit_scale_acts(vt, y + (size_t)j * yrow, n, &s, 1);
        ref.dot[t](n, x, y, yrow, ny, sr);
        fast.dot[t](n, x, y, yrow, ny, sf);
        for (int j = 0; j < ny; j++) {
            const double mag = dot_magnitude(&ref, t, x, y + (size_t)j * yrow, n, wf, af);
            ck_assert_msg(fabs((double)sf[j] - sr[j]) <= tolerance(t) * mag,
                          "%s %s extreme row %d: fast %.9g ref %.9g (magnitude %.4g)",
                          fast.dot_variant[t], quant_type_name(t), j, sf[j], sr[j], mag);
        }
        free(x);
        free(y);
        free(wf);
        free(af);
    }
}
END_TEST

/* ---- multi-row kernels (gemm) --------------------------------------------- */

/* Weights of one kind for nr rows: 0 random, 1 unit scales, 2 extremes. */
static void gemm_weights(int kind, int t, uint8_t *x, int64_t n, uint64_t *s)
{
    if (kind == 0)
        fill_weights(t, x, n, s);
    else if (kind == 1)
        unit_scale_weights(t, x, n, s);
    else
        extreme_weights(t, x, n, s);
}

/* nr weight rows, row r at x + r * xs (xs = row + pad, base misaligned by
 * xoff), against ny activation rows (stride row + ypad): every output
 * s[j * ld + r] must match the reference dot of that pair (exactly for
 * unit scales and extremes, whose sums are exact integers in float; within
 * the dot bound for random blocks), and the padding of the output rows
 * (ld = nr + 3) stays untouched. Returns 1 when the type has a gemm kernel. */
/* Kernels whose gemm results must equal the tested ones bit for bit, for
 * the types of same_bits_type (the AMX int8 tiles against the VNNI tiles
 * whose panels and float step they share; not Q8_0, whose AMX kernel
 * reads the weights in place and scales in its own order); NULL: no such
 * check. */
static const struct quant_kernels *same_bits;
static bool same_bits_type(int t)
{
    return t == QT_Q4_0 || t == QT_Q4_K || t == QT_Q5_K || t == QT_Q6_K;
}

static int check_gemm_case(const struct quant_kernels *fast, const struct quant_kernels *ref, int t, int64_t n,
                           int nr, int ny, int xoff, int pad, int kind, uint64_t *s)
{
    if (!fast->gemm[t])
        return 0;
    const int vt = vec_type(t);
    const size_t xrow = quant_row_size(t, n), yrow = quant_row_size(vt, n), xs = xrow + (size_t)pad;
    const size_t ys = yrow + (size_t)(pad ? 7 : 0), ld = (size_t)nr + 3;
    uint8_t *xb = malloc((size_t)xoff + xs * (size_t)(nr - 1) + xrow), *y = malloc(ys * (size_t)ny);
    uint8_t *xa = malloc(xrow), *ya = malloc(yrow);
    float *wf = malloc((size_t)n * sizeof *wf), *af = malloc((size_t)n * sizeof *af);
    float *sf = malloc(ld * (size_t)ny * sizeof *sf);
    ck_assert(xb && y && xa && ya && wf && af && sf);
    uint8_t *x = xb + xoff;
    memset(y, 0xa5, ys * (size_t)ny);
    for (int j = 0; j < ny; j++) {
        if (kind == 0)
            fill_acts(ref, vt, ya, yrow, 1, n, wf, s);
        else
            unit_scale_acts(vt, ya, n, s, kind == 2);
        memcpy(y + (size_t)j * ys, ya, yrow);
    }
    for (int r = 0; r < nr; r++) {
        gemm_weights(kind, t, xa, n, s);
        memcpy(x + (size_t)r * xs, xa, xrow);
        if (pad && r + 1 < nr)
            memset(x + (size_t)r * xs + xrow, 0x5a, (size_t)pad); /* junk between rows */
    }
    for (size_t k = 0; k < ld * (size_t)ny; k++)
        sf[k] = -12345.0f;
    fast->gemm[t](n, x, xs, nr, y, ys, ny, sf, ld);
    /* the VNNI tiles sum a chunk of 8 or fewer activation rows over all
     * blocks in registers, not per 64-block panel as the AMX tiles do: the
     * bits agree where both use panels (or one panel holds every block) */
    const bool panels_alike = ny % 64 == 0 || ny % 64 > 8 || n / 32 <= 64;
    if (same_bits && same_bits_type(t) && same_bits->gemm[t] && panels_alike) {
        float *s2 = malloc(ld * (size_t)ny * sizeof *s2);
        ck_assert(s2);
        for (size_t k = 0; k < ld * (size_t)ny; k++)
            s2[k] = -12345.0f;
        same_bits->gemm[t](n, x, xs, nr, y, ys, ny, s2, ld);
        for (size_t k = 0; k < ld * (size_t)ny; k++)
            ck_assert_msg(memcmp(&sf[k], &s2[k], sizeof *sf) == 0,
                          "%s gemm %s vs %s n=%lld nr=%d ny=%d: output %zu %.9g != %.9g", quant_type_name(t),
                          fast->gemm_variant[t], same_bits->gemm_variant[t], (long long)n, nr, ny, k, sf[k], s2[k]);
        free(s2);
    }
    /* the decode kernel for weights in 4 KiB pages: the same checks, as a
     * table whose gemm slot is that kernel */
    if (ny == 1 && fast->gemm_4k[t]) {
        struct quant_kernels k4 = *fast;
        k4.gemm[t] = fast->gemm_4k[t];
        k4.gemm_4k[t] = NULL;
        k4.gemm_variant[t] = "4k";
        const struct quant_kernels *sb = same_bits;
        same_bits = NULL;
        check_gemm_case(&k4, ref, t, n, nr, ny, xoff, pad, kind, s);
        same_bits = sb;
    }
    for (int j = 0; j < ny; j++) {
        for (size_t k = (size_t)nr; k < ld; k++)
            ck_assert_msg(sf[(size_t)j * ld + k] == -12345.0f, "%s gemm wrote past row %d's %d outputs (n=%lld)",
                          quant_type_name(t), j, nr, (long long)n);
        memcpy(ya, y + (size_t)j * ys, yrow); /* aligned copies for the reference */
        for (int r = 0; r < nr; r++) {
            float sr;
            const float got = sf[(size_t)j * ld + (size_t)r];
            memcpy(xa, x + (size_t)r * xs, xrow);
            ref->dot[t](n, xa, ya, yrow, 1, &sr);
            if (kind == 0) {
                const double mag = dot_magnitude(ref, t, xa, ya, n, wf, af);
                ck_assert_msg(fabs((double)got - sr) <= tolerance(t) * mag + 1e-30,
                              "%s gemm n=%lld nr=%d ny=%d (%d, %d) (xoff %d pad %d): %.9g ref %.9g (magnitude %.4g)",
                              quant_type_name(t), (long long)n, nr, ny, j, r, xoff, pad, got, sr, mag);
            } else {
                /* integer products and sums are exact in float while
                 * every partial sum stays below 2^24, which the sum of the
                 * products' magnitudes bounds; past it each kernel rounds
                 * its partial sums in its own order: one rounding of that
                 * magnitude per group of 16 values at most */
                const double mag = dot_magnitude(ref, t, xa, ya, n, wf, af);
                const bool exact = mag < 16777216.0;
                const double bound = exact ? 0 : mag * FLT_EPSILON * (double)(n / 16);
                ck_assert_msg(exact ? got == sr : fabs((double)got - sr) <= bound,
                              "%s gemm %s n=%lld nr=%d ny=%d (%d, %d): %.9g != ref %.9g",
                              quant_type_name(t), kind == 1 ? "unit scales" : "extremes", (long long)n, nr, ny, j, r,
                              got, sr);
            }
        }
    }
    free(xb);
    free(y);
    free(xa);
    free(ya);
    free(wf);
    free(af);
    free(sf);
    return 1;
}

START_TEST(test_gemm)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    /* n: 1, 3, 8, 9 and 64 blocks of 32 (the tails of the 8-block step);
     * 9216 = 288 blocks crosses the prefill kernels' 128-block tables and
     * 64-block panels */
    static const int64_t ns[] = { 32, 96, 256, 288, 2048 };
    /* 16, 17, 24, 33, 40: the 16-row tile, then its 8-row and single-row tails */
    static const int nrs[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 33, 40 };
    const int n_nrs = (int)(sizeof nrs / sizeof nrs[0]);
    static const int nys[] = { 1, 2, 5, 8, 9, 13, 33, 40 };
    uint64_t s = 0x94d049bb133111ebull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    int cases = 0;
    /* the AMX variant's Q4_0/Q8_0 tiles: the same bits as the VNNI ones */
    struct quant_kernels lower, lower_ref;
    same_bits = _i == 4 && kernels_for(3, &lower, &lower_ref) ? &lower : NULL;
    for (int ti = 0; ti < N_TYPES; ti++) {
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < n_nrs; b++) {
                const int k = a * n_nrs + b, ny = nys[k % 8];
                /* K-quants: 1, 3, 8, 9 and 18 super-blocks of 256 (18
                 * cross the Q4_K tile's 16-super-block panels; more would
                 * take the extremes' sums past 2^24, where float sums are
                 * no longer exact and the bit-equality below fails) */
                const int64_t nn =
                    quant_traits_get(k_types[ti])->blck == QK_K ? (ns[a] == 2048 ? 4608 : ns[a] * 8) : ns[a];
                cases += check_gemm_case(&fast, &ref, k_types[ti], nn, nrs[b], ny, k % 3, (k % 2) * 5, 0, &s);
                if (ns[a] == 2048 || ns[a] == 288) {
                    cases += check_gemm_case(&fast, &ref, k_types[ti], nn, nrs[b], nys[(k + 3) % 8], 1, 0, 1, &s);
                    cases += check_gemm_case(&fast, &ref, k_types[ti], nn, nrs[b], nys[(k + 5) % 8], 2, 3, 2, &s);
                }
            }
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 9, 10, 1, 5, 0, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 8, 3, 0, 0, 1, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 32, 8, 2, 3, 2, &s);
        /* 70 activation rows: past the Q4_0/Q8_0 tiles' 64-row chunks */
        cases += check_gemm_case(&fast, &ref, k_types[ti], 2304, 17, 70, 1, 5, 0, &s);
        /* the AMX tiles' 16 activation rows: one full tile, a full tile and
         * a 15-row remainder, and 64 rows over 288 blocks (4 tiles per
         * panel, 5 panels, 3 tables) */
        cases += check_gemm_case(&fast, &ref, k_types[ti], 2304, 32, 16, 0, 1, 1, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 1024, 16, 31, 2, 0, 0, &s);
        cases += check_gemm_case(&fast, &ref, k_types[ti], 9216, 16, 64, 1, 3, 2, &s);
        /* decode past the 4-row groups of the 4 KiB kernel, and F16 rows
         * of no whole 32 values (its plain row kernel takes them) */
        cases += check_gemm_case(&fast, &ref, k_types[ti], 4096, 11, 1, 1, 5, 0, &s);
        if (k_types[ti] == QT_F16)
            cases += check_gemm_case(&fast, &ref, QT_F16, 1000, 9, 1, 2, 3, 2, &s);
    }
    if (isa == QISA_AVX512)
        ck_assert_msg(fast.gemm_4k[QT_F16] != NULL, "%s: no F16 decode kernel for 4 KiB pages", variants[_i].label);
    struct cpu_features f;
    variant_features(_i, &f);
    if (isa == QISA_AVX512 && f.avx512vnni)
        ck_assert_msg(fast.gemm[QT_Q4_0] && fast.gemm[QT_Q8_0], "Q4_0/Q8_0 lack gemm kernels on a VNNI CPU");
    same_bits = NULL;
    if (!cases)
        printf("quant_simd: %s has no gemm kernels: nothing to test\n", variants[_i].label);
}
END_TEST

/* ---- activation quantizers ------------------------------------------------ */

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Input pattern p for block-structured activations of n values (blocks of
 * blck): several blocks per pattern so every special case sits in its own
 * block next to ordinary ones. */
static void act_pattern(float *x, int64_t n, int blck, int p, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = rng_unif(s) * 4.0f;
    for (int64_t b = 0; b < n / blck; b++) {
        float *v = x + b * blck;
        switch ((p + b) % 9) {
        case 0: /* plain */
            break;
        case 1: /* exact ties: max 127 so the scale is 1 (Q8_0) or -1 (Q8_K) */
            for (int i = 0; i < blck; i++)
                v[i] = (float)((int)(rng_next(s) % 253) - 126) + 0.5f;
            v[rng_next(s) % blck] = (rng_next(s) & 1) ? 127.0f : -127.0f;
            break;
        case 2: /* all zero, with a negative zero */
            memset(v, 0, (size_t)blck * sizeof *v);
            v[3] = -0.0f;
            break;
        case 3: /* a single non-zero value */
            memset(v, 0, (size_t)blck * sizeof *v);
            v[rng_next(s) % blck] = -0.75f;
            break;
        case 4: { /* +a and -a both of largest magnitude: the first wins;
                   * in one vector lane group and in different ones */
            const float a = (rng_next(s) & 1) ? 5.0f : -5.0f;
            const int second = (b & 1) ? 6 : blck - 2;
            v[5] = a;
            v[second] = -a;
            break;
        }
        case 5: /* tiny: scale computations near and below FLT_MIN */
            for (int i = 0; i < blck; i++)
                v[i] *= (b & 1) ? 1e-37f : 1e-39f;
            break;
        case 6: /* huge */
            for (int i = 0; i < blck; i++)
                v[i] *= 1e37f;
            break;
        case 7: /* non-finite */
            v[1] = bits_float(0x7fc00000u); /* default NaN */
            if (b & 1)
                v[blck - 1] = (rng_next(s) & 1) ? INFINITY : -INFINITY;
            break;
        default: /* wide dynamic range inside one block */
            for (int i = 0; i < blck; i++)
                v[i] *= powf(10.0f, (float)((int)(rng_next(s) % 13) - 6));
            break;
        }
    }
}

static void check_same_bytes(const char *what, const struct quant_kernels *fast, const struct quant_kernels *ref,
                             int t, const float *x, int64_t n, int off)
{
    const size_t bytes = quant_row_size(t, n);
    uint8_t *a = calloc(bytes + 4, 1), *b = calloc(bytes + 4, 1);
    ck_assert(a && b);
    ref->from_float[t](x, a, n);
    fast->from_float[t](x, b + off, n);
    for (size_t i = 0; i < bytes; i++)
        ck_assert_msg(a[i] == b[off + i], "%s %s from_float (%s, n=%lld): byte %zu (block %zu) fast 0x%02x ref 0x%02x",
                      quant_isa_name(fast->isa), quant_type_name(t), what, (long long)n, i,
                      i / quant_traits_get(t)->type_size, b[off + i], a[i]);
    for (int i = 0; i < off; i++)
        ck_assert_int_eq(b[i], 0);
    ck_assert_int_eq(b[off + bytes], 0); /* nothing past the row */
    free(a);
    free(b);
}

START_TEST(test_from_float_q8)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    uint64_t s = 0xd1b54a32d192ed03ull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    static const int ts[] = { QT_Q8_0, QT_Q8_K };
    for (int k = 0; k < 2; k++) {
        const int t = ts[k];
        const int blck = t == QT_Q8_K ? QK_K : QK8_0;
        const int64_t n = 18 * (int64_t)blck;
        float *x = malloc((size_t)n * sizeof *x);
        ck_assert_ptr_nonnull(x);
        for (int p = 0; p < 9; p++) {
            act_pattern(x, n, blck, p, &s);
            check_same_bytes("patterns", &fast, &ref, t, x, n, p % 4);
        }
        /* one block only, and a long row of ordinary values */
        act_pattern(x, blck, blck, 0, &s);
        check_same_bytes("one block", &fast, &ref, t, x, blck, 1);
        free(x);
        x = malloc(5632 * sizeof *x);
        ck_assert_ptr_nonnull(x);
        for (int i = 0; i < 5632; i++)
            x[i] = rng_unif(&s) * 2.5f;
        check_same_bytes("long row", &fast, &ref, t, x, 5632, 3);
        free(x);
    }
}
END_TEST

START_TEST(test_from_float_f16)
{
    const int isa = variants[_i].isa;
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    uint64_t s = 0x94d049bb133111ebull ^ (uint64_t)isa ^ ((uint64_t)_i << 8);
    enum { N = 4099 };
    float *x = malloc(N * sizeof *x);
    ck_assert_ptr_nonnull(x);
    /* random bit patterns (all exponents: f16 subnormals, overflow to inf,
     * f32 subnormals, inf, NaN with payloads) and ordinary values */
    for (int i = 0; i < N; i++) {
        const uint32_t u = (uint32_t)rng_next(&s);
        x[i] = i % 3 ? bits_float(u) : rng_unif(&s) * 100.0f;
    }
    /* round-to-even ties at the f16 precision, and the overflow edge */
    x[0] = 1.0f + 1.0f / 2048.0f;
    x[1] = 1.0f + 3.0f / 2048.0f;
    x[2] = 65519.0f;
    x[3] = 65520.0f;
    x[4] = 5.9604645e-8f; /* 2^-24, the smallest f16 subnormal */
    x[5] = 2.9802322e-8f; /* 2^-25: ties to zero */
    static const int lens[] = { N, 1, 7, 8, 9, 15, 16, 17, 33, 100 };
    for (int k = 0; k < (int)(sizeof lens / sizeof lens[0]); k++)
        check_same_bytes("bit patterns", &fast, &ref, QT_F16, x + k, lens[k], k % 4);
    free(x);
}
END_TEST

/* ---- attention over an fp16 KV cache -------------------------------------- */

/* n rows of hd halves, rows rs bytes apart, starting off bytes into a block
 * that ends exactly where the last row ends (ASan sees any over-read). */
static uint8_t *kv_rows(int n, int hd, size_t rs, size_t off, bool exact_ints, uint64_t *sd, uint8_t **base)
{
    size_t bytes = off + (n > 0 ? (size_t)(n - 1) * rs + 2 * (size_t)hd : 0);
    *base = malloc(bytes ? bytes : 1);
    ck_assert_ptr_nonnull(*base);
    memset(*base, 0x7c, bytes); /* padding reads as NaN halves: a kernel that reads it is caught */
    uint8_t *rows = *base + off;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < hd; i++)
            put_half(rows + (size_t)j * rs + 2 * (size_t)i,
                     exact_ints ? (float)((int)(rng_next(sd) % 9) - 4) : 3 * rng_unif(sd));
    return rows;
}

/* kq and pv of each variant against double sums of the same f32 products:
 * head sizes around the 8/16/32/64-value steps, key counts around the
 * 4-key step, misaligned rows and padded strides; bit-identical when every
 * product and partial sum is a small integer. Neither kernel writes past
 * s[n) or out[hd). */
START_TEST(test_attn)
{
    struct quant_kernels fast, ref;
    if (!kernels_for(_i, &fast, &ref))
        return;
    ck_assert_str_eq(ref.attn_variant, "ref");
    ck_assert(ref.attn_kq_f16 == NULL && ref.attn_pv_f16 == NULL);
    ck_assert_ptr_nonnull(fast.attn_kq_f16);
    ck_assert_ptr_nonnull(fast.attn_pv_f16);
    ck_assert_str_eq(fast.attn_variant, variants[_i].isa == QISA_AVX2 ? "avx2" : "avx512");
    ck_assert(ref.f16_round == NULL);
    ck_assert_ptr_nonnull(fast.f16_round);
    /* the rounding equals quant_f32_to_f16 bit for bit: ties, subnormals,
     * overflow to inf, signed zeros, every length around the vector steps */
    {
        static const float special[] = { 0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f,
                                         5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-10f, 1.0009765625f, 1.00048828125f,
                                         1.00146484375f, -2.5f, 3.14159f, INFINITY, -INFINITY };
        float x[71], y[72];
        uint64_t rs = 99;
        for (int len = 0; len <= 71; len++) {
            for (int i = 0; i < len; i++)
                x[i] = i < (int)(sizeof special / sizeof special[0]) && len % 2 ? special[i]
                                                                                : 1e3f * rng_unif(&rs) * rng_unif(&rs);
            y[len] = 42.0f;
            const float scale = len % 3 ? 1.0f : 0.37f;
            fast.f16_round(x, scale, y, len);
            ck_assert(y[len] == 42.0f);
            for (int i = 0; i < len; i++) {
                float want = quant_f16_to_f32(quant_f32_to_f16(x[i] * scale));
                ck_assert_msg(memcmp(&want, &y[i], 4) == 0, "%s f16_round(%.9g * %g) = %.9g, want %.9g",
                              variants[_i].label, x[i], scale, y[i], want);
            }
            fast.f16_round(x, scale, x, len); /* in place */
            ck_assert(len == 0 || memcmp(x, y, (size_t)len * 4) == 0);
        }
    }
    /* the softmax numerators: within 2 ulp of expf (0 where expf is
     * subnormal), the maximum's exactly 1, the sum theirs */
    ck_assert(ref.attn_exp == NULL);
    ck_assert_ptr_nonnull(fast.attn_exp);
    {
        static const int lens[] = { 1, 2, 7, 8, 9, 15, 16, 17, 33, 100, 513 };
        float x[513], y[514];
        uint64_t es = 7;
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            const int len = lens[li];
            const float scale = li % 2 ? 0.125f : 1.0f;
            for (int i = 0; i < len; i++)
                x[i] = (li % 3 == 0 ? 120.0f : 12.0f) * rng_unif(&es); /* some far below the max */
            memcpy(y, x, (size_t)len * 4);
            y[len] = 42.0f;
            double sum = fast.attn_exp(y, len, scale);
            ck_assert(y[len] == 42.0f);
            float mx = -INFINITY;
            for (int i = 0; i < len; i++)
                mx = fmaxf(mx, x[i] * scale);
            double want_sum = 0;
            for (int i = 0; i < len; i++) {
                const float arg = x[i] * scale - mx;
                const float want = arg < -87.3f ? 0.0f : expf(arg);
                want_sum += want;
                ck_assert_msg(fabsf(y[i] - want) <= 2.5f * 1.1920929e-7f * want, "%s exp(%.9g) = %.9g, want %.9g",
                              variants[_i].label, (double)arg, (double)y[i], (double)want);
                if (x[i] * scale == mx)
                    ck_assert(y[i] == 1.0f);
            }
            ck_assert_msg(fabs(sum - want_sum) <= 1e-6 * want_sum, "%s sum %.12g vs %.12g", variants[_i].label, sum,
                          want_sum);
        }
    }
    /* the FFN gate: silu(g) * u within 4 ulp of the double-precision
     * value (2 of them exp's), tiny where exp is below float's range,
     * NaN for NaN, nothing written past n */
    ck_assert(ref.swiglu == NULL);
    ck_assert((fast.swiglu != NULL) == (variants[_i].isa == QISA_AVX512)); /* AVX2 keeps the engine's loop */
    if (fast.swiglu) {
        static const float special[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f, 87.0f, -87.0f, 88.0f, -88.0f,
                                         100.0f, -100.0f, 1e30f, -1e30f, 3.4e38f, -3.4e38f };
        const int ns_[] = { 1, 15, 16, 17, 100, 257 };
        float g[258], u[258], g0[258];
        uint64_t es = 11;
        for (size_t k = 0; k < sizeof ns_ / sizeof ns_[0]; k++) {
            const int len = ns_[k];
            for (int i = 0; i < len; i++) {
                g[i] = i < (int)(sizeof special / sizeof special[0]) && k == 5 ? special[i] : 24.0f * rng_unif(&es);
                u[i] = 2.0f * rng_unif(&es);
            }
            if (k == 4)
                g[7] = NAN;
            g[len] = 42.0f;
            memcpy(g0, g, sizeof g);
            fast.swiglu(g, u, len);
            ck_assert(g[len] == 42.0f);
            for (int i = 0; i < len; i++) {
                const double x = g0[i], want = x / (1.0 + exp(-x)) * (double)u[i];
                if (isnan(x)) {
                    ck_assert_msg(isnan(g[i]), "%s swiglu(NaN) = %.9g", variants[_i].label, (double)g[i]);
                    continue;
                }
                if (fabs(want) > FLT_MAX) { /* the product overflows float */
                    ck_assert_msg(isinf(g[i]) && (g[i] > 0) == (want > 0), "%s swiglu(%.9g, %.9g) = %.9g, want inf",
                                  variants[_i].label, x, (double)u[i], (double)g[i]);
                    continue;
                }
                ck_assert_msg(fabs((double)g[i] - want) <= 4 * 1.1920929e-7 * fabs(want) + 1e-35,
                              "%s swiglu(%.9g, %.9g) = %.9g, want %.9g", variants[_i].label, x, (double)u[i],
                              (double)g[i], want);
            }
        }
    }
    /* RMS norm: the engine's scalar loop's result within 2 ulp (the double
     * sum in another order may round the float mean differently), nothing
     * written past n */
    ck_assert(ref.rmsnorm == NULL);
    ck_assert((fast.rmsnorm != NULL) == (variants[_i].isa == QISA_AVX512));
    if (fast.rmsnorm) {
        const int ns_[] = { 1, 7, 8, 9, 31, 32, 33, 100, 768, 2048, 2049 };
        static float x[2050], w[2050], y[2050];
        uint64_t es = 13;
        for (size_t k = 0; k < sizeof ns_ / sizeof ns_[0]; k++) {
            const int len = ns_[k];
            for (int i = 0; i < len; i++) {
                x[i] = (k % 3 == 0 ? 1e-3f : k % 3 == 1 ? 1.0f : 1e3f) * rng_unif(&es);
                w[i] = 1.0f + rng_unif(&es);
            }
            y[len] = 42.0f;
            fast.rmsnorm(x, w, y, len, 1e-5f);
            ck_assert(y[len] == 42.0f);
            double sum = 0;
            for (int i = 0; i < len; i++)
                sum += (double)x[i] * x[i];
            const float sc = 1.0f / sqrtf((float)(sum / len) + 1e-5f);
            for (int i = 0; i < len; i++) {
                const float want = (x[i] * sc) * w[i];
                ck_assert_msg(fabsf(y[i] - want) <= 2.5f * 1.1920929e-7f * fabsf(want), "%s rmsnorm n=%d [%d] %.9g want %.9g",
                              variants[_i].label, len, i, (double)y[i], (double)want);
            }
        }
    }
    static const int hds[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 80, 96, 112, 128, 130 };
    static const int ns[] = { 0, 1, 3, 4, 5, 7, 8, 9, 33 };
    uint64_t sd = 0x5eed0000u + (uint64_t)_i;
    for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++)
            for (int exact = 0; exact < 2; exact++) {
                const int hd = hds[a], n = ns[b];
                const size_t rs = 2 * (size_t)hd + (size_t)(b % 3) * 6, off = (size_t)(a + b) % 2 * 2;
                uint8_t *kbase, *vbase;
                const uint8_t *k = kv_rows(n, hd, rs, off, exact, &sd, &kbase);
                const uint8_t *v = kv_rows(n, hd, rs, off, exact, &sd, &vbase);
                float q[131], p[34], s[34], out[131];
                for (int i = 0; i < hd; i++)
                    q[i] = exact ? (float)((int)(rng_next(&sd) % 7) - 3) : quant_f16_to_f32(quant_f32_to_f16(rng_unif(&sd)));
                for (int j = 0; j < n; j++)
                    p[j] = exact ? (float)(rng_next(&sd) % 3) : quant_f16_to_f32(quant_f32_to_f16(0.5f * (rng_unif(&sd) + 1)));
                for (int j = 0; j <= n; j++)
                    s[j] = -7.0f;
                for (int i = 0; i <= hd; i++)
                    out[i] = exact ? 1.0f : 0.25f;
                fast.attn_kq_f16(q, (const uint16_t *)k, rs, n, hd, s);
                fast.attn_pv_f16(p, (const uint16_t *)v, rs, n, hd, out);
                ck_assert_msg(s[n] == -7.0f, "hd %d n %d: kq wrote s[n]", hd, n);
                ck_assert_msg(out[hd] == (exact ? 1.0f : 0.25f), "hd %d n %d: pv wrote out[hd]", hd, n);
                for (int j = 0; j < n; j++) {
                    double want = 0, mag = 0;
                    for (int i = 0; i < hd; i++) {
                        uint16_t h;
                        memcpy(&h, k + (size_t)j * rs + 2 * (size_t)i, 2);
                        double t = (double)q[i] * quant_f16_to_f32(h);
                        want += t;
                        mag += fabs(t);
                    }
                    if (exact)
                        ck_assert_msg(s[j] == (float)want, "%s hd %d n %d: kq[%d] %.9g != %.9g", variants[_i].label,
                                      hd, n, j, s[j], want);
                    else
                        ck_assert_msg(fabs(s[j] - want) <= 1e-6 * mag + 1e-30, "%s hd %d n %d: kq[%d] %.9g vs %.9g",
                                      variants[_i].label, hd, n, j, s[j], want);
                }
                for (int i = 0; i < hd; i++) {
                    double want = exact ? 1.0 : 0.25, mag = fabs(want);
                    for (int j = 0; j < n; j++) {
                        uint16_t h;
                        memcpy(&h, v + (size_t)j * rs + 2 * (size_t)i, 2);
                        double t = (double)p[j] * quant_f16_to_f32(h);
                        want += t;
                        mag += fabs(t);
                    }
                    if (exact)
                        ck_assert_msg(out[i] == (float)want, "%s hd %d n %d: pv[%d] %.9g != %.9g", variants[_i].label,
                                      hd, n, i, out[i], want);
                    else
                        ck_assert_msg(fabs(out[i] - want) <= 1e-6 * mag + 1e-30, "%s hd %d n %d: pv[%d] %.9g vs %.9g",
                                      variants[_i].label, hd, n, i, out[i], want);
                }
                free(kbase);
                free(vbase);
            }
}
END_TEST

Suite *quant_simd_suite(void)
{
    Suite *s = suite_create("quant_simd");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_table, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_dot_random, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_dot_exact, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_dot_extremes, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_gemm, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_from_float_q8, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_from_float_f16, 0, N_VARIANTS);
    tcase_add_loop_test(tc, test_attn, 0, N_VARIANTS);
    suite_add_tcase(s, tc);
    return s;
}
