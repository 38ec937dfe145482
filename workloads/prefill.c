/* prefill — prompt processing: a whole prompt in batched forward passes,
 * and the time to the first generated token.
 *
 * Each repetition creates a context (n_ctx = prompt + 1), evaluates one
 * warm-up token and forgets it, then times the prompt's evaluation
 * (infer_eval over `prompt` tokens in chunks of `batch`) and the choice of
 * the first token (greedy argmax over the last position's logits):
 *   prefill_ns, prefill_tokens_per_s, ns_per_prompt_token
 *   ttft_ns          prompt evaluation + picking the first token: what a
 *                    user waits before the reply starts
 *   matmul_gflops    2 x matmul weights x prompt tokens / prefill time
 *                    (attention's flops excluded)
 * and software counters over the prompt on the pool's threads.
 */
#include <stdlib.h>
#include <string.h>

#include "harness/machine/clock.h"
#include "harness/run/session.h"
#include "workloads/wlutil.h"

static const char *const prefill_kv[] = { "f16", "f32", NULL };

enum { AX_THREADS, AX_PROMPT, AX_BATCH, AX_KERNELS, AX_KV, AX_N };

static const struct workload_axis prefill_axes[AX_N] = {
    { "threads", "engine threads (the caller included)", WORKLOAD_AXIS_INT, NULL, 1, POOL_MAX_THREADS, "1,2" },
    { "prompt", "prompt length in tokens", WORKLOAD_AXIS_INT, NULL, 1, 1 << 20, "16,64,256" },
    { "batch", "most tokens per forward pass", WORKLOAD_AXIS_INT, NULL, 1, 1 << 16, "64" },
    { "kernels", "kernel ISA: auto (fastest), ref, avx2, avx512", WORKLOAD_AXIS_CHOICE, wlutil_kernel_choices, 0, 0,
      "auto" },
    { "kv", "KV cache element type", WORKLOAD_AXIS_CHOICE, prefill_kv, 0, 0, "f16" },
};

struct prefill_state {
    struct session s;
    int threads, prompt, batch;
    enum quant_isa isa;
    enum infer_kv_type kv;
};

static void prefill_teardown(void *state)
{
    struct prefill_state *s = state;
    if (!s)
        return;
    session_close(&s->s);
    free(s);
}

static int prefill_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct prefill_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "prefill: out of memory");
        return -1;
    }
    s->s.fd = -1;
    s->threads = (int)cfg->num[AX_THREADS];
    s->prompt = (int)cfg->num[AX_PROMPT];
    s->batch = (int)cfg->num[AX_BATCH];
    s->kv = cfg->num[AX_KV] == 1 ? INFER_KV_F32 : INFER_KV_F16;
    if (wlutil_kernels((int)cfg->num[AX_KERNELS], &s->isa, err, err_len) != 0)
        goto fail;
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = cfg->model_path;
    if (session_open(&s->s, &so, false, err, err_len) != 0)
        goto fail;
    *state = s;
    return 0;
fail:
    prefill_teardown(s);
    return -1;
}

static const char *const prefill_sw_names[] = { "context_switches", "cpu_migrations", "minor_faults",
                                                "major_faults", "task_clock_ns", NULL };

static int prefill_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct prefill_state *s = state;
    const struct model *m = &s->s.m;
    int n_vocab = m->hp.n_vocab;
    struct infer_opts o;
    infer_opts_default(&o);
    o.n_threads = s->threads;
    o.max_isa = s->isa;
    o.kv_type = s->kv;
    o.n_ctx = s->prompt + 1;
    o.n_batch = s->batch;

    struct infer *c = NULL;
    struct wlutil_ctr sw = { .n = -1 };
    int32_t *toks = malloc((size_t)s->prompt * sizeof *toks);
    int rc = -1;
    char e[256];
    if (!toks) {
        snprintf(err, err_len, "prefill: out of memory");
        goto done;
    }
    for (int i = 0; i < s->prompt; i++)
        toks[i] = wlutil_token(1 + i, n_vocab);
    if (wlutil_infer_warm(&c, m, &o, &s->s.file, err, err_len) != 0)
        goto done;
    int tids[POOL_MAX_THREADS];
    int nt = wlutil_pool_tids(infer_pool(c), tids, POOL_MAX_THREADS);
    wlutil_ctr_open(&sw, CTR_SW, tids, nt, false);

    wlutil_weights_ready(&s->s.file, out);
    wlutil_ctr_begin(&sw);
    uint64_t t0 = clock_ns();
    int r = infer_eval(c, toks, s->prompt, NULL, e, sizeof e);
    uint64_t t1 = clock_ns();
    wlutil_ctr_end(&sw);
    if (r != INFER_OK) {
        snprintf(err, err_len, "prefill of %d tokens: %s", s->prompt, e);
        goto done;
    }
    const float *logits = infer_logits(c);
    int best = 0;
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] > logits[best])
            best = i;
    uint64_t t2 = clock_ns();
    volatile int keep = best;
    (void)keep;

    double ns = (double)(t1 - t0);
    workload_emit(out, "prefill_ns", "ns", METRIC_SRC_TIME, ns);
    workload_emit(out, "prefill_tokens_per_s", "tok/s", METRIC_SRC_TIME, s->prompt / (ns * 1e-9));
    workload_emit(out, "ns_per_prompt_token", "ns", METRIC_SRC_TIME, ns / s->prompt);
    workload_emit(out, "ttft_ns", "ns", METRIC_SRC_TIME, (double)(t2 - t0));
    workload_emit(out, "matmul_gflops", "GFLOP/s", METRIC_SRC_DERIVED,
                  2 * wlutil_matmul_params(m) * s->prompt / ns);
    int eff_batch = s->batch < infer_n_ctx(c) ? s->batch : infer_n_ctx(c); /* infer_new clips it */
    workload_emit(out, "passes", "count", METRIC_SRC_DERIVED, (double)((s->prompt + eff_batch - 1) / eff_batch));
    wlutil_ctr_emit(&sw, out, prefill_sw_names);
    rc = 0;
done:
    wlutil_ctr_close(&sw);
    infer_free(c);
    free(toks);
    return rc;
}

/* The primary set: prompt tokens per second. */
static const struct metric_decl prefill_metrics[] = {
    /* where the weights were when the clock started (wlutil_weights_ready): context */
    { "weights_resident_fraction", METRIC_SEM(NEITHER, ENV, false) },
    { "weights_rewarmed", METRIC_SEM(NEITHER, INFO, false) },
    { "prefill_tokens_per_s", METRIC_SEM(HIGHER, SAMPLE, true) },
    { "matmul_gflops", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "passes", METRIC_SEM(NEITHER, INFO, false) },
    { "ttft_ns", METRIC_SEM(LOWER, SAMPLE, false) },
    { "prefill_ns", METRIC_SEM(LOWER, SAMPLE, false) },
    { "ns_per_prompt_token", METRIC_SEM(LOWER, SAMPLE, false) },
};

const struct workload workload_prefill = {
    WORKLOAD_METRICS(prefill_metrics),
    .name = "prefill",
    .description = "prompt processing: tokens/s per prompt length and time to first token",
    .axes = prefill_axes,
    .n_axes = AX_N,
    .flags = WORKLOAD_NEEDS_MODEL,
    .setup = prefill_setup,
    .run = prefill_run,
    .work = NULL, /* run() also creates the context: prefill_ns times the prompt itself */
    .teardown = prefill_teardown,
};
