/* ggperf study — run a predefined study and print its comparison table. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf study\n\nrun a predefined study and print its comparison table\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "study: not implemented in this build yet");
}

const struct cli_cmd cmd_study = { "study", "run a predefined study and print its comparison table", run };
