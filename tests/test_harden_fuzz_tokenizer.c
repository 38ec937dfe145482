/* harden_fuzz_tokenizer suite: every fuzz/regress/tokenizer/ input and
 * fuzz/seeds/tokenizer/ seed through fuzz/fuzz_tokenizer.c's own entry
 * point (after its LLVMFuzzerInitialize), in process (see
 * tests/fuzz_fixture.h). A mismatch aborts, which fails the file's
 * iteration. */
#include <check.h>
#include <stdio.h>

#include "tests/fuzz_fixture.h"

#define LLVMFuzzerTestOneInput harden_fuzz_tokenizer_one
#define LLVMFuzzerInitialize harden_fuzz_tokenizer_init
#include "fuzz/fuzz_tokenizer.c"
#undef LLVMFuzzerTestOneInput
#undef LLVMFuzzerInitialize

START_TEST(test_tokenizer_input)
{
    const char *const *paths;
    int n = fzx_inputs("tokenizer", &paths);
    ck_assert_int_lt(_i, n);
    int argc = 0;
    char **argv = NULL;
    ck_assert_int_eq(harden_fuzz_tokenizer_init(&argc, &argv), 0);
    ck_assert_msg(fzx_run(paths[_i], harden_fuzz_tokenizer_one) == 0, "%s", paths[_i]);
}
END_TEST

START_TEST(test_tokenizer_inputs_present)
{
    const char *const *paths;
    ck_assert_msg(fzx_inputs("tokenizer", &paths) > 0,
                  "no inputs in fuzz/regress/tokenizer or fuzz/seeds/tokenizer (run from the repository root)");
}
END_TEST

Suite *harden_fuzz_tokenizer_suite(void)
{
    Suite *s = suite_create("harden_fuzz_tokenizer");
    TCase *tc = tcase_create("regress");
    const char *const *paths;
    int n = fzx_inputs("tokenizer", &paths);
    tcase_add_test(tc, test_tokenizer_inputs_present);
    if (n > 0)
        tcase_add_loop_test(tc, test_tokenizer_input, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
