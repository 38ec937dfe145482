/* gguf — a hardened, allocation-free reader of GGUF v2/v3 files.
 *
 * The caller supplies the bytes (a mapping or a heap copy) and keeps them
 * alive and unchanged for as long as the struct gguf is used: every string,
 * array and tensor pointer handed out is a view into those bytes.
 *
 * gguf_open() validates the whole file before returning: every length,
 * count, offset and dims product against the buffer size and integer
 * overflow; tensor types known; first dimension a multiple of the block
 * size; data offsets aligned, inside the data section, not overlapping; no
 * duplicate tensor names or keys; alignment a power of two; bools 0 or 1;
 * arrays nested at most GGUF_MAX_ARRAY_DEPTH deep. After a successful open
 * the accessors cannot fail on file content.
 *
 * Choices where the format leaves room:
 * - GGUF v1 (32-bit counts) is refused with GGUF_EVERSION, as are
 *   big-endian files (said so in the message).
 * - Header counts the buffer cannot hold (each key takes at least
 *   GGUF_MIN_KV_BYTES, each tensor info GGUF_MIN_TENSOR_BYTES) are
 *   GGUF_ETRUNC; counts above GGUF_MAX_KV / GGUF_MAX_TENSORS are GGUF_ELIMIT.
 * - A tensor dimension of 0 is GGUF_ECORRUPT: model files have no empty
 *   tensors, and it keeps every tensor's data a non-empty range inside the
 *   buffer.
 * - general.alignment may be any integer type; its value must be a power of
 *   two (GGUF_ECORRUPT) and at most GGUF_MAX_ALIGNMENT (GGUF_ELIMIT).
 * - A file without tensors may lack the padding after its tensor infos;
 *   data_offset is then the file size.
 * - Messages are one line: bytes of names that are control characters are
 *   shown as '?', long names are cut.
 *
 * Memory: parsing needs an index (hash tables over keys and tensor names).
 * The caller provides its storage, sized by gguf_index_bytes(); the size is
 * bounded by the buffer size, because every entry occupies bytes in the
 * file. gguf_open_alloc() is the convenience form that mallocs it.
 */
#ifndef GGPERF_ENGINE_GGUF_H
#define GGPERF_ENGINE_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes: 0 is success, each negative code means one thing. */
enum gguf_status {
    GGUF_OK = 0,
    GGUF_ENOTGGUF = -1,   /* magic is not "GGUF" */
    GGUF_EVERSION = -2,   /* version other than 2 or 3 */
    GGUF_ETRUNC = -3,     /* a field or tensor data runs past the buffer */
    GGUF_ECORRUPT = -4,   /* inconsistent content (overlap, duplicate, misalignment...) */
    GGUF_ELIMIT = -5,     /* a count or depth beyond what the reader accepts */
    GGUF_ETYPE = -6,      /* unknown tensor type or metadata value type */
    GGUF_ENOTFOUND = -7,  /* key or tensor absent (lookups only) */
    GGUF_EMISMATCH = -8,  /* key present with another type (typed getters) */
    GGUF_ENOMEM = -9,     /* index storage too small / malloc failed */
};

/* Metadata value types as stored in the file. */
enum gguf_vtype {
    GGUF_VT_UINT8 = 0, GGUF_VT_INT8 = 1, GGUF_VT_UINT16 = 2, GGUF_VT_INT16 = 3,
    GGUF_VT_UINT32 = 4, GGUF_VT_INT32 = 5, GGUF_VT_FLOAT32 = 6, GGUF_VT_BOOL = 7,
    GGUF_VT_STRING = 8, GGUF_VT_ARRAY = 9, GGUF_VT_UINT64 = 10, GGUF_VT_INT64 = 11,
    GGUF_VT_FLOAT64 = 12,
    GGUF_VT_COUNT = 13
};

#define GGUF_MAX_DIMS 4
#define GGUF_MAX_ARRAY_DEPTH 8   /* arrays of arrays nest at most this deep */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ALIGNMENT (1u << 20)   /* general.alignment above this is rejected */
#define GGUF_MAX_KV (1u << 24)          /* metadata keys a file may have */
#define GGUF_MAX_TENSORS (1u << 24)     /* tensors a file may have */
#define GGUF_MAX_KEY_LEN 65535u         /* the format's limit on key names */
/* Smallest number of bytes one entry takes in a file: a key is a length (8)
 * + a type (4) + the smallest value (1); a tensor info is a name length (8)
 * + n_dims (4) + one dimension (8) + type (4) + offset (8). Counts in the
 * header are checked against the buffer with these before anything is
 * sized from them. */
#define GGUF_MIN_KV_BYTES 13u
#define GGUF_MIN_TENSOR_BYTES 32u
#define GGUF_HEADER_BYTES 24u

/* A string view into the file: not NUL-terminated. */
struct gguf_str {
    const char *ptr;
    uint64_t len;
};

/* An array view. Elements of fixed-size types are contiguous at data
 * (little-endian, possibly unaligned: read with memcpy). Strings and nested
 * arrays are variable-sized: walk them with gguf_array_next(). */
struct gguf_array {
    enum gguf_vtype elem_type;
    uint64_t count;
    const uint8_t *data;     /* first element */
    uint64_t bytes;          /* total bytes of all elements */
    uint32_t depth;          /* 1 for an array of scalars/strings; an array of
                                arrays is 1 + the deepest element (at least 2) */
};

/* A metadata value. For scalars the matching member holds the value. */
struct gguf_value {
    enum gguf_vtype type;
    union {
        uint64_t u64;   /* UINT8..UINT64, BOOL (0/1) */
        int64_t i64;    /* INT8..INT64 */
        double f64;     /* FLOAT32, FLOAT64 */
        struct gguf_str str;
        struct gguf_array arr;
    } v;
};

struct gguf_kv {
    struct gguf_str key;
    struct gguf_value value;
};

/* Tensors: every dimension is >= 1 (an empty dimension is rejected as
 * corrupt: model files have none, and it keeps every tensor's data a
 * non-empty range inside the buffer, which the overlap check relies on). */
struct gguf_tensor {
    struct gguf_str name;
    int type;                 /* enum qtype id, known to quant_traits_get() */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];/* ne[0] is the row length (fastest varying); unused dims are 1 */
    int64_t n_elements;
    uint64_t offset;          /* relative to the data section */
    uint64_t n_bytes;
    const uint8_t *data;      /* view into the buffer */
};

/* Index entries live in caller storage; their layout is private. */
struct gguf_index;

struct gguf {
    const uint8_t *buf;
    uint64_t size;
    uint32_t version;
    uint64_t n_kv;
    uint64_t n_tensors;
    uint64_t alignment;       /* general.alignment or 32 */
    uint64_t data_offset;     /* start of the tensor data section in buf */
    uint64_t data_bytes;      /* bytes from data_offset to the end of the last tensor */
    struct gguf_index *index; /* borrowed from the caller, or owned (see gguf_close) */
    bool index_owned;
};

/* Bytes of index storage gguf_open() needs for this buffer, from the counts
 * in its header; a bounded figure even for hostile headers (counts that the
 * buffer cannot hold are rejected by gguf_open, and the size returned here
 * is capped by the buffer size). Returns 0 if the header cannot be read. */
size_t gguf_index_bytes(const void *buf, size_t size);

/* Validate buf[0..size) as a GGUF file and build its index in storage
 * (index_bytes from gguf_index_bytes; storage aligned to 8). No heap
 * allocation. Returns GGUF_OK, or a negative gguf_status with a one-line
 * message in err (what and where: key or tensor name, byte offset, value
 * found and value allowed). */
int gguf_open(struct gguf *g, const void *buf, size_t size, void *storage,
              size_t storage_bytes, char *err, size_t err_len);

/* gguf_open() with the index malloc'ed (freed by gguf_close). */
int gguf_open_alloc(struct gguf *g, const void *buf, size_t size, char *err, size_t err_len);

/* Release what gguf_open_alloc allocated; the buffer stays the caller's.
 * gguf_close(NULL) does nothing. */
void gguf_close(struct gguf *g);

/* Metadata by position (i < n_kv) or by key. find returns NULL when absent.
 * gguf_find_kv_n takes a key that is not NUL-terminated. gguf_kv_offset is
 * the byte offset in the buffer where entry i (its key length) starts.
 * Lookups are O(1) (hash table in the index). kv_at returns NULL for
 * i >= n_kv, kv_offset returns 0. */
const struct gguf_kv *gguf_kv_at(const struct gguf *g, uint64_t i);
const struct gguf_kv *gguf_find_kv(const struct gguf *g, const char *key);
const struct gguf_kv *gguf_find_kv_n(const struct gguf *g, const char *key, size_t key_len);
uint64_t gguf_kv_offset(const struct gguf *g, uint64_t i);

/* Typed getters. Return GGUF_OK, GGUF_ENOTFOUND, or GGUF_EMISMATCH (with
 * the types in err when err != NULL). Integer getters accept any integer
 * type whose value fits; float getters accept FLOAT32/FLOAT64. */
int gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out, char *err, size_t err_len);
int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out, char *err, size_t err_len);
int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, char *err, size_t err_len);
int gguf_get_f32(const struct gguf *g, const char *key, float *out, char *err, size_t err_len);
int gguf_get_bool(const struct gguf *g, const char *key, bool *out, char *err, size_t err_len);
int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out, char *err, size_t err_len);
int gguf_get_arr(const struct gguf *g, const char *key, struct gguf_array *out, char *err, size_t err_len);

/* Iterate a variable-sized array (strings, nested arrays) or any array:
 * *pos starts at 0; fills *out with the next element and returns 1, returns
 * 0 at the end. The array was validated at open, so this cannot fail. */
int gguf_array_next(const struct gguf_array *a, uint64_t *pos, struct gguf_value *out);

/* Element i of a fixed-size scalar array as u64/i64/f64 (i < count):
 * integers and bools convert to the asked type (as C casts would), floats
 * to f64. Returns 0 when i >= count or the elements are strings or arrays.
 * *pos in gguf_array_next is a byte offset into the array's data. */
uint64_t gguf_array_u64(const struct gguf_array *a, uint64_t i);
int64_t gguf_array_i64(const struct gguf_array *a, uint64_t i);
double gguf_array_f64(const struct gguf_array *a, uint64_t i);

/* Tensors by position (i < n_tensors, file order) or by name (NULL when
 * absent, or i out of range). gguf_tensor_by_offset(g, i) is the tensor
 * whose data comes i-th in the file (ascending offsets: the order to read
 * them sequentially). */
const struct gguf_tensor *gguf_tensor_at(const struct gguf *g, uint64_t i);
const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name);
const struct gguf_tensor *gguf_tensor_by_offset(const struct gguf *g, uint64_t i);

/* Name of a value type ("uint32", "string", "array"...). */
const char *gguf_vtype_name(int t);

/* Name of a status code ("truncated", "corrupt"...). */
const char *gguf_status_name(int status);

/* Compare a view with a C string. */
bool gguf_str_eq(struct gguf_str s, const char *cstr);

#endif
