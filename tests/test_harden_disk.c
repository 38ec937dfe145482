/* harden_disk suite: a full disk, as RLIMIT_FSIZE (SIGXFSZ ignored) and
 * /dev/full: the stream keeps whole lines and resumes, a view that cannot
 * be rewritten leaves the previous file byte-identical, synth and logits -o
 * leave nothing half-written, a command whose stdout is full fails; every
 * message says what happened. One of the harden suites (the overview is in
 * tests/test_harden.c; shared helpers in tests/harden_util.h). */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results/results.h"
#include "harness/run/runner.h"
#include "tests/harden_util.h"
#include "tests/testutil.h"
#include "workloads/registry.h"

/* A child running fn(arg) under RLIMIT_FSIZE = fsize (SIGXFSZ ignored);
 * what fn writes into msg (shared memory) comes back. Returns fn's return
 * value, or -1000 - signal when the child died. */
static int in_child_limited(int (*fn)(void *arg, char *msg, size_t len), void *arg, rlim_t fsize, char *msg,
                            size_t len)
{
    char *shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(shared != MAP_FAILED);
    shared[0] = '\0';
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { fsize, fsize };
        setrlimit(RLIMIT_FSIZE, &rl);
        int rc = fn(arg, shared, len);
        _exit(rc < 0 ? 200 + (rc < -50 ? 50 : -rc) : rc > 100 ? 100 : rc);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    snprintf(msg, len, "%s", shared);
    munmap(shared, len);
    if (!WIFEXITED(status))
        return -1000 - (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    int code = WEXITSTATUS(status);
    return code >= 200 ? -(code - 200) : code;
}

/* A finished sweep of the sleep workload (2 configurations x reps) into stream. */
static void sleep_sweep(const char *stream, int reps)
{
    static const char *const lists[] = { "1,2" };
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = workload_find("sleep");
    ck_assert_ptr_nonnull(o.wl);
    o.axis_lists = lists;
    o.repetitions = reps;
    o.seed = 7;
    o.stream_path = stream;
    o.skip_env = true;
    struct runner_summary sum;
    char err[1024];
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert(sum.complete);
}

/* ---- 2. a full disk ---------------------------------------------------------- */

struct view_job {
    const char *stream, *out;
    int fmt;
};

static int write_view_job(void *arg, char *msg, size_t len)
{
    const struct view_job *j = arg;
    return results_write_view(j->stream, j->fmt, j->out, NULL, msg, len) != 0 ? 0 : 1;
}

/* Every view rewritten over an earlier one with the file size limit at 64
 * bytes: the write fails, says so, and the earlier file is byte-identical
 * with no temporary left beside it. */
START_TEST(test_full_disk_views_keep_previous)
{
    const char *dir = tu_tmpdir();
    char stream[PATH_MAX], out[PATH_MAX], msg[1024], err[1024];
    snprintf(stream, sizeof stream, "%s/s.jsonl", dir);
    sleep_sweep(stream, 3);
    for (int fmt = 0; fmt < RESULTS_FMT_COUNT; fmt++) {
        snprintf(out, sizeof out, "%s/view.%s", dir, results_format_name(fmt));
        ck_assert_msg(results_write_view(stream, fmt, out, NULL, err, sizeof err) == 0, "%s", err);
        size_t n;
        void *before = tu_read_file(out, &n);
        ck_assert_ptr_nonnull(before);
        ck_assert_uint_gt(n, 64);
        struct view_job j = { stream, out, fmt };
        int rc = in_child_limited(write_view_job, &j, 64, msg, sizeof msg);
        ck_assert_msg(rc == 0, "%s: the rewrite under a 64-byte limit did not fail (%d): %s",
                      results_format_name(fmt), rc, msg);
        ck_assert_msg(strstr(msg, out) && strstr(msg, "left as it was"), "%s", msg);
        if (fmt != RESULTS_FMT_SQLITE)
            ck_assert_msg(strstr(msg, "File too large") && strstr(msg, "size limit"), "%s", msg);
        else
            ck_assert_msg(strstr(msg, "sqlite"), "%s", msg);
        ck_assert_msg(same_bytes(out, before, n), "%s changed", out);
        free(before);
    }
    ck_assert_int_eq(count_prefixed(dir, "view."), RESULTS_FMT_COUNT); /* no view.X.tmp.PID */
}
END_TEST

struct sweep_job {
    const char *stream;
    int reps;
};

static int sweep_job(void *arg, char *msg, size_t len)
{
    const struct sweep_job *j = arg;
    static const char *const lists[] = { "1,2" };
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = workload_find("sleep");
    o.axis_lists = lists;
    o.repetitions = j->reps;
    o.seed = 7;
    o.stream_path = j->stream;
    o.skip_env = true;
    struct runner_summary sum;
    return -runner_run(&o, &sum, msg, len);
}

/* The stream hits the size limit in the middle of a record: the sweep stops
 * with a message naming the file and the cause, the stream keeps whole
 * lines only, and --resume finishes it with nothing lost or doubled. */
START_TEST(test_full_disk_stream_then_resume)
{
    const char *dir = tu_tmpdir();
    char probe[PATH_MAX], stream[PATH_MAX], msg[1024], err[1024];
    /* sizes of the header and a sample line of this sweep */
    snprintf(probe, sizeof probe, "%s/probe.jsonl", dir);
    sleep_sweep(probe, 1);
    size_t n;
    char *text = tu_read_file(probe, &n);
    ck_assert_ptr_nonnull(text);
    size_t header = (size_t)(strchr(text, '\n') - text) + 1;
    size_t sample = (size_t)(strchr(text + header, '\n') - (text + header)) + 1;
    free(text);

    snprintf(stream, sizeof stream, "%s/s.jsonl", dir);
    struct sweep_job j = { stream, 4 };
    rlim_t limit = header + 3 * sample + sample / 2; /* three samples and half of the fourth */
    int rc = in_child_limited(sweep_job, &j, limit, msg, sizeof msg);
    ck_assert_msg(rc == -RUNNER_ERESULTS, "rc %d: %s", rc, msg);
    ck_assert_msg(strstr(msg, stream) && strstr(msg, "File too large") && strstr(msg, "size limit") &&
                      strstr(msg, "intact"),
                  "%s", msg);
    text = tu_read_file(stream, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_gt(n, header);
    ck_assert_msg(text[n - 1] == '\n', "a partial line was left");
    ck_assert_int_eq(tu_count_lines(text), 4); /* header + 3 samples */
    free(text);

    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = workload_find("sleep");
    o.stream_path = stream;
    o.resume = true;
    o.skip_env = true;
    struct runner_summary sum;
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert(sum.complete);
    ck_assert_int_eq(sum.reps_skipped, 3);
    ck_assert_int_eq(sum.reps_run, 5);
    ck_assert_int_eq(harden_stream_samples(stream), 8);
}
END_TEST

/* synth and logits -o under the size limit and on /dev/full: exit 1 with
 * the cause, nothing half-written left, an existing file untouched. */
START_TEST(test_full_disk_synth_and_logits)
{
    const char *dir = tu_tmpdir();
    char model[PATH_MAX], out[PATH_MAX], golden[PATH_MAX];
    tu_golden_path(golden, sizeof golden, "shared-Q4_0.gguf");
    snprintf(model, sizeof model, "%s/m.gguf", dir);
    struct limits lim = { 65536, 0 };
    struct proc *p = malloc(sizeof *p);

    const char *synth[] = { tu_ggperf_bin(), "synth", "--shape", "tiny", "--type", "Q4_0", "-o", model, NULL, NULL };
    spawn(synth, &lim, p);
    ck_assert_msg(p->status == 1, "synth exit %d: %s", p->status, p->err);
    ck_assert_msg(strstr(p->err, "File too large") || strstr(p->err, "size limit"), "%s", p->err);
    ck_assert_int_eq(count_prefixed(dir, "m.gguf"), 0);
    static const char previous[] = "the previous file";
    ck_assert_int_eq(tu_write_file(model, previous, sizeof previous), 0);
    synth[8] = "--force";
    spawn(synth, &lim, p);
    ck_assert_msg(p->status == 1, "synth --force exit %d: %s", p->status, p->err);
    ck_assert(same_bytes(model, previous, sizeof previous));
    ck_assert_int_eq(count_prefixed(dir, "m.gguf"), 1);

    /* 16 tokens x 1024 logits x 4 bytes = 64 KiB > 4 KiB */
    snprintf(out, sizeof out, "%s/l.f32", dir);
    const char *logits[] = { tu_ggperf_bin(), "logits", "-m", golden, "--tokens", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
                             "-t", "1", "-o", out, NULL, NULL };
    lim.fsize = 4096;
    spawn(logits, &lim, p);
    ck_assert_msg(p->status == 1, "logits exit %d: %s", p->status, p->err);
    ck_assert_msg(strstr(p->err, out) && strstr(p->err, "File too large") && strstr(p->err, "removed"), "%s", p->err);
    ck_assert_int_eq(count_prefixed(dir, "l.f32"), 0);
    ck_assert_int_eq(tu_write_file(out, previous, sizeof previous), 0);
    logits[10] = "--force";
    spawn(logits, &lim, p);
    ck_assert_msg(p->status == 1, "logits --force exit %d: %s", p->status, p->err);
    ck_assert_msg(strstr(p->err, "left as it was"), "%s", p->err);
    ck_assert(same_bytes(out, previous, sizeof previous));
    ck_assert_int_eq(count_prefixed(dir, "l.f32"), 1);

    logits[9] = "/dev/full";
    logits[10] = NULL;
    spawn(logits, NULL, p);
    ck_assert_msg(p->status == 1, "logits to /dev/full: exit %d: %s", p->status, p->err);
    ck_assert_msg(strstr(p->err, "/dev/full") && strstr(p->err, "No space left"), "%s", p->err);
    ck_assert_int_eq(tu_count_lines(p->err), 1);
    free(p);
}
END_TEST

/* Every command whose stdout is /dev/full fails (exit 1) saying so, rather
 * than exiting 0 with its output lost. */
START_TEST(test_full_stdout_fails)
{
    char golden[PATH_MAX];
    tu_golden_path(golden, sizeof golden, "shared-Q4_0.gguf");
    const char *G = golden;
    const char *const cmds[][14] = {
        { "info", G },
        { "info", "--json", G },
        { "logits", "-m", G, "--tokens", "1,2" },
        { "generate", "-m", G, "-p", "hi", "-n", "2", "-t", "1" },
        { "bench", "-m", G, "-p", "2", "-n", "2", "-r", "1", "-t", "1" },
        { "synth", "--list-shapes" },
        { "synth", "--shape", "tiny", "--type", "Q4_0", "--dry-run" },
        { "study", "list" },
        { "run", "list" },
        { "help" },
        { "version" },
        { "completion", "bash" },
    };
    struct proc *p = malloc(sizeof *p);
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        char sh[4096];
        int n = snprintf(sh, sizeof sh, "%s", tu_ggperf_bin());
        for (int k = 0; k < 14 && cmds[c][k]; k++)
            n += snprintf(sh + n, sizeof sh - (size_t)n, " %s", cmds[c][k]);
        snprintf(sh + n, sizeof sh - (size_t)n, " > /dev/full");
        int rc = tu_run(sh, NULL, 0, p->err, sizeof p->err);
        ck_assert_msg(rc == 1, "`%s`: exit %d: %s", sh, rc, p->err);
        ck_assert_msg(strstr(p->err, "No space left"), "`%s`: %s", sh, p->err);
    }
    free(p);
}
END_TEST

Suite *harden_disk_suite(void)
{
    Suite *s = suite_create("harden_disk");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_full_disk_views_keep_previous);
    tcase_add_test(tc, test_full_disk_stream_then_resume);
    tcase_add_test(tc, test_full_disk_synth_and_logits);
    tcase_add_test(tc, test_full_stdout_fails);
    suite_add_tcase(s, tc);
    return s;
}
