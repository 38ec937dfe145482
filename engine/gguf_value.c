/* gguf_value — GGUF values, apart from the file structure (gguf.c): the
 * bounded reader every parse goes through and its messages, which say at
 * which byte, in which key, tensor and array element a file went wrong;
 * values (scalars, strings, arrays nested up to GGUF_MAX_ARRAY_DEPTH),
 * checked as they are parsed; and what callers read from them: typed
 * getters by key, array elements, type and status names. Nothing here
 * knows the index layout. */
#include "engine/gguf_impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

/* --- names ----------------------------------------------------------- */

const char *const gguf_vtype_names[GGUF_VT_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

/* Bytes of a fixed-size value, 0 for strings and arrays. */
static const uint8_t vtype_size[GGUF_VT_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

const char *gguf_vtype_name(int t)
{
    return t >= 0 && t < GGUF_VT_COUNT ? gguf_vtype_names[t] : "unknown";
}

const char *gguf_status_name(int status)
{
    switch (status) {
    case GGUF_OK: return "ok";
    case GGUF_ENOTGGUF: return "not a GGUF file";
    case GGUF_EVERSION: return "unsupported version";
    case GGUF_ETRUNC: return "truncated";
    case GGUF_ECORRUPT: return "corrupt";
    case GGUF_ELIMIT: return "beyond the reader's limits";
    case GGUF_ETYPE: return "unknown type";
    case GGUF_ENOTFOUND: return "not found";
    case GGUF_EMISMATCH: return "type mismatch";
    case GGUF_ENOMEM: return "out of memory";
    }
    return "unknown status";
}

bool gguf_str_eq(struct gguf_str s, const char *cstr)
{
    size_t n = strlen(cstr);
    return s.len == n && (n == 0 || memcmp(s.ptr, cstr, n) == 0);
}

/* A name from the file, made safe for a one-line message: non-printable
 * bytes become '?', long names are cut with "...". */
const char *gguf_safe_name(char *out, size_t out_len, struct gguf_str s)
{
    size_t max = out_len - 1, n = 0;
    bool cut = s.len > max;
    uint64_t take = cut ? max - 3 : s.len;
    for (uint64_t i = 0; i < take; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (cut) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* --- error messages --------------------------------------------------- */

/* "at byte P: <context>: <message>" */
int gguf_fail(struct rd *r, int code, const char *fmt, ...)
{
    if (!r->err || !r->err_len)
        return code;
    char name[96];
    size_t n = 0, cap = r->err_len;
#define ADD(...) do { if (n < cap) { int w_ = snprintf(r->err + n, cap - n, __VA_ARGS__); if (w_ > 0) n += (size_t)w_; } } while (0)
    ADD("at byte %" PRIu64 ": ", r->pos);
    switch (r->ctx) {
    case CTX_HEADER: ADD("header"); break;
    case CTX_KEY_NO: ADD("key %" PRIu64 " of %" PRIu64, r->ctx_i + 1, r->ctx_n); break;
    case CTX_KEY: ADD("key '%s'", gguf_safe_name(name, sizeof name, r->ctx_name)); break;
    case CTX_TENSOR_NO: ADD("tensor %" PRIu64 " of %" PRIu64, r->ctx_i + 1, r->ctx_n); break;
    case CTX_TENSOR: ADD("tensor '%s'", gguf_safe_name(name, sizeof name, r->ctx_name)); break;
    }
    for (uint32_t d = 0; d < r->n_elem; d++)
        ADD(": element %" PRIu64 " of %" PRIu64, r->elem_i[d], r->elem_n[d]);
    ADD(": ");
#undef ADD
    if (n < cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, cap - n, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint64_t left(const struct rd *r) { return r->size - r->pos; }

int gguf_read_u32(struct rd *r, const char *what, uint32_t *out)
{
    if (left(r) < 4)
        return gguf_fail(r, GGUF_ETRUNC, "%s (4 bytes) runs past the end of the file (%" PRIu64 " bytes)",
                    what, r->size);
    *out = ld32(r->buf + r->pos);
    r->pos += 4;
    return 0;
}

int gguf_read_u64(struct rd *r, const char *what, uint64_t *out)
{
    if (left(r) < 8)
        return gguf_fail(r, GGUF_ETRUNC, "%s (8 bytes) runs past the end of the file (%" PRIu64 " bytes)",
                    what, r->size);
    *out = ld64(r->buf + r->pos);
    r->pos += 8;
    return 0;
}

/* A length-prefixed string; what is "string", "key", "name". */
int gguf_read_str(struct rd *r, const char *what, struct gguf_str *out)
{
    uint64_t len = 0;
    int rc = gguf_read_u64(r, what, &len);
    if (rc)
        return rc;
    if (len > left(r)) {
        r->pos -= 8;
        return gguf_fail(r, GGUF_ETRUNC, "%s length %" PRIu64 " runs past the end of the file (%" PRIu64 " bytes)",
                    what, len, r->size);
    }
    out->ptr = (const char *)r->buf + r->pos;
    out->len = len;
    r->pos += len;
    return 0;
}

/* --- values ----------------------------------------------------------- */

static void scalar_load(enum gguf_vtype t, const uint8_t *p, struct gguf_value *v)
{
    v->type = t;
    switch (t) {
    case GGUF_VT_UINT8: case GGUF_VT_BOOL: v->v.u64 = p[0]; break;
    case GGUF_VT_INT8: v->v.i64 = (int8_t)p[0]; break;
    case GGUF_VT_UINT16: v->v.u64 = ld16(p); break;
    case GGUF_VT_INT16: v->v.i64 = (int16_t)ld16(p); break;
    case GGUF_VT_UINT32: v->v.u64 = ld32(p); break;
    case GGUF_VT_INT32: v->v.i64 = (int32_t)ld32(p); break;
    case GGUF_VT_UINT64: v->v.u64 = ld64(p); break;
    case GGUF_VT_INT64: v->v.i64 = (int64_t)ld64(p); break;
    case GGUF_VT_FLOAT32: {
        uint32_t b = ld32(p);
        float f;
        memcpy(&f, &b, 4);
        v->v.f64 = f;
        break;
    }
    case GGUF_VT_FLOAT64: {
        uint64_t b = ld64(p);
        memcpy(&v->v.f64, &b, 8);
        break;
    }
    default: v->v.u64 = 0; break;
    }
}

/* Parse and validate one value of type t at r->pos. level is the number of
 * arrays this value sits in. The array case recurses at most
 * GGUF_MAX_ARRAY_DEPTH levels deep. */
int gguf_parse_value(struct rd *r, uint32_t t, uint32_t level, struct gguf_value *out)
{
    if (t >= GGUF_VT_COUNT)
        return gguf_fail(r, GGUF_ETYPE, "unknown value type %" PRIu32 " (allowed 0..%d)", t, GGUF_VT_COUNT - 1);
    if (t == GGUF_VT_STRING) {
        out->type = GGUF_VT_STRING;
        return gguf_read_str(r, "string", &out->v.str);
    }
    if (t != GGUF_VT_ARRAY) {
        size_t sz = vtype_size[t];
        if (left(r) < sz)
            return gguf_fail(r, GGUF_ETRUNC, "%s value (%zu bytes) runs past the end of the file (%" PRIu64 " bytes)",
                        gguf_vtype_names[t], sz, r->size);
        const uint8_t *p = r->buf + r->pos;
        if (t == GGUF_VT_BOOL && p[0] > 1)
            return gguf_fail(r, GGUF_ECORRUPT, "bool value %u (allowed 0 or 1)", p[0]);
        scalar_load((enum gguf_vtype)t, p, out);
        r->pos += sz;
        return 0;
    }

    if (level >= GGUF_MAX_ARRAY_DEPTH)
        return gguf_fail(r, GGUF_ELIMIT, "arrays nested deeper than %d levels", GGUF_MAX_ARRAY_DEPTH);
    uint32_t et = 0;
    uint64_t count = 0;
    int rc = gguf_read_u32(r, "array element type", &et);
    if (rc)
        return rc;
    if (et >= GGUF_VT_COUNT) {
        r->pos -= 4;
        return gguf_fail(r, GGUF_ETYPE, "unknown array element type %" PRIu32 " (allowed 0..%d)", et, GGUF_VT_COUNT - 1);
    }
    /* an array of arrays is at least 2 deep, even empty: at the last level
     * it would be GGUF_MAX_ARRAY_DEPTH + 1 (a fuzz finding, kept in
     * fuzz/regress/gguf/empty-array-of-arrays-9-deep.gguf) */
    if (et == GGUF_VT_ARRAY && level + 1 >= GGUF_MAX_ARRAY_DEPTH) {
        r->pos -= 4;
        return gguf_fail(r, GGUF_ELIMIT, "arrays nested deeper than %d levels", GGUF_MAX_ARRAY_DEPTH);
    }
    if ((rc = gguf_read_u64(r, "array count", &count)))
        return rc;
    struct gguf_array *a = &out->v.arr;
    out->type = GGUF_VT_ARRAY;
    a->elem_type = (enum gguf_vtype)et;
    a->count = count;
    a->data = r->buf + r->pos;
    a->depth = 1;
    uint64_t start = r->pos;

    if (vtype_size[et]) {
        uint64_t bytes;
        if (__builtin_mul_overflow(count, (uint64_t)vtype_size[et], &bytes) || bytes > left(r)) {
            r->pos -= 8;
            return gguf_fail(r, GGUF_ETRUNC, "array of %" PRIu64 " %s values runs past the end of the file (%" PRIu64 " bytes)",
                        count, gguf_vtype_names[et], r->size);
        }
        if (et == GGUF_VT_BOOL) {
            const uint8_t *p = r->buf + r->pos;
            for (uint64_t i = 0; i < count; i++) {
                if (p[i] > 1) {
                    r->pos += i;
                    r->elem_i[r->n_elem] = i;
                    r->elem_n[r->n_elem] = count;
                    r->n_elem++;
                    return gguf_fail(r, GGUF_ECORRUPT, "bool value %u (allowed 0 or 1)", p[i]);
                }
            }
        }
        r->pos += bytes;
        a->bytes = bytes;
        return 0;
    }

    /* Strings and arrays: at least 8 and 12 bytes each. */
    uint64_t min = et == GGUF_VT_STRING ? 8 : 12;
    if (count > left(r) / min) {
        r->pos -= 8;
        return gguf_fail(r, GGUF_ETRUNC, "array count %" PRIu64 " of %ss cannot fit in the %" PRIu64
                    " bytes left in the file (%" PRIu64 " bytes)",
                    count, gguf_vtype_names[et], left(r) - 8, r->size);
    }
    uint32_t slot = r->n_elem++;
    r->elem_n[slot] = count;
    uint32_t inner_depth = 1;
    for (uint64_t i = 0; i < count; i++) {
        struct gguf_value v;
        r->elem_i[slot] = i;
        if ((rc = gguf_parse_value(r, et, level + 1, &v)))
            return rc;
        if (et == GGUF_VT_ARRAY && v.v.arr.depth > inner_depth)
            inner_depth = v.v.arr.depth;
    }
    r->n_elem--;
    if (et == GGUF_VT_ARRAY)
        a->depth = 1 + inner_depth;
    a->bytes = r->pos - start;
    return 0;
}

/* Integer value as u64 / i64 when it fits. */
bool gguf_value_u64(const struct gguf_value *v, uint64_t *out)
{
    switch (v->type) {
    case GGUF_VT_UINT8: case GGUF_VT_UINT16: case GGUF_VT_UINT32: case GGUF_VT_UINT64:
        *out = v->v.u64;
        return true;
    case GGUF_VT_INT8: case GGUF_VT_INT16: case GGUF_VT_INT32: case GGUF_VT_INT64:
        if (v->v.i64 < 0)
            return false;
        *out = (uint64_t)v->v.i64;
        return true;
    default:
        return false;
    }
}

static bool is_signed_type(enum gguf_vtype t)
{
    return t == GGUF_VT_INT8 || t == GGUF_VT_INT16 || t == GGUF_VT_INT32 || t == GGUF_VT_INT64;
}


/* --- typed getters ---------------------------------------------------- */

/* Find key and report ENOTFOUND; the value in *v. */
static int lookup(const struct gguf *g, const char *key, const struct gguf_value **v, char *err, size_t err_len)
{
    const struct gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv)
        return err_fail(err, err_len, GGUF_ENOTFOUND, "key '%s' is absent", key ? key : "(null)");
    *v = &kv->value;
    return 0;
}

static int mismatch(const char *key, const struct gguf_value *v, const char *wanted, char *err, size_t err_len)
{
    if (is_signed_type(v->type))
        return err_fail(err, err_len, GGUF_EMISMATCH, "key '%s': found %s %" PRId64 ", wanted %s",
                       key, gguf_vtype_names[v->type], v->v.i64, wanted);
    if (is_int_type(v->type))
        return err_fail(err, err_len, GGUF_EMISMATCH, "key '%s': found %s %" PRIu64 ", wanted %s",
                       key, gguf_vtype_names[v->type], v->v.u64, wanted);
    return err_fail(err, err_len, GGUF_EMISMATCH, "key '%s': found %s, wanted %s",
                   key, gguf_vtype_name(v->type), wanted);
}

int gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out, char *err, size_t err_len)
{
    const struct gguf_value *v = NULL;
    uint64_t x;
    int rc = lookup(g, key, &v, err, err_len);
    if (rc)
        return rc;
    if (!gguf_value_u64(v, &x))
        return mismatch(key, v, "uint64", err, err_len);
    *out = x;
    return 0;
}

int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, char *err, size_t err_len)
{
    const struct gguf_value *v = NULL;
    uint64_t x;
    int rc = lookup(g, key, &v, err, err_len);
    if (rc)
        return rc;
    if (!gguf_value_u64(v, &x) || x > UINT32_MAX)
        return mismatch(key, v, "uint32", err, err_len);
    *out = (uint32_t)x;
    return 0;
}

int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out, char *err, size_t err_len)
{
    const struct gguf_value *v = NULL;
    int rc = lookup(g, key, &v, err, err_len);
    if (rc)
        return rc;
    if (is_signed_type(v->type)) {
        *out = v->v.i64;
        return 0;
    }
    if (!is_int_type(v->type) || v->v.u64 > (uint64_t)INT64_MAX)
        return mismatch(key, v, "int64", err, err_len);
    *out = (int64_t)v->v.u64;
    return 0;
}

int gguf_get_f32(const struct gguf *g, const char *key, float *out, char *err, size_t err_len)
{
    const struct gguf_value *v = NULL;
    int rc = lookup(g, key, &v, err, err_len);
    if (rc)
        return rc;
    if (v->type != GGUF_VT_FLOAT32 && v->type != GGUF_VT_FLOAT64)
        return mismatch(key, v, "float32", err, err_len);
    *out = (float)v->v.f64;
    return 0;
}

int gguf_get_bool(const struct gguf *g, const char *key, bool *out, char *err, size_t err_len)
{
    const struct gguf_value *v = NULL;
    int rc = lookup(g, key, &v, err, err_len);
    if (rc)
        return rc;
    if (v->type != GGUF_VT_BOOL)
        return mismatch(key, v, "bool", err, err_len);
    *out = v->v.u64 != 0;
    return 0;
}

int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out, char *err, size_t err_len)
{
    const struct gguf_value *v = NULL;
    int rc = lookup(g, key, &v, err, err_len);
    if (rc)
        return rc;
    if (v->type != GGUF_VT_STRING)
        return mismatch(key, v, "string", err, err_len);
    *out = v->v.str;
    return 0;
}

int gguf_get_arr(const struct gguf *g, const char *key, struct gguf_array *out, char *err, size_t err_len)
{
    const struct gguf_value *v = NULL;
    int rc = lookup(g, key, &v, err, err_len);
    if (rc)
        return rc;
    if (v->type != GGUF_VT_ARRAY)
        return mismatch(key, v, "array", err, err_len);
    *out = v->v.arr;
    return 0;
}

/* --- arrays ----------------------------------------------------------- */

int gguf_array_next(const struct gguf_array *a, uint64_t *pos, struct gguf_value *out)
{
    if (!a || !pos || *pos >= a->bytes)
        return 0;
    /* The array was validated at open: re-parsing its element cannot fail,
     * and bounding the reader by the array's bytes keeps it so even if a
     * caller hands in a damaged view. */
    struct rd r = { .buf = a->data, .size = a->bytes, .pos = *pos };
    if (gguf_parse_value(&r, a->elem_type, 0, out) != 0)
        return 0;
    *pos = r.pos;
    return 1;
}

static bool array_elem(const struct gguf_array *a, uint64_t i, struct gguf_value *v)
{
    if (!a || i >= a->count || a->elem_type >= GGUF_VT_COUNT || vtype_size[a->elem_type] == 0)
        return false;
    scalar_load(a->elem_type, a->data + i * vtype_size[a->elem_type], v);
    return true;
}

uint64_t gguf_array_u64(const struct gguf_array *a, uint64_t i)
{
    struct gguf_value v;
    if (!array_elem(a, i, &v))
        return 0;
    if (is_signed_type(v.type))
        return (uint64_t)v.v.i64;
    if (v.type == GGUF_VT_FLOAT32 || v.type == GGUF_VT_FLOAT64)
        return v.v.f64 >= 0 && v.v.f64 < 18446744073709551616.0 ? (uint64_t)v.v.f64 : 0;
    return v.v.u64;
}

int64_t gguf_array_i64(const struct gguf_array *a, uint64_t i)
{
    struct gguf_value v;
    if (!array_elem(a, i, &v))
        return 0;
    if (is_signed_type(v.type))
        return v.v.i64;
    if (v.type == GGUF_VT_FLOAT32 || v.type == GGUF_VT_FLOAT64)
        return v.v.f64 >= -9223372036854775808.0 && v.v.f64 < 9223372036854775808.0 ? (int64_t)v.v.f64 : 0;
    return (int64_t)v.v.u64;
}

double gguf_array_f64(const struct gguf_array *a, uint64_t i)
{
    struct gguf_value v;
    if (!array_elem(a, i, &v))
        return 0;
    if (is_signed_type(v.type))
        return (double)v.v.i64;
    if (v.type == GGUF_VT_FLOAT32 || v.type == GGUF_VT_FLOAT64)
        return v.v.f64;
    return (double)v.v.u64;
}
