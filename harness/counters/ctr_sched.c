/* ctr_sched — scheduler figures of the watched threads.
 *
 * Wake-up-to-run latency: the sched_wakeup, sched_wakeup_new and
 * sched_switch tracepoints, opened per CPU through perf_event_open
 * (PERF_TYPE_TRACEPOINT, every event sampled with TID|TIME|RAW on
 * CLOCK_MONOTONIC), all three of a CPU writing into one ring buffer. The raw
 * record's fields are found by the offsets in the tracepoint's format file
 * (wakee `pid`, switch `prev_pid` and `next_pid`), the event by its
 * common_type id. A latency is the time from a watched thread's wake-up to
 * the switch that puts it on a CPU. A wake-up that reaches a thread still on
 * its CPU (it set itself to sleep but had not switched out yet) is absorbed
 * without a switch: such wake-ups are dropped at the thread's next switch-out
 * instead of being paired with a later, unrelated switch-in. Kernel filters
 * on the watched threads' comm (`next_comm == "ggperf" || ...`) keep the
 * rings to this program's threads, and the exact tid match is done here;
 * filters by tid ("pid == N || ...", at most 32 threads) are the fallback.
 * Closed sets park their events for the next set (see "parking" below).
 *
 * Run-queue wait: the second field of /proc/<tid>/schedstat, per thread
 * (the process-level file only covers the main thread).
 *
 * What tracefs says (tracepoint ids, field offsets) and the online CPUs are
 * read in sched_tracefs.c (ctr_sched_impl.h).
 */
#include <errno.h>
#include <pthread.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness/counters/ctr_impl.h"
#include "harness/counters/ctr_sched_impl.h"

struct lat_rec {
    uint64_t wake_ns, lat_ns;
};

/* At most this many latencies wait for ctr_delta (16 MiB). */
#define LAT_MAX ((size_t)1 << 20)

struct ev {
    uint64_t t;
    int tp;
    int tid;  /* wakee, or the switch's next_pid */
    int prev; /* the switch's prev_pid (-1 for wake-ups) */
};

struct ctr_sched {
    int ncpu;
    int *fds;          /* [ncpu][TP_N] */
    void **rings;      /* [ncpu], mmap of (1 + pages) pages over fds[cpu][TP_SWITCH] */
    size_t page, data_bytes;
    int ids[TP_N], offs[TP_N], prev_off;
    int *watch;        /* sorted watched tids */
    uint64_t *pending; /* [n_watch] wake-up time waiting for its switch-in, 0 = none */
    bool *running;     /* [n_watch] switched in and not yet out */
    int n_watch;
    struct lat_rec *lat;
    size_t n_lat, cap_lat;
    struct ev *ev;
    size_t n_ev, cap_ev;
    uint64_t *scratch;
    size_t cap_scratch;
    uint64_t lost;     /* records the kernel dropped since the last stats (PERF_RECORD_LOST) */
    uint64_t dropped;  /* records we had no memory for */
    bool format_lost;  /* the fds report lost samples on read (PERF_FORMAT_LOST) */
    bool by_comm;      /* filtered by comm (parkable, see below) */
    int *cpus;         /* [ncpu] the CPU of each fds row */
    char f_switch[512], f_wake[256]; /* the filters set on the events */
    uint64_t lost_read; /* their sum at the last stats */
    unsigned char rec[65536];
};

static void tp_attr(struct perf_event_attr *a, int id)
{
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->type = PERF_TYPE_TRACEPOINT;
    a->config = (uint64_t)id;
    a->sample_period = 1;
    a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC; /* comparable with the snapshots' clock_ns() */
    a->wakeup_events = 1 << 20;   /* nobody polls: we drain on demand */
    a->read_format = PERF_FORMAT_LOST; /* Linux >= 6.0: samples dropped on a full ring */
}

bool ctr_sched_available(char *why, size_t why_len)
{
    int ids[TP_N], offs[TP_N], prev_off;
    if (sched_tp_lookup(ids, offs, &prev_off, why, why_len) != 0)
        return false;
    struct perf_event_attr a;
    tp_attr(&a, ids[TP_SWITCH]);
    int fd = ctr_perf_open(&a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        char hint[96];
        ctr_perf_hint(hint, sizeof hint, e, false, -1);
        ctr_reason(why, why_len, "perf_event_open(sched:sched_switch, all tasks, cpu 0)", e, hint);
        return false;
    }
    close(fd);
    if (why_len)
        why[0] = '\0';
    return true;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sum of the samples the kernel could not write (PERF_FORMAT_LOST). */
static uint64_t lost_samples(const struct ctr_sched *c)
{
    uint64_t sum = 0, v[2];
    for (int i = 0; c->format_lost && i < c->ncpu * TP_N; i++)
        if (read(c->fds[i], v, sizeof v) == (ssize_t)sizeof v)
            sum += v[1];
    return sum;
}

/* Parking. Changing a tracepoint event's filter, like closing the last
 * event of a tracepoint, makes the kernel wait for an RCU grace period:
 * about 45 ms per tracepoint in this VM, 130-150 ms per set, which the
 * workloads that open a set per repetition (new pool threads each time)
 * paid every repetition. So the filters name the watched threads' comm
 * rather than their tids (the engine's pool threads inherit the process's
 * comm, so it stays the same from set to set; the exact tid match happens
 * here anyway), and a closed set's events are parked, disabled: the next
 * set with the same CPUs, ring size and filter text takes them over
 * without touching a filter (open + close: ~0.3 ms instead of ~140 ms).
 * Tid filters remain the fallback when a comm cannot be read or quoted;
 * those sets are closed as before. Parked events are released at exit. */
static struct {
    pthread_mutex_t lock;
    struct ctr_sched *c; /* owned while parked: fds, rings, cpus, filters */
} parked = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void close_events(struct ctr_sched *c)
{
    for (int i = 0; c->rings && i < c->ncpu; i++)
        if (c->rings[i])
            munmap(c->rings[i], c->page + c->data_bytes);
    for (int i = 0; c->fds && i < c->ncpu * TP_N; i++)
        if (c->fds[i] >= 0)
            close(c->fds[i]);
    free(c->rings);
    free(c->fds);
    free(c->cpus);
    c->rings = NULL;
    c->fds = NULL;
    c->cpus = NULL;
}

/* Move c's events into the parking slot when it is free and they are all
 * there; returns true when they were taken. */
static bool park(struct ctr_sched *c)
{
    if (!c->by_comm || !c->fds || !c->rings || !c->cpus)
        return false;
    for (int i = 0; i < c->ncpu * TP_N; i++)
        if (c->fds[i] < 0)
            return false;
    for (int k = 0; k < c->ncpu; k++)
        if (!c->rings[k])
            return false;
    struct ctr_sched *p = calloc(1, sizeof *p);
    if (!p)
        return false;
    pthread_mutex_lock(&parked.lock);
    bool ok = parked.c == NULL;
    if (ok) {
        for (int i = 0; i < c->ncpu * TP_N; i++)
            (void)ioctl(c->fds[i], PERF_EVENT_IOC_DISABLE, 0);
        p->ncpu = c->ncpu;
        p->page = c->page;
        p->data_bytes = c->data_bytes;
        p->format_lost = c->format_lost;
        p->fds = c->fds;
        p->rings = c->rings;
        p->cpus = c->cpus;
        memcpy(p->f_switch, c->f_switch, sizeof p->f_switch);
        memcpy(p->f_wake, c->f_wake, sizeof p->f_wake);
        parked.c = p;
        c->fds = NULL;
        c->rings = NULL;
        c->cpus = NULL;
    }
    pthread_mutex_unlock(&parked.lock);
    if (!ok)
        free(p);
    return ok;
}

/* Take the parked events over for c (cpus, ring size and filters known):
 * old records dropped, enabled. Returns false (closing what was parked if
 * it does not fit) when c must open its own. */
static bool unpark(struct ctr_sched *c)
{
    pthread_mutex_lock(&parked.lock);
    struct ctr_sched *p = parked.c;
    parked.c = NULL;
    pthread_mutex_unlock(&parked.lock);
    if (!p)
        return false;
    bool fits = p->ncpu == c->ncpu && p->data_bytes == c->data_bytes && p->page == c->page &&
                memcmp(p->cpus, c->cpus, (size_t)c->ncpu * sizeof *c->cpus) == 0 &&
                strcmp(p->f_switch, c->f_switch) == 0 && strcmp(p->f_wake, c->f_wake) == 0;
    if (!fits) {
        close_events(p);
        free(p);
        return false;
    }
    for (int k = 0; k < p->ncpu; k++) { /* drop what the previous owner left */
        struct perf_event_mmap_page *meta = p->rings[k];
        __atomic_store_n(&meta->data_tail, __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
    }
    for (int i = 0; i < p->ncpu * TP_N; i++)
        (void)ioctl(p->fds[i], PERF_EVENT_IOC_ENABLE, 0);
    free(c->fds);
    free(c->rings);
    c->fds = p->fds;
    c->rings = p->rings;
    c->format_lost = p->format_lost;
    free(p->cpus);
    free(p);
    return true;
}

static void sched_free(struct ctr_sched *c)
{
    if (!c)
        return;
    if (!park(c))
        close_events(c);
    free(c->cpus);
    free(c->watch);
    free(c->pending);
    free(c->running);
    free(c->lat);
    free(c->ev);
    free(c->scratch);
    free(c);
}

static void sched_close(struct ctr_set *s)
{
    sched_free(s->sched);
    s->sched = NULL;
}

static void filter_text(char *buf, size_t len, const char *field, const int *tids, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + used, len - used, "%s%s == %d", i ? " || " : "", field, tids[i]);
        if (w < 0 || (size_t)w >= len - used) {
            buf[0] = '\0';
            return;
        }
        used += (size_t)w;
    }
}

/* Filters on the comm of the watched threads (see parking above): at most
 * 4 distinct names, each readable and free of quotes and backslashes.
 * Returns 0, or -1 when the tid filters must do. */
static int comm_filters(const int *tids, int n, char *f_switch, size_t ls, char *f_wake, size_t lw)
{
    char comms[4][32];
    int nc = 0;
    for (int i = 0; i < n; i++) {
        char path[64], name[32];
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", tids[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            return -1;
        bool got = fgets(name, sizeof name, f) != NULL;
        fclose(f);
        if (!got)
            return -1;
        name[strcspn(name, "\n")] = '\0';
        if (!name[0])
            return -1;
        for (const char *q = name; *q; q++)
            if (*q < 0x20 || *q > 0x7e || *q == '"' || *q == '\\')
                return -1;
        bool seen = false;
        for (int k = 0; k < nc; k++)
            seen = seen || strcmp(comms[k], name) == 0;
        if (seen)
            continue;
        if (nc == 4)
            return -1;
        snprintf(comms[nc++], sizeof comms[0], "%s", name);
    }
    if (nc == 0)
        return -1;
    size_t us = 0, uw = 0;
    for (int k = 0; k < nc; k++) {
        int a = snprintf(f_switch + us, ls - us, "%snext_comm == \"%s\" || prev_comm == \"%s\"", k ? " || " : "",
                         comms[k], comms[k]);
        int b = snprintf(f_wake + uw, lw - uw, "%scomm == \"%s\"", k ? " || " : "", comms[k]);
        if (a < 0 || b < 0 || (size_t)a >= ls - us || (size_t)b >= lw - uw)
            return -1;
        us += (size_t)a;
        uw += (size_t)b;
    }
    return 0;
}

/* Open the tracepoints; on failure why is filled and everything closed. */
static int tp_open(struct ctr_set *s, struct ctr_sched **out, char *why, size_t why_len)
{
    *out = NULL;
    struct ctr_sched *c = calloc(1, sizeof *c);
    if (!c)
        return CTR_ENOMEM;
    int rc = sched_tp_lookup(c->ids, c->offs, &c->prev_off, why, why_len);
    if (rc)
        goto fail;
    int *cpus = NULL;
    c->ncpu = sched_online_cpus(&cpus);
    if (c->ncpu < 0) {
        rc = CTR_ENOMEM;
        goto fail;
    }
    c->page = (size_t)sysconf(_SC_PAGESIZE);
    c->data_bytes = c->page * (size_t)s->cfg.sched_ring_pages;
    c->fds = malloc((size_t)c->ncpu * TP_N * sizeof *c->fds);
    c->rings = calloc((size_t)c->ncpu, sizeof *c->rings);
    c->n_watch = s->n_tids;
    c->watch = malloc((size_t)(s->n_tids ? s->n_tids : 1) * sizeof *c->watch);
    c->pending = calloc((size_t)(s->n_tids ? s->n_tids : 1), sizeof *c->pending);
    c->running = calloc((size_t)(s->n_tids ? s->n_tids : 1), sizeof *c->running);
    if (!c->fds || !c->rings || !c->watch || !c->pending || !c->running) {
        free(cpus);
        rc = CTR_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < c->ncpu * TP_N; i++)
        c->fds[i] = -1;
    memcpy(c->watch, s->tids, (size_t)s->n_tids * sizeof *c->watch);
    qsort(c->watch, (size_t)c->n_watch, sizeof *c->watch, cmp_int);

    char f_switch[2048] = "", f_wake[1024] = "";
    c->cpus = cpus; /* owned by c from here */
    cpus = NULL;
    c->by_comm = comm_filters(c->watch, c->n_watch, c->f_switch, sizeof c->f_switch, c->f_wake,
                              sizeof c->f_wake) == 0;
    if (c->by_comm) {
        if (unpark(c)) {
            c->lost_read = lost_samples(c);
            *out = c;
            return 0;
        }
        snprintf(f_switch, sizeof f_switch, "%s", c->f_switch);
        snprintf(f_wake, sizeof f_wake, "%s", c->f_wake);
    } else if (c->n_watch <= 32) {
        filter_text(f_switch, sizeof f_switch, "next_pid", c->watch, c->n_watch);
        size_t used = strlen(f_switch);
        if (used) {
            snprintf(f_switch + used, sizeof f_switch - used, " || ");
            filter_text(f_switch + used + 4, sizeof f_switch - used - 4, "prev_pid", c->watch, c->n_watch);
        }
        filter_text(f_wake, sizeof f_wake, "pid", c->watch, c->n_watch);
    }
    const int *cpu_ids = c->cpus;
    for (int k = 0; k < c->ncpu; k++) {
        for (int t = 0; t < TP_N; t++) {
            struct perf_event_attr a;
            tp_attr(&a, c->ids[t]);
            bool first = k == 0 && t == 0;
            if (!first && !c->format_lost)
                a.read_format = 0;
            int fd = ctr_perf_open(&a, -1, cpu_ids[k], -1, PERF_FLAG_FD_CLOEXEC);
            if (fd < 0 && errno == EINVAL && first) {
                /* a kernel before 6.0: no PERF_FORMAT_LOST, only LOST records */
                a.read_format = 0;
                fd = ctr_perf_open(&a, -1, cpu_ids[k], -1, PERF_FLAG_FD_CLOEXEC);
            }
            if (first)
                c->format_lost = fd >= 0 && a.read_format != 0;
            if (fd < 0) {
                char what[96];
                int e = errno;
                char hint[96];
                snprintf(what, sizeof what, "perf_event_open(sched:%s, all tasks, cpu %d)", sched_tp_names[t], cpu_ids[k]);
                ctr_perf_hint(hint, sizeof hint, e, false, -1);
                ctr_reason(why, why_len, what, e, hint);
                errno = e;
                rc = errno == EACCES || errno == EPERM ? CTR_EPERM : CTR_EUNSUPPORTED;
                goto fail;
            }
            c->fds[k * TP_N + t] = fd;
            const char *f = t == TP_SWITCH ? f_switch : f_wake;
            if (f[0])
                (void)ioctl(fd, PERF_EVENT_IOC_SET_FILTER, f); /* unfiltered still works, only busier */
            if (t == TP_SWITCH) {
                void *m = mmap(NULL, c->page + c->data_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (m == MAP_FAILED) {
                    char what[96];
                    snprintf(what, sizeof what, "mmap of the sched ring buffer of cpu %d (%zu KiB)", cpu_ids[k],
                             c->data_bytes >> 10);
                    ctr_reason(why, why_len, what, errno, errno == EPERM ? "perf_event_mlock_kb too small" : "");
                        rc = CTR_EUNSUPPORTED;
                    goto fail;
                }
                c->rings[k] = m;
            } else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, c->fds[k * TP_N + TP_SWITCH]) != 0) {
                char what[96];
                snprintf(what, sizeof what, "PERF_EVENT_IOC_SET_OUTPUT(sched:%s, cpu %d)", sched_tp_names[t], cpu_ids[k]);
                ctr_reason(why, why_len, what, errno, "");
                rc = CTR_EUNSUPPORTED;
                goto fail;
            }
        }
    }
    c->lost_read = lost_samples(c);
    *out = c;
    return 0;
fail:
    sched_free(c);
    return rc;
}

static int sched_open(struct ctr_set *s)
{
    struct ctr_mdef *d;
    bool ts = s->cfg.thread_stats;

    /* run-queue wait */
    if (ts) {
        s->schedstat_fds = malloc((size_t)(s->n_tids ? s->n_tids : 1) * sizeof *s->schedstat_fds);
        if (!s->schedstat_fds)
            return CTR_ENOMEM;
        for (int t = 0; t < s->n_tids; t++)
            s->schedstat_fds[t] = -1;
        s->schedstat_off = ctr_add_words(s, (size_t)s->n_tids);
        s->have_schedstat = true;
    }
    int first = s->n_defs;
    if (!(d = ctr_add_def(s, "runq_wait_ns", "ns", METRIC_SRC_SCHED)))
        return CTR_ENOMEM;
    d->kind = CTR_MK_WORD;
    d->off0 = s->schedstat_off;
    d->stride = 1;
    d->n = s->n_tids;
    /* per thread, for a tid list */
    for (int t = 0; !s->process_mode && t < s->n_tids; t++) {
        char name[METRIC_NAME_MAX];
        snprintf(name, sizeof name, "runq_wait_ns.tid%d", s->tids[t]);
        if (!(d = ctr_add_def(s, name, "ns", METRIC_SRC_SCHED)))
            return CTR_ENOMEM;
        d->kind = CTR_MK_WORD;
        d->off0 = s->schedstat_off + (size_t)t;
        d->n = 1;
    }
    if (!ts) {
        ctr_defs_unsupported(s, first, "disabled: needs /proc/<tid>/schedstat reads (thread_stats off)");
    } else {
        for (int t = 0; t < s->n_tids; t++) {
            s->schedstat_fds[t] = ctr_proc_open(s->tids[t], "schedstat");
            if (s->schedstat_fds[t] < 0) {
                char what[64];
                snprintf(what, sizeof what, "open /proc/%d/schedstat", s->tids[t]);
                int e = errno;
                ctr_reason(s->defs[first].m.reason, sizeof s->defs[first].m.reason, what, e,
                           e == ENOENT ? "kernel without CONFIG_SCHED_INFO?" : "");
                s->defs[first].m.status = METRIC_UNSUPPORTED;
                if (!s->process_mode) {
                    struct ctr_mdef *pd = &s->defs[first + 1 + t];
                    pd->m.status = METRIC_UNSUPPORTED;
                    memcpy(pd->m.reason, s->defs[first].m.reason, sizeof pd->m.reason);
                }
            }
        }
    }

    /* wake-up latency */
    static const struct {
        const char *name, *unit;
        int stat;
    } lat[] = {
        { "wakeup_latency_count", "count", CTR_LAT_COUNT }, { "wakeup_latency_p50_ns", "ns", CTR_LAT_P50 },
        { "wakeup_latency_p95_ns", "ns", CTR_LAT_P95 },     { "wakeup_latency_p99_ns", "ns", CTR_LAT_P99 },
        { "wakeup_latency_max_ns", "ns", CTR_LAT_MAX },     { "wakeup_lost_events", "count", CTR_LAT_LOST },
    };
    int first_lat = s->n_defs;
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++) {
        if (!(d = ctr_add_def(s, lat[i].name, lat[i].unit, METRIC_SRC_SCHED)))
            return CTR_ENOMEM;
        d->kind = CTR_MK_LAT;
        d->member = lat[i].stat;
        d->additive = false;
    }
    char why[METRIC_REASON_MAX];
    int rc = tp_open(s, &s->sched, why, sizeof why);
    if (rc == CTR_ENOMEM)
        return rc;
    if (rc)
        ctr_defs_unsupported(s, first_lat, why);
    return 0;
}

/* ---- draining ---------------------------------------------------------- */

static int watch_index(const struct ctr_sched *c, int tid)
{
    const int *p = bsearch(&tid, c->watch, (size_t)c->n_watch, sizeof tid, cmp_int);
    return p ? (int)(p - c->watch) : -1;
}

static void push_ev(struct ctr_sched *c, uint64_t t, int tp, int tid, int prev)
{
    if (c->n_ev == c->cap_ev) {
        size_t cap = c->cap_ev ? 2 * c->cap_ev : 4096;
        struct ev *e = realloc(c->ev, cap * sizeof *e);
        if (!e) {
            c->dropped++;
            return;
        }
        c->ev = e;
        c->cap_ev = cap;
    }
    c->ev[c->n_ev].t = t;
    c->ev[c->n_ev].tp = tp;
    c->ev[c->n_ev].tid = tid;
    c->ev[c->n_ev].prev = prev;
    c->n_ev++;
}

static void parse_sample(struct ctr_sched *c, const unsigned char *r, size_t len)
{
    /* header, u32 pid, u32 tid, u64 time, u32 raw size, raw */
    size_t h = sizeof(struct perf_event_header);
    if (len < h + 20)
        return;
    uint64_t t;
    uint32_t raw_size;
    memcpy(&t, r + h + 8, 8);
    memcpy(&raw_size, r + h + 16, 4);
    const unsigned char *raw = r + h + 20;
    if (h + 20 + raw_size > len || raw_size < 2)
        return;
    uint16_t type;
    memcpy(&type, raw, 2);
    for (int tp = 0; tp < TP_N; tp++) {
        if (type != c->ids[tp])
            continue;
        if ((size_t)c->offs[tp] + 4 > raw_size)
            return;
        int32_t tid, prev = -1;
        memcpy(&tid, raw + c->offs[tp], 4);
        if (tp == TP_SWITCH) {
            if ((size_t)c->prev_off + 4 > raw_size)
                return;
            memcpy(&prev, raw + c->prev_off, 4);
            if (watch_index(c, prev) < 0)
                prev = -1;
        }
        if (watch_index(c, tid) < 0)
            tid = -1;
        if (tid >= 0 || prev >= 0)
            push_ev(c, t, tp, tid, prev);
        return;
    }
}

static void drain_ring(struct ctr_sched *c, int k)
{
    struct perf_event_mmap_page *meta = c->rings[k];
    const unsigned char *data = (const unsigned char *)meta + c->page;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    size_t size = c->data_bytes;
    while (tail + sizeof(struct perf_event_header) <= head) {
        struct perf_event_header hdr;
        size_t at = (size_t)(tail % size);
        for (size_t i = 0; i < sizeof hdr; i++)
            ((unsigned char *)&hdr)[i] = data[(at + i) % size];
        if (hdr.size < sizeof hdr || tail + hdr.size > head)
            break;
        for (size_t i = 0; i < hdr.size; i++)
            c->rec[i] = data[(at + i) % size];
        if (hdr.type == PERF_RECORD_SAMPLE) {
            parse_sample(c, c->rec, hdr.size);
        } else if (hdr.type == PERF_RECORD_LOST && hdr.size >= sizeof hdr + 16) {
            uint64_t lost;
            memcpy(&lost, c->rec + sizeof hdr + 8, 8);
            c->lost += lost;
        }
        tail += hdr.size;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

static int cmp_ev(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    /* same instant: a wake-up before the switch that runs it */
    return (x->tp == TP_SWITCH) - (y->tp == TP_SWITCH);
}

void ctr_sched_drain(struct ctr_set *s)
{
    struct ctr_sched *c = s ? s->sched : NULL;
    if (!c)
        return;
    c->n_ev = 0;
    for (int k = 0; k < c->ncpu; k++)
        drain_ring(c, k);
    if (c->n_ev > 1)
        qsort(c->ev, c->n_ev, sizeof *c->ev, cmp_ev);
    for (size_t i = 0; i < c->n_ev; i++) {
        const struct ev *e = &c->ev[i];
        if (e->tp != TP_SWITCH) {
            int w = watch_index(c, e->tid);
            /* a second wake-up before it ran: keep the first; one while it
             * is still on its CPU: absorbed, no switch-in will follow */
            if (!c->running[w] && !c->pending[w])
                c->pending[w] = e->t;
            continue;
        }
        if (e->prev >= 0) {
            int p = watch_index(c, e->prev);
            c->running[p] = false;
            c->pending[p] = 0; /* woken while it ran: absorbed */
        }
        if (e->tid < 0)
            continue;
        int w = watch_index(c, e->tid);
        c->running[w] = true;
        if (!c->pending[w])
            continue; /* back from preemption: run-queue wait, not a wake-up */
        if (c->n_lat == LAT_MAX) {
            /* nobody asked for statistics in a long while: forget the older half */
            size_t half = LAT_MAX / 2;
            memmove(c->lat, c->lat + half, (LAT_MAX - half) * sizeof *c->lat);
            c->n_lat -= half;
            c->dropped += half;
        }
        if (c->n_lat == c->cap_lat) {
            size_t cap = c->cap_lat ? 2 * c->cap_lat : 4096;
            struct lat_rec *l = realloc(c->lat, cap * sizeof *l);
            if (!l) {
                c->dropped++;
                c->pending[w] = 0;
                continue;
            }
            c->lat = l;
            c->cap_lat = cap;
        }
        c->lat[c->n_lat].wake_ns = c->pending[w];
        c->lat[c->n_lat].lat_ns = e->t >= c->pending[w] ? e->t - c->pending[w] : 0;
        c->n_lat++;
        c->pending[w] = 0;
    }
}

/* Drain the tracepoint rings if one is more than half full (cheap check:
 * one load per CPU): at every ctr_read. */
static int sched_read(struct ctr_set *s, uint64_t *v)
{
    struct ctr_sched *c = s->sched;
    (void)v;
    if (!c)
        return 0;
    for (int k = 0; k < c->ncpu; k++) {
        const struct perf_event_mmap_page *meta = c->rings[k];
        uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
        if (head - meta->data_tail > c->data_bytes / 2) {
            ctr_sched_drain(s);
            return 0;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const uint64_t *v, size_t n, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1];
}

uint64_t ctr_sched_stats(struct ctr_set *s, uint64_t t0, uint64_t t1, double vals[6])
{
    struct ctr_sched *c = s->sched;
    memset(vals, 0, 6 * sizeof *vals);
    if (!c)
        return 0;
    ctr_sched_drain(s);
    size_t n = 0, keep = 0;
    if (c->cap_scratch < c->n_lat) {
        uint64_t *sc = realloc(c->scratch, c->n_lat * sizeof *sc);
        if (sc) {
            c->scratch = sc;
            c->cap_scratch = c->n_lat;
        }
    }
    for (size_t i = 0; i < c->n_lat; i++) {
        const struct lat_rec *l = &c->lat[i];
        if (l->wake_ns >= t0 && l->wake_ns < t1 && n < c->cap_scratch)
            c->scratch[n++] = l->lat_ns;
        if (l->wake_ns >= t0)
            c->lat[keep++] = *l;
    }
    c->n_lat = keep;
    uint64_t lr = lost_samples(c);
    uint64_t lost = (c->format_lost ? lr - c->lost_read : c->lost) + c->dropped;
    c->lost_read = lr;
    vals[CTR_LAT_LOST] = (double)lost;
    c->lost = c->dropped = 0;
    vals[CTR_LAT_COUNT] = (double)n;
    if (n) {
        qsort(c->scratch, n, sizeof *c->scratch, cmp_u64);
        vals[CTR_LAT_P50] = pct(c->scratch, n, 50);
        vals[CTR_LAT_P95] = pct(c->scratch, n, 95);
        vals[CTR_LAT_P99] = pct(c->scratch, n, 99);
        vals[CTR_LAT_MAX] = (double)c->scratch[n - 1];
    }
    return n;
}

const struct ctr_backend ctr_backend_sched = {
    .name = "sched",
    .describe = ctr_sched_available,
    .open = sched_open,
    .read = sched_read,
    .close = sched_close,
};
