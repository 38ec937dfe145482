/* ctr_sw — kernel software events and the /proc figures the kernel keeps
 * per thread.
 *
 * Per watched thread: one perf group led by context-switches with
 * cpu-migrations, minor and major faults, and task-clock on its own fd.
 * Task clock stays out of the group: read as a group member of an inherited
 * group, the kernel returned a fraction of the children's task time (seen
 * on Linux 6.18), while the swevent counters sum correctly.
 *
 * The voluntary/involuntary split is not a perf event: getrusage(RUSAGE_SELF)
 * for the whole process (all its threads, dead ones too), or
 * /proc/<tid>/status for a tid list.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/counters/ctr_impl.h"

static void sw_attr(struct perf_event_attr *a, uint64_t config, bool group, const struct ctr_set *s, bool leader)
{
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->type = PERF_TYPE_SOFTWARE;
    a->config = config;
    a->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING |
                     (group ? PERF_FORMAT_GROUP : 0);
    a->inherit = s ? s->inherit : 0;
    a->disabled = s && s->enable_on_exec && leader;
    a->enable_on_exec = s && s->enable_on_exec && leader;
}

bool ctr_sw_available(char *why, size_t why_len)
{
    struct perf_event_attr a;
    sw_attr(&a, PERF_COUNT_SW_TASK_CLOCK, false, NULL, true);
    int fd = ctr_perf_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        ctr_reason(why, why_len, "perf_event_open(task-clock)", errno, NULL);
        return false;
    }
    close(fd);
    if (why_len)
        why[0] = '\0';
    return true;
}

static const struct {
    uint64_t config;
    const char *event, *metric;
} group_events[] = {
    { PERF_COUNT_SW_CONTEXT_SWITCHES, "context-switches", "context_switches" },
    { PERF_COUNT_SW_CPU_MIGRATIONS, "cpu-migrations", "cpu_migrations" },
    { PERF_COUNT_SW_PAGE_FAULTS_MIN, "minor-faults", "minor_faults" },
    { PERF_COUNT_SW_PAGE_FAULTS_MAJ, "major-faults", "major_faults" },
};
#define N_GROUP_EVENTS (int)(sizeof group_events / sizeof group_events[0])

static int open_perf(struct ctr_set *s, int d_task, int d_group[N_GROUP_EVENTS])
{
    for (int t = 0; t < s->n_tids; t++) {
        int tid = s->tids[t];
        char what[80];
        /* task clock, alone */
        struct ctr_mdef *d = &s->defs[d_task];
        if (d->m.status == METRIC_OK) {
            struct perf_event_attr a;
            sw_attr(&a, PERF_COUNT_SW_TASK_CLOCK, false, s, true);
            int fd = ctr_perf_open(&a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
            if (fd < 0) {
                snprintf(what, sizeof what, "perf_event_open(task-clock) on tid %d", tid);
                ctr_reason(d->m.reason, sizeof d->m.reason, what, errno, NULL);
                d->m.status = METRIC_UNSUPPORTED;
            } else {
                int gi = ctr_add_group(s, fd, false);
                if (gi < 0) {
                    close(fd);
                    return CTR_ENOMEM;
                }
                if (ctr_def_add_gm(s, d_task, gi, 0) != 0)
                    return CTR_ENOMEM;
            }
        }
        /* the group */
        int gi = -1;
        for (int i = 0; i < N_GROUP_EVENTS; i++) {
            d = &s->defs[d_group[i]];
            if (d->m.status != METRIC_OK)
                continue;
            struct perf_event_attr a;
            sw_attr(&a, group_events[i].config, true, s, gi < 0);
            int fd = ctr_perf_open(&a, tid, -1, gi < 0 ? -1 : s->groups[gi].fd, PERF_FLAG_FD_CLOEXEC);
            if (fd < 0) {
                snprintf(what, sizeof what, "perf_event_open(%s) on tid %d", group_events[i].event, tid);
                ctr_reason(d->m.reason, sizeof d->m.reason, what, errno, NULL);
                d->m.status = METRIC_UNSUPPORTED;
                continue;
            }
            int m = 0;
            if (gi < 0) {
                gi = ctr_add_group(s, fd, true);
                if (gi < 0) {
                    close(fd);
                    return CTR_ENOMEM;
                }
            } else {
                if (ctr_group_add_member(s, gi, fd) != 0) {
                    close(fd);
                    return CTR_ENOMEM;
                }
                m = s->groups[gi].n_members;
            }
            if (ctr_def_add_gm(s, d_group[i], gi, m) != 0)
                return CTR_ENOMEM;
        }
    }
    return 0;
}

/* /proc/self/task/<tid>/<file>, else /proc/<tid>/<file> (a foreign task). */
int ctr_proc_open(int tid, const char *file)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(path, sizeof path, "/proc/%d/%s", tid, file);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    return fd;
}

static int sw_open(struct ctr_set *s)
{
    int d_task, d_group[N_GROUP_EVENTS], d_vol, d_invol;
    struct ctr_mdef *d;
    d_task = s->n_defs;
    if (!(d = ctr_add_def(s, "task_clock_ns", "ns", METRIC_SRC_SW)))
        return CTR_ENOMEM;
    d->kind = CTR_MK_PERF;
    d_group[0] = s->n_defs;
    if (!(d = ctr_add_def(s, group_events[0].metric, "count", METRIC_SRC_SW)))
        return CTR_ENOMEM;
    d->kind = CTR_MK_PERF;
    d_vol = s->n_defs;
    if (!(d = ctr_add_def(s, "voluntary_switches", "count", METRIC_SRC_SW)))
        return CTR_ENOMEM;
    d->kind = CTR_MK_WORD;
    d_invol = s->n_defs;
    if (!(d = ctr_add_def(s, "involuntary_switches", "count", METRIC_SRC_SW)))
        return CTR_ENOMEM;
    d->kind = CTR_MK_WORD;
    for (int i = 1; i < N_GROUP_EVENTS; i++) {
        d_group[i] = s->n_defs;
        if (!(d = ctr_add_def(s, group_events[i].metric, "count", METRIC_SRC_SW)))
            return CTR_ENOMEM;
        d->kind = CTR_MK_PERF;
    }
    if (open_perf(s, d_task, d_group) != 0)
        return CTR_ENOMEM;

    /* voluntary / involuntary */
    if (s->process_mode || s->no_rusage) {
        s->have_rusage = true;
        s->rusage_off = ctr_add_words(s, 2);
        s->defs[d_vol].off0 = s->rusage_off;
        s->defs[d_invol].off0 = s->rusage_off + 1;
        s->defs[d_vol].n = s->defs[d_invol].n = 1;
    } else if (!s->cfg.thread_stats) {
        const char *r = "disabled: the split of a tid list needs /proc/<tid>/status reads (thread_stats off)";
        for (int k = d_vol; k <= d_invol; k++) {
            s->defs[k].m.status = METRIC_UNSUPPORTED;
            snprintf(s->defs[k].m.reason, sizeof s->defs[k].m.reason, "%s", r);
        }
    } else {
        s->status_fds = malloc((size_t)s->n_tids * sizeof *s->status_fds);
        if (!s->status_fds)
            return CTR_ENOMEM;
        for (int t = 0; t < s->n_tids; t++)
            s->status_fds[t] = -1;
        s->status_off = ctr_add_words(s, 2 * (size_t)s->n_tids);
        for (int t = 0; t < s->n_tids; t++) {
            s->status_fds[t] = ctr_proc_open(s->tids[t], "status");
            if (s->status_fds[t] < 0) {
                char what[64];
                snprintf(what, sizeof what, "open /proc/%d/status", s->tids[t]);
                for (int k = d_vol; k <= d_invol; k++) {
                    ctr_reason(s->defs[k].m.reason, sizeof s->defs[k].m.reason, what, errno, "");
                    s->defs[k].m.status = METRIC_UNSUPPORTED;
                }
            }
        }
        s->have_status = true;
        s->defs[d_vol].off0 = s->status_off;
        s->defs[d_invol].off0 = s->status_off + 1;
        s->defs[d_vol].stride = s->defs[d_invol].stride = 2;
        s->defs[d_vol].n = s->defs[d_invol].n = s->n_tids;
    }
    return 0;
}

static bool parse_field(const char *text, const char *key, uint64_t *out)
{
    const char *p = strstr(text, key);
    if (!p)
        return false;
    *out = strtoull(p + strlen(key), NULL, 10);
    return true;
}

int ctr_sw_read_proc(struct ctr_set *s, uint64_t *v)
{
    int rc = 0;
    char buf[4096];
    for (int t = 0; t < s->n_tids; t++) {
        if (s->have_status && s->status_fds[t] >= 0) {
            ssize_t n = pread(s->status_fds[t], buf, sizeof buf - 1, 0);
            uint64_t vol, invol;
            size_t w = s->status_off + 2 * (size_t)t;
            if (n > 0) {
                buf[n] = '\0';
                /* "\nnonvoluntary_..." contains "voluntary_...": anchor both at a line start. */
                if (parse_field(buf, "\nvoluntary_ctxt_switches:", &vol) &&
                    parse_field(buf, "\nnonvoluntary_ctxt_switches:", &invol)) {
                    v[w] = vol;
                    v[w + 1] = invol;
                } else {
                    rc = CTR_EIO;
                    v[w] = s->last[w];
                    v[w + 1] = s->last[w + 1];
                }
            } else {
                rc = CTR_EIO;
                v[w] = s->last[w];
                v[w + 1] = s->last[w + 1];
            }
        }
        if (s->have_schedstat && s->schedstat_fds[t] >= 0) {
            /* "run_ns wait_ns timeslices": the second is the run-queue wait */
            ssize_t n = pread(s->schedstat_fds[t], buf, 127, 0);
            size_t w = s->schedstat_off + (size_t)t;
            unsigned long long run, wait;
            if (n > 0) {
                buf[n] = '\0';
                if (sscanf(buf, "%llu %llu", &run, &wait) == 2)
                    v[w] = wait;
                else {
                    v[w] = s->last[w];
                    rc = CTR_EIO;
                }
            } else {
                v[w] = s->last[w];
                rc = CTR_EIO;
            }
        }
    }
    return rc;
}

/* Voluntary/involuntary switches of the whole process (process mode). */
static int sw_read(struct ctr_set *s, uint64_t *v)
{
    if (s->have_rusage && !s->no_rusage) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) {
            v[s->rusage_off] = (uint64_t)ru.ru_nvcsw;
            v[s->rusage_off + 1] = (uint64_t)ru.ru_nivcsw;
        }
    }
    return 0;
}

const struct ctr_backend ctr_backend_sw = {
    .name = "sw",
    .describe = ctr_sw_available,
    .open = sw_open,
    .read = sw_read,
};
