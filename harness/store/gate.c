/* gate — the regression gate (rules in gate.h): reading the two results
 * files, matching configurations by axis values and metrics by name,
 * comparing the environments, judging each metric (declared semantics,
 * options, gated or why not) and building the report's rows. The
 * statistics and verdicts are in gate_stats.c, the Markdown and JSON
 * output in gate_output.c. */
#include "harness/store/gate.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine/cpuinfo.h"
#include "base/err.h"
#include "results/results.h"

void gate_opts_default(struct gate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threshold = 0.03;
    o->det_threshold = 0.01;
    o->alpha = 0.01;
    o->looks = 1;
    o->undecided_pass = true;
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
