/* ggperf study — predefined sweeps with their comparison tables.
 *
 * A study is one entry in the table below: a workload (its descriptor, so
 * a renamed workload does not compile), values for some of its axes, the
 * repetitions, the model it is measured on, and the columns of its table.
 * study_check validates an entry against the descriptor's typed axes (the
 * runner's own plan check: axis names, words, ranges); every study is
 * checked by the test suite (tests/test_study.c) and again before it runs,
 * so a renamed axis or choice fails a test, not a user's sweep. It runs
 * through `ggperf run` (same stream, resume, outputs), so adding a study is
 * one entry. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_study.h"
#include "cli/cli.h"
#include "cli/study_contention.h"
#include "harness/machine/env.h"
#include "harness/run/runner.h"
#include "reports/report.h"
#include "results/results.h"
#include "workloads/registry.h"

extern const struct cli_cmd cmd_run;

static const struct study studies[] = {
    { "load", "model loading: read+copy vs mmap variants vs O_DIRECT, cold and warm page cache",
      "Loads a ~0.9 GB model (synthesized TinyLlama-1.1B shape, Q6_K) with each strategy, from a cold page\n"
      "cache (dropped and verified with mincore) and a warm one, each repetition in a fresh process.\n"
      "A row per strategy x cache state: time per phase (map/read, parse, first touch of every weight page,\n"
      "first token), RSS increase anonymous/file-backed, page faults, bytes read from disk, whether the\n"
      "cold state was verified; /proc/vmstat deltas (THP faults and fallbacks, compaction stalls, reclaim,\n"
      "page-ins) and the device's readahead window, so a surprising row carries its likely cause.",
      /* 6 repetitions: the fewest with a 95% CI of the median */
      "1.1b", "Q6_K", &workload_load, { { "load", "read,mmap,populate,willneed,sequential,hugepage,direct" }, { "cache", "cold,warm" } }, 6, 0,
      "resident_before_fraction,cold_ok,map_read_ns,parse_ns,touch_ns,ready_ns,first_token_ns,rss_anon_delta_bytes,"
      "rss_file_delta_bytes,minor_faults,major_faults,disk_read_bytes,read_gbps,map_touch_gbps,vm_thp_fault_alloc,"
      "vm_thp_fault_fallback,vm_compact_stall",
      "load study: time per phase, memory and faults per strategy and cache state",
      "How much sooner is a model ready with mmap than with read+copy, and what does a warm page cache change?",
      "ready_ns: load=mmap vs read per cache; ready_ns: cache=warm vs cold at load=mmap; ready_ns: cache=warm vs cold at load=hugepage" },
    { "metadata", "GGUF metadata parse time and heap use, 32k vs 128k vocabulary, caller vs malloc'ed index",
      "Parses GGUF files whose metadata holds a 32k or 128k-token vocabulary, with the index in caller storage\n"
      "(gguf_open: no allocation) or malloc'ed (gguf_open_alloc); heap bytes from mallinfo2.",
      NULL, NULL, &workload_metadata, { { "vocab", "32000,128000" }, { "index", "caller,alloc" } }, 21, 2, "open_ns,heap_bytes,mmap_chunks,index_bytes,file_bytes,n_kv",
      "metadata study: parse time and heap use", NULL, NULL },
    { "decode", "decode speed by threads, kernel ISA and weight placement: tokens/s, latency, bandwidth vs STREAM",
      "Generates 16 tokens per repetition on the synthesized 110m model (Q8_0) with 1 and 2 threads, the\n"
      "reference, AVX2 and fastest kernels, and the weights mapped from the page cache or copied into 2 MiB\n"
      "transparent huge pages (weights_huge_fraction says how much got them). A row per configuration:\n"
      "tokens/s, per-token latency p50/p99, effective bandwidth (weights read per token x tokens/s) and its\n"
      "fraction of the STREAM triad peak of the same thread count, matmul GFLOP/s, counters over the timed\n"
      "tokens: hardware per token (n/a with the reason where there is no PMU), software, and the wake-up\n"
      "latency and run-queue delay of the pool's threads (sched). `ggperf run decode --sim on` adds\n"
      "valgrind-simulated instructions and D1/LL misses.",
      "110m", "Q8_0", &workload_decode, { { "threads", "1,2" }, { "kernels", "ref,avx2,auto" }, { "weights", "map,hugepage" }, { "n_gen", "16" } }, 6, 1,
      "tokens_per_s,token_p50_ns,token_p99_ns,eff_bw_gbps,peak_triad_gbps,bw_fraction_of_peak,matmul_gflops,"
      "weights_huge_fraction,instructions_per_token,context_switches,cpu_migrations,minor_faults,"
      "wakeup_latency_p99_ns,runq_wait_ns",
      "decode study: tokens/s and bandwidth by threads, kernels and weight placement",
      "What do SIMD kernels, a second thread and huge-page weights each buy in decode speed?",
      "tokens_per_s: kernels=auto vs ref at threads=1,weights=map; tokens_per_s: threads=2 vs 1 at kernels=auto,weights=map; tokens_per_s: weights=hugepage vs map at threads=1,kernels=auto" },
    { "threads", "thread count (1..2x cores), pinning and wait policy: tokens/s, wake-up latency, switches",
      "Decodes 8 tokens per repetition on the synthesized 110m model (Q8_0) with 1, 2 and 4 threads (4 is\n"
      "oversubscribed on 2 cores), unpinned and pinned, with the pool spinning, sleeping on a futex, or both;\n"
      "the weights in a huge-page copy made at setup, so their placement does not drift during the run.\n"
      "A row per configuration: tokens/s, p99 token latency, wake-up latency of the pool's threads (sched\n"
      "tracepoints), run-queue delay (schedstat), voluntary/involuntary switches, migrations, futex waits.",
      "110m", "Q8_0", &workload_threads, { { "threads", "1,2,4" }, { "pin", "off,on" }, { "wait", "spin,futex,hybrid" }, { "n_gen", "8" }, { "weights", "hugepage" } },
      6, 1, /* 6: with fewer, no comparison of two rows can reach p < 0.05 */
      "tokens_per_s,token_p99_ns,wakeup_latency_p50_ns,wakeup_latency_p99_ns,wakeup_latency_max_ns,runq_wait_ns,"
      "voluntary_switches,involuntary_switches,cpu_migrations,futex_waits",
      "threads study: pool size, pinning and wait policy",
      "Does a second thread speed decoding up, and do pinning and the wait policy matter?",
      "tokens_per_s: threads=2 vs 1 at pin=off,wait=spin; tokens_per_s: pin=on vs off at threads=1,wait=spin; tokens_per_s: wait=futex vs spin at threads=2,pin=off" },
    { "alloc", "per-token scratch allocation: heap vs arena vs mmap+MADV_DONTNEED",
      "Decodes 16 tokens per repetition on the synthesized 110m model (Q8_0), obtaining and touching a scratch\n"
      "of the engine's scratch size every token from malloc/free, a preallocated arena, or an anonymous\n"
      "mapping released with MADV_DONTNEED, each repetition in a fresh process. A row per strategy: token\n"
      "latency p50/p99, time inside the allocator's calls, faults per token, anonymous RSS.",
      "110m", "Q8_0", &workload_alloc, { { "strategy", "heap,arena,mmap" }, { "n_gen", "16" } }, 6, 1,
      "token_p50_ns,token_p99_ns,tokens_per_s,alloc_ns_per_token,alloc_p99_ns,touch_ns_per_token,"
      "minor_faults_per_token,rss_anon_bytes,rss_anon_delta_bytes,scratch_bytes",
      "alloc study: per-token scratch strategies", NULL, NULL },
    { "kvcache", "attention over a growing KV cache: aligned vs padded rows at positions 64..1024",
      "Decodes 8 tokens per repetition at context positions 64, 256 and 1024 (prefilled untimed) on the\n"
      "synthesized tiny model (Q8_0: attention is a large share of a step there) with KV rows padded by 0,\n"
      "1, 8 and 16 elements. A row per configuration: time per step, attention time per step and the KV\n"
      "bytes it reads per second, row size, L1d misses per step (PMU; `ggperf run kvcache --sim on` for\n"
      "simulated ones where there is none).",
      "tiny", "Q8_0", &workload_kvcache, { { "pad", "0,1,8,16" }, { "pos", "64,256,1024" }, { "steps", "8" } }, 6, 1, "step_p50_ns,ns_per_step,attn_ns_per_step,attn_kv_gbps,kv_row_bytes,l1d_misses_per_step",
      "kvcache study: time per decode step by KV row padding and position", NULL, NULL },
    { "contention", "false sharing of kernel outputs: blocked/interleaved/padded x threads x alignment, with calibration",
      "First measures this machine's false-sharing penalty (contention_calib: per-thread counters 8 bytes apart in\n"
      "one line vs a line each, plain and atomic increments, 1..N and 2N threads). Then T threads run the engine's\n"
      "Q4_0 kernels over 1024 x 256 weights whose rows start 0 or 1 byte past a cache line, writing a shared\n"
      "output: to_float dequantizes each row and writes it transposed (256 lines per row), dot writes one float\n"
      "per row. Rows are split blocked (the engine's default), interleaved (its false_sharing knob: every output\n"
      "line written by all threads) or interleaved into per-thread padded lines. Each dispatch does ~2 ms of\n"
      "work on a warm pool; the dispatch share is reported. Prints the calibration, a table of time per 1024\n"
      "rows with 95% CIs, the output lines shared per op (derived from the split), L1d and coherence events\n"
      "(PMU, else n/a with the reason), conclusion lines (Mann-Whitney U, Hodges-Lehmann ratio with CI, or\n"
      "the smallest difference that could have been detected), and writes a gnuplot figure next to the stream.\n"
      "Times come from the passes in which the pool's threads ran side by side on their CPUs (threads that take\n"
      "turns on a busy machine cannot contend); where there were too few, all passes, marked †.\n"
      "Other types and alignments: ggperf run contention --type q4_0,q8_0,q4_k --align 0,1,8,18,32,64.",
      /* --threads is replaced by 1..N,2N for this machine (cli/study_contention.c) */
      NULL, NULL, &workload_contention, { { "type", "q4_0" }, { "op", "to_float,dot" }, { "align", "0,1" }, { "threads", "1,2,4" }, { "layout", "blocked,interleaved,padded" } }, 12, 1,
      "ns_per_1024_rows,dispatch_share,shared_lines_per_op,l1d_misses_per_1024_rows,coherence_loads_per_1024_rows",
      "contention study: time per 1024 rows by output layout, threads and alignment", NULL, NULL },
    { "matmul", "naive vs cache-blocked vs engine kernels vs OpenBLAS at TinyLlama and square shapes",
      "Multiplies weights of 2048x2048, 2048x5632, 5632x2048 (TinyLlama's projections) and square 256, 512\n"
      "and 1024 by 1 and 64 token rows with a naive triple loop, a cache-blocked loop, the engine's f32, Q8_0\n"
      "and Q4_0 kernels and OpenBLAS sgemm, on one thread. A row per configuration: time per product,\n"
      "GFLOP/s, bytes per flop, GB/s, and the error against a double-precision reference.",
      NULL, NULL, &workload_matmul, { { "impl", "naive,blocked,blas,engine-f32,engine-q8_0,engine-q4_0" }, { "shape", "256,512,1024,2048x2048,2048x5632,5632x2048" }, { "n", "1,64" } }, 3, 0, "ns_per_matmul,gflops,bytes_per_flop,gbps,check_rel_err",
      "matmul study: GFLOP/s by implementation and shape", NULL, NULL },
    { "serve", "serving under load: in process vs HTTP bridge, 1/8/64 clients, token-path allocation",
      "Serves the synthesized 110m model (Q4_0) with 8 KV slots of continuous batching, in process and through\n"
      "the HTTP server over loopback, to 1, 8 and 64 closed-loop clients (32 requests of 16 prompt + 16\n"
      "generated tokens per repetition), with the token path's memory preallocated, malloc'ed per token or\n"
      "taken from a per-request arena. A row per configuration: achieved QPS and tokens/s (aggregate tokens/s\n"
      "vs concurrency), TTFT and inter-token p50/p95 (inproc vs http at the same load: the bridge's cost per\n"
      "request and per token), queue wait, p95 by allocation strategy at 64 clients, context switches,\n"
      "run-queue wait of the clients and peak RSS. The latency-vs-offered-load curve is the open loop:\n"
      "`ggperf run serve --mode open --load R1,R2,...` (Poisson arrivals, latency from the intended send).",
      "110m", "Q4_0", &workload_serve, { { "route", "inproc,http" }, { "mode", "closed" }, { "load", "1,8,64" }, { "alloc", "prealloc,malloc,arena" }, { "slots", "8" }, { "prompt", "16" }, { "gen", "16" }, { "requests", "32" } }, 3, 1,
      "qps,tokens_per_s,ttft_p50_ns,ttft_p95_ns,itl_p50_ns,itl_p95_ns,queue_wait_p95_ns,e2e_p95_ns,"
      "context_switches_voluntary,context_switches_involuntary,runq_wait_clients_ns,rss_peak_bytes",
      "serve study: QPS and latency by route, concurrency and token-path allocation", NULL, NULL },
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

/* v printed with fmt, or "n/a" for a figure this run did not measure (an
 * axis narrowed with --load or --alloc). */
static const char *num(char *buf, size_t len, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(buf, len, "n/a");
    else
        snprintf(buf, len, fmt, v);
    return buf;
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
        char a[32], b[32], c[32], d[32];
        printf("- aggregate tokens/s, %s, 1 / 8 / 64 clients: %s / %s / %s: 8 clients give %sx one client%s\n",
               route, num(a, sizeof a, "%.1f", t1), num(b, sizeof b, "%.1f", t8), num(c, sizeof c, "%.1f", t64),
               num(d, sizeof d, "%.2f", t8 / t1), noisy ? " ⚠" : "");
        noisy = false;
    }
    double ti = serve_median(stats, "inproc", "1", "prealloc", "ttft_p50_ns", &noisy);
    double th = serve_median(stats, "http", "1", "prealloc", "ttft_p50_ns", &noisy);
    double ii = serve_median(stats, "inproc", "1", "prealloc", "itl_p50_ns", &noisy);
    double ih = serve_median(stats, "http", "1", "prealloc", "itl_p50_ns", &noisy);
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
    printf("- HTTP bridge at 1 client: TTFT p50 %s ms in process vs %s ms over HTTP (%s ms per request); "
           "inter-token p50 %s vs %s us (%s us per token)%s\n",
           num(b1, sizeof b1, "%.3f", ti / 1e6), num(b2, sizeof b2, "%.3f", th / 1e6),
           num(b3, sizeof b3, "%+.3f", (th - ti) / 1e6), num(b4, sizeof b4, "%.1f", ii / 1e3),
           num(b5, sizeof b5, "%.1f", ih / 1e3), num(b6, sizeof b6, "%+.1f", (ih - ii) / 1e3), noisy ? " ⚠" : "");
    static const char *const allocs[] = { "prealloc", "malloc", "arena" };
    for (int r = 0; r < 2; r++) {
        const char *route = r ? "http" : "inproc";
        noisy = false;
        double p[3];
        int best = -1, n_have = 0;
        for (int a = 0; a < 3; a++) {
            p[a] = serve_median(stats, route, "64", allocs[a], "ttft_p95_ns", &noisy);
            if (!isnan(p[a])) {
                n_have++;
                if (best < 0 || p[a] < p[best])
                    best = a;
            }
        }
        char q0[32], q1[32], q2[32];
        printf("- p95 TTFT at 64 clients, %s, prealloc / malloc / arena: %s / %s / %s ms: %s%s%s\n", route,
               num(q0, sizeof q0, "%.1f", p[0] / 1e6), num(q1, sizeof q1, "%.1f", p[1] / 1e6),
               num(q2, sizeof q2, "%.1f", p[2] / 1e6), n_have > 1 ? "lowest " : "no comparison in this run",
               n_have > 1 ? allocs[best] : "", n_have > 1 && noisy ? " ⚠ (within the spread: no clear winner)" : "");
    }
    printf("- latency vs offered load (the knee): ggperf run serve --mode open --load R1,R2,... per route\n");
    json_decref(doc);
}

/* The study's plots, next to its document (DOC-report/): tokens/s, QPS and
 * TTFT vs the load per route and allocation, latency percentiles, wake-up
 * CDFs. A failure is one line: the answers above stand without them. */
static void serve_plots(const char *doc_path)
{
    char dir[PATH_MAX], err[768];
    size_t len = strlen(doc_path);
    snprintf(dir, sizeof dir, "%.*s-report", (int)(len > 5 && strcmp(doc_path + len - 5, ".json") == 0 ? len - 5 : len),
             doc_path);
    struct report_opts o = { .out_dir = dir, .force = true };
    struct report_summary sum;
    const char *in[1] = { doc_path };
    if (report_write(in, 1, &o, &sum, err, sizeof err) != 0) {
        fprintf(stderr, "ggperf: study serve: no plots: %s\n", err);
        return;
    }
    for (int i = 0; i < sum.n_warnings; i++)
        fprintf(stderr, "ggperf: report: %s\n", sum.warnings[i]);
    printf("- plots (%d of %d drawn: tokens/s, QPS and TTFT vs load per route and allocation, latency "
           "percentiles): %s\n", sum.n_rendered, sum.n_plots, sum.html_path);
}

const struct study *study_at(size_t i)
{
    return i < N_STUDIES ? &studies[i] : NULL;
}

int study_check(const struct study *s, char *err, size_t err_len)
{
    const struct workload *wl = s->wl;
    const char *lists[WORKLOAD_MAX_AXES] = { 0 };
    for (int k = 0; k < STUDY_MAX_AXES && s->axes[k].axis; k++) {
        int ai = workload_axis_index(wl, s->axes[k].axis);
        if (ai < 0) {
            snprintf(err, err_len, "study %s: workload %s has no axis '%s'", s->name, wl->name, s->axes[k].axis);
            return -1;
        }
        if (lists[ai]) {
            snprintf(err, err_len, "study %s: axis '%s' given twice", s->name, s->axes[k].axis);
            return -1;
        }
        lists[ai] = s->axes[k].values;
    }
    if (s->reps < 1 || s->warmup < 0) {
        snprintf(err, err_len, "study %s: %d repetitions, %d warm-up", s->name, s->reps, s->warmup);
        return -1;
    }
    if (!!s->model_shape != !!(wl->flags & WORKLOAD_NEEDS_MODEL)) {
        snprintf(err, err_len, "study %s: workload %s %s a model but the study %s one", s->name, wl->name,
                 (wl->flags & WORKLOAD_NEEDS_MODEL) ? "needs" : "takes no", s->model_shape ? "names" : "names no");
        return -1;
    }
    struct runner_plan plan;
    char perr[256];
    if (runner_plan_init(&plan, wl, lists, perr, sizeof perr) != 0) {
        snprintf(err, err_len, "study %s: %s", s->name, perr);
        return -1;
    }
    runner_plan_free(&plan);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf study list\n"
               "       ggperf study NAME [-m MODEL] [-r N] [--warmup N] [--min-time S] [--until-trusted MAX]\n"
               "                         [--seed S] [--AXIS LIST]...\n"
               "                         [-o md|csv|json|jsonl|sqlite] [--out FILE] [--stream FILE]\n"
               "                         [--resume STREAM] [--cache-geometry GEOM] [--force]\n\n"
               "Run a predefined sweep and print its comparison table. Studies run through\n"
               "`ggperf run` (streamed results, --resume, the same outputs). -m replaces the\n"
               "study's model (synthesized once into the cache directory otherwise). --AXIS LIST\n"
               "replaces the values the study sweeps on one of its workload's axes.\n"
               "--cache-geometry gives the CPU caches of simulated runs (`ggperf run --help`).\n\nstudies:\n");
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
            printf("  model: %s%s%s\n  sweep: ggperf run %s", s->model_shape ? s->model_shape : "none",
                   s->model_shape ? " " : "", s->model_type ? s->model_type : "", s->wl->name);
            for (int k = 0; k < STUDY_MAX_AXES && s->axes[k].axis; k++)
                printf(" --%s %s", s->axes[k].axis, s->axes[k].values);
            printf(" -r %d --warmup %d", s->reps, s->warmup);
            printf("\n  table: %s\n", s->metrics);
            if (s->question)
                printf("  asks: %s\n  compares: %s\n", s->question, s->compare);
            printf("\n");
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
               "                        [--resume STREAM] [--cache-geometry GEOM] [--force]\n\n%s\n",
               s->name, s->details);
        return CLI_OK;
    }

    char cerr[512];
    if (study_check(s, cerr, sizeof cerr) != 0)
        return cli_error(CLI_EFAIL, "%s (a bug in cli/cmd_study.c's table)", cerr);

    /* the user's options, checked here so that unknown ones name the study
     * and bad values fail before a model is synthesized */
    static const char *const passed[] = { "-m", "-r", "--seed", "-o", "--out", "--stream", "--resume",
                                          "--cache-geometry", "--warmup", "--min-time", "--until-trusted", NULL };
    /* --AXIS LIST replaces the study's values on that axis of its workload */
    const char *axis_over[WORKLOAD_MAX_AXES] = { 0 };
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
        const int ai = strncmp(argv[i], "--", 2) == 0 ? workload_axis_index(s->wl, argv[i] + 2) : -1;
        if (!known && ai < 0)
            return cli_error(CLI_EUSAGE, "study: unknown option '%s' (allowed: -m -r --warmup --min-time --until-trusted "
                                         "--seed -o --out --stream --resume --cache-geometry --force, or an axis of workload "
                                         "%s: ggperf run --help)", argv[i], s->wl->name);
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "study: %s needs a value", argv[i]);
        if (ai >= 0) {
            axis_over[ai] = argv[i + 1];
            continue;
        }
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
        else if (strcmp(argv[i], "--cache-geometry") == 0 && cli_cache_flag("--cache-geometry", v) != 0)
            return CLI_EUSAGE;
        else if (strcmp(argv[i], "-o") == 0 && results_format_from_name(v) < 0)
            return cli_error(CLI_EUSAGE, "study: -o: '%s' is not one of md|csv|json|jsonl|sqlite", v);
        if (n_user + 2 > (int)(sizeof user / sizeof user[0]))
            return cli_error(CLI_EUSAGE, "study: too many options");
        user[n_user++] = argv[i];
        user[n_user++] = v;
    }

    if (s->wl == &workload_contention) {
        /* calibration, then the study, then its own report (cli/study_contention.c),
         * from the same typed entry as every study */
        const char *sargs[2 * (STUDY_MAX_AXES + WORKLOAD_MAX_AXES) + 8];
        char cflags[STUDY_MAX_AXES + WORKLOAD_MAX_AXES][WORKLOAD_NAME_FLAG_MAX], creps[16], cwarm[16];
        int sn = 0, k = 0;
        sargs[sn++] = s->wl->name;
        for (; k < STUDY_MAX_AXES && s->axes[k].axis; k++) {
            const int ai = workload_axis_index(s->wl, s->axes[k].axis);
            snprintf(cflags[k], sizeof cflags[k], "--%s", s->axes[k].axis);
            sargs[sn++] = cflags[k];
            sargs[sn++] = ai >= 0 && axis_over[ai] ? axis_over[ai] : s->axes[k].values;
            if (ai >= 0)
                axis_over[ai] = NULL;
        }
        for (int ai = 0; ai < s->wl->n_axes; ai++)
            if (axis_over[ai]) {
                snprintf(cflags[k], sizeof cflags[k], "--%s", s->wl->axes[ai].name);
                sargs[sn++] = cflags[k++];
                sargs[sn++] = axis_over[ai];
            }
        snprintf(creps, sizeof creps, "%d", s->reps);
        snprintf(cwarm, sizeof cwarm, "%d", s->warmup);
        sargs[sn++] = "-r";
        sargs[sn++] = creps;
        sargs[sn++] = "--warmup";
        sargs[sn++] = cwarm;
        sargs[sn] = NULL;
        return study_contention(sargs, user, n_user, resume, force);
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
    const char *args[96];
    char flags[STUDY_MAX_AXES + WORKLOAD_MAX_AXES][WORKLOAD_NAME_FLAG_MAX], reps[16], warmup[16];
    int n = 0;
    args[n++] = "run";
    args[n++] = s->wl->name;
    if (!resume) { /* a resumed sweep takes its plan from the stream */
        int k = 0;
        for (; k < STUDY_MAX_AXES && s->axes[k].axis; k++) {
            const int ai = workload_axis_index(s->wl, s->axes[k].axis);
            snprintf(flags[k], sizeof flags[k], "--%s", s->axes[k].axis);
            args[n++] = flags[k];
            args[n++] = ai >= 0 && axis_over[ai] ? axis_over[ai] : s->axes[k].values;
            if (ai >= 0)
                axis_over[ai] = NULL;
        }
        /* axes the study leaves at their defaults but the user named */
        for (int ai = 0; ai < s->wl->n_axes && k < STUDY_MAX_AXES + WORKLOAD_MAX_AXES; ai++)
            if (axis_over[ai]) {
                snprintf(flags[k], sizeof flags[k], "--%s", s->wl->axes[ai].name);
                args[n++] = flags[k++];
                args[n++] = axis_over[ai];
            }
        snprintf(reps, sizeof reps, "%d", s->reps);
        snprintf(warmup, sizeof warmup, "%d", s->warmup);
        args[n++] = "-r";
        args[n++] = reps;
        args[n++] = "--warmup";
        args[n++] = warmup;
    }
    if (model && !resume) {
        args[n++] = "-m";
        args[n++] = model;
    }
    for (int i = 0; i + 1 < n_user && n < 85; i += 2)
        if (strcmp(user[i], "-m") != 0 && !(resume && (strcmp(user[i], "-r") == 0 || strcmp(user[i], "--seed") == 0 ||
                                                       strcmp(user[i], "--until-trusted") == 0))) {
            args[n++] = user[i];
            args[n++] = user[i + 1];
        }
    if (force)
        args[n++] = "--force";
    args[n++] = "--metrics";
    args[n++] = s->metrics;
    args[n++] = "--title";
    args[n++] = s->title;
    if (s->question && !resume) {
        args[n++] = "--question";
        args[n++] = s->question;
    }
    if (s->compare && !resume) {
        args[n++] = "--compare";
        args[n++] = s->compare;
    }
    /* The serve study reads its document back for its conclusions, so it
     * names the stream when the user did not. */
    const char *stream = resume;
    char stream_buf[PATH_MAX];
    for (int i = 0; i + 1 < n_user; i += 2)
        if (strcmp(user[i], "--stream") == 0)
            stream = user[i + 1];
    if (s->wl == &workload_serve && !stream) {
        if (cli_default_stream("serve", stream_buf, sizeof stream_buf) != 0)
            return cli_error(CLI_EFAIL, "study: cannot create ggperf-results/: %s", strerror(errno));
        stream = stream_buf;
        args[n++] = "--stream";
        args[n++] = stream;
    }
    args[n] = NULL;
    int rc = cmd_run.run(n, (char **)args);
    if (rc == CLI_OK && s->wl == &workload_serve) {
        char doc[PATH_MAX];
        size_t len = strlen(stream);
        if (len > 6 && strcmp(stream + len - 6, ".jsonl") == 0)
            snprintf(doc, sizeof doc, "%.*s.json", (int)(len - 6), stream);
        else
            snprintf(doc, sizeof doc, "%s.json", stream);
        serve_conclusions(doc);
        serve_plots(doc);
    }
    return rc;
}

const struct cli_cmd cmd_study = { "study", "run a predefined study and print its comparison table", run };

const char *cmd_study_name_at(size_t i)
{
    return i < sizeof studies / sizeof studies[0] ? studies[i].name : NULL;
}
