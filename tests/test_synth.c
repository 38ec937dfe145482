/* synth suite: the plan of a synthesized model has llama.cpp's layout
 * (checked against every golden file, tensor by tensor, and the golden
 * JSON's per-tensor types, and llama-quantize's rules on other shapes); a
 * bad spec is refused naming the field; the vocabulary is unique.
 *
 * Beside it: synth_files (written files read back, deterministic, a forward
 * pass, refusals), synth_writer (the streaming GGUF writer) and synth_cli
 * (`ggperf synth`); shared helpers in tests/synth_util.h. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/quant.h"
#include "modelgen/synth.h"
#include "tests/synth_util.h"
#include "tests/testutil.h"

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
/* spec checks and the vocabulary                                       */

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
    return s;
}
