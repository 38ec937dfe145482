/* commands — the one explicit table of ggperf subcommands. Adding a
 * subcommand is one file (harness/cmd_NAME.c) plus one line here. */
#include <stdio.h>
#include <limits.h>
#include <string.h>

#include "harness/machine/buildinfo.h"
#include "cli/cli.h"
#include "harness/machine/env.h"

extern const struct cli_cmd cmd_info, cmd_synth, cmd_logits, cmd_generate, cmd_bench,
    cmd_probe, cmd_run, cmd_study, cmd_report, cmd_import, cmd_gate, cmd_baseline, cmd_pagecache,
    cmd_completion, cmd_profile, cmd_merge, cmd_ab, cmd_history, cmd_bisect;
extern const struct cli_cmd cmd_serve, cmd_loadgen;

static int version_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf version\n\nPrint the release (semantic version), the git commit, the compiler and the\n"
               "flags this binary was built with (results files record the same in environment.build),\n"
               "and the cache directory it uses for synthesized models and file hashes\n"
               "($GGPERF_CACHE, else $XDG_CACHE_HOME/ggperf, else ~/.cache/ggperf).\n");
        return CLI_OK;
    }
    if (argc > 1)
        return cli_error(CLI_EUSAGE, "version: unexpected argument '%s' (usage: ggperf version)", argv[1]);
    printf("ggperf %s (commit %s)\ncompiler: %s\nflags: %s\n", buildinfo_version, buildinfo_commit, buildinfo_cc,
           buildinfo_cflags);
    /* the one rule for the cache directory (env_cache_dir): scripts ask here instead of repeating it */
    char cache[PATH_MAX], err[256];
    if (env_cache_dir(cache, sizeof cache, err, sizeof err) == 0)
        printf("cache: %s\n", cache);
    else
        printf("cache: none (%s)\n", err);
    return CLI_OK;
}

/* ggperf help [COMMAND]: the list, or COMMAND --help. */
static int help_run(int argc, char **argv)
{
    if (argc == 1 || (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
        cli_print_help(stdout);
        return CLI_OK;
    }
    if (argc > 2)
        return cli_error(CLI_EUSAGE, "help: one command at a time (usage: ggperf help [COMMAND])");
    for (int i = 0; cli_commands[i]; i++)
        if (strcmp(argv[1], cli_commands[i]->name) == 0 && strcmp(argv[1], "help") != 0) {
            char *sub[] = { argv[1], "--help", NULL };
            return cli_commands[i]->run(2, sub);
        }
    return cli_error(CLI_EUSAGE, "help: unknown command '%s' (ggperf help lists them)", argv[1]);
}

static const struct cli_cmd cmd_version = { "version", "print the version, commit, compiler and flags of this build", version_run };
static const struct cli_cmd cmd_help = { "help", "list the subcommands, or help COMMAND: its options", help_run };

const struct cli_cmd *const cli_commands[] = {
    &cmd_info, &cmd_synth, &cmd_logits, &cmd_generate, &cmd_bench, &cmd_probe,
    &cmd_run, &cmd_study, &cmd_report, &cmd_import, &cmd_gate, &cmd_ab, &cmd_history, &cmd_bisect, &cmd_merge,
    &cmd_baseline, &cmd_profile, &cmd_pagecache, &cmd_serve, &cmd_loadgen, &cmd_version, &cmd_completion, &cmd_help, NULL,
};

void cli_print_help(FILE *f)
{
    fprintf(f, "usage: ggperf COMMAND [ARGS...]   (ggperf COMMAND --help for its options)\n\ncommands:\n");
    for (int i = 0; cli_commands[i]; i++)
        fprintf(f, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
}
