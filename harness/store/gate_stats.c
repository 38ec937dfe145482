/* gate_stats.c — the gate's statistics and decision (rules in gate.h): the
 * medians, noise, U / signed-rank tests and Hodges-Lehmann intervals of one
 * comparison (gate_row_measure, gate_row_measure_paired), and gate_decide's
 * Holm family, MDE and verdicts. Separate from gate.c, which reads the
 * results files and builds the rows, because this part is pure arithmetic
 * on samples: the tests drive it with synthetic data and no files. */
#include "harness/store/gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results/stats.h"

double gate_mwu_min_p(size_t n1, size_t n2)
{
    if (n1 == 0 || n2 == 0)
        return 1.0;
    /* log C(n1 + n2, n1) through lgamma: exact enough for a threshold test */
    double lc = lgamma((double)(n1 + n2) + 1) - lgamma((double)n1 + 1) - lgamma((double)n2 + 1);
    double p = 2.0 * exp(-lc);
    return p > 1.0 ? 1.0 : p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double rel_change(double base, double cur)
{
    if (base == 0)
        return cur == 0 ? 0.0 : (cur > 0 ? INFINITY : -INFINITY);
    return (cur - base) / fabs(base);
}

/* The smallest balanced n (n vs n) whose Mann-Whitney test can reach alpha. */
static size_t reps_needed(double alpha)
{
    for (size_t n = 2; n < 1000; n++)
        if (gate_mwu_min_p(n, n) < alpha)
            return n;
    return 1000;
}

double gate_normal_quantile(double q)
{
    /* bisection on erfc: 80 halvings of [-40, 40] is below double precision */
    double lo = -40, hi = 40;
    for (int i = 0; i < 80; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(-mid / sqrt(2.0)) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

/* 1.4826 MAD of sorted x: the normal-consistent robust spread. */
static double robust_sd(const double *sorted, size_t n, double *scratch)
{
    if (n < 2)
        return NAN;
    double med = stats_median_sorted(sorted, n);
    for (size_t i = 0; i < n; i++)
        scratch[i] = fabs(sorted[i] - med);
    qsort(scratch, n, sizeof *scratch, cmp_double);
    return 1.4826 * stats_median_sorted(scratch, n);
}

int gate_row_measure(struct gate_row *row, const double *base, size_t n_base, const double *cur, size_t n_cur,
                     double alpha)
{
    row->n_base = n_base;
    row->n_cur = n_cur;
    row->p = row->p_adj = row->min_p = row->ci_lo = row->ci_hi = row->noise = row->mde = NAN;
    row->base_median = row->cur_median = NAN;
    row->change = 0;
    if (n_base == 0 || n_cur == 0)
        return 0;
    size_t nmax = n_base > n_cur ? n_base : n_cur;
    double *b = malloc(n_base * sizeof *b), *c = malloc(n_cur * sizeof *c), *tmp = malloc(nmax * sizeof *tmp);
    double *d = NULL;
    int rc = GATE_ENOMEM;
    if (!b || !c || !tmp)
        goto done;
    memcpy(b, base, n_base * sizeof *b);
    memcpy(c, cur, n_cur * sizeof *c);
    qsort(b, n_base, sizeof *b, cmp_double);
    qsort(c, n_cur, sizeof *c, cmp_double);
    row->base_median = stats_median_sorted(b, n_base);
    row->cur_median = stats_median_sorted(c, n_cur);
    row->change = rel_change(row->base_median, row->cur_median);
    double scale = fabs(row->base_median);
    if (n_base >= 2 && n_cur >= 2 && scale > 0) {
        double sb = robust_sd(b, n_base, tmp), sc = robust_sd(c, n_cur, tmp);
        double pooled = sqrt((sb * sb * (double)(n_base - 1) + sc * sc * (double)(n_cur - 1)) /
                             (double)(n_base + n_cur - 2));
        row->noise = pooled / scale;
    }
    rc = GATE_OK;
    if (row->kind != GATE_KIND_TIMING || n_base < 2 || n_cur < 2)
        goto done;
    row->min_p = gate_mwu_min_p(n_base, n_cur);
    struct stats_mwu t;
    /* a = current, b = baseline: u1 > n1 n2 / 2 when the current values tend larger */
    int u = stats_mann_whitney(c, n_cur, b, n_base, STATS_MWU_AUTO, &t);
    if (u == STATS_ENOMEM) {
        rc = GATE_ENOMEM;
        goto done;
    }
    if (u != STATS_OK)
        goto done;
    row->p = t.p;
    /* Hodges-Lehmann interval of the shift cur - base: the order statistics
     * of the n1 n2 pairwise differences at the U test's rank bounds. */
    size_t nd = n_base * n_cur;
    if (!(d = malloc(nd * sizeof *d))) {
        rc = GATE_ENOMEM;
        goto done;
    }
    for (size_t i = 0, k = 0; i < n_cur; i++)
        for (size_t j = 0; j < n_base; j++)
            d[k++] = c[i] - b[j];
    qsort(d, nd, sizeof *d, cmp_double);
    double z = gate_normal_quantile(1 - alpha / 2);
    double kk = floor((double)nd / 2 - z * sqrt((double)n_base * (double)n_cur * (double)(n_base + n_cur + 1) / 12));
    if (kk >= 0 && scale > 0) {
        size_t k = (size_t)kk;
        row->ci_lo = d[k] / scale;
        row->ci_hi = d[nd - 1 - k] / scale;
    } else {
        row->ci_lo = -INFINITY;
        row->ci_hi = INFINITY;
    }
done:
    free(b);
    free(c);
    free(tmp);
    free(d);
    return rc;
}

/* Most severe verdict first, keeping the configuration order within a verdict. */
static int sort_rows(struct gate_report *r)
{
    size_t n = r->n_rows;
    if (n < 2)
        return 0;
    struct gate_row *out = malloc(n * sizeof *out);
    if (!out)
        return -1;
    size_t k = 0;
    for (int v = 0; v < GATE_VERDICT_COUNT; v++)
        for (size_t i = 0; i < n; i++)
            if ((int)r->rows[i].verdict == v)
                out[k++] = r->rows[i];
    memcpy(r->rows, out, n * sizeof *out);
    free(out);
    return 0;
}

int gate_row_measure_paired(struct gate_row *row, const double *base, const double *cur, size_t n, double alpha)
{
    int rc = gate_row_measure(row, base, n, cur, n, alpha); /* medians, and the unpaired figures to replace */
    if (rc != GATE_OK || n < 2)
        return rc;
    row->paired = true;
    row->p = row->min_p = row->ci_lo = row->ci_hi = row->noise = NAN;
    bool ratios = true;
    for (size_t k = 0; k < n; k++)
        ratios = ratios && base[k] > 0 && cur[k] > 0;
    double scale = fabs(row->base_median);
    if (!ratios && !(scale > 0))
        return GATE_OK;
    size_t nw = n * (n + 1) / 2;
    double *d = malloc(n * sizeof *d), *w = malloc(nw * sizeof *w), *tmp = malloc(n * sizeof *tmp);
    if (!d || !w || !tmp) {
        free(d);
        free(w);
        free(tmp);
        return GATE_ENOMEM;
    }
    for (size_t k = 0; k < n; k++)
        d[k] = ratios ? log(cur[k] / base[k]) : (cur[k] - base[k]) / scale;
    struct stats_wsr t;
    int st = stats_wilcoxon_signed_rank(d, n, &t);
    if (st == STATS_ENOMEM) {
        free(d);
        free(w);
        free(tmp);
        return GATE_ENOMEM;
    }
    row->p = t.p;
    row->min_p = ldexp(2.0, -(int)(n < 1000 ? n : 1000));
    /* Walsh averages: their median is the Hodges-Lehmann shift, their order
     * statistics at the signed-rank bounds its interval */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            w[k++] = (d[i] + d[j]) / 2;
    qsort(w, nw, sizeof *w, cmp_double);
    double hl = stats_median_sorted(w, nw);
    double z = gate_normal_quantile(1 - alpha / 2);
    double kk = floor((double)nw / 2 - z * sqrt((double)n * (double)(n + 1) * (double)(2 * n + 1) / 24));
    double lo = kk >= 0 ? w[(size_t)kk] : -INFINITY, hi = kk >= 0 ? w[nw - 1 - (size_t)kk] : INFINITY;
    row->change = ratios ? exp(hl) - 1 : hl;
    row->ci_lo = ratios ? exp(lo) - 1 : lo;
    row->ci_hi = ratios ? exp(hi) - 1 : hi;
    memcpy(tmp, d, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_double);
    row->noise = robust_sd(tmp, n, w); /* of the log ratios: already relative */
    free(d);
    free(w);
    free(tmp);
    return GATE_OK;
}

static int cmp_p(const void *a, const void *b)
{
    const struct gate_row *x = *(const struct gate_row *const *)a, *y = *(const struct gate_row *const *)b;
    return (x->p > y->p) - (x->p < y->p);
}

static void decide_count(struct gate_row *row)
{
    double worse = row->higher_better ? -row->change : row->change;
    row->mde = row->threshold; /* exact: any change beyond the threshold is seen */
    if (worse > row->threshold)
        row->verdict = GATE_REGRESSED;
    else if (-worse > row->threshold)
        row->verdict = GATE_IMPROVED;
    else
        row->verdict = GATE_UNCHANGED;
    if (row->noise > 0 && isfinite(row->noise))
        snprintf(row->note, sizeof row->note, "declared deterministic, but the repetitions vary (spread %.2g%%)",
                 row->noise * 100);
}

static void decide_sample(struct gate_row *row, double alpha, size_t m)
{
    if (isnan(row->p)) {
        row->verdict = GATE_UNDECIDED;
        snprintf(row->note, sizeof row->note, "undecided: %zu vs %zu values; the U test needs 2 a side",
                 row->n_base, row->n_cur);
        return;
    }
    double worse = row->higher_better ? -row->change : row->change;
    /* the interval of the worsening: [-hi, -lo] when higher is better */
    double w_hi = row->higher_better ? -row->ci_lo : row->ci_hi;
    bool significant = row->p_adj < alpha;
    double thr = row->threshold;
    if (significant && worse > thr) {
        row->verdict = GATE_REGRESSED;
        snprintf(row->note, sizeof row->note, "worse by %.2f%% (CI of the worsening up to %.2f%%), Holm p %.2g < %g",
                 worse * 100, w_hi * 100, row->p_adj, alpha);
    } else if (significant && -worse > thr) {
        row->verdict = GATE_IMPROVED;
    } else if (w_hi <= thr) {
        row->verdict = GATE_UNCHANGED;
        if (significant && worse > 0)
            snprintf(row->note, sizeof row->note, "significantly worse, but by less than %g%%", thr * 100);
    } else if (row->min_p * (double)m >= alpha) {
        /* Holm's first step tests at alpha / m: these n can never get there */
        row->verdict = GATE_UNDECIDED;
        size_t need = reps_needed(alpha / (double)m);
        if (row->paired) /* the signed-rank test's smallest p is 2 / 2^n */
            for (need = 2; need < 1000 && ldexp(2.0, -(int)need) >= alpha / (double)m; need++)
                ;
        snprintf(row->note, sizeof row->note,
                 "undecided: too few repetitions: %zu vs %zu cannot reach Holm's first level %.3g (alpha %g over %zu "
                 "comparisons; smallest possible p %.3g); run at least %zu vs %zu", row->n_base, row->n_cur,
                 alpha / (double)m, alpha, m, row->min_p, need, need);
    } else {
        row->verdict = GATE_UNDECIDED;
        snprintf(row->note, sizeof row->note,
                 "undecided: a regression of up to %.1f%% is not ruled out (threshold %g%%); this n and noise detect "
                 "%.1f%%: more repetitions decide (ggperf ab collects them)", w_hi * 100, thr * 100, row->mde * 100);
    }
}

int gate_decide(struct gate_report *r)
{
    const struct gate_opts *o = &r->opts;
    double alpha = o->alpha / (o->looks > 1 ? o->looks : 1);
    size_t m = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        struct gate_row *row = &r->rows[i];
        row->in_family = row->gated && row->kind == GATE_KIND_TIMING && !isnan(row->p);
        m += row->in_family;
    }
    r->n_family = m;
    struct gate_row **fam = malloc((m ? m : 1) * sizeof *fam);
    if (!fam)
        return GATE_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        if (r->rows[i].in_family)
            fam[k++] = &r->rows[i];
    /* Holm: the j-th smallest p (0-based) times m - j, made monotone */
    qsort(fam, m, sizeof *fam, cmp_p);
    double run = 0;
    for (size_t j = 0; j < m; j++) {
        double a = fam[j]->p * (double)(m - j);
        run = a > run ? a : run;
        fam[j]->p_adj = run > 1 ? 1 : run;
    }
    free(fam);
    double zb = gate_normal_quantile(1 - alpha / (2.0 * (double)(m ? m : 1))) + gate_normal_quantile(0.8);
    for (size_t i = 0; i < r->n_rows; i++) {
        struct gate_row *row = &r->rows[i];
        if (row->kind == GATE_KIND_TIMING && isfinite(row->noise) && row->n_base > 0 && row->n_cur > 0)
            row->mde = zb * row->noise * sqrt(M_PI / 3) *
                       (row->paired ? sqrt(1.0 / (double)row->n_base)
                                    : sqrt(1.0 / (double)row->n_base + 1.0 / (double)row->n_cur));
        if (!row->gated)
            continue;
        if (row->kind == GATE_KIND_DETERMINISTIC)
            decide_count(row);
        else
            decide_sample(row, alpha, m ? m : 1);
    }
    if (sort_rows(r) != 0)
        return GATE_ENOMEM;
    memset(r->counts, 0, sizeof r->counts);
    for (size_t i = 0; i < r->n_rows; i++)
        r->counts[r->rows[i].verdict]++;
    return GATE_OK;
}
