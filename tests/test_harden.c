/* harden suite: hostile files, faults and concurrency, with nothing lost.
 *
 *   mapped file truncated   a SIGBUS on the model mapping is one line and exit 1
 *                           in the CLI (session_guard); a sweep records the
 *                           repetition as failed, names the cause and goes on,
 *                           keeping everything measured before
 *   full disk               RLIMIT_FSIZE (SIGXFSZ ignored) and /dev/full: the
 *                           stream keeps whole lines and resumes, a view that
 *                           cannot be rewritten leaves the previous file
 *                           byte-identical, synth and logits -o leave nothing
 *                           half-written; every message says what happened
 *   input limits            files claiming huge counts, sizes or nesting are
 *                           refused by info and logits in a 256 MB address
 *                           space; info's memory is bounded by the file
 *   CLI                     every subcommand refuses unknown flags, bad numbers
 *                           and missing values with exit 2 naming the flag
 *   output paths            nothing ggperf did not create is overwritten
 *                           without --force
 *
 * The fuzz regression inputs run in their own suites (test_harden_fuzz_*.c).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/sigbus.h"
#include "engine/gguf.h"
#include "results/results.h"
#include "harness/run/runner.h"
#include "harness/run/session.h"
#include "tests/gguf_fixture.h"
#include "tests/testutil.h"
#include "workloads/registry.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1 /* shadow memory: no RLIMIT_AS, and the sanitizer may catch a SIGBUS first */
#else
#define SANITIZED 0
#endif

/* ---- helpers ------------------------------------------------------------- */

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

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Files in dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static bool same_bytes(const char *path, const void *want, size_t want_len)
{
    size_t n;
    void *got = tu_read_file(path, &n);
    bool same = got && n == want_len && memcmp(got, want, n) == 0;
    free(got);
    return same;
}

struct limits {
    rlim_t fsize;   /* RLIMIT_FSIZE bytes, SIGXFSZ ignored; 0: none */
    rlim_t as;      /* RLIMIT_AS bytes; 0: none (always none under a sanitizer) */
};

struct proc {
    int status;         /* exit status, 128 + signal, or -1 */
    long maxrss_kb;
    char out[16384], err[16384];
};

/* Run argv (argv[0] a path, NULL-terminated) under the limits with stdout
 * and stderr captured (truncated to the buffers). */
static void spawn(const char *const *argv, const struct limits *lim, struct proc *p)
{
    memset(p, 0, sizeof *p);
    char ofile[] = "/tmp/ggperf-harden-out-XXXXXX", efile[] = "/tmp/ggperf-harden-err-XXXXXX";
    int ofd = mkstemp(ofile), efd = mkstemp(efile);
    ck_assert(ofd >= 0 && efd >= 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        if (lim && lim->fsize) {
            signal(SIGXFSZ, SIG_IGN); /* inherited across exec: a write fails with EFBIG instead */
            struct rlimit rl = { lim->fsize, lim->fsize };
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        if (lim && lim->as && !SANITIZED) {
            struct rlimit rl = { lim->as, lim->as };
            setrlimit(RLIMIT_AS, &rl);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    p->maxrss_kb = ru.ru_maxrss;
    p->status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    ssize_t r;
    lseek(ofd, 0, SEEK_SET);
    r = read(ofd, p->out, sizeof p->out - 1);
    p->out[r > 0 ? r : 0] = '\0';
    lseek(efd, 0, SEEK_SET);
    r = read(efd, p->err, sizeof p->err - 1);
    p->err[r > 0 ? r : 0] = '\0';
    close(ofd);
    close(efd);
    unlink(ofile);
    unlink(efile);
}

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
    ck_assert_int_eq(count_lines(text), 1);
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
        int lines = text ? count_lines(text) : 0;
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
    int before = count_lines(text) - 1;
    free(text);
    ck_assert_int_ge(before, 1);
    ck_assert_int_lt(before, 6);
    char cmd[2 * PATH_MAX], err[4096];
    snprintf(cmd, sizeof cmd, "%s run --resume %s -o csv", tu_ggperf_bin(), stream);
    ck_assert_msg(tu_run(cmd, NULL, 0, err, sizeof err) == 0, "%s", err);
    struct results_reader *r;
    ck_assert_msg(results_reader_open(&r, stream, err, sizeof err) == 0, "%s", err);
    json_t *s;
    int got = 0;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        got++;
        json_decref(s);
    }
    ck_assert_int_eq(got, 6);
    ck_assert(results_reader_complete(r));
    results_reader_close(r);
}
END_TEST

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
    ck_assert_int_eq(count_lines(text), 4); /* header + 3 samples */
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
    struct results_reader *r;
    ck_assert_msg(results_reader_open(&r, stream, err, sizeof err) == 0, "%s", err);
    json_t *s;
    int got = 0;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        got++;
        json_decref(s);
    }
    ck_assert_int_eq(got, 8);
    ck_assert_uint_eq(results_reader_duplicates(r), 0);
    ck_assert(results_reader_complete(r));
    results_reader_close(r);
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
    ck_assert_int_eq(count_lines(p->err), 1);
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

/* ---- 5. input limits ----------------------------------------------------------- */

enum { HOSTILE_TENSOR_PAST_END, HOSTILE_KV_2_40, HOSTILE_TENSORS_2_40, HOSTILE_NESTED_DEEP, HOSTILE_NESTED_HUGE,
       HOSTILE_VOCAB_2_31, HOSTILE_STRING_2_62, HOSTILE_COUNT };
static const char *const hostile_names[HOSTILE_COUNT] = {
    "tensor-past-end", "n_kv-2^40", "n_tensors-2^40", "nested-1000-deep", "nested-2^40-arrays",
    "vocab-2^31", "string-2^62",
};

static void hostile_file(int kind, struct gfx *b)
{
    struct gfx_small at;
    switch (kind) {
    case HOSTILE_TENSOR_PAST_END:
        gfx_small(b, 3, &at);
        gfx_patch_u64(b, at.tensor_ne0_at[0], 1ull << 40); /* 2^40 x 2 floats in a file of ~500 bytes */
        return;
    case HOSTILE_KV_2_40:
        gfx_small(b, 3, &at);
        gfx_patch_u64(b, at.n_kv_at, 1ull << 40);
        return;
    case HOSTILE_TENSORS_2_40:
        gfx_small(b, 3, &at);
        gfx_patch_u64(b, at.n_tensors_at, 1ull << 40);
        return;
    case HOSTILE_NESTED_DEEP:
    case HOSTILE_NESTED_HUGE:
        gfx_init(b);
        gfx_header(b, 3, 0, 2);
        gfx_kv_str(b, "general.architecture", "llama");
        if (kind == HOSTILE_NESTED_DEEP) {
            gfx_kv_arr_begin(b, "deep", GGUF_VT_ARRAY, 1);
            for (int i = 0; i < 1000; i++) {
                gfx_u32(b, GGUF_VT_ARRAY);
                gfx_u64(b, 1);
            }
            gfx_u32(b, GGUF_VT_UINT8);
            gfx_u64(b, 1);
            gfx_u8(b, 7);
        } else {
            gfx_kv_arr_begin(b, "wide", GGUF_VT_ARRAY, 1ull << 40);
            for (int i = 0; i < 4; i++) {
                gfx_u32(b, GGUF_VT_UINT8);
                gfx_u64(b, 1ull << 40);
            }
        }
        return;
    case HOSTILE_VOCAB_2_31:
        gfx_init(b);
        gfx_header(b, 3, 0, 3);
        gfx_kv_str(b, "general.architecture", "llama");
        gfx_kv_str(b, "tokenizer.ggml.model", "llama");
        gfx_kv_arr_begin(b, "tokenizer.ggml.tokens", GGUF_VT_STRING, 1ull << 31);
        for (int i = 0; i < 16; i++)
            gfx_str(b, "tok");
        return;
    default:
        gfx_init(b);
        gfx_header(b, 3, 0, 1);
        gfx_u64(b, 1ull << 62); /* the key's length */
        gfx_bytes(b, "general.architecture", 20);
        return;
    }
}

/* An empty array of arrays is 2 deep: as the innermost of 8 levels it would
 * make the value 9 deep, past GGUF_MAX_ARRAY_DEPTH (fuzz finding); one
 * level up it is accepted at exactly the maximum. */
START_TEST(test_gguf_empty_array_of_arrays_depth)
{
    for (int outer = GGUF_MAX_ARRAY_DEPTH - 2; outer <= GGUF_MAX_ARRAY_DEPTH - 1; outer++) {
        struct gfx b;
        gfx_init(&b);
        gfx_header(&b, 3, 0, 1);
        gfx_str(&b, "deep");
        gfx_u32(&b, GGUF_VT_ARRAY);
        for (int i = 0; i < outer; i++) {
            gfx_u32(&b, GGUF_VT_ARRAY);
            gfx_u64(&b, 1);
        }
        gfx_u32(&b, GGUF_VT_ARRAY); /* the innermost: an array of arrays, empty */
        gfx_u64(&b, 0);
        struct gguf g;
        char err[512];
        int rc = gguf_open_alloc(&g, b.buf, b.len, err, sizeof err);
        if (outer == GGUF_MAX_ARRAY_DEPTH - 1) {
            ck_assert_int_eq(rc, GGUF_ELIMIT);
            ck_assert_msg(strstr(err, "nested deeper than 8"), "%s", err);
        } else {
            ck_assert_msg(rc == GGUF_OK, "%s", err);
            struct gguf_array a;
            ck_assert_int_eq(gguf_get_arr(&g, "deep", &a, NULL, 0), GGUF_OK);
            ck_assert_uint_eq(a.depth, GGUF_MAX_ARRAY_DEPTH);
            gguf_close(&g);
        }
        gfx_free(&b);
    }
}
END_TEST

/* info and logits refuse each hostile file with one line and exit 1, in
 * a 256 MB address space (a large allocation would fail visibly), using
 * little memory. */
START_TEST(test_hostile_claims_refused_small)
{
    const char *dir = tu_tmpdir();
    struct proc *p = malloc(sizeof *p);
    struct limits lim = { 0, (rlim_t)256 << 20 };
    for (int k = 0; k < HOSTILE_COUNT; k++) {
        struct gfx b;
        hostile_file(k, &b);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.gguf", dir, hostile_names[k]);
        ck_assert_int_eq(tu_write_file(path, b.buf, b.len), 0);
        gfx_free(&b);
        const char *info[] = { tu_ggperf_bin(), "info", path, NULL };
        const char *logits[] = { tu_ggperf_bin(), "logits", "-m", path, "--tokens", "1", NULL };
        const char *const *cmds[] = { info, logits };
        for (int c = 0; c < 2; c++) {
            spawn(cmds[c], &lim, p);
            ck_assert_msg(p->status == 1, "%s %s: exit %d: %s", cmds[c][1], hostile_names[k], p->status, p->err);
            ck_assert_msg(count_lines(p->err) == 1 && strstr(p->err, path), "%s %s: %s", cmds[c][1],
                          hostile_names[k], p->err);
            if (!SANITIZED)
                ck_assert_msg(p->maxrss_kb < 64 * 1024, "%s %s: max RSS %ld kB", cmds[c][1], hostile_names[k],
                              p->maxrss_kb);
        }
    }
    free(p);
}
END_TEST

/* info on a file with 200k keys (the most entries per byte the format
 * allows) streams its output: peak memory is the mapping plus the index
 * plus a small constant, and it runs in a 256 MB address space. */
START_TEST(test_info_memory_bounded_by_file)
{
    const char *dir = tu_tmpdir();
    char small[PATH_MAX], big[PATH_MAX];
    struct gfx b;
    gfx_small(&b, 3, NULL);
    snprintf(small, sizeof small, "%s/small.gguf", dir);
    ck_assert_int_eq(tu_write_file(small, b.buf, b.len), 0);
    gfx_free(&b);
    enum { N_KEYS = 200000 };
    gfx_init(&b);
    gfx_header(&b, 3, 0, N_KEYS);
    for (int i = 0; i < N_KEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "%x", i);
        gfx_kv_bool(&b, key, (uint8_t)(i & 1));
    }
    size_t index = gguf_index_bytes(b.buf, b.len), size = b.len;
    snprintf(big, sizeof big, "%s/big.gguf", dir);
    ck_assert_int_eq(tu_write_file(big, b.buf, b.len), 0);
    gfx_free(&b);

    struct proc *p = malloc(sizeof *p);
    struct limits lim = { 0, (rlim_t)256 << 20 };
    const char *base[] = { tu_ggperf_bin(), "info", "--json", small, NULL };
    spawn(base, &lim, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    long base_kb = p->maxrss_kb;
    const char *cmd[] = { tu_ggperf_bin(), "info", "--json", big, NULL };
    spawn(cmd, &lim, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    long grew = (p->maxrss_kb - base_kb) * 1024;
    long bound = (long)(size + index) + (8l << 20) + (SANITIZED ? (long)(size + index) * 2 + (64l << 20) : 0);
    printf("info on %d keys: file %zu B, index %zu B, max RSS +%ld B (bound %ld)\n", N_KEYS, size, index, grew,
           bound);
    ck_assert_msg(grew <= bound, "info grew %ld bytes for a %zu-byte file with a %zu-byte index", grew, size, index);
    free(p);
}
END_TEST

/* ---- 6. the command line ---------------------------------------------------------- */

/* One row: the command (words; @G a golden model, @D a fresh directory)
 * and its numeric flags, each tried last on the line. */
struct cli_row {
    const char *base;
    const char *numeric[12];
};

static const struct cli_row cli_rows[] = {
    { "info @G", { NULL } },
    { "synth --shape tiny --type Q4_0 --dry-run",
      { "--seed", "--n-embd", "--n-ff", "--n-layer", "--n-head", "--n-head-kv", "--n-vocab", "--n-ctx",
        "--rope-base", "--rms-eps", NULL } },
    { "logits -m @G --tokens 1", { "--tokens", "-t", "--threads", "--ctx", "--batch", NULL } },
    { "generate -m @G -p hello", { "-n", "--seed", "--temp", "--top-p", "--top-k", "-t", "--ctx", "--batch", NULL } },
    { "bench -m @G", { "-t", "-p", "-n", "-r", "--ctx", "--batch", NULL } },
    { "probe", { "--touch-pages", "--sim-walk", NULL } },
    { "run sleep --stream @D/never.jsonl", { "-r", "--warmup", "--min-time", "--seed", "--us", NULL } },
    { "study metadata --stream @D/never.jsonl", { "-r", "--seed", NULL } },
    { "report @D/none.jsonl -o @D/report", { NULL } },
    { "import llama-bench @D/none.json", { NULL } },
    { "gate --baseline @D/a.json --current @D/b.json", { "--threshold", "--det-threshold", "--alpha", NULL } },
    { "baseline show --store @D/store.sqlite", { NULL } },
    { "version", { NULL } },
    { "completion bash", { NULL } },
    { "help", { NULL } },
};

static int split_words(const char *line, const char *golden, const char *dir, char *store, size_t store_len,
                       const char **argv, int max)
{
    int n = 0;
    size_t used = 0;
    for (const char *p = line; *p && n < max;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " ");
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)len, p);
        char *at = store + used;
        int w;
        if (strcmp(word, "@G") == 0)
            w = snprintf(at, store_len - used, "%s", golden);
        else if (strncmp(word, "@D", 2) == 0)
            w = snprintf(at, store_len - used, "%s%s", dir, word + 2);
        else
            w = snprintf(at, store_len - used, "%s", word);
        ck_assert(w > 0 && (size_t)w < store_len - used);
        used += (size_t)w + 1;
        argv[n++] = at;
        p += len;
    }
    return n;
}

static void expect_usage(const char *const *argv, const char *flag, struct proc *p)
{
    spawn(argv, NULL, p);
    char line[1024] = "";
    for (int i = 0; argv[i]; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "", i ? argv[i] : "ggperf");
    ck_assert_msg(p->status == 2, "`%s`: exit %d (want 2): %s", line, p->status, p->err);
    ck_assert_msg(strstr(p->err, flag) != NULL, "`%s`: the message does not name %s: %s", line, flag, p->err);
    ck_assert_msg(strncmp(p->err, "ggperf: ", 8) == 0, "`%s`: %s", line, p->err);
}

START_TEST(test_cli_rejects_bad_flags_and_numbers)
{
    const char *dir = tu_tmpdir();
    char golden[PATH_MAX];
    tu_golden_path(golden, sizeof golden, "shared-Q4_0.gguf");
    struct proc *p = malloc(sizeof *p);
    static const char *const bad[] = { "abc", "1x", "-1", "99999999999999999999" };
    int rows = 0, cases = 0;
    for (size_t r = 0; r < sizeof cli_rows / sizeof cli_rows[0]; r++) {
        const struct cli_row *row = &cli_rows[r];
        char store[4096];
        const char *argv[32];
        argv[0] = tu_ggperf_bin();
        int n = 1 + split_words(row->base, golden, dir, store, sizeof store, argv + 1, 24);
        /* an unknown flag, at the end and right after the subcommand */
        argv[n] = "--no-such-flag";
        argv[n + 1] = NULL;
        expect_usage(argv, "--no-such-flag", p);
        const char *early[] = { argv[0], argv[1], "--no-such-flag", NULL };
        expect_usage(early, "--no-such-flag", p);
        cases += 2;
        for (int f = 0; row->numeric[f]; f++) {
            const char *flag = row->numeric[f];
            for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                argv[n] = flag;
                argv[n + 1] = bad[k];
                argv[n + 2] = NULL;
                expect_usage(argv, flag, p);
                cases++;
            }
            argv[n] = flag; /* the value missing */
            argv[n + 1] = NULL;
            expect_usage(argv, flag, p);
            cases++;
        }
        rows++;
    }
    printf("cli: %d subcommands, %d bad command lines, all exit 2 naming the flag\n", rows, cases);
    ck_assert_int_eq(count_prefixed(dir, "never"), 0); /* nothing was started */
    free(p);
}
END_TEST

/* ---- 7. output paths ------------------------------------------------------------------ */

START_TEST(test_outputs_never_overwrite_without_force)
{
    const char *dir = tu_tmpdir();
    char golden[PATH_MAX], path[PATH_MAX], stream[PATH_MAX], doc[PATH_MAX];
    tu_golden_path(golden, sizeof golden, "shared-Q4_0.gguf");
    static const char mine[] = "a file ggperf did not create";
    struct proc *p = malloc(sizeof *p);

    /* logits -o */
    snprintf(path, sizeof path, "%s/user.f32", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    const char *logits[] = { tu_ggperf_bin(), "logits", "-m", golden, "--tokens", "1,2", "-t", "1", "-o", path,
                             NULL, NULL };
    spawn(logits, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, path) && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));
    logits[10] = "--force";
    spawn(logits, NULL, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 2 * 1024 * 4);
    ck_assert_int_eq(count_prefixed(dir, "user.f32"), 1);

    /* synth -o */
    snprintf(path, sizeof path, "%s/user.gguf", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    const char *synth[] = { tu_ggperf_bin(), "synth", "--shape", "tiny", "--type", "Q4_0", "-o", path, NULL };
    spawn(synth, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));

    /* run --out, --stream and the STREAM.json document */
    snprintf(path, sizeof path, "%s/user.md", dir);
    snprintf(stream, sizeof stream, "%s/s.jsonl", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    const char *run[] = { tu_ggperf_bin(), "run", "sleep", "--us", "1", "-r", "1", "--warmup", "0", "--stream",
                          stream, "--out", path, NULL, NULL };
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, path) && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));
    ck_assert_int_eq(access(stream, F_OK), -1); /* refused before the sweep */
    snprintf(doc, sizeof doc, "%s/s.json", dir);
    ck_assert_int_eq(tu_write_file(doc, mine, sizeof mine), 0);
    run[11] = NULL; /* no --out: the document alone */
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, doc) && strstr(p->err, "--force"), "%d %s", p->status, p->err);
    ck_assert(same_bytes(doc, mine, sizeof mine));
    ck_assert_int_eq(access(stream, F_OK), -1);
    run[11] = "--out";
    run[13] = "--force";
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 0, "%s", p->err);
    ck_assert(!same_bytes(path, mine, sizeof mine));
    ck_assert(!same_bytes(doc, mine, sizeof mine));
    /* a new sweep never reuses a stream; a resumed one rewrites its own document */
    spawn(run, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, "--resume"), "%d %s", p->status, p->err);
    const char *resume[] = { tu_ggperf_bin(), "run", "--resume", stream, NULL };
    spawn(resume, NULL, p);
    ck_assert_msg(p->status == 0, "%s", p->err);

    /* import -o: a valid input is imported into a new file, an existing one is kept */
    char bench[PATH_MAX];
    static const char bench_json[] =
        "[{\"model\": \"m.gguf\", \"kernels\": \"avx2\", \"test\": \"tg4\", \"threads\": 1, \"n_tokens\": 4, "
        "\"tokens_per_s\": 10.0, \"stddev\": 0.1, \"median\": 10.0, \"samples\": [9.9, 10.1]}]\n";
    snprintf(bench, sizeof bench, "%s/bench.json", dir);
    ck_assert_int_eq(tu_write_file(bench, bench_json, strlen(bench_json)), 0);
    snprintf(path, sizeof path, "%s/imported.json", dir);
    const char *import[] = { tu_ggperf_bin(), "import", "ggperf-bench", bench, "-o", path, NULL };
    spawn(import, NULL, p);
    ck_assert_msg(p->status == 0, "import of a valid file: %s", p->err);
    snprintf(path, sizeof path, "%s/user.json", dir);
    ck_assert_int_eq(tu_write_file(path, mine, sizeof mine), 0);
    spawn(import, NULL, p);
    ck_assert_msg(p->status == 1 && strstr(p->err, "--force"), "import over %s: %d %s", path, p->status, p->err);
    ck_assert(same_bytes(path, mine, sizeof mine));
    free(p);
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
    tcase_add_test(tc, test_full_disk_views_keep_previous);
    tcase_add_test(tc, test_full_disk_stream_then_resume);
    tcase_add_test(tc, test_full_disk_synth_and_logits);
    tcase_add_test(tc, test_full_stdout_fails);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("limits");
    tcase_set_timeout(tl, 120);
    tcase_add_test(tl, test_gguf_empty_array_of_arrays_depth);
    tcase_add_test(tl, test_hostile_claims_refused_small);
    tcase_add_test(tl, test_info_memory_bounded_by_file);
    tcase_add_test(tl, test_cli_rejects_bad_flags_and_numbers);
    tcase_add_test(tl, test_outputs_never_overwrite_without_force);
    suite_add_tcase(s, tl);
    return s;
}
