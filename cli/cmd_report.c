/* ggperf report — comparison tables and gnuplot plots from results files
 * (reports/report.h). Prints the path of report.html on stdout. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "reports/report.h"

#define MAX_INPUTS 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf report RESULTS... [-o DIR] [--baseline AXIS=VALUE,...] [--probe FILE]\n"
            "                     [--compare SPECS] [--force] [--no-plots]\n\n"
            "Write DIR/report.md and DIR/report.html (self-contained) from ggperf results files\n"
            "(JSONL streams or JSON documents, also `ggperf import` output): conclusions first\n"
            "(each with an effect, its CI and a p-value, or \"no difference\"), then plots, then\n"
            "per workload a\n"
            "table row per configuration with median ± MAD, units and counter sources, a ratio\n"
            "to a baseline row, and plots chosen from the axes and metrics present. Each plot\n"
            "is NAME.dat + NAME.gp (edit, then `gnuplot NAME.gp` in DIR to redraw) + NAME.png\n"
            "+ NAME.svg. Several files side by side are labelled by engine, host, commit, model\n"
            "or file name, whichever differs first. Prints the path of report.html.\n\n"
            "  -o DIR              output directory (default report/; created, not its parents)\n"
            "  --baseline LIST     the row ratios are against, e.g. load=mmap,cache=warm or\n"
            "                      engine=llama.cpp,test=tg32 (default: each table's first row)\n"
            "  --probe FILE        `ggperf probe --json` output: peak bandwidth for the roofline\n"
            "                      when the results carry none\n"
            "  --compare SPECS     more comparisons to conclude on, ';'-separated, each\n"
            "                      METRIC: AXIS=A vs B [at AXIS=V,...] [per AXIS], e.g.\n"
            "                      'ready_ns: load=mmap vs read per cache' (studies declare their own;\n"
            "                      two files of one workload are compared second vs first)\n"
            "  --force             replace files in DIR that ggperf report did not write\n"
            "  --no-plots          tables only\n\n"
            "DIR/.ggperf-report lists what ggperf wrote; anything else in DIR is left alone.\n");
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *inputs[MAX_INPUTS];
    int n = 0;
    struct report_opts o = { 0 };
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && a[0] == '-' && a[1]) {
            const char **dst = NULL;
            if (strcmp(a, "--") == 0) {
                dashdash = true;
                continue;
            } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
                dst = &o.out_dir;
            } else if (strcmp(a, "--baseline") == 0) {
                dst = &o.baseline;
            } else if (strcmp(a, "--probe") == 0) {
                dst = &o.probe_path;
            } else if (strcmp(a, "--compare") == 0) {
                dst = &o.compare;
            } else if (strcmp(a, "--force") == 0) {
                o.force = true;
                continue;
            } else if (strcmp(a, "--no-plots") == 0) {
                o.no_plots = true;
                continue;
            } else {
                cli_error(CLI_EUSAGE, "report: unknown option %s", a);
                usage(stderr);
                return CLI_EUSAGE;
            }
            if (++i >= argc || !*argv[i])
                return cli_error(CLI_EUSAGE, "report: %s needs a value", a);
            *dst = argv[i];
            continue;
        }
        if (n == MAX_INPUTS)
            return cli_error(CLI_EUSAGE, "report: at most %d results files", MAX_INPUTS);
        inputs[n++] = a;
    }
    if (n == 0) {
        usage(stderr);
        return CLI_EUSAGE;
    }
    char err[768];
    struct report_summary sum;
    int rc = report_write(inputs, n, &o, &sum, err, sizeof err);
    if (rc == REPORT_EUSAGE)
        return cli_error(CLI_EUSAGE, "report: %s", err);
    if (rc != 0)
        return cli_error(CLI_EFAIL, "report: %s", err);
    for (int i = 0; i < sum.n_warnings; i++)
        fprintf(stderr, "ggperf: report: %s\n", sum.warnings[i]);
    fprintf(stderr, "ggperf: report: %d workload%s, %d rows, %d of %d plots drawn; Markdown in %s\n", sum.n_groups,
            sum.n_groups == 1 ? "" : "s", sum.n_rows, sum.n_rendered, sum.n_plots, sum.md_path);
    printf("%s\n", sum.html_path);
    return CLI_OK;
}

const struct cli_cmd cmd_report = { "report", "write tables and plots from results files", run };
