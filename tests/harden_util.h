/* harden_util.h — what the harden suites share (tests/test_harden.c and
 * test_harden_{disk,input,cli}.c; the fuzz regression suites need none):
 * whether this is a sanitizer build, line and file counting, byte
 * comparison of a file, and running a command under file-size and
 * address-space limits with its output captured. Header-only and static
 * inline, so each suite keeps its own copy, as when the suites were one
 * file, and one that does not use a helper gets no warning for it. */
#ifndef GGPERF_TESTS_HARDEN_UTIL_H
#define GGPERF_TESTS_HARDEN_UTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results/results.h"
#include "tests/testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1 /* shadow memory: no RLIMIT_AS, and the sanitizer may catch a SIGBUS first */
#else
#define SANITIZED 0
#endif

/* ---- helpers ------------------------------------------------------------- */

/* The samples in a results stream, after checking that it reads back
 * complete (a header, samples, and the end marker). */
static inline int harden_stream_samples(const char *stream)
{
    struct results_reader *r;
    char err[512];
    ck_assert_msg(results_reader_open(&r, stream, err, sizeof err) == 0, "%s", err);
    json_t *s;
    int got = 0;
    while (results_reader_next(r, &s, err, sizeof err) == 1) {
        got++;
        json_decref(s);
    }
    ck_assert_uint_eq(results_reader_duplicates(r), 0);
    ck_assert(results_reader_complete(r));
    results_reader_close(r);
    return got;
}

/* Files in dir whose name starts with prefix. */
static inline int count_prefixed(const char *dir, const char *prefix)
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

static inline bool same_bytes(const char *path, const void *want, size_t want_len)
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
static inline void spawn(const char *const *argv, const struct limits *lim, struct proc *p)
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

#endif
