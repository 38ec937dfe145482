/* region — markers for the engine's regions of work (load, prefill, decode
 * step, layer, matmul, attention), for the harness's counters.
 *
 * The engine calls region_begin/region_end around each region; when no one
 * listens (hooks NULL or callbacks NULL) a marker is one predictable branch.
 * Regions nest properly (end in reverse order of begin) and are reported on
 * the thread that drives the engine (the pool's caller), never on workers.
 *
 * Finer, per-thread markers (for a profiler): every thread of a forward
 * pass calls region_op when it starts an operation (enum region_op), when
 * it arrives at the barrier that ends one (REGION_OP_WAIT: the time until
 * its next marker is barrier wait, charged to the operation it finished)
 * and when it leaves the pass (REGION_OP_DONE). Each thread's markers come
 * in its own order, so a listener keeps per-thread state and needs no
 * locks. With op NULL a marker costs one branch.
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

/* Operations of one forward pass, in the order they run; layer -1 for the
 * ones outside the layers (embedding, output norm, output matmul). */
enum region_op {
    REGION_OP_EMBED = 0,   /* token embedding rows + the rotary table */
    REGION_OP_ATTN_NORM,   /* rmsnorm before attention */
    REGION_OP_QUANT,       /* quantizing a matmul input to the weights' activation format */
    REGION_OP_MM_Q, REGION_OP_MM_K, REGION_OP_MM_V,
    REGION_OP_ROPE,        /* rotary embedding of q and k, K/V cache store */
    REGION_OP_ATTN,        /* softmax(q K^T) V */
    REGION_OP_MM_O,
    REGION_OP_FFN_NORM,    /* residual add + rmsnorm before the FFN */
    REGION_OP_MM_GATE, REGION_OP_MM_UP,
    REGION_OP_SWIGLU,      /* silu(gate) * up */
    REGION_OP_MM_DOWN,
    REGION_OP_RESIDUAL,    /* residual add after the FFN */
    REGION_OP_OUT_NORM,
    REGION_OP_MM_OUTPUT,
    REGION_OP_COUNT,       /* operations above; markers below */
    REGION_OP_WAIT = REGION_OP_COUNT, /* arrived at a barrier */
    REGION_OP_DONE,        /* left the pass */
};

struct region_hooks {
    void (*begin)(void *user, enum region_kind kind, int index);
    void (*end)(void *user, enum region_kind kind, int index);
    void *user;
    /* Per-thread operation markers (see above); may be NULL. Called on
     * every thread ith of the pass with layer -1..n_layer-1. */
    void (*op)(void *user, int ith, enum region_op op, int layer);
};

static inline void region_op(const struct region_hooks *h, int ith, enum region_op op, int layer)
{
    if (h && h->op)
        h->op(h->user, ith, op, layer);
}

/* "embed", "attn_norm", "quant", "mm_q", ..., "mm_output", "wait", "done". */
static inline const char *region_op_name(enum region_op op)
{
    static const char *const names[REGION_OP_DONE + 1] = {
        "embed", "attn_norm", "quant", "mm_q", "mm_k", "mm_v", "rope", "attn", "mm_o", "ffn_norm",
        "mm_gate", "mm_up", "swiglu", "mm_down", "residual", "out_norm", "mm_output", "wait", "done",
    };
    return (unsigned)op <= REGION_OP_DONE ? names[op] : "unknown";
}

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
