/* ggperf probe — what this machine offers: PMU, events, tracepoints, bandwidth. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf probe\n\nwhat this machine offers: PMU, events, tracepoints, bandwidth\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "probe: not implemented in this build yet");
}

const struct cli_cmd cmd_probe = { "probe", "what this machine offers: PMU, events, tracepoints, bandwidth", run };
