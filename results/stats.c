/* stats — robust summaries and the Mann-Whitney U test (see stats.h). */
#include "results/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct stats_limits stats_default_limits = { 0.95, 0.05, 0.05 };

/* Forced-exact U tests above this many pairs use the normal approximation:
 * the exact table costs O(n1 * n2 * n1 n2) time. */
#define MWU_EXACT_MAX_PAIRS 40000

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double stats_median_sorted(const double *x, size_t n)
{
    if (n % 2)
        return x[n / 2];
    /* a + (b - a) / 2 stays finite where (a + b) / 2 could overflow */
    return x[n / 2 - 1] + (x[n / 2] - x[n / 2 - 1]) / 2;
}

static double binom_half_log_pmf(size_t i, size_t n);

double stats_binom_half_cdf(size_t k, size_t n)
{
    if (k >= n)
        return 1.0;
    /* pmf(i) = C(n, i) 2^-n; log C(n, i) via lgamma keeps large n finite */
    double sum = 0;
    for (size_t i = 0; i <= k; i++)
        sum += exp(binom_half_log_pmf(i, n));
    return sum > 1 ? 1 : sum;
}

static double binom_half_log_pmf(size_t i, size_t n)
{
    return lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * log(2.0);
}

bool stats_median_ci_ranks(size_t n, double level, size_t *lo, size_t *hi, double *coverage)
{
    double tail = (1 - level) / 2;
    size_t l = 0;
    double cdf = 0, cdf_valid = 0;
    /* P(B <= k) grows with k; rank l = k + 1 is valid while P(B <= k) <= tail.
     * The running sum keeps this O(n) for any n. */
    for (size_t k = 0; k < n / 2 + 1; k++) {
        cdf += exp(binom_half_log_pmf(k, n));
        if (cdf > tail)
            break;
        l = k + 1;
        cdf_valid = cdf;
    }
    bool ok = l > 0;
    if (!ok) {
        l = 1;
        cdf_valid = n ? exp(binom_half_log_pmf(0, n)) : 0.5;
    }
    *lo = l;
    *hi = n + 1 - l;
    *coverage = 1 - 2 * cdf_valid;
    return ok;
}

int stats_summarize(double *x, size_t n, const struct stats_limits *lim, struct stats_summary *out)
{
    memset(out, 0, sizeof *out);
    if (!lim)
        lim = &stats_default_limits;
    if (n == 0)
        return STATS_EEMPTY;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return STATS_EVALUE;
    qsort(x, n, sizeof *x, cmp_double);
    out->n = n;
    out->min = x[0];
    out->max = x[n - 1];
    out->median = stats_median_sorted(x, n);

    /* Welford: stable mean and variance in one pass */
    double mean = 0, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        mean += d / (double)(i + 1);
        m2 += d * (x[i] - mean);
    }
    out->mean = mean;
    out->stddev = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0;

    /* MAD: |x - median| is V-shaped over sorted x; merge its two sorted
     * halves by walking outwards from the median, no scratch needed. */
    size_t want = n / 2; /* index of the upper-middle deviation */
    size_t right = 0;
    while (right < n && x[right] < out->median)
        right++;
    size_t left = right; /* x[0..left) are below the median, x[right..n) at or above */
    double prev = 0, cur = 0;
    for (size_t k = 0; k <= want; k++) {
        double dl = left > 0 ? out->median - x[left - 1] : INFINITY;
        double dr = right < n ? x[right] - out->median : INFINITY;
        prev = cur;
        if (dl < dr) {
            cur = dl;
            left--;
        } else {
            cur = dr;
            right++;
        }
    }
    out->mad = n % 2 ? cur : prev + (cur - prev) / 2;

    bool ci_ok = stats_median_ci_ranks(n, lim->level, &out->ci_lo_rank, &out->ci_hi_rank, &out->ci_coverage);
    out->ci_lo = x[out->ci_lo_rank - 1];
    out->ci_hi = x[out->ci_hi_rank - 1];

    double am = fabs(out->median);
    double half = (out->ci_hi - out->ci_lo) / 2;
    if (out->min == out->max) {
        /* every sample identical: no spread to distrust, whatever n */
    } else if (!ci_ok) {
        out->noisy = true;
        snprintf(out->warning, sizeof out->warning,
                 "n=%zu is too few for a %.0f%% CI of the median (that CI is min..max, coverage %.1f%%)",
                 n, lim->level * 100, out->ci_coverage * 100);
    } else if (am == 0) {
        if (half > 0 || out->mad > 0) {
            out->noisy = true;
            snprintf(out->warning, sizeof out->warning, "median 0 with nonzero spread (CI %g..%g)",
                     out->ci_lo, out->ci_hi);
        }
    } else if (out->mad / am > lim->max_rel_mad) {
        out->noisy = true;
        snprintf(out->warning, sizeof out->warning, "MAD is %.1f%% of the median (limit %.1f%%)",
                 100 * out->mad / am, 100 * lim->max_rel_mad);
    } else if (half / am > lim->max_rel_ci) {
        out->noisy = true;
        snprintf(out->warning, sizeof out->warning,
                 "%.0f%% CI half-width is %.1f%% of the median (limit %.1f%%)", lim->level * 100,
                 100 * half / am, 100 * lim->max_rel_ci);
    }
    return STATS_OK;
}

struct tagged {
    double v;
    int from_a;
};

static int cmp_tagged(const void *pa, const void *pb)
{
    const struct tagged *a = pa, *b = pb;
    return (a->v > b->v) - (a->v < b->v);
}

/* Null distribution of U for sizes (n1, n2), no ties: counts[u] for
 * u = 0..n1 n2, as doubles (C(40, 20) ~ 1.4e11 is exact in a double).
 * N(u; i, j) = N(u - j; i - 1, j) + N(u; i, j - 1): the largest pooled
 * value either belongs to the first sample (beating all j others) or not. */
double *stats_mwu_null_counts(size_t n1, size_t n2)
{
    size_t umax = n1 * n2, w = umax + 1;
    double *f = calloc((n1 + 1) * w, sizeof *f); /* f[i * w + u], for the current j */
    if (!f)
        return NULL;
    for (size_t i = 0; i <= n1; i++)
        f[i * w] = 1; /* j = 0: U is 0 */
    for (size_t j = 1; j <= n2; j++)
        for (size_t i = 1; i <= n1; i++)
            /* descending u so f[i][u] still holds the j - 1 value when read;
             * f[i - 1][..] already holds the value for j */
            for (size_t u = umax + 1; u-- > 0;)
                f[i * w + u] += u >= j ? f[(i - 1) * w + u - j] : 0;
    double *out = malloc(w * sizeof *out);
    if (out)
        memcpy(out, f + n1 * w, w * sizeof *out);
    free(f);
    return out;
}

int stats_mann_whitney(const double *a, size_t n1, const double *b, size_t n2,
                       enum stats_mwu_method method, struct stats_mwu *out)
{
    memset(out, 0, sizeof *out);
    if (n1 == 0 || n2 == 0)
        return STATS_EEMPTY;
    size_t n = n1 + n2;
    struct tagged *t = malloc(n * sizeof *t);
    if (!t)
        return STATS_ENOMEM;
    for (size_t i = 0; i < n1; i++)
        t[i] = (struct tagged){ a[i], 1 };
    for (size_t i = 0; i < n2; i++)
        t[n1 + i] = (struct tagged){ b[i], 0 };
    for (size_t i = 0; i < n; i++)
        if (!isfinite(t[i].v)) {
            free(t);
            return STATS_EVALUE;
        }
    qsort(t, n, sizeof *t, cmp_tagged);

    /* midranks; tie groups feed the variance correction */
    double r1 = 0, tie_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && t[j].v == t[i].v)
            j++;
        double rank = ((double)(i + 1) + (double)j) / 2, g = (double)(j - i);
        for (size_t k = i; k < j; k++)
            if (t[k].from_a)
                r1 += rank;
        if (j - i > 1) {
            out->ties = true;
            tie_sum += g * g * g - g;
        }
        i = j;
    }
    free(t);

    double pairs = (double)n1 * (double)n2;
    out->n1 = n1;
    out->n2 = n2;
    out->u1 = r1 - (double)n1 * (double)(n1 + 1) / 2;
    out->u2 = pairs - out->u1;

    bool exact = method == STATS_MWU_EXACT ||
                 (method == STATS_MWU_AUTO && !out->ties && n1 <= STATS_MWU_EXACT_MAX && n2 <= STATS_MWU_EXACT_MAX);
    if (exact && pairs > MWU_EXACT_MAX_PAIRS)
        exact = false;

    if (exact) {
        double *cnt = stats_mwu_null_counts(n1, n2);
        if (!cnt)
            return STATS_ENOMEM;
        size_t umax = n1 * n2;
        double total = 0, le = 0, ge = 0;
        for (size_t u = 0; u <= umax; u++) {
            total += cnt[u];
            if ((double)u <= out->u1)
                le += cnt[u];
            if ((double)u >= out->u1)
                ge += cnt[u];
        }
        free(cnt);
        double p = 2 * (le < ge ? le : ge) / total;
        out->p = p > 1 ? 1 : p;
        out->exact = true;
        return STATS_OK;
    }

    double mu = pairs / 2;
    double var = pairs / 12 * (((double)n + 1) - tie_sum / ((double)n * ((double)n - 1)));
    if (var <= 0) { /* every value tied: no evidence either way */
        out->p = 1;
        return STATS_OK;
    }
    double d = out->u1 - mu;
    double z = (fabs(d) - 0.5) / sqrt(var);
    out->z = d < 0 ? -z : z;
    double p = erfc(z / sqrt(2.0));
    out->p = p > 1 ? 1 : p;
    return STATS_OK;
}

/* ---- shifts and detectable differences ------------------------------------ */

double stats_norm_quantile(double p)
{
    if (!(p > 0 && p < 1))
        return NAN;
    /* Acklam's coefficients (published constants of the approximation) */
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00 };
    const double plow = 0.02425;
    double x;
    if (p < plow) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - plow) {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        double q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* one Halley step on Phi(x) - p, Phi from erfc */
    double e = 0.5 * erfc(-x / sqrt(2.0)) - p;
    double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

static int cmp_dbl(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* sample standard deviation estimated robustly: 1.4826 x MAD */
static double robust_sd(const double *x, size_t n)
{
    double *t = malloc(n * sizeof *t);
    if (!t)
        return NAN;
    memcpy(t, x, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_dbl);
    double med = stats_median_sorted(t, n);
    for (size_t i = 0; i < n; i++)
        t[i] = fabs(t[i] - med);
    qsort(t, n, sizeof *t, cmp_dbl);
    double mad = stats_median_sorted(t, n);
    free(t);
    return 1.4826 * mad;
}

double stats_min_detectable_shift(const double *a, size_t n1, const double *b, size_t n2, double alpha,
                                  double power)
{
    if (n1 == 0 || n2 == 0 || !(alpha > 0 && alpha < 1) || !(power > 0 && power < 1))
        return NAN;
    for (size_t i = 0; i < n1; i++)
        if (!isfinite(a[i]))
            return NAN;
    for (size_t j = 0; j < n2; j++)
        if (!isfinite(b[j]))
            return NAN;
    /* the smallest two-sided p complete separation gives: 2 / C(n1 + n2, n1) */
    double log_c = lgamma((double)(n1 + n2 + 1)) - lgamma((double)(n1 + 1)) - lgamma((double)(n2 + 1));
    if (log(2.0) - log_c >= log(alpha))
        return INFINITY;
    double s1 = robust_sd(a, n1), s2 = robust_sd(b, n2);
    double sigma = n1 + n2 > 2 ? sqrt(((double)(n1 - 1) * s1 * s1 + (double)(n2 - 1) * s2 * s2) / (double)(n1 + n2 - 2))
                               : 0;
    double z = stats_norm_quantile(1 - alpha / 2) + stats_norm_quantile(power);
    return z * sigma * sqrt(1.0 / (double)n1 + 1.0 / (double)n2) / sqrt(3 / M_PI);
}

struct absrank {
    double a;
    bool pos;
};

static int cmp_absrank(const void *x, const void *y)
{
    double a = ((const struct absrank *)x)->a, b = ((const struct absrank *)y)->a;
    return (a > b) - (a < b);
}

int stats_wilcoxon_signed_rank(const double *d, size_t n, struct stats_wsr *out)
{
    memset(out, 0, sizeof *out);
    out->p = 1;
    struct absrank *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return STATS_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(d[i])) {
            free(r);
            return STATS_EVALUE;
        }
        if (d[i] != 0)
            r[m++] = (struct absrank){ fabs(d[i]), d[i] > 0 };
    }
    out->n = m;
    if (m == 0) {
        free(r);
        return STATS_EEMPTY;
    }
    qsort(r, m, sizeof *r, cmp_absrank);
    double wp = 0, tie = 0;
    bool ties = false;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j + 1 < m && r[j + 1].a == r[i].a)
            j++;
        double rank = (double)(i + j + 2) / 2, t = (double)(j - i + 1);
        for (size_t k = i; k <= j; k++)
            wp += r[k].pos ? rank : 0;
        if (t > 1) {
            ties = true;
            tie += t * t * t - t;
        }
        i = j + 1;
    }
    free(r);
    out->w_plus = wp;
    double mean = (double)m * (double)(m + 1) / 4;
    if (!ties && m <= STATS_WSR_EXACT_MAX) {
        /* counts of rank subsets by their sum: the exact null distribution */
        size_t top = m * (m + 1) / 2;
        double *c = calloc(top + 1, sizeof *c);
        if (!c)
            return STATS_ENOMEM;
        c[0] = 1;
        for (size_t k = 1; k <= m; k++)
            for (size_t sum = top; sum >= k; sum--)
                c[sum] += c[sum - k];
        double total = ldexp(1.0, (int)m), lo = 0, hi = 0;
        size_t w = (size_t)wp;
        for (size_t sum = 0; sum <= top; sum++) {
            if (sum <= w)
                lo += c[sum];
            if (sum >= w)
                hi += c[sum];
        }
        free(c);
        double p = 2 * (lo < hi ? lo : hi) / total;
        out->p = p > 1 ? 1 : p;
        out->exact = true;
        return STATS_OK;
    }
    double var = (double)m * (double)(m + 1) * (double)(2 * m + 1) / 24 - tie / 48;
    double z = var > 0 ? (fabs(wp - mean) - 0.5) / sqrt(var) : 0;
    if (z < 0)
        z = 0;
    out->p = erfc(z / sqrt(2.0));
    if (out->p > 1)
        out->p = 1;
    return STATS_OK;
}
