/* ggperf serve — an OpenAI-compatible completions server over the engine's
 * continuous batcher (serve/server.h): HTTP/1.1 on 127.0.0.1 unless told,
 * until SIGTERM or SIGINT, which drain the requests in flight first. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/engine_flags.h"
#include "cli/sigbus.h"
#include "engine/tokenizer.h"
#include "harness/machine/sysfs.h"
#include "harness/run/session.h"
#include "serve/server.h"

static int stop_pipe[2] = { -1, -1 };

static void on_stop(int sig)
{
    unsigned char c = (unsigned char)sig;
    int e = errno;
    ssize_t w = write(stop_pipe[1], &c, 1);
    (void)w;
    errno = e;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf serve -m MODEL [--host ADDR] [--port P] [--slots N] [-t T] [options] [engine flags]\n\n"
            "Serve POST /v1/completions (OpenAI's completions API; \"stream\": true gives\n"
            "server-sent events), GET /health and GET /metrics (Prometheus text) over\n"
            "HTTP/1.1. N requests run at once in N KV slots, batched into one forward pass\n"
            "per step; more wait in a queue. SIGTERM or SIGINT stops taking requests\n"
            "(503), finishes those in flight, then exits 0.\n\n"
            "  --host ADDR        IPv4 address to bind (default 127.0.0.1: this machine only)\n"
            "  --port P           TCP port (default 8080; 0 = any free port)\n"
            "  --port-file FILE   write the port there once listening (for scripts and tests)\n"
            "  --slots N          KV slots: requests generating at once (default 8, 1..1024)\n"
            "  --ctx N            positions per slot (default min(model's, 2048))\n"
            "  --queue N          requests waiting for a slot before 503 (default 1024)\n"
            "  --policy P         fifo|spf: which waiting request gets a free slot (spf =\n"
            "                     shortest prompt first; default fifo)\n"
            "  --chunk N          most prompt tokens of one request per pass (default: --batch)\n"
            "  --alloc A          prealloc|malloc|arena: memory for each streamed token's\n"
            "                     event (default prealloc)\n"
            "  --max-body BYTES   larger request bodies get 413 (default 1048576)\n"
            "  --timeout S        drop a connection idle for S seconds (default 10)\n"
            "  --drain-timeout S  longest wait for in-flight requests at shutdown (default 60)\n"
            "  --step-delay-us N  sleep N us after each engine step: a slower model, for tests\n"
            "                     of queueing, disconnects and draining (default 0)\n\n"
            "engine flags:\n%s",
            cli_engine_flags_help());
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct session_opts so;
    session_opts_init(&so);
    struct serve_opts o = { .port = 8080 };
    int slots = 8, drain_s = 60;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_engine_flag(&so, argc, argv, &i);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        const char *f = argv[i];
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "%s: unknown flag or missing value (ggperf serve --help)", f);
        const char *v = argv[++i];
        uint64_t u;
        if (!strcmp(f, "--host"))
            o.host = v;
        else if (!strcmp(f, "--port")) {
            if (cli_parse_int(f, v, 0, 65535, &o.port))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--port-file"))
            port_file = v;
        else if (!strcmp(f, "--slots")) {
            if (cli_parse_int(f, v, 1, INFER_MAX_SEQ, &slots))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--queue")) {
            if (cli_parse_int(f, v, 1, 1 << 20, &o.queue_cap))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--policy")) {
            if (!strcmp(v, "fifo"))
                o.policy = BATCH_FIFO;
            else if (!strcmp(v, "spf"))
                o.policy = BATCH_SPF;
            else
                return cli_error(CLI_EUSAGE, "--policy: '%s' is not one of fifo|spf", v);
        } else if (!strcmp(f, "--alloc")) {
            if (!strcmp(v, "prealloc"))
                o.alloc = SERVE_ALLOC_PREALLOC;
            else if (!strcmp(v, "malloc"))
                o.alloc = SERVE_ALLOC_MALLOC;
            else if (!strcmp(v, "arena"))
                o.alloc = SERVE_ALLOC_ARENA;
            else
                return cli_error(CLI_EUSAGE, "--alloc: '%s' is not one of prealloc|malloc|arena", v);
        } else if (!strcmp(f, "--chunk")) {
            if (cli_parse_int(f, v, 1, 1 << 20, &o.prefill_chunk))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--max-body")) {
            if (cli_parse_u64(f, v, 64, 1ull << 32, &u))
                return CLI_EUSAGE;
            o.max_body_bytes = (size_t)u;
        } else if (!strcmp(f, "--timeout")) {
            if (cli_parse_int(f, v, 1, 3600, &o.timeout_s))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--step-delay-us")) {
            if (cli_parse_int(f, v, 0, 10000000, &o.step_delay_us))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--drain-timeout")) {
            if (cli_parse_int(f, v, 0, 86400, &drain_s))
                return CLI_EUSAGE;
        } else {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf serve --help)", f);
        }
    }
    if (!so.model_path)
        return cli_error(CLI_EUSAGE, "-m MODEL is required");

    /* A handler, not sigwait: threads started before this point (OpenBLAS
     * starts its pool when the library loads) do not block the signals, so
     * a blocked-mask scheme would let SIGTERM kill the process through
     * them. The handler writes the signal to a pipe the main thread reads. */
    if (pipe(stop_pipe) != 0)
        return cli_error(CLI_EFAIL, "serve: pipe: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* One thread per connection: without a cap glibc gives many of them an
     * arena of their own, and 1024 queued clients would cost an arena's
     * touched pages each. */
    mallopt(M_ARENA_MAX, 2);

    struct session s;
    char err[1024];
    struct tok *tk = NULL;
    struct serve *srv = NULL;
    int rc = CLI_EFAIL;
    if (session_open(&s, &so, false, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "%s", err);
    cli_guard_session(&s, so.model_path);
    tk = tok_new(&s.g, NULL, NULL, err, sizeof err);
    if (!tk) {
        cli_error(CLI_EFAIL, "%s: %s", so.model_path, err);
        goto done;
    }
    if (so.infer.n_ctx == 0)
        so.infer.n_ctx = s.m.hp.n_ctx_train > 0 && s.m.hp.n_ctx_train < 2048 ? s.m.hp.n_ctx_train : 2048;
    so.infer.n_seq = slots;
    uint64_t kv = infer_kv_bytes(&s.m.hp, so.infer.n_ctx, so.infer.kv_type, so.infer.kv_pad) * (uint64_t)slots;
    uint64_t avail = sysfs_mem_available();
    if (avail && kv > avail) {
        cli_error(CLI_EFAIL, "--slots %d x --ctx %d: the KV cache needs %" PRIu64 " bytes, more than the %" PRIu64
                             " available", slots, so.infer.n_ctx, kv, avail);
        goto done;
    }
    if (infer_new(&s.ctx, &s.m, &so.infer, err, sizeof err) != INFER_OK) {
        cli_error(CLI_EFAIL, "%s: %s", so.model_path, err);
        goto done;
    }
    if (serve_new(&srv, s.ctx, &s.m, tk, &o, err, sizeof err) != SERVE_OK) {
        cli_error(CLI_EFAIL, "%s", err);
        goto done;
    }
    if (port_file) {
        FILE *pf = fopen(port_file, "w");
        if (!pf || fprintf(pf, "%d\n", serve_port(srv)) < 0 || fclose(pf) != 0) {
            cli_error(CLI_EFAIL, "--port-file %s: cannot write it", port_file);
            goto done;
        }
    }
    printf("serve: listening on http://%s:%d (%d slots x %d positions, %d threads)\n", o.host ? o.host : "127.0.0.1",
           serve_port(srv), slots, infer_n_ctx(s.ctx), pool_threads(infer_pool(s.ctx)));
    fflush(stdout);
    unsigned char sig = 0;
    while (read(stop_pipe[0], &sig, 1) < 0 && errno == EINTR)
        ;
    /* A second SIGTERM (a supervisor repeating itself) must not cut the
     * drain short: from here on both are ignored. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    fprintf(stderr, "serve: %s: draining (at most %d s)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT", drain_s);
    if (serve_drain(srv, drain_s * 1000) != SERVE_OK)
        fprintf(stderr, "serve: requests still running after %d s: cancelling them\n", drain_s);
    rc = CLI_OK;
done:
    serve_free(srv);
    tok_free(tk);
    session_close(&s);
    return rc;
}

const struct cli_cmd cmd_serve = { "serve", "serve completions over HTTP (OpenAI API, continuous batching)", run };
