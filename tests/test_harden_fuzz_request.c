/* harden_fuzz_request suite: every fuzz/regress/request/ input and
 * fuzz/seeds/request/ seed through fuzz/fuzz_request.c's own entry point
 * (the completions request parser and the JSON escaper), in process (see
 * tests/fuzz_fixture.h). Its invariant checks trap, which fails the file's
 * iteration. The corpus is required, and must hold both accepted and
 * refused bodies, so it cannot decay into one path only. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz_fixture.h"
#include "tests/testutil.h"

#define LLVMFuzzerTestOneInput harden_fuzz_request_one
#include "fuzz/fuzz_request.c"
#undef LLVMFuzzerTestOneInput

START_TEST(test_request_input)
{
    const char *const *paths;
    int n = fzx_inputs("request", &paths);
    ck_assert_int_lt(_i, n);
    ck_assert_msg(fzx_run(paths[_i], harden_fuzz_request_one) == 0, "%s", paths[_i]);
}
END_TEST

START_TEST(test_request_inputs_cover_both_paths)
{
    const char *const *paths;
    int n = fzx_inputs("request", &paths);
    ck_assert_msg(n > 0, "no inputs in fuzz/regress/request or fuzz/seeds/request (run from the repository root)");
    int ok = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        size_t len;
        char *data = tu_read_file(paths[i], &len);
        ck_assert_ptr_nonnull(data);
        struct serve_limits lim = { 1024, 64, 512, 16 };
        struct serve_req r;
        char err[256];
        if (serve_req_parse(data, len, &lim, &r, err, sizeof err) == SERVE_REQ_OK)
            ok++;
        else
            refused++;
        serve_req_release(&r);
        free(data);
    }
    ck_assert_msg(ok >= 3 && refused >= 2, "corpus: %d accepted, %d refused (want >= 3 and >= 2)", ok, refused);
}
END_TEST

Suite *harden_fuzz_request_suite(void)
{
    Suite *s = suite_create("harden_fuzz_request");
    TCase *tc = tcase_create("regress");
    const char *const *paths;
    int n = fzx_inputs("request", &paths);
    tcase_add_test(tc, test_request_inputs_cover_both_paths);
    if (n > 0)
        tcase_add_loop_test(tc, test_request_input, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
