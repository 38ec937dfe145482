/* loadgen — closed- and open-loop load over HTTP or in process (see
 * loadgen.h). Each client is a thread; results are merged under one lock
 * when a request ends, outside the timed path of any other request. */
#include "serve/loadgen.h"
#include "base/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* What one request saw. */
struct obs {
    bool ok, refused;
    uint64_t t_intended, t_admit, t_first, t_prev, t_end, t_wake;
    int n_tok;
    double *gaps;              /* [gen_tokens] */
    int n_gaps;
    char err[256];
};

struct lg {
    const struct loadgen_opts *o;
    int32_t *prompts;          /* [n_requests][prompt_tokens] */
    uint64_t *offset_ns;       /* open loop: intended send time after t0 */
    atomic_int next;
    uint64_t t0, t_last;
    pthread_mutex_t mu;
    struct loadgen_result *r;
};

static void obs_token(struct obs *b, uint64_t t)
{
    if (b->n_tok == 0)
        b->t_first = t;
    else if (b->n_gaps < b->n_tok)
        b->gaps[b->n_gaps++] = (double)(t - b->t_prev);
    b->t_prev = t;
    b->n_tok++;
}

static void merge(struct lg *g, const struct obs *b)
{
    struct loadgen_result *r = g->r;
    pthread_mutex_lock(&g->mu);
    if (b->ok) {
        r->n_ok++;
        r->tokens += (uint64_t)b->n_tok;
        if (b->n_tok > 0)
            r->ttft_ns[r->n_ttft++] = (double)(b->t_first - b->t_intended);
        r->e2e_ns[r->n_e2e++] = (double)(b->t_end - b->t_intended);
        if (b->t_admit)
            r->queue_ns[r->n_queue++] = (double)(b->t_admit - b->t_intended);
        if (b->t_wake)
            r->wake_ns[r->n_wake++] = (double)b->t_wake;
        memcpy(r->itl_ns + r->n_itl, b->gaps, (size_t)b->n_gaps * sizeof(double));
        r->n_itl += b->n_gaps;
    } else if (b->refused) {
        r->n_refused++;
    } else {
        r->n_failed++;
        if (!r->first_error[0])
            snprintf(r->first_error, sizeof r->first_error, "%s", b->err);
    }
    if (b->t_end > g->t_last)
        g->t_last = b->t_end;
    pthread_mutex_unlock(&g->mu);
}

/* ---- in process ---- */

struct tokrec {
    int32_t tok;
    uint64_t t;
    struct tokrec *next;
};

struct ipreq {
    struct batch_req r;
    struct obs *b;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum serve_alloc alloc;
    struct tokrec *list;       /* MALLOC: one malloc per token */
    struct tokrec *arena;      /* ARENA: one block per request; PREALLOC: the client's */
    int used;
};

static int ip_event(struct batch_req *r, enum batch_event ev, int32_t tok)
{
    struct ipreq *q = r->user;
    uint64_t t = now_ns();
    pthread_mutex_lock(&q->mu);
    if (ev == BATCH_EV_ADMIT) {
        q->b->t_admit = t;
    } else if (ev == BATCH_EV_TOKEN) {
        struct tokrec *x = q->alloc == SERVE_ALLOC_MALLOC ? malloc(sizeof *x) : &q->arena[q->used++];
        if (x) {
            x->tok = tok;
            x->t = t;
            x->next = q->list;
            q->list = x;
        }
        obs_token(q->b, t);
    } else {
        q->done = true;
        q->b->t_end = t;
        q->b->ok = r->end == BATCH_END_LENGTH || r->end == BATCH_END_EOS || r->end == BATCH_END_CONTEXT;
        if (!q->b->ok)
            snprintf(q->b->err, sizeof q->b->err, "request ended with %d %s", (int)r->end, r->err);
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return 0;
}

static void inproc_request(struct lg *g, const int32_t *prompt, struct obs *b, struct tokrec *prealloc)
{
    const struct loadgen_opts *o = g->o;
    struct ipreq q;
    memset(&q, 0, sizeof q);
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.cv, NULL);
    q.b = b;
    q.alloc = o->alloc;
    if (o->alloc == SERVE_ALLOC_ARENA)
        q.arena = malloc((size_t)o->gen_tokens * sizeof *q.arena);
    else if (o->alloc == SERVE_ALLOC_PREALLOC)
        q.arena = prealloc;
    q.r.prompt = prompt;
    q.r.n_prompt = o->prompt_tokens;
    q.r.max_tokens = o->gen_tokens;
    q.r.eos = -1;
    q.r.on_event = ip_event;
    q.r.user = &q;
    char err[128];
    int rc = o->alloc == SERVE_ALLOC_ARENA && !q.arena ? BATCH_ENOMEM : batch_submit(o->batch, &q.r, err, sizeof err);
    if (rc != BATCH_OK) {
        b->refused = rc == BATCH_EFULL;
        b->t_end = now_ns();
        snprintf(b->err, sizeof b->err, "submit: %s", rc == BATCH_ENOMEM ? "out of memory" : err);
    } else {
        pthread_mutex_lock(&q.mu);
        while (!q.done)
            pthread_cond_wait(&q.cv, &q.mu);
        pthread_mutex_unlock(&q.mu);
        /* Wake-up latency: the engine signalled at t_end; we run now. */
        uint64_t t = now_ns();
        b->t_wake = t > b->t_end ? t - b->t_end : 1;
    }
    if (o->alloc == SERVE_ALLOC_MALLOC)
        for (struct tokrec *x = q.list, *n; x; x = n) {
            n = x->next;
            free(x);
        }
    if (o->alloc == SERVE_ALLOC_ARENA)
        free(q.arena);
    pthread_mutex_destroy(&q.mu);
    pthread_cond_destroy(&q.cv);
}

/* ---- HTTP ---- */

struct conn {
    int fd;
    char buf[16384];
    size_t pos, len;
    char line[65536];          /* SSE line being assembled */
    size_t line_len;
    bool timed_out;            /* the last recv hit the receive timeout */
};

static int conn_open(struct conn *c, const struct loadgen_opts *o, char *err, size_t len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
    if (inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &sa.sin_addr) != 1)
        return err_fail(err, len, -1, "host %s is not an IPv4 address", o->host);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return err_fail(err, len, -1, "socket: %s", strerror(errno));
    struct timeval tv = { o->timeout_s > 0 ? o->timeout_s : LOADGEN_TIMEOUT_S, 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        return err_fail(err, len, -1, "connect %s:%d: %s", o->host ? o->host : "127.0.0.1", o->port, strerror(e));
    }
    c->pos = c->len = c->line_len = 0;
    c->timed_out = false;
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int conn_fill(struct conn *c)
{
    if (c->pos < c->len)
        return 0;
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n <= 0) {
        c->timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        return -1;
    }
    c->pos = 0;
    c->len = (size_t)n;
    return 0;
}

/* One CRLF-terminated line (without it) into out; -1 on EOF or overflow. */
static int conn_line(struct conn *c, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        if (conn_fill(c))
            return -1;
        char ch = c->buf[c->pos++];
        if (ch == '\n') {
            if (n > 0 && out[n - 1] == '\r')
                n--;
            out[n] = '\0';
            return (int)n;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = ch;
    }
}

/* Body bytes: find SSE lines; a data event whose finish_reason is null is
 * one token (both ggperf's and llama-server's streams send one per token). */
static void sse_feed(struct conn *c, const char *p, size_t n, struct obs *b)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (c->line_len + 1 < sizeof c->line)
                c->line[c->line_len++] = p[i];
            continue;
        }
        c->line[c->line_len] = '\0';
        if (strncmp(c->line, "data: ", 6) == 0 && strstr(c->line, "\"finish_reason\":null"))
            obs_token(b, now_ns());
        c->line_len = 0;
    }
}

static int http_request(struct lg *g, struct conn *c, const int32_t *prompt, struct obs *b, char *body, size_t cap)
{
    const struct loadgen_opts *o = g->o;
    /* A kept-alive connection the server has closed meanwhile (llama-server
     * does after a stream) fails at send or at the status line: then, and
     * only on a reused connection, reconnect and send once more. */
    bool reused = c->fd >= 0;
retry:
    if (c->fd < 0 && conn_open(c, o, b->err, sizeof b->err))
        return -1;
    size_t n = (size_t)snprintf(body, cap, "{\"prompt\":[");
    for (int i = 0; i < o->prompt_tokens; i++)
        n += (size_t)snprintf(body + n, cap - n, i ? ",%d" : "%d", prompt[i]);
    n += (size_t)snprintf(body + n, cap - n,
                          "],\"max_tokens\":%d,\"stream\":true,\"temperature\":0,\"ignore_eos\":true}", o->gen_tokens);
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "POST /v1/completions HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n", o->host ? o->host : "127.0.0.1", o->port, n);
    if (send(c->fd, head, (size_t)hn, MSG_NOSIGNAL) != hn || send(c->fd, body, n, MSG_NOSIGNAL) != (ssize_t)n) {
        snprintf(b->err, sizeof b->err, "send: %s", strerror(errno));
        conn_close(c);
        if (reused) {
            reused = false;
            goto retry;
        }
        return -1;
    }
    char line[1024];
    if (conn_line(c, line, sizeof line) < 0) {
        if (c->timed_out)
            snprintf(b->err, sizeof b->err, "no response in %d s (the client's receive timeout, --timeout)",
                     o->timeout_s > 0 ? o->timeout_s : LOADGEN_TIMEOUT_S);
        else
            snprintf(b->err, sizeof b->err, "no response (connection closed)");
        conn_close(c);
        if (reused) {
            reused = false;
            goto retry;
        }
        return -1;
    }
    int status = 0;
    if (sscanf(line, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(b->err, sizeof b->err, "bad status line '%.80s'", line);
        return -1;
    }
    long long clen = -1;
    bool chunked = false, close_after = false;
    while (conn_line(c, line, sizeof line) > 0) {
        if (strncasecmp(line, "content-length:", 15) == 0)
            clen = atoll(line + 15);
        else if (strncasecmp(line, "transfer-encoding:", 18) == 0 && strstr(line, "chunked"))
            chunked = true;
        else if (strncasecmp(line, "connection:", 11) == 0 && strstr(line, "close"))
            close_after = true;
    }
    c->line_len = 0;
    struct obs sink = { 0 };
    double dummy[1];
    sink.gaps = dummy;
    struct obs *tb = status == 200 ? b : &sink;
    if (chunked) {
        for (;;) {
            if (conn_line(c, line, sizeof line) < 0)
                goto broken;
            long size = strtol(line, NULL, 16);
            if (size <= 0) {
                while (conn_line(c, line, sizeof line) > 0)
                    ;
                break;
            }
            while (size > 0) {
                if (conn_fill(c))
                    goto broken;
                size_t k = c->len - c->pos < (size_t)size ? c->len - c->pos : (size_t)size;
                sse_feed(c, c->buf + c->pos, k, tb);
                c->pos += k;
                size -= (long)k;
            }
            if (conn_line(c, line, sizeof line) < 0)
                goto broken;
        }
    } else if (clen >= 0) {
        while (clen > 0) {
            if (conn_fill(c))
                goto broken;
            size_t k = c->len - c->pos < (size_t)clen ? c->len - c->pos : (size_t)clen;
            sse_feed(c, c->buf + c->pos, k, tb);
            c->pos += k;
            clen -= (long long)k;
        }
    } else {
        while (!conn_fill(c)) {
            sse_feed(c, c->buf + c->pos, c->len - c->pos, tb);
            c->pos = c->len;
        }
        close_after = true;
    }
    b->t_end = now_ns();
    if (close_after)
        conn_close(c);
    if (status != 200) {
        b->refused = status == 503;
        snprintf(b->err, sizeof b->err, "HTTP %d", status);
        return -1;
    }
    b->ok = true;
    return 0;
broken:
    if (c->timed_out)
        snprintf(b->err, sizeof b->err, "no data for %d s (the client's receive timeout, --timeout) after HTTP %d",
                 o->timeout_s > 0 ? o->timeout_s : LOADGEN_TIMEOUT_S, status);
    else
        snprintf(b->err, sizeof b->err, "response cut short (HTTP %d)", status);
    conn_close(c);
    return -1;
}

/* ---- clients ---- */

static void *client_main(void *arg)
{
    struct lg *g = arg;
    const struct loadgen_opts *o = g->o;
    double *gaps = malloc((size_t)o->gen_tokens * sizeof *gaps);
    struct tokrec *prealloc = malloc((size_t)o->gen_tokens * sizeof *prealloc);
    size_t cap = (size_t)o->prompt_tokens * 12 + 256;
    char *body = malloc(cap);
    struct conn *c = o->route == LOADGEN_HTTP ? malloc(sizeof *c) : NULL;
    if (c)
        c->fd = -1;
    if (!gaps || !prealloc || !body || (o->route == LOADGEN_HTTP && !c))
        goto out;
    for (;;) {
        int k = atomic_fetch_add(&g->next, 1);
        if (k >= o->n_requests)
            break;
        struct obs b;
        memset(&b, 0, sizeof b);
        b.gaps = gaps;
        if (o->mode == LOADGEN_OPEN) {
            b.t_intended = g->t0 + g->offset_ns[k];
            sleep_until(b.t_intended);
        } else {
            b.t_intended = now_ns();
        }
        const int32_t *prompt = g->prompts + (size_t)k * o->prompt_tokens;
        if (o->route == LOADGEN_HTTP) {
            if (http_request(g, c, prompt, &b, body, cap) != 0 && !b.t_end)
                b.t_end = now_ns();
        } else {
            inproc_request(g, prompt, &b, prealloc);
        }
        if (!b.ok && !b.refused && c)
            conn_close(c);
        merge(g, &b);
    }
out:
    {
        /* This thread's run-queue wait (second field of schedstat, ns). */
        FILE *f = fopen("/proc/thread-self/schedstat", "r");
        unsigned long long run = 0, wait = 0;
        bool ok = f && fscanf(f, "%llu %llu", &run, &wait) == 2;
        if (f)
            fclose(f);
        pthread_mutex_lock(&g->mu);
        g->r->client_runq_ns += wait;
        if (!ok)
            g->r->client_runq_ok = false;
        pthread_mutex_unlock(&g->mu);
    }
    if (c)
        conn_close(c);
    free(c);
    free(body);
    free(prealloc);
    free(gaps);
    return NULL;
}

void loadgen_result_free(struct loadgen_result *r)
{
    if (!r)
        return;
    free(r->ttft_ns);
    free(r->itl_ns);
    free(r->e2e_ns);
    free(r->queue_ns);
    free(r->wake_ns);
    memset(r, 0, sizeof *r);
}

int loadgen_run(const struct loadgen_opts *o, struct loadgen_result *r, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    if (o->clients < 1 || o->clients > 10000 || o->n_requests < 1 || o->prompt_tokens < 1 || o->gen_tokens < 1 ||
        o->n_vocab < 4)
        return err_fail(err, err_len, -1, "loadgen: clients %d (1..10000), requests %d, prompt %d, generation %d or "
                    "vocabulary %d out of range", o->clients, o->n_requests, o->prompt_tokens, o->gen_tokens,
                    o->n_vocab);
    if (o->mode == LOADGEN_OPEN && !(o->rate > 0))
        return err_fail(err, err_len, -1, "loadgen: open loop needs a rate > 0 (requests per second)");
    if (o->route == LOADGEN_INPROC && !o->batch)
        return err_fail(err, err_len, -1, "loadgen: the in-process route needs a batcher");
    struct lg g;
    memset(&g, 0, sizeof g);
    g.o = o;
    g.r = r;
    size_t nr = (size_t)o->n_requests;
    g.prompts = malloc(nr * (size_t)o->prompt_tokens * sizeof *g.prompts);
    g.offset_ns = malloc(nr * sizeof *g.offset_ns);
    r->ttft_ns = malloc(nr * sizeof(double));
    r->e2e_ns = malloc(nr * sizeof(double));
    r->queue_ns = malloc(nr * sizeof(double));
    r->wake_ns = malloc(nr * sizeof(double));
    r->client_runq_ok = true;
    r->itl_ns = malloc(nr * (size_t)o->gen_tokens * sizeof(double));
    pthread_t *th = malloc((size_t)o->clients * sizeof *th);
    int started = 0, rc = -1;
    if (!g.prompts || !g.offset_ns || !r->ttft_ns || !r->e2e_ns || !r->queue_ns || !r->wake_ns || !r->itl_ns || !th) {
        err_fail(err, err_len, -1, "loadgen: out of memory for %d requests", o->n_requests);
        goto done;
    }
    uint64_t x = o->seed;
    for (size_t i = 0; i < nr * (size_t)o->prompt_tokens; i++)
        g.prompts[i] = 3 + (int32_t)(splitmix(&x) % (uint64_t)(o->n_vocab - 3));
    /* Poisson arrivals: exponential gaps with mean 1/rate. */
    double t = 0;
    for (size_t i = 0; i < nr; i++) {
        g.offset_ns[i] = (uint64_t)(t * 1e9);
        double u = ((double)(splitmix(&x) >> 11) + 0.5) * 0x1.0p-53;
        t += o->mode == LOADGEN_OPEN ? -log(u) / o->rate : 0;
    }
    pthread_mutex_init(&g.mu, NULL);
    atomic_init(&g.next, 0);
    g.t0 = now_ns() + 1000000; /* the first arrival 1 ms out, once the clients are up */
    for (int i = 0; i < o->clients; i++) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        if (pthread_create(&th[i], &at, client_main, &g) == 0)
            started++;
        pthread_attr_destroy(&at);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&g.mu);
    if (started == 0) {
        err_fail(err, err_len, -1, "loadgen: cannot start a client thread");
        goto done;
    }
    r->wall_s = g.t_last > g.t0 ? (double)(g.t_last - g.t0) * 1e-9 : 0;
    rc = 0;
done:
    free(th);
    free(g.prompts);
    free(g.offset_ns);
    if (rc)
        loadgen_result_free(r);
    return rc;
}
