/* sched_tracefs — the sched backend's (ctr_sched.c) view of tracefs: where
 * it is mounted, the ids of the three sched tracepoints and the offsets of
 * their fields in a raw record (parsed from each tracepoint's format file),
 * and the online CPUs to open them on. Apart from ctr_sched.c because it
 * only reads text files; the perf events, rings and latencies stay there.
 * Not a backend of its own (those are listed in ctr_backends.c). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/counters/ctr_impl.h"
#include "harness/counters/ctr_sched_impl.h"
#include "harness/machine/sysfs.h"

const char *const sched_tp_names[TP_N] = { "sched_switch", "sched_wakeup", "sched_wakeup_new" };
static const char *const tp_fields[TP_N] = { "next_pid", "pid", "pid" };

/* ---- tracefs ----------------------------------------------------------- */

int ctr_tracefs_dir(char *buf, size_t len, char *why, size_t why_len)
{
    static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
    int first_errno = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[PATH_MAX + 64], dir[PATH_MAX];
        /* under sysfs_root(): a test's fake tree stands for a mounted or unmounted tracefs */
        if (sysfs_path(dirs[i], dir, sizeof dir) != 0)
            continue;
        snprintf(path, sizeof path, "%s/events/sched/sched_switch/id", dir);
        if (access(path, R_OK) == 0) {
            snprintf(buf, len, "%s", dir);
            if (why_len)
                why[0] = '\0';
            return 0;
        }
        if (!first_errno && errno != ENOENT)
            first_errno = errno;
    }
    if (first_errno) {
        char what[96];
        snprintf(what, sizeof what, "read %s/events/sched/sched_switch/id", dirs[0]);
        ctr_reason(why, why_len, what, first_errno, "tracefs is readable by root only");
        return first_errno == EACCES || first_errno == EPERM ? CTR_EPERM : CTR_EUNSUPPORTED;
    }
    char d0[PATH_MAX];
    if (sysfs_path(dirs[0], d0, sizeof d0) != 0)
        snprintf(d0, sizeof d0, "%s", dirs[0]);
    snprintf(why, why_len, "tracefs not mounted (no %s/events; as root: mount -t tracefs nodev %s)", d0, dirs[0]);
    return CTR_EUNSUPPORTED;
}

int ctr_tp_field(const char *text, const char *name, int *offset, int *size)
{
    size_t nlen = strlen(name);
    for (const char *p = strstr(text, "field:"); p; p = strstr(p + 1, "field:")) {
        const char *semi = strchr(p, ';');
        const char *eol = strchr(p, '\n');
        if (!semi || (eol && semi > eol))
            continue;
        /* the declaration's last identifier ("pid_t pid", "char comm[16]") */
        const char *end = semi;
        const char *br = memchr(p, '[', (size_t)(semi - p));
        if (br)
            end = br;
        const char *start = end;
        while (start > p && start[-1] != ' ' && start[-1] != ':')
            start--;
        if ((size_t)(end - start) != nlen || memcmp(start, name, nlen) != 0)
            continue;
        const char *o = strstr(semi, "offset:"), *z = strstr(semi, "size:");
        if (!o || !z || (eol && (o > eol || z > eol)))
            return CTR_ECORRUPT;
        char *e1, *e2;
        errno = 0;
        long off = strtol(o + 7, &e1, 10), sz = strtol(z + 5, &e2, 10);
        if (errno || e1 == o + 7 || e2 == z + 5 || off < 0 || off > INT_MAX || sz < 0 || sz > INT_MAX)
            return CTR_ECORRUPT;
        *offset = (int)off;
        *size = (int)sz;
        return 0;
    }
    return CTR_ECORRUPT;
}

static int read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, len - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        if (used + 1 >= len)
            break;
    }
    close(fd);
    buf[used] = '\0';
    return (int)used;
}

/* ids and field offsets of the three tracepoints. */
int sched_tp_lookup(int ids[TP_N], int offs[TP_N], int *prev_off, char *why, size_t why_len)
{
    char dir[64];
    int rc = ctr_tracefs_dir(dir, sizeof dir, why, why_len);
    if (rc)
        return rc;
    for (int i = 0; i < TP_N; i++) {
        char path[160], text[8192];
        snprintf(path, sizeof path, "%s/events/sched/%s/id", dir, sched_tp_names[i]);
        int n = read_small(path, text, sizeof text);
        if (n <= 0) {
            ctr_reason(why, why_len, path, n < 0 ? -n : EIO, "");
            return CTR_EUNSUPPORTED;
        }
        char *end;
        errno = 0;
        long id = strtol(text, &end, 10);
        if (errno || end == text || id <= 0 || id > INT_MAX) {
            snprintf(why, why_len, "%s: '%.32s' is not a tracepoint id", path, text);
            return CTR_ECORRUPT;
        }
        ids[i] = (int)id;
        snprintf(path, sizeof path, "%s/events/sched/%s/format", dir, sched_tp_names[i]);
        n = read_small(path, text, sizeof text);
        int size = 0;
        if (n <= 0 || ctr_tp_field(text, tp_fields[i], &offs[i], &size) != 0 || size != 4) {
            snprintf(why, why_len, "%s: no 4-byte field '%s'", path, tp_fields[i]);
            return CTR_ECORRUPT;
        }
        if (i == TP_SWITCH && (ctr_tp_field(text, "prev_pid", prev_off, &size) != 0 || size != 4)) {
            snprintf(why, why_len, "%s: no 4-byte field 'prev_pid'", path);
            return CTR_ECORRUPT;
        }
    }
    return 0;
}

/* Online CPUs from /sys/devices/system/cpu/online ("0-3,6"). */
int sched_online_cpus(int **out)
{
    char text[1024];
    char online[PATH_MAX];
    int n = sysfs_path("/sys/devices/system/cpu/online", online, sizeof online) == 0
                ? read_small(online, text, sizeof text) : -1;
    int cap = 64, k = 0;
    int *c = malloc((size_t)cap * sizeof *c);
    if (!c)
        return CTR_ENOMEM;
    if (n <= 0) {
        long m = sysconf(_SC_NPROCESSORS_ONLN);
        for (long i = 0; i < m && i < cap; i++)
            c[k++] = (int)i;
        *out = c;
        return k;
    }
    for (char *p = text; *p && *p != '\n';) {
        char *e;
        long a = strtol(p, &e, 10), b = a;
        if (e == p)
            break;
        if (*e == '-')
            b = strtol(e + 1, &e, 10);
        for (long i = a; i <= b; i++) {
            if (k == cap) {
                int *nc = realloc(c, (size_t)(cap *= 2) * sizeof *c);
                if (!nc) {
                    free(c);
                    return CTR_ENOMEM;
                }
                c = nc;
            }
            c[k++] = (int)i;
        }
        p = *e == ',' ? e + 1 : e;
    }
    *out = c;
    return k;
}
