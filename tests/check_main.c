/* The Check runner: every tests/test_*.c defines `Suite *NAME_suite(void)`;
 * the Makefile collects them into suites.h. Fork mode is on, so a crashing
 * test fails alone and a hung one times out. CK_RUN_SUITE=name runs one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define X(fn) Suite *fn(void);
#include "suites.h"
#undef X

int main(void)
{
    SRunner *sr = srunner_create(NULL);
#define X(fn) srunner_add_suite(sr, fn());
#include "suites.h"
#undef X
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
