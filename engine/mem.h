/* mem — the engine's one allocation hook.
 *
 * Every engine allocation goes through mem_alloc/mem_free so the harness can
 * count allocations and peak bytes (and the alloc workload can swap the
 * strategy). With hooks == NULL the default is posix_memalign/free.
 */
#ifndef GGPERF_ENGINE_MEM_H
#define GGPERF_ENGINE_MEM_H

#include <stddef.h>

struct mem_hooks {
    /* Return size bytes aligned to align (a power of two >= sizeof(void*)), or NULL. */
    void *(*alloc)(void *user, size_t size, size_t align);
    /* Release p (from alloc, with the same size); p may be NULL. */
    void (*free)(void *user, void *p, size_t size);
    void *user;
};

/* Allocate size bytes aligned to align through the hooks (or the default).
 * Returns NULL on failure or size 0. The caller owns the block and frees it
 * with mem_free with the same hooks and size. */
void *mem_alloc(const struct mem_hooks *h, size_t size, size_t align);

/* Free a block from mem_alloc; NULL does nothing. */
void mem_free(const struct mem_hooks *h, void *p, size_t size);

/* A counting hook set for tests and the harness: wraps the default. */
struct mem_counter {
    size_t n_alloc, n_free;
    size_t bytes_live, bytes_peak;
};
/* Hooks that count into c (c must outlive the hooks). */
struct mem_hooks mem_counting_hooks(struct mem_counter *c);

#endif
