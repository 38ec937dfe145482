/* harden_fuzz_import suite: every fuzz/regress/import/ input and
 * fuzz/seeds/import/ seed through fuzz/fuzz_import.c's own entry point (the
 * results-file readers: ggperf JSON/JSONL, llama-bench, gbench), in process
 * (see tests/fuzz_fixture.h). Its invariant checks trap, which fails the
 * file's iteration. The inputs are required: an empty or vanished corpus
 * fails, and the seeds must reach every reader (the first byte picks it)
 * and be accepted by each of the three importers at least once, so the
 * corpus cannot decay into refusal paths only. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "reports/import.h"
#include "tests/fuzz_fixture.h"
#include "tests/testutil.h"

#define LLVMFuzzerTestOneInput harden_fuzz_import_one
#include "fuzz/fuzz_import.c"
#undef LLVMFuzzerTestOneInput

START_TEST(test_import_input)
{
    const char *const *paths;
    int n = fzx_inputs("import", &paths);
    ck_assert_int_lt(_i, n);
    ck_assert_msg(fzx_run(paths[_i], harden_fuzz_import_one) == 0, "%s", paths[_i]);
}
END_TEST

START_TEST(test_import_inputs_present)
{
    const char *const *paths;
    ck_assert_msg(fzx_inputs("import", &paths) > 0,
                  "no inputs in fuzz/regress/import or fuzz/seeds/import (run from the repository root)");
}
END_TEST

/* Every reader is reached, and each importer accepts at least one input. */
START_TEST(test_import_inputs_cover_readers)
{
    static const int kinds[] = { 0, IMPORT_LLAMA_BENCH, IMPORT_GGPERF_BENCH, IMPORT_GBENCH };
    const char *const *paths;
    int n = fzx_inputs("import", &paths);
    int reached[4] = { 0 }, accepted[4] = { 0 };
    for (int i = 0; i < n; i++) {
        size_t len;
        unsigned char *d = tu_read_file(paths[i], &len);
        ck_assert_msg(d != NULL, "cannot read %s", paths[i]);
        if (len > 0) {
            int mode = d[0] % 4;
            reached[mode]++;
            if (mode > 0) {
                json_t *h = NULL, *s = NULL;
                char err[512];
                if (import_parse(kinds[mode], (const char *)d + 1, len - 1, paths[i], &h, &s, err, sizeof err) == 0 &&
                    json_array_size(s) > 0)
                    accepted[mode]++;
                json_decref(h);
                json_decref(s);
            }
        }
        free(d);
    }
    static const char *const names[] = { "results reader", "llama-bench", "ggperf bench", "gbench" };
    for (int m = 0; m < 4; m++) {
        ck_assert_msg(reached[m] > 0, "no input reaches the %s (first byte %% 4 == %d)", names[m], m);
        if (m > 0)
            ck_assert_msg(accepted[m] > 0, "no input is accepted by the %s importer", names[m]);
    }
}
END_TEST

Suite *harden_fuzz_import_suite(void)
{
    Suite *s = suite_create("harden_fuzz_import");
    TCase *tc = tcase_create("regress");
    const char *const *paths;
    int n = fzx_inputs("import", &paths);
    tcase_add_test(tc, test_import_inputs_present);
    tcase_add_test(tc, test_import_inputs_cover_readers);
    if (n > 0)
        tcase_add_loop_test(tc, test_import_input, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
