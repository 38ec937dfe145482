/* The Check runner: every tests/test_*.c defines `Suite *NAME_suite(void)`;
 * the Makefile collects them into suites.h. Fork mode is on, so a crashing
 * test fails alone and a hung one times out. CK_RUN_SUITE=name runs one.
 *
 * Check has no skip state, so this runner keeps one: tests call tu_skip
 * (tests/testutil.h), which appends to the log named by $GGPERF_SKIP_LOG
 * (a temporary file made here). After Check's own summary line, which CI
 * parses and which stays as Check prints it, come "Skipped: K" and one
 * line per skip with its reason and what on this machine explains it. A
 * skip that nothing explains fails the run.
 *
 * GGPERF_TEST_PLANT_SKIP=CATEGORY adds a suite "planted_skip" whose one
 * test skips with that category: the skip suite runs this binary with it
 * to prove that an unexplained skip fails and an explained one passes.
 * GGPERF_SKIP_REPORT=FILE also writes the skip list there (.ci/run prints
 * it at the end of the CI log). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

#define X(fn) Suite *fn(void);
#include "suites.h"
#undef X

START_TEST(test_planted_skip)
{
    tu_skip(getenv("GGPERF_TEST_PLANT_SKIP"), "planted by GGPERF_TEST_PLANT_SKIP");
}
END_TEST

static Suite *planted_skip_suite(void)
{
    Suite *s = suite_create("planted_skip");
    TCase *tc = tcase_create("planted_skip");
    tcase_add_test(tc, test_planted_skip);
    suite_add_tcase(s, tc);
    return s;
}

/* Print the skips logged in path to each of outs; returns how many nothing
 * on this machine explains (-1 when the log cannot be read). */
static int report_skips(const char *path, FILE *const *outs, int n_outs)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f))
        n++;
    for (int o = 0; o < n_outs; o++)
        fprintf(outs[o], "Skipped: %d\n", n);
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *cat = line, *test = strchr(cat, '\t'), *reason = NULL;
        if (test) {
            *test++ = '\0';
            reason = strchr(test, '\t');
            if (reason)
                *reason++ = '\0';
        }
        char why[256];
        bool ok = tu_skip_explained(cat, why, sizeof why);
        if (!ok)
            bad++;
        for (int o = 0; o < n_outs; o++)
            fprintf(outs[o], "  %s %s [%s]: %s (%s: %s)\n", ok ? "skip" : "UNEXPLAINED", test ? test : "?", cat,
                    reason ? reason : "?", ok ? "explained" : "not explained", why);
    }
    fclose(f);
    if (bad)
        for (int o = 0; o < n_outs; o++)
            fprintf(outs[o], "%d skip(s) not explained by this machine's missing capabilities: the run fails\n",
                    bad);
    return bad;
}

int main(void)
{
    char log[] = "/tmp/ggperf-skips-XXXXXX";
    int fd = mkstemp(log);
    if (fd < 0) {
        perror("check_main: mkstemp");
        return EXIT_FAILURE;
    }
    close(fd);
    setenv("GGPERF_SKIP_LOG", log, 1);

    SRunner *sr = srunner_create(NULL);
#define X(fn) srunner_add_suite(sr, fn());
#include "suites.h"
#undef X
    if (getenv("GGPERF_TEST_PLANT_SKIP"))
        srunner_add_suite(sr, planted_skip_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    FILE *outs[2] = { stdout, NULL };
    int n_outs = 1;
    const char *rep = getenv("GGPERF_SKIP_REPORT");
    if (rep && *rep && (outs[1] = fopen(rep, "w")))
        n_outs = 2;
    else if (rep && *rep)
        fprintf(stderr, "check_main: cannot write the skip report %s\n", rep);
    int unexplained = report_skips(log, outs, n_outs);
    if (n_outs == 2)
        fclose(outs[1]);
    unlink(log);
    if (unexplained < 0)
        fprintf(stderr, "check_main: cannot read the skip log %s\n", log);
    return failed == 0 && unexplained == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
