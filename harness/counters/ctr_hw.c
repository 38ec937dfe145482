/* ctr_hw — hardware events: names resolved by libpfm4, opened as one perf
 * group per watched thread (leader + members, PERF_FORMAT_GROUP with
 * enabled/running times, so one read() gives the whole group and the
 * multiplexing ratio), plus best-effort memory-controller events.
 *
 * This file takes struct perf_event_attr from libpfm4's header (it cannot
 * be mixed with <linux/perf_event.h>).
 */
#include <ctype.h>
#include <errno.h>
#include <perfmon/pfmlib_perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/counters/ctr_impl.h"
#include "harness/machine/sysfs.h"

const char *const ctr_hw_default_events[CTR_HW_DEFAULT_N] = {
    "cycles", "instructions", "L1-DCACHE-LOAD-MISSES", "LLC-LOAD-MISSES", "DTLB-LOAD-MISSES",
};
const char *const ctr_hw_default_metric_names[CTR_HW_DEFAULT_N] = {
    "cycles", "instructions", "l1d_load_misses", "llc_load_misses", "dtlb_load_misses",
};

static pthread_once_t pfm_once = PTHREAD_ONCE_INIT;
static int pfm_init_rc;

static void pfm_init(void)
{
    pfm_init_rc = pfm_initialize();
}

static int encode(const char *name, struct perf_event_attr *attr, char *fstr_buf, size_t fstr_len, char *err,
                  size_t err_len)
{
    pthread_once(&pfm_once, pfm_init);
    if (pfm_init_rc != PFM_SUCCESS) {
        snprintf(err, err_len, "libpfm4: pfm_initialize: %s", pfm_strerror(pfm_init_rc));
        return CTR_EUNSUPPORTED;
    }
    pfm_perf_encode_arg_t arg;
    char *fstr = NULL;
    memset(attr, 0, sizeof *attr);
    memset(&arg, 0, sizeof arg);
    arg.attr = attr;
    arg.size = sizeof arg;
    arg.fstr = fstr_buf ? &fstr : NULL;
    int rc = pfm_get_os_event_encoding(name, PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
    if (rc != PFM_SUCCESS) {
        snprintf(err, err_len, "libpfm4: event '%s': %s", name, pfm_strerror(rc));
        return CTR_EUNSUPPORTED;
    }
    attr->size = sizeof *attr;
    if (fstr_buf) {
        snprintf(fstr_buf, fstr_len, "%s", fstr ? fstr : name);
        free(fstr);
    }
    return 0;
}

int ctr_hw_encode(const char *name, struct ctr_hw_encoding *out, char *err, size_t err_len)
{
    if (!name || !out) {
        snprintf(err, err_len, "ctr_hw_encode: no event name");
        return CTR_EINVAL;
    }
    struct perf_event_attr attr;
    memset(out, 0, sizeof *out);
    int rc = encode(name, &attr, out->fstr, sizeof out->fstr, err, err_len);
    if (rc)
        return rc;
    out->type = attr.type;
    out->config = attr.config;
    out->config1 = attr.config1;
    out->config2 = attr.config2;
    return 0;
}

static pthread_once_t pmu_once = PTHREAD_ONCE_INIT;
static bool pmu_present;
static char pmu_why[128];   /* for ctr_hw_pmu_present */
static char pmu_short[96];  /* for the reasons of each event */

static void pmu_detect(void)
{
    static const char *const dirs[] = {
        "/sys/bus/event_source/devices/cpu", "/sys/bus/event_source/devices/cpu_core",
        "/sys/bus/event_source/devices/cpu_atom", "/sys/bus/event_source/devices/armv8_pmuv3_0",
    };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (sysfs_access(dirs[i], F_OK) == 0) {
            pmu_present = true;
            return;
        }
    /* No known sysfs name: ask the kernel directly. */
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_CPU_CYCLES;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    int fd = ctr_perf_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        pmu_present = true;
        return;
    }
    int e = errno;
    bool vm = false;
    FILE *f = sysfs_fopen("/proc/cpuinfo");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "flags", 5) == 0) {
                vm = strstr(line, " hypervisor") != NULL;
                break;
            }
        fclose(f);
    }
    const char *en = strerrorname_np(e);
    snprintf(pmu_why, sizeof pmu_why, "no PMU %s (no /sys/bus/event_source/devices/cpu; cycles: %s)",
             vm ? "in this VM" : "exposed by the kernel", en ? en : "error");
    snprintf(pmu_short, sizeof pmu_short, "no PMU %s (no /sys/bus/event_source/devices/cpu)",
             vm ? "in this VM" : "exposed by the kernel");
}

bool ctr_hw_pmu_present(char *why, size_t why_len)
{
    pthread_once(&pmu_once, pmu_detect);
    if (why && why_len)
        snprintf(why, why_len, "%s", pmu_present ? "" : pmu_why);
    return pmu_present;
}

void ctr_hw_pfm_pmu(char *buf, size_t len)
{
    buf[0] = '\0';
    pthread_once(&pfm_once, pfm_init);
    if (pfm_init_rc != PFM_SUCCESS)
        return;
    /* The first present core PMU (libpfm4 lists the most specific model;
     * the generic perf_events tables are of another type). */
    pfm_pmu_info_t info;
    for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; p++) {
        memset(&info, 0, sizeof info);
        info.size = sizeof info;
        if (pfm_get_pmu_info((pfm_pmu_t)p, &info) != PFM_SUCCESS || !info.is_present)
            continue;
        if (info.type != PFM_PMU_TYPE_CORE)
            continue;
        snprintf(buf, len, "%s (%s)", info.name, info.desc);
        return;
    }
}

/* Open one encoded event; returns the fd or -errno. */
static int open_attr(struct perf_event_attr *a, int tid, int cpu, int group_fd)
{
    int fd = ctr_perf_open(a, tid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

static void open_reason(char *buf, size_t len, const char *name, int e, int tid, bool show_tid, int need)
{
    char what[96], hint[160];
    if (show_tid)
        snprintf(what, sizeof what, "perf_event_open(%s) on tid %d", name, tid);
    else
        snprintf(what, sizeof what, "perf_event_open(%s)", name);
    if ((e == ENOENT || e == ENODEV || e == EOPNOTSUPP) && !ctr_hw_pmu_present(NULL, 0))
        snprintf(hint, sizeof hint, "%s", pmu_short);
    else
        ctr_perf_hint(hint, sizeof hint, e, true, need);
    ctr_reason(buf, len, what, e, hint);
}

int ctr_hw_try(const char *name, char *reason, size_t reason_len)
{
    struct perf_event_attr a;
    int rc = encode(name, &a, NULL, 0, reason, reason_len);
    if (rc)
        return rc;
    int fd = open_attr(&a, 0, -1, -1);
    if (fd < 0) {
        open_reason(reason, reason_len, name, -fd, 0, false, 2);
        return -fd == EACCES || -fd == EPERM ? CTR_EPERM : CTR_EUNSUPPORTED;
    }
    close(fd);
    if (reason_len)
        reason[0] = '\0';
    return 0;
}

static void metric_name(char *buf, size_t len, const char *event, int idx, bool defaults)
{
    if (defaults) {
        snprintf(buf, len, "%s", ctr_hw_default_metric_names[idx]);
        return;
    }
    /* "perf::L1-DCACHE-LOAD-MISSES" -> "l1_dcache_load_misses" */
    const char *p = strstr(event, "::");
    p = p ? p + 2 : event;
    size_t k = 0;
    for (; *p && k + 1 < len; p++)
        buf[k++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    buf[k] = '\0';
}

/* Memory-controller traffic: Intel IMC CAS counts through whatever uncore
 * PMUs libpfm4 finds present. System-wide (all processes), opened on CPU 0
 * (its socket). */
static int open_uncore(struct ctr_set *s)
{
    static const struct {
        const char *event, *metric;
    } want[] = {
        { "UNC_M_CAS_COUNT:RD", "mem_read_bytes" },
        { "UNC_M_CAS_COUNT:WR", "mem_write_bytes" },
    };
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int di = s->n_defs;
        struct ctr_mdef *d = ctr_add_def(s, want[w].metric, "bytes", METRIC_SRC_HW);
        if (!d)
            return CTR_ENOMEM;
        d->kind = CTR_MK_PERF;
        d->scale = 64.0; /* one CAS moves one 64-byte line */
        int found = 0, opened = 0, last_err = 0;
        char first_name[128] = "";
        pfm_pmu_info_t info;
        for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; p++) {
            memset(&info, 0, sizeof info);
            info.size = sizeof info;
            if (pfm_get_pmu_info((pfm_pmu_t)p, &info) != PFM_SUCCESS || !info.is_present ||
                info.type != PFM_PMU_TYPE_UNCORE)
                continue;
            char name[128], e2[128];
            struct perf_event_attr a;
            snprintf(name, sizeof name, "%s::%s", info.name, want[w].event);
            if (encode(name, &a, NULL, 0, e2, sizeof e2) != 0)
                continue;
            found++;
            if (!first_name[0])
                snprintf(first_name, sizeof first_name, "%s", name);
            a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
            a.exclude_kernel = 0; /* uncore events are not per privilege level */
            a.exclude_user = 0;
            a.exclude_hv = 0;
            int fd = open_attr(&a, -1, 0, -1);
            if (fd < 0) {
                last_err = -fd;
                continue;
            }
            int gi = ctr_add_group(s, fd, false);
            if (gi < 0) {
                close(fd);
                return CTR_ENOMEM;
            }
            if (ctr_def_add_gm(s, di, gi, 0) != 0)
                return CTR_ENOMEM;
            opened++;
        }
        d = &s->defs[di];
        if (!found) {
            ctr_defs_unsupported(s, di, "libpfm4 finds no memory-controller (uncore IMC) PMU on this machine");
        } else if (!opened) {
            char r[METRIC_REASON_MAX];
            open_reason(r, sizeof r, first_name, last_err, 0, false, 0);
            ctr_defs_unsupported(s, di, r);
        }
    }
    return 0;
}

static int hw_open(struct ctr_set *s)
{
    int n = s->n_hw;
    int first_def = s->n_defs;
    struct perf_event_attr *attrs = calloc((size_t)n, sizeof *attrs);
    bool *ok = calloc((size_t)n, sizeof *ok);
    int rc = CTR_ENOMEM;
    if (!attrs || !ok)
        goto out;
    /* The default list gets the short metric names; others are derived. */
    bool defaults = n == CTR_HW_DEFAULT_N;
    for (int i = 0; i < n && defaults; i++)
        if (strcmp(s->hw_names[i], ctr_hw_default_events[i]) != 0)
            defaults = false;

    for (int i = 0; i < n; i++) {
        char name[METRIC_NAME_MAX], why[METRIC_REASON_MAX];
        metric_name(name, sizeof name, s->hw_names[i], i, defaults);
        struct ctr_mdef *d = ctr_add_def(s, name, "count", METRIC_SRC_HW);
        if (!d)
            goto out;
        d->kind = CTR_MK_PERF;
        if (encode(s->hw_names[i], &attrs[i], NULL, 0, why, sizeof why) != 0) {
            d->m.status = METRIC_UNSUPPORTED;
            snprintf(d->m.reason, sizeof d->m.reason, "%s", why);
            continue;
        }
        ok[i] = true;
    }

    for (int t = 0; t < s->n_tids; t++) {
        int gi = -1;
        for (int i = 0; i < n; i++) {
            struct ctr_mdef *d = &s->defs[first_def + i];
            if (!ok[i] || d->m.status != METRIC_OK)
                continue;
            struct perf_event_attr a = attrs[i];
            a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
            a.inherit = s->inherit;
            a.disabled = gi < 0 && s->enable_on_exec;
            a.enable_on_exec = gi < 0 && s->enable_on_exec;
            int fd = open_attr(&a, s->tids[t], -1, gi < 0 ? -1 : s->groups[gi].fd);
            if (fd < 0) {
                open_reason(d->m.reason, sizeof d->m.reason, s->hw_names[i], -fd, s->tids[t], t > 0, 2);
                d->m.status = METRIC_UNSUPPORTED;
                continue;
            }
            int m;
            if (gi < 0) {
                gi = ctr_add_group(s, fd, true);
                if (gi < 0) {
                    close(fd);
                    goto out;
                }
                m = 0;
            } else {
                if (ctr_group_add_member(s, gi, fd) != 0) {
                    close(fd);
                    goto out;
                }
                m = s->groups[gi].n_members;
            }
            if (ctr_def_add_gm(s, first_def + i, gi, m) != 0)
                goto out;
        }
    }
    if (s->cfg.uncore && open_uncore(s) != 0)
        goto out;
    rc = 0;
out:
    free(attrs);
    free(ok);
    return rc;
}

const struct ctr_backend ctr_backend_hw = {
    .name = "hw",
    .describe = ctr_hw_pmu_present,
    .open = hw_open,
};
