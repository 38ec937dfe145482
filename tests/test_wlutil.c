/* wlutil suite: the workloads' shared counter interval (workloads/wlutil.c).
 * A read that fails at an interval's start must fail the interval: the
 * backend repeats the previous values in the snapshot, and a delta from
 * them would silently cover more than the interval. The failure is made
 * by pointing the set's /proc/<tid>/status descriptor at /dev/null (reads
 * 0 bytes) for the first read only. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness/counters/ctr.h"
#include "harness/counters/ctr_impl.h"
#include "tests/testutil.h"
#include "workloads/wlutil.h"

static void nap(int n)
{
    for (int i = 0; i < n; i++) {
        struct timespec ts = { 0, 200000 };
        nanosleep(&ts, NULL);
    }
}

/* Open the sw backend on this thread's tid with per-thread stats. */
static void open_ctr(struct wlutil_ctr *c)
{
    int tid = (int)syscall(SYS_gettid);
    wlutil_ctr_open(c, CTR_SW, &tid, 1, true);
    ck_assert_msg(c->set != NULL, "%s", c->why);
    ck_assert_msg(c->set->have_status && c->set->status_fds[0] >= 0, "no /proc/<tid>/status reads");
}

START_TEST(test_failed_begin_read_fails_the_interval)
{
    struct wlutil_ctr c;
    open_ctr(&c);
    /* a good interval first: voluntary switches are counted */
    wlutil_ctr_begin(&c);
    nap(20);
    wlutil_ctr_end(&c);
    const struct metric *v = wlutil_ctr_find(&c, "voluntary_switches");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->status, METRIC_OK);
    ck_assert(v->value >= 20);

    /* work outside any interval, then an interval whose first read fails */
    nap(50);
    int fd = c.set->status_fds[0], saved = dup(fd), null = open("/dev/null", O_RDONLY);
    ck_assert(saved >= 0 && null >= 0);
    ck_assert_int_eq(dup2(null, fd), fd);
    wlutil_ctr_begin(&c);
    ck_assert_int_eq(dup2(saved, fd), fd);
    close(saved);
    close(null);
    nap(5);
    wlutil_ctr_end(&c);
    ck_assert_msg(wlutil_ctr_find(&c, "voluntary_switches") == NULL,
                  "an interval with a failed start read has metrics (%.0f switches: the 50 before it counted)",
                  wlutil_ctr_find(&c, "voluntary_switches")->value);
    struct workload_sink out;
    memset(&out, 0, sizeof out);
    wlutil_ctr_emit(&c, &out, (const char *const[]){ "voluntary_switches", NULL });
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(out.m[0].status, METRIC_UNSUPPORTED);
    ck_assert_msg(strstr(out.m[0].reason, "start") != NULL, "%s", out.m[0].reason);

    /* and the next good interval counts only itself again */
    wlutil_ctr_begin(&c);
    nap(5);
    wlutil_ctr_end(&c);
    v = wlutil_ctr_find(&c, "voluntary_switches");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->status, METRIC_OK);
    ck_assert_msg(v->value >= 5 && v->value < 50, "%.0f switches for 5 naps", v->value);
    wlutil_ctr_close(&c);
}
END_TEST

Suite *wlutil_suite(void)
{
    Suite *s = suite_create("wlutil");
    TCase *tc = tcase_create("ctr");
    tcase_add_test(tc, test_failed_begin_read_fails_the_interval);
    suite_add_tcase(s, tc);
    return s;
}
