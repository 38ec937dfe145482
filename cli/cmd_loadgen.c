/* ggperf loadgen — closed- or open-loop load against a completions server
 * on this machine (ggperf serve, or llama-server for a side-by-side:
 * scripts/compare-llamaserver.sh), measured the one way serve/loadgen.h
 * measures: streamed requests of token-id prompts with ignore_eos, TTFT and
 * inter-token gaps on the wire, latency from the intended send time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "serve/loadgen.h"
#include "workloads/wlutil.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf loadgen --url http://127.0.0.1:PORT [--clients C] [--requests N] [--rate R]\n"
               "                      [--prompt P] [--gen G] [--vocab V] [--seed S] [--timeout S] [--json]\n\n"
               "Send N requests (default 64) to URL's /v1/completions: closed loop with C\n"
               "concurrent clients (default 8), or with --rate R, open loop: Poisson arrivals\n"
               "at R requests/s, at most C in flight, latencies from the intended send time.\n"
               "Prompts are P random token ids below V (default 32 of 32000; V must not exceed\n"
               "the model's vocabulary), G tokens generated (default 64) with ignore_eos.\n"
               "A request whose response sends nothing for --timeout S seconds (default %d)\n"
               "fails and says so: give deep queues (many clients, few slots) more.\n"
               "Only 127.0.0.1 / localhost: this is a bench tool, not a load tester for others.\n"
               "Prints a summary, or one JSON object with --json.\n",
            LOADGEN_TIMEOUT_S);
}

static double pct(double *v, int n, double p)
{
    return n > 0 ? wlutil_percentile(v, n, p) : 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct loadgen_opts o = { .mode = LOADGEN_CLOSED, .route = LOADGEN_HTTP, .clients = 8, .n_requests = 64,
                              .prompt_tokens = 32, .gen_tokens = 64, .n_vocab = 32000, .seed = 1 };
    const char *url = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--json")) {
            json = true;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "%s: unknown flag or missing value (ggperf loadgen --help)", f);
        const char *v = argv[++i];
        uint64_t u;
        if (!strcmp(f, "--url"))
            url = v;
        else if (!strcmp(f, "--clients")) {
            if (cli_parse_int(f, v, 1, 10000, &o.clients))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--requests")) {
            if (cli_parse_int(f, v, 1, 10000000, &o.n_requests))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--rate")) {
            if (cli_parse_double(f, v, 0.001, 1e6, &o.rate))
                return CLI_EUSAGE;
            o.mode = LOADGEN_OPEN;
        } else if (!strcmp(f, "--prompt")) {
            if (cli_parse_int(f, v, 1, 1 << 20, &o.prompt_tokens))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--gen")) {
            if (cli_parse_int(f, v, 1, 1 << 20, &o.gen_tokens))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--vocab")) {
            if (cli_parse_int(f, v, 4, 1 << 24, &o.n_vocab))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--timeout")) {
            if (cli_parse_int(f, v, 1, 86400, &o.timeout_s))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "--seed")) {
            if (cli_parse_u64(f, v, 0, UINT64_MAX, &u))
                return CLI_EUSAGE;
            o.seed = u;
        } else
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf loadgen --help)", f);
    }
    if (!url)
        return cli_error(CLI_EUSAGE, "--url is required (http://127.0.0.1:PORT)");
    char host[64];
    int port = 0;
    if (sscanf(url, "http://%63[^:/]:%d", host, &port) != 2 || port < 1 || port > 65535)
        return cli_error(CLI_EUSAGE, "--url %s: expected http://127.0.0.1:PORT", url);
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    if (strncmp(host, "127.", 4) != 0)
        return cli_error(CLI_EUSAGE, "--url %s: only loopback addresses (127.x.x.x, localhost)", url);
    o.host = host;
    o.port = port;
    struct loadgen_result r;
    char err[512];
    if (loadgen_run(&o, &r, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "%s", err);
    qsort(r.ttft_ns, (size_t)r.n_ttft, sizeof(double), cmp_d);
    qsort(r.itl_ns, (size_t)r.n_itl, sizeof(double), cmp_d);
    qsort(r.e2e_ns, (size_t)r.n_e2e, sizeof(double), cmp_d);
    double qps = r.wall_s > 0 ? r.n_ok / r.wall_s : 0, tps = r.wall_s > 0 ? (double)r.tokens / r.wall_s : 0;
    if (json) {
        printf("{\"url\":\"%s\",\"mode\":\"%s\",\"clients\":%d,\"rate\":%g,\"requests\":%d,\"prompt\":%d,\"gen\":%d,"
               "\"ok\":%d,\"failed\":%d,\"refused\":%d,\"wall_s\":%.6f,\"qps\":%.4f,\"tokens_per_s\":%.3f,"
               "\"ttft_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
               "\"itl_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
               "\"e2e_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
               url, o.mode == LOADGEN_OPEN ? "open" : "closed", o.clients, o.rate, o.n_requests, o.prompt_tokens,
               o.gen_tokens, r.n_ok, r.n_failed, r.n_refused, r.wall_s, qps, tps, pct(r.ttft_ns, r.n_ttft, .5) / 1e6,
               pct(r.ttft_ns, r.n_ttft, .95) / 1e6, pct(r.ttft_ns, r.n_ttft, .99) / 1e6,
               pct(r.ttft_ns, r.n_ttft, 1) / 1e6, pct(r.itl_ns, r.n_itl, .5) / 1e6, pct(r.itl_ns, r.n_itl, .95) / 1e6,
               pct(r.itl_ns, r.n_itl, .99) / 1e6, pct(r.itl_ns, r.n_itl, 1) / 1e6, pct(r.e2e_ns, r.n_e2e, .5) / 1e6,
               pct(r.e2e_ns, r.n_e2e, .95) / 1e6, pct(r.e2e_ns, r.n_e2e, .99) / 1e6, pct(r.e2e_ns, r.n_e2e, 1) / 1e6);
    } else {
        printf("loadgen %s: %s loop, %d clients%s, %d requests (%d prompt + %d generated tokens)\n", url,
               o.mode == LOADGEN_OPEN ? "open" : "closed", o.clients, o.mode == LOADGEN_OPEN ? "" : "", o.n_requests,
               o.prompt_tokens, o.gen_tokens);
        printf("  ok %d  failed %d  refused (503) %d  wall %.3f s\n", r.n_ok, r.n_failed, r.n_refused, r.wall_s);
        printf("  achieved %.2f requests/s, %.1f tokens/s\n", qps, tps);
        printf("  TTFT ms  p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", pct(r.ttft_ns, r.n_ttft, .5) / 1e6,
               pct(r.ttft_ns, r.n_ttft, .95) / 1e6, pct(r.ttft_ns, r.n_ttft, .99) / 1e6, pct(r.ttft_ns, r.n_ttft, 1) / 1e6);
        printf("  ITL ms   p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", pct(r.itl_ns, r.n_itl, .5) / 1e6,
               pct(r.itl_ns, r.n_itl, .95) / 1e6, pct(r.itl_ns, r.n_itl, .99) / 1e6, pct(r.itl_ns, r.n_itl, 1) / 1e6);
        if (r.first_error[0])
            printf("  first error: %s\n", r.first_error);
    }
    int rc = r.n_ok > 0 ? CLI_OK : CLI_EFAIL;
    if (rc != CLI_OK)
        cli_error(CLI_EFAIL, "no request succeeded (%s)", r.first_error[0] ? r.first_error : "?");
    loadgen_result_free(&r);
    return rc;
}

const struct cli_cmd cmd_loadgen = { "loadgen", "closed/open-loop load against a completions server on 127.0.0.1", run };
