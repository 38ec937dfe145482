/* gguf_writer — the one GGUF writer: synth writes models with it, the tests
 * and fuzzers build their (valid and malformed) files with it. See the header. */
#include "modelgen/gguf_writer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"

/* Sections in file order; each call checks it comes in its section. */
enum { ST_INIT = 0, ST_KV, ST_TENSORS, ST_DATA, ST_DONE };

static int fail(struct gguf_writer *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct gguf_writer *w, int status, const char *fmt, ...)
{
    if (w->status != GGUF_WRITER_OK)
        return w->status;
    va_list ap;
    va_start(ap, fmt);
    err_vset(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    w->status = status;
    return status;
}

static int fail_errno(struct gguf_writer *w, int e, const char *what)
{
    int st = (e == ENOSPC || e == EDQUOT) ? GGUF_WRITER_ENOSPC : GGUF_WRITER_EIO;
    return fail(w, st, "%s at byte %llu: %s", what, (unsigned long long)w->offset, strerror(e));
}

void gguf_writer_init(struct gguf_writer *w, int fd, void *buf, size_t cap, unsigned flags)
{
    memset(w, 0, sizeof *w);
    w->fd = fd < 0 ? -1 : fd;
    w->flags = flags;
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->stage = ST_INIT;
    w->status = GGUF_WRITER_OK;
}

void gguf_writer_init_sink(struct gguf_writer *w, gguf_writer_sink_fn sink, void *user, void *buf, size_t cap)
{
    gguf_writer_init(w, -1, buf, cap, 0);
    w->sink = sink;
    w->sink_user = user;
}

/* Counting mode: neither an fd nor a sink. */
static bool counting(const struct gguf_writer *w)
{
    return w->fd < 0 && !w->sink;
}

int gguf_writer_flush(struct gguf_writer *w)
{
    if (w->status != GGUF_WRITER_OK)
        return w->status;
    if (w->sink) {
        if (w->used && w->sink(w->sink_user, w->buf, w->used) != 0)
            return fail(w, GGUF_WRITER_EIO, "sink refused %zu bytes at byte %llu", w->used,
                        (unsigned long long)(w->offset - w->used));
        w->used = 0;
        return GGUF_WRITER_OK;
    }
    size_t done = 0;
    while (done < w->used) {
        ssize_t r = write(w->fd, w->buf + done, w->used - done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return fail_errno(w, errno, "write");
        }
        if (r == 0)
            return fail(w, GGUF_WRITER_EIO, "write returned 0 at byte %llu", (unsigned long long)w->offset);
        done += (size_t)r;
    }
    w->used = 0;
    return GGUF_WRITER_OK;
}

/* Emit n bytes (data == NULL: zeros). */
static int emit(struct gguf_writer *w, const void *data, size_t n)
{
    if (w->status != GGUF_WRITER_OK)
        return w->status;
    if (counting(w)) {
        w->offset += n;
        return GGUF_WRITER_OK;
    }
    if (!w->buf || w->cap < 64)
        return fail(w, GGUF_WRITER_EINVAL, "staging buffer of %zu bytes is too small (at least 64)", w->cap);
    const uint8_t *p = data;
    while (n > 0) {
        if (w->used == w->cap && gguf_writer_flush(w) != GGUF_WRITER_OK)
            return w->status;
        size_t k = w->cap - w->used;
        if (k > n)
            k = n;
        if (p) {
            memcpy(w->buf + w->used, p, k);
            p += k;
        } else {
            memset(w->buf + w->used, 0, k);
        }
        w->used += k;
        w->offset += k;
        n -= k;
    }
    return GGUF_WRITER_OK;
}

/* GGUF is little-endian; so is every machine this builds for (x86-64), and
 * the static assert below keeps it honest if that ever changes. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "gguf_writer assumes a little-endian host");

static int emit_u32(struct gguf_writer *w, uint32_t v) { return emit(w, &v, 4); }
static int emit_u64(struct gguf_writer *w, uint64_t v) { return emit(w, &v, 8); }

static int emit_str(struct gguf_writer *w, const char *s, size_t len)
{
    emit_u64(w, len);
    return emit(w, s, len);
}

/* ---- raw emitters: the encoding, with no order or count checks ------- */

int gguf_writer_raw(struct gguf_writer *w, const void *data, size_t n) { return emit(w, data, n); }
int gguf_writer_raw_u8(struct gguf_writer *w, uint8_t v) { return emit(w, &v, 1); }
int gguf_writer_raw_u16(struct gguf_writer *w, uint16_t v) { return emit(w, &v, 2); }
int gguf_writer_raw_u32(struct gguf_writer *w, uint32_t v) { return emit_u32(w, v); }
int gguf_writer_raw_u64(struct gguf_writer *w, uint64_t v) { return emit_u64(w, v); }
int gguf_writer_raw_str(struct gguf_writer *w, const void *s, size_t len) { return emit_str(w, s, len); }

int gguf_writer_raw_header(struct gguf_writer *w, const char magic[4], uint32_t version, uint64_t n_tensors,
                           uint64_t n_kv)
{
    emit(w, magic, 4);
    emit_u32(w, version);
    emit_u64(w, n_tensors);
    return emit_u64(w, n_kv);
}

int gguf_writer_raw_key(struct gguf_writer *w, const char *key, uint32_t vtype)
{
    emit_str(w, key, strlen(key));
    return emit_u32(w, vtype);
}

int gguf_writer_raw_tensor_info(struct gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne,
                                uint32_t type, uint64_t offset)
{
    emit_str(w, name, strlen(name));
    emit_u32(w, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        emit_u64(w, ne[i]);
    emit_u32(w, type);
    return emit_u64(w, offset);
}

static int expect_stage(struct gguf_writer *w, int stage, const char *what)
{
    static const char *const names[] = { "header", "key/value pairs", "tensor infos", "tensor data", "finish" };
    if (w->status != GGUF_WRITER_OK)
        return w->status;
    if (w->stage != stage)
        return fail(w, GGUF_WRITER_EINVAL, "%s: called while writing the %s (allowed only in the %s)", what,
                    names[w->stage], names[stage]);
    return GGUF_WRITER_OK;
}

int gguf_writer_header(struct gguf_writer *w, uint64_t n_tensors, uint64_t n_kv)
{
    if (expect_stage(w, ST_INIT, "header") != GGUF_WRITER_OK)
        return w->status;
    static const char magic[4] = { 'G', 'G', 'U', 'F' };
    static const char zero[4] = { 0, 0, 0, 0 };
    if ((w->flags & GGUF_WRITER_DEFER_MAGIC) && w->sink)
        return fail(w, GGUF_WRITER_EINVAL, "header: a deferred magic needs an fd, not a sink");
    gguf_writer_raw_header(w, (w->flags & GGUF_WRITER_DEFER_MAGIC) ? zero : magic, 3, n_tensors, n_kv);
    w->n_tensors = n_tensors;
    w->n_kv = n_kv;
    w->stage = n_kv > 0 ? ST_KV : (n_tensors > 0 ? ST_TENSORS : ST_DATA);
    return w->status;
}

/* Begin key/value pair number kv_done: checks order and the previous array. */
static int begin_kv(struct gguf_writer *w, const char *key, int type)
{
    if (w->status != GGUF_WRITER_OK)
        return w->status;
    if (w->stage > ST_KV && w->stage != ST_DONE && w->kv_done == w->n_kv && w->tensors_done == 0)
        return fail(w, GGUF_WRITER_EINVAL, "key '%s': more pairs than the %llu declared in the header",
                    key ? key : "(null)", (unsigned long long)w->n_kv);
    if (expect_stage(w, ST_KV, "key/value pair") != GGUF_WRITER_OK)
        return w->status;
    if (!key || !*key)
        return fail(w, GGUF_WRITER_EINVAL, "key/value pair %llu: empty key", (unsigned long long)w->kv_done);
    if (w->arr_left > 0)
        return fail(w, GGUF_WRITER_EINVAL, "key '%s': the previous array still owes %llu elements", key,
                    (unsigned long long)w->arr_left);
    if (w->kv_done >= w->n_kv)
        return fail(w, GGUF_WRITER_EINVAL, "key '%s': more pairs than the %llu declared in the header", key,
                    (unsigned long long)w->n_kv);
    w->kv_done++;
    return gguf_writer_raw_key(w, key, (uint32_t)type);
}

/* After the last pair (and its array elements) the tensor infos follow. */
static void maybe_end_kv(struct gguf_writer *w)
{
    if (w->status == GGUF_WRITER_OK && w->stage == ST_KV && w->kv_done == w->n_kv && w->arr_left == 0)
        w->stage = w->n_tensors > 0 ? ST_TENSORS : ST_DATA;
}

int gguf_writer_kv_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
    if (begin_kv(w, key, GGUF_WRITER_UINT32) == GGUF_WRITER_OK)
        emit_u32(w, v);
    maybe_end_kv(w);
    return w->status;
}

int gguf_writer_kv_i32(struct gguf_writer *w, const char *key, int32_t v)
{
    if (begin_kv(w, key, GGUF_WRITER_INT32) == GGUF_WRITER_OK)
        emit(w, &v, 4);
    maybe_end_kv(w);
    return w->status;
}

int gguf_writer_kv_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
    if (begin_kv(w, key, GGUF_WRITER_UINT64) == GGUF_WRITER_OK)
        emit_u64(w, v);
    maybe_end_kv(w);
    return w->status;
}

int gguf_writer_kv_f32(struct gguf_writer *w, const char *key, float v)
{
    if (begin_kv(w, key, GGUF_WRITER_FLOAT32) == GGUF_WRITER_OK)
        emit(w, &v, 4);
    maybe_end_kv(w);
    return w->status;
}

int gguf_writer_kv_bool(struct gguf_writer *w, const char *key, bool v)
{
    uint8_t b = v ? 1 : 0;
    if (begin_kv(w, key, GGUF_WRITER_BOOL) == GGUF_WRITER_OK)
        emit(w, &b, 1);
    maybe_end_kv(w);
    return w->status;
}

int gguf_writer_kv_str(struct gguf_writer *w, const char *key, const char *v)
{
    if (!v)
        return fail(w, GGUF_WRITER_EINVAL, "key '%s': NULL string", key ? key : "(null)");
    if (begin_kv(w, key, GGUF_WRITER_STRING) == GGUF_WRITER_OK)
        emit_str(w, v, strlen(v));
    maybe_end_kv(w);
    return w->status;
}

static bool scalar_type(int t)
{
    return t >= GGUF_WRITER_UINT8 && t <= GGUF_WRITER_FLOAT64 && t != GGUF_WRITER_ARRAY;
}

int gguf_writer_kv_arr_begin(struct gguf_writer *w, const char *key, int elem_type, uint64_t count)
{
    if (!scalar_type(elem_type))
        return fail(w, GGUF_WRITER_EINVAL, "key '%s': array element type %d is not a scalar or string type",
                    key ? key : "(null)", elem_type);
    if (begin_kv(w, key, GGUF_WRITER_ARRAY) == GGUF_WRITER_OK) {
        emit_u32(w, (uint32_t)elem_type);
        emit_u64(w, count);
        w->arr_left = count;
        w->arr_type = elem_type;
    }
    maybe_end_kv(w);
    return w->status;
}

static int arr_elem(struct gguf_writer *w, int type, const void *data, size_t n)
{
    if (expect_stage(w, ST_KV, "array element") != GGUF_WRITER_OK)
        return w->status;
    if (w->arr_left == 0)
        return fail(w, GGUF_WRITER_EINVAL, "array element after the array's declared count");
    if (w->arr_type != type)
        return fail(w, GGUF_WRITER_EINVAL, "array element of type %d in an array of type %d", type, w->arr_type);
    emit(w, data, n);
    w->arr_left--;
    maybe_end_kv(w);
    return w->status;
}

int gguf_writer_arr_str(struct gguf_writer *w, const char *s, size_t len)
{
    if (expect_stage(w, ST_KV, "array element") != GGUF_WRITER_OK)
        return w->status;
    if (w->arr_left == 0 || w->arr_type != GGUF_WRITER_STRING)
        return arr_elem(w, GGUF_WRITER_STRING, NULL, 0); /* reports the mismatch */
    emit_u64(w, len);
    return arr_elem(w, GGUF_WRITER_STRING, s, len);
}

int gguf_writer_arr_f32(struct gguf_writer *w, float v) { return arr_elem(w, GGUF_WRITER_FLOAT32, &v, 4); }
int gguf_writer_arr_i32(struct gguf_writer *w, int32_t v) { return arr_elem(w, GGUF_WRITER_INT32, &v, 4); }
int gguf_writer_arr_u32(struct gguf_writer *w, uint32_t v) { return arr_elem(w, GGUF_WRITER_UINT32, &v, 4); }

int gguf_writer_tensor_info(struct gguf_writer *w, const char *name, uint32_t n_dims,
                            const int64_t *ne, int type, uint64_t offset)
{
    if (expect_stage(w, ST_TENSORS, name ? name : "(null tensor name)") != GGUF_WRITER_OK)
        return w->status;
    if (!name || !*name)
        return fail(w, GGUF_WRITER_EINVAL, "tensor info %llu: empty name", (unsigned long long)w->tensors_done);
    if (n_dims < 1 || n_dims > 4)
        return fail(w, GGUF_WRITER_EINVAL, "tensor '%s': %u dimensions (allowed 1..4)", name, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        if (ne[i] < 1)
            return fail(w, GGUF_WRITER_EINVAL, "tensor '%s': ne[%u] = %lld (must be >= 1)", name, i, (long long)ne[i]);
    if (type < 0)
        return fail(w, GGUF_WRITER_EINVAL, "tensor '%s': type %d", name, type);
    w->tensors_done++;
    uint64_t une[4];
    for (uint32_t i = 0; i < n_dims; i++)
        une[i] = (uint64_t)ne[i];
    gguf_writer_raw_tensor_info(w, name, n_dims, une, (uint32_t)type, offset);
    if (w->tensors_done == w->n_tensors)
        w->stage = ST_DATA;
    return w->status;
}

int gguf_writer_pad(struct gguf_writer *w, uint64_t alignment)
{
    if (w->status != GGUF_WRITER_OK)
        return w->status;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return fail(w, GGUF_WRITER_EINVAL, "alignment %llu is not a power of two", (unsigned long long)alignment);
    if (w->stage == ST_TENSORS && w->tensors_done < w->n_tensors)
        return fail(w, GGUF_WRITER_EINVAL, "padding after %llu of %llu tensor infos",
                    (unsigned long long)w->tensors_done, (unsigned long long)w->n_tensors);
    uint64_t pad = (alignment - (w->offset & (alignment - 1))) & (alignment - 1);
    return emit(w, NULL, (size_t)pad);
}

int gguf_writer_write(struct gguf_writer *w, const void *data, size_t n)
{
    if (expect_stage(w, ST_DATA, "tensor data") != GGUF_WRITER_OK)
        return w->status;
    return emit(w, data, n);
}

size_t gguf_writer_reserve_max(const struct gguf_writer *w)
{
    return w->cap;
}

void *gguf_writer_reserve(struct gguf_writer *w, size_t n)
{
    if (expect_stage(w, ST_DATA, "tensor data") != GGUF_WRITER_OK)
        return NULL;
    if (counting(w)) {
        w->offset += n;
        return NULL;
    }
    if (n > w->cap) {
        fail(w, GGUF_WRITER_EINVAL, "reserve of %zu bytes exceeds the %zu-byte buffer", n, w->cap);
        return NULL;
    }
    if (w->cap - w->used < n && gguf_writer_flush(w) != GGUF_WRITER_OK)
        return NULL;
    void *p = w->buf + w->used;
    w->used += n;
    w->offset += n;
    return p;
}

int gguf_writer_finish(struct gguf_writer *w, bool sync)
{
    if (w->status != GGUF_WRITER_OK)
        return w->status;
    if (w->kv_done != w->n_kv || w->arr_left != 0)
        return fail(w, GGUF_WRITER_EINVAL, "finish: %llu of %llu key/value pairs written%s",
                    (unsigned long long)w->kv_done, (unsigned long long)w->n_kv,
                    w->arr_left ? " (an array is unfinished)" : "");
    if (w->tensors_done != w->n_tensors)
        return fail(w, GGUF_WRITER_EINVAL, "finish: %llu of %llu tensor infos written",
                    (unsigned long long)w->tensors_done, (unsigned long long)w->n_tensors);
    w->stage = ST_DONE;
    if (counting(w))
        return GGUF_WRITER_OK;
    if (gguf_writer_flush(w) != GGUF_WRITER_OK || w->sink)
        return w->status;
    if (w->flags & GGUF_WRITER_DEFER_MAGIC) {
        /* The magic goes in last, after every other byte is on its way. */
        if (sync && fdatasync(w->fd) != 0)
            return fail_errno(w, errno, "fdatasync");
        ssize_t r;
        do
            r = pwrite(w->fd, "GGUF", 4, 0);
        while (r < 0 && errno == EINTR);
        if (r != 4)
            return r < 0 ? fail_errno(w, errno, "pwrite of the magic")
                         : fail(w, GGUF_WRITER_EIO, "short pwrite of the magic");
    }
    if (sync && fsync(w->fd) != 0)
        return fail_errno(w, errno, "fsync");
    return GGUF_WRITER_OK;
}
