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
 * the overlap check (heapsort: no allocation, unlike qsort).
 *
 * This file is the file's structure: header, index layout, key/value and
 * tensor-info parsing, data checks, open/close and lookups by name. The
 * bounded reader, values, typed getters and arrays are in gguf_value.c. */
#include "engine/gguf.h"

#include <inttypes.h>
#include <string.h>

#include "base/err.h"
#include "engine/gguf_impl.h"
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
        int rc = gguf_read_str(r, "key", &kv->key);
        if (rc)
            return rc;
        if (kv->key.len > GGUF_MAX_KEY_LEN) {
            r->pos = at;
            return gguf_fail(r, GGUF_ELIMIT, "key length %" PRIu64 " is above the format's limit (%u)",
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
                return gguf_fail(r, GGUF_ECORRUPT, "duplicate key (first defined as key %" PRIu32 " at byte %" PRIu64 ")",
                            e, ix->kv_off[e - 1]);
            }
        }

        uint32_t t = 0;
        if ((rc = gguf_read_u32(r, "value type", &t)))
            return rc;
        if (t >= GGUF_VT_COUNT) {
            r->pos -= 4;
            return gguf_fail(r, GGUF_ETYPE, "unknown value type %" PRIu32 " (allowed 0..%d)", t, GGUF_VT_COUNT - 1);
        }
        uint64_t vat = r->pos;
        if ((rc = gguf_parse_value(r, t, 0, &kv->value)))
            return rc;

        if (gguf_str_eq(kv->key, "general.alignment")) {
            uint64_t a, vend = r->pos;
            r->pos = vat; /* messages point at the value */
            if (!is_int_type(kv->value.type) || !gguf_value_u64(&kv->value, &a)) {
                if (is_int_type(kv->value.type))
                    return gguf_fail(r, GGUF_ECORRUPT, "value %" PRId64 " is not a power of two", kv->value.v.i64);
                return gguf_fail(r, GGUF_ECORRUPT, "type %s (wanted an unsigned integer)", gguf_vtype_names[kv->value.type]);
            }
            if (a == 0 || (a & (a - 1)) != 0)
                return gguf_fail(r, GGUF_ECORRUPT, "value %" PRIu64 " is not a power of two", a);
            if (a > GGUF_MAX_ALIGNMENT)
                return gguf_fail(r, GGUF_ELIMIT, "value %" PRIu64 " is above the reader's limit (%u)", a, GGUF_MAX_ALIGNMENT);
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
        int rc = gguf_read_str(r, "name", &t->name);
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
                return gguf_fail(r, GGUF_ECORRUPT, "duplicate tensor name (first used by tensor %" PRIu32 " of %" PRIu64 ")",
                            e, g->n_tensors);
            }
        }

        uint32_t nd = 0;
        if ((rc = gguf_read_u32(r, "n_dims", &nd)))
            return rc;
        if (nd < 1 || nd > GGUF_MAX_DIMS) {
            r->pos -= 4;
            return gguf_fail(r, GGUF_ECORRUPT, "n_dims %" PRIu32 " (allowed 1..%d)", nd, GGUF_MAX_DIMS);
        }
        t->n_dims = nd;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t ne = 0;
            if ((rc = gguf_read_u64(r, "dimension", &ne)))
                return rc;
            if (ne == 0 || ne > (uint64_t)INT64_MAX) {
                r->pos -= 8;
                return gguf_fail(r, GGUF_ECORRUPT, "dimension %" PRIu32 " is %" PRId64 " (allowed 1..2^63-1)",
                            d, (int64_t)ne);
            }
            t->ne[d] = (int64_t)ne;
        }
        uint32_t type = 0;
        if ((rc = gguf_read_u32(r, "type", &type)))
            return rc;
        const struct quant_traits *tr = quant_traits_get(type > INT32_MAX ? -1 : (int)type);
        if (!tr) {
            r->pos -= 4;
            return gguf_fail(r, GGUF_ETYPE, "unknown tensor type id %" PRIu32, type);
        }
        t->type = (int)type;
        if ((rc = gguf_read_u64(r, "data offset", &t->offset)))
            return rc;

        int64_t n = 1;
        for (uint32_t d = 0; d < nd; d++) {
            if (__builtin_mul_overflow(n, t->ne[d], &n)) {
                r->pos = at;
                return err_fail(r->err, r->err_len, GGUF_ECORRUPT,
                               "tensor '%s': shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                               "] has more than 2^63 elements", gguf_safe_name(name, sizeof name, t->name),
                               t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
            }
        }
        t->n_elements = n;
        if (t->ne[0] % tr->blck != 0)
            return err_fail(r->err, r->err_len, GGUF_ECORRUPT,
                           "tensor '%s': row length %" PRId64 " is not a multiple of the %s block size %" PRId64,
                           gguf_safe_name(name, sizeof name, t->name), t->ne[0], tr->name, tr->blck);
        uint64_t bytes;
        if (__builtin_mul_overflow((uint64_t)(n / tr->blck), (uint64_t)tr->type_size, &bytes))
            return err_fail(r->err, r->err_len, GGUF_ECORRUPT,
                           "tensor '%s': %" PRId64 " %s elements take more than 2^64 bytes",
                           gguf_safe_name(name, sizeof name, t->name), n, tr->name);
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
                           gguf_safe_name(a_name, sizeof a_name, t->name), t->offset, a);
        uint64_t start, end;
        if (__builtin_add_overflow(data_off, t->offset, &start))
            return err_fail(err, err_len, GGUF_ETRUNC,
                           "tensor '%s': data offset %" PRIu64 " (in the data section at byte %" PRIu64
                           ") is past the end of the file (%" PRIu64 " bytes)",
                           gguf_safe_name(a_name, sizeof a_name, t->name), t->offset, data_off, g->size);
        if (__builtin_add_overflow(start, t->n_bytes, &end) || end > g->size)
            return err_fail(err, err_len, GGUF_ETRUNC,
                           "tensor '%s': data [offset %" PRIu64 ", %" PRIu64 " bytes] ends past the end of the file (%" PRIu64 " bytes)",
                           gguf_safe_name(a_name, sizeof a_name, t->name), start, t->n_bytes, g->size);
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
                           gguf_safe_name(a_name, sizeof a_name, t->name), data_off + t->offset, t->n_bytes,
                           gguf_safe_name(b_name, sizeof b_name, p->name), data_off + p->offset, p->n_bytes);
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
