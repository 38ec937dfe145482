/* synth suite: synthesized models have llama.cpp's layout (checked against
 * every golden file, tensor by tensor, and the golden JSON's per-tensor
 * types), read back with the engine's GGUF reader with the planned shapes,
 * types, metadata, size and vocabulary; weights are finite with the planned
 * spread and a forward pass gives sane logits; output is deterministic; the
 * CLI refuses to overwrite, names bad flags, and leaves no temporary files.
 * Plus unit tests of the streaming writer (sticky errors, counting mode,
 * deferred magic, a full disk via /dev/full). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/infer.h"
#include "engine/model.h"
#include "engine/quant.h"
#include "engine/tokenizer.h"
#include "modelgen/gguf_writer.h"
#include "modelgen/synth.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */

struct loaded {
    void *buf;
    size_t len;
    struct gguf g;
};

static void load(struct loaded *l, const char *path)
{
    char err[512];
    l->buf = tu_read_file(path, &l->len);
    ck_assert_msg(l->buf != NULL, "cannot read %s", path);
    int rc = gguf_open_alloc(&l->g, l->buf, l->len, err, sizeof err);
    ck_assert_msg(rc == GGUF_OK, "%s: %s", path, err);
}

static void unload(struct loaded *l)
{
    gguf_close(&l->g);
    free(l->buf);
}

static void tiny_spec(struct synth_spec *s, const char *type, bool pure)
{
    ck_assert_int_eq(synth_shape_find("tiny", s), SYNTH_OK);
    s->ftype = synth_ftype_from_name(type, pure);
    ck_assert_msg(s->ftype >= 0, "type %s", type);
    s->pure = pure;
}

static void write_ok(const struct synth_spec *s, const char *path, unsigned flags)
{
    char err[512];
    int rc = synth_write(s, path, flags, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == SYNTH_OK, "synth_write %s: %d %s", path, rc, err);
}

/* No "*.tmp.*" file in dir. */
static void assert_no_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        ck_assert_msg(strstr(e->d_name, ".tmp.") == NULL, "temporary file left: %s/%s", dir, e->d_name);
    closedir(d);
}

static bool str_is(struct gguf_str s, const char *c)
{
    return gguf_str_eq(s, c);
}

static uint64_t get_u64(const struct gguf *g, const char *key)
{
    uint64_t v = 0;
    char err[256];
    ck_assert_msg(gguf_get_u64(g, key, &v, err, sizeof err) == GGUF_OK, "%s: %s", key, err);
    return v;
}

/* ------------------------------------------------------------------ */
/* layout against the golden files                                      */

/* Golden variant -> (--type, --pure, --tied). */
static const struct {
    const char *file;
    const char *type;
    bool pure, tied;
} goldens[] = {
    { "shared-F32.gguf", "F32", false, false },      { "shared-F16.gguf", "F16", false, false },
    { "shared-BF16.gguf", "BF16", false, false },    { "shared-Q8_0.gguf", "Q8_0", true, false },
    { "shared-Q4_0.gguf", "Q4_0", true, false },     { "shared-Q4_1.gguf", "Q4_1", true, false },
    { "shared-Q5_0.gguf", "Q5_0", true, false },     { "shared-Q5_1.gguf", "Q5_1", true, false },
    { "shared-Q2_K.gguf", "Q2_K", true, false },     { "shared-Q3_K.gguf", "Q3_K", true, false },
    { "shared-Q4_K.gguf", "Q4_K", true, false },     { "shared-Q5_K.gguf", "Q5_K", true, false },
    { "shared-Q6_K.gguf", "Q6_K", true, false },     { "shared-IQ4_NL.gguf", "IQ4_NL", true, false },
    { "shared-IQ4_XS.gguf", "IQ4_XS", true, false }, { "shared-mix-Q4_0.gguf", "Q4_0", false, false },
    { "shared-mix-Q4_K_M.gguf", "Q4_K_M", false, false }, { "shared-mix-Q4_K_S.gguf", "Q4_K_S", false, false },
    { "shared-mix-Q5_K_M.gguf", "Q5_K_M", false, false }, { "shared-tied-F32.gguf", "F32", false, true },
    { "shared-tied-Q8_0.gguf", "Q8_0", true, true },
};

/* The plan for the tiny shape has the golden file's tensors (name, type,
 * shape, offset, in order), keys (name, type, in order), file type and
 * data section size: everything but the vocabulary strings and the name. */
START_TEST(test_plan_matches_golden_layout)
{
    char path[1024], err[512];
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
        struct synth_spec s;
        tiny_spec(&s, goldens[i].type, goldens[i].pure);
        s.tied = goldens[i].tied;
        struct synth_plan *p = NULL;
        ck_assert_msg(synth_plan_new(&s, &p, err, sizeof err) == SYNTH_OK, "%s: %s", goldens[i].file, err);
        struct loaded l;
        load(&l, tu_golden_path(path, sizeof path, goldens[i].file));
        const char *f = goldens[i].file;

        ck_assert_msg(l.g.n_tensors == p->n_tensors, "%s: %llu tensors, planned %llu", f,
                      (unsigned long long)l.g.n_tensors, (unsigned long long)p->n_tensors);
        for (uint64_t t = 0; t < p->n_tensors; t++) {
            const struct gguf_tensor *gt = gguf_tensor_at(&l.g, t);
            const struct synth_tensor *pt = &p->tensors[t];
            ck_assert_msg(str_is(gt->name, pt->name), "%s: tensor %llu is %.*s, planned %s", f,
                          (unsigned long long)t, (int)gt->name.len, gt->name.ptr, pt->name);
            ck_assert_msg(gt->type == pt->type, "%s: %s type %s, planned %s", f, pt->name,
                          quant_type_name(gt->type), quant_type_name(pt->type));
            ck_assert_msg(gt->n_dims == pt->n_dims && gt->ne[0] == pt->ne[0] && gt->ne[1] == pt->ne[1],
                          "%s: %s shape differs", f, pt->name);
            ck_assert_msg(gt->offset == pt->offset && gt->n_bytes == pt->n_bytes,
                          "%s: %s offset %llu bytes %llu, planned %llu %llu", f, pt->name,
                          (unsigned long long)gt->offset, (unsigned long long)gt->n_bytes,
                          (unsigned long long)pt->offset, (unsigned long long)pt->n_bytes);
        }
        ck_assert_msg(l.g.data_bytes <= p->data_bytes && p->data_bytes - l.g.data_bytes < SYNTH_ALIGNMENT,
                      "%s: data bytes %llu, planned %llu", f, (unsigned long long)l.g.data_bytes,
                      (unsigned long long)p->data_bytes);
        /* The keys, in order, with their types. */
        ck_assert_msg(l.g.n_kv == p->n_kv, "%s: %llu keys, planned %llu", f, (unsigned long long)l.g.n_kv,
                      (unsigned long long)p->n_kv);
        ck_assert_uint_eq(get_u64(&l.g, "general.file_type"), (uint64_t)s.ftype);
        synth_plan_free(p);

        /* Write it and compare the keys one by one. */
        char out[256];
        const char *dir = tu_tmpdir();
        snprintf(out, sizeof out, "%s/m.gguf", dir);
        write_ok(&s, out, 0);
        struct loaded m;
        load(&m, out);
        for (uint64_t k = 0; k < l.g.n_kv; k++) {
            const struct gguf_kv *a = gguf_kv_at(&l.g, k), *b = gguf_kv_at(&m.g, k);
            ck_assert_msg(a->key.len == b->key.len && memcmp(a->key.ptr, b->key.ptr, a->key.len) == 0,
                          "%s: key %llu is %.*s, ours %.*s", f, (unsigned long long)k, (int)a->key.len,
                          a->key.ptr, (int)b->key.len, b->key.ptr);
            ck_assert_msg(a->value.type == b->value.type, "%s: %.*s type differs", f, (int)a->key.len, a->key.ptr);
            if (a->value.type == GGUF_VT_ARRAY) {
                ck_assert_int_eq(a->value.v.arr.elem_type, b->value.v.arr.elem_type);
                ck_assert_uint_eq(a->value.v.arr.count, b->value.v.arr.count);
            } else if (a->value.type != GGUF_VT_STRING) {
                ck_assert_msg(a->value.v.u64 == b->value.v.u64, "%s: %.*s value differs", f, (int)a->key.len,
                              a->key.ptr);
            } else if (!str_is(a->key, "general.name")) {
                ck_assert(a->value.v.str.len == b->value.v.str.len &&
                          memcmp(a->value.v.str.ptr, b->value.v.str.ptr, a->value.v.str.len) == 0);
            }
        }
        /* Token types agree id by id (specials, bytes, normal). */
        struct gguf_array ta, tb;
        ck_assert_int_eq(gguf_get_arr(&l.g, "tokenizer.ggml.token_type", &ta, NULL, 0), GGUF_OK);
        ck_assert_int_eq(gguf_get_arr(&m.g, "tokenizer.ggml.token_type", &tb, NULL, 0), GGUF_OK);
        for (uint64_t t = 0; t < ta.count; t++)
            ck_assert_int_eq(gguf_array_i64(&ta, t), gguf_array_i64(&tb, t));
        unload(&m);
        unlink(out);
        rmdir(dir);
        unload(&l);
    }
}
END_TEST

/* The per-tensor types of the golden JSON sidecars of the mixes. */
START_TEST(test_mix_types_match_golden_json)
{
    static const struct {
        const char *json, *type;
    } mixes[] = {
        { "shared-mix-Q4_K_M.json", "Q4_K_M" }, { "shared-mix-Q4_K_S.json", "Q4_K_S" },
        { "shared-mix-Q5_K_M.json", "Q5_K_M" }, { "shared-mix-Q4_0.json", "Q4_0" },
        { "shared-mix-Q4_K_M.json", "Q4_K" },   /* llama-quantize's alias */
    };
    char path[1024], err[512];
    for (size_t i = 0; i < sizeof mixes / sizeof mixes[0]; i++) {
        json_error_t je;
        json_t *root = json_load_file(tu_golden_path(path, sizeof path, mixes[i].json), 0, &je);
        ck_assert_msg(root != NULL, "%s: %s", mixes[i].json, je.text);
        json_t *types = json_object_get(json_object_get(root, "quant"), "tensor_types");
        ck_assert_ptr_nonnull(types);
        struct synth_spec s;
        tiny_spec(&s, mixes[i].type, false);
        struct synth_plan *p = NULL;
        ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
        ck_assert_uint_eq(json_object_size(types), p->n_tensors);
        const char *name;
        json_t *v;
        json_object_foreach(types, name, v) {
            const struct synth_tensor *t = synth_plan_find(p, name);
            ck_assert_msg(t != NULL, "%s: no tensor %s planned", mixes[i].json, name);
            ck_assert_msg(strcmp(quant_type_name(t->type), json_string_value(v)) == 0,
                          "%s (--type %s): %s is %s, planned %s", mixes[i].json, mixes[i].type, name,
                          json_string_value(v), quant_type_name(t->type));
        }
        char ft[64];
        snprintf(ft, sizeof ft, "%d (%s)", s.ftype, synth_ftype_llama_name(s.ftype));
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(root, "quant"), "general.file_type")), ft);
        synth_plan_free(p);
        json_decref(root);
    }
}
END_TEST

/* llama-quantize's rules beyond the 2-layer model: use_more_bits on 22
 * layers, GQA-dependent attn_v, and fallbacks for rows not a multiple of 256. */
START_TEST(test_mix_rules_other_shapes)
{
    char err[512];
    struct synth_spec s;
    ck_assert_int_eq(synth_shape_find("1.1b", &s), SYNTH_OK);
    s.ftype = SYNTH_FT_Q4_K_M;
    struct synth_plan *p = NULL;
    ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
    ck_assert_uint_eq(p->n_tensors, 3 + 9 * 22);
    for (int l = 0; l < 22; l++) {
        bool more = l < 22 / 8 || l >= 7 * 22 / 8 || (l - 22 / 8) % 3 == 2;
        char n[64];
        snprintf(n, sizeof n, "blk.%d.attn_v.weight", l);
        ck_assert_int_eq(synth_plan_find(p, n)->type, more ? QT_Q6_K : QT_Q4_K);
        snprintf(n, sizeof n, "blk.%d.ffn_down.weight", l);
        ck_assert_int_eq(synth_plan_find(p, n)->type, more ? QT_Q6_K : QT_Q4_K);
        snprintf(n, sizeof n, "blk.%d.attn_q.weight", l);
        ck_assert_int_eq(synth_plan_find(p, n)->type, QT_Q4_K);
    }
    /* Sorted by layer number, not as strings: blk.2 before blk.10. */
    ck_assert_str_eq(p->tensors[3 + 9 * 2].name, "blk.2.attn_k.weight");
    synth_plan_free(p);

    /* IQ4_XS with 8 query heads per kv head: attn_v Q5_K; ffn_down Q5_K in
     * the first n_layer/8 layers. */
    s.ftype = SYNTH_FT_IQ4_XS;
    ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
    ck_assert_int_eq(synth_plan_find(p, "blk.5.attn_v.weight")->type, QT_Q5_K);
    ck_assert_int_eq(synth_plan_find(p, "blk.1.ffn_down.weight")->type, QT_Q5_K);
    ck_assert_int_eq(synth_plan_find(p, "blk.2.ffn_down.weight")->type, QT_IQ4_XS);
    synth_plan_free(p);

    /* Q2_K: attn_v Q4_K (GQA >= 4), ffn_down and attn_output Q3_K. */
    s.ftype = SYNTH_FT_Q2_K;
    ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
    ck_assert_int_eq(synth_plan_find(p, "blk.0.attn_v.weight")->type, QT_Q4_K);
    ck_assert_int_eq(synth_plan_find(p, "blk.0.ffn_down.weight")->type, QT_Q3_K);
    ck_assert_int_eq(synth_plan_find(p, "blk.0.attn_output.weight")->type, QT_Q3_K);
    ck_assert_int_eq(synth_plan_find(p, "output.weight")->type, QT_Q6_K);
    synth_plan_free(p);

    /* 288-wide rows (stories15M): Q4_0's output falls back to Q8_0. */
    ck_assert_int_eq(synth_shape_find("15m", &s), SYNTH_OK);
    s.ftype = SYNTH_FT_Q4_0;
    ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
    ck_assert_int_eq(synth_plan_find(p, "output.weight")->type, QT_Q8_0);
    ck_assert_int_eq(synth_plan_find(p, "token_embd.weight")->type, QT_Q4_0);
    synth_plan_free(p);

    /* Tied mix: token_embd takes the output's type. */
    tiny_spec(&s, "Q4_K_M", false);
    s.tied = true;
    ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
    ck_assert_ptr_null(synth_plan_find(p, "output.weight"));
    ck_assert_int_eq(synth_plan_find(p, "token_embd.weight")->type, QT_Q6_K);
    synth_plan_free(p);

    /* 1.1b Q4_0: the TinyLlama Q4_0 size class (~637 MB). */
    ck_assert_int_eq(synth_shape_find("1.1b", &s), SYNTH_OK);
    s.ftype = SYNTH_FT_Q4_0;
    ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
    ck_assert_msg(p->file_bytes > 600000000ull && p->file_bytes < 680000000ull, "1.1b Q4_0: %llu bytes",
                  (unsigned long long)p->file_bytes);
    synth_plan_free(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* written files                                                        */

/* Every K-quant (and IQ4_XS) block's fp16 scales are finite, and dmin >= 0
 * where there is one. */
static void check_block_scales(const struct gguf_tensor *t)
{
    const struct quant_traits *tr = quant_traits_get(t->type);
    uint64_t nb = t->n_bytes / tr->type_size;
    for (uint64_t i = 0; i < nb; i++) {
        const uint8_t *b = t->data + i * tr->type_size;
        qt_half d = 0, dmin = 0;
        bool has_min = false;
        switch (t->type) {
        case QT_Q2_K: memcpy(&d, b + 80, 2); memcpy(&dmin, b + 82, 2); has_min = true; break;
        case QT_Q3_K: memcpy(&d, b + 108, 2); break;
        case QT_Q4_K: case QT_Q5_K: memcpy(&d, b, 2); memcpy(&dmin, b + 2, 2); has_min = true; break;
        case QT_Q6_K: memcpy(&d, b + 208, 2); break;
        case QT_IQ4_XS: case QT_Q4_0: case QT_Q8_0: case QT_IQ4_NL: memcpy(&d, b, 2); break;
        default: return;
        }
        float fd = quant_f16_to_f32(d);
        ck_assert_msg(isfinite(fd) && fd != 0.0f, "%.*s block %llu: d = %g", (int)t->name.len, t->name.ptr,
                      (unsigned long long)i, (double)fd);
        if (has_min) {
            float fm = quant_f16_to_f32(dmin);
            ck_assert_msg(isfinite(fm) && fm >= 0.0f, "%.*s block %llu: dmin = %g", (int)t->name.len,
                          t->name.ptr, (unsigned long long)i, (double)fm);
        }
    }
}

/* Dequantized with the engine's reference kernels: finite, mean ~0, std ~0.02
 * (norms exactly 1). */
static void check_values(const struct quant_kernels *k, const struct gguf_tensor *t)
{
    if (!k->to_float[t->type])
        return;
    const int64_t n = t->ne[0];
    float *row = malloc((size_t)n * sizeof *row);
    ck_assert_ptr_nonnull(row);
    const size_t row_bytes = quant_row_size(t->type, n);
    double sum = 0, sum2 = 0;
    int64_t count = 0;
    for (int64_t r = 0; r < t->ne[1]; r += 7) {
        k->to_float[t->type](t->data + (size_t)r * row_bytes, row, n);
        for (int64_t j = 0; j < n; j++) {
            ck_assert_msg(isfinite(row[j]), "%.*s[%lld][%lld] = %g", (int)t->name.len, t->name.ptr,
                          (long long)r, (long long)j, (double)row[j]);
            if (t->n_dims == 1)
                ck_assert_msg(row[j] == 1.0f, "norm %.*s[%lld] = %g", (int)t->name.len, t->name.ptr,
                              (long long)j, (double)row[j]);
            sum += row[j];
            sum2 += (double)row[j] * row[j];
            count++;
        }
    }
    free(row);
    if (t->n_dims == 1)
        return;
    double mean = sum / (double)count, sd = sqrt(sum2 / (double)count - mean * mean);
    ck_assert_msg(fabs(mean) < 0.002 && sd > 0.015 && sd < 0.025, "%.*s (%s): mean %g std %g",
                  (int)t->name.len, t->name.ptr, quant_type_name(t->type), mean, sd);
}

START_TEST(test_write_and_read_back)
{
    static const char *const types[] = { "F32", "F16", "Q4_0", "Q4_K", "Q6_K", "IQ4_XS", "Q4_K_M" };
    static const bool pures[] = { false, false, true, true, true, true, false };
    struct quant_kernels k;
    quant_kernels_init(&k, QISA_REF);
    const char *dir = tu_tmpdir();
    char err[512];
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/tiny-%s.gguf", dir, types[i]);
        struct synth_spec s;
        tiny_spec(&s, types[i], pures[i]);
        struct synth_plan *p = NULL;
        ck_assert_int_eq(synth_plan_new(&s, &p, err, sizeof err), SYNTH_OK);
        write_ok(&s, path, 0);
        struct loaded l;
        load(&l, path);
        ck_assert_uint_eq(l.len, p->file_bytes);
        ck_assert_uint_eq(l.g.version, 3);
        ck_assert_uint_eq(l.g.alignment, 32);
        ck_assert_uint_eq(l.g.data_offset, p->data_offset);

        /* Tensors: the plan's, and each recipe type is what was asked. */
        ck_assert_uint_eq(l.g.n_tensors, 21);
        for (uint64_t t = 0; t < l.g.n_tensors; t++) {
            const struct gguf_tensor *gt = gguf_tensor_at(&l.g, t);
            const struct synth_tensor *pt = &p->tensors[t];
            ck_assert(str_is(gt->name, pt->name));
            ck_assert_int_eq(gt->type, pt->type);
            ck_assert_int_eq(gt->ne[0], pt->ne[0]);
            ck_assert_int_eq(gt->ne[1], pt->ne[1]);
            if (pt->n_dims == 1)
                ck_assert_int_eq(gt->type, QT_F32);
            else if (pures[i] || s.ftype <= SYNTH_FT_F16)
                ck_assert_int_eq(gt->type, synth_ftype_base_type(s.ftype));
            check_block_scales(gt);
            check_values(&k, gt);
        }
        const struct gguf_tensor *q = gguf_find_tensor(&l.g, "blk.1.attn_k.weight");
        ck_assert_ptr_nonnull(q);
        ck_assert_int_eq(q->ne[0], 256);
        ck_assert_int_eq(q->ne[1], 128);
        q = gguf_find_tensor(&l.g, "blk.0.ffn_down.weight");
        ck_assert_int_eq(q->ne[0], 768);
        ck_assert_int_eq(q->ne[1], 256);

        /* Metadata. */
        struct gguf_str str;
        ck_assert_int_eq(gguf_get_str(&l.g, "general.architecture", &str, NULL, 0), GGUF_OK);
        ck_assert(str_is(str, "llama"));
        ck_assert_int_eq(gguf_get_str(&l.g, "general.name", &str, NULL, 0), GGUF_OK);
        ck_assert(str_is(str, "synth-tiny"));
        ck_assert_uint_eq(get_u64(&l.g, "general.file_type"), (uint64_t)s.ftype);
        ck_assert_uint_eq(get_u64(&l.g, "llama.context_length"), 256);
        ck_assert_uint_eq(get_u64(&l.g, "llama.embedding_length"), 256);
        ck_assert_uint_eq(get_u64(&l.g, "llama.block_count"), 2);
        ck_assert_uint_eq(get_u64(&l.g, "llama.feed_forward_length"), 768);
        ck_assert_uint_eq(get_u64(&l.g, "llama.rope.dimension_count"), 64);
        ck_assert_uint_eq(get_u64(&l.g, "llama.attention.head_count"), 4);
        ck_assert_uint_eq(get_u64(&l.g, "llama.attention.head_count_kv"), 2);
        ck_assert_uint_eq(get_u64(&l.g, "tokenizer.ggml.bos_token_id"), 1);
        ck_assert_uint_eq(get_u64(&l.g, "tokenizer.ggml.eos_token_id"), 2);
        ck_assert_uint_eq(get_u64(&l.g, "tokenizer.ggml.unknown_token_id"), 0);
        if (s.ftype != SYNTH_FT_ALL_F32)
            ck_assert_uint_eq(get_u64(&l.g, "general.quantization_version"), 2);
        float f;
        ck_assert_int_eq(gguf_get_f32(&l.g, "llama.rope.freq_base", &f, NULL, 0), GGUF_OK);
        ck_assert(f == 10000.0f);
        ck_assert_int_eq(gguf_get_f32(&l.g, "llama.attention.layer_norm_rms_epsilon", &f, NULL, 0), GGUF_OK);
        ck_assert(f == 1e-5f);
        ck_assert_int_eq(gguf_get_str(&l.g, "tokenizer.ggml.model", &str, NULL, 0), GGUF_OK);
        ck_assert(str_is(str, "llama"));

        /* Vocabulary: size, first tokens, scores and types. */
        struct gguf_array toks, scores, ttypes;
        ck_assert_int_eq(gguf_get_arr(&l.g, "tokenizer.ggml.tokens", &toks, NULL, 0), GGUF_OK);
        ck_assert_int_eq(gguf_get_arr(&l.g, "tokenizer.ggml.scores", &scores, NULL, 0), GGUF_OK);
        ck_assert_int_eq(gguf_get_arr(&l.g, "tokenizer.ggml.token_type", &ttypes, NULL, 0), GGUF_OK);
        ck_assert_uint_eq(toks.count, 1024);
        ck_assert_uint_eq(scores.count, 1024);
        ck_assert_uint_eq(ttypes.count, 1024);
        static const char *const first[] = { "<unk>", "<s>", "</s>", "<0x00>", "<0x01>" };
        uint64_t pos = 0;
        struct gguf_value v;
        for (int t = 0; t < 260; t++) {
            ck_assert(gguf_array_next(&toks, &pos, &v) == 1);
            if (t < 5)
                ck_assert_msg(str_is(v.v.str, first[t]), "token %d", t);
            if (t == 258)
                ck_assert(str_is(v.v.str, "<0xFF>"));
            if (t == 259)
                ck_assert(str_is(v.v.str, "\xe2\x96\x81"));
        }
        ck_assert_int_eq(gguf_array_i64(&ttypes, 0), 2);
        ck_assert_int_eq(gguf_array_i64(&ttypes, 1), 3);
        ck_assert_int_eq(gguf_array_i64(&ttypes, 2), 3);
        ck_assert_int_eq(gguf_array_i64(&ttypes, 3), 6);
        ck_assert_int_eq(gguf_array_i64(&ttypes, 258), 6);
        for (uint64_t t = 259; t < 1024; t++) {
            ck_assert_int_eq(gguf_array_i64(&ttypes, t), 1);
            if (t > 259)
                ck_assert(gguf_array_f64(&scores, t) < gguf_array_f64(&scores, t - 1));
        }
        unload(&l);
        synth_plan_free(p);
        unlink(path);
    }
    assert_no_tmp(dir);
    rmdir(dir);
}
END_TEST

/* The engine loads a synthesized model and a forward pass gives finite
 * logits in a sane range, and the tokenizer uses the vocabulary's words. */
START_TEST(test_forward_pass_and_tokenizer)
{
    static const char *const types[] = { "Q4_K_M", "F32", "Q8_0" };
    const char *dir = tu_tmpdir();
    char path[256], err[512];
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        struct synth_spec s;
        tiny_spec(&s, types[i], false);
        snprintf(path, sizeof path, "%s/fw-%s.gguf", dir, types[i]);
        write_ok(&s, path, 0);
        struct loaded l;
        load(&l, path);
        struct model m;
        int rc = model_load(&m, &l.g, NULL, err, sizeof err);
        ck_assert_msg(rc == MODEL_OK, "%s: model_load: %s", types[i], err);
        struct infer_opts o;
        infer_opts_default(&o);
        o.n_threads = 1;
        o.n_ctx = 32;
        struct infer *c = NULL;
        rc = infer_new(&c, &m, &o, err, sizeof err);
        ck_assert_msg(rc == INFER_OK, "%s: infer_new: %s", types[i], err);
        static const int32_t toks[] = { 1, 17, 300, 42, 999, 5, 77, 512 };
        float *logits = malloc(8 * 1024 * sizeof *logits);
        ck_assert_ptr_nonnull(logits);
        rc = infer_eval(c, toks, 8, logits, err, sizeof err);
        ck_assert_msg(rc == INFER_OK, "%s: infer_eval: %s", types[i], err);
        float mx = 0;
        for (int j = 0; j < 8 * 1024; j++) {
            ck_assert_msg(isfinite(logits[j]), "%s: logit %d = %g", types[i], j, (double)logits[j]);
            mx = fmaxf(mx, fabsf(logits[j]));
        }
        ck_assert_msg(mx > 0.05f && mx < 20.0f, "%s: max |logit| %g", types[i], (double)mx);
        free(logits);
        infer_free(c);

        if (i == 0) {
            int code = 0;
            struct tok *t = tok_new(&l.g, NULL, &code, err, sizeof err);
            ck_assert_msg(t != NULL, "tok_new: %s", err);
            const char *text = "Once upon a time there was a little girl named Lily.";
            int32_t ids[128];
            int n = tok_encode(t, text, strlen(text), true, ids, 128);
            /* Whole words, not characters: BOS + 11 words + "." */
            ck_assert_msg(n > 0 && n <= 14, "%d tokens for '%s'", n, text);
            char back[256];
            int bn = tok_decode_all(t, ids, n, true, back, sizeof back);
            ck_assert_int_eq(bn, (int)strlen(text));
            ck_assert(memcmp(back, text, strlen(text)) == 0);
            tok_free(t);
        }
        model_free(&m);
        unload(&l);
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

/* Same arguments, same bytes; another seed, other bytes; a tensor's bytes
 * do not depend on the other tensors. */
START_TEST(test_deterministic)
{
    const char *dir = tu_tmpdir();
    char a[256], b[256], c[256], d[256];
    snprintf(a, sizeof a, "%s/a.gguf", dir);
    snprintf(b, sizeof b, "%s/b.gguf", dir);
    snprintf(c, sizeof c, "%s/c.gguf", dir);
    snprintf(d, sizeof d, "%s/d.gguf", dir);
    struct synth_spec s;
    tiny_spec(&s, "Q4_K_M", false);
    write_ok(&s, a, 0);
    write_ok(&s, b, 0);
    s.seed = 2;
    write_ok(&s, c, 0);
    size_t la, lb, lc;
    uint8_t *ba = tu_read_file(a, &la), *bb = tu_read_file(b, &lb), *bc = tu_read_file(c, &lc);
    ck_assert(ba && bb && bc);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(ba, bb, la) == 0, "same arguments, different bytes");
    ck_assert_uint_eq(la, lc);
    ck_assert_msg(memcmp(ba, bc, la) != 0, "another seed, same bytes");

    /* Every tensor differs between seeds; blk.0.attn_q is the same in a
     * 3-layer pure file as in the 2-layer one. */
    struct gguf ga, gc;
    char err[256];
    ck_assert_int_eq(gguf_open_alloc(&ga, ba, la, err, sizeof err), GGUF_OK);
    ck_assert_int_eq(gguf_open_alloc(&gc, bc, lc, err, sizeof err), GGUF_OK);
    for (uint64_t t = 0; t < ga.n_tensors; t++) {
        const struct gguf_tensor *x = gguf_tensor_at(&ga, t), *y = gguf_tensor_at(&gc, t);
        if (x->n_dims == 2)
            ck_assert_msg(memcmp(x->data, y->data, x->n_bytes) != 0, "%.*s same for two seeds", (int)x->name.len,
                          x->name.ptr);
    }
    gguf_close(&ga);
    gguf_close(&gc);

    tiny_spec(&s, "Q4_0", true);
    write_ok(&s, a, SYNTH_FORCE);
    s.n_layer = 3;
    write_ok(&s, d, 0);
    free(ba);
    ba = tu_read_file(a, &la);
    uint8_t *bd = tu_read_file(d, &lc);
    ck_assert_int_eq(gguf_open_alloc(&ga, ba, la, err, sizeof err), GGUF_OK);
    ck_assert_int_eq(gguf_open_alloc(&gc, bd, lc, err, sizeof err), GGUF_OK);
    const struct gguf_tensor *x = gguf_find_tensor(&ga, "blk.0.attn_q.weight");
    const struct gguf_tensor *y = gguf_find_tensor(&gc, "blk.0.attn_q.weight");
    ck_assert(x && y && x->n_bytes == y->n_bytes);
    ck_assert(memcmp(x->data, y->data, x->n_bytes) == 0);
    gguf_close(&ga);
    gguf_close(&gc);
    free(ba);
    free(bb);
    free(bc);
    free(bd);
    unlink(a);
    unlink(b);
    unlink(c);
    unlink(d);
    assert_no_tmp(dir);
    rmdir(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* failure paths                                                        */

static int cancel_at_once(uint64_t done, uint64_t total, void *user)
{
    (*(int *)user)++;
    return 1;
}

START_TEST(test_exists_cancel_and_no_space)
{
    const char *dir = tu_tmpdir();
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    struct synth_spec s;
    tiny_spec(&s, "Q4_0", false);

    /* Refuses to replace without SYNTH_FORCE; the file is untouched. */
    ck_assert_int_eq(tu_write_file(path, "keep", 4), 0);
    ck_assert_int_eq(synth_write(&s, path, 0, NULL, NULL, err, sizeof err), SYNTH_EEXIST);
    ck_assert_msg(strstr(err, path) != NULL, "message lacks the path: %s", err);
    size_t len;
    char *got = tu_read_file(path, &len);
    ck_assert(got && len == 4 && memcmp(got, "keep", 4) == 0);
    free(got);

    /* A cancel from the progress callback leaves the old file and no temp. */
    int calls = 0;
    ck_assert_int_eq(synth_write(&s, path, SYNTH_FORCE, cancel_at_once, &calls, err, sizeof err),
                     SYNTH_ECANCELED);
    ck_assert_int_eq(calls, 1);
    got = tu_read_file(path, &len);
    ck_assert(got && len == 4);
    free(got);
    assert_no_tmp(dir);

    /* Force replaces it. */
    write_ok(&s, path, SYNTH_FORCE);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_size, 4);

    /* A bad spec is refused before anything is created. */
    s.n_head = 3;
    char p2[256];
    snprintf(p2, sizeof p2, "%s/bad.gguf", dir);
    ck_assert_int_eq(synth_write(&s, p2, 0, NULL, NULL, err, sizeof err), SYNTH_EINVAL);
    ck_assert_int_ne(access(p2, F_OK), 0);

    /* A directory that does not exist. */
    tiny_spec(&s, "Q4_0", false);
    snprintf(p2, sizeof p2, "%s/no/such/dir/m.gguf", dir);
    ck_assert_int_eq(synth_write(&s, p2, 0, NULL, NULL, err, sizeof err), SYNTH_EIO);

    /* More than the disk holds: refused up front with both numbers. */
    struct synth_spec big;
    ck_assert_int_eq(synth_shape_find("7b", &big), SYNTH_OK);
    big.ftype = SYNTH_FT_ALL_F32;
    big.n_layer = SYNTH_MAX_LAYER; /* ~830 GB */
    struct synth_plan *p = NULL;
    ck_assert_int_eq(synth_plan_new(&big, &p, err, sizeof err), SYNTH_OK);
    struct statvfs vfs;
    ck_assert_int_eq(statvfs(dir, &vfs), 0);
    if ((uint64_t)vfs.f_bavail * vfs.f_frsize < p->file_bytes) {
        snprintf(p2, sizeof p2, "%s/huge.gguf", dir);
        ck_assert_int_eq(synth_write(&big, p2, 0, NULL, NULL, err, sizeof err), SYNTH_ENOSPC);
        ck_assert_msg(strstr(err, "needs") && strstr(err, "available"), "%s", err);
        ck_assert_int_ne(access(p2, F_OK), 0);
    } else {
        tu_skip("disk-space", "the no-space check: %s has over 1 TB free", dir);
    }
    synth_plan_free(p);
    unlink(path);
    assert_no_tmp(dir);
    rmdir(dir);
}
END_TEST

START_TEST(test_spec_check_names_field)
{
    static const struct {
        const char *field;
        int64_t n_embd, n_ff, n_head, n_head_kv, n_vocab;
        const char *type;
    } cases[] = {
        { "n_head", 256, 768, 3, 1, 1024, "F32" },       /* does not divide */
        { "n_head_kv", 256, 768, 4, 3, 1024, "F32" },    /* does not divide n_head */
        { "n_embd", 288, 768, 6, 6, 1024, "Q4_K_M" },    /* not a multiple of 256 */
        { "n_ff", 256, 800, 4, 2, 1024, "Q6_K" },
        { "n_ff", 256, 770, 4, 2, 1024, "Q4_0" },        /* not a multiple of 32 */
        { "n_vocab", 256, 768, 4, 2, 259, "F32" },       /* below the minimum */
        { "n_head", 256, 768, 256, 1, 1024, "F32" },     /* head size 1: odd */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct synth_spec s;
        tiny_spec(&s, cases[i].type, false);
        s.n_embd = cases[i].n_embd;
        s.n_ff = cases[i].n_ff;
        s.n_head = cases[i].n_head;
        s.n_head_kv = cases[i].n_head_kv;
        s.n_vocab = cases[i].n_vocab;
        const char *field = NULL;
        char err[256] = "";
        ck_assert_int_eq(synth_spec_check(&s, &field, err, sizeof err), SYNTH_EINVAL);
        ck_assert_msg(field && strcmp(field, cases[i].field) == 0, "case %zu: field %s, want %s (%s)", i,
                      field ? field : "(null)", cases[i].field, err);
        ck_assert_msg(strstr(err, cases[i].field) != NULL, "case %zu: message lacks the field: %s", i, err);
    }
    /* Names and file types. */
    ck_assert_int_eq(synth_ftype_from_name("q4_k_m", false), SYNTH_FT_Q4_K_M);
    ck_assert_int_eq(synth_ftype_from_name("Q4_K", false), SYNTH_FT_Q4_K_M);
    ck_assert_int_eq(synth_ftype_from_name("Q4_K", true), SYNTH_FT_Q4_K_S);
    ck_assert_int_eq(synth_ftype_from_name("Q9_9", false), -1);
    ck_assert_int_eq(synth_ftype_base_type(SYNTH_FT_Q5_K_M), QT_Q5_K);
    struct synth_spec s;
    ck_assert_int_eq(synth_shape_find("nope", &s), SYNTH_EINVAL);
}
END_TEST

/* The vocabulary has no duplicate strings at 32k (SentencePiece would
 * reject it) and every id's text fits the documented buffer. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_vocab_unique)
{
    const int64_t n = 32000;
    char **all = malloc((size_t)n * sizeof *all);
    ck_assert_ptr_nonnull(all);
    for (int64_t i = 0; i < n; i++) {
        char buf[64];
        size_t len = synth_vocab_token(i, buf, sizeof buf, NULL, NULL);
        ck_assert(len > 0 && len < sizeof buf - 1);
        all[i] = strdup(buf);
    }
    qsort(all, (size_t)n, sizeof *all, cmp_str);
    for (int64_t i = 1; i < n; i++)
        ck_assert_msg(strcmp(all[i - 1], all[i]) != 0, "duplicate token '%s'", all[i]);
    for (int64_t i = 0; i < n; i++)
        free(all[i]);
    free(all);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the writer                                                           */

static void emit_small(struct gguf_writer *w)
{
    const int64_t ne[2] = { 32, 2 };
    gguf_writer_header(w, 1, 3);
    gguf_writer_kv_str(w, "general.architecture", "llama");
    gguf_writer_kv_arr_begin(w, "a", GGUF_WRITER_STRING, 2);
    gguf_writer_arr_str(w, "x", 1);
    gguf_writer_arr_str(w, "yz", 2);
    gguf_writer_kv_f32(w, "f", 1.5f);
    gguf_writer_tensor_info(w, "t", 2, ne, QT_F32, 0);
    gguf_writer_pad(w, 32);
}

START_TEST(test_writer)
{
    /* Counting mode and a real write agree; the file opens. */
    struct gguf_writer c;
    gguf_writer_init(&c, -1, NULL, 0, 0);
    emit_small(&c);
    gguf_writer_reserve(&c, 256);
    ck_assert_int_eq(gguf_writer_finish(&c, false), GGUF_WRITER_OK);

    const char *dir = tu_tmpdir();
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/w.gguf", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    uint8_t buf[64]; /* the smallest buffer: many flushes */
    struct gguf_writer w;
    gguf_writer_init(&w, fd, buf, sizeof buf, GGUF_WRITER_DEFER_MAGIC);
    emit_small(&w);
    float data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (float)i;
    ck_assert_int_eq(gguf_writer_write(&w, data, sizeof data), GGUF_WRITER_OK);
    ck_assert_int_eq(gguf_writer_flush(&w), GGUF_WRITER_OK);
    char magic[4];
    ck_assert_int_eq(pread(fd, magic, 4, 0), 4);
    ck_assert_msg(memcmp(magic, "\0\0\0\0", 4) == 0, "magic written before finish");
    ck_assert_int_eq(gguf_writer_finish(&w, true), GGUF_WRITER_OK);
    ck_assert_uint_eq(w.offset, c.offset);
    close(fd);
    size_t len;
    uint8_t *file = tu_read_file(path, &len);
    ck_assert_uint_eq(len, c.offset);
    struct gguf g;
    ck_assert_int_eq(gguf_open_alloc(&g, file, len, err, sizeof err), GGUF_OK);
    const struct gguf_tensor *t = gguf_find_tensor(&g, "t");
    ck_assert(t && t->n_bytes == 256 && memcmp(t->data, data, 256) == 0);
    float f;
    ck_assert_int_eq(gguf_get_f32(&g, "f", &f, NULL, 0), GGUF_OK);
    ck_assert(f == 1.5f);
    gguf_close(&g);
    free(file);
    unlink(path);
    rmdir(dir);

    /* Sticky errors: the first one wins, later calls do nothing. */
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 0, 1);
    gguf_writer_kv_u32(&c, "a", 1);
    uint64_t off = c.offset;
    ck_assert_int_eq(gguf_writer_kv_u32(&c, "b", 2), GGUF_WRITER_EINVAL);
    ck_assert_msg(strstr(c.err, "'b'") != NULL, "%s", c.err);
    ck_assert_int_eq(gguf_writer_kv_u32(&c, "c", 3), GGUF_WRITER_EINVAL);
    ck_assert_msg(strstr(c.err, "'b'") != NULL, "first error kept: %s", c.err);
    ck_assert_uint_eq(c.offset, off);

    /* Missing pairs and arrays left short are reported at finish. */
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 0, 2);
    gguf_writer_kv_arr_begin(&c, "a", GGUF_WRITER_INT32, 3);
    gguf_writer_arr_i32(&c, 1);
    ck_assert_int_eq(gguf_writer_finish(&c, false), GGUF_WRITER_EINVAL);
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 0, 1);
    ck_assert_int_eq(gguf_writer_kv_arr_begin(&c, "a", GGUF_WRITER_INT32, 1), GGUF_WRITER_OK);
    ck_assert_int_eq(gguf_writer_arr_f32(&c, 1.0f), GGUF_WRITER_EINVAL); /* wrong element type */

    /* Tensor data before the infos is refused. */
    gguf_writer_init(&c, -1, NULL, 0, 0);
    gguf_writer_header(&c, 1, 0);
    ck_assert_int_eq(gguf_writer_write(&c, data, 4), GGUF_WRITER_EINVAL);

    /* A full disk is ENOSPC, not a generic I/O error. */
    fd = open("/dev/full", O_WRONLY);
    if (fd >= 0) {
        gguf_writer_init(&w, fd, buf, sizeof buf, 0);
        emit_small(&w);
        ck_assert_int_eq(gguf_writer_finish(&w, false), GGUF_WRITER_ENOSPC);
        ck_assert_msg(strstr(w.err, "write") != NULL, "%s", w.err);
        close(fd);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* the CLI                                                              */

static int run_cmd(const char *args, char *out, size_t out_len, char *errb, size_t err_len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s synth %s", tu_ggperf_bin(), args);
    return tu_run(cmd, out, out_len, errb, err_len);
}

START_TEST(test_cli)
{
    const char *dir = tu_tmpdir();
    char args[1024], out[4096], errb[4096], path[256];
    snprintf(path, sizeof path, "%s/c.gguf", dir);

    ck_assert_int_eq(run_cmd("--help", out, sizeof out, NULL, 0), 0);
    ck_assert(strstr(out, "usage: ggperf synth") != NULL);
    ck_assert_int_eq(run_cmd("--list-shapes", out, sizeof out, NULL, 0), 0);
    ck_assert(strstr(out, "tiny") && strstr(out, "110m") && strstr(out, "1.1b"));

    snprintf(args, sizeof args, "--shape tiny --type Q4_K_M -o %s", path);
    int rc = run_cmd(args, out, sizeof out, errb, sizeof errb);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
    ck_assert_msg(strstr(out, "wrote") != NULL, "%s", out);
    ck_assert_msg(errb[0] == '\0', "stderr not empty when not a tty: %s", errb);
    size_t len1;
    uint8_t *first = tu_read_file(path, &len1);
    ck_assert_ptr_nonnull(first);

    /* Exists: exit 1, names --force, file untouched. */
    snprintf(args, sizeof args, "--shape tiny --type Q4_0 -o %s", path);
    rc = run_cmd(args, NULL, 0, errb, sizeof errb);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(errb, "--force") != NULL, "%s", errb);
    size_t len2;
    uint8_t *second = tu_read_file(path, &len2);
    ck_assert(second && len1 == len2 && memcmp(first, second, len1) == 0);
    free(second);
    snprintf(args, sizeof args, "--shape tiny --type Q4_0 --force -o %s", path);
    ck_assert_int_eq(run_cmd(args, NULL, 0, errb, sizeof errb), 0);
    second = tu_read_file(path, &len2);
    ck_assert(second && memcmp(first, second, len1 < len2 ? len1 : len2) != 0);
    free(second);
    free(first);

    /* The CLI and the library write the same bytes. */
    snprintf(args, sizeof args, "--shape tiny --type IQ4_XS --pure --seed 7 --force -o %s", path);
    ck_assert_int_eq(run_cmd(args, NULL, 0, errb, sizeof errb), 0);
    char lib[256];
    snprintf(lib, sizeof lib, "%s/lib.gguf", dir);
    struct synth_spec s;
    tiny_spec(&s, "IQ4_XS", true);
    s.seed = 7;
    write_ok(&s, lib, 0);
    first = tu_read_file(path, &len1);
    second = tu_read_file(lib, &len2);
    ck_assert(first && second && len1 == len2 && memcmp(first, second, len1) == 0);
    free(first);
    free(second);
    unlink(lib);

    /* Usage errors: exit 2, the message names the flag. */
    static const struct {
        const char *args, *flag;
    } bad[] = {
        { "--shape tiny --type Q4_0 --n-head 5", "--n-head" },
        { "--shape tiny --type Q4_0 --n-head-kv 3", "--n-head-kv" },
        { "--shape tiny --type Q4_K --n-embd 288", "--n-embd" },
        { "--shape tiny --type Q4_K_M --n-ff 1000", "--n-ff" },
        { "--shape tiny --type Q4_0 --n-vocab 100", "--n-vocab" },
        { "--shape tiny --type Q4_0 --n-layer 0", "--n-layer" },
        { "--shape tiny --type Q4_0 --n-ctx abc", "--n-ctx" },
        { "--shape tiny --type Q4_0 --rope-base -1", "--rope-base" },
        { "--shape tiny --type Q4_0 --seed x", "--seed" },
        { "--shape tiny --type Q7", "--type" },
        { "--shape huge --type Q4_0", "--shape" },
        { "--type Q4_0", "--shape" },
        { "--shape tiny", "--type" },
        { "--shape tiny --type Q4_0", "-o" },
        { "--shape tiny --type Q4_0 --bogus", "--bogus" },
        { "--shape tiny --type Q4_0 --n-embd", "--n-embd" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a = bad[i].args;
        rc = run_cmd(a, NULL, 0, errb, sizeof errb);
        ck_assert_msg(rc == 2, "'%s': exit %d (want 2): %s", a, rc, errb);
        ck_assert_msg(strstr(errb, bad[i].flag) != NULL, "'%s': message lacks %s: %s", a, bad[i].flag, errb);
    }

    /* --dry-run writes nothing and prints the plan. */
    char dry[256];
    snprintf(dry, sizeof dry, "%s/dry.gguf", dir);
    snprintf(args, sizeof args, "--shape 1.1b --type Q4_K_M --dry-run -o %s", dry);
    char *big = malloc(1 << 16);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(run_cmd(args, big, 1 << 16, NULL, 0), 0);
    ck_assert_msg(strstr(big, "blk.21.ffn_up.weight") && strstr(big, "file "), "%s", big);
    free(big);
    ck_assert_int_ne(access(dry, F_OK), 0);

    /* Custom dimensions reach the file. */
    snprintf(args, sizeof args, "--shape tiny --type Q8_0 --n-layer 3 --n-vocab 300 --n-ctx 64 --force -o %s", path);
    ck_assert_int_eq(run_cmd(args, NULL, 0, errb, sizeof errb), 0);
    struct loaded l;
    load(&l, path);
    ck_assert_uint_eq(get_u64(&l.g, "llama.block_count"), 3);
    ck_assert_uint_eq(get_u64(&l.g, "llama.context_length"), 64);
    struct gguf_array toks;
    ck_assert_int_eq(gguf_get_arr(&l.g, "tokenizer.ggml.tokens", &toks, NULL, 0), GGUF_OK);
    ck_assert_uint_eq(toks.count, 300);
    ck_assert_ptr_nonnull(gguf_find_tensor(&l.g, "blk.2.ffn_up.weight"));
    unload(&l);

    unlink(path);
    assert_no_tmp(dir);
    rmdir(dir);
}
END_TEST

/* SIGINT while writing: either it finished (exit 0, a complete file) or it
 * stopped (exit 1, no file); never a temporary file left behind. */
START_TEST(test_cli_interrupt)
{
    const char *dir = tu_tmpdir();
    char cmd[1024], out[256], path[256];
    snprintf(path, sizeof path, "%s/i.gguf", dir);
    snprintf(cmd, sizeof cmd, "%s synth --shape 110m --type F16 -o %s & pid=$!; sleep 0.3; kill -INT $pid; "
             "wait $pid; echo $?", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    int rc = atoi(out);
    if (rc == 0) {
        struct loaded l;
        load(&l, path);
        unload(&l);
        unlink(path);
    } else {
        ck_assert_int_eq(rc, 1);
        ck_assert_int_ne(access(path, F_OK), 0);
    }
    assert_no_tmp(dir);
    rmdir(dir);
}
END_TEST

Suite *synth_suite(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_plan_matches_golden_layout);
    tcase_add_test(tc, test_mix_types_match_golden_json);
    tcase_add_test(tc, test_mix_rules_other_shapes);
    tcase_add_test(tc, test_spec_check_names_field);
    tcase_add_test(tc, test_vocab_unique);
    suite_add_tcase(s, tc);
    TCase *io = tcase_create("write");
    tcase_set_timeout(io, 60);
    tcase_add_test(io, test_write_and_read_back);
    tcase_add_test(io, test_forward_pass_and_tokenizer);
    tcase_add_test(io, test_deterministic);
    tcase_add_test(io, test_exists_cancel_and_no_space);
    tcase_add_test(io, test_writer);
    suite_add_tcase(s, io);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, test_cli);
    tcase_add_test(cli, test_cli_interrupt);
    suite_add_tcase(s, cli);
    return s;
}
