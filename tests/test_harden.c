/* harden suite: hostile files, faults and concurrency, with nothing lost.
 *
 *   mapped file truncated   a SIGBUS on the model mapping is one line and exit 1
 *                           in the CLI (session_guard); a sweep records the
 *                           repetition as failed, names the cause and goes on,
 *                           keeping everything measured before
 *
 * That is this file; the other kinds of hostile input have a suite each
 * beside it, sharing tests/harden_util.h:
 *
 *   full disk (harden_disk) RLIMIT_FSIZE (SIGXFSZ ignored) and /dev/full: the
 *                           stream keeps whole lines and resumes, a view that
 *                           cannot be rewritten leaves the previous file
 *                           byte-identical, synth and logits -o leave nothing
 *                           half-written; every message says what happened
 *   input limits            files claiming huge counts, sizes or nesting are
 *     (harden_input)        refused by info and logits in a 256 MB address
 *                           space; info's memory is bounded by the file
 *   CLI (harden_cli)        every subcommand refuses unknown flags, bad numbers
 *                           and missing values with exit 2 naming the flag;
 *                           output paths: nothing ggperf did not create is
 *                           overwritten without --force
 *
 * The fuzz regression inputs run in their own suites (test_harden_fuzz_*.c).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/sigbus.h"
#include "results/results.h"
#include "harness/run/runner.h"
#include "harness/run/session.h"
#include "tests/harden_util.h"
#include "tests/testutil.h"
#include "workloads/registry.h"

static void copy_golden(const char *name, const char *dir, char *path, size_t len)
{
    char src[PATH_MAX];
    size_t n;
    void *bytes = tu_read_file(tu_golden_path(src, sizeof src, name), &n);
    ck_assert_ptr_nonnull(bytes);
    snprintf(path, len, "%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(path, bytes, n), 0);
    free(bytes);
}

/* ---- 1. a mapped model truncated under us ---------------------------------- */

/* The CLI's guard: a session whose file shrinks before the forward pass
 * reads its weights ends with one line naming the file, and exit 1. */
START_TEST(test_sigbus_guard_session)
{
    const char *dir = tu_tmpdir();
    char model[PATH_MAX], errfile[PATH_MAX];
    copy_golden("shared-Q4_0.gguf", dir, model, sizeof model);
    snprintf(errfile, sizeof errfile, "%s/stderr", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        struct session_opts so;
        session_opts_init(&so);
        so.model_path = model;
        so.infer.n_threads = 2; /* the fault may land in a worker thread */
        so.infer.n_ctx = 16;
        struct session s;
        char err[512];
        if (session_open(&s, &so, true, err, sizeof err) != 0)
            _exit(10);
        cli_guard_session(&s, model);
        if (truncate(model, 4096) != 0)
            _exit(11);
        int32_t tok = 1;
        infer_eval(s.ctx, &tok, 1, NULL, err, sizeof err);
        _exit(12); /* the weights were not read? */
    }
    int status;
    waitpid(pid, &status, 0);
    size_t n;
    char *text = tu_read_file(errfile, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d, stderr: %s", status, text);
    ck_assert_msg(strstr(text, model) && strstr(text, "changed while mapped") && strstr(text, "SIGBUS") &&
                      strstr(text, "now has 4096 bytes") && strstr(text, "truncated"),
                  "%s", text);
    ck_assert_int_eq(tu_count_lines(text), 1);
    ck_assert(strncmp(text, "ggperf: ", 8) == 0);
    free(text);
}
END_TEST

/* A SIGBUS anywhere but the guarded mapping keeps its default action. */
START_TEST(test_sigbus_guard_only_its_mapping)
{
    const char *dir = tu_tmpdir();
    char a[PATH_MAX], b[PATH_MAX];
    copy_golden("shared-Q2_K.gguf", dir, a, sizeof a);
    snprintf(b, sizeof b, "%s/other", dir);
    for (int kind = 0; kind < 3; kind++) {
        ck_assert_int_eq(tu_write_file(b, a, 1), 0); /* (re)create */
        ck_assert_int_eq(truncate(b, 65536), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 2);
            int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
            void *ma = mmap(NULL, 65536, PROT_READ, MAP_PRIVATE, fa, 0);
            volatile const char *mb = mmap(NULL, 65536, PROT_READ, MAP_PRIVATE, fb, 0);
            if (ma == MAP_FAILED || mb == MAP_FAILED)
                _exit(10);
            cli_guard_mapping(a, fa, ma, 65536);
            if (kind == 0) {
                raise(SIGBUS); /* sent, not a fault */
            } else if (kind == 1) {
                if (ftruncate(open(b, O_RDWR), 0) != 0) /* a fault on another mapping */
                    _exit(11);
                (void)mb[8192];
            } else {
                cli_guard_mapping(NULL, -1, NULL, 0); /* guard ended: its own mapping too */
                if (truncate(a, 0) != 0)
                    _exit(11);
                (void)((volatile const char *)ma)[8192];
            }
            _exit(12);
        }
        int status;
        waitpid(pid, &status, 0);
        if (SANITIZED && kind > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 12)
            continue; /* the sanitizer's own handler reported the fault */
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS, "kind %d: status %d", kind, status);
    }
}
END_TEST

/* The truncating helper for the sweeps below: before the measured
 * repetition number `at` (counted from 0) the model shrinks to half, before
 * the next it is whole again. In the parent (progress runs there). */
static struct {
    const char *path;
    void *bytes;
    size_t n;
    int at;
    volatile int in_child_truncate; /* the bus workload truncates inside its repetition */
} trunc_ctl;

static void truncating_progress(void *user, const struct runner_progress *p)
{
    (void)user;
    if (p->warmup)
        return;
    if (p->done == trunc_ctl.at) {
        if (trunc_ctl.in_child_truncate)
            trunc_ctl.in_child_truncate = 2; /* armed: the child inherits it */
        else
            ck_assert_int_eq(truncate(trunc_ctl.path, (off_t)(trunc_ctl.n / 2)), 0);
    } else if (p->done == trunc_ctl.at + 1) {
        if (trunc_ctl.in_child_truncate)
            trunc_ctl.in_child_truncate = 1;
        ck_assert_int_eq(tu_write_file(trunc_ctl.path, trunc_ctl.bytes, trunc_ctl.n), 0);
    }
}

struct sweep_view {
    int n, ok;
    bool complete;
    bool rep_ok[8];
    char error[8][512];
    bool has_touch[8];
};

static void read_sweep(const char *stream, struct sweep_view *v)
{
    memset(v, 0, sizeof *v);
    struct results_reader *r;
    char err[512];
    ck_assert_msg(results_reader_open(&r, stream, err, sizeof err) == 0, "%s", err);
    json_t *s;
    int rc;
    while ((rc = results_reader_next(r, &s, err, sizeof err)) == 1) {
        int rep = (int)json_integer_value(json_object_get(s, "rep"));
        ck_assert(rep >= 0 && rep < 8);
        v->n++;
        v->rep_ok[rep] = json_is_true(json_object_get(s, "ok"));
        v->ok += v->rep_ok[rep];
        const char *e = json_string_value(json_object_get(s, "error"));
        snprintf(v->error[rep], sizeof v->error[rep], "%s", e ? e : "");
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(s, "metrics"), i, m) {
            const char *name = json_string_value(json_object_get(m, "name"));
            if (strcmp(name, "touch_ns") == 0 || strcmp(name, "sum") == 0)
                v->has_touch[rep] = strcmp(json_string_value(json_object_get(m, "status")), "ok") == 0;
        }
        json_decref(s);
    }
    ck_assert_int_eq(rc, 0);
    v->complete = results_reader_complete(r);
    results_reader_close(r);
}

/* `ggperf run load` over a model that another process truncates after the
 * first repetition and restores after the second: repetition 0 is kept
 * whole, repetition 1 fails naming the change, repetition 2 runs again. */
START_TEST(test_sweep_survives_truncated_model)
{
    const char *dir = tu_tmpdir();
    char model[PATH_MAX], stream[PATH_MAX], src[PATH_MAX];
    copy_golden("shared-Q4_0.gguf", dir, model, sizeof model);
    snprintf(stream, sizeof stream, "%s/load.jsonl", dir);
    trunc_ctl.path = model;
    trunc_ctl.bytes = tu_read_file(tu_golden_path(src, sizeof src, "shared-Q4_0.gguf"), &trunc_ctl.n);
    trunc_ctl.at = 1;
    trunc_ctl.in_child_truncate = 0;
    static const char *const lists[] = { "mmap", "warm" };
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = workload_find("load");
    ck_assert_ptr_nonnull(o.wl);
    o.axis_lists = lists;
    o.model_path = model;
    o.cache_dir = dir;
    o.repetitions = 3;
    o.seed = 1;
    o.stream_path = stream;
    o.skip_env = true;
    o.progress = truncating_progress;
    struct runner_summary sum;
    char err[1024];
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert(sum.complete);
    ck_assert_int_eq(sum.reps_run, 3);
    ck_assert_int_eq(sum.reps_failed, 1);
    struct sweep_view v;
    read_sweep(stream, &v);
    ck_assert(v.complete);
    ck_assert_int_eq(v.n, 3);
    ck_assert(v.rep_ok[0] && v.has_touch[0]); /* measured before: intact */
    ck_assert(!v.rep_ok[1]);
    ck_assert_msg(strstr(v.error[1], "changed size") && strstr(v.error[1], "truncated"), "%s", v.error[1]);
    ck_assert(v.rep_ok[2] && v.has_touch[2]); /* and the sweep went on */
    free(trunc_ctl.bytes);
}
END_TEST

/* An isolated workload whose file is truncated while mapped inside its
 * repetition: the child dies of SIGBUS, the runner records that
 * repetition as failed naming the signal and the likely cause. */
struct bus_state {
    char path[PATH_MAX];
};

static int bus_setup(const struct workload_config *cfg, void **state, char *err, size_t err_len)
{
    struct bus_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    snprintf(s->path, sizeof s->path, "%s", cfg->model_path);
    *state = s;
    return 0;
}

static int bus_run(void *state, struct workload_sink *out, char *err, size_t err_len)
{
    const struct bus_state *s = state;
    int fd = open(s->path, O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    const volatile uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_len, "mmap: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (trunc_ctl.in_child_truncate == 2 && ftruncate(fd, 0) != 0) /* another process, in effect */
        return -1;
    double sum = 0;
    for (off_t i = 0; i < st.st_size; i += 4096)
        sum += p[i];
    munmap((void *)p, (size_t)st.st_size);
    close(fd);
    workload_emit(out, "sum", "count", METRIC_SRC_SW, sum);
    return 0;
}

static void bus_teardown(void *state) { free(state); }

static const struct workload bus_workload = {
    "bus", "test-only: reads a mapped file, truncated under it on request", NULL, 0,
    WORKLOAD_NEEDS_MODEL | WORKLOAD_ISOLATE, bus_setup, bus_run, NULL, bus_teardown, NULL, 0,
};

START_TEST(test_sweep_survives_sigbus_in_repetition)
{
    const char *dir = tu_tmpdir();
    char model[PATH_MAX], stream[PATH_MAX], src[PATH_MAX];
    copy_golden("shared-Q2_K.gguf", dir, model, sizeof model);
    snprintf(stream, sizeof stream, "%s/bus.jsonl", dir);
    trunc_ctl.path = model;
    trunc_ctl.bytes = tu_read_file(tu_golden_path(src, sizeof src, "shared-Q2_K.gguf"), &trunc_ctl.n);
    trunc_ctl.at = 1;
    trunc_ctl.in_child_truncate = 1;
    struct runner_opts o;
    memset(&o, 0, sizeof o);
    o.wl = &bus_workload;
    o.model_path = model;
    o.cache_dir = dir;
    o.repetitions = 3;
    o.seed = 1;
    o.stream_path = stream;
    o.skip_env = true;
    o.progress = truncating_progress;
    struct runner_summary sum;
    char err[1024];
    ck_assert_msg(runner_run(&o, &sum, err, sizeof err) == 0, "%s", err);
    ck_assert(sum.complete);
    ck_assert_int_eq(sum.reps_failed, 1);
    struct sweep_view v;
    read_sweep(stream, &v);
    ck_assert_int_eq(v.n, 3);
    ck_assert(v.rep_ok[0] && v.has_touch[0]);
    ck_assert(!v.rep_ok[1]);
    if (!SANITIZED || strstr(v.error[1], "signal"))
        ck_assert_msg(strstr(v.error[1], "SIGBUS") && strstr(v.error[1], "truncated"), "%s", v.error[1]);
    ck_assert(v.rep_ok[2] && v.has_touch[2]);
    free(trunc_ctl.bytes);
    trunc_ctl.in_child_truncate = 0;
}
END_TEST

/* A SIGBUS in `ggperf run` itself (a workload that is not isolated reading
 * a model truncated under it; sent here with kill): one line pointing at
 * the stream, exit 1, the stream whole, and --resume finishes the sweep. */
START_TEST(test_run_sigbus_points_at_resume)
{
    const char *dir = tu_tmpdir();
    char stream[PATH_MAX], errfile[PATH_MAX];
    snprintf(stream, sizeof stream, "%s/s.jsonl", dir);
    snprintf(errfile, sizeof errfile, "%s/stderr", dir);
    setenv("GGPERF_CACHE", dir, 1);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644), nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(fd, 2);
        execl(tu_ggperf_bin(), "ggperf", "run", "sleep", "--us", "100000", "-r", "6", "--warmup", "0", "--stream",
              stream, (char *)NULL);
        _exit(127);
    }
    /* header + one sample on disk */
    for (int i = 0; i < 2000; i++) {
        size_t n;
        char *text = tu_read_file(stream, &n);
        int lines = text ? tu_count_lines(text) : 0;
        free(text);
        if (lines >= 2)
            break;
        usleep(5000);
    }
    kill(pid, SIGBUS);
    int status;
    waitpid(pid, &status, 0);
    size_t n;
    char *text = tu_read_file(errfile, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, text);
    ck_assert_msg(strstr(text, "SIGBUS") && strstr(text, "--resume") && strstr(text, stream), "%s", text);
    free(text);
    text = tu_read_file(stream, &n);
    ck_assert(text && n > 0 && text[n - 1] == '\n');
    int before = tu_count_lines(text) - 1;
    free(text);
    ck_assert_int_ge(before, 1);
    ck_assert_int_lt(before, 6);
    char cmd[2 * PATH_MAX], err[4096];
    snprintf(cmd, sizeof cmd, "%s run --resume %s -o csv", tu_ggperf_bin(), stream);
    ck_assert_msg(tu_run(cmd, NULL, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(harden_stream_samples(stream), 6);
}
END_TEST

Suite *harden_suite(void)
{
    Suite *s = suite_create("harden");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sigbus_guard_session);
    tcase_add_test(tc, test_sigbus_guard_only_its_mapping);
    tcase_add_test(tc, test_sweep_survives_truncated_model);
    tcase_add_test(tc, test_sweep_survives_sigbus_in_repetition);
    tcase_add_test(tc, test_run_sigbus_points_at_resume);
    suite_add_tcase(s, tc);
    return s;
}
