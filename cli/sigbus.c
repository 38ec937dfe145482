/* sigbus — the CLI's one-line answer to a model file truncated under its
 * mapping. The handler ends the process, so it lives here in the front end,
 * never in library code. */
#include "cli/sigbus.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- SIGBUS guard ------------------------------------------------------ */

/* The one guarded mapping. A signal handler can only reach it through a
 * static; fields change only while armed is 0. */
static struct {
    volatile sig_atomic_t armed;
    uintptr_t lo, hi;
    int fd;
    char path[PATH_MAX];
} guard;

/* Async-signal-safe appends for the handler's message. */
static size_t put_str(char *buf, size_t used, size_t cap, const char *s)
{
    while (*s && used + 1 < cap)
        buf[used++] = *s++;
    return used;
}

static size_t put_u64(char *buf, size_t used, size_t cap, uint64_t v)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && used + 1 < cap)
        buf[used++] = d[--n];
    return used;
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (guard.armed && si->si_code > 0 && a >= guard.lo && a < guard.hi) {
        char msg[PATH_MAX + 256];
        size_t n = 0, cap = sizeof msg;
        n = put_str(msg, n, cap, "ggperf: ");
        n = put_str(msg, n, cap, guard.path);
        n = put_str(msg, n, cap, ": the file changed while mapped (SIGBUS reading byte ");
        n = put_u64(msg, n, cap, (uint64_t)(a - guard.lo));
        n = put_str(msg, n, cap, " of the ");
        n = put_u64(msg, n, cap, (uint64_t)(guard.hi - guard.lo));
        n = put_str(msg, n, cap, " mapped");
        struct stat st;
        if (guard.fd >= 0 && fstat(guard.fd, &st) == 0) {
            n = put_str(msg, n, cap, "; the file now has ");
            n = put_u64(msg, n, cap, (uint64_t)st.st_size);
            n = put_str(msg, n, cap, " bytes");
        }
        n = put_str(msg, n, cap, "): was it truncated or rewritten by another process?\n");
        ssize_t w = write(2, msg, n);
        (void)w;
        _exit(1);
    }
    /* not the guarded mapping: the default action, as if never caught */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (si->si_code <= 0) /* sent, not a fault: returning would not repeat it */
        raise(sig);
}

void cli_guard_mapping(const char *path, int fd, const void *map, size_t bytes)
{
    guard.armed = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (!map || !bytes)
        return;
    snprintf(guard.path, sizeof guard.path, "%s", path ? path : "(model)");
    guard.fd = fd;
    guard.lo = (uintptr_t)map;
    guard.hi = (uintptr_t)map + bytes;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    guard.armed = 1;
}

void cli_guard_session(const struct session *s, const char *path)
{
    cli_guard_mapping(path, s->fd, s->map, s->map_bytes);
}

