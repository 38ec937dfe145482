/* fuzz_gguf — libFuzzer target for the GGUF reader.
 *
 * Opens the input with gguf_open over caller storage, then uses everything
 * the API hands out: every key (arrays walked with gguf_array_next, nested
 * ones recursively, fixed-size ones element by element), every tensor (its
 * first and last data byte are read, so a view past the buffer is an ASan
 * report), lookups by name, and the typed getters. Invariants that must hold
 * for any input that opens are checked with __builtin_trap(): lookups find
 * the entry they came from, iteration yields exactly count elements ending
 * at the array's byte size, tensors lie inside the buffer in ascending
 * by-offset order, and a failed open leaves a one-line message.
 *
 * Built and run by scripts/fuzz.sh. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Index storage larger than this is not allocated (the reader bounds it by
 * the input size anyway; this keeps libFuzzer's malloc limit out of it). */
#define MAX_INDEX_BYTES ((size_t)64 << 20)

static volatile uint64_t sink;

static void walk_value(const struct gguf_value *v, int level)
{
    CHECK(level <= GGUF_MAX_ARRAY_DEPTH);
    if (v->type == GGUF_VT_STRING) {
        if (v->v.str.len)
            sink += (unsigned char)v->v.str.ptr[0] + (unsigned char)v->v.str.ptr[v->v.str.len - 1];
        return;
    }
    if (v->type != GGUF_VT_ARRAY) {
        sink += v->v.u64;
        return;
    }
    const struct gguf_array *a = &v->v.arr;
    CHECK(a->depth >= 1 && a->depth <= GGUF_MAX_ARRAY_DEPTH);
    CHECK((a->elem_type == GGUF_VT_ARRAY) == (a->depth > 1));
    uint64_t pos = 0, n = 0;
    struct gguf_value e;
    while (gguf_array_next(a, &pos, &e)) {
        CHECK(e.type == a->elem_type);
        if (e.type == GGUF_VT_ARRAY)
            CHECK(e.v.arr.depth < a->depth);
        walk_value(&e, level + 1);
        n++;
        CHECK(n <= a->count);
    }
    CHECK(n == a->count);
    CHECK(pos == a->bytes || a->count == 0);
    if (a->elem_type != GGUF_VT_STRING && a->elem_type != GGUF_VT_ARRAY) {
        uint64_t lim = a->count < 64 ? a->count : 64;
        for (uint64_t i = 0; i < lim; i++)
            sink += gguf_array_u64(a, i) + (uint64_t)gguf_array_i64(a, i) + (gguf_array_f64(a, i) > 0);
        if (a->count)
            sink += gguf_array_u64(a, a->count - 1);
    }
    sink += gguf_array_u64(a, a->count); /* out of range: 0, no read */
}

/* Typed getters on one key: whichever succeed must agree. */
static void getters(const struct gguf *g, const char *key)
{
    uint64_t u64 = 0;
    int64_t i64 = 0;
    uint32_t u32 = 0;
    float f = 0;
    bool b = false;
    struct gguf_str s;
    struct gguf_array a;
    char err[128];
    int r64 = gguf_get_u64(g, key, &u64, err, sizeof err);
    int r32 = gguf_get_u32(g, key, &u32, err, sizeof err);
    int ri = gguf_get_i64(g, key, &i64, err, sizeof err);
    if (r32 == GGUF_OK)
        CHECK(r64 == GGUF_OK && u64 == u32);
    if (r64 == GGUF_OK && ri == GGUF_OK)
        CHECK((uint64_t)i64 == u64);
    sink += (uint64_t)gguf_get_f32(g, key, &f, err, sizeof err) + (f > 0);
    sink += (uint64_t)gguf_get_bool(g, key, &b, NULL, 0) + b;
    if (gguf_get_str(g, key, &s, err, sizeof err) == GGUF_OK && s.len)
        sink += (unsigned char)s.ptr[0];
    if (gguf_get_arr(g, key, &a, err, sizeof err) == GGUF_OK)
        sink += a.count;
}

/* A view as a C string when it has no NUL inside and fits. */
static bool cstr(char *out, size_t len, struct gguf_str s)
{
    if (s.len >= len || (s.len && memchr(s.ptr, 0, s.len)))
        return false;
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t ib = gguf_index_bytes(data, size);
    if (ib > MAX_INDEX_BYTES)
        return 0;
    void *store = ib ? malloc(ib) : NULL;
    struct gguf g;
    char err[512];
    int rc = gguf_open(&g, data, size, store, ib, err, sizeof err);
    if (rc != GGUF_OK) {
        CHECK(rc < 0 && rc >= GGUF_ENOMEM);
        CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
        CHECK(g.index == NULL);
        free(store);
        return 0;
    }
    CHECK(g.version == 2 || g.version == 3);
    CHECK(g.alignment && (g.alignment & (g.alignment - 1)) == 0);
    CHECK(g.data_offset <= size && g.data_bytes <= size - g.data_offset);

    char name[512];
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const struct gguf_kv *kv = gguf_kv_at(&g, i);
        CHECK(kv != NULL);
        CHECK(gguf_find_kv_n(&g, kv->key.ptr, kv->key.len) == kv);
        CHECK(gguf_kv_offset(&g, i) < size);
        walk_value(&kv->value, 0);
        if (cstr(name, sizeof name, kv->key)) {
            CHECK(gguf_find_kv(&g, name) == kv);
            getters(&g, name);
        }
    }
    CHECK(gguf_kv_at(&g, g.n_kv) == NULL);

    const uint8_t *end = data + size;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(&g, i);
        CHECK(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS && t->n_bytes > 0);
        CHECK(t->data >= data + g.data_offset && t->data < end && t->n_bytes <= (uint64_t)(end - t->data));
        sink += t->data[0] + t->data[t->n_bytes - 1];
        if (cstr(name, sizeof name, t->name))
            CHECK(gguf_find_tensor(&g, name) == t);
        const struct gguf_tensor *o = gguf_tensor_by_offset(&g, i);
        if (i > 0) {
            const struct gguf_tensor *p = gguf_tensor_by_offset(&g, i - 1);
            CHECK(p->offset + p->n_bytes <= o->offset);
        }
    }
    CHECK(gguf_tensor_at(&g, g.n_tensors) == NULL);

    static const char *const probes[] = {
        "general.architecture", "general.alignment", "general.name", "tokenizer.ggml.tokens",
        "llama.embedding_length", "", "blk.0.attn_q.weight", "token_embd.weight",
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        getters(&g, probes[i]);
        sink += gguf_find_tensor(&g, probes[i]) != NULL;
    }

    /* The convenience form agrees with caller storage. */
    struct gguf g2;
    CHECK(gguf_open_alloc(&g2, data, size, err, sizeof err) == GGUF_OK);
    CHECK(g2.n_kv == g.n_kv && g2.n_tensors == g.n_tensors && g2.data_offset == g.data_offset);
    gguf_close(&g2);
    gguf_close(&g);
    free(store);
    return 0;
}
