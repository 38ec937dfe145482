/* probe — machine capabilities (what this machine offers for measurement)
 * and probe_collect, which runs the probes into a struct probe_info; the
 * helper modes. The probes themselves live apart: probe_peak.c (memory
 * bandwidth, peak compute), probe_pingpong.c (context switches) and
 * probe_json.c (probe_info as JSON). */
#include "harness/machine/probe.h"
#include "harness/machine/probe_impl.h"
#include "harness/machine/reclaim.h"
#include "base/err.h"
#include "harness/machine/sysfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

void probe_metric_init(struct metric *m, const char *name, const char *unit, enum metric_source src)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->unit = unit;
    m->source = src;
    m->running_fraction = 1.0;
}

void probe_metric_fail(struct metric *m, enum metric_status st, const char *fmt, ...)
{
    va_list ap;
    m->status = st;
    m->value = 0;
    va_start(ap, fmt);
    vsnprintf(m->reason, sizeof m->reason, fmt, ap);
    va_end(ap);
}

/* ---- capability probes ------------------------------------------------- */

/* "always [madvise] never" -> "madvise" */
static void bracketed(const char *path, char *out, size_t len)
{
    if (sysfs_selected(path, out, len) != 0)
        snprintf(out, len, "unknown");
}

static void probe_cpu(struct probe_info *p)
{
    cpuinfo_cpu_get(&p->cpu, NULL, NULL, NULL);
    cpuinfo_cpu_name(&p->cpu, p->cpu_model, sizeof p->cpu_model);
    p->n_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(p->kernel, sizeof p->kernel, "%s", u.release);
}

static void probe_events(struct probe_info *p)
{
    p->pmu_present = ctr_hw_pmu_present(p->pmu_reason, sizeof p->pmu_reason);
    ctr_hw_pfm_pmu(p->pfm_pmu, sizeof p->pfm_pmu);
    p->perf_event_paranoid = ctr_perf_event_paranoid();
    p->n_hw = CTR_HW_DEFAULT_N;
    for (int i = 0; i < CTR_HW_DEFAULT_N; i++) {
        struct probe_event *e = &p->hw[i];
        char err[METRIC_REASON_MAX];
        struct ctr_hw_encoding enc;
        snprintf(e->name, sizeof e->name, "%s", ctr_hw_default_events[i]);
        snprintf(e->metric, sizeof e->metric, "%s", ctr_hw_default_metric_names[i]);
        if (ctr_hw_encode(e->name, &enc, err, sizeof err) == 0)
            snprintf(e->encoding, sizeof e->encoding, "%s", enc.fstr);
        e->opens = ctr_hw_try(e->name, e->reason, sizeof e->reason) == 0;
    }
    p->sw_ok = ctr_sw_available(p->sw_reason, sizeof p->sw_reason);
    char why[160];
    if (ctr_tracefs_dir(p->tracefs, sizeof p->tracefs, why, sizeof why) != 0)
        p->tracefs[0] = '\0';
    p->tracepoints_ok = ctr_sched_available(p->tracepoints_reason, sizeof p->tracepoints_reason);
    p->valgrind_ok = ctr_sim_valgrind_version(p->valgrind, sizeof p->valgrind) == 0;
    bracketed("/sys/kernel/mm/transparent_hugepage/enabled", p->thp_enabled, sizeof p->thp_enabled);
    bracketed("/sys/kernel/mm/transparent_hugepage/defrag", p->thp_defrag, sizeof p->thp_defrag);
    struct reclaim_info rc;
    reclaim_probe(&rc);
    snprintf(p->reclaim, sizeof p->reclaim, "%s", rc.summary);
}

/* ---- context switches -------------------------------------------------- */

static void probe_ctxsw(struct probe_info *p, long rounds)
{
    p->ctxsw_cpu = probe_first_cpu();
    p->ctxsw_rounds = rounds;
    struct metric *m[2] = { &p->ctxsw_futex_ns, &p->ctxsw_pipe_ns };
    enum probe_pp_mode modes[2] = { PROBE_PP_FUTEX, PROBE_PP_PIPE };
    for (int i = 0; i < 2; i++) {
        struct probe_pingpong *pp;
        char err[128];
        if (probe_pingpong_new(&pp, modes[i], p->ctxsw_cpu, err, sizeof err) != 0) {
            probe_metric_fail(m[i], METRIC_UNSUPPORTED, "%s", err);
            continue;
        }
        uint64_t warm, best = 0, dt;
        probe_pingpong_run(pp, rounds / 10 + 1, &warm);
        for (int r = 0; r < 3; r++) {
            probe_pingpong_run(pp, rounds, &dt);
            if (!best || dt < best)
                best = dt;
        }
        probe_pingpong_free(pp);
        m[i]->value = (double)best / (2.0 * (double)rounds);
    }
}

/* ---- collect ----------------------------------------------------------- */

int probe_collect(struct probe_info *p, unsigned flags)
{
    if (!p)
        return CTR_EINVAL;
    memset(p, 0, sizeof *p);
    p->flags = flags;
    probe_cpu(p);
    probe_events(p);
    cpuinfo_caches_get(&p->caches);

    probe_metric_init(&p->peak_copy_gbps, "peak_copy_gbps", "GB/s", METRIC_SRC_DERIVED);
    probe_metric_init(&p->peak_triad_gbps, "peak_triad_gbps", "GB/s", METRIC_SRC_DERIVED);
    if (flags & PROBE_NO_BANDWIDTH) {
        probe_metric_fail(&p->peak_copy_gbps, METRIC_NOT_COUNTED, "skipped (--no-bandwidth)");
        probe_metric_fail(&p->peak_triad_gbps, METRIC_NOT_COUNTED, "skipped (--no-bandwidth)");
    } else {
        struct probe_bw_opts o = { 0 };
        if (flags & PROBE_QUICK) {
            o.array_bytes = 4u << 20;
            o.reps = 2;
        } else {
            o.array_bytes = probe_bw_default_bytes();
            o.reps = 3;
        }
        p->bw_array_bytes = o.array_bytes;
        p->bw_reps = o.reps;
        char err[160];
        int n = probe_bandwidth(&o, p->bw, err, sizeof err);
        if (n < 0) {
            probe_metric_fail(&p->peak_copy_gbps, METRIC_UNSUPPORTED, "%s", err);
            probe_metric_fail(&p->peak_triad_gbps, METRIC_UNSUPPORTED, "%s", err);
        } else {
            p->n_bw = n;
            for (int i = 0; i < n; i++) {
                if (p->bw[i].copy_gbps.status == METRIC_OK && p->bw[i].copy_gbps.value > p->peak_copy_gbps.value)
                    p->peak_copy_gbps.value = p->bw[i].copy_gbps.value;
                if (p->bw[i].triad_gbps.status == METRIC_OK && p->bw[i].triad_gbps.value > p->peak_triad_gbps.value)
                    p->peak_triad_gbps.value = p->bw[i].triad_gbps.value;
            }
        }
    }

    probe_metric_init(&p->ctxsw_futex_ns, "ctxsw_futex_ns", "ns", METRIC_SRC_DERIVED);
    probe_metric_init(&p->ctxsw_pipe_ns, "ctxsw_pipe_ns", "ns", METRIC_SRC_DERIVED);
    if (flags & PROBE_NO_CTXSW) {
        probe_metric_fail(&p->ctxsw_futex_ns, METRIC_NOT_COUNTED, "skipped (--no-ctxsw)");
        probe_metric_fail(&p->ctxsw_pipe_ns, METRIC_NOT_COUNTED, "skipped (--no-ctxsw)");
        p->ctxsw_cpu = -1;
    } else {
        probe_ctxsw(p, (flags & PROBE_QUICK) ? 2000 : 50000);
    }
    return 0;
}

/* ---- helper modes ------------------------------------------------------ */

int probe_touch_pages(long n, char *err, size_t err_len)
{
    long page = sysconf(_SC_PAGESIZE);
    if (n < 1) {
        err_set(err, err_len, "touch-pages: %ld pages (need >= 1)", n);
        return CTR_EINVAL;
    }
    size_t bytes = (size_t)n * (size_t)page;
    volatile char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        err_set(err, err_len, "touch-pages: mmap of %zu bytes: %s", bytes, strerror(errno));
        return CTR_ENOMEM;
    }
    /* no THP here: one fault per 4 KiB page is the point */
    (void)madvise((void *)m, bytes, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < bytes; off += (size_t)page)
        m[off] = 1;
    munmap((void *)m, bytes);
    return 0;
}

int probe_sim_walk(size_t bytes, const struct region_hooks *hooks, uint64_t *sum, char *err, size_t err_len)
{
    if (bytes < 64) {
        err_set(err, err_len, "sim-walk: %zu bytes (need >= 64)", bytes);
        return CTR_EINVAL;
    }
    unsigned char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        err_set(err, err_len, "sim-walk: mmap of %zu bytes: %s", bytes, strerror(errno));
        return CTR_ENOMEM;
    }
    memset(buf, 1, bytes);
    const volatile unsigned char *p = buf;
    uint64_t s = 0;
    size_t lines = bytes / 64;
    if (!hooks)
        ctr_sim_collect_begin();
    region_begin(hooks, REGION_DECODE, 0);
    for (int q = 0; q < 4; q++) {
        region_begin(hooks, REGION_LAYER, q);
        for (size_t i = lines * (size_t)q / 4; i < lines * (size_t)(q + 1) / 4; i++)
            s += p[i * 64];
        region_end(hooks, REGION_LAYER, q);
    }
    region_end(hooks, REGION_DECODE, 0);
    if (!hooks)
        ctr_sim_collect_end();
    munmap(buf, bytes);
    *sum = s;
    return 0;
}
