/* report — what a person reads at a glance: comparison tables and gnuplot
 * plots made from one or more ggperf results files.
 *
 * report_write reads every file with harness/results (never the engine: a
 * report can be made on a machine that never ran the model), groups them
 * by workload, and writes into one directory (reports/outdir.h: nothing
 * outside it, nothing that is not ggperf's unless forced):
 *
 *   report.md    first the conclusions (reports/conclude.h: each declared
 *                comparison as an effect with its CI and p, or "no
 *                difference detected"), then the plots, then
 *                per workload: a table row per configuration (and per input
 *                file when several are compared), metric columns "median ±
 *                MAD" with unit and counter source in the header, scaled
 *                units (ns -> µs/ms/s, bytes -> KiB/MiB/GiB), a ratio column
 *                of the headline metric against a baseline row;
 *                unsupported figures "n/s" and not counted "n/c" with a
 *                footnote giving the reason (never 0), noisy figures marked
 *                "~" with a footnote, ratios the test does not support
 *                marked n.s.; metric names humanized (reports/names.c)
 *   report.html  the same, self-contained: PNGs inlined as data URIs, a
 *                Content-Security-Policy that forbids anything external,
 *                and a small script that records on <body> whether every
 *                image decoded (data-images-ok / data-images-total) and any
 *                error (data-errors), for headless checks
 *   NAME.dat, NAME.gp, NAME.png, NAME.svg per plot: the data, the gnuplot
 *                script that reads NAME.dat and writes both images (edit it
 *                and run `gnuplot NAME.gp` in the directory to restyle)
 *
 * Which plots a workload gets is decided from the data (reports/chart.h):
 * by the axes and metrics present, with a bar chart per metric as the
 * fallback. Several files side by side are labelled by the first of
 * engine, host, commit, model, file name that differs between them.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_REPORT_H
#define GGPERF_REPORTS_REPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum report_status {
    REPORT_OK = 0,
    REPORT_EINPUT = -1,    /* a results file could not be read (message names it) */
    REPORT_EUSAGE = -2,    /* a bad option: --baseline that matches nothing, ... */
    REPORT_EOUTPUT = -3,   /* the output directory refused or a write failed */
    REPORT_ENOMEM = -4,
};

struct report_opts {
    const char *out_dir;     /* NULL: "report" */
    const char *baseline;    /* "AXIS=VALUE,..." (an axis may also be the
                                label kind, e.g. engine=llama.cpp, or "run");
                                NULL: each table's first row */
    const char *probe_path;  /* `ggperf probe --json` output: peak bandwidth for
                                the roofline when the results carry none; NULL */
    const char *gnuplot;     /* the program; NULL: $GGPERF_GNUPLOT, else "gnuplot" */
    const char *compare;     /* more comparisons to conclude on, ';'-separated
                                (reports/conclude.h); NULL: the studies' own */
    bool force;              /* replace files ggperf did not write */
    bool no_plots;           /* tables only */
};

#define REPORT_MAX_WARNINGS 8

struct report_summary {
    char md_path[PATH_MAX];
    char html_path[PATH_MAX];
    int n_groups;            /* workloads */
    int n_rows;              /* table rows, all groups */
    int n_plots;             /* plots chosen */
    int n_rendered;          /* of which gnuplot drew PNG and SVG */
    int n_warnings;
    char warnings[REPORT_MAX_WARNINGS][256];  /* for the CLI to print: gnuplot missing, ... */
};

/* Write the report of paths[0..n) (results files: JSONL stream or JSON
 * document) into o->out_dir. sum (may be NULL) gets the paths written and
 * counts. Returns 0 or a negative code with one line in err. */
int report_write(const char *const *paths, int n, const struct report_opts *o, struct report_summary *sum,
                 char *err, size_t err_len);

/* The loaded inputs, for callers that want the tables alone. */
struct report;

/* Read paths[0..n) and prepare the tables (baseline as in report_opts). */
int report_open(struct report **out, const char *const *paths, int n, const char *baseline, char *err,
                size_t err_len);

/* The Markdown tables with their footnotes, every workload, to f (no plots,
 * no timestamps: the same inputs give the same bytes). Returns 0 or
 * REPORT_EOUTPUT. */
int report_write_tables_md(const struct report *r, FILE *f);

/* Free; NULL does nothing. */
void report_free(struct report *r);

#endif
