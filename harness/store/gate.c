/* gate — the regression gate (rules in gate.h). */
#include "harness/store/gate.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/cpuinfo.h"
#include "base/err.h"
#include "results/fmt.h"
#include "results/results.h"
#include "results/stats.h"

void gate_opts_default(struct gate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threshold = 0.03;
    o->det_threshold = 0.01;
    o->alpha = 0.01;
    o->looks = 1;
    o->undecided_pass = true;
}

const char *gate_verdict_name(enum gate_verdict v)
{
    static const char *const names[GATE_VERDICT_COUNT] = { "regressed", "undecided", "improved", "not gated",
                                                           "unchanged" };
    return (unsigned)v < GATE_VERDICT_COUNT ? names[v] : "unknown";
}

const char *gate_kind_name(enum gate_kind k)
{
    return k == GATE_KIND_DETERMINISTIC ? "deterministic" : "statistical (U test, Holm)";
}

double gate_mwu_min_p(size_t n1, size_t n2)
{
    if (n1 == 0 || n2 == 0)
        return 1.0;
    /* log C(n1 + n2, n1) through lgamma: exact enough for a threshold test */
    double lc = lgamma((double)(n1 + n2) + 1) - lgamma((double)n1 + 1) - lgamma((double)n2 + 1);
    double p = 2.0 * exp(-lc);
    return p > 1.0 ? 1.0 : p;
}

static bool in_list(const char *const *list, const char *name)
{
    for (int i = 0; list && list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* ---- one side: the samples of a results file, grouped -------------------- */

struct side_cfg {
    const json_t *axes;   /* borrowed from the side's header */
    struct results_cacc acc;
};

struct side {
    json_t *header;
    struct side_cfg *cfg;
    int n_cfg;
    size_t dups;
    bool truncated, complete;
};

static void side_free(struct side *s)
{
    if (!s)
        return;
    for (int i = 0; s->cfg && i < s->n_cfg; i++)
        results_cacc_free(&s->cfg[i].acc);
    free(s->cfg);
    json_decref(s->header);
    memset(s, 0, sizeof *s);
}

/* The first error message of a configuration's failed repetitions, or "". */
static const char *first_error(const struct results_cacc *c)
{
    const char *e = json_string_value(json_array_get(c->errors, 0));
    return e ? e : "";
}

static int side_load(struct side *s, const char *path, const char *what, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    struct results_reader *r = NULL;
    char rerr[512];
    if (results_reader_open(&r, path, rerr, sizeof rerr) != 0)
        return err_fail(err, err_len, GATE_EINPUT, "%s: %s", what, rerr);
    int rc = GATE_OK;
    s->header = json_incref((json_t *)results_reader_header(r));
    s->n_cfg = results_header_n_configs(s->header);
    s->cfg = calloc((size_t)s->n_cfg + 1, sizeof *s->cfg);
    if (!s->cfg) {
        rc = err_fail(err, err_len, GATE_ENOMEM, "gate: out of memory");
        goto done;
    }
    json_t *configs = json_object_get(s->header, "configs");
    for (int i = 0; i < s->n_cfg; i++) {
        json_t *c = json_array_get(configs, (size_t)i);
        json_t *id = json_object_get(c, "id");
        if (json_is_integer(id) && json_integer_value(id) != i) {
            rc = err_fail(err, err_len, GATE_EINPUT, "%s: %s: configs[%d] has id %" JSON_INTEGER_FORMAT
                      " (ids must be the array positions)", what, path, i, json_integer_value(id));
            goto done;
        }
        s->cfg[i].axes = json_object_get(c, "axes");
        if (!json_is_object(s->cfg[i].axes)) {
            rc = err_fail(err, err_len, GATE_EINPUT, "%s: %s: configs[%d] has no axes object", what, path, i);
            goto done;
        }
    }
    json_t *smp;
    int got;
    while ((got = results_reader_next(r, &smp, rerr, sizeof rerr)) == 1) {
        int a = results_cacc_add(&s->cfg[(int)json_integer_value(json_object_get(smp, "config"))].acc, smp);
        json_decref(smp);
        if (a != 0) {
            rc = err_fail(err, err_len, GATE_ENOMEM, "gate: out of memory");
            goto done;
        }
    }
    if (got < 0) {
        rc = err_fail(err, err_len, GATE_EINPUT, "%s: %s", what, rerr);
        goto done;
    }
    s->dups = results_reader_duplicates(r);
    s->truncated = results_reader_truncated(r);
    s->complete = results_reader_complete(r);
done:
    results_reader_close(r);
    if (rc != GATE_OK)
        side_free(s);
    return rc;
}

/* ---- the report ----------------------------------------------------------- */

void gate_report_free(struct gate_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r->rows);
    free(r);
}

static int warn(struct gate_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(struct gate_report *r, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < r->n_warnings; i++)
        if (strcmp(r->warnings[i], buf) == 0)
            return 0;
    char **p = realloc(r->warnings, (r->n_warnings + 1) * sizeof *p);
    if (!p)
        return -1;
    r->warnings = p;
    if (!(r->warnings[r->n_warnings] = strdup(buf)))
        return -1;
    r->n_warnings++;
    return 0;
}

static struct gate_row *new_row(struct gate_report *r, size_t *cap)
{
    if (r->n_rows == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        struct gate_row *p = realloc(r->rows, nc * sizeof *p);
        if (!p)
            return NULL;
        r->rows = p;
        *cap = nc;
    }
    struct gate_row *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    row->base_median = row->cur_median = row->p = row->min_p = NAN;
    row->p_adj = row->ci_lo = row->ci_hi = row->noise = row->mde = NAN;
    return row;
}

static void axes_label(const json_t *axes, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)axes, k, v) {
        char val[96];
        if (json_is_string(v))
            snprintf(val, sizeof val, "%s", json_string_value(v));
        else {
            char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            snprintf(val, sizeof val, "%s", d ? d : "?");
            free(d);
        }
        int w = snprintf(buf + used, len - used, "%s%s=%s", used ? ", " : "", k, val);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (!buf[0])
        snprintf(buf, len, "(no axes)");
}

/* The environment value at a dotted path ("cpu.model_name"), or NULL when
 * absent, not a string, or recorded as unreadable. */
static const char *env_str(const json_t *env, const char *path)
{
    char key[64];
    const json_t *v = env;
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        p = dot ? dot + 1 : p + n;
    }
    const char *s = json_string_value(v);
    if (!s || !s[0] || strcmp(s, "unreadable") == 0)
        return NULL;
    return s;
}

struct env_field {
    const char *label;
    const char *paths[3];
};

static const struct env_field env_fields[] = {
    /* cpu.name: cpuinfo_cpu_name(), the name probe prints; older files
     * have only the model name (untrimmed before cpu.name existed) */
    { "CPU model", { "cpu.name", "cpu.model_name", "cpu.brand" } },
    { "compiler", { "build.compiler", NULL, NULL } },
    { "build flags", { "build.flags", NULL, NULL } },
    { "kernel ISA path", { "isa_path", "engine.isa", "isa" } },
    { "ggperf commit", { "build.commit", NULL, NULL } },
    { "OS kernel", { "kernel.release", NULL, NULL } },
};

/* The field's value, trimmed, into buf (NULL when absent): a CPU named
 * "Xeon " in an older file is the same CPU as "Xeon" in a newer one. */
static const char *env_field_value(const json_t *env, const struct env_field *f, char *buf, size_t len)
{
    for (int i = 0; i < 3 && f->paths[i]; i++) {
        const char *s = env_str(env, f->paths[i]);
        if (s) {
            snprintf(buf, len, "%s", s);
            return cpuinfo_trim(buf)[0] ? buf : NULL;
        }
    }
    return NULL;
}

static int compare_env(struct gate_report *r, const json_t *be, const json_t *ce)
{
    for (size_t i = 0; i < sizeof env_fields / sizeof env_fields[0]; i++) {
        const struct env_field *f = &env_fields[i];
        char ba[256], bb[256];
        const char *a = env_field_value(be, f, ba, sizeof ba), *b = env_field_value(ce, f, bb, sizeof bb);
        bool cpu = i == 0;
        if (a && b && strcmp(a, b) != 0) {
            if (cpu)
                r->cpu_differs = true;
            if (warn(r, "environment: %s differs: baseline '%s', current '%s'%s", f->label, a, b,
                     cpu ? (r->opts.gate_across_cpus ? " (timing metrics gated anyway: --gate-across-cpus)"
                                                     : " (timing metrics not gated; --gate-across-cpus gates them)")
                         : "") != 0)
                return -1;
        } else if (cpu && (!a) != (!b)) {
            if (warn(r, "environment: CPU model unknown in the %s; timing metrics gated as if the same",
                     a ? "current results" : "baseline") != 0)
                return -1;
        }
    }
    return 0;
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

/* How row's metric is to be judged: its semantics (declared, or by an
 * option) and whether it is gated; a row not gated gets the reason. */
static int classify(struct gate_report *r, struct gate_row *row, const struct gate_opts *o,
                    const struct results_macc *bm, const struct results_macc *cm, const char *cpu_a, const char *cpu_b)
{
    struct metric_sem sem = { 0, 0, false, 0 };
    if (cm->sem_seen)
        sem = cm->sem;
    else if (bm->sem_seen)
        sem = bm->sem;
    if (cm->sem_seen && bm->sem_seen && (cm->sem.better != bm->sem.better || cm->sem.kind != bm->sem.kind) &&
        warn(r, "metric %s: declared differently (baseline %s/%s, current %s/%s): the current declaration is used",
             row->metric, metric_better_name(bm->sem.better), metric_kind_name(bm->sem.kind),
             metric_better_name(cm->sem.better), metric_kind_name(cm->sem.kind)) != 0)
        return -1;
    if (in_list(o->higher_better, row->metric))
        sem.better = METRIC_BETTER_HIGHER;
    else if (in_list(o->lower_better, row->metric))
        sem.better = METRIC_BETTER_LOWER;
    if (in_list(o->deterministic, row->metric))
        sem.kind = METRIC_KIND_COUNT;
    else if (!sem.kind && sem.better)
        sem.kind = METRIC_KIND_SAMPLE; /* the caller declared a direction for an undeclared metric */
    row->sem = sem;
    row->kind = sem.kind == METRIC_KIND_COUNT ? GATE_KIND_DETERMINISTIC : GATE_KIND_TIMING;
    row->higher_better = sem.better == METRIC_BETTER_HIGHER;
    row->threshold = row->kind == GATE_KIND_DETERMINISTIC ? o->det_threshold : o->threshold;
    if (sem.tolerance > 0) /* declared with the metric: e.g. simulated misses move with layout */
        row->threshold = sem.tolerance;
    for (size_t i = 0; i < o->n_metric_thresholds; i++)
        if (o->metric_thresholds[i].name && strcmp(o->metric_thresholds[i].name, row->metric) == 0)
            row->threshold = o->metric_thresholds[i].threshold;
    bool selected = o->metrics ? in_list(o->metrics, row->metric) : o->all_metrics || sem.gated;
    const char *why = NULL;
    char buf[sizeof row->note];
    if (!sem.kind)
        why = "not gated: no declared semantics (a results file from before ggperf recorded them; "
              "--metrics with --higher-is-better/--lower-is-better declares them)";
    else if (sem.kind == METRIC_KIND_ENV)
        why = "not gated: an environment figure (measured once per run): context, not a result";
    else if (sem.kind == METRIC_KIND_INFO)
        why = "not gated: informational";
    else if (sem.better != METRIC_BETTER_LOWER && sem.better != METRIC_BETTER_HIGHER)
        why = "not gated: neither higher nor lower is better";
    else if (!selected)
        why = "not gated: not in the primary set (--metrics or --all-metrics gates it)";
    else if (strcmp(bm->unit, cm->unit) != 0) {
        snprintf(buf, sizeof buf, "not gated: unit differs (baseline '%s', current '%s')", bm->unit, cm->unit);
        why = buf;
    } else if (bm->n == 0 || cm->n == 0) {
        const struct results_macc *none = cm->n == 0 ? cm : bm;
        snprintf(buf, sizeof buf, "not gated: no values in the %s (%s%s%s)",
                 cm->n == 0 ? "current results" : "baseline", none->status[0] ? none->status : "not measured",
                 none->reason[0] ? ": " : "", none->reason);
        why = buf;
    } else if (row->kind == GATE_KIND_TIMING && r->cpu_differs && !o->gate_across_cpus) {
        snprintf(buf, sizeof buf, "not gated: different CPU (%s vs %s)", cpu_a, cpu_b);
        why = buf;
    }
    row->gated = why == NULL;
    if (why) {
        row->verdict = GATE_NOT_GATED;
        snprintf(row->note, sizeof row->note, "%s", why);
    }
    return 0;
}

static bool valid_fraction(double x, double hi)
{
    return isfinite(x) && x >= 0 && x <= hi;
}

int gate_compare_files(const char *base_path, const char *cur_path, const char *base_label, const char *cur_label,
                       const struct gate_opts *o, struct gate_report **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!valid_fraction(o->threshold, 10) || !valid_fraction(o->det_threshold, 10))
        return err_fail(err, err_len, GATE_EINVAL, "gate: thresholds must lie in 0..1000%% (got %g%%, %g%%)",
                    o->threshold * 100, o->det_threshold * 100);
    for (size_t i = 0; i < o->n_metric_thresholds; i++)
        if (!o->metric_thresholds[i].name || !valid_fraction(o->metric_thresholds[i].threshold, 10))
            return err_fail(err, err_len, GATE_EINVAL, "gate: threshold of metric %s must lie in 0..1000%%",
                        o->metric_thresholds[i].name ? o->metric_thresholds[i].name : "(null)");
    if (!(o->alpha > 0 && o->alpha < 1))
        return err_fail(err, err_len, GATE_EINVAL, "gate: alpha must lie strictly between 0 and 1 (got %g)", o->alpha);
    struct side base, cur;
    int rc = side_load(&base, base_path, "baseline", err, err_len);
    if (rc != GATE_OK)
        return rc;
    rc = side_load(&cur, cur_path, "current", err, err_len);
    if (rc != GATE_OK) {
        side_free(&base);
        return rc;
    }
    struct gate_report *r = calloc(1, sizeof *r);
    bool *base_matched = calloc((size_t)base.n_cfg + 1, sizeof *base_matched);
    size_t cap = 0;
    if (!r || !base_matched) {
        rc = err_fail(err, err_len, GATE_ENOMEM, "gate: out of memory");
        goto done;
    }
    r->opts = *o;
    r->opts.higher_better = r->opts.lower_better = r->opts.deterministic = r->opts.ignore = r->opts.metrics = NULL;
    r->opts.metric_thresholds = NULL;
    r->opts.n_metric_thresholds = 0;
    for (size_t i = 0, used = 0; i < o->n_metric_thresholds; i++) {
        int w = snprintf(r->metric_thresholds + used, sizeof r->metric_thresholds - used, "%s%s %g%%",
                         used ? ", " : "", o->metric_thresholds[i].name, o->metric_thresholds[i].threshold * 100);
        if (w < 0 || (size_t)w >= sizeof r->metric_thresholds - used)
            break;
        used += (size_t)w;
    }
    snprintf(r->base_label, sizeof r->base_label, "%s", base_label ? base_label : base_path);
    snprintf(r->cur_label, sizeof r->cur_label, "%s", cur_label ? cur_label : cur_path);

    const char *bw = json_string_value(json_object_get(json_object_get(base.header, "workload"), "name"));
    const char *cw = json_string_value(json_object_get(json_object_get(cur.header, "workload"), "name"));
    if (!bw || !cw || strcmp(bw, cw) != 0) {
        rc = err_fail(err, err_len, GATE_EINPUT, "different workloads: baseline %s is '%s', current %s is '%s'",
                  r->base_label, bw ? bw : "(none)", r->cur_label, cw ? cw : "(none)");
        goto done;
    }
    snprintf(r->workload, sizeof r->workload, "%s", cw);

    const json_t *be = json_object_get(base.header, "environment"), *ce = json_object_get(cur.header, "environment");
    if (compare_env(r, be, ce) != 0)
        goto nomem;
    char cpu_abuf[256], cpu_bbuf[256];
    const char *cpu_a = env_field_value(be, &env_fields[0], cpu_abuf, sizeof cpu_abuf);
    const char *cpu_b = env_field_value(ce, &env_fields[0], cpu_bbuf, sizeof cpu_bbuf);
    const struct side *sides[2] = { &base, &cur };
    bool any_sem = false;
    for (int k = 0; k < 2; k++) {
        const char *what = k ? "current results" : "baseline";
        if (sides[k]->dups && warn(r, "%s: %zu duplicate samples skipped", what, sides[k]->dups) != 0)
            goto nomem;
        if (sides[k]->truncated && warn(r, "%s: a truncated last line was skipped", what) != 0)
            goto nomem;
    }

    for (int ci = 0; ci < cur.n_cfg; ci++) {
        struct side_cfg *cc = &cur.cfg[ci];
        int bi = -1;
        for (int j = 0; j < base.n_cfg; j++)
            if (!base_matched[j] && json_equal((json_t *)base.cfg[j].axes, (json_t *)cc->axes)) {
                bi = j;
                break;
            }
        char label[256];
        axes_label(cc->axes, label, sizeof label);
        if (bi < 0) {
            if (warn(r, "configuration %s is only in the current results: not gated", label) != 0)
                goto nomem;
            continue;
        }
        base_matched[bi] = true;
        struct side_cfg *bc = &base.cfg[bi];
        r->n_configs_common++;
        if (cc->acc.n_ok == 0 || bc->acc.n_ok == 0) {
            struct gate_row *row = new_row(r, &cap);
            if (!row)
                goto nomem;
            snprintf(row->config, sizeof row->config, "%s", label);
            snprintf(row->metric, sizeof row->metric, "(all)");
            row->n_base = bc->acc.n_ok;
            row->n_cur = cc->acc.n_ok;
            bool cur_bad = cc->acc.n_ok == 0;
            /* a configuration that no longer runs at all is a regression, not noise */
            row->verdict = cur_bad ? GATE_REGRESSED : GATE_NOT_GATED;
            row->gated = false; /* decided here */
            snprintf(row->note, sizeof row->note, "%s: no successful repetition of %zu (%s)",
                     cur_bad ? "current results" : "baseline", cur_bad ? cc->acc.n_reps : bc->acc.n_reps,
                     *first_error(&(cur_bad ? cc : bc)->acc) ? first_error(&(cur_bad ? cc : bc)->acc) : "no samples");
            continue;
        }
        if (cc->acc.n_ok < cc->acc.n_reps &&
            warn(r, "configuration %s: %zu of %zu repetitions failed in the current results (%s)", label,
                 cc->acc.n_reps - cc->acc.n_ok, cc->acc.n_reps, first_error(&cc->acc)) != 0)
            goto nomem;
        for (size_t mi = 0; mi < cc->acc.nm; mi++) {
            struct results_macc *cm = &cc->acc.m[mi];
            if (in_list(o->ignore, cm->name))
                continue;
            struct results_macc *bm = NULL;
            for (size_t j = 0; j < bc->acc.nm; j++)
                if (strcmp(bc->acc.m[j].name, cm->name) == 0)
                    bm = &bc->acc.m[j];
            if (!bm) {
                if (warn(r, "metric %s is only in the current results: not gated", cm->name) != 0)
                    goto nomem;
                continue;
            }
            struct gate_row *row = new_row(r, &cap);
            if (!row)
                goto nomem;
            snprintf(row->config, sizeof row->config, "%s", label);
            snprintf(row->metric, sizeof row->metric, "%s", cm->name);
            snprintf(row->unit, sizeof row->unit, "%s", cm->unit);
            snprintf(row->source, sizeof row->source, "%s", cm->source);
            if (classify(r, row, o, bm, cm, cpu_a ? cpu_a : "?", cpu_b ? cpu_b : "?") != 0)
                goto nomem;
            enum gate_verdict pre = row->verdict;
            char note[sizeof row->note];
            memcpy(note, row->note, sizeof note);
            double alpha_look = o->alpha / (o->looks > 1 ? o->looks : 1);
            if (o->paired && row->kind == GATE_KIND_TIMING) {
                /* the values of the same repetition on both sides are a pair */
                size_t np = 0;
                double *pb = malloc((bm->n + 1) * sizeof *pb), *pc = malloc((bm->n + 1) * sizeof *pc);
                if (!pb || !pc) {
                    free(pb);
                    free(pc);
                    goto nomem;
                }
                for (size_t x = 0; x < bm->n; x++)
                    for (size_t y = 0; y < cm->n; y++)
                        if (bm->rep && cm->rep && bm->rep[x] == cm->rep[y]) {
                            pb[np] = bm->v[x];
                            pc[np++] = cm->v[y];
                            break;
                        }
                int mr = gate_row_measure_paired(row, pb, pc, np, alpha_look);
                free(pb);
                free(pc);
                if (mr != 0)
                    goto nomem;
            } else if (gate_row_measure(row, bm->v, bm->n, cm->v, cm->n, alpha_look) != 0) {
                goto nomem;
            }
            row->verdict = pre;
            memcpy(row->note, note, sizeof note);
            if (cm->sem_seen || bm->sem_seen)
                any_sem = true;
        }
        for (size_t j = 0; j < bc->acc.nm; j++) {
            bool found = in_list(o->ignore, bc->acc.m[j].name);
            for (size_t mi = 0; !found && mi < cc->acc.nm; mi++)
                found = strcmp(bc->acc.m[j].name, cc->acc.m[mi].name) == 0;
            if (!found && warn(r, "metric %s is only in the baseline: not gated", bc->acc.m[j].name) != 0)
                goto nomem;
        }
    }
    for (int j = 0; j < base.n_cfg; j++)
        if (!base_matched[j]) {
            char label[256];
            axes_label(base.cfg[j].axes, label, sizeof label);
            if (warn(r, "configuration %s is only in the baseline: not gated", label) != 0)
                goto nomem;
        }
    if (r->n_configs_common == 0) {
        char ba[200] = "", ca[200] = "";
        if (base.n_cfg > 0)
            axes_label(base.cfg[0].axes, ba, sizeof ba);
        if (cur.n_cfg > 0)
            axes_label(cur.cfg[0].axes, ca, sizeof ca);
        rc = err_fail(err, err_len, GATE_EINPUT,
                  "no configurations in common: matched by axis values, baseline has %d (first: %s), "
                  "current has %d (first: %s)", base.n_cfg, base.n_cfg ? ba : "-", cur.n_cfg, cur.n_cfg ? ca : "-");
        goto done;
    }
    if (!any_sem && !o->metrics &&
        warn(r, "no declared metric semantics in either file (written before ggperf recorded them): nothing is "
                "gated; --metrics M,... with --higher-is-better/--lower-is-better/--deterministic declares them") != 0)
        goto nomem;
    for (size_t i = 0; o->metrics && o->metrics[i]; i++) {
        bool seen = false;
        for (size_t j = 0; j < r->n_rows && !seen; j++)
            seen = strcmp(r->rows[j].metric, o->metrics[i]) == 0;
        if (!seen && warn(r, "--metrics %s: no such metric in both files", o->metrics[i]) != 0)
            goto nomem;
    }
    if (gate_decide(r) != 0)
        goto nomem;
    *out = r;
    r = NULL;
    rc = GATE_OK;
    goto done;
nomem:
    rc = err_fail(err, err_len, GATE_ENOMEM, "gate: out of memory");
done:
    gate_report_free(r);
    free(base_matched);
    side_free(&base);
    side_free(&cur);
    return rc;
}

int gate_failed(const struct gate_report *r)
{
    if (r->counts[GATE_REGRESSED] > 0)
        return 1;
    if (r->counts[GATE_UNDECIDED] > 0 && !r->opts.undecided_pass)
        return 1;
    return 0;
}

/* ---- Markdown ---------------------------------------------------------------- */

static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void fmt_change(char *buf, size_t len, const struct gate_row *row)
{
    if (isnan(row->base_median) || isnan(row->cur_median))
        snprintf(buf, len, "—");
    else if (isinf(row->change))
        snprintf(buf, len, "%s (from 0)", row->change > 0 ? "+∞" : "−∞");
    else
        snprintf(buf, len, "%+.2f%%", row->change * 100);
}

static const char *verdict_mark(enum gate_verdict v)
{
    switch (v) {
    case GATE_REGRESSED: return "❌ regressed";
    case GATE_UNDECIDED: return "❔ undecided";
    case GATE_IMPROVED: return "✅ improved";
    case GATE_NOT_GATED: return "⚪ not gated";
    case GATE_UNCHANGED: return "➖ unchanged";
    default: return "?";
    }
}

static void fmt_pct(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "—");
    else if (isinf(v))
        snprintf(buf, len, "%s∞", v > 0 ? "+" : "−");
    else
        snprintf(buf, len, "%+.2f%%", v * 100);
}

static void md_row(FILE *f, const struct gate_row *row)
{
    char b[64], c[64], ch[48], p[48], lo[24], hi[24], mde[32];
    fmt_value(b, sizeof b, row->base_median, row->unit);
    fmt_value(c, sizeof c, row->cur_median, row->unit);
    fmt_change(ch, sizeof ch, row);
    if (isnan(row->p))
        snprintf(p, sizeof p, "—");
    else if (isnan(row->p_adj))
        snprintf(p, sizeof p, "%.2g", row->p);
    else
        snprintf(p, sizeof p, "%.2g (Holm %.2g)", row->p, row->p_adj);
    fmt_pct(lo, sizeof lo, row->ci_lo);
    fmt_pct(hi, sizeof hi, row->ci_hi);
    if (isnan(row->mde))
        snprintf(mde, sizeof mde, "—");
    else
        snprintf(mde, sizeof mde, "%.2g%%", row->mde * 100);
    fprintf(f, "| %s | ", verdict_mark(row->verdict));
    md_text(f, row->config);
    fputs(" | ", f);
    md_text(f, row->metric);
    if (row->unit[0] || row->source[0]) {
        fputs(" (", f);
        md_text(f, row->unit);
        if (row->unit[0] && row->source[0])
            fputs(", ", f);
        md_text(f, row->source);
        fputs(")", f);
    }
    fprintf(f, " | %s | %s | %s | ", b, c, ch);
    if (isnan(row->ci_lo))
        fputs("—", f);
    else
        fprintf(f, "%s … %s", lo, hi);
    fprintf(f, " | %s | %s | %zu / %zu | ", p, mde, row->n_base, row->n_cur);
    if (row->metric[0] == '(')
        fputs("—", f);
    else if (!row->sem.kind)
        fputs("undeclared", f);
    else
        fprintf(f, "%s, %s is better%s", metric_kind_name(row->sem.kind), metric_better_name(row->sem.better),
                row->gated ? "" : "");
    if (row->gated)
        fprintf(f, ", %s, %g%%", row->paired ? "paired (signed-rank, Holm)" : gate_kind_name(row->kind),
                row->threshold * 100);
    fputs(" | ", f);
    md_text(f, row->note);
    fputs(" |\n", f);
}

static void md_table_head(FILE *f)
{
    fputs("| verdict | configuration | metric | baseline | current | change | CI of change | p | MDE | n base / cur "
          "| semantics, evidence | note |\n"
          "|:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|:--|:--|\n", f);
}

/* Rows of one group: the gated ones that are not unchanged, the unchanged
 * ones, or the ones not gated. */
enum md_group { MD_SHOWN, MD_UNCHANGED, MD_NOT_GATED };

static bool in_group(const struct gate_row *row, enum md_group g)
{
    if (row->verdict == GATE_NOT_GATED)
        return g == MD_NOT_GATED;
    return row->verdict == GATE_UNCHANGED ? g == MD_UNCHANGED : g == MD_SHOWN;
}

static void md_group(FILE *f, const struct gate_report *r, enum md_group g, const char *summary)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        n += in_group(&r->rows[i], g);
    if (!n)
        return;
    if (summary)
        fprintf(f, "<details><summary>%zu %s</summary>\n\n", n, summary);
    md_table_head(f);
    for (size_t i = 0; i < r->n_rows; i++)
        if (in_group(&r->rows[i], g) && k++ < GATE_MD_MAX_ROWS)
            md_row(f, &r->rows[i]);
    if (n > GATE_MD_MAX_ROWS)
        fprintf(f, "\n… and %zu more rows (`-o json` lists every one)\n", n - GATE_MD_MAX_ROWS);
    fputs(summary ? "\n</details>\n\n" : "\n", f);
}

int gate_write_md(FILE *f, const struct gate_report *r)
{
    const struct gate_opts *o = &r->opts;
    bool failed = gate_failed(r) != 0;
    fprintf(f, "## ggperf gate: ");
    md_text(f, r->workload);
    if (!failed)
        fprintf(f, " — ✅ PASS%s\n\n", r->counts[GATE_UNDECIDED] ? " (some undecided: see the notes)" : "");
    else if (r->counts[GATE_REGRESSED])
        fprintf(f, " — ❌ FAIL: %zu regressed\n\n", r->counts[GATE_REGRESSED]);
    else
        fprintf(f, " — ❌ FAIL: %zu undecided (--undecided=fail)\n\n", r->counts[GATE_UNDECIDED]);
    fprintf(f, "**Summary:** %zu regressed, %zu undecided, %zu improved, %zu unchanged; %zu not gated "
               "(%zu comparisons over %zu configurations in common, %zu in the statistical family)\n\n",
            r->counts[GATE_REGRESSED], r->counts[GATE_UNDECIDED], r->counts[GATE_IMPROVED], r->counts[GATE_UNCHANGED],
            r->counts[GATE_NOT_GATED], r->n_rows, r->n_configs_common, r->n_family);
    fputs("Baseline `", f);
    md_text(f, r->base_label);
    fputs("`, current `", f);
    md_text(f, r->cur_label);
    fprintf(f, "`. Gated: %s. Sample metrics regress when the %s, Holm-adjusted over the %zu "
               "gated comparisons (family-wise alpha %g%s), says worse **and** the median is worse by more than "
               "%g%%; they are unchanged when the %g%% confidence interval rules out a change that large, else "
               "undecided (%s). Deterministic counts regress when worse by more than %g%%. MDE: the change this "
               "n and noise detect with power 0.8.",
            o->metrics ? "the metrics named with --metrics" : o->all_metrics ? "every comparable metric (--all-metrics)"
                                                                             : "each workload's declared primary set",
            o->paired ? "Wilcoxon signed-rank test of the pairs' log ratios" : "Mann-Whitney U test", r->n_family, o->alpha, o->looks > 1 ? ", split over the looks" : "", o->threshold * 100,
            100 * (1 - o->alpha / (o->looks > 1 ? o->looks : 1)),
            o->undecided_pass ? "passes; --undecided=fail fails it" : "fails: --undecided=fail", o->det_threshold * 100);
    if (r->metric_thresholds[0]) {
        fputs(" Own thresholds: ", f);
        md_text(f, r->metric_thresholds);
        fputc('.', f);
    }
    fputs("\n\n", f);
    if (r->n_warnings) {
        fputs("**Warnings**\n\n", f);
        for (size_t i = 0; i < r->n_warnings; i++) {
            fputs("- ⚠ ", f);
            md_text(f, r->warnings[i]);
            fputc('\n', f);
        }
        fputc('\n', f);
    }
    /* A PR comment has a size limit (GitHub: 65536 characters): each table
     * shows its first GATE_MD_MAX_ROWS rows; -o json has every one. */
    md_group(f, r, MD_SHOWN, NULL);
    md_group(f, r, MD_UNCHANGED, "unchanged");
    md_group(f, r, MD_NOT_GATED, "not gated (shown for context)");
    fflush(f);
    return ferror(f) ? GATE_EIO : GATE_OK;
}

/* ---- JSON ---------------------------------------------------------------------- */

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *gate_report_json(const struct gate_report *r)
{
    const struct gate_opts *o = &r->opts;
    json_t *rows = json_array(), *warnings = json_array(), *counts = json_object();
    if (!rows || !warnings || !counts)
        goto nomem;
    for (int v = 0; v < GATE_VERDICT_COUNT; v++)
        if (json_object_set_new(counts, gate_verdict_name((enum gate_verdict)v), json_integer((json_int_t)r->counts[v])))
            goto nomem;
    for (size_t i = 0; i < r->n_warnings; i++)
        if (json_array_append_new(warnings, json_string(r->warnings[i])))
            goto nomem;
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct gate_row *w = &r->rows[i];
        json_t *change = isinf(w->change) ? json_string(w->change > 0 ? "+inf" : "-inf")
                         : (isnan(w->base_median) || isnan(w->cur_median)) ? json_null() : json_real(w->change);
        json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:s?}",
                                "config", w->config, "metric", w->metric, "unit", w->unit, "source", w->source,
                                "verdict", gate_verdict_name(w->verdict), "evidence", gate_kind_name(w->kind),
                                "threshold", w->threshold, "higher_is_better", w->higher_better, "baseline_median", jnum(w->base_median),
                                "current_median", jnum(w->cur_median), "change", change, "p", jnum(w->p),
                                "min_p", jnum(w->min_p), "n_baseline", (json_int_t)w->n_base, "n_current",
                                (json_int_t)w->n_cur, "note", w->note[0] ? w->note : NULL);
        if (!row || json_array_append_new(rows, row))
            goto nomem;
        json_object_set_new(row, "gated", json_boolean(w->gated));
        json_object_set_new(row, "paired", json_boolean(w->paired));
        json_object_set_new(row, "better", json_string(metric_better_name(w->sem.better)));
        json_object_set_new(row, "kind", json_string(metric_kind_name(w->sem.kind)));
        json_object_set_new(row, "p_holm", jnum(w->p_adj));
        json_object_set_new(row, "ci_lo", jnum(w->ci_lo));
        json_object_set_new(row, "ci_hi", jnum(w->ci_hi));
        json_object_set_new(row, "noise", jnum(w->noise));
        json_object_set_new(row, "mde", jnum(w->mde));
    }
    int failed = gate_failed(r);
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:{s:f, s:f, s:f, s:s, s:b}, s:I, s:o, s:o, s:o}",
                            "schema", "ggperf-gate", "result", failed ? "fail" : "pass", "exit", failed,
                            "workload", r->workload, "baseline", r->base_label, "current", r->cur_label,
                            "options", "threshold", o->threshold, "det_threshold", o->det_threshold, "alpha", o->alpha,
                            "undecided", o->undecided_pass ? "pass" : "fail", "gate_across_cpus",
                            o->gate_across_cpus, "configs_in_common", (json_int_t)r->n_configs_common, "counts",
                            counts, "warnings", warnings, "comparisons", rows);
    if (doc) {
        json_object_set_new(json_object_get(doc, "options"), "paired", json_boolean(o->paired));
        json_object_set_new(doc, "family_size", json_integer((json_int_t)r->n_family));
        json_object_set_new(json_object_get(doc, "options"), "looks", json_integer(o->looks));
        json_object_set_new(json_object_get(doc, "options"), "all_metrics", json_boolean(o->all_metrics));
    }
    return doc;
nomem:
    json_decref(rows);
    json_decref(warnings);
    json_decref(counts);
    return NULL;
}
