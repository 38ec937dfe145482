/* infer — the llama forward pass.
 *
 * Per layer, for the n tokens of a pass (x: [n][n_embd] residual stream):
 *   xb = rmsnorm(x) * attn_norm
 *   q, k, v = Wq xb, Wk xb, Wv xb          (k, v: [n][n_embd_kv])
 *   rope(q, k); K/V cache[pos] = k, v
 *   a = softmax(q K^T / sqrt(d)) V         (causal, grouped-query heads)
 *   x += Wo a
 *   xb = rmsnorm(x) * ffn_norm
 *   x += Wdown (silu(Wgate xb) * Wup xb)
 * then logits = Wout (rmsnorm(x) * output_norm).
 *
 * Matmul inputs are quantized to the weight type's activation format
 * (Q8_0 / Q8_1 / Q8_K / F16 / BF16) once per input and shared by the
 * matmuls that read it, as llama.cpp does; with an F16 KV cache the query
 * and the attention probabilities are rounded to fp16 like llama.cpp's
 * KQ and KQV products, so logits line up with its default.
 */
#include "engine/infer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "engine/infer_impl.h"

#define ROW_GRAIN INFER_ROW_GRAIN

/* State of one pass, shared by the workers (read-only during the pass). */
struct pass {
    struct infer *c;
    const int32_t *tokens;
    int n;                         /* tokens in this pass */
    int pos0;
    float *logits_out;             /* [n][n_vocab] or NULL */
    /* infer_eval_batch only (NULL otherwise: positions pos0.., slot 0,
     * logits of every token or the last): */
    const int *tpos, *tseq;        /* [n] position and slot of each token */
    const int *out_rows;           /* [n_out] tokens whose logits are wanted */
    int n_out;
};

static inline int tok_pos(const struct pass *p, int t) { return p->tpos ? p->tpos[t] : p->pos0 + t; }

/* Start of slot s's K or V cache. */
static inline void *kv_slot(const struct infer *c, void *base, int s)
{
    return (uint8_t *)base + (size_t)s * c->kv_slot_bytes;
}
static inline void *tok_kv(const struct infer *c, const struct pass *p, void *base, int t)
{
    return p->tseq ? kv_slot(c, base, p->tseq[t]) : base;
}

/* Which activations each qact slot holds; every thread keeps its own copy
 * and they all make the same decisions, so no shared writes are needed. */
struct qstate {
    const float *src[2];
    int type[2];
    int next;
};

/* Forget what the slots hold: called whenever a matmul input is rewritten. */
static void qstate_reset(struct qstate *st)
{
    st->src[0] = st->src[1] = NULL;
    st->type[0] = st->type[1] = -1;
    st->next = 0;
}

/* ---- ops. Each runs on all threads; the caller places barriers. ---- */

static void rmsnorm_scalar(const float *x, const float *w, float *y, int n, float eps)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++)
        y[i] = (x[i] * scale) * w[i];
}

static void rmsnorm_row(const struct infer *c, const float *x, const float *w, float *y, int n, float eps)
{
    (c->k.rmsnorm ? c->k.rmsnorm : rmsnorm_scalar)(x, w, y, n, eps);
}

/* Per-thread operation marker (region.h); one branch when no one listens. */
static inline void opmark(const struct infer *c, int ith, enum region_op op, int layer)
{
    if (c->o.regions && c->o.regions->op)
        c->o.regions->op(c->o.regions->user, ith, op, layer);
}

/* Every barrier between ops: the time a thread spends in it is wait,
 * charged to the op it just finished. */
static void barrier(struct infer *c, int ith)
{
    opmark(c, ith, REGION_OP_WAIT, 0);
    pool_barrier(c->pool, ith);
}

/* Rows of a per-token op: split tokens; with one token only thread 0 works
 * (the row is too short to be worth splitting). */
static void split_rows(int n, int ith, int nth, int64_t *b, int64_t *e)
{
    pool_split(n, ith, nth, 1, b, e);
}

/* Quantize n rows of src (row length ncols) into the activation format vdt,
 * reusing a slot that already holds them. Returns the quantized rows and
 * their stride. Ends with a barrier when it had to quantize. */
static const void *activations(struct infer *c, struct qstate *st, int ith, int nth, const float *src,
                               int n, int ncols, int vdt, size_t *stride, int layer)
{
    if (vdt == QT_F32) {
        *stride = (size_t)ncols * sizeof(float);
        return src;
    }
    *stride = quant_row_size(vdt, ncols);
    for (int s = 0; s < 2; s++)
        if (st->src[s] == src && st->type[s] == vdt)
            return c->qact[s];
    int slot = st->next;
    st->next ^= 1;
    st->src[slot] = src;
    st->type[slot] = vdt;
    uint8_t *dst = c->qact[slot];
    opmark(c, ith, REGION_OP_QUANT, layer);
    const struct quant_traits *tr = quant_traits_get(vdt);
    quant_from_float_fn from = c->k.from_float[vdt];
    int64_t nblk = ncols / tr->blck;
    /* Split blocks of all rows over threads, in whole chunks of 8 blocks. */
    int64_t total = (int64_t)n * nblk, b, e;
    pool_split(total, ith, nth, 8, &b, &e);
    while (b < e) {
        int64_t row = b / nblk, blk = b % nblk;
        int64_t cnt = nblk - blk < e - b ? nblk - blk : e - b;
        from(src + row * ncols + blk * tr->blck, dst + row * *stride + (size_t)blk * tr->type_size,
             cnt * tr->blck);
        b += cnt;
    }
    barrier(c, ith);
    return dst;
}

void infer_matmul_rows(int64_t n_rows, int ith, int nth, bool interleaved, int64_t *begin, int64_t *end,
                       int64_t *step)
{
    *step = 1;
    if (!interleaved || n_rows <= 0 || nth < 1 || ith < 0 || ith >= nth) {
        pool_split(n_rows, ith, nth, ROW_GRAIN, begin, end);
        return;
    }
    *begin = ith < n_rows ? ith : n_rows;
    *end = n_rows;
    *step = nth;
}

/* ---- gate power knob (owner: gate; see scripts/gate-power.sh) ----
 * `make SLOW_KERNEL_PCT=P` makes every thread's share of every matmul P%
 * slower, whatever kernel path runs (reference, AVX2, AVX-512): it times
 * its rows and then spins for P% of that time. A real, known slowdown of
 * the hot kernel for measuring the timing gate's power (SLOW_KERNEL=1 is
 * the deterministic gate's: redundant work that callgrind counts). With
 * the default 0 the optimizer drops it. */
#ifndef GGPERF_SLOW_KERNEL_PCT
#define GGPERF_SLOW_KERNEL_PCT 0
#endif

static inline double slow_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void slow_spin(double t0)
{
    double t1 = slow_now(), until = t1 + (t1 - t0) * GGPERF_SLOW_KERNEL_PCT / 100.0;
    while (slow_now() < until)
        ;
}
/* ---- end gate power knob ---- */

/* activation bytes one dot-kernel pass keeps close (see matmul_rows): of
 * 64..512 KiB, 64 and 128 were fastest for Q4_K_M pp64/pp512 on a 2 MiB L2 */
#define INFER_ACT_CHUNK_BYTES (128u << 10)

static void matmul_rows(struct infer *c, struct qstate *st, int ith, int nth, const struct model_weight *w,
                        const float *in, int n, float *out, int ld, enum region_op op, int layer);

/* out[t][r] = W[r] . in[t] for t < n, r < W.ne1; out row stride ld floats. */
static void matmul(struct infer *c, struct qstate *st, int ith, int nth, const struct model_weight *w,
                   const float *in, int n, float *out, int ld, enum region_op op, int layer)
{
    if (!GGPERF_SLOW_KERNEL_PCT) {
        matmul_rows(c, st, ith, nth, w, in, n, out, ld, op, layer);
        return;
    }
    double t0 = slow_now();
    matmul_rows(c, st, ith, nth, w, in, n, out, ld, op, layer);
    slow_spin(t0);
}

static void matmul_rows(struct infer *c, struct qstate *st, int ith, int nth, const struct model_weight *w,
                        const float *in, int n, float *out, int ld, enum region_op op, int layer)
{
    const struct quant_traits *tr = quant_traits_get(w->type);
    size_t stride;
    const void *a = activations(c, st, ith, nth, in, n, (int)w->ne0, tr->vec_dot_type, &stride, layer);
    opmark(c, ith, op, layer);
    quant_dot_fn dot = c->k.dot[w->type];
    float *s = c->dots + (size_t)ith * c->dots_stride;
    const uint8_t *wd = w->data;
    int64_t r0, r1, step;
    infer_matmul_rows(w->ne1, ith, nth, c->o.false_sharing, &r0, &r1, &step);
    if (step == 1 && c->k.gemm[w->type]) {
        const quant_gemm_fn g = n == 1 && c->o.small_pages && c->k.gemm_4k[w->type] ? c->k.gemm_4k[w->type]
                                                                                     : c->k.gemm[w->type];
        if (r1 > r0)
            g(w->ne0, wd + (size_t)r0 * w->row_bytes, w->row_bytes, (int)(r1 - r0), a, stride, n, &out[r0],
              (size_t)ld);
        return;
    }
    if (n == 1) {
        for (int64_t r = r0; r < r1; r += step)
            dot(w->ne0, wd + (size_t)r * w->row_bytes, a, stride, 1, &out[r]);
        return;
    }
    /* Activation rows in chunks that stay in L2 while every weight row of
     * the thread's range passes over them: a 512-token prompt's Q8_K rows
     * for ffn_down are 3.2 MB, and without chunks each weight row read
     * them all from L3 (Q4_K_M pp512 ran at 2/3 of pp64). The weights are
     * read once per chunk instead. */
    const size_t chunk_bytes = c->o.act_chunk_bytes ? c->o.act_chunk_bytes : INFER_ACT_CHUNK_BYTES;
    size_t per = stride ? chunk_bytes / stride : (size_t)n;
    int chunk = per >= (size_t)n ? n : per < 8 ? 8 : (int)per & ~7;
    for (int j0 = 0; j0 < n; j0 += chunk) {
        const int m = n - j0 < chunk ? n - j0 : chunk;
        const uint8_t *aj = (const uint8_t *)a + (size_t)j0 * stride;
        for (int64_t r = r0; r < r1; r += step) {
            dot(w->ne0, wd + (size_t)r * w->row_bytes, aj, stride, m, s);
            for (int t = 0; t < m; t++)
                out[(size_t)(j0 + t) * ld + r] = s[t];
        }
    }
}

static inline float kv_get(const struct infer *c, const void *row, int i)
{
    if (c->kv_elt == 4)
        return ((const float *)row)[i];
    return c->f16_lut[((const uint16_t *)row)[i]];
}

static inline void *kv_row_ptr(const struct infer *c, void *base, int layer, int pos)
{
    return (uint8_t *)base + (((size_t)layer * c->n_ctx + pos) * c->kv_row) * c->kv_elt;
}

/* RoPE (llama's normal mode: adjacent pairs) on q and k, then store k and v
 * in the cache. Work items: tokens x (q heads + kv heads). */
static void rope_store(struct infer *c, const struct pass *p, int layer, int ith, int nth)
{
    const struct model_hparams *hp = &c->m->hp;
    int hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv;
    int64_t items = (int64_t)p->n * (nh + nkv), b, e;
    pool_split(items, ith, nth, 1, &b, &e);
    for (int64_t it = b; it < e; it++) {
        int t = (int)(it / (nh + nkv)), h = (int)(it % (nh + nkv));
        float *v = h < nh ? c->q + (size_t)t * hp->n_embd + (size_t)h * hd
                          : c->kc + (size_t)t * c->n_embd_kv + (size_t)(h - nh) * hd;
        const float *cs = c->rope_cs + (size_t)t * hp->n_rot;
        for (int i = 0; i < hp->n_rot; i += 2) {
            float cos_t = cs[i], sin_t = cs[i + 1];
            float x0 = v[i], x1 = v[i + 1];
            v[i] = x0 * cos_t - x1 * sin_t;
            v[i + 1] = x0 * sin_t + x1 * cos_t;
        }
        if (h >= nh) {
            int kh = h - nh, pos = tok_pos(p, t);
            const float *kv_src[2] = { v, c->vc + (size_t)t * c->n_embd_kv + (size_t)kh * hd };
            void *dst[2] = { (uint8_t *)kv_row_ptr(c, tok_kv(c, p, c->kv_k, t), layer, pos) + (size_t)kh * hd * c->kv_elt,
                             (uint8_t *)kv_row_ptr(c, tok_kv(c, p, c->kv_v, t), layer, pos) + (size_t)kh * hd * c->kv_elt };
            for (int s = 0; s < 2; s++) {
                if (c->kv_elt == 4)
                    memcpy(dst[s], kv_src[s], (size_t)hd * 4);
                else /* the ISA's converter: bit-equal to quant_f32_to_f16, NaNs included */
                    c->k.from_float[QT_F16](kv_src[s], dst[s], hd);
            }
        }
    }
}

/* Causal attention. Work items: tokens x query heads. */
static void attention(struct infer *c, const struct pass *p, int layer, int ith, int nth)
{
    const struct model_hparams *hp = &c->m->hp;
    int hd = hp->head_dim, nh = hp->n_head, group = hp->n_head / hp->n_head_kv;
    const float scale = 1.0f / sqrtf((float)hd);
    float *sc = c->scores + (size_t)ith * c->scores_stride;
    uint16_t *q16 = c->q16 + (size_t)ith * round_up((size_t)hd, 32);
    float *qf = c->qf + (size_t)ith * round_up((size_t)hd, 16);
    const bool f16 = c->kv_elt == 2;
    /* the ISA's attention kernels (fp16 cache only); NULL slots: the scalar loops below */
    const bool simd = f16 && c->k.attn_kq_f16 && c->k.attn_pv_f16 && c->k.f16_round && c->k.attn_exp;
    int64_t items = (int64_t)p->n * nh, b, e;
    pool_split(items, ith, nth, 1, &b, &e);
    for (int64_t it = b; it < e; it++) {
        int t = (int)(it / nh), h = (int)(it % nh), kh = h / group;
        int n_kv = tok_pos(p, t) + 1;
        void *kv_k = tok_kv(c, p, c->kv_k, t), *kv_v = tok_kv(c, p, c->kv_v, t);
        const float *q = c->q + (size_t)t * hp->n_embd + (size_t)h * hd;
        float *outv = c->att + (size_t)t * hp->n_embd + (size_t)h * hd;
        if (f16 && !simd)
            for (int i = 0; i < hd; i++)
                q16[i] = quant_f32_to_f16(q[i]);
        const size_t kv_stride = c->kv_row * c->kv_elt; /* bytes from one position's row to the next */
        const uint8_t *k0 = (const uint8_t *)kv_row_ptr(c, kv_k, layer, 0) + (size_t)kh * hd * c->kv_elt;
        const uint8_t *v0 = (const uint8_t *)kv_row_ptr(c, kv_v, layer, 0) + (size_t)kh * hd * c->kv_elt;
        if (simd) {
            /* the SIMD kernels: the same roundings and products, summed in
             * another order */
            c->k.f16_round(q, 1.0f, qf, hd);
            c->k.attn_kq_f16(qf, (const uint16_t *)k0, kv_stride, n_kv, hd, sc);
            const double sum = c->k.attn_exp(sc, n_kv, scale);
            c->k.f16_round(sc, (float)(1.0 / sum), sc, n_kv);
            for (int i = 0; i < hd; i++)
                outv[i] = 0.0f;
            c->k.attn_pv_f16(sc, (const uint16_t *)v0, kv_stride, n_kv, hd, outv);
            continue;
        }
        float mx = -INFINITY;
        for (int j = 0; j < n_kv; j++) {
            const uint8_t *krow = (const uint8_t *)kv_row_ptr(c, kv_k, layer, j) + (size_t)kh * hd * c->kv_elt;
            float s = 0.0f;
            if (f16) {
                const uint16_t *k16 = (const uint16_t *)krow;
                for (int i = 0; i < hd; i++)
                    s += c->f16_lut[q16[i]] * c->f16_lut[k16[i]];
            } else {
                const float *k32 = (const float *)krow;
                for (int i = 0; i < hd; i++)
                    s += q[i] * k32[i];
            }
            s *= scale;
            sc[j] = s;
            if (s > mx)
                mx = s;
        }
        double sum = 0.0;
        for (int j = 0; j < n_kv; j++) {
            float ex = expf(sc[j] - mx);
            sc[j] = ex;
            sum += ex;
        }
        const float inv = (float)(1.0 / sum);
        for (int i = 0; i < hd; i++)
            outv[i] = 0.0f;
        for (int j = 0; j < n_kv; j++) {
            float pj = sc[j] * inv;
            if (f16)
                pj = quant_f16_to_f32(quant_f32_to_f16(pj));
            const uint8_t *vrow = (const uint8_t *)kv_row_ptr(c, kv_v, layer, j) + (size_t)kh * hd * c->kv_elt;
            for (int i = 0; i < hd; i++)
                outv[i] += pj * kv_get(c, vrow, i);
        }
    }
}

static inline float silu(float x) { return x / (1.0f + expf(-x)); }

static void mark(struct infer *c, int ith, bool begin, enum region_kind kind, int index)
{
    if (ith != 0 || !c->o.regions)
        return;
    if (begin)
        region_begin(c->o.regions, kind, index);
    else
        region_end(c->o.regions, kind, index);
}

static void forward_worker(void *arg, int ith, int nth)
{
    const struct pass *p = arg;
    struct infer *c = p->c;
    const struct model *m = c->m;
    const struct model_hparams *hp = &m->hp;
    const int n = p->n, ne = hp->n_embd;
    struct qstate st;
    qstate_reset(&st);
    int64_t b, e;

    /* Embeddings and the rotary table of this pass's positions. */
    opmark(c, ith, REGION_OP_EMBED, -1);
    split_rows(n, ith, nth, &b, &e);
    quant_to_float_fn emb = c->k.to_float[m->token_embd.type];
    for (int64_t t = b; t < e; t++) {
        emb((const uint8_t *)m->token_embd.data + (size_t)p->tokens[t] * m->token_embd.row_bytes,
            c->x + (size_t)t * ne, ne);
        float theta_scale = powf(hp->rope_base, -2.0f / (float)hp->n_rot);
        float theta = (float)tok_pos(p, t);
        float *cs = c->rope_cs + (size_t)t * hp->n_rot;
        for (int i = 0; i < hp->n_rot; i += 2) {
            cs[i] = cosf(theta);
            cs[i + 1] = sinf(theta);
            theta *= theta_scale;
        }
    }
    barrier(c, ith);

    for (int l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        mark(c, ith, true, REGION_LAYER, l);

        opmark(c, ith, REGION_OP_ATTN_NORM, l);
        for (int64_t t = b; t < e; t++)
            rmsnorm_row(c, c->x + (size_t)t * ne, L->attn_norm, c->xb + (size_t)t * ne, ne, hp->rms_eps);
        barrier(c, ith);

        qstate_reset(&st);
        mark(c, ith, true, REGION_MATMUL, MM_Q);
        matmul(c, &st, ith, nth, &L->wq, c->xb, n, c->q, ne, REGION_OP_MM_Q, l);
        matmul(c, &st, ith, nth, &L->wk, c->xb, n, c->kc, c->n_embd_kv, REGION_OP_MM_K, l);
        matmul(c, &st, ith, nth, &L->wv, c->xb, n, c->vc, c->n_embd_kv, REGION_OP_MM_V, l);
        barrier(c, ith);
        mark(c, ith, false, REGION_MATMUL, MM_Q);

        mark(c, ith, true, REGION_ATTN, l);
        opmark(c, ith, REGION_OP_ROPE, l);
        rope_store(c, p, l, ith, nth);
        barrier(c, ith);
        opmark(c, ith, REGION_OP_ATTN, l);
        attention(c, p, l, ith, nth);
        barrier(c, ith);
        mark(c, ith, false, REGION_ATTN, l);

        qstate_reset(&st);
        mark(c, ith, true, REGION_MATMUL, MM_O);
        matmul(c, &st, ith, nth, &L->wo, c->att, n, c->tmp, ne, REGION_OP_MM_O, l);
        barrier(c, ith);
        mark(c, ith, false, REGION_MATMUL, MM_O);

        opmark(c, ith, REGION_OP_FFN_NORM, l);
        for (int64_t t = b; t < e; t++) {
            float *x = c->x + (size_t)t * ne;
            const float *d = c->tmp + (size_t)t * ne;
            for (int i = 0; i < ne; i++)
                x[i] += d[i];
            rmsnorm_row(c, x, L->ffn_norm, c->xb + (size_t)t * ne, ne, hp->rms_eps);
        }
        barrier(c, ith);

        qstate_reset(&st);
        mark(c, ith, true, REGION_MATMUL, MM_GATE);
        matmul(c, &st, ith, nth, &L->w_gate, c->xb, n, c->gate, hp->n_ff, REGION_OP_MM_GATE, l);
        matmul(c, &st, ith, nth, &L->w_up, c->xb, n, c->up, hp->n_ff, REGION_OP_MM_UP, l);
        barrier(c, ith);
        mark(c, ith, false, REGION_MATMUL, MM_GATE);

        /* silu(gate) * up, split over all values of all tokens. */
        int64_t hb, he;
        opmark(c, ith, REGION_OP_SWIGLU, l);
        pool_split((int64_t)n * hp->n_ff, ith, nth, ROW_GRAIN, &hb, &he);
        if (c->k.swiglu && he > hb)
            c->k.swiglu(c->gate + hb, c->up + hb, he - hb);
        else
            for (int64_t i = hb; i < he; i++)
                c->gate[i] = silu(c->gate[i]) * c->up[i];
        barrier(c, ith);

        qstate_reset(&st);
        mark(c, ith, true, REGION_MATMUL, MM_DOWN);
        matmul(c, &st, ith, nth, &L->w_down, c->gate, n, c->tmp, ne, REGION_OP_MM_DOWN, l);
        barrier(c, ith);
        mark(c, ith, false, REGION_MATMUL, MM_DOWN);

        opmark(c, ith, REGION_OP_RESIDUAL, l);
        for (int64_t t = b; t < e; t++) {
            float *x = c->x + (size_t)t * ne;
            const float *d = c->tmp + (size_t)t * ne;
            for (int i = 0; i < ne; i++)
                x[i] += d[i];
        }
        barrier(c, ith);
        mark(c, ith, false, REGION_LAYER, l);
    }

    /* Output: every row when the caller wants all logits, else the last. */
    int first = p->logits_out ? 0 : n - 1;
    int rows = p->out_rows ? p->n_out : n - first;
    int64_t ob, oe;
    opmark(c, ith, REGION_OP_OUT_NORM, -1);
    split_rows(rows, ith, nth, &ob, &oe);
    for (int64_t t = ob; t < oe; t++) {
        int src = p->out_rows ? p->out_rows[t] : first + (int)t;
        rmsnorm_row(c, c->x + (size_t)src * ne, m->output_norm, c->xb + (size_t)t * ne, ne, hp->rms_eps);
    }
    barrier(c, ith);
    qstate_reset(&st);
    mark(c, ith, true, REGION_MATMUL, MM_OUTPUT);
    float *dst = p->logits_out ? p->logits_out : c->logits;
    matmul(c, &st, ith, nth, &m->output, c->xb, rows, dst, hp->n_vocab, REGION_OP_MM_OUTPUT, -1);
    barrier(c, ith);
    mark(c, ith, false, REGION_MATMUL, MM_OUTPUT);
    opmark(c, ith, REGION_OP_DONE, -1);
}

int infer_eval(struct infer *c, const int32_t *tokens, int n, float *logits_all, char *err, size_t err_len)
{
    const struct model_hparams *hp = &c->m->hp;
    if (n <= 0)
        return err_fail(err, err_len, INFER_EARG, "no tokens to evaluate");
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return err_fail(err, err_len, INFER_EARG, "token %d (at index %d) is outside the vocabulary (0..%d)",
                        tokens[i], i, hp->n_vocab - 1);
    if (n > c->n_ctx - c->pos)
        return err_fail(err, err_len, INFER_EFULL, "%d tokens do not fit: %d of %d context positions are used", n,
                    c->pos, c->n_ctx);
    enum region_kind kind = n > 1 ? REGION_PREFILL : REGION_DECODE;
    region_begin(c->o.regions, kind, c->pos);
    for (int done = 0; done < n;) {
        int chunk = n - done < c->n_batch ? n - done : c->n_batch;
        struct pass p = { .c = c, .tokens = tokens + done, .n = chunk, .pos0 = c->pos,
                          .logits_out = logits_all ? logits_all + (size_t)done * hp->n_vocab : NULL };
        pool_run(c->pool, forward_worker, &p);
        /* Keep the last position's logits available either way. */
        if (logits_all)
            memcpy(c->logits, logits_all + (size_t)(done + chunk - 1) * hp->n_vocab, (size_t)hp->n_vocab * 4);
        c->pos += chunk;
        done += chunk;
    }
    region_end(c->o.regions, kind, c->pos - n);
    return INFER_OK;
}

int infer_n_seq(const struct infer *c) { return c->n_seq; }
int infer_n_batch(const struct infer *c) { return c->n_batch; }

int infer_seq_pos(const struct infer *c, int seq)
{
    if (seq <= 0 || seq >= c->n_seq)
        return seq == 0 ? c->pos : -1;
    return c->seq_pos[seq];
}

void infer_seq_reset(struct infer *c, int seq)
{
    if (seq == 0)
        c->pos = 0;
    else if (seq > 0 && seq < c->n_seq)
        c->seq_pos[seq] = 0;
}

static int *seq_pos_ref(struct infer *c, int seq) { return seq == 0 ? &c->pos : &c->seq_pos[seq]; }

int infer_eval_batch(struct infer *c, const int32_t *tokens, const int *seq, const uint8_t *want, int n,
                     float *logits, char *err, size_t err_len)
{
    const struct model_hparams *hp = &c->m->hp;
    if (n <= 0 || n > c->n_batch)
        return err_fail(err, err_len, INFER_EARG, "%d tokens in a multi-sequence pass (1..%d)", n, c->n_batch);
    if (!logits)
        return err_fail(err, err_len, INFER_EARG, "no logits buffer for a multi-sequence pass");
    int n_out = 0;
    /* Positions are assigned in token order from each slot's fill level;
     * tok_pos holds them, the slots are committed only once all fit. */
    for (int i = 0; i < n; i++) {
        int s = seq[i];
        if (s < 0 || s >= c->n_seq)
            return err_fail(err, err_len, INFER_EARG, "token %d names slot %d (the context has %d)", i, s, c->n_seq);
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return err_fail(err, err_len, INFER_EARG, "token %d (at index %d) is outside the vocabulary (0..%d)",
                        tokens[i], i, hp->n_vocab - 1);
        int before = 0;
        for (int j = 0; j < i; j++)
            before += seq[j] == s;
        int pos = *seq_pos_ref(c, s) + before;
        if (pos >= c->n_ctx)
            return err_fail(err, err_len, INFER_EFULL, "slot %d is full: %d of %d context positions are used", s,
                        *seq_pos_ref(c, s), c->n_ctx);
        c->tok_pos[i] = pos;
        c->tok_seq[i] = s;
        if (!want || want[i])
            c->tok_out[n_out++] = i;
    }
    if (n_out == 0)
        return err_fail(err, err_len, INFER_EARG, "a multi-sequence pass with no logits wanted");
    struct pass p = { .c = c, .tokens = tokens, .n = n, .logits_out = logits, .tpos = c->tok_pos,
                      .tseq = c->tok_seq, .out_rows = c->tok_out, .n_out = n_out };
    region_begin(c->o.regions, REGION_DECODE, c->tok_pos[0]);
    pool_run(c->pool, forward_worker, &p);
    region_end(c->o.regions, REGION_DECODE, c->tok_pos[0]);
    for (int i = 0; i < n; i++)
        (*seq_pos_ref(c, seq[i]))++;
    memcpy(c->logits, logits + (size_t)(n_out - 1) * hp->n_vocab, (size_t)hp->n_vocab * 4);
    return INFER_OK;
}
