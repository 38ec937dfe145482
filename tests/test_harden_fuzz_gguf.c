/* harden_fuzz_gguf suite: every fuzz/regress/gguf/ input and fuzz/seeds/gguf/
 * seed through fuzz/fuzz_gguf.c's own entry point, in process (see
 * tests/fuzz_fixture.h). Its invariant checks trap, which fails the file's
 * iteration. */
#include <check.h>
#include <stdio.h>

#include "tests/fuzz_fixture.h"

#define LLVMFuzzerTestOneInput harden_fuzz_gguf_one
#include "fuzz/fuzz_gguf.c"
#undef LLVMFuzzerTestOneInput

START_TEST(test_gguf_input)
{
    const char *const *paths;
    int n = fzx_inputs("gguf", &paths);
    ck_assert_int_lt(_i, n);
    ck_assert_msg(fzx_run(paths[_i], harden_fuzz_gguf_one) == 0, "%s", paths[_i]);
}
END_TEST

START_TEST(test_gguf_inputs_present)
{
    const char *const *paths;
    ck_assert_msg(fzx_inputs("gguf", &paths) > 0, "no inputs in fuzz/regress/gguf or fuzz/seeds/gguf (run from the repository root)");
}
END_TEST

Suite *harden_fuzz_gguf_suite(void)
{
    Suite *s = suite_create("harden_fuzz_gguf");
    TCase *tc = tcase_create("regress");
    const char *const *paths;
    int n = fzx_inputs("gguf", &paths);
    tcase_add_test(tc, test_gguf_inputs_present);
    if (n > 0)
        tcase_add_loop_test(tc, test_gguf_input, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
