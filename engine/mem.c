/* mem — the engine's one allocation hook and the counting hooks the
 * harness plugs in (see mem.h). */
#include "engine/mem.h"

#include <stdlib.h>

void *mem_alloc(const struct mem_hooks *h, size_t size, size_t align)
{
    if (size == 0)
        return NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (h && h->alloc)
        return h->alloc(h->user, size, align);
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    return p;
}

void mem_free(const struct mem_hooks *h, void *p, size_t size)
{
    if (!p)
        return;
    if (h && h->free)
        h->free(h->user, p, size);
    else
        free(p);
}

static void *counting_alloc(void *user, size_t size, size_t align)
{
    struct mem_counter *c = user;
    void *p = mem_alloc(NULL, size, align);
    if (p) {
        c->n_alloc++;
        c->bytes_live += size;
        if (c->bytes_live > c->bytes_peak)
            c->bytes_peak = c->bytes_live;
    }
    return p;
}

static void counting_free(void *user, void *p, size_t size)
{
    struct mem_counter *c = user;
    if (!p)
        return;
    c->n_free++;
    c->bytes_live -= size;
    free(p);
}

struct mem_hooks mem_counting_hooks(struct mem_counter *c)
{
    struct mem_hooks h = { counting_alloc, counting_free, c };
    return h;
}
