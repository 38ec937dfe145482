/* ggperf import — turn llama-bench, ggperf bench or Google Benchmark JSON
 * into a ggperf results file (reports/import.h), so other tools' figures
 * stand as rows in `ggperf report` tables and plots. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "reports/import.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf import FORMAT FILE.json [-o OUT.json|OUT.jsonl] [--force]\n\n"
            "Turn another tool's benchmark JSON into a ggperf results file, so it can be\n"
            "compared in `ggperf report` beside ggperf's own results.\n\n"
            "formats:\n"
            "  llama-bench    llama.cpp's `llama-bench -o json` (or -o jsonl): workload \"bench\",\n"
            "                 axes test (pp512, tg128, ...) and threads (+ any parameter that\n"
            "                 differs between tests), tokens_per_s per repetition, engine llama.cpp\n"
            "  ggperf-bench   `ggperf bench -o json`: the same shape, engine ggperf\n"
            "  gbench         Google Benchmark JSON (--benchmark_format=json): workload \"gbench\",\n"
            "                 axis benchmark, real/cpu time, rates and user counters per repetition\n\n"
            "  -o FILE        the results file (default: the JSON document on stdout);\n"
            "                 a name ending in .jsonl gets the JSONL stream instead\n"
            "  --force        replace FILE when it exists\n\n"
            "A malformed input gives one line naming the file, the entry and the field, and exit 1.\n");
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *fmt = NULL, *in = NULL, *out = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            if (++i >= argc)
                return cli_error(CLI_EUSAGE, "import: %s needs a file name", a);
            out = argv[i];
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (a[0] == '-' && a[1]) {
            cli_error(CLI_EUSAGE, "import: unknown option %s", a);
            usage(stderr);
            return CLI_EUSAGE;
        } else if (!fmt) {
            fmt = a;
        } else if (!in) {
            in = a;
        } else {
            return cli_error(CLI_EUSAGE, "import: one input file at a time ('%s' is extra)", a);
        }
    }
    if (!fmt || !in) {
        usage(stderr);
        return CLI_EUSAGE;
    }
    int kind = import_kind_from_name(fmt);
    if (kind < 0)
        return cli_error(CLI_EUSAGE, "import: FORMAT '%s' is not one of llama-bench|ggperf-bench|gbench", fmt);
    char err[512];
    size_t n = 0;
    int rc = import_file(kind, in, out, force, &n, err, sizeof err);
    if (rc != 0)
        return cli_error(CLI_EFAIL, "%s", err);
    if (out)
        fprintf(stderr, "ggperf: %zu samples from %s (%s) in %s\n", n, in, fmt, out);
    return CLI_OK;
}

const struct cli_cmd cmd_import = { "import", "turn llama-bench or Google Benchmark JSON into ggperf results", run };
