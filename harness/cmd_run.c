/* ggperf run — run a workload over a sweep of configurations. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf run\n\nrun a workload over a sweep of configurations\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "run: not implemented in this build yet");
}

const struct cli_cmd cmd_run = { "run", "run a workload over a sweep of configurations", run };
