/* stats — the statistics every configuration × metric gets, and the
 * Mann-Whitney U test the regression gate uses.
 *
 * Robust first: the median is the figure, the MAD its spread, and the 95%
 * confidence interval of the median is distribution-free (order statistics
 * whose ranks come from the Binomial(n, 1/2) distribution), so no normality
 * is assumed anywhere. Mean and standard deviation are kept for reference.
 *
 * MAD here is the raw median absolute deviation, median(|x - median|), not
 * scaled by 1.4826: "median ± MAD" reads as "half the samples lie within".
 */
#ifndef GGPERF_HARNESS_STATS_H
#define GGPERF_HARNESS_STATS_H

#include <stdbool.h>
#include <stddef.h>

enum stats_status {
    STATS_OK = 0,
    STATS_EEMPTY = -1,   /* no samples */
    STATS_EVALUE = -2,   /* a sample is NaN or infinite */
    STATS_ENOMEM = -3,
};

/* When is a spread too wide to trust? Relative to |median|. */
struct stats_limits {
    double level;        /* confidence level of the median CI, e.g. 0.95 */
    double max_rel_mad;  /* MAD / |median| above this flags the figure (0.05) */
    double max_rel_ci;   /* CI half-width / |median| above this flags it (0.05) */
};

/* 95%, 5% and 5%. */
extern const struct stats_limits stats_default_limits;

struct stats_summary {
    size_t n;
    double median, mean, stddev, mad, min, max;
    double ci_lo, ci_hi;         /* CI of the median: x_(ci_lo_rank) .. x_(ci_hi_rank) */
    size_t ci_lo_rank, ci_hi_rank; /* 1-based ranks in sorted order */
    double ci_coverage;          /* exact coverage of [ci_lo, ci_hi] (>= level unless n is too small) */
    bool noisy;                  /* spread too wide to trust (see warning) */
    char warning[160];           /* why noisy, "" otherwise */
};

/* Summarize x[0..n). Sorts x in place (the caller's scratch). stddev is
 * the sample standard deviation (n - 1; 0 when n == 1). lim may be NULL
 * for stats_default_limits. When n is too small for the requested level
 * (n < 6 at 95%), the CI is [min, max] with its real, lower coverage and
 * the summary is flagged noisy unless every sample is the same. Returns STATS_OK, STATS_EEMPTY (n == 0) or
 * STATS_EVALUE (a non-finite sample; x is left unsorted then). */
int stats_summarize(double *x, size_t n, const struct stats_limits *lim, struct stats_summary *out);

/* Median of sorted x[0..n) (mean of the two middle values for even n); n > 0. */
double stats_median_sorted(const double *x, size_t n);

/* Ranks (1-based) of the distribution-free CI of the median for n
 * samples at confidence level: the largest lo with P(B <= lo - 1) <=
 * (1 - level) / 2 for B ~ Binomial(n, 1/2), and hi = n + 1 - lo. Returns
 * true when such a lo exists; false when n is too small (then lo = 1,
 * hi = n). *coverage gets 1 - 2 P(B <= lo - 1) either way. */
bool stats_median_ci_ranks(size_t n, double level, size_t *lo, size_t *hi, double *coverage);

/* P(B <= k) for B ~ Binomial(n, 1/2), computed in log space (any n). */
double stats_binom_half_cdf(size_t k, size_t n);

enum stats_mwu_method {
    STATS_MWU_AUTO = 0,   /* exact when both n <= STATS_MWU_EXACT_MAX and no ties, else normal */
    STATS_MWU_EXACT,      /* exact null distribution (no tie handling: midranks' U, untied counts) */
    STATS_MWU_NORMAL,     /* normal approximation, tie-corrected variance, continuity correction */
};

#define STATS_MWU_EXACT_MAX 20

struct stats_mwu {
    size_t n1, n2;
    double u1;            /* pairs (a_i > b_j) + ties/2: U of the first sample */
    double u2;            /* n1 * n2 - u1 */
    double z;             /* normal statistic (signed: > 0 when a tends larger); 0 for exact */
    double p;             /* two-sided p-value */
    bool exact;           /* which method produced p */
    bool ties;            /* any tie across the pooled samples */
};

/* Two-sided Mann-Whitney U test of a[0..n1) against b[0..n2). The inputs
 * are not modified (a scratch copy is malloc'ed). Returns STATS_OK,
 * STATS_EEMPTY (n1 or n2 is 0), STATS_EVALUE (non-finite sample),
 * STATS_ENOMEM. Exact p-values: p = min(1, 2 min(P(U <= u1), P(U >= u1)))
 * under H0; normal: z = (|u1 - n1 n2 / 2| - 1/2) / sigma with sigma^2 =
 * n1 n2 / 12 ((n + 1) - sum(t^3 - t) / (n (n - 1))) over tie groups t,
 * p = erfc(z / sqrt 2), capped at 1 (these match SciPy's mannwhitneyu). */
int stats_mann_whitney(const double *a, size_t n1, const double *b, size_t n2,
                       enum stats_mwu_method method, struct stats_mwu *out);

/* The null distribution of U for sample sizes n1, n2 without ties:
 * counts[u] for u = 0..n1 n2 (a malloc'ed array the caller frees; their sum
 * is C(n1 + n2, n1)), or NULL when out of memory. */
double *stats_mwu_null_counts(size_t n1, size_t n2);

/* ---- planning: how big a difference could two samples have shown? (the
 * effect itself is results/effect.h; stats_ prefix: used by the
 * contention study's conclusions, generic) */

/* Inverse of the standard normal CDF: z with P(Z <= z) = p, for p in
 * (0, 1) (NaN outside). Acklam's rational approximation refined by one
 * Halley step with erfc: about 1e-15 relative error. */
double stats_norm_quantile(double p);

/* The smallest shift between the populations of a and b that a two-sided
 * Mann-Whitney test at level alpha would detect with probability power,
 * for samples of these sizes and spread: (z(1 - alpha/2) + z(power)) *
 * sigma * sqrt(1/n1 + 1/n2) / sqrt(3/pi), sigma the pooled robust standard
 * deviation (1.4826 x each sample's MAD about its own median) and 3/pi the
 * test's efficiency relative to the t test on normal data. INFINITY when
 * even a complete separation of samples this small cannot reach p < alpha
 * (2 / C(n1 + n2, n1) >= alpha); NaN for empty or non-finite input. A
 * planning figure: "a difference this large would have been seen". */
double stats_min_detectable_shift(const double *a, size_t n1, const double *b, size_t n2, double alpha,
                                  double power);

struct stats_wsr {
    size_t n;             /* non-zero differences used */
    double w_plus;        /* sum of the ranks of the positive differences */
    double p;             /* two-sided p-value */
    bool exact;
};

#define STATS_WSR_EXACT_MAX 40

/* Two-sided Wilcoxon signed-rank test of the paired differences d[0..n)
 * against a median of 0 (zeros dropped, as Wilcoxon did). Exact null
 * distribution when at most STATS_WSR_EXACT_MAX non-zero differences and
 * no tied magnitudes, else the normal approximation with the tie-corrected
 * variance and a continuity correction. Returns STATS_OK, STATS_EEMPTY (no
 * non-zero difference: out->p is 1), STATS_EVALUE, STATS_ENOMEM. */
int stats_wilcoxon_signed_rank(const double *d, size_t n, struct stats_wsr *out);

#endif
