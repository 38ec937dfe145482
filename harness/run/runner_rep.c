/* runner_rep — one repetition of a sweep, apart from the sweep itself
 * (runner.c): the workload's run() in process, or (WORKLOAD_ISOLATE) in a
 * fresh child whose run() times and figures come back over a pipe, so a
 * crash or a SIGBUS costs that repetition, not the sweep. */
#include "harness/run/runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "harness/machine/clock.h"
#include "harness/run/runner_impl.h"

/* What an isolated child sends back. */
struct wire_head {
    int32_t rc;
    int32_t n;
    uint64_t t0, t1;
    char err[512];
};

static const char *intern_unit(struct ctx *c, const char *u)
{
    static const char *const known[] = { "ns", "count", "bytes", "fraction", "GB/s", "GFLOP/s", "tok/s", "bool",
                                         "ratio", "%", "B/token", "" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i], u) == 0)
            return known[i];
    for (int i = 0; i < c->n_units; i++)
        if (strcmp(c->units[i], u) == 0)
            return c->units[i];
    if (c->n_units == UNIT_POOL)
        return "?";
    snprintf(c->units[c->n_units], UNIT_LEN, "%s", u);
    return c->units[c->n_units++];
}

static int write_full(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t read_full(int fd, void *p, size_t n)
{
    char *b = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* One repetition in a fresh child. Returns the run's rc (negative: failed,
 * message in err); t0/t1 bracket run() on the shared monotonic clock. */
static int run_isolated(struct ctx *c, void *state, struct workload_sink *sink, uint64_t *t0, uint64_t *t1,
                        char *err, size_t err_len)
{
    int fds[2];
    if (pipe(fds) != 0)
        return err_fail(err, err_len, -1, "runner: pipe: %s", strerror(errno));
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return err_fail(err, err_len, -1, "runner: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        /* a crash must reach the runner as the signal it was, whatever
         * handler the caller (ggperf run) has for itself */
        signal(SIGBUS, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        /* the child owns a copy of the context: its buffers are free to use */
        struct workload_sink *csink = &c->child_sink;
        struct wire_metric *wm = c->wire;
        struct wire_head h;
        memset(&h, 0, sizeof h);
        csink->n = 0;
        h.t0 = clock_ns();
        h.rc = c->o->wl->run(state, csink, h.err, sizeof h.err);
        h.t1 = clock_ns();
        h.n = csink->n;
        memset(wm, 0, sizeof c->wire);
        for (int i = 0; i < csink->n; i++) {
            const struct metric *m = &csink->m[i];
            memcpy(wm[i].name, m->name, sizeof wm[i].name);
            snprintf(wm[i].unit, sizeof wm[i].unit, "%s", m->unit ? m->unit : "");
            wm[i].source = (int32_t)m->source;
            wm[i].status = (int32_t)m->status;
            wm[i].value = m->value;
            wm[i].running_fraction = m->running_fraction;
            memcpy(wm[i].reason, m->reason, sizeof wm[i].reason);
            wm[i].sem = m->sem;
        }
        int bad = write_full(fds[1], &h, sizeof h) || write_full(fds[1], wm, (size_t)h.n * sizeof wm[0]);
        _exit(bad ? 3 : 0);
    }
    close(fds[1]);
    struct wire_head h;
    struct wire_metric *wm = c->wire;
    size_t got = read_full(fds[0], &h, sizeof h);
    bool whole = got == sizeof h && h.n >= 0 && h.n <= WORKLOAD_MAX_METRICS &&
                 read_full(fds[0], wm, (size_t)h.n * sizeof wm[0]) == (size_t)h.n * sizeof wm[0];
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
        return err_fail(err, err_len, -1,
                    "repetition process killed by signal %d (SIGBUS, %s): a mapped file (the model?) was "
                    "truncated or rewritten by another process, or could not be read",
                    SIGBUS, strsignal(SIGBUS));
    if (WIFSIGNALED(status))
        return err_fail(err, err_len, -1, "repetition process killed by signal %d (%s)", WTERMSIG(status),
                    strsignal(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !whole)
        return err_fail(err, err_len, -1, "repetition process exited with status %d without a complete result",
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    *t0 = h.t0;
    *t1 = h.t1;
    sink->n = 0;
    for (int i = 0; i < h.n; i++) {
        struct metric *m = &sink->m[sink->n++];
        memset(m, 0, sizeof *m);
        memcpy(m->name, wm[i].name, sizeof m->name);
        m->name[sizeof m->name - 1] = '\0';
        wm[i].unit[UNIT_LEN - 1] = '\0';
        m->unit = intern_unit(c, wm[i].unit);
        m->source = (enum metric_source)wm[i].source;
        m->status = (enum metric_status)wm[i].status;
        m->value = wm[i].value;
        m->running_fraction = wm[i].running_fraction;
        memcpy(m->reason, wm[i].reason, sizeof m->reason);
        m->reason[sizeof m->reason - 1] = '\0';
        m->sem = wm[i].sem;
    }
    if (h.rc != 0) {
        h.err[sizeof h.err - 1] = '\0';
        return err_fail(err, err_len, h.rc < 0 ? h.rc : -1, "%s", h.err[0] ? h.err : "failed (no message)");
    }
    return 0;
}

/* Runs one repetition of configuration cfg into sink. */
int runner_run_one(struct ctx *c, int cfg, struct workload_sink *sink, uint64_t *t0, uint64_t *t1, char *err,
                   size_t err_len)
{
    sink->n = 0;
    err[0] = '\0';
    if (c->o->wl->flags & WORKLOAD_ISOLATE)
        return run_isolated(c, c->states[cfg], sink, t0, t1, err, err_len);
    *t0 = clock_ns();
    int rc = c->o->wl->run(c->states[cfg], sink, err, err_len);
    *t1 = clock_ns();
    if (rc != 0 && !err[0])
        snprintf(err, err_len, "failed (no message)");
    return rc;
}
