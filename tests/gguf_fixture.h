/* gguf_fixture — GGUF files in memory for tests and fuzzers, written with the
 * one GGUF writer (modelgen/gguf_writer.c) through its sink and raw emitters.
 *
 * Emits exactly the bytes asked for, in file order, with no validation, so
 * a test can write a valid file or any corrupt variant of one: wrong counts,
 * lengths past the end, unknown types, overlapping offsets. Positions of the
 * interesting fields of the small standard file are recorded so a corrupt
 * variant is often "build the small file, patch one field".
 *
 * Memory: the buffer grows with realloc; gfx_free releases it. Allocation
 * failure aborts (tests only).
 */
#ifndef GGPERF_TESTS_GGUF_FIXTURE_H
#define GGPERF_TESTS_GGUF_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "modelgen/gguf_writer.h"

/* buf[0..len) holds every byte emitted so far (each call flushes the
 * writer). The writer points into the struct: do not copy a gfx. */
struct gfx {
    uint8_t *buf;
    size_t len, cap;
    struct gguf_writer w;
    uint8_t stage[256];
};

void gfx_init(struct gfx *b);
void gfx_free(struct gfx *b);

/* Raw little-endian fields. */
void gfx_u8(struct gfx *b, uint8_t v);
void gfx_u16(struct gfx *b, uint16_t v);
void gfx_u32(struct gfx *b, uint32_t v);
void gfx_u64(struct gfx *b, uint64_t v);
void gfx_f32(struct gfx *b, float v);
void gfx_f64(struct gfx *b, double v);
void gfx_bytes(struct gfx *b, const void *p, size_t n);
void gfx_zeros(struct gfx *b, size_t n);
/* A GGUF string: u64 length + bytes (no NUL). */
void gfx_str(struct gfx *b, const char *s);
/* The same for n bytes that may hold any byte. */
void gfx_str_n(struct gfx *b, const void *s, size_t n);
/* Zero bytes up to the next multiple of align (a power of two). */
void gfx_pad(struct gfx *b, size_t align);

/* Overwrite a field already written at byte offset at. */
void gfx_patch_u8(struct gfx *b, size_t at, uint8_t v);
void gfx_patch_u32(struct gfx *b, size_t at, uint32_t v);
void gfx_patch_u64(struct gfx *b, size_t at, uint64_t v);

/* Header: "GGUF", version, n_tensors, n_kv. */
void gfx_header(struct gfx *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv);

/* Whole key/value entries (key string, value type, value). */
void gfx_kv_u32(struct gfx *b, const char *key, uint32_t v);
void gfx_kv_i32(struct gfx *b, const char *key, int32_t v);
void gfx_kv_u64(struct gfx *b, const char *key, uint64_t v);
void gfx_kv_f32(struct gfx *b, const char *key, float v);
void gfx_kv_bool(struct gfx *b, const char *key, uint8_t v);
void gfx_kv_str(struct gfx *b, const char *key, const char *v);
/* Key + ARRAY type + element type + count; the caller writes the elements. */
void gfx_kv_arr_begin(struct gfx *b, const char *key, uint32_t elem_type, uint64_t count);

/* One tensor info: name, n_dims, ne[0..n_dims), type, offset. */
void gfx_tensor_info(struct gfx *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                     uint32_t type, uint64_t offset);

/* The small standard file: GGUF v3 (or v2), 8 keys of most value types
 * (string, uint32 alignment 32, bool, int32, float32, string array, nested
 * array of int16 arrays, uint64), 3 tensors (F32 [8,2], Q8_0 [32,2],
 * F16 [4]) with data packed at 32-byte alignment; the file ends exactly at
 * the end of the last tensor's data. Offsets of the fields tests patch: */
struct gfx_small {
    size_t version_at, n_tensors_at, n_kv_at;
    size_t arch_len_at;         /* general.architecture value string length */
    size_t align_value_at;      /* uint32 value of general.alignment */
    size_t bool_value_at;       /* test.flag value byte */
    size_t int_type_at;         /* test.count value type field */
    size_t names_count_at;      /* test.names array count */
    size_t tensor_type_at[3];   /* type field of each tensor info */
    size_t tensor_ndims_at[3];
    size_t tensor_ne0_at[3];
    size_t tensor_offset_at[3]; /* data offset field of each tensor info */
    size_t data_offset;         /* start of the data section */
    uint64_t tensor_off[3];     /* data offsets written */
};
#define GFX_SMALL_N_KV 8
#define GFX_SMALL_N_TENSORS 3

void gfx_small(struct gfx *b, uint32_t version, struct gfx_small *at);

#endif
