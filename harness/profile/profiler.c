/* profiler — per-operation timing of forward steps through the engine's
 * per-thread markers, and the byte/FLOP model of each op (profiler.h). */
#include "harness/profile/profiler.h"
#include "base/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "harness/counters/ctr.h"
#include "harness/machine/clock.h"

#define N_SLOT_OPS (REGION_OP_COUNT + 1)   /* the ops + "dispatch" */
#define OP_DISPATCH REGION_OP_COUNT

void profiler_opts_default(struct profiler_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mode = PROFILER_DECODE;
    o->steps = 16;
    o->warmup = 2;
    o->unmarked = true;
    o->kv_elt = 2;
}

/* ---- byte and FLOP model ---------------------------------------------------- */

/* Bytes of n values in the activation format the weight's dot product reads. */
static double act_row_bytes(int wtype, int64_t n)
{
    const struct quant_traits *tr = quant_traits_get(wtype);
    int vdt = tr ? (int)tr->vec_dot_type : QT_F32;
    return vdt == QT_F32 ? (double)n * 4 : (double)quant_row_size(vdt, n);
}

static void mm_cost(const struct model_weight *w, int n, struct profiler_cost *c)
{
    c->bytes_weights += (double)w->ne1 * (double)w->row_bytes;
    c->bytes_act += n * act_row_bytes(w->type, w->ne0) + (double)n * (double)w->ne1 * 4;
    c->flops += 2.0 * n * (double)w->ne0 * (double)w->ne1;
}

/* The quantizations one group of matmuls sharing an input makes: one per
 * distinct activation format other than F32 (the engine's two-slot reuse
 * gives exactly that for groups of up to three). */
static void quant_group(const struct model_weight *const *ws, int nw, int n, struct profiler_cost *c)
{
    int seen[3], ns = 0;
    for (int i = 0; i < nw; i++) {
        const struct quant_traits *tr = quant_traits_get(ws[i]->type);
        int vdt = tr ? (int)tr->vec_dot_type : QT_F32;
        if (vdt == QT_F32)
            continue;
        int j;
        for (j = 0; j < ns && seen[j] != vdt; j++)
            ;
        if (j < ns)
            continue;
        seen[ns++] = vdt;
        int64_t k = ws[i]->ne0;
        c->bytes_act += (double)n * (double)k * 4 + (double)n * (double)quant_row_size(vdt, k);
        c->flops += 3.0 * n * (double)k;
    }
}

void profiler_op_cost(const struct model *m, int kv_elt, enum region_op op, int layer, int n, int pos0,
                      struct profiler_cost *c)
{
    const struct model_hparams *hp = &m->hp;
    const double E = hp->n_embd, F = hp->n_ff, Ekv = (double)hp->head_dim * hp->n_head_kv;
    const struct model_layer *L = layer >= 0 && layer < hp->n_layer ? &m->layers[layer] : NULL;
    memset(c, 0, sizeof *c);
    /* Sum over the pass's tokens of the KV positions each attends to. */
    double kv_pos = 0;
    for (int t = 0; t < n; t++)
        kv_pos += pos0 + t + 1;
    switch (op) {
    case REGION_OP_EMBED:
        c->bytes_weights = (double)n * (double)m->token_embd.row_bytes;
        c->bytes_act = n * E * 4;
        break;
    case REGION_OP_ATTN_NORM:
        c->bytes_act = 3 * n * E * 4 + E * 4;
        c->flops = 4 * n * E;
        break;
    case REGION_OP_OUT_NORM:
        c->bytes_act = 3 * 1 * E * 4 + E * 4;
        c->flops = 4 * 1 * E;
        break;
    case REGION_OP_QUANT:
        if (L) {
            const struct model_weight *qkv[3] = { &L->wq, &L->wk, &L->wv }, *o[1] = { &L->wo },
                                      *gu[2] = { &L->w_gate, &L->w_up }, *d[1] = { &L->w_down };
            quant_group(qkv, 3, n, c);
            quant_group(o, 1, n, c);
            quant_group(gu, 2, n, c);
            quant_group(d, 1, n, c);
        } else {
            const struct model_weight *out[1] = { &m->output };
            quant_group(out, 1, 1, c);
        }
        break;
    case REGION_OP_MM_Q: if (L) mm_cost(&L->wq, n, c); break;
    case REGION_OP_MM_K: if (L) mm_cost(&L->wk, n, c); break;
    case REGION_OP_MM_V: if (L) mm_cost(&L->wv, n, c); break;
    case REGION_OP_MM_O: if (L) mm_cost(&L->wo, n, c); break;
    case REGION_OP_MM_GATE: if (L) mm_cost(&L->w_gate, n, c); break;
    case REGION_OP_MM_UP: if (L) mm_cost(&L->w_up, n, c); break;
    case REGION_OP_MM_DOWN: if (L) mm_cost(&L->w_down, n, c); break;
    case REGION_OP_MM_OUTPUT: mm_cost(&m->output, 1, c); break;
    case REGION_OP_ROPE:
        c->bytes_act = 2 * n * (E + Ekv) * 4 + n * Ekv * 4;
        c->bytes_kv = 2 * n * Ekv * kv_elt;
        c->flops = 3.0 * n * (hp->n_head + hp->n_head_kv) * hp->n_rot;
        break;
    case REGION_OP_ATTN:
        c->bytes_kv = kv_pos * 2 * Ekv * kv_elt;
        c->bytes_act = 2 * n * E * 4;
        c->flops = (double)hp->n_head * kv_pos * (4.0 * hp->head_dim + 3);
        break;
    case REGION_OP_FFN_NORM:
        c->bytes_act = 5 * n * E * 4 + E * 4;
        c->flops = 5 * n * E;
        break;
    case REGION_OP_RESIDUAL:
        c->bytes_act = 3 * n * E * 4;
        c->flops = n * E;
        break;
    case REGION_OP_SWIGLU:
        c->bytes_act = 3 * n * F * 4;
        c->flops = 5 * n * F;
        break;
    default:
        break;
    }
}

/* ---- the markers ---------------------------------------------------------- */

struct slot {
    uint64_t busy_ns, wait_ns;
    uint32_t busy_spans, wait_spans;
    uint32_t calls, ignored;     /* ignored: begin/end markers inside (thread 0) */
};

struct thread_state {
    int op, layer;               /* current span; op < 0: none */
    int waiting;
    uint64_t last_ns;
    struct slot *slots;          /* [(n_layer + 1) * N_SLOT_OPS] */
    char pad[64];                /* keep neighbours' hot words off this line */
} __attribute__((aligned(64)));

struct prof_state {
    int n_threads, n_layer;
    struct thread_state *th;
    int in_step;                 /* thread 0 inside a decode/prefill region */
};

static inline struct slot *slot_of(struct prof_state *s, struct thread_state *t, int op, int layer)
{
    (void)s;
    return &t->slots[(size_t)(layer + 1) * N_SLOT_OPS + (size_t)op];
}

/* Close thread t's current span at now. */
static inline void close_span(struct prof_state *s, struct thread_state *t, uint64_t now)
{
    if (t->op < 0)
        return;
    struct slot *sl = slot_of(s, t, t->op, t->layer);
    if (t->waiting) {
        sl->wait_ns += now - t->last_ns;
        sl->wait_spans++;
    } else {
        sl->busy_ns += now - t->last_ns;
        sl->busy_spans++;
    }
}

static void on_op(void *user, int ith, enum region_op op, int layer)
{
    struct prof_state *s = user;
    if (ith < 0 || ith >= s->n_threads)
        return;
    struct thread_state *t = &s->th[ith];
    uint64_t now = clock_ns();
    close_span(s, t, now);
    if (op == REGION_OP_WAIT) {
        t->waiting = 1;
    } else if (op == REGION_OP_DONE) {
        /* Thread 0 goes on to join the workers: dispatch time until the
         * step's end marker. Workers park: not counted. */
        t->waiting = 0;
        if (ith == 0 && s->in_step) {
            t->op = OP_DISPATCH;
            t->layer = -1;
        } else {
            t->op = -1;
        }
    } else if ((unsigned)op < REGION_OP_COUNT && layer >= -1 && layer < s->n_layer) {
        t->op = (int)op;
        t->layer = layer;
        t->waiting = 0;
        slot_of(s, t, t->op, t->layer)->calls++;
    } else {
        t->op = -1;
    }
    t->last_ns = now;
}

static void on_begin(void *user, enum region_kind kind, int index)
{
    struct prof_state *s = user;
    struct thread_state *t = &s->th[0];
    if (kind != REGION_DECODE && kind != REGION_PREFILL) {
        if (t->op >= 0)
            slot_of(s, t, t->op, t->layer)->ignored++;
        return;
    }
    s->in_step = 1;
    t->op = OP_DISPATCH;
    t->layer = -1;
    t->waiting = 0;
    slot_of(s, t, OP_DISPATCH, -1)->calls++;
    t->last_ns = clock_ns();
}

static void on_end(void *user, enum region_kind kind, int index)
{
    struct prof_state *s = user;
    struct thread_state *t = &s->th[0];
    if (kind != REGION_DECODE && kind != REGION_PREFILL) {
        if (t->op >= 0)
            slot_of(s, t, t->op, t->layer)->ignored++;
        return;
    }
    close_span(s, t, clock_ns());
    t->op = -1;
    s->in_step = 0;
}

static void state_free(struct prof_state *s)
{
    if (!s)
        return;
    if (s->th)
        for (int i = 0; i < s->n_threads; i++)
            free(s->th[i].slots);
    free(s->th);
    free(s);
}

static struct prof_state *state_new(int n_threads, int n_layer)
{
    struct prof_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n_threads = n_threads;
    s->n_layer = n_layer;
    s->th = aligned_alloc(64, sizeof *s->th * (size_t)n_threads);
    if (!s->th) {
        free(s);
        return NULL;
    }
    memset(s->th, 0, sizeof *s->th * (size_t)n_threads);
    for (int i = 0; i < n_threads; i++) {
        s->th[i].op = -1;
        s->th[i].slots = calloc((size_t)(n_layer + 1) * N_SLOT_OPS, sizeof(struct slot));
        if (!s->th[i].slots) {
            state_free(s);
            return NULL;
        }
    }
    return s;
}

static void state_reset(struct prof_state *s)
{
    for (int i = 0; i < s->n_threads; i++) {
        memset(s->th[i].slots, 0, (size_t)(s->n_layer + 1) * N_SLOT_OPS * sizeof(struct slot));
        s->th[i].op = -1;
        s->th[i].waiting = 0;
    }
    s->in_step = 0;
}

double profiler_marker_cost(double *null_ns)
{
    struct prof_state *s = state_new(1, 2);
    if (!s) {
        if (null_ns)
            *null_ns = NAN;
        return NAN;
    }
    /* The same calls as in a step: op starts and waits alternating. */
    double best = INFINITY, best_null = INFINITY;
    const int batch = 20000;
    for (int round = 0; round < 7; round++) {
        uint64_t t0 = clock_ns();
        for (int i = 0; i < batch; i++)
            on_op(s, 0, (i & 1) ? REGION_OP_WAIT : (enum region_op)(i % REGION_OP_COUNT), i & 1);
        uint64_t t1 = clock_ns();
        for (int i = 0; i < batch; i++)
            on_begin(s, REGION_MATMUL, i);
        uint64_t t2 = clock_ns();
        double c = (double)(t1 - t0) / batch, cn = (double)(t2 - t1) / batch;
        if (c < best)
            best = c;
        if (cn < best_null)
            best_null = cn;
    }
    state_free(s);
    if (null_ns)
        *null_ns = best_null;
    return best;
}

/* ---- running ---------------------------------------------------------------- */

/* Run steps (after filling the context in decode mode); with arm, the
 * hooks are set to it and st reset after the fill, so only the steps are
 * recorded. */
static int run_steps(struct infer *ctx, const struct profiler_opts *o, int n_vocab, int steps, double *step_ns,
                     const struct model *m, struct profiler_cost *acc, int n_layer, struct region_hooks *hooks,
                     const struct region_hooks *arm, struct prof_state *st, char *err, size_t err_len)
{
    bool record = arm != NULL;
    int32_t toks[4096];
    int prompt = o->prompt;
    if (prompt > (int)(sizeof toks / sizeof toks[0]))
        prompt = (int)(sizeof toks / sizeof toks[0]);
    for (int i = 0; i < prompt; i++)
        toks[i] = (int32_t)((i * 7919 + 13) % n_vocab);
    if (o->mode == PROFILER_DECODE) {
        infer_reset(ctx);
        if (prompt > 0 && infer_eval(ctx, toks, prompt, NULL, err, err_len) != INFER_OK)
            return PROFILER_EENGINE;
    }
    if (arm) {
        *hooks = *arm;
        state_reset(st);
    }
    *step_ns = 0;
    for (int s = 0; s < steps; s++) {
        int n, pos0;
        uint64_t t0, t1;
        if (o->mode == PROFILER_DECODE) {
            int32_t tok = (int32_t)((s * 104729 + 1) % n_vocab);
            pos0 = infer_pos(ctx);
            n = 1;
            t0 = clock_ns();
            int rc = infer_eval(ctx, &tok, 1, NULL, err, err_len);
            t1 = clock_ns();
            if (rc != INFER_OK)
                return PROFILER_EENGINE;
        } else {
            infer_reset(ctx);
            pos0 = 0;
            n = prompt;
            t0 = clock_ns();
            int rc = infer_eval(ctx, toks, prompt, NULL, err, err_len);
            t1 = clock_ns();
            if (rc != INFER_OK)
                return PROFILER_EENGINE;
        }
        *step_ns += (double)(t1 - t0);
        if (acc)
            for (int l = -1; l < n_layer; l++)
                for (int op = 0; op < REGION_OP_COUNT; op++) {
                    struct profiler_cost c;
                    profiler_op_cost(m, o->kv_elt, (enum region_op)op, l, n, pos0, &c);
                    struct profiler_cost *a = &acc[(size_t)(l + 1) * N_SLOT_OPS + (size_t)op];
                    a->bytes_weights += c.bytes_weights;
                    a->bytes_act += c.bytes_act;
                    a->bytes_kv += c.bytes_kv;
                    a->flops += c.flops;
                }
        if (record && o->progress)
            o->progress(o->progress_user, s + 1, steps);
    }
    return PROFILER_OK;
}

int profiler_run(struct infer *ctx, struct region_hooks *hooks, const struct model *m,
                 const struct profiler_opts *o, struct profile **out, char *err, size_t err_len)
{
    *out = NULL;
    const struct model_hparams *hp = &m->hp;
    if (!ctx || !hooks || !o || o->steps < 1 || o->warmup < 0 || o->prompt < 0 || (o->kv_elt != 2 && o->kv_elt != 4))
        return err_fail(err, err_len, PROFILER_EINVAL, "profiler: bad options (steps %d, warmup %d, prompt %d)",
                    o ? o->steps : 0, o ? o->warmup : 0, o ? o->prompt : 0);
    if (o->mode == PROFILER_PREFILL && o->prompt < 1)
        return err_fail(err, err_len, PROFILER_EINVAL, "profiler: prefill needs at least one prompt token");
    if (o->mode == PROFILER_PREFILL && o->prompt > 4096)
        return err_fail(err, err_len, PROFILER_EINVAL, "profiler: prompt of %d tokens (at most 4096)", o->prompt);
    int need = o->mode == PROFILER_DECODE ? o->prompt + o->steps + 1 : o->prompt;
    if (need > infer_n_ctx(ctx))
        return err_fail(err, err_len, PROFILER_EINVAL,
                    "profiler: %d positions needed but the context has %d (raise --ctx or lower -n/--pos)", need,
                    infer_n_ctx(ctx));
    int nt = pool_threads(infer_pool(ctx));
    struct region_hooks saved = *hooks;
    struct prof_state *st = state_new(nt, hp->n_layer);
    size_t n_slots = (size_t)(hp->n_layer + 1) * N_SLOT_OPS;
    struct profiler_cost *acc = calloc(n_slots, sizeof *acc);
    struct profile *p = profile_new(nt);
    int rc = PROFILER_OK;
    if (!st || !acc || !p) {
        rc = err_fail(err, err_len, PROFILER_ENOMEM, "profiler: out of memory");
        goto out;
    }
    double null_ns;
    double marker_ns = profiler_marker_cost(&null_ns);

    /* Warm-up and the unmarked timing, with no hooks at all. */
    memset(hooks, 0, sizeof *hooks);
    double ns;
    if (o->warmup > 0 && (rc = run_steps(ctx, o, hp->n_vocab, o->warmup, &ns, m, NULL, hp->n_layer, hooks, NULL,
                                         st, err, err_len)) != 0)
        goto out;
    double unmarked = -1;
    if (o->unmarked) {
        if ((rc = run_steps(ctx, o, hp->n_vocab, o->steps, &ns, m, NULL, hp->n_layer, hooks, NULL, st, err,
                            err_len)) != 0)
            goto out;
        unmarked = ns / o->steps;
    }
    /* The recorded steps. */
    struct region_hooks arm = { .begin = on_begin, .end = on_end, .user = st, .op = on_op };
    double raw;
    rc = run_steps(ctx, o, hp->n_vocab, o->steps, &raw, m, acc, hp->n_layer, hooks, &arm, st, err, err_len);
    memset(hooks, 0, sizeof *hooks);
    if (rc)
        goto out;
    /* Unmarked once more after the marked steps, keeping the faster mean:
     * a shared machine's noise then inflates neither side alone. */
    if (o->unmarked) {
        if ((rc = run_steps(ctx, o, hp->n_vocab, o->steps, &ns, m, NULL, hp->n_layer, hooks, NULL, st, err,
                            err_len)) != 0)
            goto out;
        if (ns / o->steps < unmarked)
            unmarked = ns / o->steps;
    }
    *hooks = saved;

    const double steps = o->steps;
    p->n_layer = hp->n_layer;
    snprintf(p->mode, sizeof p->mode, "%s", o->mode == PROFILER_DECODE ? "decode" : "prefill");
    p->n_steps = o->steps;
    p->tokens_per_step = o->mode == PROFILER_DECODE ? 1 : o->prompt;
    p->pos0 = o->mode == PROFILER_DECODE ? o->prompt : 0;
    snprintf(p->isa, sizeof p->isa, "%s", quant_isa_name(infer_kernels(ctx)->isa));
    snprintf(p->kv, sizeof p->kv, "%s", o->kv_elt == 2 ? "f16" : "f32");
    p->marker_ns = marker_ns;
    p->step_raw_ns = raw / steps;
    p->step_unmarked_ns = unmarked;
    double overhead = 0;
    /* Rows in execution order: embed, then each layer's ops, then the
     * output ops and dispatch. */
    for (int pass = 0; pass < 3; pass++) {
        int l_lo = pass == 1 ? 0 : -1, l_hi = pass == 1 ? hp->n_layer : 0;
        for (int l = l_lo; l < l_hi; l++)
            for (int op = 0; op < N_SLOT_OPS; op++) {
                bool outer = op == REGION_OP_EMBED;
                if (l < 0 && ((pass == 0) != outer))
                    continue;
                size_t k = (size_t)(l + 1) * N_SLOT_OPS + (size_t)op;
                const struct slot *s0 = &st->th[0].slots[k];
                bool any = false;
                for (int t = 0; t < nt; t++)
                    any |= st->th[t].slots[k].busy_spans + st->th[t].slots[k].wait_spans > 0;
                if (!any)
                    continue;
                struct profile_op *po = profile_add_op(p, op == OP_DISPATCH ? "dispatch"
                                                                             : region_op_name((enum region_op)op), l);
                if (!po) {
                    rc = err_fail(err, err_len, PROFILER_ENOMEM, "profiler: out of memory");
                    goto out;
                }
                po->calls = s0->calls / steps;
                double ov = ((double)s0->busy_spans + s0->wait_spans) * marker_ns + (double)s0->ignored * null_ns;
                po->overhead_ns = ov / steps;
                double t0_total = (double)s0->busy_ns + (double)s0->wait_ns;
                po->time_ns = fmax(0, t0_total - ov) / steps;
                po->wait_ns = (double)s0->wait_ns / steps;
                overhead += ov;
                for (int t = 0; t < nt; t++) {
                    const struct slot *s = &st->th[t].slots[k];
                    double bov = (double)s->busy_spans * marker_ns + (t == 0 ? (double)s->ignored * null_ns : 0);
                    po->busy_ns[t] = fmax(0, (double)s->busy_ns - bov) / steps;
                    po->thread_wait_ns[t] = fmax(0, (double)s->wait_ns - s->wait_spans * marker_ns) / steps;
                }
                if (op < REGION_OP_COUNT) {
                    po->bytes_weights = acc[k].bytes_weights / steps;
                    po->bytes_act = acc[k].bytes_act / steps;
                    po->bytes_kv = acc[k].bytes_kv / steps;
                    po->flops = acc[k].flops / steps;
                }
            }
    }
    p->overhead_ns = overhead / steps;
    p->step_ns = p->step_raw_ns - p->overhead_ns;
    *out = p;
    p = NULL;
out:
    *hooks = saved;
    profile_free(p);
    free(acc);
    state_free(st);
    return rc;
}

/* ---- callgrind hooks --------------------------------------------------------- */

static void sim_op(void *user, int ith, enum region_op op, int layer)
{
    struct profiler_sim *st = user;
    if (ith != 0)
        return;
    bool want = (int)op == st->op;
    if (want != st->on) {
        if (want)
            ctr_sim_collect_begin();
        else
            ctr_sim_collect_end();
        st->on = want;
    }
}

int profiler_sim_parse(struct profiler_sim *st, const char *op_name, char *err, size_t err_len)
{
    memset(st, 0, sizeof *st);
    for (int op = 0; op < REGION_OP_COUNT; op++)
        if (op_name && strcmp(op_name, region_op_name((enum region_op)op)) == 0) {
            st->op = op;
            return PROFILER_OK;
        }
    return err_fail(err, err_len, PROFILER_EINVAL, "'%s' is not an operation name (embed, attn_norm, ..., mm_output)",
                op_name ? op_name : "");
}

struct region_hooks profiler_sim_hooks(struct profiler_sim *st)
{
    struct region_hooks h = { .op = sim_op, .user = st };
    return h;
}
