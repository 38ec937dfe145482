/* contention_split — the ownership of output lines in the contention
 * experiments (see contention_split.h). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/infer.h"
#include "workloads/contention_split.h"

void contention_split_init(struct contention_split *s, int64_t rows, int nth, enum contention_layout layout)
{
    s->rows = rows;
    s->nth = nth;
    s->layout = layout;
    int64_t per = (rows + nth - 1) / nth;
    s->stretch = (per + CONTENTION_LINE_FLOATS - 1) / CONTENTION_LINE_FLOATS * CONTENTION_LINE_FLOATS;
    /* one spare line per column: a stride of a whole number of pages would
     * put all of a row's outputs in one L1 set (and alias them at 4 KiB) */
    s->ld = s->stretch * nth + CONTENTION_LINE_FLOATS;
}

void contention_split_rows(const struct contention_split *s, int ith, int64_t *begin, int64_t *end, int64_t *step)
{
    infer_matmul_rows(s->rows, ith, s->nth, s->layout != CONTENTION_BLOCKED, begin, end, step);
}

int64_t contention_split_shared_lines(const struct contention_split *s, int64_t cols, size_t offset_bytes,
                                      int64_t *lines_written)
{
    /* Only the first column's lines need replaying when a column is whole
     * lines long and starts where the first one does; replaying all keeps
     * the count honest for any ld and offset. */
    int64_t n_lines = ((int64_t)offset_bytes + cols * s->ld * 4 + CONTENTION_LINE_BYTES - 1) / CONTENTION_LINE_BYTES;
    int *owner = malloc((size_t)n_lines * sizeof *owner);   /* -1 nobody, -2 several, else the thread */
    if (!owner)
        return -1;
    for (int64_t i = 0; i < n_lines; i++)
        owner[i] = -1;
    for (int t = 0; t < s->nth; t++) {
        int64_t b, e, step, k = 0;
        contention_split_rows(s, t, &b, &e, &step);
        for (int64_t r = b; r < e; r += step, k++) {
            int64_t pos = contention_split_pos(s, t, r, k);
            for (int64_t c = 0; c < cols; c++) {
                int64_t line = ((int64_t)offset_bytes + (c * s->ld + pos) * 4) / CONTENTION_LINE_BYTES;
                if (owner[line] == -1)
                    owner[line] = t;
                else if (owner[line] != t)
                    owner[line] = -2;
            }
        }
    }
    int64_t shared = 0, written = 0;
    for (int64_t i = 0; i < n_lines; i++) {
        shared += owner[i] == -2;
        written += owner[i] != -1;
    }
    free(owner);
    if (lines_written)
        *lines_written = written;
    return shared;
}

/* Facts from libpfm4's event tables (the Intel and AMD manuals' names):
 * Intel counts retired loads that hit L3 and found the line modified in
 * another core (HITM; Sapphire Rapids calls it XSNP_FWD: "forwarded from
 * another core"); AMD has no HITM, so the nearest is demand fills of L1d
 * served by another core's cache in the same complex. */
const struct contention_pmu_event contention_pmu_events[] = {
    { "hsw", "hsw::MEM_LOAD_UOPS_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "hsw_ep", "hsw_ep::MEM_LOAD_UOPS_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "bdw", "bdw::MEM_LOAD_UOPS_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "bdw_ep", "bdw_ep::MEM_LOAD_UOPS_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "skl", "skl::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "skx", "skx::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "clx", "clx::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "icl", "icl::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "icx", "icx::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", "loads that hit a line modified in another core (HITM)" },
    { "spr", "spr::MEM_LOAD_L3_HIT_RETIRED:XSNP_FWD", "loads forwarded from another core's modified line (SPR's HITM)" },
    { "amd64_fam17h_zen2", "amd64_fam17h_zen2::DATA_CACHE_REFILLS_FROM_SYSTEM:LS_MABRESP_LCL_CACHE",
      "L1d refills from another core's cache in the complex (AMD has no HITM)" },
    { "amd64_fam19h_zen3", "amd64_fam19h_zen3::DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:INT_CACHE",
      "demand L1d fills from L3 or another core's L2 in the complex (AMD has no HITM)" },
    { "amd64_fam19h_zen4", "amd64_fam19h_zen4::DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:LOCAL_CCX",
      "demand L1d fills from the local complex's L3 or another core's L2 (AMD has no HITM)" },
    { NULL, NULL, NULL },
};

const struct contention_pmu_event *contention_split_pmu_event(const char *pmu)
{
    for (int i = 0; pmu && contention_pmu_events[i].pmu; i++)
        if (strcmp(contention_pmu_events[i].pmu, pmu) == 0)
            return &contention_pmu_events[i];
    return NULL;
}

int contention_cpus(void)
{
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    return n < 1 ? 1 : n;
}

void contention_passes_add(struct contention_passes *p, double wall_ns, const uint64_t *t_start,
                           const uint64_t *t_work, const uint64_t *t_cpu, int threads)
{
    if (p->n >= CONTENTION_MAX_PASSES || threads < 1)
        return;
    uint64_t s0 = UINT64_MAX, s1 = 0, e1 = 0;
    double cpu = 0, on = 1;
    for (int t = 0; t < threads; t++) {
        cpu += (double)t_cpu[t * 8];
        double f = t_work[t * 8] ? (double)t_cpu[t * 8] / (double)t_work[t * 8] : 1;
        on = f < on ? f : on;
        s0 = t_start[t * 8] < s0 ? t_start[t * 8] : s0;
        s1 = t_start[t * 8] > s1 ? t_start[t * 8] : s1;
        e1 = t_start[t * 8] + t_work[t * 8] > e1 ? t_start[t * 8] + t_work[t * 8] : e1;
    }
    int cpus = p->cpus > 0 ? p->cpus : 1;
    double span = (double)(e1 - s0);
    bool und;
    if (threads > cpus) {
        on = span > 0 ? cpu / (cpus * span) : 0;
        und = on >= CONTENTION_ON_CPU_MIN;
    } else {
        und = on >= CONTENTION_ON_CPU_MIN && (double)(s1 - s0) <= CONTENTION_SKEW_MAX * span;
    }
    p->wall[p->n] = wall_ns;
    /* the pool's part: waking the threads and joining them, outside the
     * span of their work (with more threads than CPUs a thread's own time
     * includes its turns off a CPU, so the longest thread would not do) */
    p->share[p->n] = wall_ns > span ? (wall_ns - span) / wall_ns : 0;
    p->cpu[p->n] = cpu;
    p->span[p->n] = span;
    p->on_cpu[p->n] = on;
    p->undisturbed[p->n] = und;
    p->n++;
}

bool contention_passes_more(const struct contention_passes *p, int planned)
{
    if (p->n < planned)
        return true;
    if (p->n >= CONTENTION_MAX_PASSES)
        return false;
    int und = 0;
    for (int i = 0; i < p->n; i++)
        und += p->undisturbed[i];
    return und < planned / 2;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median of x[0..n) (sorted in place), n > 0 */
static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_dbl);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

void contention_passes_emit(const struct contention_passes *p, struct workload_sink *out, const char *name,
                            double units)
{
    char buf[METRIC_NAME_MAX];
    double t[CONTENTION_MAX_PASSES], u[CONTENTION_MAX_PASSES];
    int n = p->n, nu = 0;
    if (n == 0)
        return;
    for (int i = 0; i < n; i++)
        if (p->undisturbed[i])
            u[nu++] = p->span[i];
    memcpy(t, p->wall, sizeof t[0] * (size_t)n);
    workload_emit(out, name, "ns", METRIC_SRC_TIME, median(t, n) / units);
    workload_emit(out, (snprintf(buf, sizeof buf, "%s_min", name), buf), "ns", METRIC_SRC_TIME, t[0] / units);
    memcpy(t, p->cpu, sizeof t[0] * (size_t)n);
    workload_emit(out, (snprintf(buf, sizeof buf, "cpu_%s", name), buf), "ns", METRIC_SRC_TIME, median(t, n) / units);
    memcpy(t, p->on_cpu, sizeof t[0] * (size_t)n);
    double on = median(t, n);
    snprintf(buf, sizeof buf, "%s_undisturbed", name);
    if (nu) {
        workload_emit(out, buf, "ns", METRIC_SRC_TIME, median(u, nu) / units);
    } else {
        struct metric *m = workload_emit(out, buf, "ns", METRIC_SRC_TIME, 0);
        if (m) {
            m->status = METRIC_NOT_COUNTED;
            m->running_fraction = 0;
            snprintf(m->reason, sizeof m->reason,
                     "no pass had its threads side by side on their CPUs (median on-CPU %.0f%%): the machine is busy",
                     on * 100);
        }
    }
    /* the pool's own cost: its share in the passes nothing else disturbed */
    double su[CONTENTION_MAX_PASSES];
    int nsu = 0;
    for (int i = 0; i < n; i++)
        if (p->undisturbed[i])
            su[nsu++] = p->share[i];
    if (nsu)
        workload_emit(out, "dispatch_share_undisturbed", "fraction", METRIC_SRC_TIME, median(su, nsu));
    else {
        struct metric *m = workload_emit(out, "dispatch_share_undisturbed", "fraction", METRIC_SRC_TIME, 0);
        if (m) {
            m->status = METRIC_NOT_COUNTED;
            m->running_fraction = 0;
            snprintf(m->reason, sizeof m->reason, "no undisturbed pass: the machine is busy");
        }
    }
    workload_emit(out, "passes", "count", METRIC_SRC_TIME, n);
    workload_emit(out, "undisturbed_passes", "count", METRIC_SRC_TIME, nu);
    workload_emit(out, "on_cpu_fraction", "fraction", METRIC_SRC_TIME, on);
    memcpy(t, p->share, sizeof t[0] * (size_t)n);
    workload_emit(out, "dispatch_share", "fraction", METRIC_SRC_TIME, median(t, n));
}
