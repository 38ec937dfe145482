/* ctr — the counter set: open the backends, snapshot, differences, whole
 * commands, and per-region accumulation. Backends live in ctr_hw.c,
 * ctr_sw.c, ctr_sched.c (ctr_sim.c is out of process); the helpers they
 * share in backend_util.c. */
#include "harness/counters/ctr.h"
#include "base/err.h"
#include "harness/machine/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/machine/clock.h"
#include "harness/counters/ctr_impl.h"

struct ctr_snap {
    uint64_t t_ns;
    size_t n;
    uint64_t v[];
};

void ctr_config_default(struct ctr_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->backends = ctr_backends_all();
    cfg->thread_stats = true;
}

/* ---- open / close ------------------------------------------------------ */

static int list_tasks(int **out, int *n)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return CTR_EIO;
    int cap = 16, k = 0;
    int *t = malloc((size_t)cap * sizeof *t);
    if (!t) {
        closedir(d);
        return CTR_ENOMEM;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (k == cap) {
            int *nt = realloc(t, (size_t)(cap *= 2) * sizeof *t);
            if (!nt) {
                free(t);
                closedir(d);
                return CTR_ENOMEM;
            }
            t = nt;
        }
        t[k++] = sysfs_int(e->d_name);
    }
    closedir(d);
    *out = t;
    *n = k;
    return 0;
}

struct open_mode {
    bool inherit, enable_on_exec, foreign, no_rusage;
};

static int open_set(struct ctr_set **out, const struct ctr_config *cfg, const int *tids, int n_tids,
                    struct open_mode mode, char *err, size_t err_len)
{
    *out = NULL;
    if (!cfg || n_tids < 0 || (n_tids > 0 && !tids) || (cfg->backends & ~ctr_backends_all()) ||
        (cfg->hw_events && cfg->n_hw_events <= 0) || cfg->n_hw_events < 0 ||
        (cfg->sched_ring_pages && (cfg->sched_ring_pages & (cfg->sched_ring_pages - 1)))) {
        err_set(err, err_len, "ctr_open: bad configuration (backends 0x%x, %d tids, %d hw events, %d ring pages)",
                cfg ? cfg->backends : 0, n_tids, cfg ? cfg->n_hw_events : 0, cfg ? cfg->sched_ring_pages : 0);
        return CTR_EINVAL;
    }
    struct ctr_set *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->cfg = *cfg;
    if (!s->cfg.sched_ring_pages)
        s->cfg.sched_ring_pages = 256;
    s->process_mode = n_tids == 0;
    s->inherit = s->process_mode || mode.inherit;
    s->enable_on_exec = mode.enable_on_exec;
    s->no_rusage = mode.no_rusage;

    const char *const *names = cfg->hw_events ? cfg->hw_events : ctr_hw_default_events;
    s->n_hw = cfg->hw_events ? cfg->n_hw_events : CTR_HW_DEFAULT_N;
    s->cfg.hw_events = NULL;
    s->hw_names = calloc((size_t)s->n_hw, sizeof *s->hw_names);
    if (!s->hw_names)
        goto oom;
    for (int i = 0; i < s->n_hw; i++) {
        if (!names[i] || !names[i][0]) {
            err_set(err, err_len, "ctr_open: hw event %d has no name", i);
            ctr_close(s);
            return CTR_EINVAL;
        }
        if (!(s->hw_names[i] = strdup(names[i])))
            goto oom;
    }

    if (s->process_mode) {
        int rc = list_tasks(&s->tids, &s->n_tids);
        if (rc == CTR_ENOMEM)
            goto oom;
        if (rc) {
            err_set(err, err_len, "ctr_open: cannot list /proc/self/task: %s", strerror(errno));
            ctr_close(s);
            return CTR_EIO;
        }
    } else {
        s->tids = malloc((size_t)n_tids * sizeof *s->tids);
        if (!s->tids)
            goto oom;
        for (int i = 0; i < n_tids; i++) {
            char path[64];
            struct stat st;
            snprintf(path, sizeof path, "/proc/self/task/%d", tids[i]);
            if (tids[i] <= 0 || (!mode.foreign && stat(path, &st) != 0)) {
                err_set(err, err_len, "ctr_open: tid %d is not a thread of this process (no %s)", tids[i], path);
                ctr_close(s);
                return CTR_EINVAL;
            }
            s->tids[i] = tids[i];
        }
        s->n_tids = n_tids;
    }

    struct ctr_mdef *wall = ctr_add_def(s, "wall_ns", "ns", METRIC_SRC_TIME);
    if (!wall)
        goto oom;
    wall->kind = CTR_MK_WALL;

    for (int i = 0; i < ctr_backend_n; i++)
        if ((cfg->backends & (1u << i)) && ctr_backend_list[i]->open(s) != 0)
            goto oom;

    /* Plain words first, then every group's slice. */
    for (int i = 0; i < s->n_groups; i++) {
        s->groups[i].off = s->words;
        s->words += s->groups[i].words;
    }
    s->last = calloc(s->words ? s->words : 1, sizeof *s->last);
    if (!s->last)
        goto oom;
    for (int i = 0; i < ctr_backend_n; i++)
        if ((s->cfg.backends & (1u << i)) && ctr_backend_list[i]->start && ctr_backend_list[i]->start(s) != 0) {
            err_set(err, err_len, "ctr_open: the %s counters could not be started", ctr_backend_list[i]->name);
            ctr_close(s);
            return CTR_EIO;
        }
    s->started = true;
    *out = s;
    return 0;
oom:
    err_set(err, err_len, "ctr_open: out of memory");
    ctr_close(s);
    return CTR_ENOMEM;
}

int ctr_open(struct ctr_set **out, const struct ctr_config *cfg, const int *tids, int n_tids, char *err,
             size_t err_len)
{
    if (!out) {
        err_set(err, err_len, "ctr_open: out is NULL");
        return CTR_EINVAL;
    }
    struct open_mode mode = { 0 };
    return open_set(out, cfg, tids, n_tids, mode, err, err_len);
}

void ctr_close(struct ctr_set *s)
{
    if (!s)
        return;
    for (int i = ctr_backend_n - 1; i >= 0; i--)
        if ((s->cfg.backends & (1u << i)) && s->started && ctr_backend_list[i]->stop)
            ctr_backend_list[i]->stop(s);
    for (int i = ctr_backend_n - 1; i >= 0; i--)
        if ((s->cfg.backends & (1u << i)) && ctr_backend_list[i]->close)
            ctr_backend_list[i]->close(s);
    for (int i = 0; i < s->n_groups; i++) {
        struct ctr_group *g = &s->groups[i];
        for (int k = g->n_members - 1; k >= 0; k--)
            close(g->member_fds[k]);
        free(g->member_fds);
        if (g->fd >= 0)
            close(g->fd);
    }
    free(s->groups);
    for (int i = 0; i < s->n_defs; i++)
        free(s->defs[i].gm);
    free(s->defs);
    for (int i = 0; s->schedstat_fds && i < s->n_tids; i++)
        if (s->schedstat_fds[i] >= 0)
            close(s->schedstat_fds[i]);
    for (int i = 0; s->status_fds && i < s->n_tids; i++)
        if (s->status_fds[i] >= 0)
            close(s->status_fds[i]);
    free(s->schedstat_fds);
    free(s->status_fds);
    free(s->last);
    free(s->tids);
    for (int i = 0; s->hw_names && i < s->n_hw; i++)
        free((void *)s->hw_names[i]);
    free(s->hw_names);
    free(s);
}

int ctr_n_metrics(const struct ctr_set *s)
{
    return s ? s->n_defs : 0;
}

int ctr_describe(const struct ctr_set *s, struct metric *out, int max)
{
    if (!s)
        return 0;
    for (int i = 0; i < s->n_defs && i < max; i++) {
        out[i] = s->defs[i].m;
        out[i].value = 0;
    }
    return s->n_defs;
}

/* ---- snapshots --------------------------------------------------------- */

struct ctr_snap *ctr_snap_new(const struct ctr_set *s)
{
    size_t n = s ? s->words : 0;
    struct ctr_snap *snap = calloc(1, sizeof *snap + n * sizeof(uint64_t));
    if (snap)
        snap->n = n;
    return snap;
}

void ctr_snap_free(struct ctr_snap *snap)
{
    free(snap);
}

uint64_t ctr_snap_ns(const struct ctr_snap *snap)
{
    return snap->t_ns;
}

const char *ctr_last_error(const struct ctr_set *s)
{
    return s ? s->last_err : "";
}

int ctr_read(struct ctr_set *s, struct ctr_snap *snap)
{
    if (!s || !snap || snap->n != s->words)
        return CTR_EINVAL;
    int rc = 0;
    uint64_t *v = snap->v;
    snap->t_ns = clock_ns();
    for (int i = 0; i < s->n_groups; i++) {
        const struct ctr_group *g = &s->groups[i];
        ssize_t want = (ssize_t)(g->words * sizeof(uint64_t));
        ssize_t got = read(g->fd, v + g->off, (size_t)want);
        if (got != want) {
            if (!rc)
                snprintf(s->last_err, sizeof s->last_err, "ctr_read: read of perf group %d returned %zd of %zd bytes: %s",
                         i, got, want, got < 0 ? strerror(errno) : "short read");
            memcpy(v + g->off, s->last + g->off, (size_t)want);
            rc = CTR_EIO;
        }
    }
    if ((s->have_schedstat || s->have_status) && ctr_sw_read_proc(s, v) != 0 && !rc) {
        snprintf(s->last_err, sizeof s->last_err, "ctr_read: a /proc/<tid> file could not be read (thread exited?)");
        rc = CTR_EIO;
    }
    for (int i = 0; i < ctr_backend_n; i++)
        if ((s->cfg.backends & (1u << i)) && ctr_backend_list[i]->read && ctr_backend_list[i]->read(s, v) != 0 && !rc) {
            snprintf(s->last_err, sizeof s->last_err, "ctr_read: the %s counters could not be read",
                     ctr_backend_list[i]->name);
            rc = CTR_EIO;
        }
    memcpy(s->last, v, s->words * sizeof *v);
    return rc;
}

/* ---- differences ------------------------------------------------------- */

/* Value of definition d over a..b. *ena and *run get the hw time enabled
 * and running sums (ns) so callers can combine fractions. */
static enum metric_status eval(const struct ctr_set *s, const struct ctr_mdef *d, const struct ctr_snap *a,
                               const struct ctr_snap *b, double *val, double *ena, double *run)
{
    *val = 0;
    *ena = *run = 0;
    if (d->m.status != METRIC_OK)
        return d->m.status;
    switch (d->kind) {
    case CTR_MK_WALL:
        *val = (double)(b->t_ns - a->t_ns);
        return METRIC_OK;
    case CTR_MK_WORD:
        for (int k = 0; k < d->n; k++) {
            size_t w = d->off0 + (size_t)k * d->stride;
            *val += (double)(b->v[w] - a->v[w]);
        }
        *val *= d->scale;
        return METRIC_OK;
    case CTR_MK_PERF: {
        bool ran = false, counted = false;
        for (int k = 0; k < d->ng; k++) {
            const struct ctr_group *g = &s->groups[d->gm[k].g];
            size_t vw = g->off + (g->is_group ? 3 + (size_t)d->gm[k].m : 0);
            uint64_t dv = b->v[vw] - a->v[vw];
            uint64_t de = b->v[g->off + 1] - a->v[g->off + 1];
            uint64_t dr = b->v[g->off + 2] - a->v[g->off + 2];
            *ena += (double)de;
            *run += (double)dr;
            if (de == 0)
                continue; /* the task did not run: a true 0 */
            ran = true;
            if (dr == 0)
                continue; /* enabled but never on the PMU */
            counted = true;
            *val += dr == de ? (double)dv : (double)dv * ((double)de / (double)dr);
        }
        *val *= d->scale;
        return ran && !counted ? METRIC_NOT_COUNTED : METRIC_OK;
    }
    case CTR_MK_LAT:
        return METRIC_OK; /* filled by ctr_delta */
    }
    return METRIC_UNSUPPORTED;
}

int ctr_delta(struct ctr_set *s, const struct ctr_snap *a, const struct ctr_snap *b, struct metric *out, int max)
{
    if (!s || !a || !b || a->n != s->words || b->n != s->words || (max > 0 && !out))
        return CTR_EINVAL;
    double lat[6] = { 0 };
    uint64_t nlat = 0;
    bool have_lat = false;
    for (int i = 0; i < s->n_defs; i++)
        if (s->defs[i].kind == CTR_MK_LAT && s->defs[i].m.status == METRIC_OK)
            have_lat = true;
    if (have_lat)
        nlat = ctr_sched_stats(s, a->t_ns, b->t_ns, lat);
    for (int i = 0; i < s->n_defs && i < max; i++) {
        const struct ctr_mdef *d = &s->defs[i];
        struct metric *m = &out[i];
        *m = d->m;
        double ena, run;
        m->status = eval(s, d, a, b, &m->value, &ena, &run);
        if (d->kind == CTR_MK_PERF && d->m.source == METRIC_SRC_HW)
            m->running_fraction = ena > 0 ? run / ena : 1.0;
        if (m->status == METRIC_NOT_COUNTED)
            snprintf(m->reason, sizeof m->reason,
                     "opened but never ran on the PMU in this interval (running 0 of %.0f ns enabled; "
                     "more events than counters?)", ena);
        if (d->kind == CTR_MK_LAT && m->status == METRIC_OK) {
            m->value = lat[d->member];
            if (nlat == 0 && d->member != CTR_LAT_COUNT && d->member != CTR_LAT_LOST) {
                m->status = METRIC_NOT_COUNTED;
                snprintf(m->reason, sizeof m->reason, "no wake-ups of the watched threads in this interval");
            }
        }
        if (m->status != METRIC_OK)
            m->value = 0;
    }
    return s->n_defs;
}

const struct metric *ctr_metric_find(const struct metric *m, int n, const char *name)
{
    for (int i = 0; m && i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return &m[i];
    return NULL;
}

/* ---- whole commands ---------------------------------------------------- */

int ctr_run_cmd(char *const argv[], const struct ctr_config *cfg, bool quiet, struct metric *out, int max,
                int *wstatus, char *err, size_t err_len)
{
    if (!argv || !argv[0] || !cfg || !wstatus) {
        err_set(err, err_len, "ctr_run_cmd: no command");
        return CTR_EINVAL;
    }
    int go[2], ex[2];
    if (pipe2(go, O_CLOEXEC) != 0)
        goto syserr;
    if (pipe2(ex, O_CLOEXEC) != 0) {
        close(go[0]);
        close(go[1]);
        goto syserr;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(go[0]);
        close(go[1]);
        close(ex[0]);
        close(ex[1]);
        goto syserr;
    }
    if (pid == 0) {
        /* Child: wait until the parent has attached the counters, then exec. */
        char c;
        close(go[1]);
        close(ex[0]);
        if (quiet) {
            int nul = open("/dev/null", O_WRONLY);
            if (nul >= 0) {
                dup2(nul, 1);
                dup2(nul, 2);
                close(nul);
            }
        }
        if (read(go[0], &c, 1) != 1)
            _exit(127);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(ex[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(go[0]);
    close(ex[1]);

    struct ctr_config c2 = *cfg;
    c2.backends &= CTR_HW | CTR_SW;
    c2.thread_stats = false;
    struct open_mode mode = { .inherit = true, .enable_on_exec = true, .foreign = true, .no_rusage = true };
    struct ctr_set *s = NULL;
    struct ctr_snap *a = NULL, *b = NULL;
    int rc = open_set(&s, &c2, &pid, 1, mode, err, err_len);
    if (rc == 0 && (!(a = ctr_snap_new(s)) || !(b = ctr_snap_new(s)))) {
        err_set(err, err_len, "ctr_run_cmd: out of memory");
        rc = CTR_ENOMEM;
    }
    if (rc != 0) {
        close(go[1]); /* the child reads EOF and exits */
        close(ex[0]);
        waitpid(pid, wstatus, 0);
        ctr_snap_free(a);
        ctr_snap_free(b);
        ctr_close(s);
        return rc;
    }
    ctr_read(s, a);
    ssize_t w = write(go[1], "x", 1);
    (void)w;
    close(go[1]);
    int child_errno = 0;
    ssize_t r = read(ex[0], &child_errno, sizeof child_errno);
    close(ex[0]);
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, wstatus, 0, &ru) < 0 && errno == EINTR)
        ;
    ctr_read(s, b);
    if (r == (ssize_t)sizeof child_errno) {
        err_set(err, err_len, "ctr_run_cmd: exec %s: %s", argv[0], strerror(child_errno));
        rc = CTR_EIO;
    } else {
        if (s->have_rusage) {
            a->v[s->rusage_off] = a->v[s->rusage_off + 1] = 0;
            b->v[s->rusage_off] = (uint64_t)ru.ru_nvcsw;
            b->v[s->rusage_off + 1] = (uint64_t)ru.ru_nivcsw;
        }
        rc = ctr_delta(s, a, b, out, max);
    }
    ctr_snap_free(a);
    ctr_snap_free(b);
    ctr_close(s);
    return rc;
syserr:
    err_set(err, err_len, "ctr_run_cmd: %s", strerror(errno));
    return CTR_EIO;
}

/* ---- regions ----------------------------------------------------------- */

#define CTR_REGION_DEPTH 16

struct kind_totals {
    uint64_t count, total_ns;
    double *sum, *ena, *run; /* [n_defs] */
    uint64_t *n_ok, *n_nc;   /* [n_defs] regions with the metric counted / not counted */
};

struct ctr_regions {
    struct ctr_set *set;
    int depth;
    struct {
        enum region_kind kind;
        int index;
        uint64_t t_ns;
        struct ctr_snap *snap;
    } stack[CTR_REGION_DEPTH];
    struct ctr_snap *scratch;
    struct kind_totals kinds[REGION_KIND_COUNT];
    double *arena;
    uint64_t errors;
};

void ctr_regions_free(struct ctr_regions *r)
{
    if (!r)
        return;
    for (int i = 0; i < CTR_REGION_DEPTH; i++)
        ctr_snap_free(r->stack[i].snap);
    ctr_snap_free(r->scratch);
    free(r->arena);
    free(r);
}

int ctr_regions_new(struct ctr_regions **out, struct ctr_set *set, char *err, size_t err_len)
{
    struct ctr_regions *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        goto oom;
    r->set = set;
    if (set) {
        for (int i = 0; i < CTR_REGION_DEPTH; i++)
            if (!(r->stack[i].snap = ctr_snap_new(set)))
                goto oom;
        if (!(r->scratch = ctr_snap_new(set)))
            goto oom;
        size_t n = (size_t)set->n_defs;
        /* 5 arrays per kind, doubles and u64 share the arena (same size). */
        r->arena = calloc(n * 5 * REGION_KIND_COUNT + 1, sizeof(double));
        if (!r->arena)
            goto oom;
        for (int k = 0; k < REGION_KIND_COUNT; k++) {
            double *base = r->arena + (size_t)k * 5 * n;
            r->kinds[k].sum = base;
            r->kinds[k].ena = base + n;
            r->kinds[k].run = base + 2 * n;
            r->kinds[k].n_ok = (uint64_t *)(void *)(base + 3 * n);
            r->kinds[k].n_nc = (uint64_t *)(void *)(base + 4 * n);
        }
    }
    *out = r;
    return 0;
oom:
    err_set(err, err_len, "ctr_regions_new: out of memory");
    ctr_regions_free(r);
    return CTR_ENOMEM;
}

void ctr_regions_reset(struct ctr_regions *r)
{
    if (!r)
        return;
    size_t n = r->set ? (size_t)r->set->n_defs : 0;
    if (r->arena)
        memset(r->arena, 0, n * 5 * REGION_KIND_COUNT * sizeof(double));
    for (int k = 0; k < REGION_KIND_COUNT; k++)
        r->kinds[k].count = r->kinds[k].total_ns = 0;
    r->errors = 0;
    r->depth = 0;
}

static void regions_begin(void *user, enum region_kind kind, int index)
{
    struct ctr_regions *r = user;
    if ((unsigned)kind >= REGION_KIND_COUNT || r->depth >= CTR_REGION_DEPTH) {
        r->errors++;
        r->depth++; /* keep pairing: the matching end pops without counting */
        return;
    }
    int d = r->depth++;
    r->stack[d].kind = kind;
    r->stack[d].index = index;
    if (r->set) {
        if (ctr_read(r->set, r->stack[d].snap) != 0)
            r->errors++;
        r->stack[d].t_ns = ctr_snap_ns(r->stack[d].snap);
    } else {
        r->stack[d].t_ns = clock_ns();
    }
}

static void regions_end(void *user, enum region_kind kind, int index)
{
    struct ctr_regions *r = user;
    if (r->depth <= 0) {
        r->errors++;
        return;
    }
    int d = --r->depth;
    if (d >= CTR_REGION_DEPTH)
        return; /* its begin overflowed and was counted as an error */
    if (r->stack[d].kind != kind || r->stack[d].index != index) {
        r->errors++;
        return;
    }
    struct kind_totals *kt = &r->kinds[kind];
    if (!r->set) {
        kt->count++;
        kt->total_ns += clock_ns() - r->stack[d].t_ns;
        return;
    }
    const struct ctr_snap *a = r->stack[d].snap;
    struct ctr_snap *b = r->scratch;
    if (ctr_read(r->set, b) != 0)
        r->errors++;
    kt->count++;
    kt->total_ns += b->t_ns - a->t_ns;
    const struct ctr_set *s = r->set;
    for (int i = 0; i < s->n_defs; i++) {
        const struct ctr_mdef *def = &s->defs[i];
        if (!def->additive || def->m.status != METRIC_OK || def->kind == CTR_MK_WALL)
            continue;
        double v, e, ru;
        enum metric_status st = eval(s, def, a, b, &v, &e, &ru);
        if (st == METRIC_OK) {
            kt->sum[i] += v;
            kt->n_ok[i]++;
        } else {
            kt->n_nc[i]++;
        }
        kt->ena[i] += e;
        kt->run[i] += ru;
    }
}

struct region_hooks ctr_region_hooks(struct ctr_regions *r)
{
    struct region_hooks h = { .begin = regions_begin, .end = regions_end, .user = r };
    return h;
}

int ctr_regions_get(const struct ctr_regions *r, enum region_kind kind, uint64_t *count, uint64_t *total_ns,
                    struct metric *out, int max)
{
    if (!r || (unsigned)kind >= REGION_KIND_COUNT)
        return CTR_EINVAL;
    const struct kind_totals *kt = &r->kinds[kind];
    if (count)
        *count = kt->count;
    if (total_ns)
        *total_ns = kt->total_ns;
    int n = 0;
    const struct ctr_set *s = r->set;
    for (int i = 0; s && i < s->n_defs; i++) {
        const struct ctr_mdef *def = &s->defs[i];
        if (!def->additive)
            continue;
        if (n < max) {
            struct metric *m = &out[n];
            *m = def->m;
            m->value = 0;
            if (def->kind == CTR_MK_WALL) {
                m->value = (double)kt->total_ns;
            } else if (m->status == METRIC_OK) {
                if (def->kind == CTR_MK_PERF && def->m.source == METRIC_SRC_HW)
                    m->running_fraction = kt->ena[i] > 0 ? kt->run[i] / kt->ena[i] : 1.0;
                if (kt->n_ok[i] > 0 || kt->n_nc[i] == 0) {
                    m->value = kt->sum[i];
                } else {
                    m->status = METRIC_NOT_COUNTED;
                    snprintf(m->reason, sizeof m->reason,
                             "never ran on the PMU in any of the %llu regions (more events than counters?)",
                             (unsigned long long)kt->n_nc[i]);
                }
            }
        }
        n++;
    }
    return n;
}

uint64_t ctr_regions_errors(const struct ctr_regions *r)
{
    return r ? r->errors : 0;
}

struct metric_sem ctr_metric_sem(enum metric_source source)
{
    static const struct metric_sem noisy = METRIC_SEM(LOWER, SAMPLE, false);
    static const struct metric_sem sim = METRIC_SEM(LOWER, COUNT, true);
    static const struct metric_sem none = { 0, 0, false, 0 };
    switch (source) {
    case METRIC_SRC_HW:
    case METRIC_SRC_SW:
    case METRIC_SRC_SCHED: return noisy;
    case METRIC_SRC_SIM: return sim;
    default: return none;
    }
}
