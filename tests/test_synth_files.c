/* synth_files suite: synthesized models read back with the engine's GGUF
 * reader with the planned shapes, types, metadata, size and vocabulary;
 * weights are finite with the planned spread and a forward pass gives sane
 * logits; output is deterministic; an existing file, a cancel, a bad spec,
 * a missing directory and more than the disk holds are refused, leaving no
 * temporary files.
 * Split from the synth suite (tests/test_synth.c); shared helpers in
 * tests/synth_util.h. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
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
#include "modelgen/synth.h"
#include "tests/synth_util.h"
#include "tests/testutil.h"

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

Suite *synth_files_suite(void)
{
    Suite *s = suite_create("synth_files");
    TCase *io = tcase_create("write");
    tcase_set_timeout(io, 60);
    tcase_add_test(io, test_write_and_read_back);
    tcase_add_test(io, test_forward_pass_and_tokenizer);
    tcase_add_test(io, test_deterministic);
    tcase_add_test(io, test_exists_cancel_and_no_space);
    suite_add_tcase(s, io);
    return s;
}
