/* report_impl — the loaded inputs of a report, shared by report.c (tables,
 * output) and chart.c (choosing plots). Not a public interface. */
#ifndef GGPERF_REPORTS_REPORT_IMPL_H
#define GGPERF_REPORTS_REPORT_IMPL_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "results/effect.h"
#include "results/results.h"
#include "reports/report.h"

/* One input file. */
struct rep_run {
    char path[PATH_MAX];
    const char *base;              /* file name part of path */
    struct results_reader *rd;
    const json_t *header;          /* borrowed from rd */
    json_t *stats;                 /* results_stats: one entry per configuration */
    json_t *probe;                 /* borrowed: header's probe, or the --probe file's */
    char label[96];                /* how its rows are told apart ("" alone) */
    const char *workload;
    size_t n_samples;
    bool complete, truncated;
    size_t dups;
};

/* A table row: one configuration of one run that has repetitions. */
struct rep_row {
    int run;
    const json_t *cs;              /* its stats entry */
    const json_t *axes;            /* its axes object */
    int vs_base;                   /* headline against the baseline row: 1 significant, 0 not, -1 untested */
};

/* A metric column. */
struct rep_col {
    char name[METRIC_NAME_MAX];
    char unit[32];
    char source[16];
    char label[96];                /* "touch", "minor faults", "tokens/s" */
    char disp_unit[16];            /* scaled: "ms", "MiB", or unit */
    double div;                    /* value / div is in disp_unit */
    int per_cell;                  /* values too far apart for one unit: 1 each cell
                                      scales its own (ns, bytes), 2 SI prefixes (k, M, G) */
    bool any_ok;                   /* some row has a figure */
    bool varies;                   /* medians differ between rows */
    bool constant;                 /* every row: the same figure, no spread (listed once, not a column) */
    bool unresolved;               /* a percentile equal to the maximum in every row: too few values
                                      per repetition to tell them apart (not shown, said once) */
};

/* One workload's rows from every run that measured it. */
struct rep_group {
    char workload[64];
    char description[256];
    int *runs;
    int n_runs;
    char label_kind[16];           /* "engine", "host", "commit", "model", "file"; "" with one run */
    char **axes;                   /* union of the runs' axis names, in order */
    bool *axis_varies;             /* [n_axes]: takes more than one value over the rows */
    int n_axes;
    struct rep_row *rows;
    int n_rows;
    struct rep_col *cols;
    int n_cols;
    int n_shown;                   /* cols[0..n_shown) are table columns, the rest constant */
    int headline;                  /* column of the ratio, -1 none */
    int base_row;                  /* -1 none */
    int n_empty;                   /* configurations without repetitions (not shown) */
    char unresolved[256];          /* labels of the unresolved percentiles, "" none */
    struct rep_ab {                /* two runs: the second's headline against the first's, per row */
        int row;                   /* the second run's row */
        double ratio, lo, hi;      /* Hodges-Lehmann ratio and its CI (NaN: not a ratio) */
        double coverage;           /* of that CI */
        bool significant;
    } *ab;
    int n_ab;
};

/* One conclusion line (reports/conclude.h). */
struct rep_conclusion {
    int group;
    char spec[160];                /* the comparison it answers, or "A vs B" */
    char metric[METRIC_NAME_MAX];
    char context[200];             /* the axes held fixed: "cache=warm" */
    char text[640];                /* the whole line, plain text */
    char lead[240];                /* its first part ("load, cache=warm — ready: mmap vs read"), for bold */
    bool significant, no_difference, too_few;
    bool flagged;                  /* a cell it rests on is flagged as noisy */
    char why[200];                 /* the flag's warning ("MAD is 6.8% of the median ...") */
    int row_a, row_b;              /* the compared rows of the group (subject, reference) */
    double ratio, lo, hi;          /* the effect as a ratio and its CI (NaN when a difference) */
    double coverage;
};

struct report {
    struct rep_conclusion *concl;
    int n_concl;
    struct rep_run *runs;
    int n_runs;
    struct rep_group *groups;
    int n_groups;
    json_t *probe_file;            /* --probe contents or NULL */
    int n_warnings;
    char warnings[REPORT_MAX_WARNINGS][256];
};

/* The status-ok values of metric name over the successful repetitions of
 * row r (a malloc'ed array in *v, its length in *n; the caller frees).
 * Returns 0, REPORT_EINPUT (a corrupt record) or REPORT_ENOMEM. */
int report_row_samples(struct report *rp, const struct rep_row *r, const char *name, double **v, size_t *n);

/* The stats object of metric name in a configuration's stats, or NULL. */
const json_t *report_metric(const json_t *cs, const char *name);

/* The value of axis name for a row ("" when the run lacks it). */
const char *report_axis(const struct rep_row *r, const char *name);

/* A row's median of metric name: true with *med (and the CI in lo/hi,
 * either may be NULL) when the figure is ok. */
bool report_median(const struct rep_row *r, const char *name, double *med, double *lo, double *hi);

/* The row's values of the axes that vary in the group, except those in
 * skip (NULL-terminated, may be NULL), with the run label first when the
 * group has several runs: "mmap cold", or with names "pin=on wait=spin". */
void report_row_label(const struct report *rp, const struct rep_group *g, const struct rep_row *r,
                      const char *const *skip, bool names, char *buf, size_t len);

/* Display unit and divisor for values of unit up to max_abs. */
void report_scale(const char *unit, double max_abs, char *disp, size_t disp_len, double *div);

/* A readable metric name without its unit: "map/read", "minor faults",
 * "tokens/s" (reports/names.c). */
void report_metric_label(const char *name, char *buf, size_t len);

/* The unit a column of unit is labelled with before scaling: "%" for a
 * fraction (values times 100), "" for counts, booleans and levels. */
const char *report_unit_shown(const char *unit);

/* True when every value of axis name in the group parses as a number. */
bool report_axis_numeric(const struct rep_group *g, const char *name);

/* "MODEL on CPU" for titles (from the group's first run). */
void report_subject(const struct report *rp, const struct rep_group *g, char *buf, size_t len);

/* Peak memory bandwidth in GB/s known for a run (its header's probe, else
 * the --probe file): true with *gbps and what it is ("STREAM triad peak,
 * probe"). */
bool report_probe_peak(const struct report *rp, const struct rep_run *run, double *gbps, char *what, size_t len);

/* Append a warning for the caller to print (dropped beyond the limit). */
void report_warn(struct report *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* snprintf into a label or message buffer, where cutting a long text short
 * is the intended behaviour. */
void report_str_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fill err (may be NULL) and return code: the report modules' error path. */
int report_fail(char *err, size_t err_len, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* True when a metric's stats object m (may be NULL) has an ok median. */
bool report_metric_ok(const json_t *m);

/* Index of axis name in the group, or -1. */
int report_axis_index(const struct rep_group *g, const char *name);

/* The file name part of a path. */
const char *report_base_name(const char *p);

/* The CPU's name recorded in a header, into buf with padding and (R)/(TM)
 * marks removed: buf, or NULL when none is recorded. */
const char *report_cpu_name(const json_t *h, char *buf, size_t len);

/* The model's file name (else its type) recorded in a header, or "". */
void report_model_name(const json_t *h, char *buf, size_t len);

/* A Markdown table cell: '|' escaped, line breaks as spaces. */
void report_md_cell(FILE *f, const char *s);

/* One group's tables and notes, as Markdown (html NULL) or HTML (md NULL). */
int report_group_tables(const struct report *rp, const struct rep_group *g, FILE *md, FILE *html);

/* "model synth.gguf (llama, 134 M parameters, 137 MiB) · CPU, 2 CPUs · host · commit · 6 repetitions". */
void report_run_meta(const struct rep_run *run, char *buf, size_t len);

/* "pin=off, wait=spin": the axes that take one value over the group's rows. */
void report_fixed_axes(const struct rep_group *g, char *buf, size_t len);

/* The baseline row's label with axis names ("" without one). */
void report_base_text(const struct report *rp, const struct rep_group *g, char *buf, size_t len);

/* A workload's heading and what was measured, before its tables. */
void report_heading_md(const struct report *rp, const struct rep_group *g, FILE *f);
void report_heading_html(const struct report *rp, const struct rep_group *g, FILE *f);

#endif
