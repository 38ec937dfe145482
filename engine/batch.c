/* batch — continuous batching over one inference context (see batch.h).
 *
 * The queue is an array of request pointers under a mutex; slots, samplers
 * and the pass arrays belong to the stepping thread alone. A step takes the
 * lock once (to drop cancelled waiters and admit), then runs the pass and
 * the callbacks without it, so submitters never wait for a forward pass. */
#include "engine/batch.h"
#include "base/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/mem.h"

struct batch {
    struct infer *c;
    struct batch_opts o;
    const struct mem_hooks *mem;
    int n_slots, n_batch, n_vocab, n_ctx, chunk;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch_req **queue;      /* [cap], arrival order */
    int n_queued, cap;
    bool closed;
    int wakes;
    uint64_t next_order;
    atomic_int busy;

    struct batch_req **slots;      /* [n_slots], NULL = free */
    struct sampler **samplers;     /* [n_slots] */
    struct batch_req **ended;      /* [cap] cancelled while queued (one step's) */
    struct batch_req **admitted;   /* [n_slots] */
    int32_t *ptok;                 /* [n_batch] the pass */
    int *pseq;
    uint8_t *pwant;
    struct batch_req **prow;       /* [n_batch] request of each wanted row */
    struct batch_req **pin;        /* [n_slots] requests in the pass */
    float *logits;                 /* [n_batch][n_vocab] */
    int rr;                        /* first slot offered prefill room (fairness) */
};

/* The arrays batch_free releases, with their sizes. */
#define BATCH_N_BUFS 11
static void batch_buffers(struct batch *b, void ***p, size_t *s)
{
    void **ptrs[BATCH_N_BUFS] = {
        (void **)&b->queue, (void **)&b->slots, (void **)&b->samplers, (void **)&b->ended,
        (void **)&b->admitted, (void **)&b->ptok, (void **)&b->pseq, (void **)&b->pwant,
        (void **)&b->prow, (void **)&b->pin, (void **)&b->logits,
    };
    size_t sizes[BATCH_N_BUFS] = {
        (size_t)b->cap * sizeof(void *), (size_t)b->n_slots * sizeof(void *),
        (size_t)b->n_slots * sizeof(void *), (size_t)b->cap * sizeof(void *),
        (size_t)b->n_slots * sizeof(void *), (size_t)b->n_batch * sizeof(int32_t),
        (size_t)b->n_batch * sizeof(int), (size_t)b->n_batch, (size_t)b->n_batch * sizeof(void *),
        (size_t)b->n_slots * sizeof(void *), (size_t)b->n_batch * (size_t)b->n_vocab * sizeof(float),
    };
    memcpy(p, ptrs, sizeof ptrs);
    memcpy(s, sizes, sizeof sizes);
}

int batch_new(struct batch **out, struct infer *c, const struct model *m, const struct batch_opts *opts,
              const struct mem_hooks *mem, char *err, size_t err_len)
{
    struct batch_opts o = { 0 };
    if (opts)
        o = *opts;
    *out = NULL;
    if (o.queue_cap < 0 || o.prefill_chunk < 0 || (o.policy != BATCH_FIFO && o.policy != BATCH_SPF))
        return err_fail(err, err_len, BATCH_EARG, "batch: queue capacity %d, prefill chunk %d or policy %d invalid",
                    o.queue_cap, o.prefill_chunk, (int)o.policy);
    if (o.queue_cap == 0)
        o.queue_cap = 64;
    struct batch *b = mem_alloc(mem, sizeof *b, 64);
    if (!b)
        return err_fail(err, err_len, BATCH_ENOMEM, "batch: out of memory");
    memset(b, 0, sizeof *b);
    b->c = c;
    b->o = o;
    b->mem = mem;
    b->n_slots = infer_n_seq(c);
    b->n_batch = infer_n_batch(c);
    b->n_vocab = m->hp.n_vocab;
    b->n_ctx = infer_n_ctx(c);
    b->cap = o.queue_cap;
    b->chunk = o.prefill_chunk > 0 && o.prefill_chunk < b->n_batch ? o.prefill_chunk : b->n_batch;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&b->busy, 0);
    void **ptrs[BATCH_N_BUFS];
    size_t sizes[BATCH_N_BUFS];
    batch_buffers(b, ptrs, sizes);
    for (int i = 0; i < BATCH_N_BUFS; i++) {
        *ptrs[i] = mem_alloc(mem, sizes[i], 64);
        if (!*ptrs[i]) {
            batch_free(b);
            return err_fail(err, err_len, BATCH_ENOMEM, "batch: cannot allocate %zu bytes", sizes[i]);
        }
        memset(*ptrs[i], 0, sizes[i]);
    }
    struct sampler_opts so = { 0 };
    for (int s = 0; s < b->n_slots; s++) {
        char serr[128];
        b->samplers[s] = sampler_new(b->n_vocab, &so, mem, serr, sizeof serr);
        if (!b->samplers[s]) {
            batch_free(b);
            return err_fail(err, err_len, BATCH_ENOMEM, "batch: %s", serr);
        }
    }
    *out = b;
    return BATCH_OK;
}

void batch_free(struct batch *b)
{
    if (!b)
        return;
    if (b->samplers)
        for (int s = 0; s < b->n_slots; s++)
            sampler_free(b->samplers[s]);
    void **ptrs[BATCH_N_BUFS];
    size_t sizes[BATCH_N_BUFS];
    batch_buffers(b, ptrs, sizes);
    for (int i = 0; i < BATCH_N_BUFS; i++)
        mem_free(b->mem, *ptrs[i], sizes[i]);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    mem_free(b->mem, b, sizeof *b);
}

int batch_submit(struct batch *b, struct batch_req *r, char *err, size_t err_len)
{
    if (!r || !r->on_event || !r->prompt)
        return err_fail(err, err_len, BATCH_EARG, "request without a prompt or an event callback");
    if (r->n_prompt < 1 || r->n_prompt > b->n_ctx)
        return err_fail(err, err_len, BATCH_EARG, "prompt of %d tokens: a slot holds 1..%d", r->n_prompt, b->n_ctx);
    if (r->max_tokens < 1)
        return err_fail(err, err_len, BATCH_EARG, "max_tokens %d: at least 1", r->max_tokens);
    for (int i = 0; i < r->n_prompt; i++)
        if (r->prompt[i] < 0 || r->prompt[i] >= b->n_vocab)
            return err_fail(err, err_len, BATCH_EARG, "prompt token %d (index %d) is outside the vocabulary (0..%d)",
                        r->prompt[i], i, b->n_vocab - 1);
    atomic_store(&r->cancel, 0);
    r->n_gen = 0;
    r->n_fed = 0;
    r->slot = -1;
    r->err[0] = '\0';
    pthread_mutex_lock(&b->mu);
    int rc = BATCH_OK;
    if (b->closed)
        rc = err_fail(err, err_len, BATCH_ECLOSED, "the server is shutting down");
    else if (b->n_queued >= b->cap)
        rc = err_fail(err, err_len, BATCH_EFULL, "the queue is full (%d waiting)", b->n_queued);
    else {
        r->order = b->next_order++;
        b->queue[b->n_queued++] = r;
        pthread_cond_signal(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void batch_cancel(struct batch_req *r) { atomic_store(&r->cancel, 1); }

void batch_close(struct batch *b)
{
    pthread_mutex_lock(&b->mu);
    b->closed = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void batch_wake(struct batch *b)
{
    pthread_mutex_lock(&b->mu);
    b->wakes++;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void batch_wait(struct batch *b, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    int wakes = b->wakes;
    while (b->n_queued == 0 && atomic_load(&b->busy) == 0 && !b->closed && wakes == b->wakes)
        if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&b->mu);
}

int batch_queued(struct batch *b)
{
    pthread_mutex_lock(&b->mu);
    int n = b->n_queued;
    pthread_mutex_unlock(&b->mu);
    return n;
}

int batch_busy(struct batch *b) { return atomic_load(&b->busy); }
int batch_idle(struct batch *b) { return batch_queued(b) == 0 && batch_busy(b) == 0; }
int batch_slots(const struct batch *b) { return b->n_slots; }

/* Index in the queue of the next request to admit under the policy. */
static int pick(const struct batch *b)
{
    if (b->o.policy == BATCH_FIFO)
        return 0;
    int best = 0;
    for (int i = 1; i < b->n_queued; i++)
        if (b->queue[i]->n_prompt < b->queue[best]->n_prompt)
            best = i;
    return best;
}

static void queue_remove(struct batch *b, int i)
{
    memmove(&b->queue[i], &b->queue[i + 1], (size_t)(b->n_queued - i - 1) * sizeof *b->queue);
    b->n_queued--;
}

/* End r: free its slot, report DONE. */
static void finish(struct batch *b, struct batch_req *r, enum batch_end why)
{
    if (r->slot >= 0) {
        b->slots[r->slot] = NULL;
        atomic_fetch_sub(&b->busy, 1);
    }
    r->slot = -1;
    r->end = why;
    r->on_event(r, BATCH_EV_DONE, -1);
}

int batch_step(struct batch *b)
{
    int n_ended = 0, n_adm = 0;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < b->n_queued;) {
        if (atomic_load(&b->queue[i]->cancel)) {
            b->ended[n_ended++] = b->queue[i];
            queue_remove(b, i);
        } else {
            i++;
        }
    }
    for (int s = 0; s < b->n_slots && b->n_queued > 0; s++) {
        if (b->slots[s])
            continue;
        int i = pick(b);
        struct batch_req *r = b->queue[i];
        queue_remove(b, i);
        r->slot = s;
        b->slots[s] = r;
        atomic_fetch_add(&b->busy, 1);
        b->admitted[n_adm++] = r;
    }
    pthread_mutex_unlock(&b->mu);

    for (int i = 0; i < n_ended; i++)
        finish(b, b->ended[i], BATCH_END_CANCEL);
    for (int i = 0; i < n_adm; i++) {
        struct batch_req *r = b->admitted[i];
        infer_seq_reset(b->c, r->slot);
        sampler_retune(b->samplers[r->slot], r->temperature, r->top_p, r->top_k, r->seed);
        if (r->on_event(r, BATCH_EV_ADMIT, -1))
            atomic_store(&r->cancel, 1);
    }
    for (int s = 0; s < b->n_slots; s++)
        if (b->slots[s] && atomic_load(&b->slots[s]->cancel))
            finish(b, b->slots[s], BATCH_END_CANCEL);

    /* The pass: every generating slot's last token, then prompt chunks in
     * the room left. Both loops start at a slot that moves each step, so
     * with more slots than a pass holds no slot waits forever. */
    int n = 0, n_rows = 0, n_in = 0;
    for (int k = 0; k < b->n_slots && n < b->n_batch; k++) {
        int s = (b->rr + k) % b->n_slots;
        struct batch_req *r = b->slots[s];
        if (!r || r->n_fed < r->n_prompt)
            continue;
        b->ptok[n] = r->last;
        b->pseq[n] = s;
        b->pwant[n++] = 1;
        b->prow[n_rows++] = r;
        b->pin[n_in++] = r;
    }
    for (int k = 0; k < b->n_slots && n < b->n_batch; k++) {
        int s = (b->rr + k) % b->n_slots;
        struct batch_req *r = b->slots[s];
        if (!r || r->n_fed >= r->n_prompt)
            continue;
        int take = r->n_prompt - r->n_fed;
        if (take > b->chunk)
            take = b->chunk;
        if (take > b->n_batch - n)
            take = b->n_batch - n;
        for (int j = 0; j < take; j++) {
            b->ptok[n] = r->prompt[r->n_fed + j];
            b->pseq[n] = s;
            b->pwant[n++] = 0;
        }
        r->n_fed += take;
        if (r->n_fed == r->n_prompt) {
            b->pwant[n - 1] = 1;
            b->prow[n_rows++] = r;
        }
        b->pin[n_in++] = r;
    }
    b->rr = (b->rr + 1) % b->n_slots;
    if (n == 0)
        return 0;

    /* A pass of unfinished prompt chunks only needs no logits, but a pass
     * computes at least one row: take the last token's and drop it. */
    if (n_rows == 0)
        b->pwant[n - 1] = 1;
    char err[128];
    int rc = infer_eval_batch(b->c, b->ptok, b->pseq, b->pwant, n, b->logits, err, sizeof err);
    if (rc != INFER_OK) {
        for (int i = 0; i < n_in; i++) {
            snprintf(b->pin[i]->err, sizeof b->pin[i]->err, "%s", err);
            finish(b, b->pin[i], BATCH_END_ERROR);
        }
        return rc;
    }
    for (int k = 0; k < n_rows; k++) {
        struct batch_req *r = b->prow[k];
        int32_t tok = sampler_sample(b->samplers[r->slot], b->logits + (size_t)k * b->n_vocab);
        if (tok < 0) {
            snprintf(r->err, sizeof r->err, "sampler found no candidate (all logits NaN)");
            finish(b, r, BATCH_END_ERROR);
            continue;
        }
        if (r->eos >= 0 && tok == r->eos) {
            finish(b, r, BATCH_END_EOS);
            continue;
        }
        r->n_gen++;
        r->last = tok;
        if (r->on_event(r, BATCH_EV_TOKEN, tok) || atomic_load(&r->cancel))
            finish(b, r, BATCH_END_CANCEL);
        else if (r->n_gen >= r->max_tokens)
            finish(b, r, BATCH_END_LENGTH);
        else if (infer_seq_pos(b->c, r->slot) >= b->n_ctx)
            finish(b, r, BATCH_END_CONTEXT);
    }
    return n;
}
