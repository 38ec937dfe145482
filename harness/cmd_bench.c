/* ggperf bench — prompt and generation speed, llama-bench style. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf bench\n\nprompt and generation speed, llama-bench style\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "bench: not implemented in this build yet");
}

const struct cli_cmd cmd_bench = { "bench", "prompt and generation speed, llama-bench style", run };
