/* server — ggperf's HTTP/1.1 model server on libmicrohttpd.
 *
 * Endpoints: POST /v1/completions (OpenAI's completions API, streamed as
 * server-sent events with "stream": true), GET /health, GET /metrics
 * (Prometheus text). One thread per connection (libmicrohttpd's
 * thread-per-connection mode: a connection waiting for tokens blocks in its
 * own thread) and one engine thread that steps the continuous batcher
 * (engine/batch.h) over the context's KV slots.
 *
 * Errors answer and keep serving: malformed JSON or a bad field 400, a
 * prompt longer than the context 400, a body over max_body_bytes 413, a
 * full queue 503 with Retry-After, a draining server 503. A connection
 * that goes away while its request waits or streams is noticed within
 * ~20 ms and its request cancelled (the slot is free at the next step);
 * a client that sends nothing for timeout_s seconds is dropped.
 */
#ifndef GGPERF_SERVE_SERVER_H
#define GGPERF_SERVE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/batch.h"
#include "engine/infer.h"
#include "engine/model.h"
#include "engine/tokenizer.h"

enum serve_err {
    SERVE_OK = 0,
    SERVE_EARG = -1,
    SERVE_EBIND = -2,      /* cannot listen on host:port */
    SERVE_ENOMEM = -3,
    SERVE_ETHREAD = -4,
    SERVE_ETIMEOUT = -5,   /* serve_drain: requests still running at the deadline */
};

/* How the token path gets memory for each streamed chunk: the axis of the
 * allocation-pressure experiment. */
enum serve_alloc {
    SERVE_ALLOC_PREALLOC = 0,  /* one buffer per request, sized at admission */
    SERVE_ALLOC_MALLOC = 1,    /* malloc + free for every token's chunk */
    SERVE_ALLOC_ARENA = 2,     /* a per-request bump arena, reset at the end */
};

struct serve_opts {
    const char *host;          /* numeric IPv4 address to bind; NULL = 127.0.0.1 */
    int port;                  /* 0 = a free port (serve_port says which) */
    size_t max_body_bytes;     /* 0 = 1 MiB */
    int timeout_s;             /* idle connection timeout; 0 = 10 */
    int max_conns;             /* 0 = 2048 */
    int queue_cap;             /* waiting requests; 0 = 1024 */
    int prefill_chunk;         /* 0 = the context's batch */
    enum batch_policy policy;
    enum serve_alloc alloc;
    int default_max_tokens;    /* 0 = 16 (OpenAI's default) */
    const char *model_name;    /* reported in responses; NULL = "ggperf" */
    int step_delay_us;         /* sleep after each step: a slower model for tests of queueing,
                                * disconnects and draining; 0 = none */
};

struct serve;

/* Start listening and serving. c (with its n_seq slots), m and t are
 * borrowed and must outlive the server. */
int serve_new(struct serve **out, struct infer *c, const struct model *m, const struct tok *t,
              const struct serve_opts *o, char *err, size_t err_len);

/* The port it listens on. */
int serve_port(const struct serve *s);

/* Refuse new completions (503), let the running and queued ones finish and
 * their responses be sent, for at most timeout_ms. SERVE_OK or SERVE_ETIMEOUT. */
int serve_drain(struct serve *s, int timeout_ms);

/* Stop (cancelling what still runs) and free; NULL does nothing. */
void serve_free(struct serve *s);

/* The /metrics text into buf (at most len bytes, NUL-terminated); returns
 * the full length. */
size_t serve_metrics_text(struct serve *s, char *buf, size_t len);

#endif
