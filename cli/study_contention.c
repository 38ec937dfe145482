/* study_contention — `ggperf study contention` runs two sweeps through
 * `ggperf run` (streams, resume and outputs as usual): contention_calib,
 * this machine's false-sharing penalty, into STREAM-calib.jsonl, then the
 * contention sweep into STREAM, and prints their report: calibration,
 * a compact table with readable units, conclusion lines, and a plot next
 * to the stream. The generic per-configuration table goes to -o/--out
 * when asked for; by default only the report is printed (the checksum and
 * every other metric stay in the JSON document). */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/study_contention.h"
#include "reports/contention_report.h"
#include "results/results.h"

extern const struct cli_cmd cmd_run;

/* "1,2,...,N,2N" for the CPUs this process may use (N > 8: powers of two up to N). */
static void threads_list(char *buf, size_t len)
{
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    buf[0] = '\0';
    int last = 0;
    for (int t = 1; t <= n; t = n > 8 ? t * 2 : t + 1) {
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", buf[0] ? "," : "", t);
        last = t;
    }
    if (last != n)
        snprintf(buf + strlen(buf), len - strlen(buf), ",%d", n);
    snprintf(buf + strlen(buf), len - strlen(buf), ",%d", 2 * n);
}

/* STREAM without .jsonl, then suffix. */
static void sibling(const char *stream, const char *suffix, char *buf, size_t len)
{
    size_t n = strlen(stream);
    if (n > 6 && strcmp(stream + n - 6, ".jsonl") == 0)
        n -= 6;
    snprintf(buf, len, "%.*s%s", (int)n, stream, suffix);
}

/* Whether the results file at path ends with an "end" record. */
static bool complete(const char *path)
{
    struct results_reader *r;
    char err[256];
    if (results_reader_open(&r, path, err, sizeof err) != 0)
        return false;
    json_t *s;
    while (results_reader_next(r, &s, err, sizeof err) == 1)
        json_decref(s);
    bool done = results_reader_complete(r);
    results_reader_close(r);
    return done;
}

static const char *user_opt(const char *const *user, int n_user, const char *name)
{
    for (int i = 0; i + 1 < n_user; i += 2)
        if (strcmp(user[i], name) == 0)
            return user[i + 1];
    return NULL;
}

int study_contention(const char *const *study_args, const char *const *user, int n_user, const char *resume,
                     bool force)
{
    char stream[PATH_MAX], calib[PATH_MAX], threads[128];
    const char *u_stream = user_opt(user, n_user, "--stream"), *u_out = user_opt(user, n_user, "--out");
    const char *u_fmt = user_opt(user, n_user, "-o"), *u_reps = user_opt(user, n_user, "-r");
    const char *u_seed = user_opt(user, n_user, "--seed");
    if (resume) {
        snprintf(stream, sizeof stream, "%s", resume);
    } else if (u_stream) {
        snprintf(stream, sizeof stream, "%s", u_stream);
    } else if (cli_default_stream("contention", stream, sizeof stream) != 0) {
        return cli_error(CLI_EFAIL, "study: cannot create ggperf-results/: %s", strerror(errno));
    }
    sibling(stream, "-calib.jsonl", calib, sizeof calib);
    threads_list(threads, sizeof threads);

    /* 1. calibration: fresh, resumed, or already complete */
    if (!(resume && access(calib, F_OK) == 0 && complete(calib))) {
        const char *a[32];
        int n = 0;
        a[n++] = "run";
        a[n++] = "contention_calib";
        if (resume && access(calib, F_OK) == 0) {
            a[n++] = "--resume";
            a[n++] = calib;
        } else {
            a[n++] = "--threads";
            a[n++] = threads;
            a[n++] = "--layout";
            a[n++] = "packed,padded";
            a[n++] = "--store";
            a[n++] = "plain,atomic";
            a[n++] = "-r";
            a[n++] = u_reps ? u_reps : "10";
            a[n++] = "--warmup";
            a[n++] = "1";
            if (u_seed) {
                a[n++] = "--seed";
                a[n++] = u_seed;
            }
            a[n++] = "--stream";
            a[n++] = calib;
        }
        a[n++] = "--out";
        a[n++] = "/dev/null";
        if (force)
            a[n++] = "--force";
        a[n] = NULL;
        fprintf(stderr, "ggperf: study contention: calibration (false sharing of per-thread counters)\n");
        int rc = cmd_run.run(n, (char **)a);
        if (rc != CLI_OK)
            return rc;
    }

    /* 2. the study */
    const char *a[64];
    int n = 0;
    a[n++] = "run";
    if (resume) {
        a[n++] = study_args[0];
        a[n++] = "--resume";
        a[n++] = resume;
    } else {
        for (int k = 0; study_args[k] && n < 40; k++) {
            bool th = k > 0 && strcmp(study_args[k - 1], "--threads") == 0;
            a[n++] = th ? threads : study_args[k];
        }
        for (int i = 0; i + 1 < n_user && n < 56; i += 2)
            if (strcmp(user[i], "--resume") != 0 && strcmp(user[i], "--stream") != 0) {
                a[n++] = user[i];
                a[n++] = user[i + 1];
            }
        a[n++] = "--stream";
        a[n++] = stream;
    }
    if (resume && u_fmt) {
        a[n++] = "-o";
        a[n++] = u_fmt;
    }
    if (resume && u_out) {
        a[n++] = "--out";
        a[n++] = u_out;
    }
    /* the generic table only where asked for: the report below is the answer */
    if (!u_fmt && !u_out) {
        a[n++] = "--out";
        a[n++] = "/dev/null";
    }
    if (force)
        a[n++] = "--force";
    a[n] = NULL;
    fprintf(stderr, "ggperf: study contention: layouts x threads x alignment\n");
    int rc = cmd_run.run(n, (char **)a);
    if (rc != CLI_OK)
        return rc;

    /* 3. the report: on stdout unless the view went there */
    FILE *f = u_fmt && !u_out ? stderr : stdout;
    char dir[PATH_MAX], name[128];
    snprintf(dir, sizeof dir, "%s", stream);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : stream;
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    sibling(base, "-time", name, sizeof name);
    for (char *c = name; *c; c++)   /* plot names are [a-z0-9_-] */
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            *c = '_';
    struct contention_report_opts ro = {
        .study_path = stream, .calib_path = calib, .plot_dir = dir, .plot_name = name, .alpha = 0.01,
    };
    struct contention_report_summary sum;
    char err[512];
    if (contention_report_write(&ro, f, &sum, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "study: contention report: %s", err);
    return CLI_OK;
}
