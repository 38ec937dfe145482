/* ggperf baseline — save and show named baselines in the results store. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf baseline\n\nsave and show named baselines in the results store\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "baseline: not implemented in this build yet");
}

const struct cli_cmd cmd_baseline = { "baseline", "save and show named baselines in the results store", run };
