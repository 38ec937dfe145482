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
    o->threshold = 0.05;
    o->det_threshold = 0.01;
    o->alpha = 0.01;
}

const char *gate_verdict_name(enum gate_verdict v)
{
    static const char *const names[GATE_VERDICT_COUNT] = { "regressed", "inconclusive", "improved", "not gated",
                                                           "unchanged" };
    return (unsigned)v < GATE_VERDICT_COUNT ? names[v] : "unknown";
}

const char *gate_kind_name(enum gate_kind k)
{
    return k == GATE_KIND_DETERMINISTIC ? "deterministic" : "timing (Mann-Whitney)";
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool gate_unit_higher_better(const char *name, const char *unit)
{
    (void)name; /* the unit decides; names are for the override lists */
    if (!unit)
        return false;
    static const char *const rates[] = { "tok/s", "GB/s", "MB/s", "GiB/s", "GFLOPS", "GFLOP/s", "TFLOPS", NULL };
    for (int i = 0; rates[i]; i++)
        if (strcmp(unit, rates[i]) == 0)
            return true;
    return ends_with(unit, "/s");
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

static double median_of(const struct results_macc *m)
{
    if (!m || m->n == 0)
        return NAN;
    qsort(m->v, m->n, sizeof *m->v, cmp_double); /* order does not matter to anyone else */
    return stats_median_sorted(m->v, m->n);
}

static bool constant(const struct results_macc *m)
{
    for (size_t i = 1; i < m->n; i++)
        if (m->v[i] != m->v[0])
            return false;
    return m->n > 0;
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

static int judge(struct gate_report *r, struct gate_row *row, const struct gate_opts *o, struct results_macc *bm,
                 struct results_macc *cm, const char *cpu_a, const char *cpu_b)
{
    row->n_base = bm->n;
    row->n_cur = cm->n;
    bool det = in_list(o->deterministic, row->metric) || strcmp(bm->source, "sim") == 0 ||
               strcmp(cm->source, "sim") == 0 || (strcmp(cm->unit, "count") == 0 && strncmp(row->metric, "alloc", 5) == 0) ||
               (bm->n >= 2 && cm->n >= 2 && constant(bm) && constant(cm));
    row->kind = det ? GATE_KIND_DETERMINISTIC : GATE_KIND_TIMING;
    if (in_list(o->higher_better, row->metric))
        row->higher_better = true;
    else if (in_list(o->lower_better, row->metric))
        row->higher_better = false;
    else
        row->higher_better = gate_unit_higher_better(row->metric, cm->unit);

    row->threshold = det ? o->det_threshold : o->threshold;
    for (size_t i = 0; i < o->n_metric_thresholds; i++)
        if (o->metric_thresholds[i].name && strcmp(o->metric_thresholds[i].name, row->metric) == 0)
            row->threshold = o->metric_thresholds[i].threshold;

    if (strcmp(bm->unit, cm->unit) != 0) {
        row->verdict = GATE_NOT_GATED;
        snprintf(row->note, sizeof row->note, "not gated: unit differs (baseline '%s', current '%s')", bm->unit,
                 cm->unit);
        return 0;
    }
    if (bm->n == 0 || cm->n == 0) {
        row->verdict = GATE_NOT_GATED;
        const struct results_macc *none = cm->n == 0 ? cm : bm;
        snprintf(row->note, sizeof row->note, "not gated: no values in the %s (%s%s%s)",
                 cm->n == 0 ? "current results" : "baseline", none->status[0] ? none->status : "not measured",
                 none->reason[0] ? ": " : "", none->reason);
        return 0;
    }
    row->base_median = median_of(bm);
    row->cur_median = median_of(cm);
    row->change = rel_change(row->base_median, row->cur_median);
    double worse = row->higher_better ? -row->change : row->change;

    if (det) {
        if (worse > row->threshold)
            row->verdict = GATE_REGRESSED;
        else if (-worse > row->threshold)
            row->verdict = GATE_IMPROVED;
        else
            row->verdict = GATE_UNCHANGED;
        return 0;
    }

    if (r->cpu_differs && !o->gate_across_cpus) {
        row->verdict = GATE_NOT_GATED;
        snprintf(row->note, sizeof row->note, "not gated: different CPU (%s vs %s)", cpu_a, cpu_b);
        return 0;
    }
    row->min_p = gate_mwu_min_p(bm->n, cm->n);
    if (row->min_p >= o->alpha) {
        row->verdict = GATE_INCONCLUSIVE;
        snprintf(row->note, sizeof row->note,
                 "too few repetitions: %zu vs %zu cannot reach p < %g (smallest possible p %.3g); "
                 "run at least %zu vs %zu", bm->n, cm->n, o->alpha, row->min_p, reps_needed(o->alpha),
                 reps_needed(o->alpha));
        return 0;
    }
    struct stats_mwu t;
    /* a = current, b = baseline: u1 > n1 n2 / 2 when the current values tend larger */
    int rc = stats_mann_whitney(cm->v, cm->n, bm->v, bm->n, STATS_MWU_AUTO, &t);
    if (rc == STATS_ENOMEM)
        return -1;
    if (rc != STATS_OK) {
        row->verdict = GATE_INCONCLUSIVE;
        snprintf(row->note, sizeof row->note, "the U test failed (code %d)", rc);
        return 0;
    }
    row->p = t.p;
    double half = (double)t.n1 * (double)t.n2 / 2;
    bool cur_larger = t.u1 > half, cur_smaller = t.u1 < half;
    bool rank_worse = row->higher_better ? cur_smaller : cur_larger;
    bool rank_better = row->higher_better ? cur_larger : cur_smaller;
    bool significant = t.p < o->alpha;
    double thr = row->threshold;
    if (significant && worse > thr && rank_worse) {
        row->verdict = GATE_REGRESSED;
    } else if (significant && -worse > thr && rank_better) {
        row->verdict = GATE_IMPROVED;
    } else {
        row->verdict = GATE_UNCHANGED;
        if (significant && fabs(worse) > thr)
            snprintf(row->note, sizeof row->note, "median and rank order disagree on the direction");
        else if (significant && worse > 0)
            snprintf(row->note, sizeof row->note, "significantly worse, but by less than %g%%", thr * 100);
        else if (!significant && fabs(worse) > thr)
            snprintf(row->note, sizeof row->note, "%s by more than %g%% but not significant (p >= %g)",
                     worse > 0 ? "worse" : "better", thr * 100, o->alpha);
    }
    return 0;
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
    r->opts.higher_better = r->opts.lower_better = r->opts.deterministic = r->opts.ignore = NULL;
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
            row->verdict = cur_bad ? GATE_INCONCLUSIVE : GATE_NOT_GATED;
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
            if (judge(r, row, o, bm, cm, cpu_a ? cpu_a : "?", cpu_b ? cpu_b : "?") != 0)
                goto nomem;
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
    if (sort_rows(r) != 0)
        goto nomem;
    for (size_t i = 0; i < r->n_rows; i++)
        r->counts[r->rows[i].verdict]++;
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
    if (r->counts[GATE_INCONCLUSIVE] > 0 && !r->opts.inconclusive_pass)
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
    case GATE_INCONCLUSIVE: return "❔ inconclusive";
    case GATE_IMPROVED: return "✅ improved";
    case GATE_NOT_GATED: return "⚪ not gated";
    case GATE_UNCHANGED: return "➖ unchanged";
    default: return "?";
    }
}

static void md_row(FILE *f, const struct gate_row *row)
{
    char b[64], c[64], ch[48], p[32];
    fmt_value(b, sizeof b, row->base_median, row->unit);
    fmt_value(c, sizeof c, row->cur_median, row->unit);
    fmt_change(ch, sizeof ch, row);
    if (isnan(row->p))
        snprintf(p, sizeof p, "—");
    else
        snprintf(p, sizeof p, "%.2g", row->p);
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
    fprintf(f, " | %s | %s | %s | %s | %zu / %zu | ", b, c, ch, p, row->n_base, row->n_cur);
    if (row->metric[0] == '(')
        fputs("—", f);
    else
        fprintf(f, "%s, %g%%%s", gate_kind_name(row->kind), row->threshold * 100,
                row->higher_better ? ", higher is better" : "");
    fputs(" | ", f);
    md_text(f, row->note);
    fputs(" |\n", f);
}

static void md_table_head(FILE *f)
{
    fputs("| verdict | configuration | metric | baseline | current | change | p | n base / cur | evidence | note |\n"
          "|:--|:--|:--|--:|--:|--:|--:|--:|:--|:--|\n", f);
}

int gate_write_md(FILE *f, const struct gate_report *r)
{
    const struct gate_opts *o = &r->opts;
    bool failed = gate_failed(r) != 0;
    fprintf(f, "## ggperf gate: ");
    md_text(f, r->workload);
    if (!failed)
        fprintf(f, " — ✅ PASS\n\n");
    else if (r->counts[GATE_REGRESSED])
        fprintf(f, " — ❌ FAIL: %zu regressed\n\n", r->counts[GATE_REGRESSED]);
    else
        fprintf(f, " — ❌ FAIL: %zu inconclusive (no evidence either way: see the notes)\n\n",
                r->counts[GATE_INCONCLUSIVE]);
    fprintf(f, "**Summary:** %zu regressed, %zu inconclusive, %zu improved, %zu not gated, %zu unchanged "
               "(%zu comparisons over %zu configurations in common)\n\n",
            r->counts[GATE_REGRESSED], r->counts[GATE_INCONCLUSIVE], r->counts[GATE_IMPROVED],
            r->counts[GATE_NOT_GATED], r->counts[GATE_UNCHANGED], r->n_rows, r->n_configs_common);
    fputs("Baseline `", f);
    md_text(f, r->base_label);
    fputs("`, current `", f);
    md_text(f, r->cur_label);
    fprintf(f, "`. Timing metrics regress when a two-sided Mann-Whitney U test gives p < %g **and** the median "
               "is worse by more than %g%%; deterministic metrics when the median is worse by more than %g%%. "
               "Inconclusive verdicts %s.",
            o->alpha, o->threshold * 100, o->det_threshold * 100,
            o->inconclusive_pass ? "pass (--inconclusive=pass)" : "fail the gate (--inconclusive=pass lets them pass)");
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
    size_t n_shown = r->n_rows - r->counts[GATE_UNCHANGED], k = 0;
    if (n_shown) {
        md_table_head(f);
        for (size_t i = 0; i < r->n_rows; i++)
            if (r->rows[i].verdict != GATE_UNCHANGED && k++ < GATE_MD_MAX_ROWS)
                md_row(f, &r->rows[i]);
        if (n_shown > GATE_MD_MAX_ROWS)
            fprintf(f, "\n… and %zu more rows (`-o json` lists every one)\n", n_shown - GATE_MD_MAX_ROWS);
        fputc('\n', f);
    }
    if (r->counts[GATE_UNCHANGED]) {
        fprintf(f, "<details><summary>%zu unchanged</summary>\n\n", r->counts[GATE_UNCHANGED]);
        md_table_head(f);
        k = 0;
        for (size_t i = 0; i < r->n_rows; i++)
            if (r->rows[i].verdict == GATE_UNCHANGED && k++ < GATE_MD_MAX_ROWS)
                md_row(f, &r->rows[i]);
        if (r->counts[GATE_UNCHANGED] > GATE_MD_MAX_ROWS)
            fprintf(f, "\n… and %zu more unchanged rows (`-o json` lists every one)\n",
                    r->counts[GATE_UNCHANGED] - GATE_MD_MAX_ROWS);
        fputs("\n</details>\n", f);
    }
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
    }
    int failed = gate_failed(r);
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:{s:f, s:f, s:f, s:s, s:b}, s:I, s:o, s:o, s:o}",
                            "schema", "ggperf-gate", "result", failed ? "fail" : "pass", "exit", failed,
                            "workload", r->workload, "baseline", r->base_label, "current", r->cur_label,
                            "options", "threshold", o->threshold, "det_threshold", o->det_threshold, "alpha", o->alpha,
                            "inconclusive", o->inconclusive_pass ? "pass" : "fail", "gate_across_cpus",
                            o->gate_across_cpus, "configs_in_common", (json_int_t)r->n_configs_common, "counts",
                            counts, "warnings", warnings, "comparisons", rows);
    return doc;
nomem:
    json_decref(rows);
    json_decref(warnings);
    json_decref(counts);
    return NULL;
}
