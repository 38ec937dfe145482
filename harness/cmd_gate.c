/* ggperf gate — CI regression gate: compare two result sets. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf gate\n\nCI regression gate: compare two result sets\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "gate: not implemented in this build yet");
}

const struct cli_cmd cmd_gate = { "gate", "CI regression gate: compare two result sets", run };
