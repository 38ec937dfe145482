/* loadgen — drive a completions server, or the batcher in process, with a
 * measured load.
 *
 * Two modes:
 *   closed loop: C clients, each sends its next request when the previous
 *     one is done (throughput at a fixed concurrency);
 *   open loop: requests arrive at Poisson times at a target rate, whatever
 *     the server's speed; every latency is measured from the request's
 *     INTENDED send time, so a stalled server cannot hide its stall by
 *     slowing the client down (no coordinated omission). Up to `clients`
 *     requests are in flight; a request that finds them all busy starts
 *     late, and its lateness counts in its latency.
 * Two routes:
 *   LOADGEN_HTTP: HTTP/1.1 over TCP to host:port, one keep-alive connection
 *     per client, streamed ("stream": true, "ignore_eos": true) so the time
 *     to the first token and between tokens are seen on the wire; works
 *     against any OpenAI-style server (scripts/compare-llamaserver.sh);
 *   LOADGEN_INPROC: batch_submit on a batcher some thread is stepping,
 *     tokens seen in the engine's event callback.
 * Prompts are token ids (seeded, the same for every route and server).
 */
#ifndef GGPERF_SERVE_LOADGEN_H
#define GGPERF_SERVE_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/batch.h"
#include "serve/server.h"

/* The HTTP route's default socket timeout: a response with no data for
 * this long counts as failed, and says so. */
#define LOADGEN_TIMEOUT_S 120

enum loadgen_mode { LOADGEN_CLOSED = 0, LOADGEN_OPEN = 1 };
enum loadgen_route { LOADGEN_INPROC = 0, LOADGEN_HTTP = 1 };

struct loadgen_opts {
    enum loadgen_mode mode;
    enum loadgen_route route;
    int clients;               /* closed: concurrency; open: most requests in flight (1..10000) */
    double rate;               /* open: requests per second */
    int n_requests;            /* requests to send in all (>= 1) */
    int prompt_tokens, gen_tokens;
    int n_vocab;               /* prompt ids are drawn from 3..n_vocab-1 */
    uint64_t seed;
    const char *host;          /* HTTP: numeric IPv4, default 127.0.0.1 */
    int port;
    struct batch *batch;       /* INPROC: a batcher being stepped by another thread */
    enum serve_alloc alloc;    /* INPROC: how each token's record is stored (the allocation axis) */
    int timeout_s;             /* HTTP: socket send/receive timeout; 0 = LOADGEN_TIMEOUT_S */
};

struct loadgen_result {
    int n_ok, n_failed, n_refused;  /* refused: HTTP 503 (queue full) */
    double wall_s;                  /* first intended send to last completion */
    uint64_t tokens;                /* generated tokens received */
    double *ttft_ns, *itl_ns, *e2e_ns, *queue_ns; /* per request / per gap (malloc) */
    int n_ttft, n_itl, n_e2e, n_queue;
    double *wake_ns;                /* INPROC: engine's completion signal -> client running again */
    int n_wake;
    uint64_t client_runq_ns;        /* the client threads' run-queue wait (schedstat), summed */
    bool client_runq_ok;            /* false: /proc/thread-self/schedstat unreadable */
    char first_error[300];
};

/* Run the load to completion (bounded: n_requests). Returns 0 with r filled
 * (failed requests are counted, not fatal), or -1 with a message for bad
 * options or when nothing could start. */
int loadgen_run(const struct loadgen_opts *o, struct loadgen_result *r, char *err, size_t err_len);

/* Free r's arrays; NULL does nothing. */
void loadgen_result_free(struct loadgen_result *r);

#endif
