/* effect — Hodges-Lehmann effect, its distribution-free CI and the
 * Mann-Whitney test for two samples (see effect.h). */
#include "results/effect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results/stats.h"

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double median_of(const double *x, size_t n, double *scratch)
{
    memcpy(scratch, x, n * sizeof *x);
    qsort(scratch, n, sizeof *scratch, cmp_double);
    return stats_median_sorted(scratch, n);
}

/* Rank k (1-based) of the lower CI bound among n1 n2 sorted pairwise
 * differences, and the interval's coverage. */
static int ci_rank(size_t n1, size_t n2, double level, size_t *k, double *coverage, double *p_min)
{
    size_t pairs = n1 * n2;
    double tail = (1 - level) / 2;
    /* 2 / C(n1 + n2, n1): both samples entirely apart */
    double log_c = lgamma((double)(n1 + n2) + 1) - lgamma((double)n1 + 1) - lgamma((double)n2 + 1);
    *p_min = fmin(1, 2 * exp(-log_c));
    if (n1 <= STATS_MWU_EXACT_MAX && n2 <= STATS_MWU_EXACT_MAX) {
        double *c = stats_mwu_null_counts(n1, n2);
        if (!c)
            return EFFECT_ENOMEM;
        double total = 0;
        for (size_t u = 0; u <= pairs; u++)
            total += c[u];
        /* the largest k with P(U <= k - 1) <= tail */
        double cum = 0;
        size_t best = 0;
        double best_cum = 0;
        for (size_t kk = 1; kk <= pairs / 2 + 1; kk++) {
            cum += c[kk - 1];
            if (cum / total > tail)
                break;
            best = kk;
            best_cum = cum;
        }
        if (best == 0) {
            /* too few for the level: min..max of the differences */
            *k = 1;
            *coverage = fmax(0, 1 - 2 * c[0] / total);
        } else {
            *k = best;
            *coverage = 1 - 2 * best_cum / total;   /* best_cum: total P(U <= k - 1) */
        }
        free(c);
        return EFFECT_OK;
    }
    double z = stats_norm_quantile(1 - tail);
    double sd = sqrt((double)pairs * (double)(n1 + n2 + 1) / 12);
    double kk = floor((double)pairs / 2 - z * sd);
    *k = kk < 1 ? 1 : (size_t)kk;
    *coverage = level;
    return EFFECT_OK;
}

int effect_compare(const double *a, size_t n1, const double *b, size_t n2, double level, double alpha,
                   struct effect *out)
{
    memset(out, 0, sizeof *out);
    out->detectable = NAN;
    if (n1 == 0 || n2 == 0)
        return EFFECT_EEMPTY;
    bool positive = true;
    for (size_t i = 0; i < n1; i++) {
        if (!isfinite(a[i]))
            return EFFECT_EVALUE;
        positive = positive && a[i] > 0;
    }
    for (size_t j = 0; j < n2; j++) {
        if (!isfinite(b[j]))
            return EFFECT_EVALUE;
        positive = positive && b[j] > 0;
    }
    size_t pairs = n1 * n2;
    double *d = malloc((pairs + n1 + n2) * sizeof *d);
    if (!d)
        return EFFECT_ENOMEM;
    double *scratch = d + pairs;
    out->n1 = n1;
    out->n2 = n2;
    out->ratio = positive;
    out->median_a = median_of(a, n1, scratch);
    out->median_b = median_of(b, n2, scratch);
    for (size_t i = 0, k = 0; i < n1; i++)
        for (size_t j = 0; j < n2; j++, k++)
            d[k] = positive ? log(b[j]) - log(a[i]) : b[j] - a[i];
    qsort(d, pairs, sizeof *d, cmp_double);

    struct stats_mwu mw;
    int rc = stats_mann_whitney(b, n2, a, n1, STATS_MWU_AUTO, &mw);
    size_t k = 1;
    if (rc == STATS_OK)
        rc = ci_rank(n1, n2, level, &k, &out->coverage, &out->p_min);
    if (rc != 0) {
        free(d);
        return rc == STATS_ENOMEM || rc == EFFECT_ENOMEM ? EFFECT_ENOMEM : EFFECT_EVALUE;
    }
    if (k > pairs)
        k = pairs;
    double est = stats_median_sorted(d, pairs), lo = d[k - 1], hi = d[pairs - k];
    free(d);
    out->p = mw.p;
    if (positive) {
        out->est = exp(est);
        out->lo = exp(lo);
        out->hi = exp(hi);
    } else {
        out->est = est;
        out->lo = lo;
        out->hi = hi;
    }
    double none = positive ? 1 : 0;
    out->too_few = out->p_min >= alpha;
    out->significant = out->p < alpha && (out->lo > none || out->hi < none);
    if (!out->significant) {
        if (positive)
            out->detectable = fmax(out->hi - 1, 1 - out->lo);
        else if (out->median_a != 0)
            out->detectable = fmax(out->hi, -out->lo) / fabs(out->median_a);
    }
    return EFFECT_OK;
}
