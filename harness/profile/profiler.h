/* profiler — where the time of one forward step goes: runs decode steps
 * (or prefill passes) with the engine's per-thread operation markers
 * (engine/region.h) hooked, and turns them into a struct profile
 * (results/profile.h): per operation and layer, thread 0's time, each
 * thread's busy and barrier-wait time, and the bytes and FLOPs the
 * operation moves and does, counted from the model's shapes.
 *
 * Marker cost: each marker reads CLOCK_MONOTONIC and adds to a per-thread
 * table. Its cost is measured (profiler_marker_cost: the hook called in a
 * loop) and subtracted from every span it bounds; the same steps are also
 * timed with no hooks at all (before and after the marked steps, the
 * faster of the two kept), so the profile states both the subtracted
 * estimate and the measured difference.
 *
 * Byte and FLOP model (per pass of n tokens starting at position pos0;
 * E = n_embd, Ekv = n_embd_kv, F = n_ff, hd = head_dim, R = n_rot):
 *   matmul W[ne1][ne0]: weights ne1 * row_bytes; act n * (input row in the
 *       activation format) + n * ne1 * 4 (output); flops 2 * n * ne0 * ne1
 *       (a multiply-add of an int8 dot counts as two, like an FMA)
 *   quant (one per input that needs a new activation format): act
 *       n * K * 4 read + n * row_size(format, K) written; flops 3 n K
 *   attn_norm / out_norm: act 3 * rows * E * 4 + E * 4 (the norm weights);
 *       flops 4 * rows * E
 *   ffn_norm (residual add + norm): act 5 * n * E * 4 + E * 4; flops 5 n E
 *   residual: act 3 * n * E * 4; flops n E
 *   swiglu: act 3 * n * F * 4; flops 5 n F (exp counted as one)
 *   rope: act 2 * n * (E + Ekv) * 4 + n * Ekv * 4 (v read); kv written
 *       2 * n * Ekv * kv_elt; flops 3 * n * (n_head + n_head_kv) * R
 *   attn: kv read sum_t (pos0 + t + 1) * 2 * Ekv * kv_elt (each KV head's
 *       rows once per token); act 2 * n * E * 4; flops
 *       n_head * sum_t (pos0 + t + 1) * (4 hd + 3)
 *   embed: weights n * row_bytes of token_embd; act n * E * 4; flops 0
 * (rows = 1 for the output norm and matmul when only the last logits are
 * kept, as here.)
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_HARNESS_PROFILER_H
#define GGPERF_HARNESS_PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/infer.h"
#include "engine/model.h"
#include "engine/region.h"
#include "results/profile.h"

enum profiler_status {
    PROFILER_OK = 0,
    PROFILER_EINVAL = -1,
    PROFILER_ENOMEM = -2,
    PROFILER_EENGINE = -3,   /* the engine refused a pass (message from infer_eval) */
};

enum profiler_mode { PROFILER_DECODE = 0, PROFILER_PREFILL };

struct profiler_opts {
    enum profiler_mode mode;
    int steps;          /* decode: tokens decoded; prefill: passes (each from an empty cache) */
    int prompt;         /* prefill: tokens per pass; decode: context filled before the steps (pos0) */
    int warmup;         /* unrecorded steps first */
    bool unmarked;      /* also time the steps with no hooks (the measured overhead) */
    int kv_elt;         /* bytes per KV cache element (2 = f16, 4 = f32) */
    /* Progress after each recorded step (may be NULL). */
    void (*progress)(void *user, int done, int total);
    void *progress_user;
};

void profiler_opts_default(struct profiler_opts *o);

/* Run the steps on ctx, which must have been created with
 * infer_opts.regions == hooks (the profiler fills and clears *hooks; the
 * caller's hooks are restored on return). Fills the timing, bytes and
 * FLOPs of *out (a new profile with its op rows; the caller sets the model
 * description, ceilings and notes). Returns 0 or a profiler_status with err. */
int profiler_run(struct infer *ctx, struct region_hooks *hooks, const struct model *m,
                 const struct profiler_opts *o, struct profile **out, char *err, size_t err_len);

/* Nanoseconds one operation marker costs (best of a few batches of calls
 * to the hook on a scratch table); *null_ns the cost of a begin/end
 * marker the profiler ignores. */
double profiler_marker_cost(double *null_ns);

/* Bytes and FLOPs of op at layer for a pass of n tokens from pos0, by the
 * model above. */
struct profiler_cost {
    double bytes_weights, bytes_act, bytes_kv, flops;
};
void profiler_op_cost(const struct model *m, int kv_elt, enum region_op op, int layer, int n, int pos0,
                      struct profiler_cost *c);

/* Hooks for a run under callgrind (ggperf profile --sim): collect only
 * while thread 0 is inside an operation named op (all layers, barrier
 * waits excluded). The state must outlive the run. */
struct profiler_sim {
    int op;             /* enum region_op */
    bool on;
};
int profiler_sim_parse(struct profiler_sim *st, const char *op_name, char *err, size_t err_len);
struct region_hooks profiler_sim_hooks(struct profiler_sim *st);

#endif
