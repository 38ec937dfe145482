/* gate_history suite: after the gate, finding when and where a regression
 * came in: change points in a stored series (history_change_points,
 * history_noise), `ggperf gate --history` / `ggperf history` end to end
 * with a plot, JSON, import and --threshold auto, and `ggperf bisect`
 * naming the commit planted in a test repository. Split from test_gate.c
 * (one comparison's verdicts) because these follow a series of runs or
 * commits; the results files come from gate_fixture.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/store/history.h"
#include "tests/gate_fixture.h"
#include "tests/testutil.h"

/* ---- history ------------------------------------------------------------------ */

/* A series of 30 with a 10% step at 18 among 1% noise: one change point,
 * there; a flat noisy series (10% noise, no step): none. Deterministic: the
 * same answer twice. */
START_TEST(test_history_change_points)
{
    double x[30], flat[40];
    unsigned st = 3;
    for (int i = 0; i < 30; i++)
        x[i] = 100 * (i >= 18 ? 1.10 : 1.0) * (1 + 0.01 * gfix_uniform(&st));
    for (int i = 0; i < 40; i++)
        flat[i] = 100 * (1 + 0.10 * gfix_uniform(&st));
    struct history_cp_opts o;
    history_cp_default(&o);
    size_t cps[8], again[8];
    double p[8];
    int n = history_change_points(x, 30, &o, cps, p, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(cps[0], 18);
    ck_assert(p[0] < 0.05);
    ck_assert_int_eq(history_change_points(x, 30, &o, again, NULL, 8), 1);
    ck_assert_uint_eq(again[0], 18);
    ck_assert_int_eq(history_change_points(flat, 40, &o, cps, NULL, 8), 0);
    /* the noise band of the flat part after the step, and none for too few points */
    double band = history_noise(flat, 40, &o);
    ck_assert(band > 0.02 && band < 0.15);
    ck_assert(isnan(history_noise(x, 4, &o)));
}
END_TEST

/* End to end: 12 gated runs stored with --history, the last 6 of a commit
 * 15% slower; `ggperf history` reports the step with that commit, plots it,
 * and --threshold auto learns a band from the history. */
START_TEST(test_history_cli)
{
    const char *dir = tu_tmpdir();
    char base[256], cur[256], cmd[2000], store[300];
    gfix_paths(dir, base, cur, sizeof base);
    snprintf(store, sizeof store, "%s/h.sqlite", dir);
    struct fspec f = { .reps = 10, .scale = 1, .commit = "base0" };
    gfix_write_doc(base, &f, gfix_timing, 1);
    static char commits[12][16];
    for (int i = 0; i < 12; i++) {
        snprintf(commits[i], sizeof commits[i], "c%02d", i);
        struct fspec g = { .reps = 10, .scale = i >= 6 ? 1.15 : 1.0, .seed = 100 + (unsigned)i, .commit = commits[i] };
        gfix_write_doc(cur, &g, gfix_timing, 1);
        snprintf(cmd, sizeof cmd, "%s gate --baseline %s --current %s --history --branch main --store %s",
                 tu_ggperf_bin(), base, cur, store);
        int rc = tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err);
        ck_assert_msg(rc == (i >= 6 ? 1 : 0), "run %d: %d %s", i, rc, gfix_err);
    }
    snprintf(cmd, sizeof cmd, "%s history --store %s --metric decode_ns --config size=s --plot %s/h.png", tu_ggperf_bin(),
             store, dir);
    ck_assert_msg(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err) == 0, "%s", gfix_err);
    ck_assert_ptr_nonnull(strstr(gfix_out, "change point at run 6, commit c06"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "1 change point"));
    char png[300];
    snprintf(png, sizeof png, "%s/h.png", dir);
    if (tu_run("command -v gnuplot", NULL, 0, NULL, 0) == 0)
        ck_assert_msg(access(png, R_OK) == 0, "no plot: %s", gfix_err);
    else
        printf("gate: history plot check skipped: gnuplot is not installed\n");
    /* JSON has the same */
    snprintf(cmd, sizeof cmd, "%s history --store %s --metric decode_ns -o json", tu_ggperf_bin(), store);
    ck_assert_int_eq(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err), 0);
    json_t *j = json_loads(gfix_out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    json_t *series = json_object_get(j, "series");
    ck_assert_int_eq(json_array_size(series), 2);
    json_t *cp = json_array_get(json_object_get(json_array_get(series, 0), "change_points"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(cp, "commit")), "c06");
    ck_assert(json_real_value(json_object_get(cp, "step")) > 0.1);
    json_decref(j);
    /* import: results files from other runners join the store */
    snprintf(cmd, sizeof cmd, "%s history import --store %s --branch other %s", tu_ggperf_bin(), store, base);
    ck_assert_msg(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err) == 0, "%s", gfix_err);
    ck_assert_ptr_nonnull(strstr(gfix_err, "2 points"));
    /* --threshold auto: a band from the stored runs after the step */
    snprintf(cmd, sizeof cmd, "%s gate --baseline %s --current %s --threshold auto --store %s", tu_ggperf_bin(), base,
             cur, store);
    tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err);
    ck_assert_msg(strstr(gfix_err, "--threshold auto: decode_ns") || strstr(gfix_err, "no history"), "%s", gfix_err);
}
END_TEST

/* ---- bisect --------------------------------------------------------------------- */

/* A planted test repository: seven commits, the fifth makes the work 10%
 * larger. `ggperf bisect` (with a stand-in ggperf built by copying a
 * script) must name that commit from the counts and confirm it by A/B. */
START_TEST(test_bisect_finds_planted_commit)
{
    if (tu_run("command -v git", NULL, 0, NULL, 0) != 0) {
        printf("gate: bisect test skipped: git is not installed\n");
        return;
    }
    char cwd[512], cmd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    const char *dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd,
             "set -e; cd %s && mkdir repo && cd repo && cp %s/tests/bisect-fake-ggperf.sh fake.sh && "
             "git init -q . && git config user.email t@example.com && git config user.name t && "
             "echo 1000 > cost.txt && git add . && git commit -qm good && "
             "for i in 1 2 3 4 5 6; do if [ $i = 4 ]; then echo 1100 > cost.txt; else echo $i >> notes.txt; fi; "
             "git add . && git commit -qm \"change $i\"; done",
             dir, cwd);
    ck_assert_msg(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err) == 0, "%s", gfix_err);
    snprintf(cmd, sizeof cmd,
             "cd %s && %s bisect --repo %s/repo --good HEAD~6 --bad HEAD --dir %s/work "
             "--build-cmd 'mkdir -p build && cp fake.sh build/ggperf' --bin-path build/ggperf -- fake --sim on",
             dir, tu_ggperf_bin(), dir, dir);
    ck_assert_msg(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err) == 0, "%s%s", gfix_out, gfix_err);
    ck_assert_msg(strstr(gfix_out, "first bad commit: ") && strstr(gfix_out, " change 4\n"), "%s", gfix_out);
    ck_assert_ptr_nonnull(strstr(gfix_out, "sim_instructions +10.00%"));
    ck_assert_ptr_nonnull(strstr(gfix_out, "regressed (confirmed)"));
    /* binary search: GOOD, BAD and about log2(6) more, not every commit */
    int builds = 0;
    for (const char *p = gfix_err; (p = strstr(p, "bisect: building")); p++)
        builds++;
    ck_assert_msg(builds <= 5, "%d builds", builds);
    /* the worktrees are gone */
    snprintf(cmd, sizeof cmd, "git -C %s/repo worktree list | wc -l", dir);
    ck_assert_int_eq(tu_run(cmd, gfix_out, sizeof gfix_out, NULL, 0), 0);
    ck_assert_int_eq(atoi(gfix_out), 1);
    /* a range without a regression */
    snprintf(cmd, sizeof cmd,
             "cd %s && %s bisect --repo %s/repo --good HEAD~6 --bad HEAD~3 --dir %s/work2 "
             "--build-cmd 'mkdir -p build && cp fake.sh build/ggperf' -- fake",
             dir, tu_ggperf_bin(), dir, dir);
    ck_assert_int_eq(tu_run(cmd, gfix_out, sizeof gfix_out, gfix_err, sizeof gfix_err), 1);
    ck_assert_ptr_nonnull(strstr(gfix_err, "does not regress"));
}
END_TEST

Suite *gate_history_suite(void)
{
    Suite *s = suite_create("gate_history");
    TCase *tc = tcase_create("history");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_history_change_points);
    tcase_add_test(tc, test_history_cli);
    tcase_add_test(tc, test_bisect_finds_planted_commit);
    suite_add_tcase(s, tc);
    return s;
}
