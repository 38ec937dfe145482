/* gguf_writer — a streaming writer of GGUF v3 files.
 *
 * The writer emits a file front to back through one staging buffer that the
 * caller provides, so its memory use does not depend on the file size:
 *
 *   header (magic, version 3, n_tensors, n_kv)
 *   n_kv key/value pairs       gguf_writer_kv_*, arrays element by element
 *   n_tensors tensor infos     gguf_writer_tensor_info
 *   padding to the alignment   gguf_writer_pad
 *   tensor data                gguf_writer_write / gguf_writer_reserve,
 *                              gguf_writer_pad after each tensor
 *
 * Errors are sticky: the first failure (an I/O error, a call out of order, a
 * count that does not match the header) is recorded in the writer with a
 * message, every later call does nothing, and each call returns the current
 * status. A caller may therefore emit a whole section and check once.
 *
 * Counting mode (fd < 0) writes nothing and only advances the offset: run
 * the same emitting code once to learn the size of the metadata before
 * writing it for real.
 *
 * A sink (gguf_writer_init_sink) takes the bytes instead of an fd, e.g.
 * into memory. The raw emitters (gguf_writer_raw_*) write the same encoding
 * with no order or count checks, so tests and fuzzers build valid and
 * malformed files with this one writer (tests/gguf_fixture.c).
 *
 * The writer never allocates, never prints and never closes the fd.
 */
#ifndef GGPERF_MODELGEN_GGUF_WRITER_H
#define GGPERF_MODELGEN_GGUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes: 0 is success, each negative code means one thing. */
enum gguf_writer_status {
    GGUF_WRITER_OK = 0,
    GGUF_WRITER_EIO = -1,     /* write/fsync failed (message has strerror) */
    GGUF_WRITER_ENOSPC = -2,  /* the file system is full (or over quota) */
    GGUF_WRITER_EINVAL = -3,  /* a call out of order, a bad argument, or
                                 counts that do not match the header */
};

/* Value types as stored in the file (the same numbering as engine/gguf.h). */
enum gguf_writer_vtype {
    GGUF_WRITER_UINT8 = 0, GGUF_WRITER_INT8 = 1, GGUF_WRITER_UINT16 = 2, GGUF_WRITER_INT16 = 3,
    GGUF_WRITER_UINT32 = 4, GGUF_WRITER_INT32 = 5, GGUF_WRITER_FLOAT32 = 6, GGUF_WRITER_BOOL = 7,
    GGUF_WRITER_STRING = 8, GGUF_WRITER_ARRAY = 9, GGUF_WRITER_UINT64 = 10, GGUF_WRITER_INT64 = 11,
    GGUF_WRITER_FLOAT64 = 12,
};

/* Flags of gguf_writer_init. */
enum {
    /* Write four zero bytes in place of the magic "GGUF" and put the magic
     * in only at gguf_writer_finish: a file cut short by a crash or a kill
     * is never taken for a GGUF file. Needs a seekable fd (pwrite). */
    GGUF_WRITER_DEFER_MAGIC = 1u << 0,
};

/* Where a sink-mode writer's bytes go: take n bytes, return 0, or non-zero
 * to fail the writer with GGUF_WRITER_EIO. */
typedef int (*gguf_writer_sink_fn)(void *user, const void *data, size_t n);

/* Writer state: storage belongs to the caller; fields are read-only for
 * callers except through the functions below. */
struct gguf_writer {
    int fd;                 /* destination, or -1 (a sink, or count only) */
    gguf_writer_sink_fn sink; /* destination instead of fd, or NULL */
    void *sink_user;
    unsigned flags;
    uint8_t *buf;           /* staging buffer (borrowed), cap bytes */
    size_t cap;
    size_t used;            /* staged bytes not yet written */
    uint64_t offset;        /* bytes emitted so far: written + staged */
    uint64_t n_tensors;     /* declared in the header */
    uint64_t n_kv;
    uint64_t kv_done;       /* key/value pairs begun so far */
    uint64_t tensors_done;  /* tensor infos emitted so far */
    uint64_t arr_left;      /* elements still owed to the open array */
    int arr_type;           /* element type of the open array */
    int stage;              /* private: which section is being written */
    int status;             /* first error, or GGUF_WRITER_OK */
    char err[256];          /* message of the first error */
};

/* Prepare w to write to fd (or to count, fd < 0) through buf[0..cap).
 * buf must hold at least 64 bytes unless counting (then it may be NULL).
 * flags: GGUF_WRITER_DEFER_MAGIC or 0. Cannot fail; a too small buffer is
 * reported by the first call that needs it. */
void gguf_writer_init(struct gguf_writer *w, int fd, void *buf, size_t cap, unsigned flags);

/* Prepare w to hand its bytes to sink(user, ...) through buf[0..cap) (at
 * least 64 bytes) each time the buffer fills, at gguf_writer_flush and at
 * gguf_writer_finish (which then neither syncs nor defers the magic). */
void gguf_writer_init_sink(struct gguf_writer *w, gguf_writer_sink_fn sink, void *user, void *buf, size_t cap);

/* Emit the header of a GGUF v3 file that will have n_tensors tensors and
 * n_kv key/value pairs. Must be the first call. Returns the status. */
int gguf_writer_header(struct gguf_writer *w, uint64_t n_tensors, uint64_t n_kv);

/* One key/value pair each. key is a NUL-terminated string. Return the status. */
int gguf_writer_kv_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_kv_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_writer_kv_u64(struct gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_kv_f32(struct gguf_writer *w, const char *key, float v);
int gguf_writer_kv_bool(struct gguf_writer *w, const char *key, bool v);
int gguf_writer_kv_str(struct gguf_writer *w, const char *key, const char *v);

/* Begin an array of count elements of type elem_type (a scalar type or
 * STRING); then emit exactly count elements with the matching
 * gguf_writer_arr_* call before the next key or tensor info. */
int gguf_writer_kv_arr_begin(struct gguf_writer *w, const char *key, int elem_type, uint64_t count);
int gguf_writer_arr_str(struct gguf_writer *w, const char *s, size_t len);
int gguf_writer_arr_f32(struct gguf_writer *w, float v);
int gguf_writer_arr_i32(struct gguf_writer *w, int32_t v);
int gguf_writer_arr_u32(struct gguf_writer *w, uint32_t v);

/* One tensor info: name, n_dims (1..4) sizes ne[] (ne[0] the row length),
 * ggml type id and data offset relative to the data section. All n_kv pairs
 * must have been emitted. The writer does not check offsets or sizes: the
 * caller plans them. */
int gguf_writer_tensor_info(struct gguf_writer *w, const char *name, uint32_t n_dims,
                            const int64_t *ne, int type, uint64_t offset);

/* Emit zero bytes until the offset is a multiple of alignment (a power of
 * two). After the last tensor info this starts the data section. */
int gguf_writer_pad(struct gguf_writer *w, uint64_t alignment);

/* Emit n raw bytes (tensor data). Only after all tensor infos. */
int gguf_writer_write(struct gguf_writer *w, const void *data, size_t n);

/* n contiguous bytes of the staging buffer to fill in place, counted as
 * emitted (the caller must fill all of them before the next call). n must
 * not exceed the buffer size. Returns NULL on error or in counting mode
 * (where nothing is to be filled; the offset still advances). */
void *gguf_writer_reserve(struct gguf_writer *w, size_t n);

/* Largest n gguf_writer_reserve accepts (the buffer size). */
size_t gguf_writer_reserve_max(const struct gguf_writer *w);

/* Write out the staged bytes. Returns the status. */
int gguf_writer_flush(struct gguf_writer *w);

/* End the file: check that every declared pair and tensor info was
 * emitted, flush, write the deferred magic, and fsync when sync is true.
 * Does not close the fd. Returns the status. */
int gguf_writer_finish(struct gguf_writer *w, bool sync);

/* Raw emitters, for tests and fuzzers that need malformed files: exactly
 * the bytes asked for (little-endian fields; a GGUF string is a u64 length
 * and the bytes), at any point, with no order or count checks and no change
 * to the section state. data == NULL emits n zero bytes. Return the status. */
int gguf_writer_raw(struct gguf_writer *w, const void *data, size_t n);
int gguf_writer_raw_u8(struct gguf_writer *w, uint8_t v);
int gguf_writer_raw_u16(struct gguf_writer *w, uint16_t v);
int gguf_writer_raw_u32(struct gguf_writer *w, uint32_t v);
int gguf_writer_raw_u64(struct gguf_writer *w, uint64_t v);
int gguf_writer_raw_str(struct gguf_writer *w, const void *s, size_t len);
/* magic (4 bytes), version, n_tensors, n_kv. */
int gguf_writer_raw_header(struct gguf_writer *w, const char magic[4], uint32_t version, uint64_t n_tensors,
                           uint64_t n_kv);
/* A key string and a value type; the caller emits the value. */
int gguf_writer_raw_key(struct gguf_writer *w, const char *key, uint32_t vtype);
/* name, n_dims, ne[0..n_dims), type, offset. */
int gguf_writer_raw_tensor_info(struct gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne,
                                uint32_t type, uint64_t offset);

/* Bytes a GGUF string of len bytes takes (8-byte length + bytes). */
static inline uint64_t gguf_writer_str_bytes(uint64_t len) { return 8 + len; }

#endif
