/* ctr suite: every counter backend checked against work whose cost is
 * known (pages touched, ping-pong round trips, a 64-byte-stride walk), the
 * libpfm4 encodings, the parsers, and the region accumulation. Tests that
 * need what this machine lacks skip (tu_skip) with the reason and return. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/counters/ctr.h"
#include "harness/machine/probe.h"
#include "tests/testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#define MAXM 128

/* Faults beyond the pages touched: the stack, libc, and with ASan the
 * shadow memory of the touched range (one shadow byte per 8). */
#ifdef TEST_ASAN
#define FAULT_SLACK(pages) ((pages) / 8 + 256)
#else
#define FAULT_SLACK(pages) 256
#endif

static const struct metric *need(const struct metric *m, int n, const char *name)
{
    const struct metric *x = ctr_metric_find(m, n, name);
    ck_assert_msg(x != NULL, "metric %s missing", name);
    return x;
}

static double ok_value(const struct metric *m, int n, const char *name)
{
    const struct metric *x = need(m, n, name);
    ck_assert_msg(x->status == METRIC_OK, "%s: %s (%s)", name, metric_status_name(x->status), x->reason);
    return x->value;
}

/* Open cfg on tids, run fn(arg) between two reads, return the metrics. */
static int measure(const struct ctr_config *cfg, const int *tids, int n_tids, void (*fn)(void *), void *arg,
                   struct metric *m)
{
    struct ctr_set *s;
    char err[256];
    ck_assert_msg(ctr_open(&s, cfg, tids, n_tids, err, sizeof err) == 0, "ctr_open: %s", err);
    struct ctr_snap *a = ctr_snap_new(s), *b = ctr_snap_new(s);
    ck_assert(a && b);
    ck_assert_int_eq(ctr_read(s, a), 0);
    fn(arg);
    ck_assert_msg(ctr_read(s, b) == 0, "%s", ctr_last_error(s));
    int n = ctr_delta(s, a, b, m, MAXM);
    ck_assert_int_eq(n, ctr_n_metrics(s));
    ck_assert_int_le(n, MAXM);
    ctr_snap_free(a);
    ctr_snap_free(b);
    ctr_close(s);
    return n;
}

static void touch(void *arg)
{
    char err[128];
    ck_assert_int_eq(probe_touch_pages(*(long *)arg, err, sizeof err), 0);
}

/* ---- sw ---------------------------------------------------------------- */

START_TEST(test_sw_minor_faults_process)
{
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_SW;
    struct metric m[MAXM];
    long pages = 4096;
    int n = measure(&cfg, NULL, 0, touch, &pages, m);
    double f = ok_value(m, n, "minor_faults");
    ck_assert_msg(f >= pages && f <= pages + FAULT_SLACK(pages), "minor_faults %.0f for %ld fresh pages", f, pages);
    ck_assert_double_eq(ok_value(m, n, "major_faults"), 0);
    ck_assert(ok_value(m, n, "task_clock_ns") > 0);
    ck_assert(ok_value(m, n, "wall_ns") > 0);
}
END_TEST

/* A worker that touches pages on request and reports its tid. */
struct worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int tid;
    long pages; /* > 0: touch this many; -1: quit */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->mu);
    w->tid = (int)syscall(SYS_gettid);
    pthread_cond_broadcast(&w->cv);
    for (;;) {
        while (w->pages == 0)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->pages < 0)
            break;
        char err[128];
        probe_touch_pages(w->pages, err, sizeof err);
        w->pages = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void worker_start(struct worker *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    ck_assert_int_eq(pthread_create(&w->th, NULL, worker_main, w), 0);
    pthread_mutex_lock(&w->mu);
    while (!w->tid)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void worker_touch(struct worker *w, long pages)
{
    pthread_mutex_lock(&w->mu);
    w->pages = pages;
    pthread_cond_broadcast(&w->cv);
    while (w->pages != 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void worker_stop(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->pages = -1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
}

struct tid_work {
    struct worker *w;
    long pages;
};

static void worker_and_main_touch(void *arg)
{
    struct tid_work *t = arg;
    worker_touch(t->w, t->pages);
    touch(&(long){ 2 * t->pages }); /* the main thread: not watched */
}

START_TEST(test_sw_tid_list_counts_only_listed_threads)
{
    struct worker w;
    worker_start(&w); /* exists before the set opens, like a thread pool */
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_SW | CTR_SCHED;
    struct metric m[MAXM];
    struct tid_work t = { &w, 3000 };
    int n = measure(&cfg, &w.tid, 1, worker_and_main_touch, &t, m);
    double f = ok_value(m, n, "minor_faults");
    ck_assert_msg(f >= 3000 && f < 3000 + FAULT_SLACK(3000), "minor_faults %.0f: want the worker's 3000 only", f);
    /* the per-thread split and the per-thread run-queue wait exist for a tid list */
    ok_value(m, n, "voluntary_switches");
    char name[64];
    snprintf(name, sizeof name, "runq_wait_ns.tid%d", w.tid);
    ok_value(m, n, name);
    worker_stop(&w);
}
END_TEST

static void *touch_thread(void *arg)
{
    touch(arg);
    return NULL;
}

static void spawn_toucher(void *arg)
{
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, touch_thread, arg), 0);
    pthread_join(th, NULL);
}

START_TEST(test_sw_process_mode_inherits_new_threads)
{
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_SW;
    struct metric m[MAXM];
    long pages = 2000;
    int n = measure(&cfg, NULL, 0, spawn_toucher, &pages, m);
    double f = ok_value(m, n, "minor_faults");
    ck_assert_msg(f >= pages, "minor_faults %.0f: a thread created after open touched %ld pages", f, pages);
}
END_TEST

START_TEST(test_open_rejects_foreign_tid)
{
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    struct ctr_set *s = NULL;
    char err[256];
    int one = 1; /* init: not a thread of this process */
    ck_assert_int_eq(ctr_open(&s, &cfg, &one, 1, err, sizeof err), CTR_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "tid 1"));
    cfg.sched_ring_pages = 3;
    ck_assert_int_eq(ctr_open(&s, &cfg, NULL, 0, err, sizeof err), CTR_EINVAL);
}
END_TEST

/* ---- sched ------------------------------------------------------------- */

START_TEST(test_sched_futex_pingpong)
{
    char why[256];
    bool sched_ok = ctr_sched_available(why, sizeof why);
    int cpu = probe_first_cpu();
    struct probe_pingpong *pp;
    char err[128];
    ck_assert_msg(probe_pingpong_new(&pp, PROBE_PP_FUTEX, cpu, err, sizeof err) == 0, "%s", err);
    int tids[2];
    probe_pingpong_tids(pp, tids);
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_SW | CTR_SCHED;
    struct ctr_set *s;
    ck_assert_msg(ctr_open(&s, &cfg, tids, 2, err, sizeof err) == 0, "%s", err);
    struct ctr_snap *a = ctr_snap_new(s), *b = ctr_snap_new(s);
    const long K = 2000;
    uint64_t ns;
    ctr_read(s, a);
    ck_assert_int_eq(probe_pingpong_run(pp, K, &ns), 0);
    ctr_read(s, b);
    struct metric m[MAXM];
    int n = ctr_delta(s, a, b, m, MAXM);
    /* pinned to one CPU, every hand-over is a switch: >= 2 per round trip */
    double cs = ok_value(m, n, "context_switches");
    ck_assert_msg(cs >= 2.0 * K, "context_switches %.0f < 2 x %ld round trips", cs, K);
    double vol = ok_value(m, n, "voluntary_switches"), invol = ok_value(m, n, "involuntary_switches");
    ck_assert_msg(vol + invol >= 2.0 * K, "voluntary %.0f + involuntary %.0f < %ld", vol, invol, 2 * K);
    ck_assert(ok_value(m, n, "runq_wait_ns") > 0);
    if (!sched_ok) {
        const struct metric *c = need(m, n, "wakeup_latency_count");
        ck_assert_int_eq(c->status, METRIC_UNSUPPORTED);
        ck_assert(c->reason[0] != '\0');
        tu_skip("tracefs", "latency part: %s", why);
    } else {
        double cnt = ok_value(m, n, "wakeup_latency_count");
        ck_assert_msg(cnt >= K, "%.0f wake-up latency samples for %ld round trips", cnt, K);
        double p50 = ok_value(m, n, "wakeup_latency_p50_ns"), p95 = ok_value(m, n, "wakeup_latency_p95_ns");
        double p99 = ok_value(m, n, "wakeup_latency_p99_ns"), mx = ok_value(m, n, "wakeup_latency_max_ns");
        ck_assert(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= mx);
        ck_assert_double_eq(ok_value(m, n, "wakeup_lost_events"), 0);
        /* every wake-up that led to a switch-in followed a sleep: a voluntary switch */
        ck_assert_msg(cnt <= vol + 2, "%.0f wake-ups but %.0f voluntary switches", cnt, vol);
        /* a second interval sees only its own wake-ups */
        ctr_read(s, a);
        ctr_read(s, b);
        n = ctr_delta(s, a, b, m, MAXM);
        ck_assert_double_lt(ok_value(m, n, "wakeup_latency_count"), 10);
    }
    ctr_snap_free(a);
    ctr_snap_free(b);
    ctr_close(s);
    probe_pingpong_free(pp);
}
END_TEST

/* Sets opened one after the other reuse the previous set's parked events
 * (ctr_sched.c): each must still count its own threads' wake-ups and none
 * of another pair's, though both pairs share the process's comm, which is
 * what the kernel filter matches. */
START_TEST(test_sched_reused_events_follow_new_threads)
{
    char why[256];
    if (!ctr_sched_available(why, sizeof why)) {
        tu_skip("tracefs", "%s", why);
        return;
    }
    int cpu = probe_first_cpu();
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_SCHED;
    const long K = 500;
    for (int round = 0; round < 3; round++) {
        struct probe_pingpong *pa, *pb;
        char err[128];
        ck_assert_msg(probe_pingpong_new(&pa, PROBE_PP_FUTEX, cpu, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(probe_pingpong_new(&pb, PROBE_PP_FUTEX, cpu, err, sizeof err) == 0, "%s", err);
        int tids[2];
        probe_pingpong_tids(pa, tids);
        struct ctr_set *s;
        ck_assert_msg(ctr_open(&s, &cfg, tids, 2, err, sizeof err) == 0, "%s", err);
        struct ctr_snap *a = ctr_snap_new(s), *b = ctr_snap_new(s);
        struct metric m[MAXM];
        uint64_t ns;
        ctr_read(s, a);
        ck_assert_int_eq(probe_pingpong_run(pb, K, &ns), 0); /* not watched */
        ctr_read(s, b);
        int n = ctr_delta(s, a, b, m, MAXM);
        ck_assert_msg(ok_value(m, n, "wakeup_latency_count") < 10, "round %d: %.0f wake-ups of unwatched threads",
                      round, ok_value(m, n, "wakeup_latency_count"));
        ctr_read(s, a);
        ck_assert_int_eq(probe_pingpong_run(pa, K, &ns), 0);
        ctr_read(s, b);
        n = ctr_delta(s, a, b, m, MAXM);
        ck_assert_msg(ok_value(m, n, "wakeup_latency_count") >= K, "round %d: %.0f wake-ups for %ld round trips",
                      round, ok_value(m, n, "wakeup_latency_count"), K);
        ck_assert_double_eq(ok_value(m, n, "wakeup_lost_events"), 0);
        ctr_snap_free(a);
        ctr_snap_free(b);
        ctr_close(s);
        probe_pingpong_free(pa);
        probe_pingpong_free(pb);
    }
}
END_TEST

START_TEST(test_tp_field_parse)
{
    const char *fmt = "name: sched_switch\nID: 372\nformat:\n"
                      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                      "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
                      "\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
                      "\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
                      "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n";
    int off = -1, size = -1;
    ck_assert_int_eq(ctr_tp_field(fmt, "next_pid", &off, &size), 0);
    ck_assert_int_eq(off, 56);
    ck_assert_int_eq(size, 4);
    ck_assert_int_eq(ctr_tp_field(fmt, "prev_comm", &off, &size), 0);
    ck_assert_int_eq(off, 8);
    ck_assert_int_eq(size, 16);
    ck_assert_int_eq(ctr_tp_field(fmt, "common_type", &off, &size), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(ctr_tp_field(fmt, "pid", &off, &size), CTR_ECORRUPT); /* not "prev_pid" */
    ck_assert_int_eq(ctr_tp_field(fmt, "next", &off, &size), CTR_ECORRUPT);
}
END_TEST

/* ---- hw ---------------------------------------------------------------- */

START_TEST(test_hw_encode_libpfm)
{
    struct ctr_hw_encoding e;
    char err[256];
    /* PERF_TYPE_HARDWARE = 0 with its generic ids, or a raw encoding that must be nonzero */
    ck_assert_msg(ctr_hw_encode("cycles", &e, err, sizeof err) == 0, "%s", err);
    ck_assert_msg((e.type == 0 && e.config == 0) || (e.type != 3 && e.config != 0), "cycles: type %u config %#llx",
                  e.type, (unsigned long long)e.config);
    ck_assert(e.fstr[0] != '\0');
    ck_assert_msg(ctr_hw_encode("instructions", &e, err, sizeof err) == 0, "%s", err);
    ck_assert_msg((e.type == 0 && e.config == 1) || (e.type != 3 && e.config != 0), "instructions: type %u config %#llx",
                  e.type, (unsigned long long)e.config);
    /* the generic cache events: PERF_TYPE_HW_CACHE (3), L1D | READ<<8 | MISS<<16 */
    ck_assert_msg(ctr_hw_encode("L1-DCACHE-LOAD-MISSES", &e, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(e.type, 3);
    ck_assert_uint_eq(e.config, 0x10000);
    ck_assert_msg(ctr_hw_encode("LLC-LOAD-MISSES", &e, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(e.config, 0x10002);
    ck_assert_msg(ctr_hw_encode("DTLB-LOAD-MISSES", &e, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(e.config, 0x10003);
    ck_assert_int_eq(ctr_hw_encode("no-such-event-xyz", &e, err, sizeof err), CTR_EUNSUPPORTED);
    ck_assert_msg(strstr(err, "no-such-event-xyz") != NULL, "message does not name the event: %s", err);

    /* an unknown name in a set: unsupported with the name, the rest open as usual */
    const char *names[] = { "instructions", "no-such-event-xyz" };
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_HW;
    cfg.hw_events = names;
    cfg.n_hw_events = 2;
    struct ctr_set *s;
    ck_assert_int_eq(ctr_open(&s, &cfg, NULL, 0, err, sizeof err), 0);
    struct metric m[MAXM];
    int n = ctr_describe(s, m, MAXM);
    const struct metric *bad = need(m, n, "no_such_event_xyz");
    ck_assert_int_eq(bad->status, METRIC_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(bad->reason, "no-such-event-xyz"));
    ctr_close(s);
}
END_TEST

static void spin(void *arg)
{
    volatile uint64_t x = 0;
    for (long i = 0; i < *(long *)arg; i++)
        x += (uint64_t)i;
}

START_TEST(test_hw_counting_or_skip)
{
    char why[256];
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_HW;
    struct metric m[MAXM];
    long iters = 10 * 1000 * 1000;
    int n = measure(&cfg, NULL, 0, spin, &iters, m);
    if (!ctr_hw_pmu_present(why, sizeof why)) {
        /* no PMU: every hw metric says so, and why */
        for (int i = 0; i < n; i++) {
            if (m[i].source != METRIC_SRC_HW)
                continue;
            ck_assert_int_eq(m[i].status, METRIC_UNSUPPORTED);
            ck_assert_msg(strstr(m[i].reason, "perf_event_open(") != NULL, "%s: %s", m[i].name, m[i].reason);
            ck_assert_msg(strstr(m[i].reason, "PMU") != NULL, "%s: %s", m[i].name, m[i].reason);
        }
        tu_skip("pmu", "%s", why);
        return;
    }
    const struct metric *ins = need(m, n, "instructions"), *cyc = need(m, n, "cycles");
    if (ins->status != METRIC_OK) {
        tu_skip("pmu-event", "%s", ins->reason);
        return;
    }
    /* the loop body is at least load, add, store, compare, branch */
    ck_assert_msg(ins->value >= 3.0 * iters, "instructions %.0f for %ld iterations", ins->value, iters);
    ck_assert(ins->running_fraction > 0 && ins->running_fraction <= 1.0);
    if (cyc->status == METRIC_OK)
        ck_assert(cyc->value > 0);
}
END_TEST

START_TEST(test_unsupported_have_reasons)
{
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.uncore = true;
    struct ctr_set *s;
    char err[256];
    ck_assert_int_eq(ctr_open(&s, &cfg, NULL, 0, err, sizeof err), 0);
    struct metric m[MAXM];
    int n = ctr_describe(s, m, MAXM);
    ck_assert_int_gt(n, 10);
    for (int i = 0; i < n; i++) {
        ck_assert(m[i].name[0] && m[i].unit);
        if (m[i].status != METRIC_OK)
            ck_assert_msg(m[i].reason[0] != '\0', "%s is %s without a reason", m[i].name,
                          metric_status_name(m[i].status));
    }
    struct ctr_snap *a = ctr_snap_new(s), *b = ctr_snap_new(s);
    ctr_read(s, a);
    ctr_read(s, b);
    n = ctr_delta(s, a, b, m, MAXM);
    for (int i = 0; i < n; i++)
        if (m[i].status != METRIC_OK) {
            ck_assert_msg(m[i].reason[0] != '\0', "%s: no reason", m[i].name);
            ck_assert_double_eq(m[i].value, 0);
        }
    ctr_snap_free(a);
    ctr_snap_free(b);
    ctr_close(s);
}
END_TEST

/* ---- whole commands ---------------------------------------------------- */

/* perf stat's page-faults of cmd, from its -x, output on stderr; -1 if none. */
static double perf_stat_faults(const char *cmd)
{
    char line[1200], out[4096];
    snprintf(line, sizeof line, "perf stat -x, -e page-faults -- %s 2>&1 >/dev/null", cmd);
    if (tu_run(line, out, sizeof out, NULL, 0) != 0)
        return -1;
    for (char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        char *c = strstr(p, ",,page-faults,");
        char *nl = strchr(p, '\n');
        if (c && (!nl || c < nl))
            return strtod(p, NULL);
    }
    return -1;
}

START_TEST(test_run_cmd_agrees_with_perf_stat)
{
    if (access("/usr/bin/perf", X_OK) != 0) {
        tu_skip("perf", "/usr/bin/perf not installed (Debian package linux-perf)");
        return;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s probe --touch-pages 20000", tu_ggperf_bin());
    double pf = perf_stat_faults(cmd);
    if (pf < 0) {
        tu_skip("perf-sw", "perf stat did not report page-faults here");
        return;
    }
    char *argv[] = { (char *)tu_ggperf_bin(), "probe", "--touch-pages", "20000", NULL };
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_SW;
    struct metric m[MAXM];
    int ws = -1;
    char err[256];
    int n = ctr_run_cmd(argv, &cfg, true, m, MAXM, &ws, err, sizeof err);
    ck_assert_msg(n > 0, "%s", err);
    ck_assert_int_eq(ws, 0);
    double mine = ok_value(m, n, "minor_faults") + ok_value(m, n, "major_faults");
    ck_assert_msg(mine >= 20000, "page faults %.0f < 20000 pages touched", mine);
    ck_assert_msg(fabs(mine - pf) <= 0.05 * pf, "ctr_run_cmd %.0f page faults, perf stat %.0f", mine, pf);
    ck_assert(ok_value(m, n, "task_clock_ns") > 0);

    char *bad[] = { "/nonexistent/ggperf-no-such-program", NULL };
    ck_assert_int_eq(ctr_run_cmd(bad, &cfg, true, m, MAXM, &ws, err, sizeof err), CTR_EIO);
    ck_assert_ptr_nonnull(strstr(err, "ggperf-no-such-program"));
}
END_TEST

/* ---- regions ----------------------------------------------------------- */

static void regions_script(struct region_hooks *h, long pages)
{
    region_begin(h, REGION_DECODE, 0);
    for (int l = 0; l < 2; l++) {
        region_begin(h, REGION_LAYER, l);
        region_begin(h, REGION_MATMUL, 0);
        touch(&pages);
        region_end(h, REGION_MATMUL, 0);
        region_end(h, REGION_LAYER, l);
    }
    region_end(h, REGION_DECODE, 0);
}

START_TEST(test_regions_nesting)
{
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    cfg.backends = CTR_SW;
    cfg.thread_stats = false;
    struct ctr_set *s;
    struct ctr_regions *r;
    char err[256];
    ck_assert_int_eq(ctr_open(&s, &cfg, NULL, 0, err, sizeof err), 0);
    ck_assert_int_eq(ctr_regions_new(&r, s, err, sizeof err), 0);
    struct region_hooks h = ctr_region_hooks(r);
    const long pages = 500;
    regions_script(&h, pages);
    ck_assert_uint_eq(ctr_regions_errors(r), 0);

    struct metric m[MAXM];
    uint64_t cnt[REGION_KIND_COUNT], ns[REGION_KIND_COUNT];
    double faults[REGION_KIND_COUNT];
    enum region_kind kinds[3] = { REGION_DECODE, REGION_LAYER, REGION_MATMUL };
    for (int k = 0; k < 3; k++) {
        int n = ctr_regions_get(r, kinds[k], &cnt[kinds[k]], &ns[kinds[k]], m, MAXM);
        faults[kinds[k]] = ok_value(m, n, "minor_faults");
        ck_assert_ptr_null(ctr_metric_find(m, n, "wakeup_latency_p50_ns")); /* not per region */
    }
    ck_assert_uint_eq(cnt[REGION_DECODE], 1);
    ck_assert_uint_eq(cnt[REGION_LAYER], 2);
    ck_assert_uint_eq(cnt[REGION_MATMUL], 2);
    /* nested regions: the outer one contains the inner ones */
    ck_assert_uint_ge(ns[REGION_DECODE], ns[REGION_LAYER]);
    ck_assert_uint_ge(ns[REGION_LAYER], ns[REGION_MATMUL]);
    ck_assert_double_ge(faults[REGION_MATMUL], 2.0 * pages);
    ck_assert_double_ge(faults[REGION_LAYER], faults[REGION_MATMUL]);
    ck_assert_double_ge(faults[REGION_DECODE], faults[REGION_LAYER]);
    ck_assert_double_lt(faults[REGION_DECODE], 2.0 * pages + FAULT_SLACK(2 * pages));

    /* a stray end and a wrong-kind end are errors, not totals */
    region_end(&h, REGION_DECODE, 0);
    region_begin(&h, REGION_LAYER, 0);
    region_end(&h, REGION_ATTN, 0);
    ck_assert_uint_eq(ctr_regions_errors(r), 2);
    ctr_regions_get(r, REGION_ATTN, &cnt[0], NULL, m, MAXM);
    ck_assert_uint_eq(cnt[0], 0);
    ctr_regions_reset(r);
    ctr_regions_get(r, REGION_LAYER, &cnt[0], NULL, m, MAXM);
    ck_assert_uint_eq(cnt[0], 0);
    ck_assert_int_eq(ctr_regions_get(r, REGION_KIND_COUNT, NULL, NULL, m, MAXM), CTR_EINVAL);
    ctr_regions_free(r);

    /* counters off: counts and wall time only */
    ck_assert_int_eq(ctr_regions_new(&r, NULL, err, sizeof err), 0);
    h = ctr_region_hooks(r);
    regions_script(&h, 10);
    ck_assert_int_eq(ctr_regions_get(r, REGION_LAYER, &cnt[0], &ns[0], m, MAXM), 0);
    ck_assert_uint_eq(cnt[0], 2);
    ck_assert_uint_gt(ns[0], 0);
    ctr_regions_free(r);
    ctr_close(s);
}
END_TEST

/* ---- sim --------------------------------------------------------------- */

START_TEST(test_sim_parse)
{
    const char *dir = tu_tmpdir();
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/callgrind.out", dir);
    const char *text = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npositions: line\n"
                       "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n"
                       "summary: 327698 65538 8 2 65536 2 2 65536 2\n"
                       "fn=(1) main\n16 5 1\n"
                       "totals: 327689 65538 2 1 65536 1 1 65536\n";
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    struct ctr_sim_result r;
    memset(&r, 0, sizeof r);
    ck_assert_msg(ctr_sim_parse(path, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(r.ir, 327689); /* totals win over summary */
    ck_assert_uint_eq(r.d1mr, 65536);
    ck_assert_uint_eq(r.dlmr, 65536);
    ck_assert_uint_eq(r.dlmw, 0); /* omitted trailing count */
    struct metric m[8];
    int n = ctr_sim_metrics(&r, m, 8);
    ck_assert_double_eq(ok_value(m, n, "d1_misses"), 65537);
    ck_assert_int_eq(need(m, n, "ll_misses")->source, METRIC_SRC_SIM);

    const char *bad = "events: Ir Dr\ntotals: 12 x\n";
    ck_assert_int_eq(tu_write_file(path, bad, strlen(bad)), 0);
    ck_assert_int_eq(ctr_sim_parse(path, &r, err, sizeof err), CTR_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(err, ":2:"));
    const char *none = "events: Ir\nfn=(1) main\n";
    ck_assert_int_eq(tu_write_file(path, none, strlen(none)), 0);
    ck_assert_int_eq(ctr_sim_parse(path, &r, err, sizeof err), CTR_ECORRUPT);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_sim_cache_fix)
{
    struct ctr_sim_cache c = { 491520ull << 10, 16, 64 }; /* this VM's "480 MiB" L3 */
    ck_assert(ctr_sim_cache_fix(&c));
    ck_assert_uint_eq(c.size_bytes, 491520ull << 10);
    ck_assert_int_eq(c.ways, 15);
    uint64_t sets = c.size_bytes / 64 / 15;
    ck_assert_uint_eq(sets & (sets - 1), 0);
    struct ctr_sim_cache d1 = { 48 << 10, 12, 64 }; /* 64 sets: fine as is */
    ck_assert(!ctr_sim_cache_fix(&d1));
    struct ctr_sim_cache odd = { 3000, 7, 64 }; /* 46 lines: no associativity fits; size rounds down */
    ck_assert(ctr_sim_cache_fix(&odd));
    uint64_t osets = odd.size_bytes / 64 / (uint64_t)odd.ways;
    ck_assert_uint_eq(osets & (osets - 1), 0);
    ck_assert_uint_le(odd.size_bytes, 3000);

    struct ctr_sim_regions st;
    char err[256];
    ck_assert_int_eq(ctr_sim_regions_parse(&st, "layer:3", err, sizeof err), 0);
    ck_assert_int_eq(st.kind, REGION_LAYER);
    ck_assert_int_eq(st.index, 3);
    ck_assert_int_eq(ctr_sim_regions_parse(&st, "decode", err, sizeof err), 0);
    ck_assert_int_eq(st.index, -1);
    ck_assert_int_eq(ctr_sim_regions_parse(&st, "layers", err, sizeof err), CTR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "layers"));
    ck_assert_int_eq(ctr_sim_regions_parse(&st, "layer:x", err, sizeof err), CTR_EINVAL);
}
END_TEST

START_TEST(test_sim_walk_deterministic)
{
#ifdef TEST_ASAN
    tu_skip("sanitizer", "ggperf is built with AddressSanitizer, which cannot run under valgrind");
    return;
#endif
    char ver[96];
    if (ctr_sim_valgrind_version(ver, sizeof ver) != 0) {
        tu_skip("valgrind", "%s", ver);
        return;
    }
    /* a 1 MiB simulated LL and a 4 MiB buffer: every line misses D1 and LL */
    const uint64_t bytes = 4u << 20;
    char arg[32];
    snprintf(arg, sizeof arg, "%llu", (unsigned long long)bytes);
    char *argv[] = { (char *)tu_ggperf_bin(), "probe", "--sim-walk", arg, NULL };
    struct ctr_sim_opts o;
    memset(&o, 0, sizeof o);
    o.ll.size_bytes = 1u << 20;
    o.ll.ways = 16;
    o.ll.line_bytes = 64;
    o.isa_path = "avx2";
    struct ctr_sim_result r[2];
    char err[512];
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(ctr_sim_run(argv, &o, &r[i], err, sizeof err) == 0, "%s", err);
        ck_assert_msg(WIFEXITED(r[i].wstatus) && WEXITSTATUS(r[i].wstatus) == 0, "walk exited %d", r[i].wstatus);
    }
    double lines = (double)bytes / 64;
    ck_assert_msg(fabs((double)r[0].d1mr - lines) <= 0.05 * lines, "D1 read misses %llu, lines %.0f",
                  (unsigned long long)r[0].d1mr, lines);
    ck_assert_msg(fabs((double)r[0].dlmr - lines) <= 0.05 * lines, "LL read misses %llu, lines %.0f",
                  (unsigned long long)r[0].dlmr, lines);
    ck_assert_uint_eq(r[0].d1mr, r[1].d1mr);
    ck_assert_uint_eq(r[0].dlmr, r[1].dlmr);
    ck_assert_uint_eq(r[0].ir, r[1].ir);
    ck_assert_uint_eq(r[0].ll.size_bytes, 1u << 20);
    /* only the third of the four layer regions, through the region hooks */
    o.region = "layer:2";
    struct ctr_sim_result q;
    ck_assert_msg(ctr_sim_run(argv, &o, &q, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(fabs((double)q.d1mr - lines / 4) <= 0.05 * lines / 4, "layer:2 D1 read misses %llu, lines/4 %.0f",
                  (unsigned long long)q.d1mr, lines / 4);
    ck_assert_str_eq(r[0].isa_path, "avx2");
    ck_assert_ptr_nonnull(strstr(r[0].valgrind_version, "valgrind"));
    ck_assert(r[0].d1.size_bytes > 0); /* the machine's: sysfs, CPUID or getconf */
    ck_assert_msg(strcmp(r[0].geometry_source, "sysfs") == 0 || strcmp(r[0].geometry_source, "cpuid") == 0 ||
                      strcmp(r[0].geometry_source, "getconf") == 0 || strcmp(r[0].geometry_source, "user") == 0,
                  "geometry source '%s'", r[0].geometry_source);
}
END_TEST

/* The backend list behind the interface: names and bits agree, "all" is
 * every bit and nothing more, availability is each backend's own check,
 * and a bit past the list is refused at open. */
START_TEST(test_backend_table)
{
    const int n = ctr_backend_count();
    ck_assert_int_ge(n, 3);
    ck_assert_str_eq(ctr_backend_name(0), "hw");
    ck_assert_str_eq(ctr_backend_name(1), "sw");
    ck_assert_str_eq(ctr_backend_name(2), "sched");
    ck_assert_ptr_null(ctr_backend_name(n));
    ck_assert_int_eq(ctr_backend_bit("hw"), CTR_HW);
    ck_assert_int_eq(ctr_backend_bit("sw"), CTR_SW);
    ck_assert_int_eq(ctr_backend_bit("sched"), CTR_SCHED);
    ck_assert_int_eq(ctr_backend_bit("nope"), 0);
    unsigned all = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(ctr_backend_bit(ctr_backend_name(i)), (int)(1u << i));
        all |= 1u << i;
    }
    ck_assert_uint_eq(ctr_backends_all(), all);
    struct ctr_config cfg;
    ctr_config_default(&cfg);
    ck_assert_uint_eq(cfg.backends, all);

    char a[256], b[256];
    ck_assert(ctr_backend_available(1, a, sizeof a) == ctr_sw_available(b, sizeof b));
    ck_assert(!ctr_backend_available(n, a, sizeof a));

    cfg.backends = 1u << n;
    struct ctr_set *set = (struct ctr_set *)1;
    char err[256];
    ck_assert_int_eq(ctr_open(&set, &cfg, NULL, 0, err, sizeof err), CTR_EINVAL);
    ck_assert_ptr_null(set);
}
END_TEST

Suite *ctr_suite(void)
{
    Suite *s = suite_create("ctr");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_backend_table);
    tcase_add_test(tc, test_sw_minor_faults_process);
    tcase_add_test(tc, test_sw_tid_list_counts_only_listed_threads);
    tcase_add_test(tc, test_sw_process_mode_inherits_new_threads);
    tcase_add_test(tc, test_open_rejects_foreign_tid);
    tcase_add_test(tc, test_sched_futex_pingpong);
    tcase_add_test(tc, test_sched_reused_events_follow_new_threads);
    tcase_add_test(tc, test_tp_field_parse);
    tcase_add_test(tc, test_hw_encode_libpfm);
    tcase_add_test(tc, test_hw_counting_or_skip);
    tcase_add_test(tc, test_unsupported_have_reasons);
    tcase_add_test(tc, test_run_cmd_agrees_with_perf_stat);
    tcase_add_test(tc, test_regions_nesting);
    tcase_add_test(tc, test_sim_parse);
    tcase_add_test(tc, test_sim_cache_fix);
    tcase_add_test(tc, test_sim_walk_deterministic);
    suite_add_tcase(s, tc);
    return s;
}
