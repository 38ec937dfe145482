/* batch — continuous batching: many requests share one inference context.
 *
 * Requests wait in a bounded queue; each step admits waiting requests into
 * free KV slots (in FIFO or shortest-prompt-first order), then runs ONE
 * forward pass (infer_eval_batch) holding one decode token of every
 * generating slot plus prompt chunks of the slots still prefilling, samples
 * each slot's next token and reports it. A request leaves its slot the step
 * it ends (length, end of sequence, context full, cancel), and the next
 * waiting one takes the slot on the following step.
 *
 * Threads: batch_submit, batch_cancel, batch_queued and batch_busy may be
 * called from any thread; batch_step and batch_wait from one stepping
 * thread, which is also where every callback runs. All memory (queue,
 * samplers, logits, pass arrays) is allocated in batch_new; a step
 * allocates nothing.
 */
#ifndef GGPERF_ENGINE_BATCH_H
#define GGPERF_ENGINE_BATCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/infer.h"
#include "engine/sampler.h"

enum batch_err {
    BATCH_OK = 0,
    BATCH_EARG = -1,    /* bad option or request (message says which) */
    BATCH_EFULL = -2,   /* the queue is full: try again later */
    BATCH_ENOMEM = -3,
    BATCH_ECLOSED = -4, /* batch_close was called: no new requests */
};

/* Order in which waiting requests get a free slot. */
enum batch_policy {
    BATCH_FIFO = 0,     /* arrival order */
    BATCH_SPF = 1,      /* shortest prompt first (ties: arrival order) */
};

struct batch_opts {
    int queue_cap;             /* most waiting requests (not counting those in slots); 0 = 64 */
    int prefill_chunk;         /* most prompt tokens of one request per pass; 0 = the context's n_batch */
    enum batch_policy policy;
};

/* Why a request ended. */
enum batch_end {
    BATCH_END_LENGTH = 0,      /* max_tokens generated */
    BATCH_END_EOS = 1,         /* the end-of-sequence token was sampled */
    BATCH_END_CONTEXT = 2,     /* the slot's context is full */
    BATCH_END_CANCEL = 3,      /* cancelled (batch_cancel, or a callback asked) */
    BATCH_END_ERROR = 4,       /* the forward pass failed (message in the request) */
};

enum batch_event {
    BATCH_EV_ADMIT = 0,        /* the request got a slot (its queue wait ends) */
    BATCH_EV_TOKEN = 1,        /* token holds the next generated token */
    BATCH_EV_DONE = 2,         /* end holds why; the engine never touches the request again */
};

struct batch_req;

/* Called on the stepping thread. For ADMIT and TOKEN, a nonzero return
 * cancels the request (its slot is freed in this step; DONE follows). */
typedef int (*batch_event_fn)(struct batch_req *r, enum batch_event ev, int32_t token);

/* One request, owned by the caller and untouched by it (but for cancel)
 * from batch_submit until its DONE event. */
struct batch_req {
    /* set by the caller */
    const int32_t *prompt;     /* borrowed until DONE */
    int n_prompt;
    int max_tokens;            /* >= 1 */
    float temperature;         /* <= 0: greedy */
    float top_p;
    int top_k;
    uint64_t seed;
    int32_t eos;               /* < 0: none */
    batch_event_fn on_event;
    void *user;
    /* set by the engine */
    atomic_int cancel;         /* nonzero: end at the next step (batch_cancel sets it) */
    int n_gen;                 /* tokens generated so far */
    int slot;                  /* its KV slot while admitted, else -1 */
    enum batch_end end;
    uint64_t order;            /* arrival number */
    int n_fed;                 /* prompt tokens evaluated so far */
    int32_t last;              /* last generated token (fed next step) */
    char err[128];
};

struct batch;

/* A batcher over context c (which it borrows; its n_seq slots are the
 * batch's slots, n_vocab and n_ctx come from model m). */
int batch_new(struct batch **out, struct infer *c, const struct model *m, const struct batch_opts *o,
              const struct mem_hooks *mem, char *err, size_t err_len);

/* Free; NULL does nothing. Requests still queued or in slots get no DONE:
 * end them first (batch_close, then step until batch_idle). */
void batch_free(struct batch *b);

/* Queue r. BATCH_EARG (empty prompt, prompt that leaves no room to
 * generate in a slot's context, max_tokens < 1, no callback), BATCH_EFULL,
 * or BATCH_ECLOSED; on success r is the engine's until its DONE event. */
int batch_submit(struct batch *b, struct batch_req *r, char *err, size_t err_len);

/* Ask r to end at the next step (queued or running). Any thread. */
void batch_cancel(struct batch_req *r);

/* Refuse new requests from now on (SIGTERM drain); queued and running ones
 * continue. Wakes batch_wait. */
void batch_close(struct batch *b);

/* Run one step: admit, one forward pass, sample, report. Returns the
 * number of tokens evaluated (0: nothing to do), or a negative infer_err
 * when the pass failed (the requests in it end with BATCH_END_ERROR). */
int batch_step(struct batch *b);

/* Block until there is work or timeout_ms passes (or batch_close/batch_wake). */
void batch_wait(struct batch *b, int timeout_ms);

/* Wake a batch_wait. */
void batch_wake(struct batch *b);

/* Requests waiting for a slot; slots busy; nothing queued or busy. */
int batch_queued(struct batch *b);
int batch_busy(struct batch *b);
int batch_idle(struct batch *b);
int batch_slots(const struct batch *b);

#endif
