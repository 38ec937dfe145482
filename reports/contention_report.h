/* contention_report — the answer of the contention study: its
 * calibration (this machine's false-sharing penalty, from the
 * contention_calib workload) beside a compact table of the layouts, and
 * conclusion lines that say how much slower a layout is with its p-value,
 * or that no difference was detected and how large one would have shown;
 * plus a gnuplot figure of time per 1024 rows by layout x threads with
 * 95% CIs.
 *
 * Comparisons are within one (op, type, align, kernels, threads) cell:
 * interleaved vs padded and blocked vs padded, over the per-repetition
 * ns_per_1024_rows; alignment: each align vs the first swept, padded
 * layout, 1 thread. Each uses the Mann-Whitney U test (p), the
 * Hodges-Lehmann shift of log times as a ratio with its 95% CI, and, when
 * p >= alpha, the smallest ratio the samples could have detected (power
 * 0.8); a significant ratio whose CI lies within the smallest effect of
 * interest (5%) is "no difference beyond 5%". Reads results files only (results/), never the engine.
 *
 * Library code: writes to the FILE it is given, never prints elsewhere.
 */
#ifndef GGPERF_REPORTS_CONTENTION_REPORT_H
#define GGPERF_REPORTS_CONTENTION_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum contention_report_status {
    CONTENTION_REPORT_OK = 0,
    CONTENTION_REPORT_EINPUT = -1,   /* a results file could not be read, or is of another workload */
    CONTENTION_REPORT_ENOMEM = -2,
    CONTENTION_REPORT_EOUTPUT = -3,  /* the plot files could not be written */
};

struct contention_report_opts {
    const char *study_path;      /* results of a `contention` sweep (stream or document) */
    const char *calib_path;      /* results of a `contention_calib` sweep; NULL: none */
    const char *plot_dir;        /* directory for the plot files; NULL: no plot */
    const char *plot_name;       /* their stem ([a-z0-9_-]); NULL: "contention-time" */
    double alpha;                /* significance level of the verdicts; 0: 0.01 */
    double min_effect;           /* smallest relative difference of interest; 0: 0.05. A significant
                                    difference whose whole 95% CI lies within it is reported as "no
                                    difference beyond" it: at 1 thread the layouts run the same code,
                                    and per-configuration effects of 1-2% reach p < 0.01 */
    const char *gnuplot;         /* program; NULL: $GGPERF_GNUPLOT or gnuplot */
};

struct contention_report_summary {
    char plot_png[4096];         /* the rendered figure, "" if none */
    char plot_gp[4096];          /* the script (always written when plot_dir is given) */
    char plot_msg[256];          /* why not rendered, "" if it was */
    int n_conclusions;
};

/* Write the report of o to f. Returns CONTENTION_REPORT_OK or a negative
 * code with err naming the file. A missing plot renderer (no gnuplot) is
 * not an error: sum->plot_msg says why there is no PNG. */
int contention_report_write(const struct contention_report_opts *o, FILE *f, struct contention_report_summary *sum,
                            char *err, size_t err_len);

/* "812 µs", "1.23 ms", "45.6 ns": a duration in ns with 3 significant
 * digits in the unit that keeps it between 1 and 1000. */
void contention_report_fmt_ns(double ns, char *buf, size_t len);

/* "p < 0.001" or "p = 0.042" (2 significant digits). */
void contention_report_fmt_p(double p, char *buf, size_t len);

#endif
