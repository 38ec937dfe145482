#include "tests/gguf_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/quant.h"

void gfx_init(struct gfx *b)
{
    memset(b, 0, sizeof *b);
}

void gfx_free(struct gfx *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}

static uint8_t *grow(struct gfx *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->buf, cap);
        if (!p) {
            fprintf(stderr, "gguf_fixture: out of memory\n");
            abort();
        }
        b->buf = p;
        b->cap = cap;
    }
    uint8_t *at = b->buf + b->len;
    b->len += n;
    return at;
}

void gfx_bytes(struct gfx *b, const void *p, size_t n)
{
    if (n)
        memcpy(grow(b, n), p, n);
}

void gfx_zeros(struct gfx *b, size_t n)
{
    if (n)
        memset(grow(b, n), 0, n);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void gfx_u8(struct gfx *b, uint8_t v) { put_le(grow(b, 1), v, 1); }
void gfx_u16(struct gfx *b, uint16_t v) { put_le(grow(b, 2), v, 2); }
void gfx_u32(struct gfx *b, uint32_t v) { put_le(grow(b, 4), v, 4); }
void gfx_u64(struct gfx *b, uint64_t v) { put_le(grow(b, 8), v, 8); }

void gfx_f32(struct gfx *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    gfx_u32(b, u);
}

void gfx_f64(struct gfx *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    gfx_u64(b, u);
}

void gfx_str(struct gfx *b, const char *s)
{
    size_t n = strlen(s);
    gfx_u64(b, n);
    gfx_bytes(b, s, n);
}

void gfx_pad(struct gfx *b, size_t align)
{
    gfx_zeros(b, (align - b->len % align) % align);
}

void gfx_patch_u8(struct gfx *b, size_t at, uint8_t v) { put_le(b->buf + at, v, 1); }
void gfx_patch_u32(struct gfx *b, size_t at, uint32_t v) { put_le(b->buf + at, v, 4); }
void gfx_patch_u64(struct gfx *b, size_t at, uint64_t v) { put_le(b->buf + at, v, 8); }

void gfx_header(struct gfx *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    gfx_bytes(b, "GGUF", 4);
    gfx_u32(b, version);
    gfx_u64(b, n_tensors);
    gfx_u64(b, n_kv);
}

void gfx_kv_u32(struct gfx *b, const char *key, uint32_t v)
{
    gfx_str(b, key);
    gfx_u32(b, GGUF_VT_UINT32);
    gfx_u32(b, v);
}

void gfx_kv_i32(struct gfx *b, const char *key, int32_t v)
{
    gfx_str(b, key);
    gfx_u32(b, GGUF_VT_INT32);
    gfx_u32(b, (uint32_t)v);
}

void gfx_kv_u64(struct gfx *b, const char *key, uint64_t v)
{
    gfx_str(b, key);
    gfx_u32(b, GGUF_VT_UINT64);
    gfx_u64(b, v);
}

void gfx_kv_f32(struct gfx *b, const char *key, float v)
{
    gfx_str(b, key);
    gfx_u32(b, GGUF_VT_FLOAT32);
    gfx_f32(b, v);
}

void gfx_kv_bool(struct gfx *b, const char *key, uint8_t v)
{
    gfx_str(b, key);
    gfx_u32(b, GGUF_VT_BOOL);
    gfx_u8(b, v);
}

void gfx_kv_str(struct gfx *b, const char *key, const char *v)
{
    gfx_str(b, key);
    gfx_u32(b, GGUF_VT_STRING);
    gfx_str(b, v);
}

void gfx_kv_arr_begin(struct gfx *b, const char *key, uint32_t elem_type, uint64_t count)
{
    gfx_str(b, key);
    gfx_u32(b, GGUF_VT_ARRAY);
    gfx_u32(b, elem_type);
    gfx_u64(b, count);
}

void gfx_tensor_info(struct gfx *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                     uint32_t type, uint64_t offset)
{
    gfx_str(b, name);
    gfx_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        gfx_u64(b, ne[d]);
    gfx_u32(b, type);
    gfx_u64(b, offset);
}

void gfx_small(struct gfx *b, uint32_t version, struct gfx_small *at)
{
    struct gfx_small dummy;
    if (!at)
        at = &dummy;
    memset(at, 0, sizeof *at);
    gfx_init(b);
    at->version_at = 4;
    at->n_tensors_at = 8;
    at->n_kv_at = 16;
    gfx_header(b, version, GFX_SMALL_N_TENSORS, GFX_SMALL_N_KV);

    gfx_str(b, "general.architecture");
    gfx_u32(b, GGUF_VT_STRING);
    at->arch_len_at = b->len;
    gfx_str(b, "llama");

    gfx_str(b, "general.alignment");
    gfx_u32(b, GGUF_VT_UINT32);
    at->align_value_at = b->len;
    gfx_u32(b, 32);

    gfx_str(b, "test.flag");
    gfx_u32(b, GGUF_VT_BOOL);
    at->bool_value_at = b->len;
    gfx_u8(b, 1);

    gfx_str(b, "test.count");
    at->int_type_at = b->len;
    gfx_u32(b, GGUF_VT_INT32);
    gfx_u32(b, 7);

    gfx_kv_f32(b, "test.scale", 0.5f);

    gfx_kv_arr_begin(b, "test.names", GGUF_VT_STRING, 3);
    at->names_count_at = b->len - 8;
    gfx_str(b, "a");
    gfx_str(b, "bc");
    gfx_str(b, "def");

    /* [[1, 2], [3]] as int16 */
    gfx_kv_arr_begin(b, "test.nested", GGUF_VT_ARRAY, 2);
    gfx_u32(b, GGUF_VT_INT16);
    gfx_u64(b, 2);
    gfx_u16(b, 1);
    gfx_u16(b, 2);
    gfx_u32(b, GGUF_VT_INT16);
    gfx_u64(b, 1);
    gfx_u16(b, 3);

    gfx_kv_u64(b, "test.big", 5000000000ull);

    static const char *const names[3] = { "tok.weight", "blk.0.q.weight", "norm.weight" };
    static const uint32_t types[3] = { QT_F32, QT_Q8_0, QT_F16 };
    static const uint32_t ndims[3] = { 2, 2, 1 };
    static const uint64_t ne[3][2] = { { 8, 2 }, { 32, 2 }, { 4, 1 } };
    static const uint64_t bytes[3] = { 64, 68, 8 };
    uint64_t off = 0;
    for (int i = 0; i < 3; i++) {
        at->tensor_off[i] = off;
        gfx_str(b, names[i]);
        at->tensor_ndims_at[i] = b->len;
        gfx_u32(b, ndims[i]);
        at->tensor_ne0_at[i] = b->len;
        for (uint32_t d = 0; d < ndims[i]; d++)
            gfx_u64(b, ne[i][d]);
        at->tensor_type_at[i] = b->len;
        gfx_u32(b, types[i]);
        at->tensor_offset_at[i] = b->len;
        gfx_u64(b, off);
        off = (off + bytes[i] + 31) & ~(uint64_t)31;
    }
    gfx_pad(b, 32);
    at->data_offset = b->len;
    for (int i = 0; i < 3; i++) {
        size_t want = at->data_offset + at->tensor_off[i];
        gfx_zeros(b, want - b->len);
        for (uint64_t k = 0; k < bytes[i]; k++)
            gfx_u8(b, (uint8_t)(i * 16 + k));
    }
}
