/* testutil — helpers shared by the Check suites (see testutil.h). */
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_golden_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        const char *env = getenv("GGPERF_GOLDEN");
        if (env)
            snprintf(dir, sizeof dir, "%s", env);
        else if (!realpath("tests/golden", dir))
            snprintf(dir, sizeof dir, "tests/golden");
    }
    return dir;
}

const char *tu_golden_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tu_golden_dir(), name);
    return buf;
}

const char *tu_tmpdir(void)
{
    static char dirs[16][64];
    static int next;
    char *d = dirs[next++ % 16];
    snprintf(d, sizeof dirs[0], "/tmp/ggperf-test-XXXXXX");
    if (!mkdtemp(d))
        return "/tmp";
    return d;
}

const char *tu_ggperf_bin(void)
{
    const char *b = getenv("GGPERF_BIN");
    return b ? b : "build/ggperf";
}

static void slurp_fd(int fd, char *buf, size_t len)
{
    size_t used = 0;
    char sink[4096];
    for (;;) {
        ssize_t r;
        if (buf && used + 1 < len)
            r = read(fd, buf + used, len - 1 - used);
        else
            r = read(fd, sink, sizeof sink);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (buf && used + 1 < len)
            used += (size_t)r;
    }
    if (buf && len)
        buf[used] = '\0';
}

int tu_run(const char *cmd, char *out, size_t out_len, char *err, size_t err_len)
{
    char ofile[] = "/tmp/ggperf-run-out-XXXXXX", efile[] = "/tmp/ggperf-run-err-XXXXXX";
    int ofd = mkstemp(ofile), efd = mkstemp(efile);
    if (ofd < 0 || efd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    slurp_fd(ofd, out, out_len);
    slurp_fd(efd, err, err_len);
    close(ofd);
    close(efd);
    unlink(ofile);
    unlink(efile);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

void *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (buf && fread(buf, 1, n, f) != n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

struct metric tu_metric(const char *name, const char *unit, enum metric_source src, double v)
{
    struct metric m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    m.unit = unit;
    m.source = src;
    m.status = METRIC_OK;
    m.value = v;
    m.running_fraction = 1;
    return m;
}

struct metric tu_metric_unsup(const char *name, const char *unit, enum metric_source src, const char *why)
{
    struct metric m = tu_metric(name, unit, src, 0);
    m.status = METRIC_UNSUPPORTED;
    snprintf(m.reason, sizeof m.reason, "%s", why);
    return m;
}
