/* ggperf merge — join results files of one plan into one: the shards of a
 * sweep run on many machines (`ggperf run --shard K/N` in a CI matrix or a
 * Slurm array), or rounds of the same plan (--renumber). The rules are
 * results_merge's (results/results.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "results/results.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf merge -o OUT.jsonl [--renumber] [--force] FILE...\n\n"
            "Join results files of the same workload and plan (equal axes, configurations\n"
            "and plan) into one JSONL results file whose header is the plan of the whole\n"
            "sweep: the shards of `ggperf run --shard K/N` give exactly the plan of the\n"
            "unsharded run. Each input's environment is kept under merged_from.\n\n"
            "  -o OUT        the merged results file (written atomically)\n"
            "  --renumber    number each configuration's repetitions anew in input order\n"
            "                (rounds of one plan); otherwise a (configuration, repetition)\n"
            "                in two inputs is an error (overlapping shards)\n"
            "  --force       replace an existing OUT\n\n"
            "Exit: 0 merged, 1 an input could not be read, 2 a usage error or inputs of\n"
            "different plans.\n");
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *out = NULL;
    unsigned flags = 0;
    bool force = false;
    const char **in = calloc((size_t)argc, sizeof *in);
    int n = 0;
    if (!in)
        return cli_error(CLI_EFAIL, "out of memory");
    int rc = CLI_OK;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) {
            if (i + 1 >= argc) {
                rc = cli_error(CLI_EUSAGE, "merge: %s needs a file", argv[i]);
                goto done;
            }
            out = argv[++i];
        } else if (!strcmp(argv[i], "--renumber")) {
            flags |= RESULTS_MERGE_RENUMBER;
        } else if (!strcmp(argv[i], "--force")) {
            force = true;
        } else if (argv[i][0] == '-') {
            rc = cli_error(CLI_EUSAGE, "merge: unknown option '%s' (ggperf merge --help)", argv[i]);
            goto done;
        } else {
            in[n++] = argv[i];
        }
    }
    if (!out || n == 0) {
        rc = cli_error(CLI_EUSAGE, "merge: -o OUT and at least one FILE are required (ggperf merge --help)");
        goto done;
    }
    if (!force && access(out, F_OK) == 0) {
        rc = cli_error(CLI_EFAIL, "merge: %s exists (--force replaces it)", out);
        goto done;
    }
    char err[1024];
    int m = results_merge(in, n, out, flags, err, sizeof err);
    if (m == RESULTS_EINVAL)
        rc = cli_error(CLI_EUSAGE, "%s", err);
    else if (m != 0)
        rc = cli_error(CLI_EFAIL, "%s", err);
    else
        fprintf(stderr, "ggperf: merged %d file%s into %s\n", n, n == 1 ? "" : "s", out);
done:
    free(in);
    return rc;
}

const struct cli_cmd cmd_merge = { "merge", "join results files of one plan (shards, rounds) into one", run };
