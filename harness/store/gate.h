/* gate — the regression gate: compare a current results file against a
 * baseline, configuration by configuration and metric by metric, and say
 * whether anything got worse in a way the evidence supports, without
 * crying wolf on a noisy runner.
 *
 * Matching: configurations by their axis values (the "axes" object of
 * header.configs[i], compared as a set of name/value pairs, never by id);
 * metrics by name. Configurations or metrics on one side only are listed
 * as warnings, never gated.
 *
 * What a metric means is read from the results file (results/metric.h:
 * better lower/higher/neither; kind sample/count/env/info; gated), as the
 * workload or counter backend that made it declared it, never guessed
 * from a unit or a name. The current side's declaration wins; the
 * baseline's is used when the current side has none. Gated by default:
 * the workload's small primary set (e.g. decode: tokens_per_s and
 * token_p50_ns; any simulated counts). gate_opts.metrics gates exactly
 * the named metrics, gate_opts.all_metrics every comparable one; the rest
 * are still compared and shown, labelled "not gated". Never gated:
 * environment figures (measured once per run: a STREAM peak, the cache
 * state found), informational ones, those where neither direction is
 * better (a fraction, a level), and undeclared ones. A results file from
 * before semantics were recorded has only undeclared metrics: nothing is
 * gated unless the caller declares them (gate_opts.higher_better /
 * lower_better / deterministic, with gate_opts.metrics), and a warning
 * says so.
 *
 * A metric may declare its own tolerance (metric_sem.tolerance: simulated
 * miss counts move with memory layout); it replaces the threshold of its
 * kind, and gate_opts.metric_thresholds replace both.
 *
 * Evidence by kind:
 *
 *   count    deterministic (simulated counts): the median compared with
 *            det_threshold (1%); n = 1 is enough. Exact, so outside the
 *            family below.
 *
 *   sample   statistics over the repetitions: a two-sided Mann-Whitney U
 *            test per comparison (with gate_opts.paired, as `ggperf ab`
 *            sets: the Wilcoxon signed-rank test of the per-pair log
 *            ratios, so that drift both halves of a pair saw cancels), and Holm's step-down procedure over
 *            every gated sample comparison of the call, so the chance
 *            that a gate run with no real change reports any regression
 *            is at most alpha (family-wise, 0.01), not alpha per metric.
 *            The relative change has a Hodges-Lehmann confidence interval
 *            (level 1 - alpha) and each row reports the minimum
 *            detectable effect (MDE): the relative change this n and
 *            this noise detect with power 0.8 at the Bonferroni level
 *            alpha / m, (z(1 - alpha/2m) + z(0.8)) sigma sqrt(1/n1 + 1/n2)
 *            sqrt(pi/3) (the U test's efficiency), sigma the pooled
 *            1.4826 MAD over |baseline median|.
 *
 * Three outcomes per gated sample comparison:
 *   regressed   Holm-adjusted p < alpha, the ranks say worse, and the
 *               median is worse by more than threshold (3%);
 *   unchanged   not regressed, and the confidence interval rules out a
 *               regression as large as the threshold (its worse end is
 *               below it): a significant but small change is unchanged;
 *   undecided   neither: too noisy or too few repetitions to tell. The
 *               note gives the MDE and what would decide. Undecided
 *               passes by default (undecided_pass) and fails with
 *               undecided_pass false; `ggperf ab` resolves it by
 *               collecting more rounds within a budget, splitting alpha
 *               over the looks (gate_opts.looks) so that looking again
 *               does not raise the false-alarm rate.
 * ("improved" is the mirror of regressed; it passes.)
 *
 * Environments: CPU model, compiler, build flags, kernel ISA path,
 * ggperf commit and OS kernel are compared and every difference is a
 * warning. Sample metrics measured on different CPU models are "not
 * gated: different CPU" unless gate_across_cpus; counts are still gated.
 *
 * Unusable input (GATE_EINPUT, exit 2 in the CLI): a file that cannot be
 * read or is not a ggperf results file, different workloads, or no
 * configuration in common.
 */
#ifndef GGPERF_HARNESS_GATE_H
#define GGPERF_HARNESS_GATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "results/metric.h"

enum gate_status {
    GATE_OK = 0,
    GATE_EINPUT = -1,   /* unusable input: unreadable, other workload, nothing in common (err says why) */
    GATE_ENOMEM = -2,
    GATE_EINVAL = -3,   /* bad option value */
    GATE_EIO = -4,      /* writing the report failed */
};

enum gate_verdict {
    GATE_REGRESSED = 0,
    GATE_UNDECIDED,
    GATE_IMPROVED,
    GATE_NOT_GATED,
    GATE_UNCHANGED,
    GATE_VERDICT_COUNT
};

enum gate_kind { GATE_KIND_TIMING = 0, GATE_KIND_DETERMINISTIC };

/* A threshold for one metric by name, replacing threshold or det_threshold. */
struct gate_metric_threshold {
    const char *name;
    double threshold;
};

struct gate_opts {
    double threshold;        /* sample metrics: relative median change that counts (0.03) */
    double det_threshold;    /* count metrics: relative change that counts (0.01) */
    double alpha;            /* family-wise significance level over the call (0.01) */
    int looks;               /* sequential looks alpha is split over (1; ggperf ab's budget sets more) */
    bool undecided_pass;     /* undecided verdicts pass the gate (default true) */
    bool gate_across_cpus;   /* gate sample metrics even when the CPU models differ */
    bool all_metrics;        /* gate every comparable metric, not only the primary set */
    bool paired;             /* sample metrics: values with the same "rep" on both sides are pairs (ggperf ab:
                              * pair k ran A and B back to back), tested with the Wilcoxon signed-rank test on
                              * log(current / baseline), which cancels drift the pairs share */
    /* Metric name lists, NULL-terminated (NULL: none). */
    const char *const *metrics;        /* gate exactly these (NULL: the declared primary set) */
    const char *const *higher_better;  /* declare higher-is-better (overrides the file) */
    const char *const *lower_better;   /* declare lower-is-better */
    const char *const *deterministic;  /* declare a deterministic count */
    const char *const *ignore;         /* never compare */
    const struct gate_metric_threshold *metric_thresholds; /* per-metric thresholds (NULL: none) */
    size_t n_metric_thresholds;
};

/* Defaults: 3%, 1%, family-wise 0.01, one look, undecided passes, same
 * CPU only, the primary set, no lists. */
void gate_opts_default(struct gate_opts *o);

/* One configuration × metric comparison. */
struct gate_row {
    char config[256];       /* "axis=value, axis=value" ("(no axes)" for none) */
    char metric[48];
    char unit[32];
    char source[16];        /* of the current side */
    enum gate_kind kind;    /* the evidence: statistics (sample) or exact (count) */
    struct metric_sem sem;  /* as judged: declared in the file, or by an option */
    bool gated;             /* judged: a verdict other than not gated is possible */
    bool in_family;         /* a statistical comparison in the Holm family */
    bool paired;            /* judged on pairs (gate_opts.paired): n_base == n_cur == the pairs */
    bool higher_better;
    double threshold;       /* the relative change that counted for this row */
    enum gate_verdict verdict;
    double base_median, cur_median;  /* NaN when that side has no values */
    double change;          /* (cur - base) / |base|; +-INFINITY from a zero base, 0 for 0 -> 0 */
    double p;               /* two-sided Mann-Whitney p (sample); NaN when not tested */
    double p_adj;           /* Holm-adjusted p over the family; NaN outside it */
    double min_p;           /* smallest p reachable with these n (sample); NaN otherwise */
    double ci_lo, ci_hi;    /* CI of the relative change (Hodges-Lehmann, level 1 - alpha); NaN */
    double noise;           /* pooled 1.4826 MAD / |baseline median|; NaN */
    double mde;             /* minimum detectable relative change (see above); NaN */
    size_t n_base, n_cur;   /* values on each side */
    char note[320];         /* why: inconclusive, not gated, significant but small, ... */
};

struct gate_report {
    char workload[64];
    char base_label[256], cur_label[256];   /* what the caller named the inputs */
    struct gate_opts opts;                  /* as used (lists not kept: NULL) */
    char metric_thresholds[256];            /* "d1_misses 5%, ll_misses 5%" ("" if none) */
    struct gate_row *rows;                  /* most severe first, then config order */
    size_t n_rows;
    size_t counts[GATE_VERDICT_COUNT];
    size_t n_configs_common;
    char **warnings;                        /* environment differences, one-sided configs/metrics */
    size_t n_warnings;
    bool cpu_differs;
    size_t n_family;                        /* gated sample comparisons (Holm's m) */
};

/* Compare the results file cur_path against base_path (JSONL stream or
 * JSON document). base_label / cur_label name them in the report (NULL:
 * the paths). Returns GATE_OK with *out (free with gate_report_free),
 * GATE_EINPUT with err saying why the input cannot be gated, GATE_EINVAL
 * for bad options, or GATE_ENOMEM. */
int gate_compare_files(const char *base_path, const char *cur_path, const char *base_label, const char *cur_label,
                       const struct gate_opts *o, struct gate_report **out, char *err, size_t err_len);

/* Free a report; NULL does nothing. */
void gate_report_free(struct gate_report *r);

/* 1 when the gate fails (a regression, or an undecided verdict under
 * the fail policy), else 0. */
int gate_failed(const struct gate_report *r);

/* The statistics of one comparison from its samples: medians, change,
 * noise, and for kind GATE_KIND_TIMING with two or more values a side the
 * U test's p and the confidence interval of the change at level 1 -
 * alpha. The caller has set metric, kind, higher_better, threshold and
 * gated (and a verdict GATE_NOT_GATED with a note for a row it will not
 * judge). The arrays are not modified. Returns 0, or GATE_ENOMEM. */
int gate_row_measure(struct gate_row *row, const double *base, size_t n_base, const double *cur, size_t n_cur,
                     double alpha);

/* The same for pairs (base[k], cur[k]), k < n: the change, its interval
 * and the test are those of the paired log ratios (Wilcoxon signed-rank,
 * Hodges-Lehmann interval over the Walsh averages); ratios need positive
 * values, else the differences relative to the baseline median are used. */
int gate_row_measure_paired(struct gate_row *row, const double *base, const double *cur, size_t n, double alpha);

/* Decide every gated row of r: Holm over the sample rows, the MDE, the
 * verdicts, counts and order (most severe first). opts must be set.
 * Returns 0 or GATE_ENOMEM. gate_compare_files calls it; the tests call
 * it on rows measured from synthetic samples. */
int gate_decide(struct gate_report *r);

/* The standard normal quantile: z with P(Z <= z) = q, 0 < q < 1. */
double gate_normal_quantile(double q);

/* "regressed", "undecided", "improved", "not gated", "unchanged". */
const char *gate_verdict_name(enum gate_verdict v);

/* "statistical (U test, Holm)" or "deterministic". */
const char *gate_kind_name(enum gate_kind k);

/* The smallest two-sided p-value the Mann-Whitney test can give with n1
 * and n2 samples without ties: min(1, 2 / C(n1 + n2, n1)). 1 when either
 * is 0. */
double gate_mwu_min_p(size_t n1, size_t n2);

/* Rows per Markdown table; the rest are counted, not shown. */
#define GATE_MD_MAX_ROWS 100

/* The Markdown summary (for a PR comment) of r to f: a title with the
 * verdict, the summary line with the counts, the rules, the warnings, a
 * table of the rows that are not unchanged (most severe first) and the
 * unchanged ones folded in a <details> block, each table cut at
 * GATE_MD_MAX_ROWS rows. Returns 0 or GATE_EIO. */
int gate_write_md(FILE *f, const struct gate_report *r);

/* The report as a JSON object (a new reference), NULL when out of memory. */
json_t *gate_report_json(const struct gate_report *r);

#endif
