/* infer_ctx — the inference context, apart from the forward pass (infer.c):
 * options and their defaults, the memory a context needs (KV cache and
 * scratch, also for callers sizing it ahead), creating it (buffers, fp16
 * table, sequence slots, thread pool) and freeing it, and its accessors. */
#include "engine/infer.h"

#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/infer_impl.h"

#define CACHE_LINE 64

void infer_opts_default(struct infer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->wait = POOL_WAIT_HYBRID;
    o->max_isa = QISA_AVX512;
    o->kv_type = INFER_KV_F16;
}

uint64_t infer_kv_bytes(const struct model_hparams *hp, int n_ctx, enum infer_kv_type kv, int kv_pad)
{
    uint64_t row = (uint64_t)hp->head_dim * hp->n_head_kv + (uint64_t)(kv_pad > 0 ? kv_pad : 0);
    uint64_t elt = kv == INFER_KV_F32 ? 4 : 2;
    return 2ull * hp->n_layer * (uint64_t)n_ctx * row * elt;
}

/* Largest activation row any matmul reads, in any activation format. */
static size_t max_qrow_bytes(const struct model_hparams *hp)
{
    int64_t n = hp->n_ff > hp->n_embd ? hp->n_ff : hp->n_embd;
    /* F32 is the widest activation format (4 bytes per value). */
    return (size_t)n * 4 + 64;
}

static int resolve_threads(int n)
{
    if (n > 0)
        return n;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

uint64_t infer_scratch_bytes(const struct model_hparams *hp, const struct infer_opts *o)
{
    uint64_t nb = o->n_batch > 0 ? (uint64_t)o->n_batch : 64;
    uint64_t nt = (uint64_t)resolve_threads(o->n_threads);
    uint64_t n_ctx = o->n_ctx > 0 ? (uint64_t)o->n_ctx : 4096;
    uint64_t kvd = (uint64_t)hp->head_dim * hp->n_head_kv;
    uint64_t f = 0;
    f += 4 * nb * hp->n_embd * 4;           /* x, xb, q, att */
    f += nb * hp->n_embd * 4;               /* tmp */
    f += 2 * nb * kvd * 4;                  /* kc, vc */
    f += 2 * nb * hp->n_ff * 4;             /* gate, up */
    f += (uint64_t)hp->n_vocab * 4;         /* logits */
    f += nb * hp->n_rot * 4;                /* rope */
    f += 2 * nb * max_qrow_bytes(hp);       /* qact */
    f += nt * (n_ctx + 16) * 4;             /* scores */
    f += nt * (nb + 16) * 4;                /* dots */
    f += nt * (hp->head_dim + 32) * 2;      /* q16 */
    f += nt * (hp->head_dim + 16) * 4;      /* qf */
    f += 65536 * 4;                         /* fp16 table */
    return f;
}

static void *alloc_zero(struct infer *c, size_t bytes)
{
    void *p = mem_alloc(c->o.mem, bytes, CACHE_LINE);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* The buffers that infer_free releases, with their sizes. */
#define INFER_N_BUFS 20
static void buffers(struct infer *c, void ***ptrs, size_t *sizes)
{
    const struct model_hparams *hp = &c->m->hp;
    size_t nb = (size_t)c->n_batch;
    size_t kvd = (size_t)c->n_embd_kv;
    void **p[INFER_N_BUFS] = {
        (void **)&c->kv_k, (void **)&c->kv_v, (void **)&c->x, (void **)&c->xb, (void **)&c->q,
        (void **)&c->kc, (void **)&c->vc, (void **)&c->att, (void **)&c->gate, (void **)&c->up,
        (void **)&c->tmp, (void **)&c->logits, (void **)&c->rope_cs, (void **)&c->qact[0],
        (void **)&c->qact[1], (void **)&c->scores, (void **)&c->dots, (void **)&c->q16,
        (void **)&c->f16_lut, (void **)&c->qf,
    };
    size_t s[INFER_N_BUFS] = {
        c->kv_bytes_each, c->kv_bytes_each,
        nb * hp->n_embd * 4, nb * hp->n_embd * 4, nb * hp->n_embd * 4,
        nb * kvd * 4, nb * kvd * 4, nb * hp->n_embd * 4,
        nb * hp->n_ff * 4, nb * hp->n_ff * 4, nb * hp->n_embd * 4,
        (size_t)hp->n_vocab * 4, nb * (size_t)hp->n_rot * 4,
        c->qact_bytes, c->qact_bytes,
        (size_t)c->n_threads * c->scores_stride * 4, (size_t)c->n_threads * c->dots_stride * 4,
        (size_t)c->n_threads * round_up((size_t)hp->head_dim, 32) * 2, 65536 * 4,
        (size_t)c->n_threads * round_up((size_t)hp->head_dim, 16) * 4,
    };
    memcpy(ptrs, p, sizeof p);
    memcpy(sizes, s, sizeof s);
}

int infer_new(struct infer **out, const struct model *m, const struct infer_opts *opts, char *err,
              size_t err_len)
{
    struct infer_opts o;
    if (opts)
        o = *opts;
    else
        infer_opts_default(&o);
    const struct model_hparams *hp = &m->hp;
    *out = NULL;
    if (o.n_ctx < 0 || o.n_batch < 0 || o.n_threads < 0 || o.kv_pad < 0)
        return err_fail(err, err_len, INFER_EARG, "negative context, batch, thread count or KV padding");
    if (o.n_seq < 0 || o.n_seq > INFER_MAX_SEQ)
        return err_fail(err, err_len, INFER_EARG, "sequence slots %d out of range (0..%d)", o.n_seq, INFER_MAX_SEQ);
    if (o.n_ctx == 0)
        o.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (o.n_batch == 0)
        o.n_batch = 64;
    if (o.n_batch > o.n_ctx)
        o.n_batch = o.n_ctx;
    o.n_threads = resolve_threads(o.n_threads);
    if (o.n_threads > POOL_MAX_THREADS)
        return err_fail(err, err_len, INFER_EARG, "thread count %d too large (at most %d)", o.n_threads,
                    POOL_MAX_THREADS);

    struct infer *c = mem_alloc(o.mem, sizeof *c, CACHE_LINE);
    if (!c)
        return err_fail(err, err_len, INFER_ENOMEM, "cannot allocate the inference context");
    memset(c, 0, sizeof *c);
    c->m = m;
    c->o = o;
    c->n_ctx = o.n_ctx;
    c->n_batch = o.n_batch;
    c->n_threads = o.n_threads;
    c->n_embd_kv = hp->head_dim * hp->n_head_kv;
    quant_kernels_init(&c->k, o.max_isa);

    c->kv_elt = o.kv_type == INFER_KV_F32 ? 4 : 2;
    c->kv_row = (size_t)c->n_embd_kv + (size_t)o.kv_pad;
    c->kv_bytes_each = (uint64_t)hp->n_layer * (uint64_t)c->n_ctx * c->kv_row * c->kv_elt;
    c->n_seq = o.n_seq > 0 ? o.n_seq : 1;
    c->kv_slot_bytes = c->kv_bytes_each;
    c->kv_bytes_each *= (uint64_t)c->n_seq;
    c->qact_bytes = (size_t)c->n_batch * max_qrow_bytes(hp);
    c->scores_stride = round_up((size_t)c->n_ctx, 16);
    c->dots_stride = round_up((size_t)c->n_batch, 16);

    void **ptrs[INFER_N_BUFS];
    size_t sizes[INFER_N_BUFS];
    buffers(c, ptrs, sizes);
    for (int i = 0; i < INFER_N_BUFS; i++) {
        *ptrs[i] = alloc_zero(c, sizes[i]);
        if (!*ptrs[i]) {
            int rc = err_fail(err, err_len, INFER_ENOMEM,
                          i < 2 ? "cannot allocate the KV cache (%zu bytes for n_ctx %d)"
                                : "cannot allocate %zu bytes of scratch (n_ctx %d)",
                          sizes[i], c->n_ctx);
            infer_free(c);
            return rc;
        }
        c->scratch_bytes += i >= 2 ? sizes[i] : 0;
    }
    for (uint32_t h = 0; h < 65536; h++)
        c->f16_lut[h] = quant_f16_to_f32((qt_half)h);
    c->seq_block_bytes = ((size_t)c->n_seq + 3 * (size_t)c->n_batch) * sizeof(int);
    c->seq_pos = alloc_zero(c, c->seq_block_bytes);
    if (!c->seq_pos) {
        int rc = err_fail(err, err_len, INFER_ENOMEM, "cannot allocate %zu bytes of sequence state", c->seq_block_bytes);
        infer_free(c);
        return rc;
    }
    c->tok_pos = c->seq_pos + c->n_seq;
    c->tok_seq = c->tok_pos + c->n_batch;
    c->tok_out = c->tok_seq + c->n_batch;

    struct pool_opts po = { .n_threads = c->n_threads, .wait = o.wait, .spin_ns = o.spin_ns,
                            .cpus = o.cpus, .n_cpus = o.n_cpus };
    char perr[256];
    c->pool = pool_new(&po, o.mem, perr, sizeof perr);
    if (!c->pool) {
        int rc = err_fail(err, err_len, INFER_EPOOL, "thread pool: %s", perr);
        infer_free(c);
        return rc;
    }
    *out = c;
    return INFER_OK;
}

void infer_free(struct infer *c)
{
    if (!c)
        return;
    pool_free(c->pool);
    void **ptrs[INFER_N_BUFS];
    size_t sizes[INFER_N_BUFS];
    buffers(c, ptrs, sizes);
    for (int i = 0; i < INFER_N_BUFS; i++)
        mem_free(c->o.mem, *ptrs[i], sizes[i]);
    mem_free(c->o.mem, c->seq_pos, c->seq_block_bytes);
    const struct mem_hooks *mem = c->o.mem;
    mem_free(mem, c, sizeof *c);
}

const float *infer_logits(const struct infer *c) { return c->logits; }
int infer_pos(const struct infer *c) { return c->pos; }
int infer_n_ctx(const struct infer *c) { return c->n_ctx; }
void infer_reset(struct infer *c) { c->pos = 0; }
const struct quant_kernels *infer_kernels(const struct infer *c) { return &c->k; }
struct pool *infer_pool(const struct infer *c) { return c->pool; }
void infer_set_small_pages(struct infer *c, bool on) { c->o.small_pages = on; }

uint64_t infer_decode_bytes(const struct infer *c)
{
    const struct model *m = c->m;
    /* weight_bytes counts the whole embedding table; decode reads one row. */
    return m->weight_bytes - m->token_embd.row_bytes * (uint64_t)m->token_embd.ne1 + m->token_embd.row_bytes +
           (m->tied ? m->output.row_bytes * (uint64_t)m->output.ne1 : 0);
}
