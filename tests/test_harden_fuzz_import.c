/* harden_fuzz_import suite: every fuzz/regress/import/ input and
 * fuzz/seeds/import/ seed through fuzz/fuzz_import.c's own entry point (the
 * results-file readers: ggperf JSON/JSONL, llama-bench, gbench), in process
 * (see tests/fuzz_fixture.h). Until that target exists the suite says so. */
#include <check.h>
#include <stdio.h>

#include "tests/fuzz_fixture.h"

#if defined(__has_include)
#if __has_include("fuzz/fuzz_import.c")
#define HAVE_FUZZ_IMPORT 1
#endif
#endif

#ifdef HAVE_FUZZ_IMPORT
/* LLVMFuzzerInitialize is optional in a target: weak, NULL when absent */
int harden_fuzz_import_init(int *argc, char ***argv) __attribute__((weak));
#define LLVMFuzzerTestOneInput harden_fuzz_import_one
#define LLVMFuzzerInitialize harden_fuzz_import_init
#include "fuzz/fuzz_import.c"
#undef LLVMFuzzerTestOneInput
#undef LLVMFuzzerInitialize

START_TEST(test_import_input)
{
    const char *const *paths;
    int n = fzx_inputs("import", &paths);
    ck_assert_int_lt(_i, n);
    if (harden_fuzz_import_init) {
        int argc = 0;
        char **argv = NULL;
        harden_fuzz_import_init(&argc, &argv);
    }
    ck_assert_msg(fzx_run(paths[_i], harden_fuzz_import_one) == 0, "%s", paths[_i]);
}
END_TEST
#endif

START_TEST(test_import_target)
{
#ifdef HAVE_FUZZ_IMPORT
    const char *const *paths;
    printf("harden_fuzz_import: %d inputs\n", fzx_inputs("import", &paths));
#else
    printf("harden_fuzz_import: skipped: fuzz/fuzz_import.c does not exist in this checkout\n");
#endif
}
END_TEST

Suite *harden_fuzz_import_suite(void)
{
    Suite *s = suite_create("harden_fuzz_import");
    TCase *tc = tcase_create("regress");
    tcase_add_test(tc, test_import_target);
#ifdef HAVE_FUZZ_IMPORT
    const char *const *paths;
    int n = fzx_inputs("import", &paths);
    if (n > 0)
        tcase_add_loop_test(tc, test_import_input, 0, n);
#endif
    suite_add_tcase(s, tc);
    return s;
}
