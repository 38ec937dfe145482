/* model — binding a llama-family model to its GGUF weights: hyper-
 * parameters, tensor lookup and shape checks (see model.h). */
#include "engine/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "engine/quant.h"

/* Read an integer hyper-parameter "<arch>.<suffix>"; def < 0 means required. */
static int get_hp_int(const struct gguf *g, const char *arch, const char *suffix, long def,
                      long lo, long hi, int *out, char *err, size_t err_len)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint64_t v;
    char e[256];
    int rc = gguf_get_u64(g, key, &v, e, sizeof e);
    if (rc == GGUF_ENOTFOUND) {
        if (def < 0)
            return err_fail(err, err_len, MODEL_EHPARAMS, "key '%s': missing (required hyper-parameter)", key);
        *out = (int)def;
        return 0;
    }
    if (rc != GGUF_OK)
        return err_fail(err, err_len, MODEL_EHPARAMS, "%s", e);
    if ((long)v < lo || (long)v > hi || v > (uint64_t)hi)
        return err_fail(err, err_len, MODEL_EHPARAMS, "key '%s': value %llu out of range (allowed %ld..%ld)", key,
                    (unsigned long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

static int get_hp_float(const struct gguf *g, const char *arch, const char *suffix, float def,
                        float *out, char *err, size_t err_len)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    char e[256];
    int rc = gguf_get_f32(g, key, out, e, sizeof e);
    if (rc == GGUF_ENOTFOUND) {
        *out = def;
        return 0;
    }
    if (rc != GGUF_OK)
        return err_fail(err, err_len, MODEL_EHPARAMS, "%s", e);
    if (!(*out > 0) || *out > 1e9f)
        return err_fail(err, err_len, MODEL_EHPARAMS, "key '%s': value %g out of range", key, (double)*out);
    return 0;
}

/* Find tensor `name`, check it is [ne0, ne1] (ne1 = 0 for a vector). */
static int bind(const struct gguf *g, const char *name, int64_t ne0, int64_t ne1, bool need_f32,
                struct model_weight *w, char *err, size_t err_len)
{
    const struct gguf_tensor *t = gguf_find_tensor(g, name);
    if (!t)
        return err_fail(err, err_len, MODEL_ETENSOR, "tensor '%s': missing", name);
    int64_t want_dims = ne1 ? 2 : 1;
    bool ok = t->ne[0] == ne0 && (ne1 ? t->ne[1] == ne1 : t->ne[1] == 1) && t->ne[2] == 1 && t->ne[3] == 1;
    if (!ok) {
        if (ne1)
            return err_fail(err, err_len, MODEL_ETENSOR,
                        "tensor '%s': shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", name,
                        (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                        (long long)ne0, (long long)ne1);
        return err_fail(err, err_len, MODEL_ETENSOR, "tensor '%s': shape [%lld, %lld, %lld, %lld], expected [%lld]",
                    name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                    (long long)ne0);
    }
    (void)want_dims;
    if (need_f32 && t->type != QT_F32)
        return err_fail(err, err_len, MODEL_EUNSUPPORTED, "tensor '%s': type %s, expected F32 for a norm vector",
                    name, quant_type_name(t->type));
    if (!need_f32 && !quant_supported(t->type))
        return err_fail(err, err_len, MODEL_EUNSUPPORTED, "tensor '%s': type %s is not supported by the engine",
                    name, quant_type_name(t->type));
    memset(w, 0, sizeof *w);
    w->data = t->data;
    w->type = t->type;
    w->ne0 = t->ne[0];
    w->ne1 = ne1 ? t->ne[1] : 1;
    w->row_bytes = quant_row_size(t->type, t->ne[0]);
    snprintf(w->name, sizeof w->name, "%s", name);
    return 0;
}

static int check_hparams(struct model_hparams *hp, char *err, size_t err_len)
{
    if (hp->n_head <= 0 || hp->n_embd % hp->n_head != 0)
        return err_fail(err, err_len, MODEL_EHPARAMS, "head count %d does not divide embedding length %d",
                    hp->n_head, hp->n_embd);
    if (hp->n_head_kv <= 0 || hp->n_head % hp->n_head_kv != 0)
        return err_fail(err, err_len, MODEL_EHPARAMS, "KV head count %d does not divide head count %d",
                    hp->n_head_kv, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (hp->head_dim % 2 != 0)
        return err_fail(err, err_len, MODEL_EHPARAMS, "head dimension %d is odd (RoPE needs pairs)", hp->head_dim);
    if (hp->n_rot <= 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return err_fail(err, err_len, MODEL_EHPARAMS, "rope dimension %d invalid for head dimension %d", hp->n_rot,
                    hp->head_dim);
    return 0;
}

static void add_bytes(struct model *m, const struct model_weight *w)
{
    m->weight_bytes += w->row_bytes * (uint64_t)w->ne1;
}

/* Call fn on every weight matrix and every norm vector the forward pass reads
 * (the output matrix only when it is not the tied embedding). */
struct weight_visit {
    void (*matrix)(struct weight_visit *v, struct model_weight *w);
    void (*norm)(struct weight_visit *v, const float **norm);
};

static void for_each_weight(struct model *m, struct weight_visit *v)
{
    v->matrix(v, &m->token_embd);
    if (!m->tied)
        v->matrix(v, &m->output);
    v->norm(v, &m->output_norm);
    for (int l = 0; l < m->hp.n_layer; l++) {
        struct model_layer *L = &m->layers[l];
        struct model_weight *ws[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            v->matrix(v, ws[i]);
        v->norm(v, &L->attn_norm);
        v->norm(v, &L->ffn_norm);
    }
}

/* COPY mode: every weight moves into one engine-owned buffer, each matrix
 * at a multiple of align plus offset, so studies can misalign blocks on
 * purpose. The first pass sizes the buffer (buf NULL), the second copies. */
struct copy_visit {
    struct weight_visit v;
    size_t align, offset, norm_bytes, pos;
    uint8_t *buf;
};

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static void copy_matrix(struct weight_visit *v, struct model_weight *w)
{
    struct copy_visit *c = (struct copy_visit *)v;
    size_t bytes = w->row_bytes * (size_t)w->ne1;
    if (c->buf) {
        memcpy(c->buf + c->pos + c->offset, w->data, bytes);
        w->data = c->buf + c->pos + c->offset;
    }
    c->pos += round_up(bytes + c->offset, c->align);
}

static void copy_norm(struct weight_visit *v, const float **norm)
{
    struct copy_visit *c = (struct copy_visit *)v;
    if (c->buf) {
        memcpy(c->buf + c->pos, *norm, c->norm_bytes);
        *norm = (const float *)(c->buf + c->pos);
    }
    c->pos += round_up(c->norm_bytes, c->align);
}

static int copy_weights(struct model *m, const struct model_opts *o, char *err, size_t err_len)
{
    struct copy_visit c = { { copy_matrix, copy_norm }, o->copy_align ? o->copy_align : 64, o->copy_offset,
                            (size_t)m->hp.n_embd * sizeof(float), 0, NULL };
    for_each_weight(m, &c.v);
    size_t total = c.pos;
    c.buf = mem_alloc(o->mem, total, c.align);
    if (!c.buf)
        return err_fail(err, err_len, MODEL_ENOMEM, "cannot allocate %zu bytes for the weight copy", total);
    c.pos = 0;
    for_each_weight(m, &c.v);
    if (m->tied)
        m->output = m->token_embd;
    m->owned = c.buf;
    m->owned_bytes = total;
    return 0;
}

int model_load(struct model *m, const struct gguf *g, const struct model_opts *opts, char *err, size_t err_len)
{
    static const struct model_opts defaults = { MODEL_WEIGHTS_BORROW, 64, 0, NULL };
    const struct model_opts *o = opts ? opts : &defaults;
    memset(m, 0, sizeof *m);
    m->mem = o->mem;

    struct gguf_str arch_s;
    char e[256];
    if (gguf_get_str(g, "general.architecture", &arch_s, e, sizeof e) != GGUF_OK)
        return err_fail(err, err_len, MODEL_EARCH, "key 'general.architecture': missing or not a string");
    char arch[32];
    if (arch_s.len >= sizeof arch)
        return err_fail(err, err_len, MODEL_EARCH, "architecture name too long (%llu bytes)",
                    (unsigned long long)arch_s.len);
    memcpy(arch, arch_s.ptr, arch_s.len);
    arch[arch_s.len] = '\0';
    /* Mistral files use the llama layout under their own name. */
    if (strcmp(arch, "llama") != 0 && strcmp(arch, "mistral") != 0)
        return err_fail(err, err_len, MODEL_EARCH, "architecture '%s' is not supported (llama family only)", arch);

    struct model_hparams *hp = &m->hp;
    int rc;
    if ((rc = get_hp_int(g, arch, "embedding_length", -1, 1, 1 << 20, &hp->n_embd, err, err_len)) ||
        (rc = get_hp_int(g, arch, "feed_forward_length", -1, 1, 1 << 22, &hp->n_ff, err, err_len)) ||
        (rc = get_hp_int(g, arch, "block_count", -1, 1, 4096, &hp->n_layer, err, err_len)) ||
        (rc = get_hp_int(g, arch, "attention.head_count", -1, 1, 1 << 14, &hp->n_head, err, err_len)) ||
        (rc = get_hp_int(g, arch, "context_length", 2048, 1, 1 << 24, &hp->n_ctx_train, err, err_len)) ||
        (rc = get_hp_float(g, arch, "rope.freq_base", 10000.0f, &hp->rope_base, err, err_len)) ||
        (rc = get_hp_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->rms_eps, err, err_len)))
        return rc;
    if ((rc = get_hp_int(g, arch, "attention.head_count_kv", hp->n_head, 1, 1 << 14, &hp->n_head_kv, err,
                         err_len)))
        return rc;
    if (hp->n_embd % hp->n_head == 0 &&
        (rc = get_hp_int(g, arch, "rope.dimension_count", hp->n_embd / hp->n_head, 1, 1 << 14, &hp->n_rot, err,
                         err_len)))
        return rc;
    if ((rc = check_hparams(hp, err, err_len)))
        return rc;

    /* The vocabulary size is the embedding's row count. */
    const struct gguf_tensor *te = gguf_find_tensor(g, "token_embd.weight");
    if (!te)
        return err_fail(err, err_len, MODEL_ETENSOR, "tensor 'token_embd.weight': missing");
    if (te->ne[1] < 1 || te->ne[1] > (1 << 24))
        return err_fail(err, err_len, MODEL_ETENSOR, "tensor 'token_embd.weight': %lld rows is not a vocabulary size",
                    (long long)te->ne[1]);
    hp->n_vocab = (int)te->ne[1];

    int n_embd_kv = hp->head_dim * hp->n_head_kv;
    struct model_weight norm;
    if ((rc = bind(g, "token_embd.weight", hp->n_embd, hp->n_vocab, false, &m->token_embd, err, err_len)))
        return rc;
    if ((rc = bind(g, "output_norm.weight", hp->n_embd, 0, true, &norm, err, err_len)))
        return rc;
    m->output_norm = norm.data;
    if (gguf_find_tensor(g, "output.weight")) {
        if ((rc = bind(g, "output.weight", hp->n_embd, hp->n_vocab, false, &m->output, err, err_len)))
            return rc;
    } else {
        m->output = m->token_embd;
        m->tied = 1;
    }
    add_bytes(m, &m->token_embd); /* one row per token, but count the table once */
    if (!m->tied)
        add_bytes(m, &m->output);

    m->layers = mem_alloc(o->mem, sizeof(struct model_layer) * (size_t)hp->n_layer, 64);
    if (!m->layers)
        return err_fail(err, err_len, MODEL_ENOMEM, "cannot allocate %d layers", hp->n_layer);
    for (int l = 0; l < hp->n_layer; l++) {
        struct model_layer *L = &m->layers[l];
        char name[96];
        struct {
            const char *suffix;
            struct model_weight *w;
            int64_t ne0, ne1;
        } mats[] = {
            { "attn_q", &L->wq, hp->n_embd, hp->n_embd },
            { "attn_k", &L->wk, hp->n_embd, n_embd_kv },
            { "attn_v", &L->wv, hp->n_embd, n_embd_kv },
            { "attn_output", &L->wo, hp->n_embd, hp->n_embd },
            { "ffn_gate", &L->w_gate, hp->n_embd, hp->n_ff },
            { "ffn_up", &L->w_up, hp->n_embd, hp->n_ff },
            { "ffn_down", &L->w_down, hp->n_ff, hp->n_embd },
        };
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, mats[i].suffix);
            if ((rc = bind(g, name, mats[i].ne0, mats[i].ne1, false, mats[i].w, err, err_len)))
                goto fail_layers;
            add_bytes(m, mats[i].w);
        }
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        if ((rc = bind(g, name, hp->n_embd, 0, true, &norm, err, err_len)))
            goto fail_layers;
        L->attn_norm = norm.data;
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        if ((rc = bind(g, name, hp->n_embd, 0, true, &norm, err, err_len)))
            goto fail_layers;
        L->ffn_norm = norm.data;
    }
    if (o->weights == MODEL_WEIGHTS_COPY && (rc = copy_weights(m, o, err, err_len)))
        goto fail_layers;
    return MODEL_OK;

fail_layers:
    mem_free(o->mem, m->layers, sizeof(struct model_layer) * (size_t)hp->n_layer);
    m->layers = NULL;
    return rc;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    if (m->layers)
        mem_free(m->mem, m->layers, sizeof(struct model_layer) * (size_t)m->hp.n_layer);
    if (m->owned)
        mem_free(m->mem, m->owned, m->owned_bytes);
    m->layers = NULL;
    m->owned = NULL;
}
