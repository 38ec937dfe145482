/* backend_util — the helpers every counter backend (ctr_hw.c, ctr_sw.c,
 * ctr_sched.c) calls while it opens its part of a set, declared in
 * ctr_impl.h: perf_event_open and the reasons a failed open gets, and the
 * groups, words and metric definitions it adds to the set. Apart from ctr.c,
 * which is the set's own life cycle (open, read, delta, close, regions).
 * Not a backend of its own (those are listed in ctr_backends.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness/counters/ctr_impl.h"
#include "harness/machine/sysfs.h"

/* ---- helpers shared by the backends ------------------------------------ */

int ctr_perf_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags)
{
    return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

int ctr_paranoid(void)
{
    FILE *f = sysfs_fopen("/proc/sys/kernel/perf_event_paranoid");
    int v = INT32_MIN;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = INT32_MIN;
        fclose(f);
    }
    return v;
}

int ctr_perf_event_paranoid(void)
{
    return ctr_paranoid();
}

void ctr_perf_hint(char *buf, size_t len, int e, bool hardware, int need_paranoid)
{
    buf[0] = '\0';
    if (e == EACCES || e == EPERM) {
        int p = ctr_paranoid();
        if (p == INT32_MIN)
            snprintf(buf, len, "no permission (perf_event_paranoid unreadable; need CAP_PERFMON)");
        else
            snprintf(buf, len, "perf_event_paranoid=%d (needs <= %d, or CAP_PERFMON)", p, need_paranoid);
    } else if (hardware && (e == ENOENT || e == ENODEV || e == EOPNOTSUPP)) {
        char why[128];
        if (!ctr_hw_pmu_present(why, sizeof why))
            snprintf(buf, len, "%s", why);
        else
            snprintf(buf, len, "event not supported by this PMU");
    } else if (e == EMFILE || e == ENFILE) {
        snprintf(buf, len, "too many open files (raise ulimit -n)");
    } else if (e == ENOSYS) {
        snprintf(buf, len, "kernel without perf events");
    }
}

void ctr_reason(char *buf, size_t len, const char *what, int e, const char *hint)
{
    const char *name = strerrorname_np(e);
    char h[160];
    if (!hint) {
        ctr_perf_hint(h, sizeof h, e, false, 1);
        hint = h;
    }
    snprintf(buf, len, "%s: %s%s%s", what, name ? name : "error", hint[0] ? ", " : "", hint);
}

int ctr_add_group(struct ctr_set *s, int fd, bool is_group)
{
    if (s->n_groups == s->cap_groups) {
        int cap = s->cap_groups ? 2 * s->cap_groups : 16;
        struct ctr_group *g = realloc(s->groups, (size_t)cap * sizeof *g);
        if (!g)
            return CTR_ENOMEM;
        s->groups = g;
        s->cap_groups = cap;
    }
    struct ctr_group *g = &s->groups[s->n_groups];
    memset(g, 0, sizeof *g);
    g->fd = fd;
    g->is_group = is_group;
    g->words = is_group ? 4 : 3; /* [nr, ena, run, leader] or [value, ena, run] */
    return s->n_groups++;
}

int ctr_group_add_member(struct ctr_set *s, int gi, int fd)
{
    struct ctr_group *g = &s->groups[gi];
    int *m = realloc(g->member_fds, (size_t)(g->n_members + 1) * sizeof *m);
    if (!m)
        return CTR_ENOMEM;
    g->member_fds = m;
    m[g->n_members++] = fd;
    g->words++;
    return 0;
}

struct ctr_mdef *ctr_add_def(struct ctr_set *s, const char *name, const char *unit, enum metric_source src)
{
    if (s->n_defs == s->cap_defs) {
        int cap = s->cap_defs ? 2 * s->cap_defs : 32;
        struct ctr_mdef *d = realloc(s->defs, (size_t)cap * sizeof *d);
        if (!d)
            return NULL;
        s->defs = d;
        s->cap_defs = cap;
    }
    struct ctr_mdef *d = &s->defs[s->n_defs++];
    memset(d, 0, sizeof *d);
    snprintf(d->m.name, sizeof d->m.name, "%s", name);
    d->m.unit = unit;
    d->m.source = src;
    d->m.status = METRIC_OK;
    d->m.running_fraction = 1.0;
    d->scale = 1.0;
    d->additive = true;
    return d;
}

int ctr_def_add_gm(struct ctr_set *s, int di, int g, int m)
{
    struct ctr_mdef *d = &s->defs[di];
    struct ctr_gm *gm = realloc(d->gm, (size_t)(d->ng + 1) * sizeof *gm);
    if (!gm)
        return CTR_ENOMEM;
    d->gm = gm;
    gm[d->ng].g = g;
    gm[d->ng].m = m;
    d->ng++;
    return 0;
}

size_t ctr_add_words(struct ctr_set *s, size_t n)
{
    size_t off = s->words;
    s->words += n;
    return off;
}

void ctr_defs_unsupported(struct ctr_set *s, int first, const char *reason)
{
    for (int i = first; i < s->n_defs; i++) {
        s->defs[i].m.status = METRIC_UNSUPPORTED;
        snprintf(s->defs[i].m.reason, sizeof s->defs[i].m.reason, "%s", reason);
    }
}
