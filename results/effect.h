/* effect — how much two samples differ, how sure we are, and what would
 * have been seen: the statistic behind every conclusion a report draws.
 *
 * For two sets of repetitions a (the reference) and b, effect_compare gives
 *   - the effect: the Hodges-Lehmann estimate of the shift of b against a
 *     (the median of all pairwise differences b_j - a_i), taken on logs
 *     when every value is positive, so it reads as a ratio b / a;
 *   - its distribution-free confidence interval: order statistics of those
 *     pairwise differences whose ranks come from the exact null
 *     distribution of the Mann-Whitney U (normal approximation beyond
 *     STATS_MWU_EXACT_MAX), with the interval's exact coverage (which is
 *     below the level asked for when the samples are too small);
 *   - the two-sided Mann-Whitney U test's p-value (stats_mann_whitney);
 *   - whether the difference is significant (p < alpha and the interval
 *     excludes "no change", which the test and the interval agree on up to
 *     ties), and otherwise the smallest change the interval would have
 *     excluded: "no difference detected (smallest detectable x%)".
 * No normality is assumed anywhere: repetitions of a timing are skewed.
 */
#ifndef GGPERF_RESULTS_EFFECT_H
#define GGPERF_RESULTS_EFFECT_H

#include <stdbool.h>
#include <stddef.h>

enum effect_status {
    EFFECT_OK = 0,
    EFFECT_EEMPTY = -1,    /* a sample is empty */
    EFFECT_EVALUE = -2,    /* a value is NaN or infinite */
    EFFECT_ENOMEM = -3,
};

struct effect {
    size_t n1, n2;
    bool ratio;            /* true: est/lo/hi are ratios b / a; false: differences b - a */
    double est;            /* Hodges-Lehmann estimate */
    double lo, hi;         /* confidence interval of est */
    double coverage;       /* exact (or normal-approximate) coverage of [lo, hi] */
    double p;              /* two-sided Mann-Whitney p-value */
    double p_min;          /* the smallest p these sample sizes can give (no ties) */
    double median_a, median_b;
    bool significant;      /* p < alpha and [lo, hi] excludes no change */
    bool too_few;          /* p_min >= alpha: no difference could ever be significant */
    double detectable;     /* not significant: the smallest relative change (0.04 = 4%) the
                              interval excludes in both directions; NaN when unknown */
};

/* Compare b against a at confidence level (e.g. 0.95) and significance
 * alpha (e.g. 0.05). The inputs are not modified. Returns EFFECT_OK or a
 * negative effect_status. */
int effect_compare(const double *a, size_t n1, const double *b, size_t n2, double level, double alpha,
                   struct effect *out);

#endif
