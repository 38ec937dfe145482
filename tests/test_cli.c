/* cli suite: strict number and list parsing, and the binary's usage errors. */
#include <check.h>
#include <string.h>

#include "cli/cli.h"
#include "tests/testutil.h"

START_TEST(test_parse_int_strict)
{
    int v = -1;
    ck_assert_int_eq(cli_parse_int("--threads", "4", 1, 64, &v), 0);
    ck_assert_int_eq(v, 4);
    ck_assert_int_eq(cli_parse_int("--threads", "4x", 1, 64, &v), CLI_EUSAGE);
    ck_assert_int_eq(cli_parse_int("--threads", "", 1, 64, &v), CLI_EUSAGE);
    ck_assert_int_eq(cli_parse_int("--threads", "0", 1, 64, &v), CLI_EUSAGE);
    ck_assert_int_eq(cli_parse_int("--threads", "65", 1, 64, &v), CLI_EUSAGE);
    ck_assert_int_eq(cli_parse_int("--threads", "99999999999999999999", 1, 64, &v), CLI_EUSAGE);
    ck_assert_int_eq(v, 4); /* untouched on failure */
}
END_TEST

START_TEST(test_parse_list_and_choice)
{
    int out[8];
    ck_assert_int_eq(cli_parse_int_list("-t", "1,2,4", 1, 64, out, 8), 3);
    ck_assert_int_eq(out[2], 4);
    ck_assert_int_lt(cli_parse_int_list("-t", "1,,2", 1, 64, out, 8), 0);
    ck_assert_int_lt(cli_parse_int_list("-t", "1,2,", 1, 64, out, 8), 0);
    static const char *const modes[] = { "batch", "decode", NULL };
    ck_assert_int_eq(cli_parse_choice("--mode", "decode", modes), 1);
    ck_assert_int_lt(cli_parse_choice("--mode", "stream", modes), 0);
    double d;
    ck_assert_int_eq(cli_parse_double("--temp", "0.7", 0, 10, &d), 0);
    ck_assert_int_eq(cli_parse_double("--temp", "nan", 0, 10, &d), CLI_EUSAGE);
}
END_TEST

START_TEST(test_binary_usage_errors)
{
    char cmd[512], err[1024];
    snprintf(cmd, sizeof cmd, "%s no-such-command", tu_ggperf_bin());
    ck_assert_int_eq(tu_run(cmd, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "no-such-command"));
    snprintf(cmd, sizeof cmd, "%s help", tu_ggperf_bin());
    char out[4096];
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, NULL, 0), 0);
    ck_assert_ptr_nonnull(strstr(out, "info"));
    /* every listed subcommand answers --help with exit 0 */
    for (int i = 0; cli_commands[i]; i++) {
        snprintf(cmd, sizeof cmd, "%s %s --help", tu_ggperf_bin(), cli_commands[i]->name);
        ck_assert_msg(tu_run(cmd, out, sizeof out, NULL, 0) == 0, "%s --help failed", cli_commands[i]->name);
        ck_assert_msg(strstr(out, "usage") != NULL, "%s --help prints no usage", cli_commands[i]->name);
    }
}
END_TEST

Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_int_strict);
    tcase_add_test(tc, test_parse_list_and_choice);
    tcase_add_test(tc, test_binary_usage_errors);
    suite_add_tcase(s, tc);
    return s;
}
