/* gguf_fixture — GGUF files in memory for tests and fuzzers over the one
 * GGUF writer (see the header). */
#include "tests/gguf_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/quant.h"

/* The writer's sink: append to the growable buffer. Out of memory aborts
 * (tests only). */
static int gfx_sink(void *user, const void *data, size_t n)
{
    struct gfx *b = user;
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
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    return 0;
}

void gfx_init(struct gfx *b)
{
    memset(b, 0, sizeof *b);
    gguf_writer_init_sink(&b->w, gfx_sink, b, b->stage, sizeof b->stage);
}

void gfx_free(struct gfx *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}

/* Make the bytes just emitted visible in buf/len. */
static void done(struct gfx *b)
{
    gguf_writer_flush(&b->w);
}

void gfx_bytes(struct gfx *b, const void *p, size_t n)
{
    if (n)
        gguf_writer_raw(&b->w, p, n);
    done(b);
}

void gfx_zeros(struct gfx *b, size_t n)
{
    gfx_bytes(b, NULL, n);
}

void gfx_u8(struct gfx *b, uint8_t v) { gguf_writer_raw_u8(&b->w, v); done(b); }
void gfx_u16(struct gfx *b, uint16_t v) { gguf_writer_raw_u16(&b->w, v); done(b); }
void gfx_u32(struct gfx *b, uint32_t v) { gguf_writer_raw_u32(&b->w, v); done(b); }
void gfx_u64(struct gfx *b, uint64_t v) { gguf_writer_raw_u64(&b->w, v); done(b); }

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
    gguf_writer_raw_str(&b->w, s, strlen(s));
    done(b);
}

void gfx_str_n(struct gfx *b, const void *s, size_t n)
{
    gguf_writer_raw_str(&b->w, s, n);
    done(b);
}

void gfx_pad(struct gfx *b, size_t align)
{
    gfx_zeros(b, (align - b->len % align) % align);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void gfx_patch_u8(struct gfx *b, size_t at, uint8_t v) { put_le(b->buf + at, v, 1); }
void gfx_patch_u32(struct gfx *b, size_t at, uint32_t v) { put_le(b->buf + at, v, 4); }
void gfx_patch_u64(struct gfx *b, size_t at, uint64_t v) { put_le(b->buf + at, v, 8); }

void gfx_header(struct gfx *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    gguf_writer_raw_header(&b->w, "GGUF", version, n_tensors, n_kv);
    done(b);
}

static void key(struct gfx *b, const char *k, uint32_t vtype)
{
    gguf_writer_raw_key(&b->w, k, vtype);
}

void gfx_kv_u32(struct gfx *b, const char *k, uint32_t v)
{
    key(b, k, GGUF_VT_UINT32);
    gfx_u32(b, v);
}

void gfx_kv_i32(struct gfx *b, const char *k, int32_t v)
{
    key(b, k, GGUF_VT_INT32);
    gfx_u32(b, (uint32_t)v);
}

void gfx_kv_u64(struct gfx *b, const char *k, uint64_t v)
{
    key(b, k, GGUF_VT_UINT64);
    gfx_u64(b, v);
}

void gfx_kv_f32(struct gfx *b, const char *k, float v)
{
    key(b, k, GGUF_VT_FLOAT32);
    gfx_f32(b, v);
}

void gfx_kv_bool(struct gfx *b, const char *k, uint8_t v)
{
    key(b, k, GGUF_VT_BOOL);
    gfx_u8(b, v);
}

void gfx_kv_str(struct gfx *b, const char *k, const char *v)
{
    key(b, k, GGUF_VT_STRING);
    gfx_str(b, v);
}

void gfx_kv_arr_begin(struct gfx *b, const char *k, uint32_t elem_type, uint64_t count)
{
    key(b, k, GGUF_VT_ARRAY);
    gguf_writer_raw_u32(&b->w, elem_type);
    gfx_u64(b, count);
}

void gfx_tensor_info(struct gfx *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                     uint32_t type, uint64_t offset)
{
    gguf_writer_raw_tensor_info(&b->w, name, n_dims, ne, type, offset);
    done(b);
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
