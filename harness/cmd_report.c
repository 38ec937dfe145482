/* ggperf report — write tables and plots from results files. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf report\n\nwrite tables and plots from results files\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "report: not implemented in this build yet");
}

const struct cli_cmd cmd_report = { "report", "write tables and plots from results files", run };
