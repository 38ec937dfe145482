/* ggperf ab — the A/B design, the strongest on a noisy runner: run two
 * builds of ggperf interleaved on the same machine (A B, B A, A B, ... one
 * `run -r 1` of each per pair, so drift and neighbours hit both alike),
 * join each side's repetitions into one results file, and gate B against
 * A. Undecided verdicts are resolved by running more pairs within a
 * budget; alpha is split over the looks the budget allows (gate.h), so
 * looking again does not raise the false-alarm rate. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/store/gate.h"
#include "harness/store/history.h"
#include "harness/store/store.h"
#include "results/results.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf ab --baseline-bin OLD --current-bin NEW WORKLOAD [RUN ARGS...]\n"
            "                 [-r PAIRS] [--budget PAIRS] [--dir DIR] [-o md|json]\n"
            "                 [--threshold P] [--alpha A] [--metrics M,..|--all-metrics]\n"
            "                 [--undecided pass|fail] [--history] [--store PATH]\n\n"
            "Run `OLD run WORKLOAD ... -r 1` and `NEW run WORKLOAD ... -r 1` interleaved\n"
            "(A B, B A, A B, ...) PAIRS times on this machine, join each side's repetitions\n"
            "(ggperf merge --renumber) and gate NEW against OLD (ggperf gate: declared\n"
            "semantics, primary metrics, Holm), pair by pair: the Wilcoxon signed-rank\n"
            "test of log(B / A) over the pairs, so drift both halves saw cancels. While\n"
            "comparisons are undecided and the\n"
            "budget allows, run PAIRS more pairs and gate again; alpha is split over the\n"
            "looks the budget allows.\n\n"
            "  --baseline-bin OLD   the ggperf binary of the baseline (e.g. main's build)\n"
            "  --current-bin NEW    the ggperf binary of the change\n"
            "  RUN ARGS             passed to both runs: -m MODEL, --AXIS values, --warmup N\n"
            "                       (default 0: the pairs interleave already), --seed S\n"
            "                       (not -r, --stream, --out, -o)\n"
            "  -r PAIRS             pairs per look (default 12: with 4 gated comparisons and two\n"
            "                       looks, the signed-rank test needs 11 pairs to reach Holm's\n"
            "                       first level at all)\n"
            "  --budget PAIRS       most pairs in all (default 2 x PAIRS)\n"
            "  --dir DIR            where the runs' files go (default a new temporary\n"
            "                       directory, kept: A.jsonl and B.jsonl are the joined sides)\n"
            "  --history            store the verdict in the history (ggperf history)\n"
            "  --lock FILE          hold flock(FILE) during each pair (a machine shared with\n"
            "                       other timing jobs: one pair at a time, not the whole run)\n"
            "  gate options         as ggperf gate (--threshold, --alpha, --metrics, ...)\n\n"
            "Exit: as ggperf gate: 0 pass, 1 regression (or undecided under\n"
            "--undecided=fail), 2 a usage error or a run that failed.\n");
}

/* Run argv with stdout to /dev/null and stderr appended to log; returns
 * the exit status, or -1 when it could not be started. */
static int spawn(char *const argv[], const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        int lg = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (dn >= 0)
            dup2(dn, 1);
        if (lg >= 0)
            dup2(lg, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

struct side {
    const char *bin;
    char **files;   /* the streams of its runs, one per pair */
    int n;
};

static int side_add(struct side *s, const char *path)
{
    char **p = realloc(s->files, (size_t)(s->n + 1) * sizeof *p);
    if (!p)
        return -1;
    s->files = p;
    if (!(s->files[s->n] = strdup(path)))
        return -1;
    s->n++;
    return 0;
}

/* One run of side s (letter "A"/"B") for pair k into dir. */
static int one_run(struct side *s, const char *letter, int k, const char *dir, const char *workload, char **pass,
                   int n_pass)
{
    bool warmup_given = false;
    for (int i = 0; i < n_pass; i++)
        warmup_given = warmup_given || !strcmp(pass[i], "--warmup");
    char stream[PATH_MAX], log[PATH_MAX];
    snprintf(stream, sizeof stream, "%s/%s-%04d.jsonl", dir, letter, k);
    snprintf(log, sizeof log, "%s/runs.log", dir);
    unlink(stream);
    char **argv = calloc((size_t)n_pass + 12, sizeof *argv);
    if (!argv)
        return cli_error(CLI_EFAIL, "out of memory");
    int n = 0;
    argv[n++] = (char *)s->bin;
    argv[n++] = "run";
    argv[n++] = (char *)workload;
    for (int i = 0; i < n_pass; i++)
        argv[n++] = pass[i];
    argv[n++] = "-r";
    argv[n++] = "1";
    if (!warmup_given) { /* the pairs interleave already; a warm-up per run would double the time */
        argv[n++] = "--warmup";
        argv[n++] = "0";
    }
    argv[n++] = "--stream";
    argv[n++] = stream;
    argv[n++] = "-o";
    argv[n++] = "jsonl";
    argv[n] = NULL;
    int st = spawn(argv, log);
    free(argv);
    if (st != 0)
        return cli_error(CLI_EUSAGE, "ab: %s run %s (pair %d, side %s) failed with status %d; see %s", s->bin,
                         workload, k + 1, letter, st, log);
    return side_add(s, stream) == 0 ? 0 : cli_error(CLI_EFAIL, "out of memory");
}

static int parse_pct(const char *flag, const char *v, double *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '%')
        buf[n - 1] = '\0';
    double x;
    if (cli_parse_double(flag, buf, 0, 1000, &x) != 0)
        return CLI_EUSAGE;
    *out = x / 100;
    return 0;
}

/* A comma list as a NULL-terminated array (one allocation). */
static const char **split(const char *text)
{
    size_t n = 2, len = strlen(text);
    for (const char *p = text; *p; p++)
        n += *p == ',';
    char **v = malloc(n * sizeof *v + len + 1);
    if (!v)
        return NULL;
    char *buf = (char *)(v + n);
    memcpy(buf, text, len + 1);
    size_t k = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        v[k++] = t;
    v[k] = NULL;
    return (const char **)v;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct gate_opts o;
    gate_opts_default(&o);
    const char *abin = NULL, *bbin = NULL, *workload = NULL, *dir_arg = NULL, *store_path = NULL, *lock_path = NULL;
    const char **metrics = NULL;
    int pairs = 12, budget = 0, fmt = 0, rc = CLI_EUSAGE;
    bool history = false;
    char **pass = calloc((size_t)argc + 1, sizeof *pass);
    struct side A = { 0 }, B = { 0 };
    int n_pass = 0;
    if (!pass)
        return cli_error(CLI_EFAIL, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--baseline-bin") || !strcmp(a, "--current-bin") || !strcmp(a, "-r") ||
                     !strcmp(a, "--budget") || !strcmp(a, "--dir") || !strcmp(a, "-o") || !strcmp(a, "--threshold") ||
                     !strcmp(a, "--alpha") || !strcmp(a, "--metrics") || !strcmp(a, "--undecided") ||
                     !strcmp(a, "--store") || !strcmp(a, "--lock");
        if (takes && !v) {
            cli_error(CLI_EUSAGE, "ab: %s needs a value", a);
            goto done;
        }
        int e = 0;
        if (!strcmp(a, "--baseline-bin"))
            abin = v;
        else if (!strcmp(a, "--current-bin"))
            bbin = v;
        else if (!strcmp(a, "-r"))
            e = cli_parse_int(a, v, 2, 100000, &pairs);
        else if (!strcmp(a, "--budget"))
            e = cli_parse_int(a, v, 2, 100000, &budget);
        else if (!strcmp(a, "--dir"))
            dir_arg = v;
        else if (!strcmp(a, "--store"))
            store_path = v;
        else if (!strcmp(a, "--lock"))
            lock_path = v;
        else if (!strcmp(a, "-o")) {
            static const char *const fmts[] = { "md", "json", NULL };
            if ((fmt = cli_parse_choice(a, v, fmts)) < 0)
                goto done;
        } else if (!strcmp(a, "--threshold"))
            e = parse_pct(a, v, &o.threshold);
        else if (!strcmp(a, "--alpha"))
            e = cli_parse_double(a, v, 1e-12, 0.5, &o.alpha);
        else if (!strcmp(a, "--metrics")) {
            free(metrics);
            if (!(metrics = split(v))) {
                rc = cli_error(CLI_EFAIL, "out of memory");
                goto done;
            }
        } else if (!strcmp(a, "--undecided")) {
            static const char *const pf[] = { "pass", "fail", NULL };
            int c = cli_parse_choice(a, v, pf);
            if (c < 0)
                goto done;
            o.undecided_pass = c == 0;
        } else if (!strcmp(a, "--all-metrics")) {
            o.all_metrics = true;
            takes = false;
        } else if (!strcmp(a, "--history")) {
            history = true;
            takes = false;
        } else if (!workload && a[0] != '-') {
            workload = a;
        } else if (!strcmp(a, "--stream") || !strcmp(a, "--out") || !strcmp(a, "--resume") ||
                   !strcmp(a, "--repetitions") || !strcmp(a, "--shard")) {
            cli_error(CLI_EUSAGE, "ab: %s is ab's to set (ggperf ab --help)", a);
            goto done;
        } else if (a[0] == '-' && strcmp(a, "--force") != 0 && v) {
            pass[n_pass++] = argv[i]; /* a run flag and its value (every run flag but --force takes one) */
            pass[n_pass++] = argv[++i];
        } else {
            pass[n_pass++] = argv[i];
        }
        if (e)
            goto done;
        if (takes)
            i++;
    }
    if (!abin || !bbin || !workload) {
        cli_error(CLI_EUSAGE, "ab: --baseline-bin, --current-bin and WORKLOAD are required (ggperf ab --help)");
        goto done;
    }
    if (access(abin, X_OK) != 0 || access(bbin, X_OK) != 0) {
        cli_error(CLI_EUSAGE, "ab: %s is not an executable", access(abin, X_OK) != 0 ? abin : bbin);
        goto done;
    }
    if (budget == 0)
        budget = 2 * pairs;
    if (budget < pairs)
        budget = pairs;
    o.looks = (budget + pairs - 1) / pairs;
    o.paired = true; /* pair k's A and B ran back to back: test the pairs */
    o.metrics = metrics;
    char dir[PATH_MAX];
    if (dir_arg) {
        snprintf(dir, sizeof dir, "%s", dir_arg);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            rc = cli_error(CLI_EFAIL, "ab: mkdir %s: %s", dir, strerror(errno));
            goto done;
        }
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ggperf-ab-XXXXXX", t && t[0] ? t : "/tmp");
        if (!mkdtemp(dir)) {
            rc = cli_error(CLI_EFAIL, "ab: mkdtemp %s: %s", dir, strerror(errno));
            goto done;
        }
    }
    A.bin = abin;
    B.bin = bbin;
    char a_path[PATH_MAX + 16], b_path[PATH_MAX + 16], err[1024];
    snprintf(a_path, sizeof a_path, "%s/A.jsonl", dir);
    snprintf(b_path, sizeof b_path, "%s/B.jsonl", dir);
    struct gate_report *r = NULL;
    int done_pairs = 0;
    for (int look = 1; look <= o.looks; look++) {
        int target = done_pairs + pairs > budget ? budget : done_pairs + pairs;
        for (int k = done_pairs; k < target; k++) {
            bool a_first = k % 2 == 0; /* A B, B A, A B, ...: each side first half the time */
            if (cli_stderr_is_tty() || !cli_stdout_is_tty())
                fprintf(stderr, "ggperf: ab: pair %d/%d (%s)\n", k + 1, target, a_first ? "A B" : "B A");
            struct side *first = a_first ? &A : &B, *second = a_first ? &B : &A;
            int lk = -1;
            if (lock_path && ((lk = open(lock_path, O_RDWR | O_CREAT, 0666)) < 0 || flock(lk, LOCK_EX) != 0)) {
                rc = cli_error(CLI_EUSAGE, "ab: --lock %s: %s", lock_path, strerror(errno));
                if (lk >= 0)
                    close(lk);
                goto done;
            }
            int bad = one_run(first, a_first ? "A" : "B", k, dir, workload, pass, n_pass) != 0 ||
                      one_run(second, a_first ? "B" : "A", k, dir, workload, pass, n_pass) != 0;
            if (lk >= 0)
                close(lk); /* releases the lock */
            if (bad) {
                rc = CLI_EUSAGE;
                goto done;
            }
        }
        done_pairs = target;
        if (results_merge((const char *const *)A.files, A.n, a_path, RESULTS_MERGE_RENUMBER, err, sizeof err) != 0 ||
            results_merge((const char *const *)B.files, B.n, b_path, RESULTS_MERGE_RENUMBER, err, sizeof err) != 0) {
            rc = cli_error(CLI_EUSAGE, "ab: joining the runs: %s", err);
            goto done;
        }
        gate_report_free(r);
        r = NULL;
        char la[PATH_MAX + 64], lb[PATH_MAX + 64];
        snprintf(la, sizeof la, "A = %s (%d runs)", abin, A.n);
        snprintf(lb, sizeof lb, "B = %s (%d runs)", bbin, B.n);
        if (gate_compare_files(a_path, b_path, la, lb, &o, &r, err, sizeof err) != GATE_OK) {
            rc = cli_error(CLI_EUSAGE, "ab: gate: %s", err);
            goto done;
        }
        fprintf(stderr, "ggperf: ab: look %d of %d after %d pairs: %zu regressed, %zu undecided, %zu unchanged\n", look,
                o.looks, done_pairs, r->counts[GATE_REGRESSED], r->counts[GATE_UNDECIDED], r->counts[GATE_UNCHANGED]);
        if (r->counts[GATE_UNDECIDED] == 0 || done_pairs >= budget)
            break;
    }
    if (fmt == 1) {
        json_t *j = gate_report_json(r);
        if (j) {
            json_object_set_new(j, "pairs", json_integer(done_pairs));
            json_object_set_new(j, "dir", json_string(dir));
            json_dumpf(j, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
            fputc('\n', stdout);
            json_decref(j);
        }
    } else {
        gate_write_md(stdout, r);
        printf("\nA/B: %d interleaved pairs (budget %d, %d looks); runs in %s\n", done_pairs, budget, o.looks, dir);
    }
    fflush(stdout);
    if (history) {
        char sp[PATH_MAX];
        if (!store_path && store_default_path(sp, sizeof sp, err, sizeof err) == 0)
            store_path = sp;
        if (!store_path || history_record(store_path, r, b_path, NULL, err, sizeof err) != 0)
            fprintf(stderr, "ggperf: ab: warning: not stored in the history: %s\n", store_path ? err : "no store path");
    }
    rc = gate_failed(r);
    fprintf(stderr, "ggperf: ab: %s: %zu regressed, %zu undecided, %zu unchanged, %zu improved (%d pairs)\n",
            rc ? "FAIL" : "PASS", r->counts[GATE_REGRESSED], r->counts[GATE_UNDECIDED], r->counts[GATE_UNCHANGED],
            r->counts[GATE_IMPROVED], done_pairs);
    gate_report_free(r);
done:
    for (int i = 0; i < A.n; i++)
        free(A.files[i]);
    for (int i = 0; i < B.n; i++)
        free(B.files[i]);
    free(A.files);
    free(B.files);
    free(pass);
    free(metrics);
    return rc;
}

const struct cli_cmd cmd_ab = { "ab", "A/B: two builds interleaved on this machine, then gated", run };
