/* ggperf bisect — find the commit that made a workload slower: build each
 * commit it needs in its own git worktree, narrow the range by binary
 * search on the workload's deterministic counts (kind "count": simulated
 * instructions and misses, one run per commit, no noise to fight), then
 * confirm the culprit against its parent with an A/B timing run
 * (ggperf ab). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/store/gate.h"

/* Command lines are built from paths (< PATH_MAX each) into buffers sized
 * for several of them; gcc cannot see those bounds and warns on every one. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf bisect --good REV --bad REV [--repo DIR] [--dir DIR]\n"
            "                     [--build-cmd CMD] [--bin-path PATH] [--pairs N] [--keep]\n"
            "                     -- WORKLOAD [RUN ARGS...]\n\n"
            "Find the first commit between GOOD and BAD (first-parent history) whose\n"
            "deterministic counts (metrics of kind count, e.g. decode --sim on's simulated\n"
            "instructions and misses) regress against GOOD: each commit is built in its own\n"
            "git worktree and run once (run WORKLOAD ARGS -r 1 --warmup 0), and a binary\n"
            "search narrows the range in about log2(commits) builds. The culprit is then\n"
            "confirmed against its parent with an A/B timing run (ggperf ab ... -r N).\n\n"
            "  --good REV, --bad REV  the range (BAD must regress against GOOD)\n"
            "  --repo DIR       the git repository (default: the one around the current dir)\n"
            "  --dir DIR        worktrees, builds and results (default a new temporary dir)\n"
            "  --build-cmd CMD  run in each worktree to build (default 'make -j2 build/ggperf')\n"
            "  --bin-path PATH  the built ggperf, relative to the worktree (default build/ggperf)\n"
            "  --pairs N        pairs of the confirming A/B run (default 6; 0 skips it)\n"
            "  --keep           keep the worktrees (default: removed at the end)\n\n"
            "RUN ARGS are passed to every run; for decode add --sim on so that there are\n"
            "counts to bisect on (it is dropped for the A/B timing run).\n\n"
            "Exit: 0 the culprit was found (the A/B verdict is reported), 1 BAD does not\n"
            "regress against GOOD, 2 a usage error or a failed build or run.\n");
}

/* Run a shell command line; its stdout into out (may be NULL), stderr to
 * log (NULL: inherited). Returns the exit status (-1: not started). */
static int sh(const char *cmd, char *out, size_t out_len, const char *log)
{
    int fds[2];
    if (out && pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (out) {
            close(fds[0]);
            dup2(fds[1], 1);
        } else {
            int dn = open("/dev/null", O_WRONLY);
            if (dn >= 0)
                dup2(dn, 1);
        }
        if (log) {
            int lg = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (lg >= 0)
                dup2(lg, 2);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (out) {
        close(fds[1]);
        size_t got = 0;
        ssize_t k;
        while ((k = read(fds[0], out + got, out_len - 1 - got)) > 0 && got + 1 < out_len)
            got += (size_t)k;
        while (k > 0) { /* drain what does not fit */
            char sink[256];
            k = read(fds[0], sink, sizeof sink);
        }
        out[got] = '\0';
        close(fds[0]);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* 'text' quoted for sh into buf. */
static void shq(char *buf, size_t len, const char *text)
{
    size_t k = 0;
    if (k + 1 < len)
        buf[k++] = '\'';
    for (const char *p = text; *p && k + 5 < len; p++) {
        if (*p == '\'') {
            memcpy(buf + k, "'\\''", 4);
            k += 4;
        } else {
            buf[k++] = *p;
        }
    }
    if (k + 1 < len)
        buf[k++] = '\'';
    buf[k] = '\0';
}

struct ctx {
    const char *repo, *build_cmd, *bin_path, *workload;
    char dir[PATH_MAX], log[PATH_MAX + 16];
    char run_args[8192];     /* the RUN ARGS, quoted */
    char ab_args[8192];      /* the same without --sim on */
    char (*sha)[48];         /* [n]: GOOD, then the first-parent commits up to BAD */
    char (*subject)[96];
    int n;
    bool keep;
};

/* The ggperf built from commit i: builds it in a worktree once. */
static int build(struct ctx *c, int i, char *bin, size_t len)
{
    char wt[PATH_MAX + 64], q[PATH_MAX * 2], cmd[PATH_MAX * 4];
    snprintf(wt, sizeof wt, "%s/wt-%.12s", c->dir, c->sha[i]);
    snprintf(bin, len, "%s/%s", wt, c->bin_path);
    if (access(bin, X_OK) == 0)
        return 0;
    struct stat st;
    if (stat(wt, &st) != 0) {
        shq(q, sizeof q, c->repo);
        char qw[PATH_MAX * 2];
        shq(qw, sizeof qw, wt);
        snprintf(cmd, sizeof cmd, "git -C %s worktree add --detach %s %s", q, qw, c->sha[i]);
        if (sh(cmd, NULL, 0, c->log) != 0)
            return cli_error(CLI_EUSAGE, "bisect: git worktree add for %.12s failed; see %s", c->sha[i], c->log);
    }
    shq(q, sizeof q, wt);
    snprintf(cmd, sizeof cmd, "cd %s && %s", q, c->build_cmd);
    fprintf(stderr, "ggperf: bisect: building %.12s %s\n", c->sha[i], c->subject[i]);
    if (sh(cmd, NULL, 0, c->log) != 0 || access(bin, X_OK) != 0)
        return cli_error(CLI_EUSAGE, "bisect: building %.12s failed (%s); see %s", c->sha[i], c->build_cmd, c->log);
    return 0;
}

/* Run commit i's build once into its results file (once). */
static int measure(struct ctx *c, int i, char *res, size_t len)
{
    char bin[PATH_MAX + 128], qb[PATH_MAX * 2], qr[PATH_MAX * 2], cmd[16384];
    snprintf(res, len, "%s/run-%.12s.jsonl", c->dir, c->sha[i]);
    if (access(res, R_OK) == 0)
        return 0;
    if (build(c, i, bin, sizeof bin) != 0)
        return CLI_EUSAGE;
    shq(qb, sizeof qb, bin);
    shq(qr, sizeof qr, res);
    snprintf(cmd, sizeof cmd, "%s run %s %s -r 1 --warmup 0 --stream %s -o jsonl", qb, c->workload, c->run_args, qr);
    if (sh(cmd, NULL, 0, c->log) != 0)
        return cli_error(CLI_EUSAGE, "bisect: the run of %.12s failed; see %s", c->sha[i], c->log);
    return 0;
}

/* Whether commit i's counts regress against GOOD's: 1 yes, 0 no, negative on error. */
static int is_bad(struct ctx *c, int i, char *what, size_t what_len)
{
    char good[PATH_MAX + 64], cur[PATH_MAX + 64], err[1024];
    if (measure(c, 0, good, sizeof good) != 0 || measure(c, i, cur, sizeof cur) != 0)
        return -1;
    struct gate_opts o;
    gate_opts_default(&o);
    struct gate_report *r = NULL;
    if (gate_compare_files(good, cur, NULL, NULL, &o, &r, err, sizeof err) != GATE_OK)
        return cli_error(CLI_EUSAGE, "bisect: gate: %s", err) * -1;
    int counts = 0, bad = 0;
    what[0] = '\0';
    for (size_t k = 0; k < r->n_rows; k++) {
        const struct gate_row *row = &r->rows[k];
        if (!row->gated || row->kind != GATE_KIND_DETERMINISTIC)
            continue;
        counts++;
        if (row->verdict == GATE_REGRESSED) {
            if (!bad)
                snprintf(what, what_len, "%s %+.2f%% (%s)", row->metric, row->change * 100, row->config);
            bad++;
        }
    }
    gate_report_free(r);
    if (counts == 0)
        return cli_error(CLI_EUSAGE, "bisect: %s gave no deterministic counts to bisect on (decode, kvcache and "
                                     "contention have them with --sim on)", c->workload) * -1;
    return bad > 0;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.build_cmd = "make -j2 build/ggperf";
    c.bin_path = "build/ggperf";
    const char *good = NULL, *bad = NULL, *dir_arg = NULL;
    int pairs = 6, i, rc = CLI_EUSAGE;
    char repo_buf[PATH_MAX] = "";
    for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep")) {
            c.keep = true;
            continue;
        }
        if (!v)
            return cli_error(CLI_EUSAGE, "bisect: %s needs a value (ggperf bisect --help)", a);
        if (!strcmp(a, "--good"))
            good = v;
        else if (!strcmp(a, "--bad"))
            bad = v;
        else if (!strcmp(a, "--repo"))
            c.repo = v;
        else if (!strcmp(a, "--dir"))
            dir_arg = v;
        else if (!strcmp(a, "--build-cmd"))
            c.build_cmd = v;
        else if (!strcmp(a, "--bin-path"))
            c.bin_path = v;
        else if (!strcmp(a, "--pairs")) {
            if (cli_parse_int(a, v, 0, 10000, &pairs) != 0)
                return CLI_EUSAGE;
            if (pairs == 1)
                pairs = 2;
        } else
            return cli_error(CLI_EUSAGE, "bisect: unknown option '%s' (ggperf bisect --help)", a);
        i++;
    }
    if (!good || !bad || i + 1 >= argc)
        return cli_error(CLI_EUSAGE, "bisect: --good, --bad and -- WORKLOAD are required (ggperf bisect --help)");
    c.workload = argv[i + 1];
    size_t u1 = 0, u2 = 0;
    for (int k = i + 2; k < argc; k++) {
        char q[4096];
        shq(q, sizeof q, argv[k]);
        u1 += (size_t)snprintf(c.run_args + u1, sizeof c.run_args - u1, " %s", q);
        bool sim = !strcmp(argv[k], "--sim") && k + 1 < argc;
        if (sim) {
            k++;
            shq(q, sizeof q, argv[k]);
            u1 += (size_t)snprintf(c.run_args + u1, sizeof c.run_args - u1, " %s", q);
            continue; /* the timing run goes without the simulation */
        }
        shq(q, sizeof q, argv[k]);
        u2 += (size_t)snprintf(c.ab_args + u2, sizeof c.ab_args - u2, " %s", q);
        if (u1 >= sizeof c.run_args - 8 || u2 >= sizeof c.ab_args - 8)
            return cli_error(CLI_EUSAGE, "bisect: RUN ARGS too long");
    }
    if (!c.repo) {
        if (sh("git rev-parse --show-toplevel", repo_buf, sizeof repo_buf, NULL) != 0 || !repo_buf[0])
            return cli_error(CLI_EUSAGE, "bisect: not inside a git repository (--repo DIR)");
        repo_buf[strcspn(repo_buf, "\n")] = '\0';
        c.repo = repo_buf;
    }
    if (dir_arg) {
        snprintf(c.dir, sizeof c.dir, "%s", dir_arg);
        if (mkdir(c.dir, 0755) != 0 && errno != EEXIST)
            return cli_error(CLI_EUSAGE, "bisect: mkdir %s: %s", c.dir, strerror(errno));
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(c.dir, sizeof c.dir, "%s/ggperf-bisect-XXXXXX", t && t[0] ? t : "/tmp");
        if (!mkdtemp(c.dir))
            return cli_error(CLI_EFAIL, "bisect: mkdtemp: %s", strerror(errno));
    }
    if (c.dir[0] != '/') {
        char cwd[PATH_MAX], abs[PATH_MAX * 2];
        if (getcwd(cwd, sizeof cwd)) {
            snprintf(abs, sizeof abs, "%s/%s", cwd, c.dir);
            snprintf(c.dir, sizeof c.dir, "%s", abs);
        }
    }
    snprintf(c.log, sizeof c.log, "%s/bisect.log", c.dir);

    /* the range: GOOD, then first-parent commits up to BAD */
    char q[PATH_MAX * 2], cmd[PATH_MAX * 4], qg[512], qbad[512];
    shq(q, sizeof q, c.repo);
    shq(qg, sizeof qg, good);
    shq(qbad, sizeof qbad, bad);
    static char list[1 << 20];
    snprintf(cmd, sizeof cmd, "git -C %s rev-parse --verify %s^{commit} && git -C %s log --first-parent --reverse "
                              "--format='%%H %%s' %s..%s", q, qg, q, qg, qbad);
    if (sh(cmd, list, sizeof list, c.log) != 0)
        return cli_error(CLI_EUSAGE, "bisect: git cannot list %s..%s in %s; see %s", good, bad, c.repo, c.log);
    int lines = 0;
    for (char *p = list; *p; p++)
        lines += *p == '\n';
    c.sha = calloc((size_t)lines + 1, sizeof *c.sha);
    c.subject = calloc((size_t)lines + 1, sizeof *c.subject);
    if (!c.sha || !c.subject) {
        rc = cli_error(CLI_EFAIL, "out of memory");
        goto done;
    }
    for (char *save = NULL, *ln = strtok_r(list, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (c.n == 0) { /* the first line is GOOD's full hash */
            snprintf(c.sha[0], sizeof c.sha[0], "%.40s", ln);
            snprintf(c.subject[0], sizeof c.subject[0], "(good)");
            c.n = 1;
            continue;
        }
        char *sp = strchr(ln, ' ');
        snprintf(c.sha[c.n], sizeof c.sha[0], "%.*s", sp ? (int)(sp - ln) : 40, ln);
        snprintf(c.subject[c.n], sizeof c.subject[0], "%s", sp ? sp + 1 : "");
        c.n++;
    }
    if (c.n < 2) {
        rc = cli_error(CLI_EUSAGE, "bisect: no commits between %s and %s", good, bad);
        goto done;
    }
    int builds = 2;
    for (int m = c.n - 1; m > 1; m >>= 1)
        builds++;
    fprintf(stderr, "ggperf: bisect: %d commits after %s; about %d builds\n", c.n - 1, good, builds);
    char what[256];
    int b = is_bad(&c, c.n - 1, what, sizeof what);
    if (b < 0)
        goto done;
    if (b == 0) {
        rc = cli_error(CLI_EFAIL, "bisect: %s does not regress the deterministic counts against %s", bad, good);
        goto done;
    }
    int lo = 0, hi = c.n - 1;
    char hi_what[256];
    snprintf(hi_what, sizeof hi_what, "%s", what);
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        b = is_bad(&c, mid, what, sizeof what);
        if (b < 0)
            goto done;
        fprintf(stderr, "ggperf: bisect: %.12s is %s%s%s\n", c.sha[mid], b ? "bad: " : "good", b ? what : "", "");
        if (b) {
            hi = mid;
            snprintf(hi_what, sizeof hi_what, "%s", what);
        } else {
            lo = mid;
        }
    }
    printf("first bad commit: %s %s\n", c.sha[hi], c.subject[hi]);
    printf("  deterministic counts against %.12s: %s\n", c.sha[0], hi_what);
    if (pairs > 0) {
        char ba[PATH_MAX + 128], bb[PATH_MAX + 128], self[PATH_MAX], qa[PATH_MAX * 2], qb[PATH_MAX * 2],
            qs[PATH_MAX * 2], qd[PATH_MAX * 2], ab[32768];
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k <= 0 || build(&c, lo, ba, sizeof ba) != 0 || build(&c, hi, bb, sizeof bb) != 0) {
            rc = CLI_EUSAGE;
            goto done;
        }
        self[k] = '\0';
        char abdir[PATH_MAX + 16];
        snprintf(abdir, sizeof abdir, "%s/ab", c.dir);
        shq(qs, sizeof qs, self);
        shq(qa, sizeof qa, ba);
        shq(qb, sizeof qb, bb);
        shq(qd, sizeof qd, abdir);
        snprintf(ab, sizeof ab, "%s ab --baseline-bin %s --current-bin %s %s %s -r %d --dir %s -o md", qs, qa, qb,
                 c.workload, c.ab_args, pairs, qd);
        static char report[1 << 16];
        int st = sh(ab, report, sizeof report, c.log);
        printf("  A/B timing against its parent %.12s (%d pairs): %s\n", c.sha[lo], pairs,
               st == 1 ? "regressed (confirmed)" : st == 0 ? "no timing regression shown (see the report)"
                                                            : "the A/B run failed (see the log)");
        char *sum = strstr(report, "**Summary:**");
        if (sum)
            printf("  %.*s\n", (int)strcspn(sum, "\n"), sum);
    }
    printf("  work in %s\n", c.dir);
    rc = CLI_OK;
done:
    if (!c.keep && c.sha) {
        for (int k = 0; k < c.n; k++) {
            char wt[PATH_MAX + 64], qw[PATH_MAX * 2];
            snprintf(wt, sizeof wt, "%s/wt-%.12s", c.dir, c.sha[k]);
            struct stat st;
            if (stat(wt, &st) != 0)
                continue;
            shq(qw, sizeof qw, wt);
            snprintf(cmd, sizeof cmd, "git -C %s worktree remove --force %s", q, qw);
            sh(cmd, NULL, 0, c.log);
        }
    }
    free(c.sha);
    free(c.subject);
    return rc;
}

const struct cli_cmd cmd_bisect = { "bisect", "find the commit that slowed a workload (counts, then A/B)", run };
