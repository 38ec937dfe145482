/* ggperf run — run a workload over a sweep of configurations. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/machine/env.h"
#include "results/results.h"
#include "harness/run/runner.h"
#include "workloads/registry.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* A SIGBUS in this process (a workload that is not isolated read a model
 * that another process truncated or rewrote) cannot be survived: say so in
 * one line, prepared beforehand, and point at the stream, which holds every
 * repetition before (isolated repetitions report their own). */
static char sigbus_msg[2 * PATH_MAX + 512];
static size_t sigbus_len;

static void on_sigbus(int sig)
{
    (void)sig;
    ssize_t w = write(2, sigbus_msg, sigbus_len);
    (void)w;
    _exit(1);
}

static void print_axes(FILE *f, const struct workload *wl)
{
    for (int i = 0; i < wl->n_axes; i++) {
        const struct workload_axis *a = &wl->axes[i];
        fprintf(f, "    --%s LIST   %s; ", a->name, a->help);
        if (a->kind == WORKLOAD_AXIS_INT) {
            fprintf(f, "integers %" PRId64 "..%" PRId64, a->lo, a->hi);
        } else {
            fputs("of ", f);
            for (int k = 0; a->choices[k]; k++)
                fprintf(f, "%s%s", k ? "," : "", a->choices[k]);
        }
        fprintf(f, " (default %s)\n", a->defaults);
    }
}

static void usage(FILE *f, const struct workload *only)
{
    fprintf(f,
            "usage: ggperf run WORKLOAD [-m MODEL] [--AXIS v1,v2,...]... [-r N] [--warmup N]\n"
            "                  [--min-time S] [--until-trusted MAX] [--seed S] [-o md|csv|json|jsonl|sqlite]\n"
            "                  [--out FILE]"
            " [--stream FILE] [--shard K/N] [--force]\n"
            "       ggperf run [WORKLOAD] --resume STREAM [-o FMT] [--out FILE] [--force]\n\n"
            "Sweep the cartesian product of the workload's axes: warm-up repetitions, then\n"
            "rounds in which the configurations run once each in a seeded shuffled order.\n"
            "Every repetition is appended to the JSONL stream (fsync'ed) as it finishes, so\n"
            "a killed sweep loses nothing and --resume STREAM finishes it. At the end the\n"
            "JSON document (STREAM with .json) and the chosen view are written.\n\n"
            "  -m MODEL        GGUF model (workloads that need one; default: a synthesized\n"
            "                  %s %s model in the cache directory, made once)\n"
            "  -r N            repetitions per configuration (default 5)\n"
            "  --warmup N      unrecorded repetitions per configuration first (default 1)\n"
            "  --min-time S    add rounds until each configuration ran S seconds (default 0)\n"
            "  --until-trusted MAX\n"
            "                  after -r N, add rounds for the configurations whose primary\n"
            "                  figures (the workload's gated metrics) are still flagged noisy\n"
            "                  (MAD or CI half-width over 5%% of the median), up to MAX\n"
            "                  repetitions each; a flag left at MAX stays in the results\n"
            "  --seed S        seed of the shuffled order (default 1)\n"
            "  -o FMT          view: md (default), csv, json, jsonl, sqlite\n"
            "  --out FILE      write the view to FILE (atomically) instead of stdout\n"
            "  --force         replace an existing --out FILE or STREAM.json document (kept otherwise)\n"
            "  --stream FILE   the JSONL stream (default ggperf-results/WORKLOAD-TIME-PID.jsonl)\n"
            "  --metrics LIST  columns of the md/csv view (default: every metric)\n"
            "  --title TEXT    heading of the md view\n"
            "  --cache-geometry GEOM\n"
            "                  CPU caches for --sim on (valgrind's cache simulation), e.g.\n"
            "                  L1d=48K/12/64,L2=2M/16/64,LL=32M/16/64 (SIZE/WAYS/LINE); default:\n"
            "                  $GGPERF_CACHE_GEOMETRY, else sysfs, CPUID, getconf (`ggperf probe` shows it)\n"
            "  --question TEXT what the sweep asks, recorded in the header for `ggperf report`\n"
            "  --compare LIST  the comparisons `ggperf report` concludes on, ';'-separated,\n"
            "                  each METRIC: AXIS=A vs B [at AXIS=V,...] [per AXIS]\n"
            "  --shard K/N     run only configurations with id %% N == K - 1 (a CI matrix job or\n"
            "                  a Slurm array task each take one); the file keeps the whole plan\n"
            "                  and `ggperf merge -o ALL.jsonl SHARD...` joins the shards\n"
            "  --resume STREAM continue a killed or stopped sweep; its plan comes from STREAM\n\n",
            RUNNER_DEFAULT_SHAPE, RUNNER_DEFAULT_TYPE);
    fprintf(f, "workloads:\n");
    for (int i = 0; workload_registry[i]; i++) {
        const struct workload *wl = workload_registry[i];
        if (only && only != wl)
            continue;
        fprintf(f, "  %-10s %s%s%s\n", wl->name, wl->description,
                (wl->flags & WORKLOAD_NEEDS_MODEL) ? " [model]" : "",
                (wl->flags & WORKLOAD_ISOLATE) ? " [a process per repetition]" : "");
        print_axes(f, wl);
    }
}

static void progress(void *user, const struct runner_progress *p)
{
    (void)user;
    char eta[32] = "?";
    if (p->eta_s >= 0)
        snprintf(eta, sizeof eta, "%.1fs", p->eta_s);
    if (p->warmup)
        fprintf(stderr, "\r\033[Kwarm-up %d: config %d/%d  %s  %.1fs", p->round + 1, p->position, p->n_configs,
                p->label, p->elapsed_s);
    else
        fprintf(stderr, "\r\033[Kround %d/%d: config %d/%d  rep %ld/%ld  %s  %.1fs elapsed, ETA %s", p->round + 1,
                p->min_rounds, p->position, p->n_configs, p->done + 1, p->total, p->label, p->elapsed_s, eta);
    fflush(stderr);
}

/* "ggperf-results/load-20240501-120000-1234.jsonl": a folder of its own,
 * so a sweep run in a checkout never lands among the sources of results/. */
int cli_default_stream(const char *wl, char *buf, size_t len)
{
    if (mkdir("ggperf-results", 0755) != 0 && errno != EEXIST)
        return -1;
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    int w = snprintf(buf, len, "ggperf-results/%s-%s-%ld.jsonl", wl, stamp, (long)getpid());
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* STREAM with its .jsonl suffix replaced by .json (or .json appended). */
static void document_path(const char *stream, char *buf, size_t len)
{
    size_t n = strlen(stream);
    if (n > 6 && strcmp(stream + n - 6, ".jsonl") == 0)
        snprintf(buf, len, "%.*s.json", (int)(n - 6), stream);
    else
        snprintf(buf, len, "%s.json", stream);
}

/* Whether writing path may replace what is there: nothing or something
 * that is not a regular file (/dev/null) is there, or (with stream) path is
 * the results document of that same sweep (its header was created at the
 * same time for the same workload): a resumed sweep rewrites its own. */
static bool may_replace(const char *path, const char *stream)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return true;
    if (!stream)
        return false;
    char err[256];
    struct results_reader *a = NULL, *b = NULL;
    bool same = false;
    if (results_reader_open(&a, path, err, sizeof err) == 0 && results_reader_open(&b, stream, err, sizeof err) == 0) {
        const json_t *ha = results_reader_header(a), *hb = results_reader_header(b);
        const char *ca = json_string_value(json_object_get(ha, "created"));
        const char *cb = json_string_value(json_object_get(hb, "created"));
        const char *wa = json_string_value(json_object_get(json_object_get(ha, "workload"), "name"));
        const char *wb = json_string_value(json_object_get(json_object_get(hb, "workload"), "name"));
        same = ca && cb && wa && wb && strcmp(ca, cb) == 0 && strcmp(wa, wb) == 0;
    }
    results_reader_close(a);
    results_reader_close(b);
    return same;
}

static int run(int argc, char **argv)
{
    const struct workload *wl = NULL;
    if (argc >= 2 && argv[1][0] != '-') {
        if (strcmp(argv[1], "list") == 0) {
            usage(stdout, NULL);
            return CLI_OK;
        }
        wl = workload_find(argv[1]);
        if (!wl)
            return cli_error(CLI_EUSAGE, "run: unknown workload '%s' (ggperf run --help lists them)", argv[1]);
    }
    if (cli_wants_help(argc, argv)) {
        usage(stdout, wl);
        return CLI_OK;
    }

    const char *model = NULL, *out = NULL, *stream = NULL, *resume = NULL, *axis_lists[WORKLOAD_MAX_AXES] = { 0 };
    const char *metrics = NULL, *title = NULL, *question = NULL, *compare = NULL;
    int reps = 5, warmup = 1, fmt = RESULTS_FMT_MD;
    double min_time = 0;
    int until_trusted = 0; /* MAX repetitions; 0: off */
    uint64_t seed = 1;
    int shard_k = 0, shard_n = 0;
    bool sweep_flags = false, force = false;
    for (int i = wl ? 2 : 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || a[1] == '\0')
            return cli_error(CLI_EUSAGE, "run: unexpected argument '%s'", a);
        if (strcmp(a, "--force") == 0) {
            force = true;
            continue;
        }
        if (!v)
            return cli_error(CLI_EUSAGE, "run: %s needs a value", a);
        i++;
        int rc = 0;
        if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            model = v;
        } else if (strcmp(a, "-r") == 0 || strcmp(a, "--repetitions") == 0) {
            rc = cli_parse_int(a, v, 1, 1000000, &reps);
            sweep_flags = true;
        } else if (strcmp(a, "--warmup") == 0) {
            rc = cli_parse_int(a, v, 0, 1000000, &warmup);
            sweep_flags = true;
        } else if (strcmp(a, "--until-trusted") == 0) {
            rc = cli_parse_int(a, v, 1, 1000000, &until_trusted);
            sweep_flags = true;
        } else if (strcmp(a, "--min-time") == 0) {
            rc = cli_parse_double(a, v, 0, 1e7, &min_time);
            sweep_flags = true;
        } else if (strcmp(a, "--seed") == 0) {
            rc = cli_parse_u64(a, v, 0, UINT64_MAX, &seed);
            sweep_flags = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--format") == 0) {
            fmt = results_format_from_name(v);
            if (fmt < 0)
                return cli_error(CLI_EUSAGE, "run: %s: '%s' is not one of md|csv|json|jsonl|sqlite", a, v);
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else if (strcmp(a, "--stream") == 0) {
            stream = v;
        } else if (strcmp(a, "--shard") == 0) {
            char tail = 0;
            if (sscanf(v, "%d/%d%c", &shard_k, &shard_n, &tail) != 2 || shard_n < 1 || shard_k < 1 || shard_k > shard_n)
                return cli_error(CLI_EUSAGE, "run: --shard '%s': want K/N with 1 <= K <= N, e.g. 2/4", v);
            sweep_flags = true;
        } else if (strcmp(a, "--resume") == 0) {
            resume = v;
        } else if (strcmp(a, "--metrics") == 0) {
            metrics = v;
        } else if (strcmp(a, "--title") == 0) {
            title = v;
        } else if (strcmp(a, "--cache-geometry") == 0) {
            /* not --cache: the load workload has an axis of that name (page cache state) */
            rc = cli_cache_flag(a, v);
        } else if (strcmp(a, "--question") == 0) {
            question = v;
        } else if (strcmp(a, "--compare") == 0) {
            compare = v;
        } else if (a[1] == '-' && wl && workload_axis_index(wl, a + 2) >= 0) {
            axis_lists[workload_axis_index(wl, a + 2)] = v;
            sweep_flags = true;
        } else if (a[1] == '-' && wl) {
            char names[256] = "";
            for (int k = 0; k < wl->n_axes; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s--%s", k ? ", " : "",
                         wl->axes[k].name);
            return cli_error(CLI_EUSAGE, "run: unknown option '%s' (workload %s has axes: %s)", a, wl->name,
                             wl->n_axes ? names : "none");
        } else {
            return cli_error(CLI_EUSAGE, "run: unknown option '%s'", a);
        }
        if (rc)
            return rc;
    }
    if (fmt == RESULTS_FMT_SQLITE && !out)
        return cli_error(CLI_EUSAGE, "run: -o sqlite needs --out FILE");
    if (until_trusted && until_trusted < reps)
        return cli_error(CLI_EUSAGE, "run: --until-trusted %d is below -r %d (MAX counts every repetition)",
                         until_trusted, reps);
    /* the output is checked before the sweep, not found unwritable after it */
    if (out && cli_check_writable("run: --out", out) != 0)
        return CLI_EUSAGE;

    char err[1024], cache[PATH_MAX], model_buf[PATH_MAX], stream_buf[PATH_MAX];
    bool have_cache = env_cache_dir(cache, sizeof cache, err, sizeof err) == 0;
    if (resume) {
        if (sweep_flags || model || stream)
            return cli_error(CLI_EUSAGE, "run: --resume takes the plan, model and stream from %s; give only -o/--out",
                             resume);
        struct results_reader *r;
        if (results_reader_open(&r, resume, err, sizeof err) != 0)
            return cli_error(CLI_EFAIL, "run: %s", err);
        const char *name = json_string_value(json_object_get(json_object_get(results_reader_header(r), "workload"),
                                                             "name"));
        const struct workload *found = workload_find(name);
        results_reader_close(r);
        if (!found)
            return cli_error(CLI_EFAIL, "run: %s is a sweep of workload '%s', which this build does not have", resume,
                             name ? name : "?");
        if (wl && wl != found)
            return cli_error(CLI_EUSAGE, "run: %s is a sweep of '%s', not '%s'", resume, found->name, wl->name);
        wl = found;
        stream = resume;
    } else {
        if (!wl)
            return cli_error(CLI_EUSAGE, "run: which workload? (ggperf run --help lists them)");
        if (model && !(wl->flags & WORKLOAD_NEEDS_MODEL))
            return cli_error(CLI_EUSAGE, "run: workload %s takes no model (-m)", wl->name);
        /* the axis values are arguments too: refused here, before a model is synthesized or a stream named */
        struct runner_plan plan;
        if (runner_plan_init(&plan, wl, axis_lists, err, sizeof err) != 0)
            return cli_error(CLI_EUSAGE, "run: %s", err);
        runner_plan_free(&plan);
        if ((wl->flags & WORKLOAD_NEEDS_MODEL) && !model) {
            if (!have_cache)
                return cli_error(CLI_EFAIL, "run: no -m MODEL and no cache directory for the default model: %s", err);
            if (!runner_synth_path(cache, RUNNER_DEFAULT_SHAPE, RUNNER_DEFAULT_TYPE, model_buf, sizeof model_buf))
                fprintf(stderr, "ggperf: synthesizing the default model (%s %s) into %s (once)\n",
                        RUNNER_DEFAULT_SHAPE, RUNNER_DEFAULT_TYPE, model_buf);
            if (runner_synth_model(cache, RUNNER_DEFAULT_SHAPE, RUNNER_DEFAULT_TYPE, model_buf, sizeof model_buf, err,
                                   sizeof err) != 0)
                return cli_error(CLI_EFAIL, "run: %s", err);
            model = model_buf;
        }
        if (!stream) {
            if (cli_default_stream(wl->name, stream_buf, sizeof stream_buf) != 0)
                return cli_error(CLI_EFAIL, "run: cannot create results/: %s", strerror(errno));
            stream = stream_buf;
        }
        if (access(stream, F_OK) == 0)
            return cli_error(CLI_EFAIL, "run: %s exists (continue it with --resume %s)", stream, stream);
    }

    /* outputs are claimed before the sweep, not discovered after an hour */
    char doc[PATH_MAX];
    document_path(stream, doc, sizeof doc);
    if (!force && !may_replace(doc, resume ? stream : NULL))
        return cli_error(CLI_EFAIL, "run: %s exists and is not this sweep's document; not overwriting it "
                                    "(--force replaces it)", doc);
    if (!force && out && !may_replace(out, NULL) && !cli_output_is_ours(out))
        return cli_error(CLI_EFAIL, "run: --out %s exists and is not an output ggperf wrote (or was changed since); "
                                    "not overwriting it (--force replaces it)", out);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int w = snprintf(sigbus_msg, sizeof sigbus_msg,
                     "\nggperf: run: SIGBUS: a mapped file (the model%s%s?) was truncated or rewritten by another "
                     "process, or could not be read; the sweep stops here. Every repetition before is in %s: "
                     "ggperf run --resume %s continues it once the file is whole.\n",
                     model ? " " : "", model ? model : "", stream, stream);
    sigbus_len = w < 0 ? 0 : (size_t)w < sizeof sigbus_msg ? (size_t)w : sizeof sigbus_msg - 1;
    sa.sa_handler = on_sigbus;
    sigaction(SIGBUS, &sa, NULL);

    bool tty = cli_stderr_is_tty();
    struct runner_opts o = {
        .wl = wl, .axis_lists = axis_lists, .model_path = model, .cache_dir = have_cache ? cache : NULL,
        .repetitions = reps, .warmup = warmup, .min_time_s = min_time, .seed = seed, .stream_path = stream,
        .until_trusted = until_trusted > 0, .max_rounds = until_trusted,
        .resume = resume != NULL, .progress = tty ? progress : NULL, .stop = &stop_requested,
        .question = question, .compare = compare,
        .shard_k = shard_k, .shard_n = shard_n,
    };
    if (!resume)
        fprintf(stderr, "ggperf: streaming samples to %s\n", stream);
    struct runner_summary sum;
    int rc = runner_run(&o, &sum, err, sizeof err);
    if (tty)
        fputs("\r\033[K", stderr);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    if (rc == RUNNER_EINVAL)
        return cli_error(CLI_EUSAGE, "run: %s", err);
    if (rc == RUNNER_ERESULTS && access(stream, F_OK) == 0)
        return cli_error(CLI_EFAIL, "run: %s (ggperf run --resume %s continues the sweep once there is room)", err,
                         stream);
    if (rc != 0)
        return cli_error(CLI_EFAIL, "run: %s", err);
    fprintf(stderr, "ggperf: %ld repetitions (%ld failed, %ld already done) in %.1f s", sum.reps_run, sum.reps_failed,
            sum.reps_skipped, sum.elapsed_s);
    if (sum.overhead_median_ns >= 0)
        fprintf(stderr, "; runner overhead %.1f µs per repetition (median)", sum.overhead_median_ns / 1e3);
    fputc('\n', stderr);

    if (results_write_view(stream, RESULTS_FMT_JSON, doc, NULL, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "run: %s", err);
    fprintf(stderr, "ggperf: results in %s (document) and %s (stream)\n", doc, stream);
    /* --metrics: split the comma list into the view's column names */
    char *names = metrics ? strdup(metrics) : NULL;
    const char *cols[WORKLOAD_MAX_METRICS + 1] = { 0 };
    int n_cols = 0;
    for (char *save = NULL, *t = names ? strtok_r(names, ",", &save) : NULL; t && n_cols < WORKLOAD_MAX_METRICS;
         t = strtok_r(NULL, ",", &save))
        cols[n_cols++] = t;
    struct results_view_opts vo = { names ? cols : NULL, title };
    rc = results_write_view(stream, fmt, out, &vo, err, sizeof err);
    free(names);
    if (rc != 0)
        return cli_error(CLI_EFAIL, "run: %s", err);
    if (out)
        cli_output_mark(out);
    /* failed repetitions are data (recorded with their errors), not a failed sweep */
    if (sum.reps_failed)
        fprintf(stderr, "ggperf: warning: %ld repetitions failed; their errors are in the results\n",
                sum.reps_failed);
    return CLI_OK;
}

const struct cli_cmd cmd_run = { "run", "run a workload over a sweep of configurations", run };
