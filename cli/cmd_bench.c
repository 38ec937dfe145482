/* ggperf bench — prompt processing and generation speed in the spirit of
 * llama-bench: for each thread count, pp<P> (P prompt tokens in one pass)
 * and tg<N> (N tokens decoded one at a time from an empty cache), repeated
 * after a warm-up, printed as tokens/s mean ± stddev; generation also shows
 * the effective weight bandwidth (bytes read per token × tokens/s). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "harness/machine/clock.h"
#include "cli/engine_flags.h"
#include "cli/sigbus.h"
#include "harness/machine/probe.h"
#include "harness/run/session.h"
#include "results/stats.h"
#include "harness/machine/sysfs.h"

#define MAX_THREADS_LIST 32
#define MAX_REPS 1000
#define MAX_TOKENS_LIST 8

static void usage(FILE *f)
{
    fprintf(f, "usage: ggperf bench -m MODEL [-t 1,2] [-p 64[,512]] [-n 32] [-r 5] [-o md|json] [engine flags]\n\n"
               "Prompt processing (pp) and text generation (tg) speed, llama-bench style.\n"
               "  -t LIST      thread counts (default: online CPUs)\n"
               "  -p LIST      prompt tokens per pp test, e.g. 64,512; 0 to skip (default 64)\n"
               "  -n LIST      generated tokens per tg test; 0 to skip (default 32)\n"
               "  -r N         repetitions after one warm-up (default 5)\n"
               "  -o md|json   output format (default md)\n\n"
               "Unlike the other commands, bench reads the weights into transparent huge pages\n"
               "by default (--weights hugepage; map where THP is off or the model is over 3/4 of\n"
               "the available memory): decode streams every weight once per token, and it ran up\n"
               "to 20%% faster from 2 MiB pages than from scattered page-cache pages.\n"
               "The weights column says how many of the file's bytes got huge pages: a copy's\n"
               "anonymous ones, or for --weights map the page cache's 2 MiB folios mapped whole\n"
               "(the mapping is 2 MiB aligned and advised MADV_HUGEPAGE; whether the file system\n"
               "caches the file in such folios is up to it: measured, not assumed).\n"
               "Before each timed repetition bench checks that the weights are resident (mincore):\n"
               "a mapping the kernel evicted is read back in first; the resident column and the\n"
               "JSON's major_faults and disk_read_bytes say what the timed part found.\n"
               "Generation's effective bandwidth (weight bytes per token x tokens/s) is also given as a\n"
               "fraction of a read-only bandwidth probe run at the same thread count over as many\n"
               "bytes as a token reads (a triad would count writes decode does not do).\n"
               "  --no-read-probe  skip that probe (it first-touches an array the size of the weights)\n"
               "  --evict      drop the mapped file from the page cache before each timed\n"
               "               repetition instead (with --weights map): what a cold start costs\n"
               "\nengine flags:\n%s",
            cli_engine_flags_help());
}

struct bench_result {
    char test[32];
    int threads;
    int n_tokens;
    enum filebuf_kind weights;
    int64_t huge_bytes;       /* filebuf_huge_bytes after the test, -1 unknown */
    double samples[MAX_REPS]; /* tokens/s */
    int n;
    /* Where the weights were when the clock started (filebuf residency). */
    double resident_min;      /* smallest resident fraction at the start of a timed rep, -1 unknown */
    int rewarmed;             /* timed reps whose weights had to be read back in first */
    int64_t major_faults;     /* during the timed reps; -1 unknown */
    int64_t disk_read_bytes;  /* during the timed reps; -1 unknown */
    struct metric read_gbps;  /* the read-only bandwidth probe at this thread count (tg tests) */
};

/* Weights are "resident" when at least this fraction of their pages is. */
#define RESIDENT_OK 0.99

/* Before a timed repetition: measure residency; a mapping that lost pages is
 * read back in (and counted) so the run times the model, not the disk; with
 * evict (a test knob) the mapping is dropped instead, so the run shows what
 * a non-resident start costs. Records the fraction the clock starts with. */
static int prepare_weights(struct session *s, struct bench_result *r, bool evict, char *err, size_t err_len)
{
    double f = filebuf_resident_fraction(&s->file);
    if (f >= 0 && f < RESIDENT_OK && !evict) {
        filebuf_touch(&s->file);
        r->rewarmed++;
        f = filebuf_resident_fraction(&s->file);
    }
    if (evict) {
        if (filebuf_evict(&s->file, s->fd, err, err_len) != 0)
            return -1;
        f = filebuf_resident_fraction(&s->file);
    }
    if (f < 0)
        r->resident_min = -1;
    else if (r->resident_min >= 0 && f < r->resident_min)
        r->resident_min = f;
    return 0;
}

static void add_io(int64_t *acc, int64_t before, int64_t after)
{
    if (*acc < 0 || before < 0 || after < 0)
        *acc = -1;
    else
        *acc += after - before;
}

/* "100%", or the fraction and what the cold start cost. */
static void residency_text(const struct bench_result *r, char *buf, size_t len)
{
    if (r->resident_min < 0)
        snprintf(buf, len, "n/a");
    else if (r->resident_min >= RESIDENT_OK)
        snprintf(buf, len, "%.0f%%%s", 100 * r->resident_min, r->rewarmed ? " (re-warmed)" : "");
    else
        snprintf(buf, len, "%.0f%% NOT RESIDENT, %" PRId64 " major faults", 100 * r->resident_min, r->major_faults);
}

/* One pp or tg repetition; returns tokens/s or a negative value on error. */
static double one_rep(struct infer *ctx, const int32_t *toks, int n, bool prompt, char *err, size_t err_len)
{
    infer_reset(ctx);
    uint64_t t0 = clock_ns();
    if (prompt) {
        if (infer_eval(ctx, toks, n, NULL, err, err_len) != 0)
            return -1;
    } else {
        for (int i = 0; i < n; i++)
            if (infer_eval(ctx, toks + i, 1, NULL, err, err_len) != 0)
                return -1;
    }
    uint64_t t1 = clock_ns();
    return n / clock_seconds(t0, t1);
}

/* Summary of a result's samples (mean, stddev, median...). */
static struct stats_summary summary(const struct bench_result *r)
{
    double tmp[MAX_REPS];
    struct stats_summary sm;
    memcpy(tmp, r->samples, sizeof(double) * (size_t)r->n);
    if (stats_summarize(tmp, (size_t)r->n, NULL, &sm) != STATS_OK)
        memset(&sm, 0, sizeof sm);
    return sm;
}

static void print_md(size_t file_bytes, const char *isa, const char *path, struct bench_result *res, int nres,
                     double tg_bytes)
{
    printf("| model | size | weights | kernels | threads | test | t/s | median t/s | eff. GB/s (%% of read probe GB/s) | resident |\n");
    printf("| --- | ---: | --- | --- | ---: | --- | ---: | ---: | ---: | --- |\n");
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (int i = 0; i < nres; i++) {
        struct bench_result *r = &res[i];
        struct stats_summary sm = summary(r);
        double mean = sm.mean, sd = sm.stddev;
        char bw[64] = "";
        if (strncmp(r->test, "tg", 2) == 0) {
            if (r->read_gbps.status == METRIC_OK && r->read_gbps.value > 0)
                snprintf(bw, sizeof bw, "%.1f (%.0f%% of %.1f)", tg_bytes * mean / 1e9,
                         100 * tg_bytes * mean / 1e9 / r->read_gbps.value, r->read_gbps.value);
            else
                snprintf(bw, sizeof bw, "%.1f", tg_bytes * mean / 1e9);
        }
        char wt[48];
        if (r->weights == FILEBUF_READ)
            snprintf(wt, sizeof wt, "%s", filebuf_kind_names[r->weights]);
        else if (r->huge_bytes < 0)
            snprintf(wt, sizeof wt, "%s (THP n/a)", filebuf_kind_names[r->weights]);
        else
            snprintf(wt, sizeof wt, "%s (%.0f%% THP)", filebuf_kind_names[r->weights],
                     100.0 * (double)r->huge_bytes / (double)file_bytes);
        char res_txt[96];
        residency_text(r, res_txt, sizeof res_txt);
        printf("| %s | %.0f MiB | %s | %s | %d | %s | %.2f ± %.2f | %.2f | %s | %s |\n", base,
               (double)file_bytes / (1 << 20), wt, isa, r->threads,
               r->test, mean, sd, sm.median, bw, res_txt);
    }
}

static void print_json(const char *path, struct bench_result *res, int nres, double tg_bytes, const char *isa)
{
    printf("[\n");
    for (int i = 0; i < nres; i++) {
        struct bench_result *r = &res[i];
        struct stats_summary sm = summary(r);
        double mean = sm.mean, sd = sm.stddev;
        printf("  {\"model\": \"%s\", \"kernels\": \"%s\", \"weights\": \"%s\", \"huge_page_bytes\": %" PRId64
               ", \"test\": \"%s\", \"threads\": %d, \"n_tokens\": %d, "
               "\"tokens_per_s\": %.4f, \"stddev\": %.4f, \"median\": %.4f, \"samples\": [",
               path, isa, filebuf_kind_names[r->weights], r->huge_bytes, r->test, r->threads, r->n_tokens, mean, sd,
               sm.median);
        for (int k = 0; k < r->n; k++)
            printf("%s%.4f", k ? ", " : "", r->samples[k]);
        printf("], \"resident_fraction_min\": %.4f, \"rewarmed_reps\": %d, \"major_faults\": %" PRId64
               ", \"disk_read_bytes\": %" PRId64,
               r->resident_min, r->rewarmed, r->major_faults, r->disk_read_bytes);
        if (strncmp(r->test, "tg", 2) == 0) {
            printf(", \"bytes_per_token\": %.0f, \"eff_bandwidth_gbps\": %.3f", tg_bytes, tg_bytes * mean / 1e9);
            if (r->read_gbps.status == METRIC_OK && r->read_gbps.value > 0)
                printf(", \"read_probe_gbps\": %.3f, \"bw_fraction_of_read\": %.4f", r->read_gbps.value,
                       tg_bytes * mean / 1e9 / r->read_gbps.value);
            else
            {
                char why[sizeof r->read_gbps.reason];
                snprintf(why, sizeof why, "%s", r->read_gbps.reason);
                for (char *q = why; *q; q++)
                    if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20)
                        *q = '\'';
                printf(", \"read_probe_gbps\": null, \"read_probe_why\": \"%s\"", why);
            }
        }
        printf("}%s\n", i + 1 < nres ? "," : "");
    }
    printf("]\n");
}

/* filebuf_fast_kind for the model, saying so when it stays mapped for
 * want of memory. */
static enum filebuf_kind default_weights(const char *path)
{
    struct stat st;
    const bool thp = filebuf_thp_usable();
    if (stat(path, &st) != 0)
        return thp ? FILEBUF_HUGEPAGE : FILEBUF_MAP; /* session_open reports a missing file */
    const uint64_t avail = sysfs_mem_available();
    const enum filebuf_kind k = filebuf_fast_kind((uint64_t)st.st_size, avail, thp);
    if (thp && k == FILEBUF_MAP)
        fprintf(stderr, "ggperf: bench: %s (%.0f MiB) is over 3/4 of the available memory (%.0f MiB): "
                        "weights stay mapped (--weights map)\n",
                path, (double)st.st_size / (1 << 20), (double)avail / (1 << 20));
    return k;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct session_opts so;
    session_opts_init(&so);
    so.weights = (enum filebuf_kind)-1; /* chosen after parsing unless --weights says */
    int threads[MAX_THREADS_LIST], n_threads = 0, reps = 5, json = 0;
    int prompts[MAX_TOKENS_LIST] = { 64 }, gens[MAX_TOKENS_LIST] = { 32 }, n_prompts = 1, n_gens = 1;
    bool evict = false, read_probe = true;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "-t") || !strcmp(f, "--threads")) {
            if (i + 1 >= argc)
                return cli_error(CLI_EUSAGE, "%s: missing value", f);
            n_threads = cli_parse_int_list(f, argv[++i], 1, POOL_MAX_THREADS, threads, MAX_THREADS_LIST);
            if (n_threads < 0)
                return CLI_EUSAGE;
            continue;
        }
        if (!strcmp(f, "--evict")) {
            evict = true;
            continue;
        }
        if (!strcmp(f, "--no-read-probe")) {
            read_probe = false;
            continue;
        }
        int r = cli_engine_flag(&so, argc, argv, &i);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        if (i + 1 >= argc)
            return cli_error(CLI_EUSAGE, "%s: unknown flag or missing value (ggperf bench --help)", f);
        const char *v = argv[++i];
        if (!strcmp(f, "-p")) {
            if ((n_prompts = cli_parse_int_list(f, v, 0, 1 << 16, prompts, MAX_TOKENS_LIST)) < 0)
                return CLI_EUSAGE;
        } else if (!strcmp(f, "-n")) {
            if ((n_gens = cli_parse_int_list(f, v, 0, 1 << 16, gens, MAX_TOKENS_LIST)) < 0)
                return CLI_EUSAGE;
        } else if (!strcmp(f, "-r")) {
            if (cli_parse_int(f, v, 1, MAX_REPS, &reps))
                return CLI_EUSAGE;
        } else if (!strcmp(f, "-o")) {
            static const char *const fmts[] = { "md", "json", NULL };
            if ((json = cli_parse_choice(f, v, fmts)) < 0)
                return CLI_EUSAGE;
        } else {
            return cli_error(CLI_EUSAGE, "%s: unknown flag (ggperf bench --help)", f);
        }
    }
    if (!so.model_path)
        return cli_error(CLI_EUSAGE, "-m MODEL is required");
    if ((int)so.weights < 0)
        so.weights = evict ? FILEBUF_MAP : default_weights(so.model_path);
    if (evict && so.weights != FILEBUF_MAP)
        return cli_error(CLI_EUSAGE, "--evict: only a mapping can be evicted (use --weights map)");
    if (n_threads == 0) {
        threads[0] = 0; /* online CPUs */
        n_threads = 1;
    }
    /* The tests, pp first as llama-bench orders them; a 0 is skipped. */
    int tests[2 * MAX_TOKENS_LIST], n_tests = 0, ctx_need = 0, max_prompt = 0;
    for (int i = 0; i < n_prompts; i++)
        if (prompts[i] > 0) {
            tests[n_tests++] = prompts[i];
            max_prompt = prompts[i] > max_prompt ? prompts[i] : max_prompt;
        }
    const int first_tg = n_tests;
    for (int i = 0; i < n_gens; i++)
        if (gens[i] > 0)
            tests[n_tests++] = gens[i];
    for (int i = 0; i < n_tests; i++)
        ctx_need = tests[i] > ctx_need ? tests[i] : ctx_need;
    if (n_tests == 0)
        return cli_error(CLI_EUSAGE, "-p and -n are both 0: nothing to measure");
    if (so.infer.n_ctx == 0)
        so.infer.n_ctx = ctx_need;
    if (so.infer.n_batch == 0)
        so.infer.n_batch = max_prompt > 0 ? max_prompt : 1;

    struct bench_result *res = calloc((size_t)n_tests * (size_t)n_threads, sizeof *res);
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)ctx_need);
    int nres = 0, rc = CLI_OK;
    double tg_bytes = 0;
    char err[1024];
    const char *isa = "?";
    if (!res || !toks) {
        free(res);
        free(toks);
        return cli_error(CLI_EFAIL, "out of memory");
    }
    /* The file is placed once (a hugepage copy costs a read of the whole
     * file); each thread count gets its own inference context. */
    struct session s;
    if (session_open(&s, &so, false, err, sizeof err) != 0) {
        free(res);
        free(toks);
        return cli_error(CLI_EFAIL, "%s", err);
    }
    cli_guard_session(&s, so.model_path); /* a file truncated under us: one line, exit 1 */
    /* Random token ids, fixed seed: the same prompt for every run. */
    uint64_t st = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < ctx_need; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        toks[i] = (int32_t)(st % (uint64_t)s.m.hp.n_vocab);
    }
    for (int ti = 0; ti < n_threads && rc == CLI_OK; ti++) {
        so.infer.n_threads = threads[ti];
        struct infer *ctx = NULL;
        char e[512];
        if (infer_new(&ctx, &s.m, &so.infer, e, sizeof e) != INFER_OK) {
            rc = cli_error(CLI_EFAIL, "%s: %s", so.model_path, e);
            break;
        }
        tg_bytes = (double)infer_decode_bytes(ctx);
        isa = quant_isa_name(infer_kernels(ctx)->isa);
        int nthreads_real = pool_threads(infer_pool(ctx));
        /* The denominator of generation's bandwidth fraction: read-only
         * streaming of as many bytes as a token reads, at this thread count. */
        struct metric rbw;
        memset(&rbw, 0, sizeof rbw);
        rbw.status = METRIC_NOT_COUNTED;
        snprintf(rbw.reason, sizeof rbw.reason, "%s", read_probe ? "no generation test" : "skipped (--no-read-probe)");
        if (first_tg < n_tests && read_probe) {
            const uint64_t min_bytes = (uint64_t)64 << 20;
            const uint64_t bytes = (uint64_t)tg_bytes > min_bytes ? (uint64_t)tg_bytes : min_bytes;
            char pe[sizeof rbw.reason];
            if (probe_read_bandwidth(bytes, nthreads_real, 3, &rbw, pe, sizeof pe) != 0) {
                rbw.status = METRIC_UNSUPPORTED;
                snprintf(rbw.reason, sizeof rbw.reason, "%s", pe);
            }
        }
        for (int ti2 = 0; ti2 < n_tests && rc == CLI_OK; ti2++) {
            const int kind = ti2 < first_tg ? 0 : 1, n = tests[ti2];
            struct bench_result *r = &res[nres++];
            snprintf(r->test, sizeof r->test, "%s%d", kind == 0 ? "pp" : "tg", n);
            r->threads = nthreads_real;
            r->n_tokens = n;
            r->weights = s.file.kind;
            r->huge_bytes = -1;
            r->resident_min = 1.0;
            r->read_gbps = rbw;
            if (one_rep(ctx, toks, n, kind == 0, err, sizeof err) < 0) { /* warm-up */
                rc = cli_error(CLI_EFAIL, "%s", err);
                break;
            }
            /* the warm-up touched every weight: their page size is known */
            infer_set_small_pages(ctx, filebuf_small_pages(&s.file));
            for (int k = 0; k < reps; k++) {
                if (prepare_weights(&s, r, evict, err, sizeof err) != 0) {
                    rc = cli_error(CLI_EFAIL, "%s: %s", so.model_path, err);
                    break;
                }
                struct filebuf_io io0, io1;
                filebuf_io_now(&io0);
                double tps = one_rep(ctx, toks, n, kind == 0, err, sizeof err);
                filebuf_io_now(&io1);
                add_io(&r->major_faults, io0.major_faults, io1.major_faults);
                add_io(&r->disk_read_bytes, io0.disk_read_bytes, io1.disk_read_bytes);
                if (tps < 0) {
                    rc = cli_error(CLI_EFAIL, "%s", err);
                    break;
                }
                r->samples[r->n++] = tps;
                if (cli_stderr_is_tty())
                    fprintf(stderr, "\r%s t=%d rep %d/%d: %.2f t/s   ", r->test, r->threads, k + 1, reps, tps);
            }
            if (cli_stderr_is_tty())
                fprintf(stderr, "\r%60s\r", "");
            /* after the test: a mapping's huge pages appear as its pages fault in */
            r->huge_bytes = filebuf_huge_bytes(&s.file);
            if (r->resident_min >= 0 && r->resident_min < RESIDENT_OK)
                fprintf(stderr, "ggperf: bench: %s t=%d: weights were %.0f%% resident when timing started "
                                "(%" PRId64 " major faults during the timed part): this measures the disk\n",
                        r->test, r->threads, 100 * r->resident_min, r->major_faults);
        }
        infer_free(ctx);
    }
    /* What was measured before a failure is still printed: drop only the
     * tests without a sample. */
    int kept = 0;
    for (int i = 0; i < nres; i++)
        if (res[i].n > 0)
            res[kept++] = res[i];
    if (kept > 0) {
        if (json)
            print_json(so.model_path, res, kept, tg_bytes, isa);
        else
            print_md(s.map_bytes, isa, so.model_path, res, kept, tg_bytes);
    }
    session_close(&s);
    free(res);
    free(toks);
    return rc;
}

const struct cli_cmd cmd_bench = { "bench", "prompt and generation speed, llama-bench style", run };
