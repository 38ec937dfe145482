/* ggperf synth — write a synthetic llama GGUF model with random weights. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf synth\n\nwrite a synthetic llama GGUF model with random weights\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "synth: not implemented in this build yet");
}

const struct cli_cmd cmd_synth = { "synth", "write a synthetic llama GGUF model with random weights", run };
