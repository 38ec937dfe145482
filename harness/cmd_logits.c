/* ggperf logits — evaluate token ids and write the logits of every position. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf logits\n\nevaluate token ids and write the logits of every position\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "logits: not implemented in this build yet");
}

const struct cli_cmd cmd_logits = { "logits", "evaluate token ids and write the logits of every position", run };
