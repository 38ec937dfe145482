/* ggperf import — turn llama-bench or Google Benchmark JSON into ggperf results. Not implemented in this build yet: says so at run time. */
#include "harness/cli.h"

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: ggperf import\n\nturn llama-bench or Google Benchmark JSON into ggperf results\n(not implemented in this build yet)\n");
        return 0;
    }
    return cli_error(CLI_EFAIL, "import: not implemented in this build yet");
}

const struct cli_cmd cmd_import = { "import", "turn llama-bench or Google Benchmark JSON into ggperf results", run };
