/* gguf suite: the golden models open with the expected contents; typed
 * getters and arrays; many entries; the index storage contract. Every open
 * works on an exact-size heap copy so ASan sees any read past the end.
 * Plus `ggperf info` run as a user would. One corrupt variant per
 * validation rule is in the gguf_corrupt suite (tests/test_gguf_corrupt.c);
 * shared helpers in tests/gguf_util.h. */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/quant.h"
#include "tests/gguf_fixture.h"
#include "tests/gguf_util.h"
#include "tests/testutil.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* --- golden models ----------------------------------------------------- */

START_TEST(test_golden_models_open)
{
    DIR *d = opendir(tu_golden_dir());
    ck_assert_msg(d != NULL, "cannot open %s", tu_golden_dir());
    int n_files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".gguf"))
            continue;
        char path[1024];
        size_t len = 0;
        void *data = tu_read_file(tu_golden_path(path, sizeof path, e->d_name), &len);
        ck_assert_msg(data != NULL, "cannot read %s", path);
        struct gguf g;
        char err[512];
        int rc = gguf_open_alloc(&g, data, len, err, sizeof err);
        ck_assert_msg(rc == GGUF_OK, "%s: %s", e->d_name, err);
        bool tied = strstr(e->d_name, "tied") != NULL;
        ck_assert_uint_eq(g.version, 3);
        ck_assert_uint_eq(g.n_tensors, tied ? 20 : 21);
        ck_assert_uint_eq(g.alignment, 32);
        ck_assert_uint_eq(g.size, len);
        ck_assert_uint_eq(g.data_offset % 32, 0);
        ck_assert_uint_le(g.data_offset + g.data_bytes, len);

        struct gguf_str arch;
        ck_assert_int_eq(gguf_get_str(&g, "general.architecture", &arch, err, sizeof err), GGUF_OK);
        ck_assert(gguf_str_eq(arch, "llama"));
        const struct gguf_tensor *t = gguf_find_tensor(&g, "blk.1.ffn_up.weight");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->n_dims, 2);
        ck_assert_int_eq(t->ne[0], 256);
        ck_assert_int_eq(t->ne[1], 768);
        ck_assert_int_eq(t->n_elements, 256 * 768);
        ck_assert_uint_eq(t->n_bytes, quant_row_size(t->type, 256) * 768);
        ck_assert_ptr_eq(t->data, (const uint8_t *)data + g.data_offset + t->offset);
        ck_assert_ptr_null(gguf_find_tensor(&g, "blk.1.ffn_up.weightx"));
        ck_assert_ptr_null(gguf_find_tensor(&g, "blk.2.ffn_up.weight"));
        ck_assert(!tied == (gguf_find_tensor(&g, "output.weight") != NULL));

        uint32_t n_embd = 0;
        ck_assert_int_eq(gguf_get_u32(&g, "llama.embedding_length", &n_embd, NULL, 0), GGUF_OK);
        ck_assert_uint_eq(n_embd, 256);
        float eps = 0;
        ck_assert_int_eq(gguf_get_f32(&g, "llama.attention.layer_norm_rms_epsilon", &eps, NULL, 0), GGUF_OK);
        ck_assert_float_eq_tol(eps, 1e-5f, 1e-9f);
        struct gguf_array toks;
        ck_assert_int_eq(gguf_get_arr(&g, "tokenizer.ggml.tokens", &toks, NULL, 0), GGUF_OK);
        ck_assert_int_eq(toks.elem_type, GGUF_VT_STRING);
        ck_assert_uint_eq(toks.count, 1024);
        uint64_t pos = 0, n = 0;
        struct gguf_value v;
        while (gguf_array_next(&toks, &pos, &v)) {
            ck_assert_int_eq(v.type, GGUF_VT_STRING);
            if (n == 0)
                ck_assert(gguf_str_eq(v.v.str, "<unk>"));
            if (n == 2)
                ck_assert(gguf_str_eq(v.v.str, "</s>"));
            n++;
        }
        ck_assert_uint_eq(n, 1024);
        ck_assert_uint_eq(pos, toks.bytes);

        /* Every tensor by name finds itself; by-offset order ascends. */
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            const struct gguf_tensor *ti = gguf_tensor_at(&g, i);
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)ti->name.len, ti->name.ptr);
            ck_assert_ptr_eq(gguf_find_tensor(&g, name), ti);
            if (i > 0)
                ck_assert_uint_lt(gguf_tensor_by_offset(&g, i - 1)->offset, gguf_tensor_by_offset(&g, i)->offset);
        }
        ck_assert_ptr_null(gguf_tensor_at(&g, g.n_tensors));
        for (uint64_t i = 0; i < g.n_kv; i++) {
            const struct gguf_kv *kv = gguf_kv_at(&g, i);
            ck_assert_ptr_eq(gguf_find_kv_n(&g, kv->key.ptr, kv->key.len), kv);
            ck_assert_uint_lt(gguf_kv_offset(&g, i), g.data_offset);
        }

        /* The same with caller storage, and storage one byte short. */
        size_t ib = gguf_index_bytes(data, len);
        ck_assert_uint_gt(ib, 0);
        ck_assert_uint_lt(ib, len);
        void *store = malloc(ib);
        struct gguf g2;
        ck_assert_int_eq(gguf_open(&g2, data, len, store, ib - 9, err, sizeof err), GGUF_ENOMEM);
        ck_assert_int_eq(gguf_open(&g2, data, len, store, ib, err, sizeof err), GGUF_OK);
        ck_assert_uint_eq(g2.n_kv, g.n_kv);
        ck_assert_ptr_eq(gguf_find_tensor(&g2, "blk.1.ffn_up.weight")->data, t->data);
        gguf_close(&g2);
        free(store);

        gguf_close(&g);
        gguf_close(&g); /* idempotent */
        gguf_close(NULL);
        free(data);
        n_files++;
    }
    closedir(d);
    ck_assert_int_ge(n_files, 2);
}
END_TEST

/* --- getters and arrays on the small fixture ---------------------------- */

START_TEST(test_small_file_and_getters)
{
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    struct opened o;
    ck_assert_msg(open_copy(&o, b.buf, b.len) == GGUF_OK, "%s", o.err);
    struct gguf *g = &o.g;
    ck_assert_uint_eq(g->n_kv, GFX_SMALL_N_KV);
    ck_assert_uint_eq(g->n_tensors, GFX_SMALL_N_TENSORS);
    ck_assert_uint_eq(g->data_offset, at.data_offset);
    ck_assert_uint_eq(g->data_offset + g->data_bytes, b.len);

    char err[256];
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    float f = 0;
    bool flag = false;
    struct gguf_str s;
    ck_assert_int_eq(gguf_get_u32(g, "general.alignment", &u32, err, sizeof err), GGUF_OK);
    ck_assert_uint_eq(u32, 32);
    ck_assert_int_eq(gguf_get_i64(g, "test.count", &i64, err, sizeof err), GGUF_OK);
    ck_assert_int_eq(i64, 7);
    ck_assert_int_eq(gguf_get_u64(g, "test.count", &u64, err, sizeof err), GGUF_OK);
    ck_assert_uint_eq(u64, 7);
    ck_assert_int_eq(gguf_get_u32(g, "test.count", &u32, err, sizeof err), GGUF_OK);
    ck_assert_uint_eq(u32, 7);
    ck_assert_int_eq(gguf_get_u64(g, "test.big", &u64, err, sizeof err), GGUF_OK);
    ck_assert_uint_eq(u64, 5000000000ull);
    ck_assert_int_eq(gguf_get_i64(g, "test.big", &i64, err, sizeof err), GGUF_OK);
    ck_assert_int_eq(i64, 5000000000ll);
    ck_assert_int_eq(gguf_get_f32(g, "test.scale", &f, err, sizeof err), GGUF_OK);
    ck_assert_float_eq(f, 0.5f);
    ck_assert_int_eq(gguf_get_bool(g, "test.flag", &flag, err, sizeof err), GGUF_OK);
    ck_assert(flag);
    ck_assert_int_eq(gguf_get_str(g, "general.architecture", &s, err, sizeof err), GGUF_OK);
    ck_assert(gguf_str_eq(s, "llama"));

    /* Mismatches name the key, the type found and the type wanted. */
    u32 = 99;
    ck_assert_int_eq(gguf_get_u32(g, "test.big", &u32, err, sizeof err), GGUF_EMISMATCH);
    ck_assert_uint_eq(u32, 99);
    ck_assert_ptr_nonnull(strstr(err, "test.big"));
    ck_assert_ptr_nonnull(strstr(err, "uint64"));
    ck_assert_ptr_nonnull(strstr(err, "uint32"));
    ck_assert_int_eq(gguf_get_u32(g, "general.architecture", &u32, err, sizeof err), GGUF_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(err, "general.architecture"));
    ck_assert_ptr_nonnull(strstr(err, "string"));
    ck_assert_int_eq(gguf_get_f32(g, "test.count", &f, err, sizeof err), GGUF_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(err, "int32"));
    ck_assert_ptr_nonnull(strstr(err, "float32"));
    ck_assert_int_eq(gguf_get_bool(g, "test.count", &flag, err, sizeof err), GGUF_EMISMATCH);
    ck_assert_int_eq(gguf_get_str(g, "test.flag", &s, err, sizeof err), GGUF_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(err, "bool"));
    struct gguf_array a;
    ck_assert_int_eq(gguf_get_arr(g, "test.scale", &a, err, sizeof err), GGUF_EMISMATCH);
    ck_assert_int_eq(gguf_get_u64(g, "test.names", &u64, NULL, 0), GGUF_EMISMATCH);
    ck_assert_int_eq(gguf_get_u64(g, "no.such.key", &u64, err, sizeof err), GGUF_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "no.such.key"));
    ck_assert_ptr_null(gguf_find_kv(g, "general.alignmen"));
    ck_assert_ptr_null(gguf_find_kv(g, ""));
    ck_assert_ptr_null(gguf_find_kv(g, NULL));

    /* Arrays: strings by iteration, nested arrays by iteration + element access. */
    ck_assert_int_eq(gguf_get_arr(g, "test.names", &a, err, sizeof err), GGUF_OK);
    ck_assert_int_eq(a.elem_type, GGUF_VT_STRING);
    ck_assert_uint_eq(a.count, 3);
    ck_assert_uint_eq(a.depth, 1);
    static const char *const want[] = { "a", "bc", "def" };
    uint64_t pos = 0;
    struct gguf_value v;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(gguf_array_next(&a, &pos, &v), 1);
        ck_assert(gguf_str_eq(v.v.str, want[i]));
    }
    ck_assert_int_eq(gguf_array_next(&a, &pos, &v), 0);
    ck_assert_uint_eq(gguf_array_u64(&a, 0), 0); /* not a number array */

    ck_assert_int_eq(gguf_get_arr(g, "test.nested", &a, err, sizeof err), GGUF_OK);
    ck_assert_int_eq(a.elem_type, GGUF_VT_ARRAY);
    ck_assert_uint_eq(a.count, 2);
    ck_assert_uint_eq(a.depth, 2);
    pos = 0;
    ck_assert_int_eq(gguf_array_next(&a, &pos, &v), 1);
    ck_assert_int_eq(v.type, GGUF_VT_ARRAY);
    ck_assert_int_eq(v.v.arr.elem_type, GGUF_VT_INT16);
    ck_assert_uint_eq(v.v.arr.count, 2);
    ck_assert_int_eq(gguf_array_i64(&v.v.arr, 0), 1);
    ck_assert_int_eq(gguf_array_i64(&v.v.arr, 1), 2);
    ck_assert_int_eq(gguf_array_i64(&v.v.arr, 2), 0); /* out of range */
    ck_assert_int_eq(gguf_array_next(&a, &pos, &v), 1);
    ck_assert_uint_eq(v.v.arr.count, 1);
    ck_assert(gguf_array_f64(&v.v.arr, 0) == 3.0);
    struct gguf_value inner;
    uint64_t ipos = 0;
    ck_assert_int_eq(gguf_array_next(&v.v.arr, &ipos, &inner), 1);
    ck_assert_int_eq(inner.type, GGUF_VT_INT16);
    ck_assert_int_eq(inner.v.i64, 3);
    ck_assert_int_eq(gguf_array_next(&v.v.arr, &ipos, &inner), 0);
    ck_assert_int_eq(gguf_array_next(&a, &pos, &v), 0);

    const struct gguf_tensor *t = gguf_find_tensor(g, "blk.0.q.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->type, QT_Q8_0);
    ck_assert_uint_eq(t->n_bytes, 68);
    ck_assert_uint_eq(t->offset, 64);
    ck_assert_uint_eq(t->data[0], 16);
    ck_assert_int_eq(gguf_find_tensor(g, "norm.weight")->ne[1], 1);
    close_copy(&o);

    /* A negative value does not fit an unsigned getter. */
    gfx_patch_u32(&b, at.int_type_at + 4, (uint32_t)-5);
    ck_assert_int_eq(open_copy(&o, b.buf, b.len), GGUF_OK);
    ck_assert_int_eq(gguf_get_u64(&o.g, "test.count", &u64, err, sizeof err), GGUF_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(err, "-5"));
    ck_assert_int_eq(gguf_get_i64(&o.g, "test.count", &i64, err, sizeof err), GGUF_OK);
    ck_assert_int_eq(i64, -5);
    close_copy(&o);
    gfx_free(&b);
}
END_TEST

START_TEST(test_v2_accepted)
{
    struct gfx b;
    gfx_small(&b, 2, NULL);
    struct opened o;
    ck_assert_msg(open_copy(&o, b.buf, b.len) == GGUF_OK, "%s", o.err);
    ck_assert_uint_eq(o.g.version, 2);
    ck_assert_uint_eq(o.g.n_tensors, 3);
    close_copy(&o);
    gfx_free(&b);
}
END_TEST

START_TEST(test_no_tensors_no_padding)
{
    struct gfx b;
    gfx_init(&b);
    gfx_header(&b, 3, 0, 1);
    gfx_kv_str(&b, "general.architecture", "llama");
    struct opened o;
    ck_assert_msg(open_copy(&o, b.buf, b.len) == GGUF_OK, "%s", o.err);
    ck_assert_uint_eq(o.g.data_bytes, 0);
    ck_assert_uint_le(o.g.data_offset, b.len);
    close_copy(&o);
    gfx_free(&b);
}
END_TEST

/* Many keys and tensors: every one is found through the hash tables, the
 * by-offset order is the reverse of file order here, and a duplicate added
 * at the very end is still caught. */
static void many_file(struct gfx *b, int n, bool dup_last)
{
    gfx_init(b);
    gfx_header(b, 3, (uint64_t)n, (uint64_t)n);
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "key.%d", dup_last && i == n - 1 ? 7 : i);
        gfx_kv_u32(b, name, (uint32_t)i);
    }
    static const uint64_t ne[1] = { 8 };
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "blk.%d.weight", i);
        gfx_tensor_info(b, name, 1, ne, QT_F32, (uint64_t)(n - 1 - i) * 32);
    }
    gfx_pad(b, 32);
    gfx_zeros(b, (size_t)n * 32);
}

START_TEST(test_many_entries)
{
    enum { N = 3000 };
    struct gfx b;
    many_file(&b, N, false);
    struct opened o;
    ck_assert_msg(open_copy(&o, b.buf, b.len) == GGUF_OK, "%s", o.err);
    char name[64];
    for (int i = 0; i < N; i++) {
        uint32_t v = 0;
        snprintf(name, sizeof name, "key.%d", i);
        ck_assert_int_eq(gguf_get_u32(&o.g, name, &v, NULL, 0), GGUF_OK);
        ck_assert_uint_eq(v, (uint32_t)i);
        snprintf(name, sizeof name, "blk.%d.weight", i);
        ck_assert_ptr_eq(gguf_find_tensor(&o.g, name), gguf_tensor_at(&o.g, (uint64_t)i));
        ck_assert_ptr_eq(gguf_tensor_by_offset(&o.g, (uint64_t)i), gguf_tensor_at(&o.g, (uint64_t)(N - 1 - i)));
    }
    ck_assert_ptr_null(gguf_find_kv(&o.g, "key.3000"));
    ck_assert_ptr_null(gguf_find_tensor(&o.g, "blk.3000.weight"));
    close_copy(&o);
    gfx_free(&b);

    many_file(&b, N, true);
    expect_fail(&b, GGUF_ECORRUPT, "key 'key.7'", "duplicate key (first defined as key 8 at byte");
    gfx_free(&b);
}
END_TEST

START_TEST(test_storage_contract)
{
    struct gfx b;
    gfx_small(&b, 3, NULL);
    size_t ib = gguf_index_bytes(b.buf, b.len);
    ck_assert_uint_gt(ib, 0);
    /* the storage may be misaligned: the reader aligns it */
    uint8_t *store = malloc(ib + 1);
    struct gguf g;
    char err[256];
    ck_assert_int_eq(gguf_open(&g, b.buf, b.len, store + 1, ib, err, sizeof err), GGUF_OK);
    ck_assert_ptr_nonnull(gguf_find_tensor(&g, "tok.weight"));
    gguf_close(&g);
    ck_assert_int_eq(gguf_open(&g, b.buf, b.len, store, 64, err, sizeof err), GGUF_ENOMEM);
    ck_assert_ptr_nonnull(strstr(err, "gguf_index_bytes"));
    ck_assert_int_eq(gguf_open(&g, b.buf, b.len, NULL, 0, err, sizeof err), GGUF_ENOMEM);
    /* header errors come before storage errors */
    b.buf[1] = 'X';
    ck_assert_int_eq(gguf_open(&g, b.buf, b.len, NULL, 0, err, sizeof err), GGUF_ENOTGGUF);
    ck_assert_uint_eq(gguf_index_bytes(b.buf, b.len), 0);
    ck_assert_int_eq(gguf_open_alloc(&g, b.buf, b.len, err, sizeof err), GGUF_ENOTGGUF);
    free(store);
    gfx_free(&b);
    ck_assert_str_eq(gguf_status_name(GGUF_ETRUNC), "truncated");
    ck_assert_str_eq(gguf_vtype_name(GGUF_VT_FLOAT64), "float64");
    ck_assert_str_eq(gguf_vtype_name(99), "unknown");
}
END_TEST

/* --- ggperf info ------------------------------------------------------- */

START_TEST(test_info_golden)
{
    char cmd[2048], path[1024];
    static char out[1 << 16], err[4096];
    snprintf(cmd, sizeof cmd, "%s info %s", tu_ggperf_bin(), tu_golden_path(path, sizeof path, "shared-Q4_K.gguf"));
    int rc = tu_run(cmd, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "blk.1.ffn_up.weight"));
    ck_assert_ptr_nonnull(strstr(out, "Q4_K"));
    ck_assert_ptr_nonnull(strstr(out, "[256, 768]"));
    ck_assert_ptr_nonnull(strstr(out, "tokenizer.ggml.tokens"));
    ck_assert_ptr_nonnull(strstr(out, "[1024 strings: \"<unk>\", \"<s>\", \"</s>\", ... ]"));
    ck_assert_ptr_nonnull(strstr(out, "embedding_length"));
    ck_assert_ptr_nonnull(strstr(out, "vocab_size"));

    snprintf(cmd, sizeof cmd, "%s info --json %s", tu_ggperf_bin(), path);
    rc = tu_run(cmd, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    json_error_t jerr;
    json_t *root = json_loads(out, 0, &jerr);
    ck_assert_msg(root != NULL, "invalid JSON at line %d: %s", jerr.line, jerr.text);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(root, "header"), "n_tensors")), 21);
    json_t *tensors = json_object_get(root, "tensors");
    ck_assert_uint_eq(json_array_size(tensors), 21);
    json_t *hp = json_object_get(root, "hparams");
    ck_assert_int_eq(json_integer_value(json_object_get(hp, "embedding_length")), 256);
    ck_assert_int_eq(json_integer_value(json_object_get(hp, "vocab_size")), 1024);
    json_decref(root);
}
END_TEST

START_TEST(test_info_errors)
{
    char cmd[2048], err[4096], out[4096];
    const char *dir = tu_tmpdir();
    char path[512];
    struct gfx b;
    struct gfx_small at;
    gfx_small(&b, 3, &at);
    gfx_patch_u8(&b, at.bool_value_at, 2);
    snprintf(path, sizeof path, "%s/bad.gguf", dir);
    ck_assert_int_eq(tu_write_file(path, b.buf, b.len), 0);
    gfx_free(&b);

    snprintf(cmd, sizeof cmd, "%s info %s", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 1);
    ck_assert_int_eq(tu_count_lines(err), 1);
    char want[600];
    snprintf(want, sizeof want, "ggperf: %s: ", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "stderr: %s", err);
    ck_assert_ptr_nonnull(strstr(err, "test.flag"));
    unlink(path);

    snprintf(cmd, sizeof cmd, "%s info %s/missing.gguf", tu_ggperf_bin(), dir);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 1);
    ck_assert_int_eq(tu_count_lines(err), 1);
    ck_assert_ptr_nonnull(strstr(err, "missing.gguf"));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));

    snprintf(cmd, sizeof cmd, "%s info %s", tu_ggperf_bin(), dir); /* a directory */
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 1);
    ck_assert_int_eq(tu_count_lines(err), 1);
    ck_assert_ptr_nonnull(strstr(err, "directory"));

    snprintf(path, sizeof path, "%s/empty.gguf", dir);
    ck_assert_int_eq(tu_write_file(path, "", 0), 0);
    snprintf(cmd, sizeof cmd, "%s info %s", tu_ggperf_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 1);
    ck_assert_int_eq(tu_count_lines(err), 1);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    unlink(path);
    rmdir(dir);

    snprintf(cmd, sizeof cmd, "%s info", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "usage"));
    snprintf(cmd, sizeof cmd, "%s info --bogus x.gguf", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    snprintf(cmd, sizeof cmd, "%s info a.gguf b.gguf", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
}
END_TEST

Suite *gguf_suite(void)
{
    Suite *s = suite_create("gguf");
    TCase *tc = tcase_create("reader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_golden_models_open);
    tcase_add_test(tc, test_small_file_and_getters);
    tcase_add_test(tc, test_v2_accepted);
    tcase_add_test(tc, test_no_tensors_no_padding);
    tcase_add_test(tc, test_storage_contract);
    tcase_add_test(tc, test_many_entries);
    suite_add_tcase(s, tc);

    TCase *cli = tcase_create("info");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, test_info_golden);
    tcase_add_test(cli, test_info_errors);
    suite_add_tcase(s, cli);
    return s;
}
