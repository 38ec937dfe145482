/* server — the HTTP front of the continuous batcher (see server.h).
 *
 * A request's life: libmicrohttpd calls on_request on the connection's own
 * thread as the body arrives; once complete it is parsed, tokenized and
 * submitted as a job to the batcher. The engine thread's event callback
 * appends tokens to the job and signals; the connection thread waits for
 * them (polling its socket every 20 ms for a hang-up, so a client that goes
 * away cancels its request) and writes either one JSON body or one
 * server-sent event per token. A job has two owners, the engine (until its
 * DONE event) and the connection (until libmicrohttpd's completed
 * callback): whichever lets go last frees it. */
#include "serve/server.h"
#include "base/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/request.h"

#define CHUNK_BYTES 1024         /* one SSE event: JSON around one token's text */
#define ARENA_BYTES (64 * 1024)
#define WAIT_POLL_MS 20

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- metrics ---- */

#define N_BUCKETS 15
static const double bucket_le[N_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,   30 };
struct hist {
    uint64_t b[N_BUCKETS + 1]; /* last: +Inf */
    double sum;
    uint64_t count;
};
enum { H_TTFT, H_ITL, H_QUEUE, H_REQ, H_COUNT };
static const char *const hist_name[H_COUNT] = { "ggperf_time_to_first_token_seconds",
                                                "ggperf_inter_token_latency_seconds",
                                                "ggperf_queue_wait_seconds", "ggperf_request_duration_seconds" };
static const char *const hist_help[H_COUNT] = { "Time from request arrival to its first generated token.",
                                                "Time between consecutive tokens of one request.",
                                                "Time a request waited for a KV slot.",
                                                "Time from request arrival to its last token." };
static const int status_codes[] = { 200, 400, 404, 405, 413, 500, 503 };
#define N_STATUS (int)(sizeof status_codes / sizeof status_codes[0])
static const char *const end_name[] = { "length", "stop", "context", "cancelled", "error" };

struct metrics {
    pthread_mutex_t mu;
    struct hist h[H_COUNT];
    uint64_t status[N_STATUS];
    uint64_t ends[5];
    uint64_t prompt_tokens, gen_tokens;
};

static void observe(struct metrics *m, int which, double seconds)
{
    pthread_mutex_lock(&m->mu);
    struct hist *h = &m->h[which];
    int i = 0;
    while (i < N_BUCKETS && seconds > bucket_le[i])
        i++;
    h->b[i]++;
    h->sum += seconds;
    h->count++;
    pthread_mutex_unlock(&m->mu);
}

static void count_status(struct metrics *m, int code)
{
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < N_STATUS; i++)
        if (status_codes[i] == code)
            m->status[i]++;
    pthread_mutex_unlock(&m->mu);
}

/* ---- server and jobs ---- */

struct serve {
    struct serve_opts o;
    struct infer *c;
    const struct model *m;
    const struct tok *t;
    struct batch *b;
    struct MHD_Daemon *d;
    int port, n_ctx, n_vocab;
    pthread_t engine;
    bool engine_started;
    atomic_int stop, draining;
    atomic_int open_jobs;       /* jobs whose connection has not completed */
    atomic_int open_conns;
    atomic_ullong next_id;
    struct metrics met;
};

struct job {
    struct batch_req r;
    struct serve *s;
    atomic_int refs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int32_t *prompt;
    int n_prompt;
    int32_t *gen;                /* [max_tokens] */
    int n_avail, n_sent;
    bool done, sse_finished, stream;
    uint64_t t_arrive, t_admit, t_last;
    int fd;
    unsigned long long id;
    long created;
    char *chunk;                 /* SERVE_ALLOC_PREALLOC: [CHUNK_BYTES] */
    char *arena;                 /* SERVE_ALLOC_ARENA: [ARENA_BYTES], made at the first token */
    size_t arena_used;
};

/* Per connection: the body as it arrives, then the job. */
struct conn_ctx {
    char *body;
    size_t len, cap;
    bool too_big, started;
    struct job *job;
};

static void job_put(struct job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j->prompt);
    free(j->gen);
    free(j->chunk);
    free(j->arena);
    free(j);
}

/* The engine thread's view of a job. */
static int on_event(struct batch_req *r, enum batch_event ev, int32_t tok)
{
    struct job *j = r->user;
    struct serve *s = j->s;
    uint64_t t = now_ns();
    if (ev == BATCH_EV_ADMIT) {
        j->t_admit = t;
        observe(&s->met, H_QUEUE, (double)(t - j->t_arrive) * 1e-9);
        return 0;
    }
    if (ev == BATCH_EV_TOKEN) {
        pthread_mutex_lock(&j->mu);
        j->gen[j->n_avail++] = tok;
        uint64_t last = j->t_last;
        j->t_last = t;
        pthread_cond_signal(&j->cv);
        pthread_mutex_unlock(&j->mu);
        if (r->n_gen == 1)
            observe(&s->met, H_TTFT, (double)(t - j->t_arrive) * 1e-9);
        else
            observe(&s->met, H_ITL, (double)(t - last) * 1e-9);
        pthread_mutex_lock(&s->met.mu);
        s->met.gen_tokens++;
        pthread_mutex_unlock(&s->met.mu);
        return 0;
    }
    pthread_mutex_lock(&s->met.mu);
    s->met.ends[r->end]++;
    pthread_mutex_unlock(&s->met.mu);
    if (r->end != BATCH_END_CANCEL && r->end != BATCH_END_ERROR)
        observe(&s->met, H_REQ, (double)(t - j->t_arrive) * 1e-9);
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    job_put(j);
    return 0;
}

static void *engine_main(void *arg)
{
    struct serve *s = arg;
    while (!atomic_load(&s->stop)) {
        if (batch_step(s->b) == 0)
            batch_wait(s->b, 50);
        else if (s->o.step_delay_us > 0)
            usleep((useconds_t)s->o.step_delay_us);
    }
    /* Everything left was cancelled by its connection's end: let it finish. */
    for (int i = 0; i < 100000 && !batch_idle(s->b); i++)
        batch_step(s->b);
    return NULL;
}

static bool peer_gone(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd p = { .fd = fd, .events = POLLRDHUP };
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Wait until the job has more than `have` tokens or is done. -1: the
 * client went away (the job is cancelled). */
static int job_wait(struct job *j, int have)
{
    pthread_mutex_lock(&j->mu);
    while (j->n_avail <= have && !j->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += WAIT_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&j->mu);
            if (peer_gone(j->fd) || atomic_load(&j->s->stop)) {
                batch_cancel(&j->r);
                return -1;
            }
            pthread_mutex_lock(&j->mu);
        }
    }
    pthread_mutex_unlock(&j->mu);
    return 0;
}

static const char *finish_reason(enum batch_end e)
{
    return e == BATCH_END_EOS ? "stop" : e == BATCH_END_LENGTH || e == BATCH_END_CONTEXT ? "length"
                                                                                          : "error";
}

/* ---- responses ---- */

static enum MHD_Result send_buf(struct serve *s, struct MHD_Connection *conn, int code, const char *type,
                                const char *body, size_t len, bool retry)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (retry)
        MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)code, r);
    MHD_destroy_response(r);
    count_status(&s->met, code);
    return rc;
}

static enum MHD_Result send_error(struct serve *s, struct MHD_Connection *conn, int code, const char *msg)
{
    char esc[1024], body[1400];
    size_t n = serve_json_escape(msg, strlen(msg), esc, sizeof esc - 1);
    esc[n < sizeof esc - 1 ? n : sizeof esc - 1] = '\0';
    int len = snprintf(body, sizeof body, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"code\":%d}}\n", esc,
                       code == 503 ? "unavailable" : code >= 500 ? "server_error" : "invalid_request_error", code);
    return send_buf(s, conn, code, "application/json", body, (size_t)len, code == 503);
}

/* One token's SSE event into out (cap bytes); its length, 0 if it does not fit. */
static size_t sse_token(struct job *j, int32_t tok, char *out, size_t cap)
{
    char piece[256], esc[768];
    int n = tok_decode(j->s->t, tok, piece, sizeof piece);
    if (n < 0)
        n = 0;
    if (n > (int)sizeof piece)
        n = (int)sizeof piece;
    size_t e = serve_json_escape(piece, (size_t)n, esc, sizeof esc);
    if (e > sizeof esc)
        e = 0;
    int len = snprintf(out, cap,
                       "data: {\"id\":\"cmpl-%llu\",\"object\":\"text_completion\",\"created\":%ld,\"model\":\"%s\","
                       "\"choices\":[{\"text\":\"%.*s\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n",
                       j->id, j->created, j->s->o.model_name, (int)e, esc);
    return len > 0 && (size_t)len < cap ? (size_t)len : 0;
}

/* The chunk buffer for one token under the allocation strategy. */
static char *chunk_get(struct job *j)
{
    switch (j->s->o.alloc) {
    case SERVE_ALLOC_MALLOC:
        return malloc(CHUNK_BYTES);
    case SERVE_ALLOC_ARENA:
        if (!j->arena && !(j->arena = malloc(ARENA_BYTES)))
            return NULL;
        if (j->arena_used + CHUNK_BYTES > ARENA_BYTES)
            j->arena_used = 0; /* chunks are copied out at once: the arena wraps */
        j->arena_used += CHUNK_BYTES;
        return j->arena + j->arena_used - CHUNK_BYTES;
    default:
        return j->chunk;
    }
}

static void chunk_put(struct job *j, char *c)
{
    if (j->s->o.alloc == SERVE_ALLOC_MALLOC)
        free(c);
}

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct job *j = cls;
    (void)pos;
    if (j->sse_finished)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (job_wait(j, j->n_sent) < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    pthread_mutex_lock(&j->mu);
    int avail = j->n_avail;
    bool done = j->done;
    pthread_mutex_unlock(&j->mu);
    size_t o = 0;
    while (j->n_sent < avail) {
        char *c = chunk_get(j);
        if (!c)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        size_t n = sse_token(j, j->gen[j->n_sent], c, CHUNK_BYTES);
        if (n > max - o) {
            chunk_put(j, c);
            break;
        }
        memcpy(buf + o, c, n);
        chunk_put(j, c);
        o += n;
        j->n_sent++;
    }
    if (o == 0 && done && j->n_sent == avail) {
        int len = snprintf(buf, max,
                           "data: {\"id\":\"cmpl-%llu\",\"object\":\"text_completion\",\"created\":%ld,"
                           "\"model\":\"%s\",\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,"
                           "\"finish_reason\":\"%s\"}]}\n\ndata: [DONE]\n\n",
                           j->id, j->created, j->s->o.model_name, finish_reason(j->r.end));
        j->sse_finished = true;
        return len > 0 && (size_t)len < max ? len : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return (ssize_t)o;
}

static enum MHD_Result send_completion(struct serve *s, struct MHD_Connection *conn, struct job *j)
{
    int n = j->n_avail;
    int tl = tok_decode_all(s->t, j->gen, n, false, NULL, 0);
    if (tl < 0)
        tl = 0;
    char *text = malloc((size_t)tl + 1);
    size_t el = text ? serve_json_escape(text, (size_t)tok_decode_all(s->t, j->gen, n, false, text, (size_t)tl), NULL, 0)
                     : 0;
    char *esc = text ? malloc(el + 1) : NULL;
    char *body = esc ? malloc(el + 1024) : NULL;
    if (!body) {
        free(text);
        free(esc);
        return send_error(s, conn, 500, "out of memory for the response");
    }
    serve_json_escape(text, (size_t)tl, esc, el);
    int len = snprintf(body, el + 1024,
                       "{\"id\":\"cmpl-%llu\",\"object\":\"text_completion\",\"created\":%ld,\"model\":\"%s\","
                       "\"choices\":[{\"text\":\"%.*s\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"%s\"}],"
                       "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}}\n",
                       j->id, j->created, s->o.model_name, (int)el, esc, finish_reason(j->r.end), j->n_prompt, n,
                       j->n_prompt + n);
    enum MHD_Result rc = send_buf(s, conn, j->r.end == BATCH_END_ERROR ? 500 : 200, "application/json", body,
                                  (size_t)len, false);
    free(text);
    free(esc);
    free(body);
    return rc;
}

static enum MHD_Result start_completion(struct serve *s, struct MHD_Connection *conn, struct conn_ctx *cc)
{
    if (cc->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body over the limit of %zu bytes", s->o.max_body_bytes);
        return send_error(s, conn, 413, msg);
    }
    if (atomic_load(&s->draining))
        return send_error(s, conn, 503, "the server is shutting down");
    struct serve_limits lim = { s->n_vocab, s->n_ctx, s->n_ctx, s->o.default_max_tokens };
    struct serve_req q;
    char err[512];
    int rc = serve_req_parse(cc->body ? cc->body : "", cc->len, &lim, &q, err, sizeof err);
    if (rc)
        return send_error(s, conn, rc == SERVE_REQ_ENOMEM ? 500 : 400, err);
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        serve_req_release(&q);
        return send_error(s, conn, 500, "out of memory for the request");
    }
    atomic_init(&j->refs, 1);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->s = s;
    j->fd = -1;
    cc->job = j;
    atomic_fetch_add(&s->open_jobs, 1);
    if (q.text) {
        int cap = (int)(q.text_len * 3 + 4);
        j->prompt = malloc((size_t)cap * sizeof *j->prompt);
        int n = j->prompt ? tok_encode(s->t, q.text, q.text_len, tok_add_bos(s->t), j->prompt, cap) : -1;
        if (n < 0) {
            serve_req_release(&q);
            return send_error(s, conn, 400, "prompt: the text cannot be tokenized");
        }
        j->n_prompt = n;
    } else {
        j->prompt = q.tokens;
        j->n_prompt = q.n_tokens;
        q.tokens = NULL;
    }
    j->stream = q.stream;
    j->r.eos = q.ignore_eos ? -1 : tok_eos(s->t);
    j->r.max_tokens = q.max_tokens;
    j->r.temperature = q.temperature;
    j->r.top_p = q.top_p;
    j->r.top_k = q.top_k;
    j->r.seed = q.seed;
    serve_req_release(&q);
    if (j->n_prompt > s->n_ctx) {
        snprintf(err, sizeof err, "prompt: %d tokens, the context holds %d", j->n_prompt, s->n_ctx);
        return send_error(s, conn, 400, err);
    }
    j->gen = malloc((size_t)j->r.max_tokens * sizeof *j->gen);
    if (s->o.alloc == SERVE_ALLOC_PREALLOC)
        j->chunk = malloc(CHUNK_BYTES);
    if (!j->gen || (s->o.alloc == SERVE_ALLOC_PREALLOC && !j->chunk))
        return send_error(s, conn, 500, "out of memory for the request");
    j->r.prompt = j->prompt;
    j->r.n_prompt = j->n_prompt;
    j->r.on_event = on_event;
    j->r.user = j;
    j->id = atomic_fetch_add(&s->next_id, 1);
    j->created = (long)time(NULL);
    j->t_arrive = now_ns();
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->fd = ci ? ci->connect_fd : -1;
    atomic_fetch_add(&j->refs, 1); /* the engine's */
    rc = batch_submit(s->b, &j->r, err, sizeof err);
    if (rc) {
        atomic_fetch_sub(&j->refs, 1);
        return send_error(s, conn, rc == BATCH_EFULL || rc == BATCH_ECLOSED ? 503 : 400, err);
    }
    pthread_mutex_lock(&s->met.mu);
    s->met.prompt_tokens += (uint64_t)j->n_prompt;
    pthread_mutex_unlock(&s->met.mu);
    /* The idle timeout guards the request phase (a client that stalls
     * while sending). From here the server is the slow side: a request may
     * wait in the queue far longer than the timeout, and a hang-up is
     * noticed by job_wait's socket poll, so the timeout is lifted. */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    if (j->stream) {
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_reader, j, NULL);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        enum MHD_Result mr = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        count_status(&s->met, 200);
        return mr;
    }
    if (job_wait(j, INT32_MAX) < 0)
        return MHD_NO; /* the client is gone: close, nothing to answer */
    return send_completion(s, conn, j);
}

size_t serve_metrics_text(struct serve *s, char *buf, size_t len)
{
    size_t o = 0;
#define OUT(...)                                                                                              \
    do {                                                                                                      \
        int n_ = snprintf(buf + (o < len ? o : len), o < len ? len - o : 0, __VA_ARGS__);                     \
        if (n_ > 0)                                                                                           \
            o += (size_t)n_;                                                                                  \
    } while (0)
    pthread_mutex_lock(&s->met.mu);
    OUT("# HELP ggperf_http_requests_total HTTP responses by status code.\n# TYPE ggperf_http_requests_total counter\n");
    for (int i = 0; i < N_STATUS; i++)
        OUT("ggperf_http_requests_total{code=\"%d\"} %llu\n", status_codes[i], (unsigned long long)s->met.status[i]);
    OUT("# HELP ggperf_completions_total Completions by how they ended.\n# TYPE ggperf_completions_total counter\n");
    for (int i = 0; i < 5; i++)
        OUT("ggperf_completions_total{reason=\"%s\"} %llu\n", end_name[i], (unsigned long long)s->met.ends[i]);
    OUT("# HELP ggperf_prompt_tokens_total Prompt tokens accepted.\n# TYPE ggperf_prompt_tokens_total counter\n"
        "ggperf_prompt_tokens_total %llu\n", (unsigned long long)s->met.prompt_tokens);
    OUT("# HELP ggperf_generated_tokens_total Tokens generated.\n# TYPE ggperf_generated_tokens_total counter\n"
        "ggperf_generated_tokens_total %llu\n", (unsigned long long)s->met.gen_tokens);
    for (int h = 0; h < H_COUNT; h++) {
        const struct hist *x = &s->met.h[h];
        OUT("# HELP %s %s\n# TYPE %s histogram\n", hist_name[h], hist_help[h], hist_name[h]);
        uint64_t cum = 0;
        for (int i = 0; i < N_BUCKETS; i++) {
            cum += x->b[i];
            OUT("%s_bucket{le=\"%g\"} %llu\n", hist_name[h], bucket_le[i], (unsigned long long)cum);
        }
        cum += x->b[N_BUCKETS];
        OUT("%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", hist_name[h], (unsigned long long)cum,
            hist_name[h], x->sum, hist_name[h], (unsigned long long)x->count);
    }
    pthread_mutex_unlock(&s->met.mu);
    OUT("# HELP ggperf_queue_depth Requests waiting for a slot.\n# TYPE ggperf_queue_depth gauge\n"
        "ggperf_queue_depth %d\n", batch_queued(s->b));
    OUT("# HELP ggperf_slots_busy KV slots holding a request.\n# TYPE ggperf_slots_busy gauge\n"
        "ggperf_slots_busy %d\n", batch_busy(s->b));
    OUT("# HELP ggperf_slots KV slots.\n# TYPE ggperf_slots gauge\nggperf_slots %d\n", batch_slots(s->b));
    OUT("# HELP ggperf_open_connections Client connections open.\n# TYPE ggperf_open_connections gauge\n"
        "ggperf_open_connections %d\n", atomic_load(&s->open_conns));
#undef OUT
    if (len)
        buf[o < len ? o : len - 1] = '\0';
    return o;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct serve *s = cls;
    (void)version;
    struct conn_ctx *cc = *con_cls;
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc)
            return MHD_NO;
        *con_cls = cc;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body_bytes)
            cc->too_big = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cc->too_big && cc->len + *upload_size > s->o.max_body_bytes)
            cc->too_big = true;
        if (!cc->too_big) {
            if (cc->len + *upload_size + 1 > cc->cap) {
                size_t cap = (cc->len + *upload_size + 1) * 2;
                if (cap > s->o.max_body_bytes + 1)
                    cap = s->o.max_body_bytes + 1;
                char *nb = realloc(cc->body, cap);
                if (!nb)
                    return MHD_NO;
                cc->body = nb;
                cc->cap = cap;
            }
            memcpy(cc->body + cc->len, upload, *upload_size);
            cc->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (cc->started)
        return MHD_YES;
    cc->started = true;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/health") == 0) {
        if (!get)
            return send_error(s, conn, 405, "/health: use GET");
        char body[256];
        bool drain = atomic_load(&s->draining);
        int n = snprintf(body, sizeof body, "{\"status\":\"%s\",\"slots\":%d,\"slots_busy\":%d,\"queued\":%d}\n",
                         drain ? "draining" : "ok", batch_slots(s->b), batch_busy(s->b), batch_queued(s->b));
        return send_buf(s, conn, drain ? 503 : 200, "application/json", body, (size_t)n, drain);
    }
    if (strcmp(url, "/metrics") == 0) {
        if (!get)
            return send_error(s, conn, 405, "/metrics: use GET");
        size_t need = serve_metrics_text(s, NULL, 0) + 4096;
        char *buf = malloc(need);
        if (!buf)
            return send_error(s, conn, 500, "out of memory");
        size_t n = serve_metrics_text(s, buf, need);
        enum MHD_Result rc = send_buf(s, conn, 200, "text/plain; version=0.0.4", buf, n < need ? n : need - 1, false);
        free(buf);
        return rc;
    }
    if (strcmp(url, "/v1/completions") == 0) {
        if (strcmp(method, "POST") != 0)
            return send_error(s, conn, 405, "/v1/completions: use POST");
        return start_completion(s, conn, cc);
    }
    char msg[300];
    snprintf(msg, sizeof msg, "no such endpoint: %.200s (try /v1/completions, /health, /metrics)", url);
    return send_error(s, conn, 404, msg);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct serve *s = cls;
    (void)conn;
    (void)toe;
    struct conn_ctx *cc = *con_cls;
    if (!cc)
        return;
    if (cc->job) {
        batch_cancel(&cc->job->r); /* a no-op for a finished job */
        atomic_fetch_sub(&s->open_jobs, 1);
        job_put(cc->job);
    }
    free(cc->body);
    free(cc);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct serve *s = cls;
    (void)conn;
    (void)socket_ctx;
    atomic_fetch_add(&s->open_conns, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* libmicrohttpd's own messages are dropped: a library does not print. */
static void quiet_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap;
}

int serve_new(struct serve **out, struct infer *c, const struct model *m, const struct tok *t,
              const struct serve_opts *opts, char *err, size_t err_len)
{
    *out = NULL;
    struct serve *s = calloc(1, sizeof *s);
    if (!s)
        return err_fail(err, err_len, SERVE_ENOMEM, "serve: out of memory");
    if (opts)
        s->o = *opts;
    if (!s->o.host)
        s->o.host = "127.0.0.1";
    if (!s->o.max_body_bytes)
        s->o.max_body_bytes = 1 << 20;
    if (!s->o.timeout_s)
        s->o.timeout_s = 10;
    if (!s->o.max_conns)
        s->o.max_conns = 2048;
    if (!s->o.queue_cap)
        s->o.queue_cap = 1024;
    if (!s->o.default_max_tokens)
        s->o.default_max_tokens = 16;
    if (!s->o.model_name)
        s->o.model_name = "ggperf";
    s->c = c;
    s->m = m;
    s->t = t;
    s->n_ctx = infer_n_ctx(c);
    s->n_vocab = m->hp.n_vocab;
    pthread_mutex_init(&s->met.mu, NULL);
    atomic_init(&s->next_id, 1);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->o.port) };
    if (s->o.port < 0 || s->o.port > 65535 || inet_pton(AF_INET, s->o.host, &sa.sin_addr) != 1) {
        int rc = err_fail(err, err_len, SERVE_EARG, "serve: host '%s' is not an IPv4 address or port %d is out of range",
                      s->o.host, s->o.port);
        serve_free(s);
        return rc;
    }
    struct batch_opts bo = { .queue_cap = s->o.queue_cap, .prefill_chunk = s->o.prefill_chunk, .policy = s->o.policy };
    int rc = batch_new(&s->b, c, m, &bo, NULL, err, err_len);
    if (rc) {
        serve_free(s);
        return SERVE_EARG;
    }
    if (pthread_create(&s->engine, NULL, engine_main, s) != 0) {
        serve_free(s);
        return err_fail(err, err_len, SERVE_ETHREAD, "serve: cannot start the engine thread");
    }
    s->engine_started = true;
    s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
                            (uint16_t)s->o.port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->o.max_conns,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
                            /* per connection: a small stack and buffer pool (a thread each;
                             * 1024 queued clients must not cost more than a few tens of MB) */
                            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(128 * 1024),
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                            MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
                            MHD_OPTION_END);
    if (!s->d) {
        int e = errno;
        serve_free(s);
        return err_fail(err, err_len, SERVE_EBIND, "serve: cannot listen on %s:%d (%s)", opts && opts->host ? opts->host : "127.0.0.1",
                    opts ? opts->port : 0, strerror(e));
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->o.port;
    *out = s;
    return SERVE_OK;
}

int serve_port(const struct serve *s) { return s->port; }

int serve_drain(struct serve *s, int timeout_ms)
{
    atomic_store(&s->draining, 1);
    batch_close(s->b);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (batch_idle(s->b) && atomic_load(&s->open_jobs) == 0)
            return SERVE_OK;
        usleep(10000);
    }
    return SERVE_ETIMEOUT;
}

void serve_free(struct serve *s)
{
    if (!s)
        return;
    /* Connection threads waiting for tokens see stop and cancel their jobs;
     * the engine keeps stepping until the daemon has joined them all. */
    atomic_store(&s->draining, 1);
    if (s->b)
        batch_close(s->b);
    if (s->d) {
        atomic_store(&s->stop, 1);
        MHD_stop_daemon(s->d);
    }
    atomic_store(&s->stop, 1);
    if (s->engine_started) {
        batch_wake(s->b);
        pthread_join(s->engine, NULL);
    }
    batch_free(s->b);
    pthread_mutex_destroy(&s->met.mu);
    free(s);
}
