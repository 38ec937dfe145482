/* serve — serving under load: QPS and tail latency of the continuous
 * batcher, in process or through the HTTP server over loopback.
 *
 * Each repetition builds the server side fresh (context with `slots` KV
 * slots of prompt + gen positions, `threads` engine threads; route inproc:
 * the batcher and one stepping thread; route http: `ggperf serve`'s server
 * on 127.0.0.1, a free port), then drives it with serve/loadgen.h:
 *   mode closed: `load` clients, each sending its next request when the
 *     last is done;
 *   mode open: Poisson arrivals at `load` requests/s (at most 1024 in
 *     flight), every latency from the intended send time (no coordinated
 *     omission).
 * `requests` requests per repetition, token-id prompts of `prompt` tokens,
 * `gen` tokens generated each (end of sequence ignored). The alloc axis is
 * the memory of the token path: prealloc (one buffer per client/request,
 * sized up front), arena (one block per request), malloc (one per token):
 * in process, the record of each token the client keeps; over HTTP, the
 * server's buffer for each streamed event.
 *
 * Scheduler stress: mode closed, route inproc, load 100,1000,10000 (one
 * thread per client), with the wake-up figures below.
 *
 * Figures:
 *   qps, tokens_per_s                achieved (derived: completed / wall)
 *   ttft_*_ns, itl_*_ns, e2e_*_ns   time to first token, inter-token gap,
 *                                    request latency: p50/p95/p99/max (time)
 *   queue_wait_*_ns                  inproc: intended send -> slot admission;
 *                                    http: unsupported (admission is inside
 *                                    the server; its /metrics has it)
 *   client_wakeup_*_ns               inproc: the engine's completion signal ->
 *                                    the client thread running (time)
 *   requests_ok/_failed/_refused     refused = queue full (503 / BATCH_EFULL)
 *   context_switches_voluntary/_involuntary  getrusage delta, whole process (sw)
 *   runq_wait_clients_ns             client threads' run-queue wait, schedstat (sched)
 *   runnable_mean, runnable_max      /proc/loadavg's running-task count sampled
 *                                    every 5 ms during the load (sw; the whole
 *                                    machine: the run-queue length)
 *   wakeup_latency_*_ns, runq_wait_ns  the engine pool's threads through the
 *                                    sched tracepoints (sched); without tracefs
 *                                    each is unsupported with the reason
 *   rss_peak_bytes, rss_bytes        VmHWM (reset before the load) / VmRSS after it
 *                                    (sw; the client threads count too: same process)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine/batch.h"
#include "engine/tokenizer.h"
#include "harness/run/session.h"
#include "serve/loadgen.h"
#include "serve/server.h"
#include "workloads/wlutil.h"

static const char *const serve_routes[] = { "inproc", "http", NULL };
static const char *const serve_modes[] = { "closed", "open", NULL };
static const char *const serve_allocs[] = { "prealloc", "malloc", "arena", NULL };

enum { AX_ROUTE, AX_MODE, AX_LOAD, AX_SLOTS, AX_THREADS, AX_ALLOC, AX_PROMPT, AX_GEN, AX_REQUESTS, AX_N };

static const struct workload_axis serve_axes[AX_N] = {
    { "route", "in process (batch_submit) or HTTP over loopback", WORKLOAD_AXIS_CHOICE, serve_routes, 0, 0,
      "inproc,http" },
    { "mode", "closed loop (load = clients) or open loop (load = requests/s, Poisson)", WORKLOAD_AXIS_CHOICE,
      serve_modes, 0, 0, "closed" },
    { "load", "clients (closed) or offered requests/s (open)", WORKLOAD_AXIS_INT, NULL, 1, 10000, "1,8" },
    { "slots", "KV slots: requests generating at once", WORKLOAD_AXIS_INT, NULL, 1, INFER_MAX_SEQ, "8" },
    { "threads", "engine threads (0 = online CPUs)", WORKLOAD_AXIS_INT, NULL, 0, POOL_MAX_THREADS, "0" },
    { "alloc", "memory of the token path: prealloc, malloc per token, arena per request", WORKLOAD_AXIS_CHOICE,
      serve_allocs, 0, 0, "prealloc" },
    { "prompt", "prompt tokens per request", WORKLOAD_AXIS_INT, NULL, 1, 4096, "32" },
    { "gen", "tokens generated per request", WORKLOAD_AXIS_INT, NULL, 1, 4096, "32" },
    { "requests", "requests per repetition", WORKLOAD_AXIS_INT, NULL, 1, 1000000, "32" },
};

struct serve_state {
    const char *model_path;
    int route, mode, load, slots, threads, alloc, prompt, gen, requests;
    uint64_t seed;
};

static int serve_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct serve_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "serve: out of memory");
        return -1;
    }
    s->model_path = cfg->model_path;
    s->route = (int)cfg->num[AX_ROUTE];
    s->mode = (int)cfg->num[AX_MODE];
    s->load = (int)cfg->num[AX_LOAD];
    s->slots = (int)cfg->num[AX_SLOTS];
    s->threads = (int)cfg->num[AX_THREADS];
    s->alloc = (int)cfg->num[AX_ALLOC];
    s->prompt = (int)cfg->num[AX_PROMPT];
    s->gen = (int)cfg->num[AX_GEN];
    s->requests = (int)cfg->num[AX_REQUESTS];
    s->seed = cfg->seed;
    *state = s;
    return 0;
}

/* The in-process route's stepping thread. */
struct stepper {
    struct batch *b;
    atomic_int stop;
};

static void *stepper_main(void *arg)
{
    struct stepper *st = arg;
    while (!atomic_load(&st->stop))
        if (batch_step(st->b) == 0)
            batch_wait(st->b, 20);
    return NULL;
}

/* /proc/loadavg's running-task count, sampled while the load runs. */
struct sampler {
    pthread_t th;
    atomic_int stop;
    double sum;
    int n, max;
};

static void *sampler_main(void *arg)
{
    struct sampler *sp = arg;
    while (!atomic_load(&sp->stop)) {
        FILE *f = fopen("/proc/loadavg", "r");
        int run = 0, total = 0;
        if (f && fscanf(f, "%*f %*f %*f %d/%d", &run, &total) == 2) {
            sp->sum += run;
            sp->n++;
            if (run > sp->max)
                sp->max = run;
        }
        if (f)
            fclose(f);
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static uint64_t status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t v = 0;
    size_t k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0)
            v = strtoull(line + k + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static const char *const serve_sched[] = { "wakeup_latency_count", "wakeup_latency_p50_ns", "wakeup_latency_p95_ns",
                                           "wakeup_latency_p99_ns", "wakeup_latency_max_ns", "runq_wait_ns", NULL };

static int serve_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    struct serve_state *s = state;
    struct session ss;
    struct session_opts so;
    session_opts_init(&so);
    so.model_path = s->model_path;
    so.infer.n_threads = s->threads;
    so.infer.n_seq = s->slots;
    so.infer.n_ctx = s->prompt + s->gen;
    struct tok *tk = NULL;
    struct batch *b = NULL;
    struct serve *srv = NULL;
    struct stepper st = { 0 };
    pthread_t step_th;
    bool stepping = false;
    int rc = -1;
    if (session_open(&ss, &so, true, err, err_len) != 0)
        return -1;
    if (so.infer.n_ctx > ss.m.hp.n_ctx_train && ss.m.hp.n_ctx_train > 0) {
        snprintf(err, err_len, "serve: prompt %d + gen %d exceed the model's context %d", s->prompt, s->gen,
                 ss.m.hp.n_ctx_train);
        goto done;
    }
    int cap = s->mode == 0 ? s->load : 1024;
    if (cap < 64)
        cap = 64;
    struct loadgen_opts o = { .mode = s->mode == 0 ? LOADGEN_CLOSED : LOADGEN_OPEN,
                              .route = s->route == 0 ? LOADGEN_INPROC : LOADGEN_HTTP,
                              .clients = s->mode == 0 ? s->load : 1024, .rate = s->load,
                              .n_requests = s->requests, .prompt_tokens = s->prompt, .gen_tokens = s->gen,
                              .n_vocab = ss.m.hp.n_vocab, .seed = s->seed,
                              .alloc = s->alloc == 0   ? SERVE_ALLOC_PREALLOC
                                       : s->alloc == 1 ? SERVE_ALLOC_MALLOC
                                                       : SERVE_ALLOC_ARENA };
    if (s->route == 0) {
        struct batch_opts bo = { .queue_cap = cap };
        if (batch_new(&b, ss.ctx, &ss.m, &bo, NULL, err, err_len) != 0)
            goto done;
        st.b = b;
        if (pthread_create(&step_th, NULL, stepper_main, &st) != 0) {
            snprintf(err, err_len, "serve: cannot start the stepping thread");
            goto done;
        }
        stepping = true;
        o.batch = b;
    } else {
        tk = tok_new(&ss.g, NULL, NULL, err, err_len);
        if (!tk)
            goto done;
        struct serve_opts sv = { .port = 0, .queue_cap = cap, .max_conns = 4096, .alloc = o.alloc, .timeout_s = 120 };
        if (serve_new(&srv, ss.ctx, &ss.m, tk, &sv, err, err_len) != SERVE_OK)
            goto done;
        o.host = "127.0.0.1";
        o.port = serve_port(srv);
    }
    int tids[POOL_MAX_THREADS];
    int n_tids = wlutil_pool_tids(infer_pool(ss.ctx), tids, POOL_MAX_THREADS);
    struct wlutil_ctr ctr;
    wlutil_ctr_open(&ctr, CTR_SCHED, tids, n_tids, true);
    struct rusage ru0, ru1;
    struct sampler sp = { 0 };
    bool sampling = pthread_create(&sp.th, NULL, sampler_main, &sp) == 0;
    /* VmHWM is the process's peak so far: reset it (clear_refs 5) so the
     * figure is this repetition's, not the largest configuration's yet. */
    FILE *cr = fopen("/proc/self/clear_refs", "w");
    bool hwm_reset = cr && fputs("5", cr) >= 0;
    if (cr && fclose(cr) != 0)
        hwm_reset = false;
    getrusage(RUSAGE_SELF, &ru0);
    wlutil_ctr_begin(&ctr);
    struct loadgen_result r;
    int lrc = loadgen_run(&o, &r, err, err_len);
    wlutil_ctr_end(&ctr);
    getrusage(RUSAGE_SELF, &ru1);
    if (sampling) {
        atomic_store(&sp.stop, 1);
        pthread_join(sp.th, NULL);
    }
    if (lrc != 0) {
        wlutil_ctr_close(&ctr);
        goto done;
    }
    workload_emit(out, "qps", "1/s", METRIC_SRC_DERIVED, r.wall_s > 0 ? r.n_ok / r.wall_s : 0);
    workload_emit(out, "tokens_per_s", "tokens/s", METRIC_SRC_DERIVED, r.wall_s > 0 ? (double)r.tokens / r.wall_s : 0);
    workload_emit(out, "requests_ok", "count", METRIC_SRC_DERIVED, r.n_ok);
    workload_emit(out, "requests_failed", "count", METRIC_SRC_DERIVED, r.n_failed);
    workload_emit(out, "requests_refused", "count", METRIC_SRC_DERIVED, r.n_refused);
    wlutil_emit_latency(out, "ttft", r.ttft_ns, r.n_ttft);
    wlutil_emit_latency(out, "itl", r.itl_ns, r.n_itl);
    wlutil_emit_latency(out, "e2e", r.e2e_ns, r.n_e2e);
    if (s->route == 0) {
        wlutil_emit_latency(out, "queue_wait", r.queue_ns, r.n_queue);
        wlutil_emit_latency(out, "client_wakeup", r.wake_ns, r.n_wake);
    } else {
        static const char *const q[] = { "queue_wait_p50_ns", "queue_wait_p95_ns", "queue_wait_p99_ns",
                                         "queue_wait_max_ns", "client_wakeup_p50_ns", "client_wakeup_p95_ns",
                                         "client_wakeup_p99_ns", "client_wakeup_max_ns" };
        for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
            workload_emit_unsupported(out, q[i], "ns", METRIC_SRC_TIME,
                                      "over HTTP admission and wake-ups happen inside the server "
                                      "(its /metrics has ggperf_queue_wait_seconds)");
    }
    workload_emit(out, "context_switches_voluntary", "count", METRIC_SRC_SW, (double)(ru1.ru_nvcsw - ru0.ru_nvcsw));
    workload_emit(out, "context_switches_involuntary", "count", METRIC_SRC_SW,
                  (double)(ru1.ru_nivcsw - ru0.ru_nivcsw));
    if (r.client_runq_ok)
        workload_emit(out, "runq_wait_clients_ns", "ns", METRIC_SRC_SCHED, (double)r.client_runq_ns);
    else
        workload_emit_unsupported(out, "runq_wait_clients_ns", "ns", METRIC_SRC_SCHED,
                                  "/proc/thread-self/schedstat unreadable (CONFIG_SCHEDSTATS off?)");
    if (sp.n > 0) {
        workload_emit(out, "runnable_mean", "count", METRIC_SRC_SW, sp.sum / sp.n);
        workload_emit(out, "runnable_max", "count", METRIC_SRC_SW, sp.max);
    } else {
        workload_emit_unsupported(out, "runnable_mean", "count", METRIC_SRC_SW, "/proc/loadavg unreadable or run too short");
        workload_emit_unsupported(out, "runnable_max", "count", METRIC_SRC_SW, "/proc/loadavg unreadable or run too short");
    }
    wlutil_ctr_emit(&ctr, out, serve_sched);
    wlutil_ctr_close(&ctr);
    if (hwm_reset)
        workload_emit(out, "rss_peak_bytes", "bytes", METRIC_SRC_SW, (double)status_kb("VmHWM:") * 1024);
    else
        workload_emit_unsupported(out, "rss_peak_bytes", "bytes", METRIC_SRC_SW,
                                  "/proc/self/clear_refs cannot reset VmHWM: the peak would be the process's, "
                                  "not this repetition's");
    workload_emit(out, "rss_bytes", "bytes", METRIC_SRC_SW, (double)status_kb("VmRSS:") * 1024);
    if (r.n_ok == 0) {
        snprintf(err, err_len, "serve: no request succeeded (%s)", r.first_error[0] ? r.first_error : "?");
        loadgen_result_free(&r);
        goto done;
    }
    loadgen_result_free(&r);
    rc = 0;
done:
    serve_free(srv);
    if (stepping) {
        atomic_store(&st.stop, 1);
        batch_wake(b);
        pthread_join(step_th, NULL);
    }
    batch_free(b);
    tok_free(tk);
    session_close(&ss);
    return rc;
}

static void serve_teardown(void *state) { free(state); }

/* What the serving figures mean to the gate: throughput and the typical
 * first-token latency are the primary set; tails, scheduler and memory
 * figures are compared on request (--metrics, --all-metrics). */
static const struct metric_decl serve_metrics[] = {
    { "tokens_per_s", METRIC_SEM(HIGHER, SAMPLE, true) },
    { "ttft_p50_ns", METRIC_SEM(LOWER, SAMPLE, true) },
    { "qps", METRIC_SEM(HIGHER, SAMPLE, false) },
    { "requests_ok", METRIC_SEM(NEITHER, INFO, false) },
    { "requests_failed", METRIC_SEM(LOWER, COUNT, false) },
    { "requests_refused", METRIC_SEM(LOWER, SAMPLE, false) },
    { "rss*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "runnable_*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "context_switches_*", METRIC_SEM(LOWER, SAMPLE, false) },
    { "*_ns", METRIC_SEM(LOWER, SAMPLE, false) },
};

const struct workload workload_serve = {
    WORKLOAD_METRICS(serve_metrics),
    .name = "serve",
    .description = "serving under load: QPS, TTFT and inter-token latency of continuous batching, in process or over HTTP",
    .axes = serve_axes,
    .n_axes = AX_N,
    .flags = WORKLOAD_NEEDS_MODEL,
    .setup = serve_setup,
    .run = serve_run,
    .work = NULL,
    .teardown = serve_teardown,
};
