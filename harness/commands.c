/* commands — the one explicit table of ggperf subcommands. Adding a
 * subcommand is one file (harness/cmd_NAME.c) plus one line here. */
#include <stdio.h>

#include "harness/buildinfo.h"
#include "harness/cli.h"

extern const struct cli_cmd cmd_info, cmd_synth, cmd_logits, cmd_generate, cmd_bench,
    cmd_probe, cmd_run, cmd_study, cmd_report, cmd_import, cmd_gate, cmd_baseline;

static int version_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf version\n\nPrint the git commit, compiler and flags this binary was built with.\n");
        return CLI_OK;
    }
    printf("ggperf %s\ncompiler: %s\nflags: %s\n", buildinfo_commit, buildinfo_cc, buildinfo_cflags);
    return CLI_OK;
}

static int help_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_print_help(stdout);
    return CLI_OK;
}

static const struct cli_cmd cmd_version = { "version", "print the commit, compiler and flags of this build", version_run };
static const struct cli_cmd cmd_help = { "help", "list the subcommands", help_run };

const struct cli_cmd *const cli_commands[] = {
    &cmd_info, &cmd_synth, &cmd_logits, &cmd_generate, &cmd_bench, &cmd_probe,
    &cmd_run, &cmd_study, &cmd_report, &cmd_import, &cmd_gate, &cmd_baseline,
    &cmd_version, &cmd_help, NULL,
};

void cli_print_help(FILE *f)
{
    fprintf(f, "usage: ggperf COMMAND [ARGS...]   (ggperf COMMAND --help for its options)\n\ncommands:\n");
    for (int i = 0; cli_commands[i]; i++)
        fprintf(f, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
}
