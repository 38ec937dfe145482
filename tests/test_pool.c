/* pool suite: dispatch runs fn once per thread, barriers really separate
 * phases (plain memory written before is read after, under every wait
 * policy, oversubscribed too), the split helper tiles [0,n), pinning, tids,
 * stats, CPU list parsing, and that all memory goes through the hooks. */
#include <check.h>
#include <dirent.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/mem.h"
#include "engine/pool.h"
#include "tests/testutil.h"

static const enum pool_wait k_policies[] = { POOL_WAIT_SPIN, POOL_WAIT_FUTEX, POOL_WAIT_HYBRID };
static const int k_counts[] = { 1, 2, 3, 4, 8 };
#define N_POLICIES ((int)(sizeof k_policies / sizeof k_policies[0]))
#define N_COUNTS ((int)(sizeof k_counts / sizeof k_counts[0]))
#define MAX_T 8

static int my_tid(void)
{
    return (int)syscall(SYS_gettid);
}

static int n_online_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return CPU_COUNT(&set);
}

static struct pool *make_pool(int n, enum pool_wait w, uint64_t spin_ns)
{
    char err[256] = "";
    struct pool_opts o = { .n_threads = n, .wait = w, .spin_ns = spin_ns };
    struct pool *p = pool_new(&o, NULL, err, sizeof err);
    ck_assert_msg(p != NULL, "pool_new(%d, %s): %s", n, pool_wait_name(w), err);
    return p;
}

/* ---- dispatch: once per ith, right nth, ith 0 on the caller ---- */

struct once_ctx {
    int hits[MAX_T];
    int nth_seen[MAX_T];
    int tid_seen[MAX_T];
};

static void once_fn(void *arg, int ith, int nth)
{
    struct once_ctx *c = arg;
    c->hits[ith]++;
    c->nth_seen[ith] = nth;
    c->tid_seen[ith] = my_tid();
}

START_TEST(test_run_once_per_thread)
{
    enum pool_wait w = k_policies[_i];
    for (int k = 0; k < N_COUNTS; k++) {
        int n = k_counts[k];
        struct pool *p = make_pool(n, w, 0);
        ck_assert_int_eq(pool_threads(p), n);
        struct once_ctx c;
        memset(&c, 0, sizeof c);
        const int runs = 50;
        for (int r = 0; r < runs; r++)
            pool_run(p, once_fn, &c);
        for (int i = 0; i < n; i++) {
            ck_assert_msg(c.hits[i] == runs, "%s n=%d: thread %d ran %d times, want %d", pool_wait_name(w), n, i,
                          c.hits[i], runs);
            ck_assert_int_eq(c.nth_seen[i], n);
            ck_assert_int_eq(c.tid_seen[i], pool_thread_tid(p, i));
        }
        for (int i = n; i < MAX_T; i++)
            ck_assert_int_eq(c.hits[i], 0);
        ck_assert_int_eq(c.tid_seen[0], my_tid());
        struct pool_stats s;
        pool_get_stats(p, &s);
        ck_assert_uint_eq(s.runs, runs);
        ck_assert_uint_eq(s.barriers, 0);
        pool_free(p);
    }
}
END_TEST

/* ---- barrier: plain writes before are seen by all after ---- */

#define BARRIERS_PER_RUN 10

struct bar_ctx {
    struct pool *p;
    int run;
    /* Plain (non-atomic) data on purpose: only the barrier orders it, so a
     * broken barrier shows as wrong values here and as a race under TSan. */
    int64_t slot[MAX_T];
    int errors[MAX_T];
};

static int64_t bar_value(int run, int round, int ith)
{
    return ((int64_t)run * 1000 + round) * 16 + ith;
}

static void bar_fn(void *arg, int ith, int nth)
{
    struct bar_ctx *c = arg;
    for (int round = 0; round < BARRIERS_PER_RUN / 2; round++) {
        c->slot[ith] = bar_value(c->run, round, ith);
        pool_barrier(c->p, ith);
        for (int j = 0; j < nth; j++) {
            if (c->slot[j] != bar_value(c->run, round, j))
                c->errors[ith]++;
        }
        /* Nobody writes the next round before everyone has read this one. */
        pool_barrier(c->p, ith);
    }
}

START_TEST(test_barrier_separates_phases)
{
    enum pool_wait w = k_policies[_i];
    int cpus = n_online_cpus();
    for (int k = 0; k < N_COUNTS; k++) {
        int n = k_counts[k];
        /* Oversubscribed spinning is slow by design: fewer runs there. */
        int runs = n <= cpus ? 1000 : (w == POOL_WAIT_FUTEX ? 300 : 100);
        struct pool *p = make_pool(n, w, 0);
        struct bar_ctx c;
        memset(&c, 0, sizeof c);
        c.p = p;
        for (c.run = 0; c.run < runs; c.run++)
            pool_run(p, bar_fn, &c);
        for (int i = 0; i < n; i++)
            ck_assert_msg(c.errors[i] == 0, "%s n=%d: thread %d saw %d stale slots", pool_wait_name(w), n, i,
                          c.errors[i]);
        /* pool_run's end is a barrier too: the last round is visible here. */
        for (int i = 0; i < n; i++)
            ck_assert(c.slot[i] == bar_value(runs - 1, BARRIERS_PER_RUN / 2 - 1, i));
        struct pool_stats s;
        pool_get_stats(p, &s);
        ck_assert_uint_eq(s.runs, (uint64_t)runs);
        ck_assert_uint_eq(s.barriers, (uint64_t)runs * BARRIERS_PER_RUN);
        if (w == POOL_WAIT_SPIN) {
            ck_assert_uint_eq(s.futex_waits, 0);
            ck_assert_uint_eq(s.futex_wakes, 0);
        }
        pool_free(p);
    }
}
END_TEST

/* ---- pool_split ---- */

static void check_split(int64_t n, int nth, int64_t grain)
{
    int64_t g = grain < 1 ? 1 : grain;
    int64_t prev_end = 0, min_len = INT64_MAX, max_len = 0;
    for (int i = 0; i < nth; i++) {
        int64_t b = -7, e = -7;
        pool_split(n, i, nth, grain, &b, &e);
        ck_assert_msg(b == prev_end, "n=%lld nth=%d grain=%lld: part %d begins at %lld, previous ended at %lld",
                      (long long)n, nth, (long long)grain, i, (long long)b, (long long)prev_end);
        ck_assert_msg(e >= b && e <= n, "n=%lld nth=%d grain=%lld: part %d is [%lld,%lld)", (long long)n, nth,
                      (long long)grain, i, (long long)b, (long long)e);
        ck_assert_msg(b % g == 0 || b == n, "begin %lld not a multiple of grain %lld", (long long)b, (long long)g);
        ck_assert_msg(e % g == 0 || e == n, "end %lld not a multiple of grain %lld", (long long)e, (long long)g);
        int64_t len = e - b;
        if (len < min_len)
            min_len = len;
        if (len > max_len)
            max_len = len;
        prev_end = e;
    }
    ck_assert_msg(prev_end == n, "n=%lld nth=%d grain=%lld: parts end at %lld", (long long)n, nth, (long long)grain,
                  (long long)prev_end);
    /* Whole grains per part differ by at most one; the last grain may be
     * partial, so sizes differ by less than two grains. */
    ck_assert_msg(max_len - min_len < 2 * g, "n=%lld nth=%d grain=%lld: part sizes %lld..%lld", (long long)n, nth,
                  (long long)grain, (long long)min_len, (long long)max_len);
}

START_TEST(test_split_tiles_range)
{
    static const int64_t grains[] = { 0, 1, 2, 3, 4, 7, 16, 32, 100 };
    for (int64_t n = 0; n <= 130; n++)
        for (int nth = 1; nth <= 9; nth++)
            for (size_t gi = 0; gi < sizeof grains / sizeof grains[0]; gi++)
                check_split(n, nth, grains[gi]);
    check_split(4096, 3, 32);
    check_split(32000, 8, 256);
    check_split(INT64_MAX, 7, 1);
    check_split(INT64_MAX, 5, (int64_t)1 << 40);
    check_split(INT64_MAX - 3, 64, INT64_MAX / 2);

    /* n < nth: the first n threads get one element, the rest nothing. */
    int64_t b, e;
    pool_split(3, 4, 8, 1, &b, &e);
    ck_assert(b == 3 && e == 3);
    pool_split(3, 1, 8, 1, &b, &e);
    ck_assert(b == 1 && e == 2);
    /* Out-of-range arguments give an empty part. */
    pool_split(10, 2, 2, 1, &b, &e);
    ck_assert(b == 0 && e == 0);
    pool_split(10, -1, 2, 1, &b, &e);
    ck_assert(b == 0 && e == 0);
    pool_split(10, 0, 0, 1, &b, &e);
    ck_assert(b == 0 && e == 0);
    pool_split(-5, 0, 1, 1, &b, &e);
    ck_assert(b == 0 && e == 0);
}
END_TEST

/* ---- options, pinning, tids ---- */

START_TEST(test_bad_options_rejected)
{
    char err[256];
    static const int counts[] = { 0, -1, POOL_MAX_THREADS + 1 };
    for (int i = 0; i < 3; i++) {
        struct pool_opts o = { .n_threads = counts[i], .wait = POOL_WAIT_HYBRID };
        err[0] = '\0';
        ck_assert_ptr_null(pool_new(&o, NULL, err, sizeof err));
        ck_assert_msg(strstr(err, "n_threads") != NULL, "message: %s", err);
    }
    struct pool_opts o = { .n_threads = 2, .wait = (enum pool_wait)7 };
    ck_assert_ptr_null(pool_new(&o, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "wait policy 7"));
    ck_assert_ptr_null(pool_new(NULL, NULL, err, sizeof err));
    int cpu0 = 0;
    struct pool_opts o2 = { .n_threads = 2, .wait = POOL_WAIT_SPIN, .cpus = &cpu0, .n_cpus = 0 };
    ck_assert_ptr_null(pool_new(&o2, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "n_cpus"));
}
END_TEST

START_TEST(test_pin_invalid_cpu_fails)
{
    cpu_set_t mask;
    CPU_ZERO(&mask);
    ck_assert_int_eq(sched_getaffinity(0, sizeof mask, &mask), 0);
    int bad = -1;
    for (int c = CPU_SETSIZE - 1; c >= 0; c--) {
        if (!CPU_ISSET(c, &mask)) {
            bad = c;
            break;
        }
    }
    ck_assert_int_ge(bad, 0);
    char err[256] = "", want[32];
    int cpus[2] = { 0, bad };
    cpus[0] = sched_getcpu() >= 0 ? sched_getcpu() : 0;
    if (!CPU_ISSET(cpus[0], &mask))
        cpus[0] = bad; /* still a failure, just at index 0 */
    struct pool_opts o = { .n_threads = 2, .wait = POOL_WAIT_HYBRID, .cpus = cpus, .n_cpus = 2 };
    ck_assert_ptr_null(pool_new(&o, NULL, err, sizeof err));
    snprintf(want, sizeof want, "cpu %d ", bad);
    ck_assert_msg(strstr(err, want) != NULL, "message '%s' does not name %s", err, want);

    int out_of_range[] = { 5000, -3 };
    for (int i = 0; i < 2; i++) {
        struct pool_opts o2 = { .n_threads = 1, .wait = POOL_WAIT_SPIN, .cpus = &out_of_range[i], .n_cpus = 1 };
        ck_assert_ptr_null(pool_new(&o2, NULL, err, sizeof err));
        snprintf(want, sizeof want, "cpu %d ", out_of_range[i]);
        ck_assert_msg(strstr(err, want) != NULL, "message '%s' does not name %s", err, want);
    }
    /* A failed pool_new leaves the caller's mask alone. */
    cpu_set_t after;
    CPU_ZERO(&after);
    ck_assert_int_eq(sched_getaffinity(0, sizeof after, &after), 0);
    ck_assert(CPU_EQUAL(&mask, &after));
}
END_TEST

START_TEST(test_pin_cpu0)
{
    cpu_set_t orig;
    CPU_ZERO(&orig);
    ck_assert_int_eq(sched_getaffinity(0, sizeof orig, &orig), 0);
    if (!CPU_ISSET(0, &orig)) {
        tu_skip("affinity", "cpu 0 is not in this process's affinity mask");
        return;
    }
    int cpu0 = 0;
    char err[256] = "";
    struct pool_opts o = { .n_threads = 3, .wait = POOL_WAIT_HYBRID, .cpus = &cpu0, .n_cpus = 1 };
    struct pool *p = pool_new(&o, NULL, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert(pool_oversubscribed(p)); /* three threads on one CPU */
    for (int i = 0; i < 3; i++) {
        cpu_set_t m;
        CPU_ZERO(&m);
        ck_assert_int_eq(sched_getaffinity(pool_thread_tid(p, i), sizeof m, &m), 0);
        ck_assert_msg(CPU_COUNT(&m) == 1 && CPU_ISSET(0, &m), "thread %d (tid %d) is not pinned to {0}", i,
                      pool_thread_tid(p, i));
    }
    struct once_ctx c;
    memset(&c, 0, sizeof c);
    pool_run(p, once_fn, &c);
    ck_assert(c.hits[0] == 1 && c.hits[1] == 1 && c.hits[2] == 1);
    pool_free(p);
    cpu_set_t after;
    CPU_ZERO(&after);
    ck_assert_int_eq(sched_getaffinity(0, sizeof after, &after), 0);
    ck_assert_msg(CPU_EQUAL(&orig, &after), "pool_free did not restore the caller's affinity mask");
}
END_TEST

static int tid_in_proc_task(int tid)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (atoi(de->d_name) == tid)
            found = 1;
    }
    closedir(d);
    return found;
}

START_TEST(test_thread_tids)
{
    struct pool *p = make_pool(4, POOL_WAIT_HYBRID, 0);
    ck_assert_int_eq(pool_thread_tid(p, 0), my_tid());
    for (int i = 0; i < 4; i++) {
        int t = pool_thread_tid(p, i);
        ck_assert_int_gt(t, 0);
        ck_assert_msg(tid_in_proc_task(t) == 1, "tid %d of thread %d not in /proc/self/task", t, i);
        for (int j = 0; j < i; j++)
            ck_assert_int_ne(t, pool_thread_tid(p, j));
    }
    ck_assert_int_eq(pool_thread_tid(p, 4), -1);
    ck_assert_int_eq(pool_thread_tid(p, -1), -1);
    int worker = pool_thread_tid(p, 3);
    pool_free(p);
    ck_assert_int_eq(tid_in_proc_task(worker), 0); /* joined */
}
END_TEST

START_TEST(test_oversubscription_flag)
{
    int cpus = n_online_cpus();
    struct pool *p = make_pool(cpus + 1, POOL_WAIT_SPIN, 0);
    ck_assert(pool_oversubscribed(p));
    pool_free(p);
    p = make_pool(1, POOL_WAIT_SPIN, 0);
    ck_assert(!pool_oversubscribed(p));
    pool_free(p);
}
END_TEST

/* ---- stats ---- */

static void three_barriers_fn(void *arg, int ith, int nth)
{
    struct pool *p = arg;
    for (int i = 0; i < 3; i++)
        pool_barrier(p, ith);
}

START_TEST(test_stats_futex_sleepers)
{
    struct pool *p = make_pool(2, POOL_WAIT_FUTEX, 0);
    for (int r = 0; r < 5; r++) {
        pool_run(p, three_barriers_fn, p);
        usleep(5000); /* the worker goes to sleep waiting for the next run */
    }
    struct pool_stats s;
    pool_get_stats(p, &s);
    ck_assert_uint_eq(s.runs, 5);
    ck_assert_uint_eq(s.barriers, 15);
    ck_assert_uint_gt(s.futex_waits, 0);
    ck_assert_uint_gt(s.futex_wakes, 0);
    ck_assert_uint_eq(s.spin_loops, 0); /* futex never spins */
    pool_reset_stats(p);
    pool_get_stats(p, &s);
    ck_assert_uint_eq(s.runs, 0);
    ck_assert_uint_eq(s.barriers, 0);
    ck_assert_uint_eq(s.futex_wakes, 0);
    pool_free(p);

    /* Hybrid with a tiny spin budget sleeps too; its spin is counted. */
    p = make_pool(2, POOL_WAIT_HYBRID, 1000);
    ck_assert_uint_eq(pool_spin_ns(p), 1000);
    for (int r = 0; r < 5; r++) {
        pool_run(p, three_barriers_fn, p);
        usleep(5000);
    }
    pool_run(p, three_barriers_fn, p);
    pool_get_stats(p, &s);
    ck_assert_uint_eq(s.runs, 6);
    ck_assert_uint_gt(s.futex_waits, 0);
    ck_assert_uint_gt(s.spin_loops, 0);
    pool_free(p);

    p = make_pool(2, POOL_WAIT_HYBRID, 0);
    ck_assert_uint_eq(pool_spin_ns(p), POOL_DEFAULT_SPIN_NS);
    ck_assert_int_eq(pool_wait_policy(p), POOL_WAIT_HYBRID);
    pool_free(p);

    /* One thread: barriers count, nothing waits. */
    p = make_pool(1, POOL_WAIT_FUTEX, 0);
    pool_run(p, three_barriers_fn, p);
    pool_get_stats(p, &s);
    ck_assert_uint_eq(s.runs, 1);
    ck_assert_uint_eq(s.barriers, 3);
    ck_assert_uint_eq(s.futex_waits + s.futex_wakes + s.spin_loops, 0);
    pool_free(p);
}
END_TEST

/* ---- names and CPU lists ---- */

START_TEST(test_wait_names)
{
    for (int i = 0; i < N_POLICIES; i++)
        ck_assert_int_eq(pool_wait_from_name(pool_wait_name(k_policies[i])), (int)k_policies[i]);
    ck_assert_str_eq(pool_wait_name(POOL_WAIT_HYBRID), "hybrid");
    ck_assert_str_eq(pool_wait_name((enum pool_wait)9), "?");
    ck_assert_int_eq(pool_wait_from_name("SPIN"), -1);
    ck_assert_int_eq(pool_wait_from_name(""), -1);
    ck_assert_int_eq(pool_wait_from_name(NULL), -1);
}
END_TEST

START_TEST(test_parse_cpus)
{
    int cpus[8];
    char err[256];
    ck_assert_int_eq(pool_parse_cpus("0,2-3", cpus, 8, err, sizeof err), 3);
    ck_assert(cpus[0] == 0 && cpus[1] == 2 && cpus[2] == 3);
    ck_assert_int_eq(pool_parse_cpus("7", cpus, 8, err, sizeof err), 1);
    ck_assert_int_eq(cpus[0], 7);
    ck_assert_int_eq(pool_parse_cpus("1,1", cpus, 8, err, sizeof err), 2);
    ck_assert_int_eq(pool_parse_cpus("4-4,1023", cpus, 8, err, sizeof err), 2);
    ck_assert(cpus[0] == 4 && cpus[1] == 1023);

    static const char *const bad[] = { "", ",", "0,", ",0", "a", "1-", "-1", "3-1", "0,,1", "1 ", " 1",
                                       "1024", "99999999999999999999", "0-2000", "1-2-3", "0x1", "+1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(pool_parse_cpus(bad[i], cpus, 8, err, sizeof err) == POOL_EINVAL, "'%s' accepted", bad[i]);
        ck_assert_msg(err[0] != '\0', "'%s': no message", bad[i]);
    }
    ck_assert_int_eq(pool_parse_cpus(NULL, cpus, 8, err, sizeof err), POOL_EINVAL);
    ck_assert_int_eq(pool_parse_cpus("0-7", cpus, 4, err, sizeof err), POOL_ELIMIT);
    ck_assert_ptr_nonnull(strstr(err, "more than 4"));
}
END_TEST

/* ---- memory hooks ---- */

START_TEST(test_memory_through_hooks)
{
    for (int k = 0; k < N_COUNTS; k++) {
        struct mem_counter mc;
        memset(&mc, 0, sizeof mc);
        struct mem_hooks h = mem_counting_hooks(&mc);
        char err[256] = "";
        struct pool_opts o = { .n_threads = k_counts[k], .wait = POOL_WAIT_HYBRID };
        struct pool *p = pool_new(&o, &h, err, sizeof err);
        ck_assert_msg(p != NULL, "%s", err);
        ck_assert_uint_gt(mc.n_alloc, 0);
        size_t allocs = mc.n_alloc;
        struct once_ctx c;
        memset(&c, 0, sizeof c);
        pool_run(p, once_fn, &c);
        pool_run(p, three_barriers_fn, p);
        ck_assert_uint_eq(mc.n_alloc, allocs); /* nothing after pool_new */
        pool_free(p);
        ck_assert_uint_eq(mc.n_alloc, mc.n_free);
        ck_assert_uint_eq(mc.bytes_live, 0);
    }
    pool_free(NULL);
}
END_TEST

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_split_tiles_range);
    tcase_add_test(tc, test_bad_options_rejected);
    tcase_add_test(tc, test_pin_invalid_cpu_fails);
    tcase_add_test(tc, test_pin_cpu0);
    tcase_add_test(tc, test_thread_tids);
    tcase_add_test(tc, test_oversubscription_flag);
    tcase_add_test(tc, test_stats_futex_sleepers);
    tcase_add_test(tc, test_wait_names);
    tcase_add_test(tc, test_parse_cpus);
    tcase_add_test(tc, test_memory_through_hooks);
    suite_add_tcase(s, tc);

    /* One test per wait policy; generous timeouts for sanitizer builds. */
    TCase *tr = tcase_create("run");
    tcase_set_timeout(tr, 120);
    tcase_add_loop_test(tr, test_run_once_per_thread, 0, N_POLICIES);
    tcase_add_loop_test(tr, test_barrier_separates_phases, 0, N_POLICIES);
    suite_add_tcase(s, tr);
    return s;
}
