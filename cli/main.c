/* ggperf — one binary, many subcommands. This file only dispatches; the
 * table is in commands.c and each subcommand in harness/cmd_<name>.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/quant.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_help(stderr);
        return CLI_EUSAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_print_help(stdout);
        return CLI_OK;
    }
    /* read deep inside the engine, where a bad word could only be ignored */
    char err[512];
    if (quant_cpu_disable_check(err, sizeof err) != 0)
        return cli_error(CLI_EUSAGE, "$GGPERF_CPU_DISABLE: %s", err);
    const char *name = strcmp(argv[1], "--version") == 0 ? "version" : argv[1];
    for (int i = 0; cli_commands[i]; i++) {
        if (strcmp(name, cli_commands[i]->name) != 0)
            continue;
        int rc = cli_commands[i]->run(argc - 1, argv + 1);
        /* output that never arrived (a full disk, /dev/full) is a failed
         * command, whichever command printed it */
        errno = 0;
        if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CLI_OK)
            rc = cli_error(CLI_EFAIL, "%s: writing the output failed: %s", name,
                           errno ? strerror(errno) : "I/O error");
        return rc;
    }
    return cli_error(CLI_EUSAGE, "unknown command '%s' (ggperf help lists them)", argv[1]);
}
