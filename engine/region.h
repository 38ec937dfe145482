/* region — markers for the engine's regions of work (load, prefill, decode
 * step, layer, matmul, attention), for the harness's counters.
 *
 * The engine calls region_begin/region_end around each region; when no one
 * listens (hooks NULL or callbacks NULL) a marker is one predictable branch.
 * Regions nest properly (end in reverse order of begin) and are reported on
 * the thread that drives the engine (the pool's caller), never on workers.
 */
#ifndef GGPERF_ENGINE_REGION_H
#define GGPERF_ENGINE_REGION_H

enum region_kind {
    REGION_LOAD = 0,
    REGION_PREFILL,
    REGION_DECODE,   /* one decode step (one token) */
    REGION_LAYER,    /* index = layer number */
    REGION_MATMUL,   /* index = matmul id within the layer (enum in infer.h) */
    REGION_ATTN,     /* attention of one layer, index = layer */
    REGION_KIND_COUNT
};

struct region_hooks {
    void (*begin)(void *user, enum region_kind kind, int index);
    void (*end)(void *user, enum region_kind kind, int index);
    void *user;
};

static inline void region_begin(const struct region_hooks *h, enum region_kind kind, int index)
{
    if (h && h->begin)
        h->begin(h->user, kind, index);
}

static inline void region_end(const struct region_hooks *h, enum region_kind kind, int index)
{
    if (h && h->end)
        h->end(h->user, kind, index);
}

/* "load", "prefill", "decode", "layer", "matmul", "attn". */
static inline const char *region_kind_name(enum region_kind kind)
{
    static const char *const names[REGION_KIND_COUNT] = {
        "load", "prefill", "decode", "layer", "matmul", "attn",
    };
    return (unsigned)kind < REGION_KIND_COUNT ? names[kind] : "unknown";
}

#endif
