/* ggperf generate — generate text from a prompt. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf generate\n\ngenerate text from a prompt\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "generate: not implemented in this build yet");
}

const struct cli_cmd cmd_generate = { "generate", "generate text from a prompt", run };
