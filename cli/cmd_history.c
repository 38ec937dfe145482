/* ggperf history — the series of gated runs in the store, their change
 * points (E-divisive means, a fixed-seed permutation test) with the commit
 * where each step happened, a gnuplot plot, and `history import` to add
 * results files from many runners (a CI matrix, a Slurm array) to one
 * store keyed by machine fingerprint. The rules are in
 * harness/store/history.h. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/store/history.h"
#include "harness/store/store.h"
#include "results/stats.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ggperf history [--metric M] [--workload W] [--config TEXT] [--machine FP]\n"
            "                      [--plot FILE.png] [-o md|json] [--sig A] [--perms N] [--seed S]\n"
            "                      [--store PATH]\n"
            "       ggperf history import [--branch B] [--store PATH] FILE...\n\n"
            "Print the stored series (one per machine x workload x configuration x metric,\n"
            "oldest first: what `ggperf gate --history`, `ggperf ab --history` and `history\n"
            "import` stored) with their change points: E-divisive means (Matteson & James\n"
            "2014) with a permutation test of fixed seed, so the same history always gives\n"
            "the same answer. Each change point is reported with the commit it first shows\n"
            "in and the step between the segments' medians.\n\n"
            "  --metric, --workload, --machine  only series with these (exact)\n"
            "  --config TEXT   only configurations whose label contains TEXT\n"
            "  --plot FILE.png plot the series (relative to each one's median) with gnuplot;\n"
            "                  FILE.gp and FILE.dat are kept next to it\n"
            "  --sig A         permutation-test level (default 0.05)\n"
            "  --perms N       permutations per test (default 199)\n"
            "  --seed S        seed of the permutations (default 1)\n"
            "  --store PATH    the store (default $GGPERF_STORE, else\n"
            "                  ~/.local/share/ggperf/store.sqlite)\n\n"
            "import: store the medians of each file's declared primary metrics, per\n"
            "configuration, under the file's machine fingerprint and commit.\n");
}

static int do_import(int argc, char **argv, const char *store_path)
{
    const char *branch = NULL;
    int n_files = 0, rc = CLI_OK;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--branch") && i + 1 < argc) {
            branch = argv[++i];
        } else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            i++;
        } else if (argv[i][0] == '-') {
            return cli_error(CLI_EUSAGE, "history import: unknown option '%s'", argv[i]);
        }
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--branch") || !strcmp(argv[i], "--store")) {
            i++;
            continue;
        }
        char err[1024];
        size_t n = 0;
        if (history_import(store_path, argv[i], branch, &n, err, sizeof err) != 0) {
            rc = cli_error(CLI_EFAIL, "history import: %s", err);
            continue;
        }
        fprintf(stderr, "ggperf: history: %s: %zu points\n", argv[i], n);
        n_files++;
    }
    if (n_files == 0 && rc == CLI_OK)
        return cli_error(CLI_EUSAGE, "history import: which files? (ggperf history --help)");
    return rc;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *x, size_t n)
{
    double *a = malloc((n ? n : 1) * sizeof *a);
    if (!a || n == 0) {
        free(a);
        return NAN;
    }
    memcpy(a, x, n * sizeof *a);
    qsort(a, n, sizeof *a, cmp_d);
    double m = stats_median_sorted(a, n);
    free(a);
    return m;
}

#define MAX_CP 64

static int plot(const char *png, const struct history_series *s, size_t ns, size_t (*cps)[MAX_CP], const int *ncp)
{
    char dat[PATH_MAX], gp[PATH_MAX];
    snprintf(dat, sizeof dat, "%s.dat", png);
    snprintf(gp, sizeof gp, "%s.gp", png);
    FILE *d = fopen(dat, "w"), *g = fopen(gp, "w");
    if (!d || !g) {
        if (d)
            fclose(d);
        if (g)
            fclose(g);
        return cli_error(CLI_EFAIL, "history: cannot write %s / %s", dat, gp);
    }
    fprintf(g, "set terminal pngcairo size 1100,500 noenhanced\nset output '%s'\n"
               "set title 'ggperf history (relative to each series median; dashed: change points)'\n"
               "set xlabel 'run'\nset ylabel 'change vs median (%%)'\nset grid\nset key outside right\n",
            png);
    for (size_t i = 0; i < ns; i++) {
        double med = median_of(s[i].value, s[i].n);
        fprintf(d, "# %s %s %s\n", s[i].workload, s[i].config, s[i].metric);
        for (size_t k = 0; k < s[i].n; k++)
            fprintf(d, "%zu %.6g\n", k, med != 0 ? (s[i].value[k] / med - 1) * 100 : 0);
        fprintf(d, "\n\n");
        for (int c = 0; c < ncp[i]; c++)
            fprintf(g, "set arrow from %g, graph 0 to %g, graph 1 nohead dashtype 2 lc %zu\n", cps[i][c] - 0.5,
                    cps[i][c] - 0.5, i + 1);
    }
    fprintf(g, "plot ");
    for (size_t i = 0; i < ns; i++)
        fprintf(g, "%s'%s' index %zu with linespoints lc %zu title '%s %s'", i ? ", " : "", dat, i, i + 1,
                s[i].metric, s[i].config);
    fprintf(g, "\n");
    fclose(d);
    fclose(g);
    char cmd[PATH_MAX * 2 + 32];
    snprintf(cmd, sizeof cmd, "gnuplot '%s'", gp);
    int st = system(cmd);
    if (st != 0)
        return cli_error(CLI_EFAIL, "history: gnuplot %s failed (status %d); the data is in %s", gp, st, dat);
    fprintf(stderr, "ggperf: history: plot in %s\n", png);
    return 0;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    const char *store_path = NULL, *png = NULL;
    struct history_filter f = { 0 };
    struct history_cp_opts o;
    history_cp_default(&o);
    int fmt = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--store") && i + 1 < argc)
            store_path = argv[i + 1];
    char sp[PATH_MAX], err[1024];
    if (!store_path) {
        if (store_default_path(sp, sizeof sp, err, sizeof err) != 0)
            return cli_error(CLI_EUSAGE, "history: no store: %s", err);
        store_path = sp;
    }
    if (argc > 1 && !strcmp(argv[1], "import"))
        return do_import(argc - 1, argv + 1, store_path);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return cli_error(CLI_EUSAGE, "history: %s needs a value (ggperf history --help)", a);
        int e = 0;
        if (!strcmp(a, "--metric"))
            f.metric = v;
        else if (!strcmp(a, "--workload"))
            f.workload = v;
        else if (!strcmp(a, "--config"))
            f.config = v;
        else if (!strcmp(a, "--machine"))
            f.machine = v;
        else if (!strcmp(a, "--plot"))
            png = v;
        else if (!strcmp(a, "--store"))
            ;
        else if (!strcmp(a, "--sig"))
            e = cli_parse_double(a, v, 1e-6, 0.5, &o.sig);
        else if (!strcmp(a, "--perms"))
            e = cli_parse_int(a, v, 19, 100000, &o.perms);
        else if (!strcmp(a, "--seed"))
            e = cli_parse_u64(a, v, 0, UINT64_MAX, &o.seed);
        else if (!strcmp(a, "-o")) {
            static const char *const fmts[] = { "md", "json", NULL };
            if ((fmt = cli_parse_choice(a, v, fmts)) < 0)
                return CLI_EUSAGE;
        } else
            return cli_error(CLI_EUSAGE, "history: unknown option '%s' (ggperf history --help)", a);
        if (e)
            return e;
        i++;
    }
    struct history_series *s = NULL;
    size_t ns = 0;
    if (history_series_get(store_path, &f, &s, &ns, err, sizeof err) != 0)
        return cli_error(CLI_EFAIL, "%s", err);
    if (ns == 0) {
        history_series_free(s, ns);
        return cli_error(CLI_EFAIL, "history: no stored points match (ggperf gate --history stores them)");
    }
    size_t(*cps)[MAX_CP] = calloc(ns, sizeof *cps);
    double(*pv)[MAX_CP] = calloc(ns, sizeof *pv);
    int *ncp = calloc(ns, sizeof *ncp);
    json_t *jall = json_array();
    int rc = CLI_OK, total = 0;
    if (!cps || !pv || !ncp || !jall) {
        rc = cli_error(CLI_EFAIL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ns; i++) {
        ncp[i] = history_change_points(s[i].value, s[i].n, &o, cps[i], pv[i], MAX_CP);
        if (ncp[i] < 0) {
            rc = cli_error(CLI_EFAIL, "out of memory");
            goto done;
        }
        total += ncp[i];
        const struct history_series *x = &s[i];
        json_t *jcp = json_array();
        if (fmt == 0)
            printf("### %s: %s — %s (%s, %s is better; machine %s): %zu points, %d change point%s\n\n", x->workload,
                   x->config, x->metric, x->unit, x->better[0] ? x->better : "?", x->machine, x->n, ncp[i],
                   ncp[i] == 1 ? "" : "s");
        for (int c = 0; c < ncp[i]; c++) {
            size_t at = cps[i][c], from = c ? cps[i][c - 1] : 0, to = c + 1 < ncp[i] ? cps[i][c + 1] : x->n;
            double before = median_of(x->value + from, at - from), after = median_of(x->value + at, to - at);
            double step = before != 0 ? (after / before - 1) : NAN;
            json_array_append_new(jcp, json_pack("{s:I, s:s, s:s, s:s, s:f, s:f, s:f, s:f}", "index", (json_int_t)at,
                                                 "commit", x->commit[at], "branch", x->branch[at], "time", x->time[at],
                                                 "before", before, "after", after, "step", isfinite(step) ? step : 0,
                                                 "p", pv[i][c]));
            if (fmt == 0)
                printf("- change point at run %zu, commit %s (%s): median %.6g -> %.6g (%+.2f%%), permutation p %.3g\n",
                       at, x->commit[at][0] ? x->commit[at] : "?", x->time[at], before, after, step * 100, pv[i][c]);
        }
        if (fmt == 0) {
            printf("%s| run | time | branch | commit | value | |\n|--:|:--|:--|:--|--:|:--|\n", ncp[i] ? "\n" : "");
            for (size_t k = 0; k < x->n; k++) {
                bool mark = false;
                for (int c = 0; c < ncp[i]; c++)
                    mark = mark || cps[i][c] == k;
                printf("| %zu | %s | %s | %s | %.6g | %s |\n", k, x->time[k], x->branch[k], x->commit[k], x->value[k],
                       mark ? "⟵ change point" : "");
            }
            printf("\n");
        }
        json_t *vals = json_array();
        for (size_t k = 0; k < x->n; k++)
            json_array_append_new(vals, json_pack("{s:s, s:s, s:s, s:f}", "time", x->time[k], "branch", x->branch[k],
                                                  "commit", x->commit[k], "value", x->value[k]));
        json_array_append_new(jall, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "machine", x->machine, "workload",
                                              x->workload, "config", x->config, "metric", x->metric, "unit", x->unit,
                                              "points", vals, "change_points", jcp));
    }
    if (fmt == 1) {
        json_t *doc = json_pack("{s:s, s:{s:s, s:f, s:i, s:I}, s:o}", "schema", "ggperf-history", "method",
                                "name", "e-divisive means (alpha 1), permutation test", "sig", o.sig, "perms", o.perms,
                                "seed", (json_int_t)o.seed, "series", jall);
        jall = NULL;
        json_dumpf(doc, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        printf("%zu series, %d change point%s (E-divisive means, permutation test: %d permutations, seed %llu, "
               "level %g)\n", ns, total, total == 1 ? "" : "s", o.perms, (unsigned long long)o.seed, o.sig);
    }
    if (png)
        rc = plot(png, s, ns, cps, ncp);
done:
    json_decref(jall);
    free(cps);
    free(pv);
    free(ncp);
    history_series_free(s, ns);
    return rc;
}

const struct cli_cmd cmd_history = { "history", "gated runs over time: series, change points, plot", run };
