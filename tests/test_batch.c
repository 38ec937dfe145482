/* batch suite: continuous batching (engine/batch.h). With the reference
 * kernels a sequence's logits do not depend on its pass-mates, so every
 * request's greedy tokens must equal the same prompt generated alone; plus
 * the policies' admission order, the bounded queue, cancellation freeing a
 * slot at the next step, and no allocation per step. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/batch.h"
#include "harness/run/session.h"
#include "tests/testutil.h"

#define N_REQ 10
#define MAX_GEN 12

struct rec {
    struct batch_req r;
    int32_t prompt[24];
    int32_t got[MAX_GEN];
    int admit_rank, done, cancel_after;
};

static int admit_counter;

static int on_event(struct batch_req *r, enum batch_event ev, int32_t tok)
{
    struct rec *x = r->user;
    if (ev == BATCH_EV_ADMIT)
        x->admit_rank = admit_counter++;
    else if (ev == BATCH_EV_TOKEN) {
        ck_assert_int_lt(r->n_gen, MAX_GEN + 1);
        x->got[r->n_gen - 1] = tok;
        return x->cancel_after > 0 && r->n_gen >= x->cancel_after;
    } else
        x->done++;
    return 0;
}

static void open_ctx_batch(struct session *s, int n_seq, int n_batch, struct mem_hooks *mem)
{
    char path[1024], err[1024];
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = tu_golden_path(path, sizeof path, "shared-Q4_0.gguf");
    so.infer.n_threads = 2;
    so.infer.n_ctx = 48;
    so.infer.n_batch = n_batch;
    so.infer.n_seq = n_seq;
    so.infer.max_isa = QISA_REF;
    so.infer.mem = mem;
    ck_assert_msg(session_open(s, &so, true, err, sizeof err) == 0, "%s", err);
}

static void open_ctx(struct session *s, int n_seq, struct mem_hooks *mem) { open_ctx_batch(s, n_seq, 16, mem); }

static void make_req(struct rec *x, int i)
{
    memset(x, 0, sizeof *x);
    int n = 1 + (i * 7) % 20;
    for (int j = 0; j < n; j++)
        x->prompt[j] = (int32_t)((1 + i * 131 + j * 37) % 1024);
    x->r.prompt = x->prompt;
    x->r.n_prompt = n;
    x->r.max_tokens = 6 + i % 7;
    x->r.eos = -1;
    x->r.on_event = on_event;
    x->r.user = x;
    x->admit_rank = -1;
}

/* Greedy tokens of x's prompt in a one-sequence context. */
static void alone(struct session *s, const struct rec *x, int32_t *out)
{
    char err[256];
    infer_reset(s->ctx);
    ck_assert_int_eq(infer_eval(s->ctx, x->prompt, x->r.n_prompt, NULL, err, sizeof err), 0);
    for (int g = 0; g < x->r.max_tokens; g++) {
        const float *l = infer_logits(s->ctx);
        int32_t best = 0;
        for (int32_t v = 1; v < 1024; v++)
            if (l[v] > l[best])
                best = v;
        out[g] = best;
        ck_assert_int_eq(infer_eval(s->ctx, &best, 1, NULL, err, sizeof err), 0);
    }
}

START_TEST(test_batch_equals_alone)
{
    /* _i: 0 FIFO, 1 shortest prompt first */
    char err[256];
    struct session one;
    open_ctx(&one, 1, NULL);
    static struct rec recs[N_REQ];
    int32_t want[N_REQ][MAX_GEN];
    for (int i = 0; i < N_REQ; i++) {
        make_req(&recs[i], i);
        alone(&one, &recs[i], want[i]);
    }
    session_close(&one);

    struct mem_counter mc = { 0 };
    struct mem_hooks hooks = mem_counting_hooks(&mc);
    struct session s;
    open_ctx(&s, 3, &hooks);
    struct batch *b;
    struct batch_opts bo = { .queue_cap = N_REQ, .prefill_chunk = 4, .policy = _i ? BATCH_SPF : BATCH_FIFO };
    ck_assert_msg(batch_new(&b, s.ctx, &s.m, &bo, &hooks, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(batch_slots(b), 3);
    admit_counter = 0;
    for (int i = 0; i < N_REQ; i++)
        ck_assert_msg(batch_submit(b, &recs[i].r, err, sizeof err) == 0, "%s", err);
    /* The queue is bounded. */
    struct rec extra;
    make_req(&extra, 0);
    ck_assert_int_eq(batch_submit(b, &extra.r, err, sizeof err), BATCH_EFULL);
    ck_assert_int_eq(batch_queued(b), N_REQ);
    size_t allocs = mc.n_alloc;
    int steps = 0, max_busy = 0;
    while (!batch_idle(b)) {
        ck_assert_int_ge(batch_step(b), 0);
        if (batch_busy(b) > max_busy)
            max_busy = batch_busy(b);
        ck_assert_int_lt(++steps, 1000);
    }
    ck_assert_uint_eq(mc.n_alloc, allocs); /* no allocation per step */
    ck_assert_int_eq(max_busy, 3);
    for (int i = 0; i < N_REQ; i++) {
        ck_assert_int_eq(recs[i].done, 1);
        ck_assert_int_eq(recs[i].r.end, BATCH_END_LENGTH);
        ck_assert_int_eq(recs[i].r.n_gen, recs[i].r.max_tokens);
        for (int g = 0; g < recs[i].r.max_tokens; g++)
            ck_assert_msg(recs[i].got[g] == want[i][g], "request %d token %d: batched %d, alone %d", i, g,
                          recs[i].got[g], want[i][g]);
    }
    /* Admission order follows the policy. */
    for (int i = 0; i < N_REQ; i++)
        for (int j = 0; j < N_REQ; j++) {
            if (i == j)
                continue;
            bool before = bo.policy == BATCH_FIFO ? i < j
                          : (recs[i].r.n_prompt < recs[j].r.n_prompt ||
                             (recs[i].r.n_prompt == recs[j].r.n_prompt && i < j));
            if (before)
                ck_assert_msg(recs[i].admit_rank < recs[j].admit_rank, "policy %d: %d admitted after %d",
                              (int)bo.policy, i, j);
        }
    batch_free(b);
    session_close(&s);
    ck_assert_uint_eq(mc.n_alloc, mc.n_free);
}
END_TEST

START_TEST(test_batch_cancel_frees_slot)
{
    char err[256];
    struct session s;
    open_ctx(&s, 2, NULL);
    struct batch *b;
    struct batch_opts bo = { .queue_cap = 4 };
    ck_assert_msg(batch_new(&b, s.ctx, &s.m, &bo, NULL, err, sizeof err) == 0, "%s", err);
    static struct rec r[4];
    for (int i = 0; i < 4; i++) {
        make_req(&r[i], i);
        r[i].r.max_tokens = 10;
    }
    r[0].cancel_after = 2;      /* the "client" goes away after two tokens */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(batch_submit(b, &r[i].r, err, sizeof err), 0);
    batch_cancel(&r[2].r);      /* cancelled while still queued */
    while (!batch_idle(b))
        ck_assert_int_ge(batch_step(b), 0);
    ck_assert_int_eq(r[0].r.end, BATCH_END_CANCEL);
    ck_assert_int_eq(r[0].r.n_gen, 2);
    ck_assert_int_eq(r[1].r.end, BATCH_END_LENGTH);
    ck_assert_int_eq(r[2].r.end, BATCH_END_CANCEL);
    ck_assert_int_eq(r[2].r.n_gen, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(r[i].done, 1);
    /* A prompt longer than a slot's context and a closed batcher are refused. */
    static int32_t big[49];
    struct rec x;
    make_req(&x, 1);
    x.r.prompt = big;
    x.r.n_prompt = 49;
    ck_assert_int_eq(batch_submit(b, &x.r, err, sizeof err), BATCH_EARG);
    ck_assert_ptr_nonnull(strstr(err, "1..48"));
    batch_close(b);
    ck_assert_int_eq(batch_submit(b, &r[3].r, err, sizeof err), BATCH_ECLOSED);
    batch_free(b);
    session_close(&s);
}
END_TEST

/* More slots than a pass holds tokens (20 slots, 4 tokens a pass): the
 * slots take turns, every request completes with its lone-run tokens. */
START_TEST(test_batch_more_slots_than_pass)
{
    char err[256];
    struct session one;
    open_ctx(&one, 1, NULL);
    static struct rec recs[N_REQ];
    int32_t want[N_REQ][MAX_GEN];
    for (int i = 0; i < N_REQ; i++) {
        make_req(&recs[i], i);
        alone(&one, &recs[i], want[i]);
    }
    session_close(&one);
    struct session s;
    open_ctx_batch(&s, 20, 4, NULL);
    struct batch *b;
    struct batch_opts bo = { .queue_cap = N_REQ };
    ck_assert_msg(batch_new(&b, s.ctx, &s.m, &bo, NULL, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < N_REQ; i++)
        ck_assert_int_eq(batch_submit(b, &recs[i].r, err, sizeof err), 0);
    for (int steps = 0; !batch_idle(b); steps++) {
        ck_assert_int_le(batch_step(b), 4);
        ck_assert_int_lt(steps, 2000);
    }
    for (int i = 0; i < N_REQ; i++) {
        ck_assert_int_eq(recs[i].r.end, BATCH_END_LENGTH);
        for (int g = 0; g < recs[i].r.max_tokens; g++)
            ck_assert_int_eq(recs[i].got[g], want[i][g]);
    }
    batch_free(b);
    session_close(&s);
}
END_TEST

Suite *batch_suite(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_batch_equals_alone, 0, 2);
    tcase_add_test(tc, test_batch_cancel_frees_slot);
    tcase_add_test(tc, test_batch_more_slots_than_pass);
    suite_add_tcase(s, tc);
    return s;
}
