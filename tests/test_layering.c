/* layering suite: scripts/check-layering.sh (run by make test and CI)
 * passes on this tree and fails on planted violations of the picture: the
 * engine including the harness, reports including the engine, anything
 * including cli/, base/ including something of ours, a .c file in base/. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"

#define SCRIPT "scripts/check-layering.sh"

/* A tree with one folder per layer and a file at rel holding text. */
static const char *tree_with(const char *rel, const char *text)
{
    static char root[512];
    snprintf(root, sizeof root, "%s", tu_tmpdir());
    static const char *const dirs[] = { "base", "engine", "results", "modelgen", "harness", "harness/run",
                                        "workloads", "reports", "bench", "fuzz", "cli", "tests" };
    char p[1024];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s", p);
    }
    snprintf(p, sizeof p, "%s/engine/ok.c", root);
    ck_assert_int_eq(tu_write_file(p, "#include \"engine/ok.h\"\n#include \"base/err.h\"\n", 43), 0);
    snprintf(p, sizeof p, "%s/%s", root, rel);
    ck_assert_int_eq(tu_write_file(p, text, strlen(text)), 0);
    return root;
}

static int check(const char *root, char *out, size_t out_len)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s %s", SCRIPT, root);
    return tu_run(cmd, out, out_len, NULL, 0);
}

START_TEST(test_this_tree_passes)
{
    ck_assert_msg(access(SCRIPT, R_OK) == 0, "run from the repository root (no %s)", SCRIPT);
    char out[4096];
    ck_assert_msg(check(".", out, sizeof out) == 0, "%s", out);
}
END_TEST

static const struct {
    const char *file, *text, *want;
} planted[] = {
    { "engine/bad.c", "#include \"harness/run/runner.h\"\n", "engine/ may not include harness/" },
    { "reports/bad.c", "#include \"engine/gguf.h\"\n", "reports/ may not include engine/" },
    { "workloads/bad.c", "#include \"cli/cli.h\"\n", "workloads/ may not include cli/" },
    { "base/bad.h", "#include \"results/metric.h\"\n", "base/ may not include results/" },
    { "base/bad.c", "/* nothing */\n", "base/ is header-only" },
};

START_TEST(test_planted_violation_fails)
{
    const char *root = tree_with(planted[_i].file, planted[_i].text);
    char out[4096];
    ck_assert_int_eq(check(root, out, sizeof out), 1);
    ck_assert_msg(strstr(out, planted[_i].want) != NULL, "%s: %s", planted[_i].file, out);
    ck_assert_msg(strstr(out, planted[_i].file) != NULL, "names the file: %s", out);
}
END_TEST

START_TEST(test_clean_tree_passes)
{
    const char *root = tree_with("harness/run/ok.c", "#include \"engine/gguf.h\"\n#include \"base/err.h\"\n");
    char out[4096];
    ck_assert_msg(check(root, out, sizeof out) == 0, "%s", out);
}
END_TEST

Suite *layering_suite(void)
{
    Suite *s = suite_create("layering");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120); /* the script greps every file of the tree */
    tcase_add_test(tc, test_this_tree_passes);
    tcase_add_loop_test(tc, test_planted_violation_fails, 0, (int)(sizeof planted / sizeof planted[0]));
    tcase_add_test(tc, test_clean_tree_passes);
    suite_add_tcase(s, tc);
    return s;
}
