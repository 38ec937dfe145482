/* ggperf info — print a GGUF file's metadata, tensors and hyper-parameters. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf info\n\nprint a GGUF file's metadata, tensors and hyper-parameters\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "info: not implemented in this build yet");
}

const struct cli_cmd cmd_info = { "info", "print a GGUF file's metadata, tensors and hyper-parameters", run };
