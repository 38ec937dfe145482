/* gate — the regression gate: compare a current results file against a
 * baseline, configuration by configuration and metric by metric, and say
 * whether anything got worse in a way the evidence supports.
 *
 * Matching: configurations by their axis values (the "axes" object of
 * header.configs[i], compared as a set of name/value pairs, never by id);
 * metrics by name. Configurations or metrics on one side only are listed
 * as warnings, never gated.
 *
 * Two kinds of evidence:
 *
 *   deterministic   source "sim" (valgrind counts), allocation counts
 *                   (unit "count", name "alloc*"), names forced with
 *                   gate_opts.deterministic, and any metric whose values
 *                   are identical across all repetitions on each side with
 *                   at least two repetitions per side. Compared on the
 *                   median with their own threshold (det_threshold, 1%):
 *                   worse by more than that is "regressed", better by more
 *                   "improved", else "unchanged". n = 1 is enough.
 *
 *   timing          everything else: time, and the noisy counter sources
 *   (Mann-Whitney)  hw, sw, sched, derived. "regressed" needs BOTH a
 *                   two-sided Mann-Whitney U test with p < alpha AND a
 *                   median change in the worse direction above threshold
 *                   (5%); "improved" the same in the better direction.
 *                   Anything else is "unchanged" (significant but small, or
 *                   large but not significant: a noisy shared runner must
 *                   not fail a build on a difference it cannot show).
 *                   When the repetitions are too few for the test to ever
 *                   reach alpha (its smallest possible two-sided p,
 *                   2 / C(n1 + n2, n1), is >= alpha; e.g. 3 vs 3 at 0.01)
 *                   the verdict is "inconclusive", which fails the gate
 *                   unless inconclusive_pass.
 *
 * Per-metric thresholds (gate_opts.metric_thresholds) replace the
 * threshold of the metric's kind, e.g. a looser one for simulated cache
 * misses, which move with code layout.
 *
 * Direction: higher is better when the unit is a rate ("tok/s", "GB/s",
 * "GFLOPS", "GFLOP/s", anything ending in "/s") or the name is forced
 * with gate_opts.higher_better; everything else (ns, time, faults,
 * misses, bytes, counts) is lower-is-better, and gate_opts.lower_better
 * forces that.
 *
 * Environments: CPU model, compiler, build flags, kernel ISA path,
 * ggperf commit and OS kernel are compared and every difference is a
 * warning. Timing metrics measured on different CPU models are "not
 * gated: different CPU" unless gate_across_cpus; deterministic ones are
 * still gated.
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

enum gate_status {
    GATE_OK = 0,
    GATE_EINPUT = -1,   /* unusable input: unreadable, other workload, nothing in common (err says why) */
    GATE_ENOMEM = -2,
    GATE_EINVAL = -3,   /* bad option value */
    GATE_EIO = -4,      /* writing the report failed */
};

enum gate_verdict {
    GATE_REGRESSED = 0,
    GATE_INCONCLUSIVE,
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
    double threshold;        /* timing: relative median change that counts (0.05) */
    double det_threshold;    /* deterministic: relative change that counts (0.01) */
    double alpha;            /* Mann-Whitney significance level (0.01) */
    bool inconclusive_pass;  /* inconclusive verdicts pass the gate (default: they fail) */
    bool gate_across_cpus;   /* gate timing metrics even when the CPU models differ */
    /* Metric name lists, NULL-terminated (NULL: none). */
    const char *const *higher_better;  /* force higher-is-better */
    const char *const *lower_better;   /* force lower-is-better */
    const char *const *deterministic;  /* force the deterministic comparison */
    const char *const *ignore;         /* never compare */
    const struct gate_metric_threshold *metric_thresholds; /* per-metric thresholds (NULL: none) */
    size_t n_metric_thresholds;
};

/* Defaults: 5%, 1%, 0.01, inconclusive fails, same CPU only, no lists. */
void gate_opts_default(struct gate_opts *o);

/* One configuration × metric comparison. */
struct gate_row {
    char config[256];       /* "axis=value, axis=value" ("(no axes)" for none) */
    char metric[48];
    char unit[32];
    char source[16];        /* of the current side */
    enum gate_kind kind;
    bool higher_better;
    double threshold;       /* the relative change that counted for this row */
    enum gate_verdict verdict;
    double base_median, cur_median;  /* NaN when that side has no values */
    double change;          /* (cur - base) / |base|; +-INFINITY from a zero base, 0 for 0 -> 0 */
    double p;               /* two-sided Mann-Whitney p (timing); NaN when not tested */
    double min_p;           /* smallest p reachable with these n (timing); NaN otherwise */
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

/* 1 when the gate fails (a regression, or an inconclusive verdict under
 * the fail policy), else 0. */
int gate_failed(const struct gate_report *r);

/* "regressed", "inconclusive", "improved", "not gated", "unchanged". */
const char *gate_verdict_name(enum gate_verdict v);

/* "timing (Mann-Whitney)" or "deterministic". */
const char *gate_kind_name(enum gate_kind k);

/* Whether a metric is higher-is-better by its unit and name alone (the
 * rule in the header comment, without the override lists). */
bool gate_unit_higher_better(const char *name, const char *unit);

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
