/* ggperf study — predefined sweeps with their comparison tables.
 *
 * A study is one entry in the table below: a workload, its axes and
 * repetitions, the model it is measured on, and the columns of its table.
 * It runs through `ggperf run` (same stream, resume, outputs), so adding a
 * study (contention, matmul, kvcache, threads, alloc...) is one entry. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/machine/env.h"
#include "results/results.h"
#include "harness/run/runner.h"

extern const struct cli_cmd cmd_run;

struct study {
    const char *name;
    const char *summary;          /* one line for `ggperf study list` */
    const char *details;          /* what it shows and how, for --help */
    const char *model_shape;      /* synthesized when no -m is given; NULL: needs no model */
    const char *model_type;
    const char *const *args;      /* `ggperf run` arguments: workload first, then axes and plan */
    const char *metrics;          /* the comparison table's columns */
    const char *title;
};

static const char *const load_args[] = {
    "load", "--load", "read,mmap,populate,willneed,sequential,hugepage,direct", "--cache", "cold,warm",
    "-r", "6", "--warmup", "0", NULL, /* 6: the fewest repetitions with a 95% CI of the median */
};

static const char *const metadata_args[] = {
    "metadata", "--vocab", "32000,128000", "--index", "caller,alloc", "-r", "21", "--warmup", "2", NULL,
};

static const char *const decode_args[] = {
    "decode", "--threads", "1,2", "--kernels", "ref,avx2,auto", "--weights", "map,hugepage", "--n_gen", "16",
    "-r", "6", "--warmup", "1", NULL,
};

static const char *const threads_args[] = {
    "threads", "--threads", "1,2,4", "--pin", "off,on", "--wait", "spin,futex,hybrid", "--n_gen", "8",
    "-r", "3", "--warmup", "1", NULL,
};

static const char *const alloc_args[] = {
    "alloc", "--strategy", "heap,arena,mmap", "--n_gen", "16", "-r", "6", "--warmup", "1", NULL,
};

static const char *const kvcache_args[] = {
    "kvcache", "--pad", "0,1,8,16", "--pos", "64,256,1024", "--steps", "8", "-r", "6", "--warmup", "1", NULL,
};

static const char *const contention_args[] = {
    "contention", "--type", "q4_0,q8_0,q4_k", "--op", "dot,to_float", "--align", "0,1,8,18,32", "--threads", "1,2",
    "--layout", "packed,padded", "-r", "6", "--warmup", "1", NULL,
};

static const char *const matmul_args[] = {
    "matmul", "--impl", "naive,blocked,blas,engine-f32,engine-q8_0,engine-q4_0", "--shape",
    "256,512,1024,2048x2048,2048x5632,5632x2048", "--n", "1,64", "-r", "3", "--warmup", "0", NULL,
};

static const char *const serve_args[] = {
    "serve", "--route", "inproc,http", "--mode", "closed", "--load", "1,8,64", "--alloc", "prealloc,malloc,arena",
    "--slots", "8", "--prompt", "16", "--gen", "16", "--requests", "32", "-r", "3", "--warmup", "1", NULL,
};

static const struct study studies[] = {
    { "load", "model loading: read+copy vs mmap variants vs O_DIRECT, cold and warm page cache",
      "Loads a ~0.9 GB model (synthesized TinyLlama-1.1B shape, Q6_K) with each strategy, from a cold page\n"
      "cache (dropped and verified with mincore) and a warm one, each repetition in a fresh process.\n"
      "A row per strategy x cache state: time per phase (map/read, parse, first touch of every weight page,\n"
      "first token), RSS increase anonymous/file-backed, page faults, bytes read from disk, and whether the\n"
      "cold state was verified.",
      "1.1b", "Q6_K", load_args,
      "resident_before_fraction,cold_ok,map_read_ns,parse_ns,touch_ns,ready_ns,first_token_ns,rss_anon_delta_bytes,"
      "rss_file_delta_bytes,minor_faults,major_faults,disk_read_bytes,read_gbps,map_touch_gbps",
      "load study: time per phase, memory and faults per strategy and cache state" },
    { "metadata", "GGUF metadata parse time and heap use, 32k vs 128k vocabulary, caller vs malloc'ed index",
      "Parses GGUF files whose metadata holds a 32k or 128k-token vocabulary, with the index in caller storage\n"
      "(gguf_open: no allocation) or malloc'ed (gguf_open_alloc); heap bytes from mallinfo2.",
      NULL, NULL, metadata_args, "open_ns,heap_bytes,mmap_chunks,index_bytes,file_bytes,n_kv",
      "metadata study: parse time and heap use" },
    { "decode", "decode speed by threads, kernel ISA and weight placement: tokens/s, latency, bandwidth vs STREAM",
      "Generates 16 tokens per repetition on the synthesized 110m model (Q8_0) with 1 and 2 threads, the\n"
      "reference, AVX2 and fastest kernels, and the weights mapped from the page cache or copied into 2 MiB\n"
      "transparent huge pages (weights_huge_fraction says how much got them). A row per configuration:\n"
      "tokens/s, per-token latency p50/p99, effective bandwidth (weights read per token x tokens/s) and its\n"
      "fraction of the STREAM triad peak of the same thread count, matmul GFLOP/s, counters over the timed\n"
      "tokens: hardware per token (n/a with the reason where there is no PMU), software, and the wake-up\n"
      "latency and run-queue delay of the pool's threads (sched). `ggperf run decode --sim on` adds\n"
      "valgrind-simulated instructions and D1/LL misses.",
      "110m", "Q8_0", decode_args,
      "tokens_per_s,token_p50_ns,token_p99_ns,eff_bw_gbps,peak_triad_gbps,bw_fraction_of_peak,matmul_gflops,"
      "weights_huge_fraction,instructions_per_token,context_switches,cpu_migrations,minor_faults,"
      "wakeup_latency_p99_ns,runq_wait_ns",
      "decode study: tokens/s and bandwidth by threads, kernels and weight placement" },
    { "threads", "thread count (1..2x cores), pinning and wait policy: tokens/s, wake-up latency, switches",
      "Decodes 8 tokens per repetition on the synthesized 110m model (Q8_0) with 1, 2 and 4 threads (4 is\n"
      "oversubscribed on 2 cores), unpinned and pinned, with the pool spinning, sleeping on a futex, or both.\n"
      "A row per configuration: tokens/s, p99 token latency, wake-up latency of the pool's threads (sched\n"
      "tracepoints), run-queue delay (schedstat), voluntary/involuntary switches, migrations, futex waits.",
      "110m", "Q8_0", threads_args,
      "tokens_per_s,token_p99_ns,wakeup_latency_p50_ns,wakeup_latency_p99_ns,wakeup_latency_max_ns,runq_wait_ns,"
      "voluntary_switches,involuntary_switches,cpu_migrations,futex_waits",
      "threads study: pool size, pinning and wait policy" },
    { "alloc", "per-token scratch allocation: heap vs arena vs mmap+MADV_DONTNEED",
      "Decodes 16 tokens per repetition on the synthesized 110m model (Q8_0), obtaining and touching a scratch\n"
      "of the engine's scratch size every token from malloc/free, a preallocated arena, or an anonymous\n"
      "mapping released with MADV_DONTNEED, each repetition in a fresh process. A row per strategy: token\n"
      "latency p50/p99, time inside the allocator's calls, faults per token, anonymous RSS.",
      "110m", "Q8_0", alloc_args,
      "token_p50_ns,token_p99_ns,tokens_per_s,alloc_ns_per_token,alloc_p99_ns,touch_ns_per_token,"
      "minor_faults_per_token,rss_anon_bytes,rss_anon_delta_bytes,scratch_bytes",
      "alloc study: per-token scratch strategies" },
    { "kvcache", "attention over a growing KV cache: aligned vs padded rows at positions 64..1024",
      "Decodes 8 tokens per repetition at context positions 64, 256 and 1024 (prefilled untimed) on the\n"
      "synthesized tiny model (Q8_0: attention is a large share of a step there) with KV rows padded by 0,\n"
      "1, 8 and 16 elements. A row per configuration: time per step, attention time per step and the KV\n"
      "bytes it reads per second, row size, L1d misses per step (PMU; `ggperf run kvcache --sim on` for\n"
      "simulated ones where there is none).",
      "tiny", "Q8_0", kvcache_args, "step_p50_ns,ns_per_step,attn_ns_per_step,attn_kv_gbps,kv_row_bytes,l1d_misses_per_step",
      "kvcache study: time per decode step by KV row padding and position" },
    { "contention", "kernels vs layout: weight alignment 0/1/8/18/32, threads, false sharing of outputs",
      "Runs the engine's dot and dequantize kernels over 1024 rows x 2048 of Q4_0, Q8_0 and Q4_K weights whose\n"
      "first byte sits 0, 1, 8, 18 or 32 bytes past a cache line, on 1 and 2 threads whose per-row results go\n"
      "to adjacent floats (packed: false sharing) or to a line each (padded). A row per configuration: time\n"
      "per 1024 rows (median and best of 16 passes), weight GB/s, L1d misses (PMU; `ggperf run contention\n"
      "--sim on` for simulated ones), and a checksum that must not change with the layout.",
      NULL, NULL, contention_args,
      "ns_per_1024_rows,ns_per_1024_rows_min,weight_gbps,l1d_misses_per_1024_rows,result_checksum",
      "contention study: kernel time by alignment, threads and output layout" },
    { "matmul", "naive vs cache-blocked vs engine kernels vs OpenBLAS at TinyLlama and square shapes",
      "Multiplies weights of 2048x2048, 2048x5632, 5632x2048 (TinyLlama's projections) and square 256, 512\n"
      "and 1024 by 1 and 64 token rows with a naive triple loop, a cache-blocked loop, the engine's f32, Q8_0\n"
      "and Q4_0 kernels and OpenBLAS sgemm, on one thread. A row per configuration: time per product,\n"
      "GFLOP/s, bytes per flop, GB/s, and the error against a double-precision reference.",
      NULL, NULL, matmul_args, "ns_per_matmul,gflops,bytes_per_flop,gbps,check_rel_err",
      "matmul study: GFLOP/s by implementation and shape" },
    { "serve", "serving under load: in process vs HTTP bridge, 1/8/64 clients, token-path allocation",
      "Serves the synthesized 110m model (Q4_0) with 8 KV slots of continuous batching, in process and through\n"
      "the HTTP server over loopback, to 1, 8 and 64 closed-loop clients (32 requests of 16 prompt + 16\n"
      "generated tokens per repetition), with the token path's memory preallocated, malloc'ed per token or\n"
      "taken from a per-request arena. A row per configuration: achieved QPS and tokens/s (aggregate tokens/s\n"
      "vs concurrency), TTFT and inter-token p50/p95 (inproc vs http at the same load: the bridge's cost per\n"
      "request and per token), queue wait, p95 by allocation strategy at 64 clients, context switches,\n"
      "run-queue wait of the clients and peak RSS. The latency-vs-offered-load curve is the open loop:\n"
      "`ggperf run serve --mode open --load R1,R2,...` (Poisson arrivals, latency from the intended send).",
      "110m", "Q4_0", serve_args,
      "qps,tokens_per_s,ttft_p50_ns,ttft_p95_ns,itl_p50_ns,itl_p95_ns,queue_wait_p95_ns,e2e_p95_ns,"
      "context_switches_voluntary,context_switches_involuntary,runq_wait_clients_ns,rss_peak_bytes",
      "serve study: QPS and latency by route, concurrency and token-path allocation" },
};

#define N_STUDIES (sizeof studies / sizeof studies[0])

/* ---- the serve study's answers, from its results document ---- */

/* Median of metric in the configuration with these axis values (NULL:
 * any); NAN when absent or not measured. *noisy says whether the runner
 * flagged it. */
static double serve_median(const json_t *stats, const char *route, const char *load, const char *alloc,
                           const char *metric, bool *noisy)
{
    size_t i;
    const json_t *c;
    json_array_foreach(stats, i, c) {
        const json_t *ax = json_object_get(c, "axes");
        const char *r = json_string_value(json_object_get(ax, "route"));
        const char *l = json_string_value(json_object_get(ax, "load"));
        const char *a = json_string_value(json_object_get(ax, "alloc"));
        if (!r || !l || !a || strcmp(r, route) || strcmp(l, load) || (alloc && strcmp(a, alloc)))
            continue;
        size_t k;
        const json_t *m;
        json_array_foreach(json_object_get(c, "metrics"), k, m) {
            if (strcmp(json_string_value(json_object_get(m, "name")) ?: "", metric) != 0)
                continue;
            const json_t *v = json_object_get(m, "median");
            if (!json_is_number(v))
                return NAN;
            if (noisy && json_is_true(json_object_get(m, "noisy")))
                *noisy = true;
            return json_number_value(v);
        }
    }
    return NAN;
}

/* Conclusion lines for `ggperf study serve`, read back from the document
 * the run wrote: concurrency scaling, the HTTP bridge's cost, p95 by
 * allocation strategy. Missing configurations print as n/a. */
static void serve_conclusions(const char *doc_path)
{
    json_error_t je;
    json_t *doc = json_load_file(doc_path, 0, &je);
    const json_t *stats = doc ? json_object_get(doc, "stats") : NULL;
    if (!json_is_array(stats)) {
        fprintf(stderr, "ggperf: study serve: no statistics in %s for the conclusions\n", doc_path);
        json_decref(doc);
        return;
    }
    bool noisy = false;
    printf("\nConclusions (medians; ⚠ = the runner found the spread too wide):\n");
    for (int r = 0; r < 2; r++) {
        const char *route = r ? "http" : "inproc";
        double t1 = serve_median(stats, route, "1", "prealloc", "tokens_per_s", &noisy);
        double t8 = serve_median(stats, route, "8", "prealloc", "tokens_per_s", &noisy);
        double t64 = serve_median(stats, route, "64", "prealloc", "tokens_per_s", &noisy);
        printf("- aggregate tokens/s, %s, 1 / 8 / 64 clients: %.1f / %.1f / %.1f: 8 clients give %.2fx one client%s\n",
               route, t1, t8, t64, t8 / t1, noisy ? " ⚠" : "");
        noisy = false;
    }
    double ti = serve_median(stats, "inproc", "1", "prealloc", "ttft_p50_ns", &noisy);
    double th = serve_median(stats, "http", "1", "prealloc", "ttft_p50_ns", &noisy);
    double ii = serve_median(stats, "inproc", "1", "prealloc", "itl_p50_ns", &noisy);
    double ih = serve_median(stats, "http", "1", "prealloc", "itl_p50_ns", &noisy);
    printf("- HTTP bridge at 1 client: TTFT p50 %.3f ms in process vs %.3f ms over HTTP (%+.3f ms per request); "
           "inter-token p50 %.1f vs %.1f us (%+.1f us per token)%s\n",
           ti / 1e6, th / 1e6, (th - ti) / 1e6, ii / 1e3, ih / 1e3, (ih - ii) / 1e3, noisy ? " ⚠" : "");
    static const char *const allocs[] = { "prealloc", "malloc", "arena" };
    for (int r = 0; r < 2; r++) {
        const char *route = r ? "http" : "inproc";
        noisy = false;
        double p[3];
        int best = 0;
        for (int a = 0; a < 3; a++) {
            p[a] = serve_median(stats, route, "64", allocs[a], "ttft_p95_ns", &noisy);
            if (p[a] < p[best])
                best = a;
        }
        printf("- p95 TTFT at 64 clients, %s, prealloc / malloc / arena: %.1f / %.1f / %.1f ms: lowest %s%s\n", route,
               p[0] / 1e6, p[1] / 1e6, p[2] / 1e6, allocs[best],
               noisy ? " ⚠ (within the spread: no clear winner)" : "");
    }
    printf("- latency vs offered load (the knee): ggperf run serve --mode open --load R1,R2,... per route\n");
    json_decref(doc);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf study list\n"
               "       ggperf study NAME [-m MODEL] [-r N] [--seed S] [-o md|csv|json|jsonl|sqlite] [--out FILE]\n"
               "                         [--stream FILE] [--resume STREAM] [--force]\n\n"
               "Run a predefined sweep and print its comparison table. Studies run through\n"
               "`ggperf run` (streamed results, --resume, the same outputs). -m replaces the\n"
               "study's model (synthesized once into the cache directory otherwise).\n\nstudies:\n");
    for (size_t i = 0; i < N_STUDIES; i++)
        fprintf(f, "  %-10s %s\n", studies[i].name, studies[i].summary);
}

static int run(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EUSAGE : CLI_OK;
    }
    if (strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < N_STUDIES; i++) {
            const struct study *s = &studies[i];
            printf("%s — %s\n", s->name, s->summary);
            printf("  model: %s%s%s\n  sweep: ggperf run", s->model_shape ? s->model_shape : "none",
                   s->model_shape ? " " : "", s->model_type ? s->model_type : "");
            for (int k = 0; s->args[k]; k++)
                printf(" %s", s->args[k]);
            printf("\n  table: %s\n\n", s->metrics);
        }
        return CLI_OK;
    }
    const struct study *s = NULL;
    for (size_t i = 0; i < N_STUDIES; i++)
        if (strcmp(argv[1], studies[i].name) == 0)
            s = &studies[i];
    if (!s)
        return cli_error(CLI_EUSAGE, "study: unknown study '%s' (ggperf study list)", argv[1]);
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf study %s [-m MODEL] [-r N] [--seed S] [-o FMT] [--out FILE] [--stream FILE]\n"
               "                        [--resume STREAM] [--force]\n\n%s\n",
               s->name, s->details);
        return CLI_OK;
    }

    /* the user's options, checked here so that unknown ones name the study
     * and bad values fail before a model is synthesized */
    static const char *const passed[] = { "-m", "-r", "--seed", "-o", "--out", "--stream", "--resume", NULL };
    const char *model = NULL, *resume = NULL, *user[32];
    int n_user = 0;
    bool force = false;
    for (int i = 2; i < argc; i += 2) {
        if (strcmp(argv[i], "--force") == 0) {
            force = true;
            i--;
            continue;
        }
        bool known = false;
        for (int k = 0; passed[k]; k++)
            known = known || strcmp(argv[i], passed[k]) == 0;
        if (!known)
            return cli_error(CLI_EUSAGE, "study: unknown option '%s' (allowed: -m -r --seed -o --out --stream "
                                         "--resume --force)", argv[i]);
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "study: %s needs a value", argv[i]);
        const char *v = argv[i + 1];
        int iv;
        uint64_t uv;
        if (strcmp(argv[i], "-m") == 0)
            model = v;
        else if (strcmp(argv[i], "--resume") == 0)
            resume = v;
        else if (strcmp(argv[i], "-r") == 0 && cli_parse_int("-r", v, 1, 1000000, &iv) != 0)
            return CLI_EUSAGE;
        else if (strcmp(argv[i], "--seed") == 0 && cli_parse_u64("--seed", v, 0, UINT64_MAX, &uv) != 0)
            return CLI_EUSAGE;
        else if (strcmp(argv[i], "-o") == 0 && results_format_from_name(v) < 0)
            return cli_error(CLI_EUSAGE, "study: -o: '%s' is not one of md|csv|json|jsonl|sqlite", v);
        if (n_user + 2 > (int)(sizeof user / sizeof user[0]))
            return cli_error(CLI_EUSAGE, "study: too many options");
        user[n_user++] = argv[i];
        user[n_user++] = v;
    }

    char model_buf[PATH_MAX], cache[PATH_MAX], err[512];
    if (!resume && !model && s->model_shape) {
        if (env_cache_dir(cache, sizeof cache, err, sizeof err) != 0)
            return cli_error(CLI_EFAIL, "study: %s", err);
        if (!runner_synth_path(cache, s->model_shape, s->model_type, model_buf, sizeof model_buf))
            fprintf(stderr, "ggperf: synthesizing the %s model (%s %s) into %s (once)\n", s->name, s->model_shape,
                    s->model_type, model_buf);
        if (runner_synth_model(cache, s->model_shape, s->model_type, model_buf, sizeof model_buf, err, sizeof err))
            return cli_error(CLI_EFAIL, "study: %s", err);
        model = model_buf;
    }

    /* ggperf run WORKLOAD [study axes and plan] [-m MODEL] [user options] --metrics ... --title ... */
    const char *args[72];
    int n = 0;
    args[n++] = "run";
    for (int k = 0; s->args[k] && n < 40; k++)
        if (!resume || k == 0) /* a resumed sweep takes its plan from the stream */
            args[n++] = s->args[k];
    if (model && !resume) {
        args[n++] = "-m";
        args[n++] = model;
    }
    for (int i = 0; i + 1 < n_user && n < 57; i += 2)
        if (strcmp(user[i], "-m") != 0 && !(resume && (strcmp(user[i], "-r") == 0 || strcmp(user[i], "--seed") == 0))) {
            args[n++] = user[i];
            args[n++] = user[i + 1];
        }
    if (force)
        args[n++] = "--force";
    args[n++] = "--metrics";
    args[n++] = s->metrics;
    args[n++] = "--title";
    args[n++] = s->title;
    /* The serve study reads its document back for its conclusions, so it
     * names the stream when the user did not. */
    const char *stream = resume;
    char stream_buf[PATH_MAX];
    for (int i = 0; i + 1 < n_user; i += 2)
        if (strcmp(user[i], "--stream") == 0)
            stream = user[i + 1];
    if (strcmp(s->name, "serve") == 0 && !stream) {
        if (mkdir("results", 0755) != 0 && errno != EEXIST)
            return cli_error(CLI_EFAIL, "study: cannot create results/: %s", strerror(errno));
        snprintf(stream_buf, sizeof stream_buf, "results/serve-study-%ld-%ld.jsonl", (long)time(NULL), (long)getpid());
        stream = stream_buf;
        args[n++] = "--stream";
        args[n++] = stream;
    }
    args[n] = NULL;
    int rc = cmd_run.run(n, (char **)args);
    if (rc == CLI_OK && strcmp(s->name, "serve") == 0) {
        char doc[PATH_MAX];
        size_t len = strlen(stream);
        if (len > 6 && strcmp(stream + len - 6, ".jsonl") == 0)
            snprintf(doc, sizeof doc, "%.*s.json", (int)(len - 6), stream);
        else
            snprintf(doc, sizeof doc, "%s.json", stream);
        serve_conclusions(doc);
    }
    return rc;
}

const struct cli_cmd cmd_study = { "study", "run a predefined study and print its comparison table", run };
