/* report_load — reading the results files of a report and arranging them:
 * one group per workload, rows sorted in the sweep's order, metric columns
 * with their display units, the headline metric and the baseline row. */
#include "reports/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- loading ------------------------------------------------------------------- */

void report_free(struct report *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_runs; i++) {
        json_decref(r->runs[i].stats);
        results_reader_close(r->runs[i].rd);
    }
    free(r->runs);
    for (int g = 0; g < r->n_groups; g++) {
        struct rep_group *gr = &r->groups[g];
        for (int a = 0; a < gr->n_axes; a++)
            free(gr->axes[a]);
        free(gr->axes);
        free(gr->axis_varies);
        free(gr->runs);
        free(gr->rows);
        free(gr->cols);
        free(gr->ab);
    }
    free(r->groups);
    free(r->concl);
    json_decref(r->probe_file);
    free(r);
}

/* The results reader quotes file text in its messages: keep them one line. */
static int input_fail(char *err, size_t err_len, const char *msg)
{
    report_str_fmt(err, err_len, "%s", msg);
    for (char *p = err; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return REPORT_EINPUT;
}

static int load_run(struct rep_run *run, const char *path, char *err, size_t err_len)
{
    report_str_fmt(run->path, sizeof run->path, "%s", path);
    run->base = report_base_name(run->path);
    char e[512];
    if (results_reader_open(&run->rd, path, e, sizeof e) != 0)
        return input_fail(err, err_len, e);
    run->header = results_reader_header(run->rd);
    if (results_stats(run->rd, NULL, &run->stats, e, sizeof e) != 0)
        return input_fail(err, err_len, e);
    run->workload = json_string_value(json_object_get(json_object_get(run->header, "workload"), "name"));
    if (!run->workload || !*run->workload)
        return report_fail(err, err_len, REPORT_EINPUT, "%s: the header's workload has no name", path);
    run->complete = results_reader_complete(run->rd);
    run->truncated = results_reader_truncated(run->rd);
    run->dups = results_reader_duplicates(run->rd);
    size_t i;
    json_t *c;
    json_array_foreach(run->stats, i, c) run->n_samples += (size_t)json_integer_value(json_object_get(c, "n_reps"));
    return REPORT_OK;
}

/* What tells run apart from the others: field kind of its header. */
static void run_field(const struct rep_run *run, const char *kind, char *buf, size_t len)
{
    const json_t *env = json_object_get(run->header, "environment");
    const char *s = NULL;
    buf[0] = '\0';
    if (strcmp(kind, "engine") == 0) {
        s = json_string_value(json_object_get(env, "engine"));
        if (!s)
            s = "ggperf";
    } else if (strcmp(kind, "host") == 0) {
        s = json_string_value(json_object_get(env, "hostname"));
    } else if (strcmp(kind, "commit") == 0) {
        s = json_string_value(json_object_get(json_object_get(env, "build"), "commit"));
    } else if (strcmp(kind, "model") == 0) {
        report_model_name(run->header, buf, len);
        return;
    } else if (strcmp(kind, "file") == 0) {
        s = run->base;
    } else {
        s = run->path;
    }
    report_str_fmt(buf, len, "%s", s ? s : "");
}

static void choose_labels(struct report *rp, struct rep_group *g)
{
    if (g->n_runs < 2)
        return;
    static const char *const kinds[] = { "engine", "host", "commit", "model", "file", "path" };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bool distinct = true;
        for (int i = 0; i < g->n_runs && distinct; i++) {
            char a[96];
            run_field(&rp->runs[g->runs[i]], kinds[k], a, sizeof a);
            distinct = a[0] != '\0';
            for (int j = 0; j < i && distinct; j++) {
                char b[96];
                run_field(&rp->runs[g->runs[j]], kinds[k], b, sizeof b);
                distinct = strcmp(a, b) != 0;
            }
        }
        if (distinct) {
            report_str_fmt(g->label_kind, sizeof g->label_kind, "%s", kinds[k]);
            for (int i = 0; i < g->n_runs; i++)
                run_field(&rp->runs[g->runs[i]], kinds[k], rp->runs[g->runs[i]].label,
                          sizeof rp->runs[0].label);
            return;
        }
    }
    report_str_fmt(g->label_kind, sizeof g->label_kind, "run");
    for (int i = 0; i < g->n_runs; i++)
        report_str_fmt(rp->runs[g->runs[i]].label, sizeof rp->runs[0].label, "run %d", i + 1);
}

/* Rows sort by each axis value's position in the headers' value lists
 * (the sweep's order), then by run and configuration. */
struct sort_ctx {
    const int *rank;     /* [row][axis] */
    int n_axes;
    const struct rep_row *rows;
};

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
    const struct sort_ctx *sc = arg;
    int ia = *(const int *)pa, ib = *(const int *)pb;
    for (int i = 0; i < sc->n_axes; i++) {
        int ra = sc->rank[(size_t)ia * (size_t)sc->n_axes + (size_t)i],
            rb = sc->rank[(size_t)ib * (size_t)sc->n_axes + (size_t)i];
        if (ra != rb)
            return ra < rb ? -1 : 1;
    }
    const struct rep_row *a = &sc->rows[ia], *b = &sc->rows[ib];
    if (a->run != b->run)
        return a->run < b->run ? -1 : 1;
    json_int_t ca = json_integer_value(json_object_get(a->cs, "config")),
               cb = json_integer_value(json_object_get(b->cs, "config"));
    return (ca > cb) - (ca < cb);
}

static int sort_rows(const struct report *rp, struct rep_group *g)
{
    int rc = REPORT_ENOMEM;
    size_t na = (size_t)(g->n_axes > 0 ? g->n_axes : 1), nr = (size_t)g->n_rows;
    int *rank = calloc(nr * na + 1, sizeof *rank), *order = calloc(nr + 1, sizeof *order);
    struct rep_row *sorted = calloc(nr + 1, sizeof *sorted);
    json_t *pos = json_object();
    if (!rank || !order || !sorted || !pos)
        goto done;
    for (int a = 0; a < g->n_axes; a++) {
        json_object_clear(pos);
        json_int_t next = 0;
        for (int k = 0; k < g->n_runs; k++) {
            size_t i, j;
            json_t *ax, *val;
            json_array_foreach(json_object_get(rp->runs[g->runs[k]].header, "axes"), i, ax) {
                const char *name = json_string_value(json_object_get(ax, "name"));
                if (!name || strcmp(name, g->axes[a]) != 0)
                    continue;
                json_array_foreach(json_object_get(ax, "values"), j, val) {
                    const char *v = json_string_value(val);
                    if (v && !json_object_get(pos, v) && json_object_set_new(pos, v, json_integer(next++)) != 0)
                        goto done;
                }
            }
        }
        for (size_t r = 0; r < nr; r++) {
            json_t *p = json_object_get(pos, report_axis(&g->rows[r], g->axes[a]));
            rank[r * na + (size_t)a] = p ? (int)json_integer_value(p) : -1;
        }
    }
    for (size_t r = 0; r < nr; r++)
        order[r] = (int)r;
    struct sort_ctx sc = { rank, g->n_axes, g->rows };
    qsort_r(order, nr, sizeof *order, cmp_rows, &sc);
    for (size_t r = 0; r < nr; r++)
        sorted[r] = g->rows[order[r]];
    memcpy(g->rows, sorted, nr * sizeof *sorted);
    rc = REPORT_OK;
done:
    free(rank);
    free(order);
    free(sorted);
    json_decref(pos);
    return rc;
}

static bool col_is_runner(const char *name)
{
    return strcmp(name, "run_ns") == 0 || strcmp(name, "runner_overhead_ns") == 0;
}

/* Rank of a column as the headline (the ratio's metric): throughput,
 * then the load's total, bandwidth, then a wall-clock time; -1 never. */
static int headline_rank(const struct rep_col *col)
{
    if (!col->any_ok)
        return -1;
    if (strcmp(col->unit, "tok/s") == 0)
        return 0;
    if (strcmp(col->unit, "GFLOP/s") == 0)
        return 1;
    if (strcmp(col->name, "ready_ns") == 0)
        return 2;
    if (strcmp(col->unit, "GB/s") == 0)
        return 3;
    if (strcmp(col->unit, "ns") == 0 && strcmp(col->source, "time") == 0 && !col_is_runner(col->name))
        return 4;
    return 5;
}

static int pick_headline(const struct rep_group *g)
{
    /* a metric every row has beats a better-ranked one some rows lack */
    for (int full = 1; full >= 0; full--)
        for (int rank = 0; rank <= 5; rank++)
            for (int c = 0; c < g->n_cols; c++) {
                if (headline_rank(&g->cols[c]) != rank)
                    continue;
                bool all = true;
                double v;
                for (int i = 0; i < g->n_rows && all && full; i++)
                    all = report_median(&g->rows[i], g->cols[c].name, &v, NULL, NULL);
                if (all)
                    return c;
            }
    return -1;
}

/* For PREFIX_pNN_ns (or PREFIX_pNN): true with PREFIX_max_ns (PREFIX_max). */
static bool pct_max_name(const char *name, char *max_name, size_t len)
{
    const char *u = strrchr(name, '_');
    bool ns = u && strcmp(u, "_ns") == 0;
    const char *end = ns ? u : name + strlen(name);
    const char *q = end;
    while (q > name && q[-1] != '_')
        q--;
    if (q == name || q[0] != 'p' || q[1] < '0' || q[1] > '9')
        return false;
    for (const char *d = q + 1; d < end; d++)
        if (*d < '0' || *d > '9')
            return false;
    report_str_fmt(max_name, len, "%.*smax%s", (int)(q - name), name, ns ? "_ns" : "");
    return true;
}

static int build_group(struct report *rp, struct rep_group *g)
{
    /* axes: the union, in order */
    for (int k = 0; k < g->n_runs; k++) {
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(rp->runs[g->runs[k]].header, "axes"), i, a) {
            const char *name = json_string_value(json_object_get(a, "name"));
            if (!name || report_axis_index(g, name) >= 0)
                continue;
            char **p = realloc(g->axes, (size_t)(g->n_axes + 1) * sizeof *p);
            if (!p)
                return REPORT_ENOMEM;
            g->axes = p;
            if (!(g->axes[g->n_axes] = strdup(name)))
                return REPORT_ENOMEM;
            g->n_axes++;
        }
    }
    if (!(g->axis_varies = calloc((size_t)g->n_axes + 1, sizeof *g->axis_varies)))
        return REPORT_ENOMEM;
    /* rows: configurations with repetitions */
    size_t cap = 0;
    for (int k = 0; k < g->n_runs; k++)
        cap += json_array_size(rp->runs[g->runs[k]].stats);
    if (!(g->rows = calloc(cap + 1, sizeof *g->rows)))
        return REPORT_ENOMEM;
    for (int k = 0; k < g->n_runs; k++) {
        size_t i;
        json_t *c;
        json_array_foreach(rp->runs[g->runs[k]].stats, i, c) {
            if (json_integer_value(json_object_get(c, "n_reps")) <= 0) {
                g->n_empty++;
                continue;
            }
            g->rows[g->n_rows++] = (struct rep_row){ g->runs[k], c, json_object_get(c, "axes"), -1 };
        }
    }
    if (sort_rows(rp, g) != 0)
        return REPORT_ENOMEM;
    for (int a = 0; a < g->n_axes; a++)
        for (int i = 1; i < g->n_rows; i++)
            if (strcmp(report_axis(&g->rows[i], g->axes[a]), report_axis(&g->rows[0], g->axes[a])) != 0) {
                g->axis_varies[a] = true;
                break;
            }
    /* columns: every metric, in order of first appearance */
    for (int i = 0; i < g->n_rows; i++) {
        size_t j;
        json_t *m;
        json_array_foreach(json_object_get(g->rows[i].cs, "metrics"), j, m) {
            const char *name = json_string_value(json_object_get(m, "name"));
            if (!name)
                continue;
            int c;
            for (c = 0; c < g->n_cols; c++)
                if (strcmp(g->cols[c].name, name) == 0)
                    break;
            if (c == g->n_cols) {
                struct rep_col *p = realloc(g->cols, (size_t)(g->n_cols + 1) * sizeof *p);
                if (!p)
                    return REPORT_ENOMEM;
                g->cols = p;
                struct rep_col *col = &g->cols[g->n_cols++];
                memset(col, 0, sizeof *col);
                report_str_fmt(col->name, sizeof col->name, "%s", name);
                const char *u = json_string_value(json_object_get(m, "unit"));
                const char *s = json_string_value(json_object_get(m, "source"));
                report_str_fmt(col->unit, sizeof col->unit, "%s", u ? u : "");
                report_str_fmt(col->source, sizeof col->source, "%s", s ? s : "");
                report_metric_label(name, col->label, sizeof col->label);
            }
        }
    }
    for (int c = 0; c < g->n_cols; c++) {
        struct rep_col *col = &g->cols[c];
        double maxabs = 0, minabs = INFINITY, first = NAN;
        for (int i = 0; i < g->n_rows; i++) {
            double v;
            if (!report_median(&g->rows[i], col->name, &v, NULL, NULL))
                continue;
            if (!col->any_ok)
                first = v;
            col->any_ok = true;
            col->varies = col->varies || v != first;
            if (fabs(v) > maxabs)
                maxabs = fabs(v);
            if (v != 0 && fabs(v) < minabs)
                minabs = fabs(v);
        }
        if (strcmp(col->unit, "fraction") == 0) {
            /* a share reads as a percentage */
            report_str_fmt(col->disp_unit, sizeof col->disp_unit, "%%");
            col->div = 0.01;
        } else {
            report_scale(col->unit, maxabs, col->disp_unit, sizeof col->disp_unit, &col->div);
            if (col->div == 1)
                report_str_fmt(col->disp_unit, sizeof col->disp_unit, "%s", report_unit_shown(col->unit));
        }
        bool scalable = strcmp(col->unit, "ns") == 0 || strcmp(col->unit, "bytes") == 0;
        if (scalable && isfinite(minabs) && maxabs / minabs > 1000)
            col->per_cell = 1;
        else if (!scalable && maxabs >= 1e6 && strcmp(col->unit, "count") != 0)
            col->per_cell = 2;
    }
    /* the headline first, the rest in order */
    g->headline = pick_headline(g);
    if (g->headline > 0) {
        struct rep_col h = g->cols[g->headline];
        memmove(&g->cols[1], &g->cols[0], (size_t)g->headline * sizeof h);
        g->cols[0] = h;
        g->headline = 0;
    }
    /* figures that are the same in every row (file size, bytes per token)
     * are said once under the table instead of filling a column */
    for (int c = 0; c < g->n_cols; c++) {
        struct rep_col *col = &g->cols[c];
        col->constant = g->n_rows > 1 && col->any_ok && !col->varies && c != g->headline && !col->per_cell;
        for (int i = 0; i < g->n_rows && col->constant; i++) {
            const json_t *m = report_metric(g->rows[i].cs, col->name);
            col->constant = report_metric_ok(m) && json_number_value(json_object_get(m, "mad")) == 0;
        }
    }
    /* a percentile the repetitions cannot resolve (p99 of 16 tokens is the
     * largest of them) equals the maximum in every row: not a column */
    for (int c = 0; c < g->n_cols; c++) {
        struct rep_col *col = &g->cols[c];
        char max_name[METRIC_NAME_MAX + 8];
        if (!pct_max_name(col->name, max_name, sizeof max_name) || !col->any_ok || c == g->headline)
            continue;
        bool same = g->n_rows > 0, any_max = false;
        for (int i = 0; i < g->n_rows && same; i++) {
            double v, mx;
            bool hv = report_median(&g->rows[i], col->name, &v, NULL, NULL),
                 hm = report_median(&g->rows[i], max_name, &mx, NULL, NULL);
            any_max = any_max || hm;
            same = hv == hm && (!hv || v == mx);
        }
        if (same && any_max) {
            col->unresolved = true;
            col->constant = true;
            size_t used = strlen(g->unresolved);
            report_str_fmt(g->unresolved + used, sizeof g->unresolved - used, "%s%s", used ? ", " : "", col->label);
        }
    }
    struct rep_col *tmp = malloc(((size_t)g->n_cols + 1) * sizeof *tmp);
    if (!tmp)
        return REPORT_ENOMEM;
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < g->n_cols; c++)
            if (g->cols[c].constant == (pass == 1))
                tmp[k++] = g->cols[c];
    for (int c = 0; c < g->n_cols; c++) {
        g->cols[c] = tmp[c];
        g->n_shown += !tmp[c].constant;
    }
    free(tmp);
    g->base_row = g->n_rows > 0 ? 0 : -1;
    return REPORT_OK;
}

/* --baseline AXIS=VALUE,...: the first row matching every pair that applies
 * to the group. At least one group must match. */
static int apply_baseline(struct report *rp, const char *spec, char *err, size_t err_len)
{
    char buf[1024];
    report_str_fmt(buf, sizeof buf, "%s", spec);
    char *keys[16], *vals[16];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || n == 16)
            return report_fail(err, err_len, REPORT_EUSAGE, "--baseline: '%s' is not AXIS=VALUE (e.g. load=mmap,cache=warm)",
                        tok);
        *eq = '\0';
        keys[n] = tok;
        vals[n++] = eq + 1;
    }
    if (n == 0)
        return report_fail(err, err_len, REPORT_EUSAGE, "--baseline: empty (expected AXIS=VALUE,...)");
    bool any_applies = false, any_matched = false;
    for (int gi = 0; gi < rp->n_groups; gi++) {
        struct rep_group *g = &rp->groups[gi];
        bool applies = false;
        for (int k = 0; k < n; k++)
            applies = applies || report_axis_index(g, keys[k]) >= 0 ||
                      (g->label_kind[0] && (strcmp(keys[k], g->label_kind) == 0 || strcmp(keys[k], "run") == 0));
        if (!applies)
            continue;
        any_applies = true;
        int found = -1;
        for (int i = 0; i < g->n_rows && found < 0; i++) {
            bool all = true;
            for (int k = 0; k < n && all; k++) {
                if (report_axis_index(g, keys[k]) >= 0)
                    all = strcmp(report_axis(&g->rows[i], keys[k]), vals[k]) == 0;
                else if (g->label_kind[0] && (strcmp(keys[k], g->label_kind) == 0 || strcmp(keys[k], "run") == 0))
                    all = strcmp(rp->runs[g->rows[i].run].label, vals[k]) == 0;
            }
            if (all)
                found = i;
        }
        if (found >= 0) {
            g->base_row = found;
            any_matched = true;
        } else {
            report_warn(rp, "--baseline %s matches no row of %s; its ratios are against the first row", spec,
                        g->workload);
        }
    }
    if (!any_applies) {
        char axes[256] = "";
        for (int gi = 0; gi < rp->n_groups; gi++)
            for (int a = 0; a < rp->groups[gi].n_axes; a++)
                if (strlen(axes) + strlen(rp->groups[gi].axes[a]) + 3 < sizeof axes)
                    report_str_fmt(axes + strlen(axes), sizeof axes - strlen(axes), "%s%s", axes[0] ? ", " : "",
                             rp->groups[gi].axes[a]);
        return report_fail(err, err_len, REPORT_EUSAGE, "--baseline %s: no such axis in the results (axes: %s)", spec,
                    axes[0] ? axes : "none");
    }
    if (!any_matched)
        return report_fail(err, err_len, REPORT_EUSAGE, "--baseline %s matches no configuration", spec);
    return REPORT_OK;
}

int report_open(struct report **out, const char *const *paths, int n, const char *baseline, char *err,
                size_t err_len)
{
    *out = NULL;
    if (n <= 0)
        return report_fail(err, err_len, REPORT_EUSAGE, "report: no results files");
    struct report *rp = calloc(1, sizeof *rp);
    if (!rp || !(rp->runs = calloc((size_t)n, sizeof *rp->runs)) ||
        !(rp->groups = calloc((size_t)n, sizeof *rp->groups))) {
        report_free(rp);
        return report_fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
    }
    int rc;
    for (int i = 0; i < n; i++) {
        rp->n_runs = i + 1;
        if ((rc = load_run(&rp->runs[i], paths[i], err, err_len)) != 0)
            goto fail;
    }
    for (int i = 0; i < n; i++) {
        int gi;
        for (gi = 0; gi < rp->n_groups; gi++)
            if (strcmp(rp->groups[gi].workload, rp->runs[i].workload) == 0)
                break;
        struct rep_group *g = &rp->groups[gi];
        if (gi == rp->n_groups) {
            rp->n_groups++;
            report_str_fmt(g->workload, sizeof g->workload, "%s", rp->runs[i].workload);
            const char *d =
                json_string_value(json_object_get(json_object_get(rp->runs[i].header, "workload"), "description"));
            report_str_fmt(g->description, sizeof g->description, "%s", d ? d : "");
            if (!(g->runs = calloc((size_t)n, sizeof *g->runs))) {
                rc = report_fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
                goto fail;
            }
        }
        g->runs[g->n_runs++] = i;
    }
    for (int gi = 0; gi < rp->n_groups; gi++) {
        choose_labels(rp, &rp->groups[gi]);
        if (build_group(rp, &rp->groups[gi]) != 0) {
            rc = report_fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
            goto fail;
        }
    }
    if (baseline && *baseline && (rc = apply_baseline(rp, baseline, err, err_len)) != 0)
        goto fail;
    *out = rp;
    return REPORT_OK;
fail:
    report_free(rp);
    return rc;
}

