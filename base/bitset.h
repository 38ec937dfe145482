/* bitset — a growable set of small non-negative integers, one bit each:
 * which (config, repetition) pairs a results reader has seen and which a
 * resumed run has done. Header-only and libc-only (see base/err.h for why
 * base/ is). Zero-initialised storage is an empty set. */
#ifndef GGPERF_BASE_BITSET_H
#define GGPERF_BASE_BITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bitset {
    uint8_t *bits;   /* n_bytes bytes, owned */
    size_t n_bytes;
};

/* True when i is in the set. */
static inline bool bitset_test(const struct bitset *b, size_t i)
{
    return i / 8 < b->n_bytes && ((b->bits[i / 8] >> (i % 8)) & 1);
}

/* Add i, growing the storage (doubling) as needed. Returns 0, or -1 when
 * out of memory (the set is then unchanged). */
static inline int bitset_set(struct bitset *b, size_t i)
{
    const size_t byte = i / 8;
    if (byte >= b->n_bytes) {
        size_t nb = b->n_bytes ? b->n_bytes : 16;
        while (nb <= byte)
            nb *= 2;
        uint8_t *p = realloc(b->bits, nb);
        if (!p)
            return -1;
        memset(p + b->n_bytes, 0, nb - b->n_bytes);
        b->bits = p;
        b->n_bytes = nb;
    }
    b->bits[byte] |= (uint8_t)(1u << (i % 8));
    return 0;
}

/* Empty the set, keeping its storage. */
static inline void bitset_clear(struct bitset *b)
{
    if (b->bits)
        memset(b->bits, 0, b->n_bytes);
}

/* Release the storage; the set is empty again. NULL is a no-op. */
static inline void bitset_free(struct bitset *b)
{
    if (!b)
        return;
    free(b->bits);
    b->bits = NULL;
    b->n_bytes = 0;
}

#endif
