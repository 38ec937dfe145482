/* quant_golden suite: the golden models, every quantized matrix
 * dequantized against the F32 source within a per-type bound (which a
 * wrong layout exceeds by far), and the simple quantizers reproducing
 * llama-quantize's bytes. Split from the quant suite (tests/test_quant.c),
 * whose helpers it shares through tests/quant_util.h. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/quant.h"
#include "tests/quant_util.h"
#include "tests/testutil.h"

/* ---------------------------------------------------------------------- */
/* golden models                                                           */

struct gfile {
    const char *name;   /* shared-<name>.gguf */
    bool tied;          /* compare with shared-tied-F32.gguf */
    bool requant_exact; /* our from_float must reproduce the file's bytes */
};

static const struct gfile k_golden[] = {
    { "Q8_0", false, true },    { "Q4_0", false, true },       { "Q4_1", false, true },
    { "Q5_0", false, true },    { "Q5_1", false, true },       { "IQ4_NL", false, true },
    { "Q2_K", false, false },   { "Q3_K", false, false },      { "Q4_K", false, false },
    { "Q5_K", false, false },   { "Q6_K", false, false },      { "IQ4_XS", false, false },
    { "mix-Q4_0", false, false }, { "mix-Q4_K_S", false, false }, { "mix-Q4_K_M", false, false },
    { "mix-Q5_K_M", false, false }, { "tied-Q8_0", true, true }, { "F16", false, true },
    { "BF16", false, true },
};
#define N_GOLDEN ((int)(sizeof k_golden / sizeof k_golden[0]))

/* Relative rms error of a dequantized matrix against its F32 source, per
 * type: the worst matrix measured on the golden files (in the comments)
 * with about 1.25x margin; the spread between matrices is under 1%. A
 * wrong bit layout scrambles weights and gives errors near 1. */
static double rms_bound(int t)
{
    switch (t) {
    case QT_F16: return 3e-4;    /* measured 2.1e-4 */
    case QT_BF16: return 2.2e-3; /* 1.67e-3 */
    case QT_Q8_0: return 0.007;  /* 0.0054 */
    case QT_Q6_K: return 0.023;  /* 0.0180 */
    case QT_Q5_0: return 0.055;  /* 0.0430 */
    case QT_Q5_1: return 0.05;   /* 0.0381 */
    case QT_Q5_K: return 0.047;  /* 0.0363 */
    case QT_Q4_0: return 0.11;   /* 0.0864 */
    case QT_Q4_1: return 0.10;   /* 0.0786 */
    case QT_Q4_K: return 0.092;  /* 0.0716 */
    case QT_IQ4_NL: return 0.098;/* 0.0764 */
    case QT_IQ4_XS: return 0.098;/* 0.0770 */
    case QT_Q3_K: return 0.19;   /* 0.152 */
    case QT_Q2_K: return 0.37;   /* 0.298 */
    default: return 0.0;
    }
}

struct gmodel {
    void *buf;
    struct gguf g;
};

static void gmodel_open(struct gmodel *m, const char *file)
{
    char path[4096], err[256] = "";
    size_t len = 0;
    tu_golden_path(path, sizeof path, file);
    m->buf = tu_read_file(path, &len);
    ck_assert_msg(m->buf != NULL, "cannot read %s", path);
    int rc = gguf_open_alloc(&m->g, m->buf, len, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", path, err);
}

static void gmodel_close(struct gmodel *m)
{
    gguf_close(&m->g);
    free(m->buf);
}

START_TEST(test_golden_dequant)
{
    const struct gfile *gf = &k_golden[_i];
    char file[128];
    snprintf(file, sizeof file, "shared-%s.gguf", gf->name);
    struct gmodel q, f;
    gmodel_open(&q, file);
    gmodel_open(&f, gf->tied ? "shared-tied-F32.gguf" : "shared-F32.gguf");

    int n_mat = 0;
    double se_type[QT_COUNT] = { 0 }, sx_type[QT_COUNT] = { 0 }, worst[QT_COUNT] = { 0 };
    for (uint64_t i = 0; i < q.g.n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(&q.g, i);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        const struct gguf_tensor *src = gguf_find_tensor(&f.g, name);
        ck_assert_msg(src != NULL, "%s: %s not in the F32 model", file, name);
        ck_assert_int_eq(src->type, QT_F32);
        ck_assert_int_eq(src->n_elements, t->n_elements);
        ck_assert_int_eq(src->ne[0], t->ne[0]);
        if (t->n_dims != 2)
            continue; /* the norm vectors are F32 everywhere */
        ck_assert_msg(quant_supported(t->type), "%s: %s has type %s", file, name,
                      quant_type_name(t->type));
        const struct quant_traits *tr = tr_of(t->type);
        const int64_t n = t->n_elements;
        float *y = malloc((size_t)n * sizeof *y);
        float *ref = malloc((size_t)n * sizeof *ref);
        ck_assert(y && ref);
        memcpy(ref, src->data, (size_t)n * sizeof *ref); /* the view may be unaligned */
        tr->to_float(t->data, y, n);
        double se = 0, sx = 0;
        for (int64_t j = 0; j < n; j++) {
            REQUIRE(isfinite(y[j]), "%s: %s[%lld] = %g", file, name, (long long)j, y[j]);
            double e = (double)y[j] - ref[j];
            se += e * e;
            sx += (double)ref[j] * ref[j];
        }
        double rel = sqrt(se / sx);
        ck_assert_msg(rel < rms_bound(t->type), "%s: %s (%s) relative rms error %.5f >= %.5f", file,
                      name, tr->name, rel, rms_bound(t->type));
        worst[t->type] = fmax(worst[t->type], rel);
        se_type[t->type] += se;
        sx_type[t->type] += sx;

        if (gf->requant_exact) {
            /* llama-quantize (no imatrix) runs exactly these reference
             * quantizers: our bytes must be the file's bytes. */
            size_t bytes = quant_row_size(t->type, n);
            ck_assert_uint_eq(bytes, t->n_bytes);
            unsigned char *mine = malloc(bytes);
            ck_assert_ptr_nonnull(mine);
            tr->from_float(ref, mine, n);
            const size_t bsz = tr->type_size;
            size_t bad = 0, first = 0;
            for (size_t b = 0; b < bytes / bsz; b++) {
                if (memcmp(mine + b * bsz, t->data + b * bsz, bsz) != 0) {
                    if (!bad)
                        first = b;
                    bad++;
                }
            }
            ck_assert_msg(bad == 0, "%s: %s: %zu of %zu blocks differ from llama-quantize's, first %zu",
                          file, name, bad, bytes / bsz, first);
            free(mine);
        }
        free(y);
        free(ref);
        n_mat++;
    }
    ck_assert_int_eq(n_mat, gf->tied ? 15 : 16);
    if (verbose())
        for (int t = 0; t < QT_COUNT; t++)
            if (sx_type[t] > 0)
                printf("golden %-12s %-6s rel rms %.5f, worst matrix %.5f (bound %.4f)\n", gf->name,
                       quant_type_name(t), sqrt(se_type[t] / sx_type[t]), worst[t], rms_bound(t));
    gmodel_close(&q);
    gmodel_close(&f);
}
END_TEST

/* A layout error must not slip through the golden bound: shuffling the
 * nibbles of Q4_0 (as a wrong layout would) gives an error far above it. */
START_TEST(test_golden_bound_detects_bad_layout)
{
    struct gmodel q, f;
    gmodel_open(&q, "shared-Q4_0.gguf");
    gmodel_open(&f, "shared-F32.gguf");
    const struct gguf_tensor *t = gguf_find_tensor(&q.g, "blk.0.ffn_up.weight");
    const struct gguf_tensor *src = gguf_find_tensor(&f.g, "blk.0.ffn_up.weight");
    ck_assert(t && src && t->type == QT_Q4_0);
    const int64_t n = t->n_elements;
    unsigned char *bad = malloc(t->n_bytes);
    float *y = malloc((size_t)n * sizeof *y), *ref = malloc((size_t)n * sizeof *ref);
    ck_assert(bad && y && ref);
    memcpy(bad, t->data, t->n_bytes);
    memcpy(ref, src->data, (size_t)n * sizeof *ref);
    for (size_t b = 0; b < t->n_bytes / sizeof(struct block_q4_0); b++) {
        uint8_t *qs = bad + b * sizeof(struct block_q4_0) + 2;
        for (int j = 0; j < 16; j++)
            qs[j] = (uint8_t)(qs[j] >> 4 | qs[j] << 4); /* swap the halves */
    }
    tr_of(QT_Q4_0)->to_float(bad, y, n);
    double se = 0, sx = 0;
    for (int64_t j = 0; j < n; j++) {
        se += ((double)y[j] - ref[j]) * ((double)y[j] - ref[j]);
        sx += (double)ref[j] * ref[j];
    }
    ck_assert_msg(sqrt(se / sx) > 5 * rms_bound(QT_Q4_0), "swapped nibbles: %.3f", sqrt(se / sx));
    free(bad);
    free(y);
    free(ref);
    gmodel_close(&q);
    gmodel_close(&f);
}
END_TEST

Suite *quant_golden_suite(void)
{
    Suite *s = suite_create("quant_golden");

    TCase *tg = tcase_create("golden");
    tcase_set_timeout(tg, 120);
    tcase_add_loop_test(tg, test_golden_dequant, 0, N_GOLDEN);
    tcase_add_test(tg, test_golden_bound_detects_bad_layout);
    suite_add_tcase(s, tg);
    return s;
}
