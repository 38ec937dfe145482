/* gguf — a hardened, allocation-free reader of GGUF v2/v3 files.
 *
 * File layout (little-endian; v2 and v3 are identical on disk, v1 used
 * 32-bit counts and lengths and is rejected):
 *
 *   | "GGUF" | version u32 | n_tensors u64 | n_kv u64 |
 *   | n_kv x (key: len u64 + bytes | value type u32 | value) |
 *   | n_tensors x (name: len u64 + bytes | n_dims u32 | ne[n_dims] u64 |
 *   |              type u32 | offset u64) |
 *   | padding to general.alignment | tensor data (offsets relative here) |
 *
 * A value is a scalar, a string (len u64 + bytes) or an array (element type
 * u32 | count u64 | elements), arrays nesting up to GGUF_MAX_ARRAY_DEPTH.
 *
 * Everything is parsed in one pass over the buffer into an index held in
 * caller storage: entry arrays plus open-addressing hash tables (keys,
 * tensor names), and a permutation of the tensors sorted by data offset for
 * the overlap check (heapsort: no allocation, unlike qsort). */
#include "engine/gguf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "engine/mem.h"
#include "engine/quant.h"

struct gguf_index {
    void *alloc_base;        /* what gguf_open_alloc allocated, else NULL */
    size_t alloc_bytes;
    struct gguf_kv *kv;      /* [n_kv] file order */
    uint64_t *kv_off;        /* [n_kv] buffer offset where each entry starts */
    struct gguf_tensor *t;   /* [n_tensors] file order */
    uint32_t *order;         /* [n_tensors] tensor indices by ascending data offset */
    uint32_t *kv_slot;       /* [kv_cap] entry index + 1, 0 = empty */
    uint32_t *t_slot;        /* [t_cap] entry index + 1, 0 = empty */
    uint32_t kv_cap, t_cap;  /* powers of two, >= 2 * count */
    uint64_t seed;           /* hash seed, fixed at open */
};

/* --- index layout --------------------------------------------------- */

struct layout {
    size_t kv, kv_off, t, order, kv_slot, t_slot, total;
    uint32_t kv_cap, t_cap;
};

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static uint32_t hash_cap(uint64_t n)
{
    uint32_t cap = 2;
    while (cap < 2 * n)
        cap <<= 1;
    return cap;
}

/* n_kv, n_t <= 2^24, so none of this overflows size_t. */
static void layout_for(uint64_t n_kv, uint64_t n_t, struct layout *l)
{
    size_t at = align8(sizeof(struct gguf_index));
    l->kv_cap = hash_cap(n_kv);
    l->t_cap = hash_cap(n_t);
    l->kv = at;      at = align8(at + n_kv * sizeof(struct gguf_kv));
    l->kv_off = at;  at = align8(at + n_kv * sizeof(uint64_t));
    l->t = at;       at = align8(at + n_t * sizeof(struct gguf_tensor));
    l->order = at;   at = align8(at + n_t * sizeof(uint32_t));
    l->kv_slot = at; at = align8(at + l->kv_cap * sizeof(uint32_t));
    l->t_slot = at;  at = align8(at + l->t_cap * sizeof(uint32_t));
    l->total = at + 8; /* slack to align caller storage up to 8 */
}

/* --- little-endian loads --------------------------------------------- */

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t ld64(const uint8_t *p) { return ld32(p) | (uint64_t)ld32(p + 4) << 32; }
static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* --- names ----------------------------------------------------------- */

static const char *const vtype_names[GGUF_VT_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

/* Bytes of a fixed-size value, 0 for strings and arrays. */
static const uint8_t vtype_size[GGUF_VT_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

const char *gguf_vtype_name(int t)
{
    return t >= 0 && t < GGUF_VT_COUNT ? vtype_names[t] : "unknown";
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
static const char *safe_name(char *out, size_t out_len, struct gguf_str s)
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

/* "at byte P: <context>: <message>" */
static int fail(struct rd *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct rd *r, int code, const char *fmt, ...)
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
    case CTX_KEY: ADD("key '%s'", safe_name(name, sizeof name, r->ctx_name)); break;
    case CTX_TENSOR_NO: ADD("tensor %" PRIu64 " of %" PRIu64, r->ctx_i + 1, r->ctx_n); break;
    case CTX_TENSOR: ADD("tensor '%s'", safe_name(name, sizeof name, r->ctx_name)); break;
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

static int get_u32(struct rd *r, const char *what, uint32_t *out)
{
    if (left(r) < 4)
        return fail(r, GGUF_ETRUNC, "%s (4 bytes) runs past the end of the file (%" PRIu64 " bytes)",
                    what, r->size);
    *out = ld32(r->buf + r->pos);
    r->pos += 4;
    return 0;
}

static int get_u64(struct rd *r, const char *what, uint64_t *out)
{
    if (left(r) < 8)
        return fail(r, GGUF_ETRUNC, "%s (8 bytes) runs past the end of the file (%" PRIu64 " bytes)",
                    what, r->size);
    *out = ld64(r->buf + r->pos);
    r->pos += 8;
    return 0;
}

/* A length-prefixed string; what is "string", "key", "name". */
static int get_str(struct rd *r, const char *what, struct gguf_str *out)
{
    uint64_t len = 0;
    int rc = get_u64(r, what, &len);
    if (rc)
        return rc;
    if (len > left(r)) {
        r->pos -= 8;
        return fail(r, GGUF_ETRUNC, "%s length %" PRIu64 " runs past the end of the file (%" PRIu64 " bytes)",
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
static int parse_value(struct rd *r, uint32_t t, uint32_t level, struct gguf_value *out)
{
    if (t >= GGUF_VT_COUNT)
        return fail(r, GGUF_ETYPE, "unknown value type %" PRIu32 " (allowed 0..%d)", t, GGUF_VT_COUNT - 1);
    if (t == GGUF_VT_STRING) {
        out->type = GGUF_VT_STRING;
        return get_str(r, "string", &out->v.str);
    }
    if (t != GGUF_VT_ARRAY) {
        size_t sz = vtype_size[t];
        if (left(r) < sz)
            return fail(r, GGUF_ETRUNC, "%s value (%zu bytes) runs past the end of the file (%" PRIu64 " bytes)",
                        vtype_names[t], sz, r->size);
        const uint8_t *p = r->buf + r->pos;
        if (t == GGUF_VT_BOOL && p[0] > 1)
            return fail(r, GGUF_ECORRUPT, "bool value %u (allowed 0 or 1)", p[0]);
        scalar_load((enum gguf_vtype)t, p, out);
        r->pos += sz;
        return 0;
    }

    if (level >= GGUF_MAX_ARRAY_DEPTH)
        return fail(r, GGUF_ELIMIT, "arrays nested deeper than %d levels", GGUF_MAX_ARRAY_DEPTH);
    uint32_t et = 0;
    uint64_t count = 0;
    int rc = get_u32(r, "array element type", &et);
    if (rc)
        return rc;
    if (et >= GGUF_VT_COUNT) {
        r->pos -= 4;
        return fail(r, GGUF_ETYPE, "unknown array element type %" PRIu32 " (allowed 0..%d)", et, GGUF_VT_COUNT - 1);
    }
    /* an array of arrays is at least 2 deep, even empty: at the last level
     * it would be GGUF_MAX_ARRAY_DEPTH + 1 (a fuzz finding, kept in
     * fuzz/regress/gguf/empty-array-of-arrays-9-deep.gguf) */
    if (et == GGUF_VT_ARRAY && level + 1 >= GGUF_MAX_ARRAY_DEPTH) {
        r->pos -= 4;
        return fail(r, GGUF_ELIMIT, "arrays nested deeper than %d levels", GGUF_MAX_ARRAY_DEPTH);
    }
    if ((rc = get_u64(r, "array count", &count)))
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
            return fail(r, GGUF_ETRUNC, "array of %" PRIu64 " %s values runs past the end of the file (%" PRIu64 " bytes)",
                        count, vtype_names[et], r->size);
        }
        if (et == GGUF_VT_BOOL) {
            const uint8_t *p = r->buf + r->pos;
            for (uint64_t i = 0; i < count; i++) {
                if (p[i] > 1) {
                    r->pos += i;
                    r->elem_i[r->n_elem] = i;
                    r->elem_n[r->n_elem] = count;
                    r->n_elem++;
                    return fail(r, GGUF_ECORRUPT, "bool value %u (allowed 0 or 1)", p[i]);
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
        return fail(r, GGUF_ETRUNC, "array count %" PRIu64 " of %ss cannot fit in the %" PRIu64
                    " bytes left in the file (%" PRIu64 " bytes)",
                    count, vtype_names[et], left(r) - 8, r->size);
    }
    uint32_t slot = r->n_elem++;
    r->elem_n[slot] = count;
    uint32_t inner_depth = 1;
    for (uint64_t i = 0; i < count; i++) {
        struct gguf_value v;
        r->elem_i[slot] = i;
        if ((rc = parse_value(r, et, level + 1, &v)))
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
static bool value_u64(const struct gguf_value *v, uint64_t *out)
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

static bool is_int_type(enum gguf_vtype t)
{
    return t <= GGUF_VT_INT32 || t == GGUF_VT_UINT64 || t == GGUF_VT_INT64;
}

static bool is_signed_type(enum gguf_vtype t)
{
    return t == GGUF_VT_INT8 || t == GGUF_VT_INT16 || t == GGUF_VT_INT32 || t == GGUF_VT_INT64;
}

/* --- hashing ---------------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

/* FNV-1a from a per-open seed, then a full-avalanche finish so the slot
 * (low bits) depends on every bit. The seed comes from the addresses of the
 * buffer and the index (randomized by ASLR), so a file cannot be built in
 * advance to pile its names into one probe chain and make the open
 * quadratic. */
static uint64_t hash_bytes(uint64_t seed, const char *p, uint64_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (uint64_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return mix64(h ^ n);
}

static bool str_eq_n(struct gguf_str s, const char *p, uint64_t n)
{
    return s.len == n && (n == 0 || memcmp(s.ptr, p, n) == 0);
}

/* --- open ------------------------------------------------------------- */

/* Header fields after magic/version checks; 0 or a status with message. */
static int read_header(struct rd *r, uint32_t *version, uint64_t *n_t, uint64_t *n_kv)
{
    static const uint8_t magic[4] = { 'G', 'G', 'U', 'F' };
    uint64_t have = r->size < 4 ? r->size : 4;
    if (memcmp(r->buf, magic, have) != 0) {
        char shown[8] = { 0 };
        for (uint64_t i = 0; i < have; i++)
            shown[i] = (r->buf[i] >= 0x20 && r->buf[i] < 0x7f) ? (char)r->buf[i] : '?';
        return err_fail(r->err, r->err_len, GGUF_ENOTGGUF,
                       "not a GGUF file: starts with '%s' instead of the magic 'GGUF'", shown);
    }
    if (r->size < GGUF_HEADER_BYTES) {
        r->pos = r->size;
        return err_fail(r->err, r->err_len, GGUF_ETRUNC,
                       "header: file is %" PRIu64 " bytes, shorter than a GGUF header (%u bytes)",
                       r->size, GGUF_HEADER_BYTES);
    }
    uint32_t v = ld32(r->buf + 4);
    if (v == 1)
        return err_fail(r->err, r->err_len, GGUF_EVERSION,
                       "header: GGUF version 1 (32-bit counts) is not supported (allowed 2 or 3)");
    if (v == 0x02000000u || v == 0x03000000u)
        return err_fail(r->err, r->err_len, GGUF_EVERSION,
                       "header: version field 0x%08" PRIx32 " is a big-endian GGUF file; only little-endian is read", v);
    if (v != 2 && v != 3)
        return err_fail(r->err, r->err_len, GGUF_EVERSION,
                       "header: GGUF version %" PRIu32 " is not supported (allowed 2 or 3)", v);
    *version = v;
    *n_t = ld64(r->buf + 8);
    *n_kv = ld64(r->buf + 16);
    r->pos = GGUF_HEADER_BYTES;
    uint64_t room = r->size - GGUF_HEADER_BYTES;
    if (*n_kv > room / GGUF_MIN_KV_BYTES)
        return err_fail(r->err, r->err_len, GGUF_ETRUNC,
                       "header: key count %" PRIu64 " cannot fit in %" PRIu64 " bytes", *n_kv, r->size);
    if (*n_t > room / GGUF_MIN_TENSOR_BYTES)
        return err_fail(r->err, r->err_len, GGUF_ETRUNC,
                       "header: tensor count %" PRIu64 " cannot fit in %" PRIu64 " bytes", *n_t, r->size);
    if (*n_kv * GGUF_MIN_KV_BYTES + *n_t * GGUF_MIN_TENSOR_BYTES > room)
        return err_fail(r->err, r->err_len, GGUF_ETRUNC,
                       "header: %" PRIu64 " keys and %" PRIu64 " tensors cannot fit in %" PRIu64 " bytes",
                       *n_kv, *n_t, r->size);
    if (*n_kv > GGUF_MAX_KV)
        return err_fail(r->err, r->err_len, GGUF_ELIMIT,
                       "header: key count %" PRIu64 " is above the reader's limit (%u)", *n_kv, GGUF_MAX_KV);
    if (*n_t > GGUF_MAX_TENSORS)
        return err_fail(r->err, r->err_len, GGUF_ELIMIT,
                       "header: tensor count %" PRIu64 " is above the reader's limit (%u)", *n_t, GGUF_MAX_TENSORS);
    return 0;
}

size_t gguf_index_bytes(const void *buf, size_t size)
{
    const uint8_t *b = buf;
    if (!b || size < GGUF_HEADER_BYTES || memcmp(b, "GGUF", 4) != 0)
        return 0;
    uint64_t n_t = ld64(b + 8), n_kv = ld64(b + 16);
    uint64_t room = size - GGUF_HEADER_BYTES;
    /* Counts the buffer cannot hold are refused by gguf_open before the
     * storage is looked at, so clamping them keeps this figure bounded. */
    if (n_kv > room / GGUF_MIN_KV_BYTES)
        n_kv = room / GGUF_MIN_KV_BYTES;
    if (n_t > room / GGUF_MIN_TENSOR_BYTES)
        n_t = room / GGUF_MIN_TENSOR_BYTES;
    if (n_kv > GGUF_MAX_KV)
        n_kv = GGUF_MAX_KV;
    if (n_t > GGUF_MAX_TENSORS)
        n_t = GGUF_MAX_TENSORS;
    struct layout l;
    layout_for(n_kv, n_t, &l);
    return l.total;
}

static int parse_kvs(struct rd *r, struct gguf *g, struct gguf_index *ix)
{
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        struct gguf_kv *kv = &ix->kv[i];
        uint64_t at = r->pos;
        r->ctx = CTX_KEY_NO;
        r->ctx_i = i;
        r->ctx_n = g->n_kv;
        int rc = get_str(r, "key", &kv->key);
        if (rc)
            return rc;
        if (kv->key.len > GGUF_MAX_KEY_LEN) {
            r->pos = at;
            return fail(r, GGUF_ELIMIT, "key length %" PRIu64 " is above the format's limit (%u)",
                        kv->key.len, GGUF_MAX_KEY_LEN);
        }
        r->ctx = CTX_KEY;
        r->ctx_name = kv->key;
        ix->kv_off[i] = at;

        /* Duplicate keys are refused here, before their values matter. */
        uint32_t mask = ix->kv_cap - 1;
        uint64_t h = hash_bytes(ix->seed, kv->key.ptr, kv->key.len);
        for (uint32_t s = (uint32_t)h & mask;; s = (s + 1) & mask) {
            uint32_t e = ix->kv_slot[s];
            if (e == 0) {
                ix->kv_slot[s] = (uint32_t)i + 1;
                break;
            }
            if (str_eq_n(ix->kv[e - 1].key, kv->key.ptr, kv->key.len)) {
                r->pos = at;
                return fail(r, GGUF_ECORRUPT, "duplicate key (first defined as key %" PRIu32 " at byte %" PRIu64 ")",
                            e, ix->kv_off[e - 1]);
            }
        }

        uint32_t t = 0;
        if ((rc = get_u32(r, "value type", &t)))
            return rc;
        if (t >= GGUF_VT_COUNT) {
            r->pos -= 4;
            return fail(r, GGUF_ETYPE, "unknown value type %" PRIu32 " (allowed 0..%d)", t, GGUF_VT_COUNT - 1);
        }
        uint64_t vat = r->pos;
        if ((rc = parse_value(r, t, 0, &kv->value)))
            return rc;

        if (gguf_str_eq(kv->key, "general.alignment")) {
            uint64_t a, vend = r->pos;
            r->pos = vat; /* messages point at the value */
            if (!is_int_type(kv->value.type) || !value_u64(&kv->value, &a)) {
                if (is_int_type(kv->value.type))
                    return fail(r, GGUF_ECORRUPT, "value %" PRId64 " is not a power of two", kv->value.v.i64);
                return fail(r, GGUF_ECORRUPT, "type %s (wanted an unsigned integer)", vtype_names[kv->value.type]);
            }
            if (a == 0 || (a & (a - 1)) != 0)
                return fail(r, GGUF_ECORRUPT, "value %" PRIu64 " is not a power of two", a);
            if (a > GGUF_MAX_ALIGNMENT)
                return fail(r, GGUF_ELIMIT, "value %" PRIu64 " is above the reader's limit (%u)", a, GGUF_MAX_ALIGNMENT);
            g->alignment = a;
            r->pos = vend;
        }
    }
    return 0;
}

static int parse_tensor_infos(struct rd *r, struct gguf *g, struct gguf_index *ix)
{
    char name[96];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        struct gguf_tensor *t = &ix->t[i];
        uint64_t at = r->pos;
        r->ctx = CTX_TENSOR_NO;
        r->ctx_i = i;
        r->ctx_n = g->n_tensors;
        int rc = get_str(r, "name", &t->name);
        if (rc)
            return rc;
        r->ctx = CTX_TENSOR;
        r->ctx_name = t->name;

        uint32_t mask = ix->t_cap - 1;
        uint64_t h = hash_bytes(ix->seed, t->name.ptr, t->name.len);
        for (uint32_t s = (uint32_t)h & mask;; s = (s + 1) & mask) {
            uint32_t e = ix->t_slot[s];
            if (e == 0) {
                ix->t_slot[s] = (uint32_t)i + 1;
                break;
            }
            if (str_eq_n(ix->t[e - 1].name, t->name.ptr, t->name.len)) {
                r->pos = at;
                return fail(r, GGUF_ECORRUPT, "duplicate tensor name (first used by tensor %" PRIu32 " of %" PRIu64 ")",
                            e, g->n_tensors);
            }
        }

        uint32_t nd = 0;
        if ((rc = get_u32(r, "n_dims", &nd)))
            return rc;
        if (nd < 1 || nd > GGUF_MAX_DIMS) {
            r->pos -= 4;
            return fail(r, GGUF_ECORRUPT, "n_dims %" PRIu32 " (allowed 1..%d)", nd, GGUF_MAX_DIMS);
        }
        t->n_dims = nd;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t ne = 0;
            if ((rc = get_u64(r, "dimension", &ne)))
                return rc;
            if (ne == 0 || ne > (uint64_t)INT64_MAX) {
                r->pos -= 8;
                return fail(r, GGUF_ECORRUPT, "dimension %" PRIu32 " is %" PRId64 " (allowed 1..2^63-1)",
                            d, (int64_t)ne);
            }
            t->ne[d] = (int64_t)ne;
        }
        uint32_t type = 0;
        if ((rc = get_u32(r, "type", &type)))
            return rc;
        const struct quant_traits *tr = quant_traits_get(type > INT32_MAX ? -1 : (int)type);
        if (!tr) {
            r->pos -= 4;
            return fail(r, GGUF_ETYPE, "unknown tensor type id %" PRIu32, type);
        }
        t->type = (int)type;
        if ((rc = get_u64(r, "data offset", &t->offset)))
            return rc;

        int64_t n = 1;
        for (uint32_t d = 0; d < nd; d++) {
            if (__builtin_mul_overflow(n, t->ne[d], &n)) {
                r->pos = at;
                return err_fail(r->err, r->err_len, GGUF_ECORRUPT,
                               "tensor '%s': shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                               "] has more than 2^63 elements", safe_name(name, sizeof name, t->name),
                               t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
            }
        }
        t->n_elements = n;
        if (t->ne[0] % tr->blck != 0)
            return err_fail(r->err, r->err_len, GGUF_ECORRUPT,
                           "tensor '%s': row length %" PRId64 " is not a multiple of the %s block size %" PRId64,
                           safe_name(name, sizeof name, t->name), t->ne[0], tr->name, tr->blck);
        uint64_t bytes;
        if (__builtin_mul_overflow((uint64_t)(n / tr->blck), (uint64_t)tr->type_size, &bytes))
            return err_fail(r->err, r->err_len, GGUF_ECORRUPT,
                           "tensor '%s': %" PRId64 " %s elements take more than 2^64 bytes",
                           safe_name(name, sizeof name, t->name), n, tr->name);
        t->n_bytes = bytes;
    }
    return 0;
}

/* Sort ix->order[0..n) by data offset (heapsort: in place, no allocation). */
static void sort_by_offset(struct gguf_index *ix, uint64_t n)
{
    uint32_t *o = ix->order;
    const struct gguf_tensor *t = ix->t;
    for (uint64_t i = 0; i < n; i++)
        o[i] = (uint32_t)i;
    if (n < 2)
        return;
    /* sift-down heap on o[], key t[o[k]].offset */
    for (uint64_t start = n / 2; start-- > 0;) {
        uint64_t root = start;
        for (;;) {
            uint64_t c = 2 * root + 1;
            if (c >= n)
                break;
            if (c + 1 < n && t[o[c + 1]].offset > t[o[c]].offset)
                c++;
            if (t[o[c]].offset <= t[o[root]].offset)
                break;
            uint32_t tmp = o[c]; o[c] = o[root]; o[root] = tmp;
            root = c;
        }
    }
    for (uint64_t end = n - 1; end > 0; end--) {
        uint32_t tmp = o[0]; o[0] = o[end]; o[end] = tmp;
        uint64_t root = 0;
        for (;;) {
            uint64_t c = 2 * root + 1;
            if (c >= end)
                break;
            if (c + 1 < end && t[o[c + 1]].offset > t[o[c]].offset)
                c++;
            if (t[o[c]].offset <= t[o[root]].offset)
                break;
            uint32_t tmp2 = o[c]; o[c] = o[root]; o[root] = tmp2;
            root = c;
        }
    }
}

static int check_data(struct gguf *g, struct gguf_index *ix, uint64_t infos_end, char *err, size_t err_len)
{
    char a_name[96], b_name[96];
    uint64_t a = g->alignment;
    uint64_t data_off = (infos_end + a - 1) & ~(a - 1); /* infos_end < size, a <= 2^20: no overflow */
    if (g->n_tensors == 0) {
        /* Nothing to read: a missing trailing pad is harmless. */
        g->data_offset = data_off <= g->size ? data_off : g->size;
        g->data_bytes = 0;
        return 0;
    }
    g->data_offset = data_off;
    uint64_t max_end = data_off;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        struct gguf_tensor *t = &ix->t[i];
        if (t->offset % a != 0)
            return err_fail(err, err_len, GGUF_ECORRUPT,
                           "tensor '%s': data offset %" PRIu64 " is not a multiple of the alignment (%" PRIu64 ")",
                           safe_name(a_name, sizeof a_name, t->name), t->offset, a);
        uint64_t start, end;
        if (__builtin_add_overflow(data_off, t->offset, &start))
            return err_fail(err, err_len, GGUF_ETRUNC,
                           "tensor '%s': data offset %" PRIu64 " (in the data section at byte %" PRIu64
                           ") is past the end of the file (%" PRIu64 " bytes)",
                           safe_name(a_name, sizeof a_name, t->name), t->offset, data_off, g->size);
        if (__builtin_add_overflow(start, t->n_bytes, &end) || end > g->size)
            return err_fail(err, err_len, GGUF_ETRUNC,
                           "tensor '%s': data [offset %" PRIu64 ", %" PRIu64 " bytes] ends past the end of the file (%" PRIu64 " bytes)",
                           safe_name(a_name, sizeof a_name, t->name), start, t->n_bytes, g->size);
        t->data = g->buf + start;
        if (end > max_end)
            max_end = end;
    }
    g->data_bytes = max_end - data_off;

    sort_by_offset(ix, g->n_tensors);
    for (uint64_t k = 1; k < g->n_tensors; k++) {
        const struct gguf_tensor *p = &ix->t[ix->order[k - 1]], *t = &ix->t[ix->order[k]];
        if (p->offset + p->n_bytes > t->offset)
            return err_fail(err, err_len, GGUF_ECORRUPT,
                           "tensor '%s': data [offset %" PRIu64 ", %" PRIu64 " bytes] overlaps tensor '%s' [offset %"
                           PRIu64 ", %" PRIu64 " bytes]",
                           safe_name(a_name, sizeof a_name, t->name), data_off + t->offset, t->n_bytes,
                           safe_name(b_name, sizeof b_name, p->name), data_off + p->offset, p->n_bytes);
    }
    return 0;
}

int gguf_open(struct gguf *g, const void *buf, size_t size, void *storage,
              size_t storage_bytes, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!g)
        return err_fail(err, err_len, GGUF_ENOMEM, "no struct gguf given");
    memset(g, 0, sizeof *g);
    if (!buf)
        size = 0;
    struct rd r = { .buf = buf ? buf : (const uint8_t *)"", .size = size, .err = err, .err_len = err_len };
    uint32_t version = 0;
    uint64_t n_t = 0, n_kv = 0;
    int rc = read_header(&r, &version, &n_t, &n_kv);
    if (rc)
        return rc;

    struct layout l;
    layout_for(n_kv, n_t, &l);
    uintptr_t base = (uintptr_t)storage, aligned = (base + 7) & ~(uintptr_t)7;
    if (!storage || storage_bytes < l.total)
        return err_fail(err, err_len, GGUF_ENOMEM,
                       "index storage is %zu bytes, %zu needed for %" PRIu64 " keys and %" PRIu64
                       " tensors (see gguf_index_bytes)", storage ? storage_bytes : 0, l.total, n_kv, n_t);
    struct gguf_index *ix = (struct gguf_index *)aligned;
    uint8_t *s = (uint8_t *)aligned;
    memset(ix, 0, sizeof *ix);
    ix->kv = (struct gguf_kv *)(s + l.kv);
    ix->kv_off = (uint64_t *)(s + l.kv_off);
    ix->t = (struct gguf_tensor *)(s + l.t);
    ix->order = (uint32_t *)(s + l.order);
    ix->kv_slot = (uint32_t *)(s + l.kv_slot);
    ix->t_slot = (uint32_t *)(s + l.t_slot);
    ix->seed = mix64((uint64_t)aligned ^ ((uint64_t)(uintptr_t)r.buf << 1) ^ size);
    ix->kv_cap = l.kv_cap;
    ix->t_cap = l.t_cap;
    memset(ix->kv_slot, 0, (size_t)l.kv_cap * sizeof(uint32_t));
    memset(ix->t_slot, 0, (size_t)l.t_cap * sizeof(uint32_t));

    g->buf = r.buf;
    g->size = size;
    g->version = version;
    g->n_kv = n_kv;
    g->n_tensors = n_t;
    if ((rc = parse_kvs(&r, g, ix)) || (rc = parse_tensor_infos(&r, g, ix)) ||
        (rc = check_data(g, ix, r.pos, err, err_len))) {
        memset(g, 0, sizeof *g);
        return rc;
    }
    g->index = ix;
    return GGUF_OK;
}

int gguf_open_alloc(struct gguf *g, const void *buf, size_t size, char *err, size_t err_len)
{
    size_t bytes = gguf_index_bytes(buf, size);
    if (bytes == 0) /* header unreadable: let gguf_open say why */
        return gguf_open(g, buf, size, NULL, 0, err, err_len);
    void *p = mem_alloc(NULL, bytes, 64);
    if (!p) {
        if (g)
            memset(g, 0, sizeof *g);
        return err_fail(err, err_len, GGUF_ENOMEM, "cannot allocate %zu bytes for the GGUF index", bytes);
    }
    int rc = gguf_open(g, buf, size, p, bytes, err, err_len);
    if (rc) {
        mem_free(NULL, p, bytes);
        return rc;
    }
    g->index->alloc_base = p;
    g->index->alloc_bytes = bytes;
    g->index_owned = true;
    return GGUF_OK;
}

void gguf_close(struct gguf *g)
{
    if (!g)
        return;
    if (g->index_owned && g->index)
        mem_free(NULL, g->index->alloc_base, g->index->alloc_bytes);
    memset(g, 0, sizeof *g);
}

/* --- lookups ---------------------------------------------------------- */

const struct gguf_kv *gguf_kv_at(const struct gguf *g, uint64_t i)
{
    return g && g->index && i < g->n_kv ? &g->index->kv[i] : NULL;
}

uint64_t gguf_kv_offset(const struct gguf *g, uint64_t i)
{
    return g && g->index && i < g->n_kv ? g->index->kv_off[i] : 0;
}

const struct gguf_kv *gguf_find_kv_n(const struct gguf *g, const char *key, size_t key_len)
{
    if (!g || !g->index || !key)
        return NULL;
    const struct gguf_index *ix = g->index;
    uint32_t mask = ix->kv_cap - 1;
    for (uint32_t s = (uint32_t)hash_bytes(ix->seed, key, key_len) & mask;; s = (s + 1) & mask) {
        uint32_t e = ix->kv_slot[s];
        if (e == 0)
            return NULL;
        if (str_eq_n(ix->kv[e - 1].key, key, key_len))
            return &ix->kv[e - 1];
    }
}

const struct gguf_kv *gguf_find_kv(const struct gguf *g, const char *key)
{
    return key ? gguf_find_kv_n(g, key, strlen(key)) : NULL;
}

const struct gguf_tensor *gguf_tensor_at(const struct gguf *g, uint64_t i)
{
    return g && g->index && i < g->n_tensors ? &g->index->t[i] : NULL;
}

const struct gguf_tensor *gguf_tensor_by_offset(const struct gguf *g, uint64_t i)
{
    return g && g->index && i < g->n_tensors ? &g->index->t[g->index->order[i]] : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name)
{
    if (!g || !g->index || !name)
        return NULL;
    const struct gguf_index *ix = g->index;
    size_t n = strlen(name);
    uint32_t mask = ix->t_cap - 1;
    for (uint32_t s = (uint32_t)hash_bytes(ix->seed, name, n) & mask;; s = (s + 1) & mask) {
        uint32_t e = ix->t_slot[s];
        if (e == 0)
            return NULL;
        if (str_eq_n(ix->t[e - 1].name, name, n))
            return &ix->t[e - 1];
    }
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
                       key, vtype_names[v->type], v->v.i64, wanted);
    if (is_int_type(v->type))
        return err_fail(err, err_len, GGUF_EMISMATCH, "key '%s': found %s %" PRIu64 ", wanted %s",
                       key, vtype_names[v->type], v->v.u64, wanted);
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
    if (!value_u64(v, &x))
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
    if (!value_u64(v, &x) || x > UINT32_MAX)
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
    if (parse_value(&r, a->elem_type, 0, out) != 0)
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
