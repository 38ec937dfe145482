/* infer_impl — what the inference context (infer_ctx.c: options, sizes,
 * allocation, lifetime, accessors) and the forward pass (infer.c) share:
 * the context itself. Private to engine/infer*.c: not installed (not in
 * PUBLIC_HEADERS). */
#ifndef GGPERF_ENGINE_INFER_IMPL_H
#define GGPERF_ENGINE_INFER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/infer.h"

struct infer {
    const struct model *m;
    struct infer_opts o;
    struct quant_kernels k;
    struct pool *pool;
    int n_ctx, n_batch, n_threads;
    int n_embd_kv;
    int pos;                       /* positions filled */

    /* KV cache: [n_layer][n_ctx][kv_row] elements of f16 or f32 */
    void *kv_k, *kv_v;
    size_t kv_row;                 /* elements per row incl. padding */
    size_t kv_elt;                 /* 2 or 4 */
    uint64_t kv_bytes_each;

    /* Scratch, all [n_batch][...] */
    float *x;                      /* [n_batch][n_embd] residual */
    float *xb;                     /* [n_batch][n_embd] normed input */
    float *q;                      /* [n_batch][n_embd] */
    float *kc, *vc;                /* [n_batch][n_embd_kv] */
    float *att;                    /* [n_batch][n_embd] attention output */
    float *gate, *up;              /* [n_batch][n_ff] */
    float *tmp;                    /* [n_batch][n_embd] matmul output before residual add */
    float *logits;                 /* [n_vocab] last position */
    float *rope_cs;                /* [n_batch][n_rot/2][2] cos, sin */
    uint8_t *qact[2];              /* quantized activations, two slots */
    size_t qact_bytes;
    float *scores;                 /* [n_threads][n_ctx_pad] attention scores */
    size_t scores_stride;
    float *dots;                   /* [n_threads][n_batch_pad] matmul dot results */
    size_t dots_stride;
    uint16_t *q16;                 /* [n_threads][head_dim] fp16 query */
    float *qf;                     /* [n_threads][head_dim] the same, widened (the SIMD attention's input) */
    float *f16_lut;                /* [65536] fp16 -> f32 */
    uint64_t scratch_bytes;

    /* Many sequences (infer_eval_batch): slot s's KV rows start at
     * kv_k/kv_v + s * kv_slot_bytes; slot 0 is the single-sequence cache
     * and its position is pos. One block of ints holds the other slots'
     * positions and a pass's per-token position, slot and output row. */
    int n_seq;
    uint64_t kv_slot_bytes;
    int *seq_pos;                  /* [n_seq]; [0] unused (pos) */
    int *tok_pos, *tok_seq, *tok_out; /* [n_batch] */
    size_t seq_block_bytes;
};

static inline size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

#endif
