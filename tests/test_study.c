/* study suite: every predefined study (cli/cmd_study.c) is valid against
 * its workload descriptor, so renaming an axis or one of its words breaks
 * this test rather than a user's sweep; and the check does catch those. */
#include <check.h>
#include <string.h>

#include "cli/cmd_study.h"

START_TEST(test_every_study_matches_its_workload)
{
    size_t n = 0;
    for (const struct study *s; (s = study_at(n)) != NULL; n++) {
        char err[512] = "";
        ck_assert_msg(study_check(s, err, sizeof err) == 0, "%s", err);
    }
    ck_assert_uint_ge(n, 8);
}
END_TEST

START_TEST(test_check_catches_renames)
{
    const struct study *orig = NULL;
    for (size_t i = 0; study_at(i); i++)
        if (strcmp(study_at(i)->name, "load") == 0)
            orig = study_at(i);
    ck_assert_ptr_nonnull(orig);
    char err[512];

    struct study s = *orig;
    s.axes[0].axis = "strategy"; /* an axis the load workload does not have */
    ck_assert_int_eq(study_check(&s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no axis 'strategy'") != NULL, "%s", err);

    s = *orig;
    s.axes[1].values = "cold,tepid"; /* a word the cache axis does not allow */
    ck_assert_int_eq(study_check(&s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "tepid") != NULL, "%s", err);

    s = *orig;
    s.axes[1].axis = s.axes[0].axis;
    ck_assert_int_eq(study_check(&s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "twice") != NULL, "%s", err);

    s = *orig;
    s.model_shape = NULL; /* load needs a model */
    ck_assert_int_eq(study_check(&s, err, sizeof err), -1);

    s = *orig;
    s.reps = 0;
    ck_assert_int_eq(study_check(&s, err, sizeof err), -1);
}
END_TEST

Suite *study_suite(void)
{
    Suite *s = suite_create("study");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_study_matches_its_workload);
    tcase_add_test(tc, test_check_catches_renames);
    suite_add_tcase(s, tc);
    return s;
}
