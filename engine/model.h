/* model — a llama-family model bound to its weights.
 *
 * model_load() reads the hyper-parameters from the GGUF metadata, finds
 * every tensor the forward pass needs and checks it against them (present,
 * shape, type supported by the engine), before any work is done. Weights
 * stay where they live (a mapping or a heap copy the caller made) unless
 * asked to copy them into an engine-owned buffer with a chosen alignment,
 * the layout knob the contention studies sweep.
 */
#ifndef GGPERF_ENGINE_MODEL_H
#define GGPERF_ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/gguf.h"
#include "engine/mem.h"

enum model_err {
    MODEL_OK = 0,
    MODEL_EARCH = -1,        /* not a llama-family architecture */
    MODEL_EHPARAMS = -2,     /* missing or inconsistent hyper-parameters */
    MODEL_ETENSOR = -3,      /* missing tensor or wrong shape */
    MODEL_EUNSUPPORTED = -4, /* tensor type the engine cannot compute with */
    MODEL_ENOMEM = -5,
};

struct model_hparams {
    int n_embd;       /* model width */
    int n_ff;         /* feed-forward width */
    int n_layer;
    int n_head;
    int n_head_kv;    /* < n_head: grouped-query attention */
    int head_dim;     /* n_embd / n_head */
    int n_rot;        /* rotary dimensions (rope.dimension_count, default head_dim) */
    int n_vocab;
    int n_ctx_train;
    float rope_base;  /* rope.freq_base, default 10000 */
    float rms_eps;    /* attention.layer_norm_rms_epsilon, default 1e-5 */
};

/* A weight matrix: ne1 rows of ne0 values each, of one GGUF type. */
struct model_weight {
    const void *data;     /* borrowed (mapping) or inside model.owned */
    int type;             /* enum qtype */
    int64_t ne0, ne1;     /* row length, rows */
    size_t row_bytes;
    char name[64];        /* tensor name, for messages and profiles */
};

struct model_layer {
    const float *attn_norm;          /* [n_embd] */
    struct model_weight wq;          /* [n_embd] x n_embd rows */
    struct model_weight wk, wv;      /* [n_embd] x n_embd_kv rows */
    struct model_weight wo;          /* [n_embd] x n_embd rows */
    const float *ffn_norm;           /* [n_embd] */
    struct model_weight w_gate, w_up;/* [n_embd] x n_ff rows */
    struct model_weight w_down;      /* [n_ff] x n_embd rows */
};

enum model_weights_mode {
    MODEL_WEIGHTS_BORROW = 0,  /* use the bytes where they are (default) */
    MODEL_WEIGHTS_COPY = 1,    /* copy into one engine-owned buffer */
};

struct model_opts {
    enum model_weights_mode weights;
    size_t copy_align;         /* COPY: alignment of each tensor (default 64) */
    size_t copy_offset;        /* COPY: extra byte offset added to each tensor (0 = aligned) */
    const struct mem_hooks *mem;
};

struct model {
    struct model_hparams hp;
    struct model_weight token_embd;  /* [n_embd] x n_vocab rows */
    const float *output_norm;        /* [n_embd] */
    struct model_weight output;      /* [n_embd] x n_vocab rows; == token_embd when tied */
    int tied;                        /* 1 when output.weight is absent */
    struct model_layer *layers;      /* [n_layer], owned */
    uint64_t weight_bytes;           /* bytes of all weights the forward pass reads */
    void *owned;                     /* COPY mode buffer, owned */
    size_t owned_bytes;
    const struct mem_hooks *mem;
};

/* Bind a model to the tensors of an opened GGUF file. g and the bytes
 * behind it must outlive the model unless opts->weights is COPY (then only
 * the duration of the call). opts may be NULL for defaults. Returns
 * MODEL_OK or a negative model_err with a message naming the key or the
 * tensor, the shape or type expected and the one found. */
int model_load(struct model *m, const struct gguf *g, const struct model_opts *opts,
               char *err, size_t err_len);

/* Release what model_load allocated; NULL does nothing. */
void model_free(struct model *m);

#endif
