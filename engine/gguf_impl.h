/* gguf_impl — what the two files of the GGUF reader share: gguf.c (the
 * file: header, index layout, key/value and tensor-info parsing, data
 * checks, open/close, lookups by name) and gguf_value.c (the bounded reader
 * with its positioned messages, values, typed getters, arrays, names).
 * Private to engine/gguf*.c: not installed (not in PUBLIC_HEADERS). */
#ifndef GGPERF_ENGINE_GGUF_IMPL_H
#define GGPERF_ENGINE_GGUF_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/gguf.h"

/* --- little-endian loads --------------------------------------------- */

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ld64(const uint8_t *p) { return ld32(p) | (uint64_t)ld32(p + 4) << 32; }
static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* --- value types ------------------------------------------------------ */

static inline bool is_int_type(enum gguf_vtype t)
{
    return t <= GGUF_VT_INT32 || t == GGUF_VT_UINT64 || t == GGUF_VT_INT64;
}

/* --- error messages --------------------------------------------------- */

/* What the parser is reading, kept as cheap fields and formatted only when
 * a message is written. */
enum ctx_kind { CTX_HEADER, CTX_KEY_NO, CTX_KEY, CTX_TENSOR_NO, CTX_TENSOR };

struct rd {
    const uint8_t *buf;
    uint64_t size;
    uint64_t pos;            /* next byte to read; always <= size */
    char *err;
    size_t err_len;
    enum ctx_kind ctx;
    uint64_t ctx_i, ctx_n;   /* entry number (0-based) and count */
    struct gguf_str ctx_name;
    uint32_t n_elem;         /* array elements being read, outermost first */
    uint64_t elem_i[GGUF_MAX_ARRAY_DEPTH], elem_n[GGUF_MAX_ARRAY_DEPTH];
};

/* --- gguf_value.c ---------------------------------------------------- */

/* Value type names, by enum gguf_vtype. */
extern const char *const gguf_vtype_names[GGUF_VT_COUNT];

/* A name from the file, made safe for a one-line message. */
const char *gguf_safe_name(char *out, size_t out_len, struct gguf_str s);

/* "at byte P: <context>: <message>" into r->err; returns code. */
int gguf_fail(struct rd *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Bounded reads at r->pos: 0, or a status with a message. what names the
 * field in the message ("key", "name", "n_dims", ...). */
int gguf_read_u32(struct rd *r, const char *what, uint32_t *out);
int gguf_read_u64(struct rd *r, const char *what, uint64_t *out);
int gguf_read_str(struct rd *r, const char *what, struct gguf_str *out);

/* Parse and validate one value of type t at r->pos; level is the number of
 * arrays it sits in. */
int gguf_parse_value(struct rd *r, uint32_t t, uint32_t level, struct gguf_value *out);

/* Integer value as u64 when it fits. */
bool gguf_value_u64(const struct gguf_value *v, uint64_t *out);

#endif
