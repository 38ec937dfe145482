/* infer — the llama forward pass: an inference context over a bound model.
 *
 * A context owns everything a forward pass touches besides the weights: the
 * KV cache, all scratch buffers, the thread pool and the kernel table. All
 * of it is allocated in infer_new(); infer_eval() allocates nothing.
 *
 * One infer_eval() is one pool dispatch: every op of every layer runs on
 * all threads, separated by pool barriers, the way fast CPU engines avoid
 * waking threads per op.
 */
#ifndef GGPERF_ENGINE_INFER_H
#define GGPERF_ENGINE_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/mem.h"
#include "engine/model.h"
#include "engine/pool.h"
#include "engine/quant.h"
#include "engine/region.h"

enum infer_err {
    INFER_OK = 0,
    INFER_EARG = -1,     /* bad option or token id */
    INFER_EFULL = -2,    /* the KV cache has no room for the tokens */
    INFER_ENOMEM = -3,
    INFER_EPOOL = -4,    /* thread pool could not start (pinning, threads) */
};

enum infer_kv_type { INFER_KV_F16 = 0, INFER_KV_F32 = 1 };

/* Most KV slots (sequences) one context holds. */
#define INFER_MAX_SEQ 1024

/* Matmul ids, the index of REGION_MATMUL markers. */
enum infer_matmul { MM_Q, MM_K, MM_V, MM_O, MM_GATE, MM_UP, MM_DOWN, MM_OUTPUT, MM_COUNT };

struct infer_opts {
    int n_ctx;                  /* KV cache positions; 0 = min(train context, 4096) */
    int n_batch;                /* most tokens per pass; 0 = 64 */
    int n_threads;              /* 0 = online CPUs */
    enum pool_wait wait;        /* barrier / wait policy (default hybrid) */
    uint64_t spin_ns;           /* hybrid spin budget, 0 = pool default */
    const int *cpus;            /* pin thread i to cpus[i % n_cpus]; NULL = no pinning */
    int n_cpus;
    enum quant_isa max_isa;     /* QISA_REF forces the reference kernels */
    enum infer_kv_type kv_type; /* F16 like llama.cpp's default, or F32 */
    int kv_pad;                 /* extra elements per KV row (layout knob) */
    bool false_sharing;         /* interleave matmul rows across threads so their outputs share lines */
    bool small_pages;           /* the weights sit mostly in 4 KiB pages (a file mapping): decode takes
                                 * the kernels made for them (quant_kernels.gemm_4k) where a type has one */
    int n_seq;                  /* KV cache slots, one sequence each (infer_eval_batch); 0 = 1 */
    size_t act_chunk_bytes;     /* activation bytes a dot-kernel matmul passes over per sweep of its
                                 * weight rows (rounded to 8 rows); 0 = 128 KiB. Tests set it small
                                 * to split a golden prompt into several chunks */
    const struct mem_hooks *mem;
    const struct region_hooks *regions;
};

struct infer;

/* Fill o with the defaults (the fast choices). */
void infer_opts_default(struct infer_opts *o);

/* Matmul rows are handed out in groups of INFER_ROW_GRAIN: 16 floats, one
 * cache line of output, so blocked threads never share a line of an
 * aligned result. */
#define INFER_ROW_GRAIN 16

/* The output rows of an n_rows matmul that thread ith of nth computes: r =
 * *begin, *begin + *step, ... while r < *end. Blocked (interleaved false):
 * a contiguous part from pool_split in INFER_ROW_GRAIN groups, step 1.
 * Interleaved (the false_sharing option): rows ith, ith + nth, ..., so
 * neighbouring outputs come from different threads. This is the split every
 * matmul uses, exposed so studies can count which output lines threads
 * share. ith outside [0, nth) or n_rows <= 0 gives no rows (*begin == *end). */
void infer_matmul_rows(int64_t n_rows, int ith, int nth, bool interleaved, int64_t *begin, int64_t *end,
                       int64_t *step);

/* Bytes the KV cache of a context with these options takes. */
uint64_t infer_kv_bytes(const struct model_hparams *hp, int n_ctx, enum infer_kv_type kv, int kv_pad);

/* Bytes of scratch (everything but KV cache and weights) a context takes. */
uint64_t infer_scratch_bytes(const struct model_hparams *hp, const struct infer_opts *o);

/* Create a context for model m (which must outlive it). Returns INFER_OK
 * and *out, or a negative infer_err with a message. */
int infer_new(struct infer **out, const struct model *m, const struct infer_opts *o, char *err,
              size_t err_len);

/* Free the context and join its threads; NULL does nothing. */
void infer_free(struct infer *c);

/* Evaluate n tokens at the next positions (appending to the KV cache).
 * logits_all: [n][n_vocab] receives every position's logits, or NULL to
 * keep only the last position's (infer_logits). Tokens must be < n_vocab.
 * More than n_batch tokens are evaluated in chunks of n_batch. */
int infer_eval(struct infer *c, const int32_t *tokens, int n, float *logits_all, char *err, size_t err_len);

/* The logits of the last evaluated position, [n_vocab]; valid until the next eval. */
const float *infer_logits(const struct infer *c);

/* Positions filled so far; capacity. */
int infer_pos(const struct infer *c);
int infer_n_ctx(const struct infer *c);

/* Forget the KV cache (start a new sequence). */
void infer_reset(struct infer *c);

/* Say whether the weights sit mostly in 4 KiB pages (infer_opts.small_pages)
 * now: a mapping's page size is known only once its pages are touched, so
 * front ends measure it after a warm-up pass. Not during a pass. */
void infer_set_small_pages(struct infer *c, bool on);

/* The kernel table in use, and the pool (for worker tids). */
const struct quant_kernels *infer_kernels(const struct infer *c);
struct pool *infer_pool(const struct infer *c);

/* ---- Many sequences at once ----------------------------------------------
 * A context made with n_seq > 1 holds n_seq independent KV caches (slots) of
 * n_ctx positions each. infer_eval and friends use slot 0; infer_eval_batch
 * evaluates tokens of several slots in one forward pass: the matmuls are
 * shared by all tokens, RoPE and attention use each token's own slot and
 * position. Each token's logits equal those of the same sequence evaluated
 * alone up to the matmul kernel's own batch/decode difference (the golden
 * tolerance); with the reference kernels they are bit-identical. */

/* KV slots of the context; most tokens per pass. */
int infer_n_seq(const struct infer *c);
int infer_n_batch(const struct infer *c);

/* Positions filled in slot seq (0 <= seq < n_seq). */
int infer_seq_pos(const struct infer *c, int seq);

/* Forget slot seq's cache (a new sequence starts there). */
void infer_seq_reset(struct infer *c, int seq);

/* Evaluate n tokens (n <= the context's n_batch) of several sequences in one
 * pass: token i belongs to slot seq[i] and goes at that slot's next
 * position; the tokens of one slot are in order (they need not be
 * adjacent). want[i] != 0 asks for token i's logits: they go to
 * logits[k][n_vocab], k counting the wanted tokens in order (want NULL: every
 * token). Nothing is evaluated on an error (bad token or slot, a slot whose
 * cache would overflow, n out of range). Allocates nothing. */
int infer_eval_batch(struct infer *c, const int32_t *tokens, const int *seq, const uint8_t *want, int n,
                     float *logits, char *err, size_t err_len);

/* Bytes of weights one decode step reads (every matrix once + one embedding row). */
uint64_t infer_decode_bytes(const struct infer *c);

#endif
