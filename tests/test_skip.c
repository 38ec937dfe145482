/* skip suite: the runner's skip state (tests/check_main.c, tu_skip in
 * tests/testutil.h). This binary is run again on a planted skip
 * (GGPERF_TEST_PLANT_SKIP): a skip this machine does not explain must fail
 * the run, an explained one must pass it, and both must be counted and
 * listed after Check's summary line, which must stay intact. */
#include <check.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

static char out[16384], err[4096];

/* Run this test binary on the planted suite only, skipping with category. */
static int run_planted(const char *category)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    char cmd[PATH_MAX + 256];
    /* the caller's Check filters would hide the planted test */
    snprintf(cmd, sizeof cmd,
             "env -u GGPERF_SLOW_BIN -u CK_RUN_CASE -u CK_VERBOSITY -u CK_INCLUDE_TAGS -u CK_EXCLUDE_TAGS "
             "GGPERF_TEST_PLANT_SKIP='%s' CK_RUN_SUITE=planted_skip '%s'",
             category, self);
    return tu_run(cmd, out, sizeof out, err, sizeof err);
}

/* Check's closing line, then the count. */
static void assert_summary(int skipped)
{
    ck_assert_msg(strstr(out, "100%: Checks: 1, Failures: 0, Errors: 0") != NULL, "%s", out);
    char want[32];
    snprintf(want, sizeof want, "Skipped: %d\n", skipped);
    ck_assert_msg(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
    ck_assert_msg(strstr(out, "Checks:") < strstr(out, "Skipped:"), "%s", out);
    ck_assert_msg(strstr(out, "test_planted_skip") != NULL, "%s", out);
}

/* sysfs lacking cache files is not a capability: CPUID can supply the
 * geometry. No category says so, and an unknown one fails the run. */
START_TEST(test_unknown_category_fails)
{
    ck_assert_int_eq(run_planted("sysfs-cache"), 1);
    assert_summary(1);
    ck_assert_msg(strstr(out, "UNEXPLAINED test_planted_skip [sysfs-cache]") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "not a known skip category") != NULL, "%s", out);
}
END_TEST

/* A known category whose condition does not hold here (the machine has the
 * capability) fails the run; one whose condition holds passes it. */
START_TEST(test_explained_passes_unexplained_fails)
{
    const char *held = NULL, *not_held = NULL;
    for (int i = 0; tu_skip_categories[i]; i++) {
        /* the child runs without GGPERF_SLOW_BIN: judge slow-build as it will */
        if (strcmp(tu_skip_categories[i], "slow-build") == 0) {
            if (!held)
                held = "slow-build";
            continue;
        }
        bool e = tu_skip_explained(tu_skip_categories[i], NULL, 0);
        if (e && !held)
            held = tu_skip_categories[i];
        if (!e && !not_held)
            not_held = tu_skip_categories[i];
    }
    ck_assert_ptr_nonnull(held);
    ck_assert_msg(not_held != NULL, "every skip category holds on this machine?");

    ck_assert_msg(run_planted(held) == 0, "planted %s: %s\n%s", held, out, err);
    assert_summary(1);
    char want[128];
    snprintf(want, sizeof want, "  skip test_planted_skip [%s]: planted", held);
    ck_assert_msg(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);

    ck_assert_msg(run_planted(not_held) == 1, "planted %s: %s\n%s", not_held, out, err);
    assert_summary(1);
    snprintf(want, sizeof want, "UNEXPLAINED test_planted_skip [%s]", not_held);
    ck_assert_msg(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
}
END_TEST

/* The explanations are the machine's own facts, not a fixed answer. */
START_TEST(test_explanations_follow_the_machine)
{
    char why[256];
    ck_assert(!tu_skip_explained("no-such-category", why, sizeof why));
    ck_assert(!tu_skip_explained(NULL, why, sizeof why));
    /* exactly one of "no PMU" and "PMU present" holds */
    ck_assert(tu_skip_explained("pmu", why, sizeof why) != tu_skip_explained("pmu-present", why, sizeof why));
    setenv("GGPERF_SLOW_BIN", "/nonexistent/ggperf", 1);
    ck_assert(tu_skip_explained("slow-build", why, sizeof why));
    setenv("GGPERF_SLOW_BIN", "/bin/sh", 1);
    ck_assert(!tu_skip_explained("slow-build", why, sizeof why));
    unsetenv("GGPERF_SLOW_BIN");
    ck_assert(tu_skip_explained("perf", why, sizeof why) == (access("/usr/bin/perf", X_OK) != 0));
}
END_TEST

Suite *skip_suite(void)
{
    Suite *s = suite_create("skip");
    TCase *tc = tcase_create("skip");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_unknown_category_fails);
    tcase_add_test(tc, test_explained_passes_unexplained_fails);
    tcase_add_test(tc, test_explanations_follow_the_machine);
    suite_add_tcase(s, tc);
    return s;
}
