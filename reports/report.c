/* report — tables and plots from results files (see report.h). */
#include "reports/report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/chart.h"
#include "reports/html.h"
#include "reports/outdir.h"
#include "reports/plot.h"
#include "reports/report_impl.h"

#define METRICS_PER_TABLE 6
#define MAX_NOTES 64
#define CELL_MAX 96

/* snprintf for labels and messages, where cutting a long text short is
 * the intended behaviour. */
static void str_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void str_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static int fail(char *err, size_t err_len, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t err_len, int code, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

void report_warn(struct report *rp, const char *fmt, ...)
{
    if (rp->n_warnings >= REPORT_MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->warnings[rp->n_warnings++], sizeof rp->warnings[0], fmt, ap);
    va_end(ap);
}

/* ---- small helpers shared with chart.c -------------------------------------------- */

const json_t *report_metric(const json_t *cs, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cs, "metrics"), i, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n && strcmp(n, name) == 0)
            return m;
    }
    return NULL;
}

const char *report_axis(const struct rep_row *r, const char *name)
{
    const char *v = json_string_value(json_object_get(r->axes, name));
    return v ? v : "";
}

static bool metric_ok(const json_t *m)
{
    const char *st = json_string_value(json_object_get(m, "status"));
    return m && st && strcmp(st, "ok") == 0 && json_is_number(json_object_get(m, "median"));
}

bool report_median(const struct rep_row *r, const char *name, double *med, double *lo, double *hi)
{
    const json_t *m = report_metric(r->cs, name);
    if (!metric_ok(m))
        return false;
    *med = json_number_value(json_object_get(m, "median"));
    json_t *l = json_object_get(m, "ci_lo"), *h = json_object_get(m, "ci_hi");
    if (lo)
        *lo = json_is_number(l) ? json_number_value(l) : NAN;
    if (hi)
        *hi = json_is_number(h) ? json_number_value(h) : NAN;
    return isfinite(*med);
}

void report_scale(const char *unit, double max_abs, char *disp, size_t disp_len, double *div)
{
    *div = 1;
    const char *d = unit;
    if (strcmp(unit, "ns") == 0) {
        if (max_abs >= 1e9)
            d = "s", *div = 1e9;
        else if (max_abs >= 1e6)
            d = "ms", *div = 1e6;
        else if (max_abs >= 1e3)
            d = "µs", *div = 1e3;
    } else if (strcmp(unit, "bytes") == 0) {
        if (max_abs >= 1073741824.0)
            d = "GiB", *div = 1073741824.0;
        else if (max_abs >= 1048576.0)
            d = "MiB", *div = 1048576.0;
        else if (max_abs >= 1024.0)
            d = "KiB", *div = 1024.0;
    } else if (strcmp(unit, "count") == 0) {
        if (max_abs >= 1e10)
            d = "billions", *div = 1e9;
        else if (max_abs >= 1e7)
            d = "millions", *div = 1e6;
    }
    str_fmt(disp, disp_len, "%s", d);
}

void report_metric_label(const char *name, char *buf, size_t len)
{
    static const char *const known[][2] = {
        { "tokens_per_s", "tokens/s" },     { "prefill_tokens_per_s", "prefill tokens/s" },
        { "map_read_ns", "map/read" },      { "open_parse_ns", "open+parse" },
        { "first_token_ns", "first token" }, { "ttft_ns", "time to first token" },
        { "gflops", "GFLOP/s" },            { "matmul_gflops", "matmul GFLOP/s" },
        { "bandwidth_gbps", "bandwidth" },  { "eff_bw_gbps", "effective bandwidth" },
        { "ready_ns", "ready (open to touched)" }, { "test_ns", "test time" },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i][0]) == 0) {
            str_fmt(buf, len, "%s", known[i][1]);
            return;
        }
    char tmp[METRIC_NAME_MAX + 8];
    str_fmt(tmp, sizeof tmp, "%s", name);
    size_t n = strlen(tmp);
    static const char *const suffix[] = { "_ns", "_bytes", "_gbps", "_gflops" };
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        size_t sl = strlen(suffix[i]);
        if (n > sl && strcmp(tmp + n - sl, suffix[i]) == 0) {
            tmp[n - sl] = '\0';
            break;
        }
    }
    n = strlen(tmp);
    if (n > 6 && strcmp(tmp + n - 6, "_per_s") == 0)
        strcpy(tmp + n - 6, "/s");
    for (char *p = tmp; *p; p++)
        if (*p == '_')
            *p = ' ';
    /* "ns per 1024 rows" is a time per 1024 rows, whatever unit shows it */
    char out[METRIC_NAME_MAX + 16] = "";
    for (char *save = NULL, *w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save))
        str_fmt(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? " " : "", strcmp(w, "ns") == 0 ? "time" : w);
    str_fmt(buf, len, "%s", out);
}

static int axis_index(const struct rep_group *g, const char *name)
{
    for (int a = 0; a < g->n_axes; a++)
        if (strcmp(g->axes[a], name) == 0)
            return a;
    return -1;
}

bool report_axis_numeric(const struct rep_group *g, const char *name)
{
    if (axis_index(g, name) < 0 || g->n_rows == 0)
        return false;
    for (int i = 0; i < g->n_rows; i++) {
        const char *v = report_axis(&g->rows[i], name);
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return false;
    }
    return true;
}

static bool in_skip(const char *const *skip, const char *name)
{
    for (int i = 0; skip && skip[i]; i++)
        if (strcmp(skip[i], name) == 0)
            return true;
    return false;
}

void report_row_label(const struct report *rp, const struct rep_group *g, const struct rep_row *r,
                      const char *const *skip, bool names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (g->n_runs > 1) {
        int w = snprintf(buf, len, "%s", rp->runs[r->run].label);
        used = w > 0 && (size_t)w < len ? (size_t)w : len - 1;
    }
    for (int a = 0; a < g->n_axes && used + 1 < len; a++) {
        if (!g->axis_varies[a] || in_skip(skip, g->axes[a]))
            continue;
        const char *v = report_axis(r, g->axes[a]);
        int w = names ? snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", g->axes[a], *v ? v : "-")
                      : snprintf(buf + used, len - used, "%s%s", used ? " " : "", *v ? v : "-");
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

static const char *cpu_name(const json_t *h)
{
    const json_t *cpu = json_object_get(json_object_get(h, "environment"), "cpu");
    const char *s = json_string_value(json_object_get(cpu, "brand"));
    if (!s || !*s || strcmp(s, "unreadable") == 0)
        s = json_string_value(json_object_get(cpu, "model_name"));
    if (!s || !*s || strcmp(s, "unreadable") == 0)
        s = json_string_value(json_object_get(json_object_get(h, "probe"), "cpu_model"));
    return s && *s ? s : NULL;
}

static void model_name(const json_t *h, char *buf, size_t len)
{
    const json_t *m = json_object_get(h, "model");
    const char *path = json_string_value(json_object_get(m, "path"));
    const char *type = json_string_value(json_object_get(m, "type"));
    if (path && *path)
        str_fmt(buf, len, "%s", base_name(path));
    else if (type && *type)
        str_fmt(buf, len, "%s", type);
    else
        buf[0] = '\0';
}

void report_subject(const struct report *rp, const struct rep_group *g, char *buf, size_t len)
{
    const json_t *h = rp->runs[g->runs[0]].header;
    char model[256];
    model_name(h, model, sizeof model);
    const char *cpu = cpu_name(h);
    bool many_cpus = false, many_models = false;
    for (int k = 1; k < g->n_runs; k++) {
        const json_t *hk = rp->runs[g->runs[k]].header;
        const char *c = cpu_name(hk);
        char mk[256];
        model_name(hk, mk, sizeof mk);
        many_cpus = many_cpus || (c && cpu && strcmp(c, cpu) != 0) || (!c != !cpu);
        many_models = many_models || strcmp(mk, model) != 0;
    }
    const char *cpu_text = many_cpus ? "several machines" : cpu ? cpu : "an unrecorded CPU";
    if (many_models)
        str_fmt(buf, len, "several models on %s", cpu_text);
    else if (model[0])
        str_fmt(buf, len, "%s on %s", model, cpu_text);
    else
        str_fmt(buf, len, "%s", cpu_text);
}

static bool peak_from(const json_t *probe, double *gbps, char *what, size_t len, const char *whence)
{
    const json_t *bw = json_object_get(probe, "bandwidth");
    static const char *const keys[] = { "peak_triad_gbps", "peak_copy_gbps" };
    for (size_t k = 0; k < 2; k++) {
        const json_t *m = json_object_get(bw, keys[k]);
        const char *st = json_string_value(json_object_get(m, "status"));
        json_t *v = json_object_get(m, "value");
        if (st && strcmp(st, "ok") == 0 && json_is_number(v) && json_number_value(v) > 0) {
            *gbps = json_number_value(v);
            str_fmt(what, len, "STREAM %s peak (%s)", k == 0 ? "triad" : "copy", whence);
            return true;
        }
    }
    return false;
}

bool report_probe_peak(const struct report *rp, const struct rep_run *run, double *gbps, char *what, size_t len)
{
    return peak_from(json_object_get(run->header, "probe"), gbps, what, len, "the results' probe") ||
           (rp->probe_file && peak_from(rp->probe_file, gbps, what, len, "--probe"));
}

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
    }
    free(r->groups);
    json_decref(r->probe_file);
    free(r);
}

/* The results reader quotes file text in its messages: keep them one line. */
static int input_fail(char *err, size_t err_len, const char *msg)
{
    str_fmt(err, err_len, "%s", msg);
    for (char *p = err; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return REPORT_EINPUT;
}

static int load_run(struct rep_run *run, const char *path, char *err, size_t err_len)
{
    str_fmt(run->path, sizeof run->path, "%s", path);
    run->base = base_name(run->path);
    char e[512];
    if (results_reader_open(&run->rd, path, e, sizeof e) != 0)
        return input_fail(err, err_len, e);
    run->header = results_reader_header(run->rd);
    if (results_stats(run->rd, NULL, &run->stats, e, sizeof e) != 0)
        return input_fail(err, err_len, e);
    run->workload = json_string_value(json_object_get(json_object_get(run->header, "workload"), "name"));
    if (!run->workload || !*run->workload)
        return fail(err, err_len, REPORT_EINPUT, "%s: the header's workload has no name", path);
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
        model_name(run->header, buf, len);
        return;
    } else if (strcmp(kind, "file") == 0) {
        s = run->base;
    } else {
        s = run->path;
    }
    str_fmt(buf, len, "%s", s ? s : "");
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
            str_fmt(g->label_kind, sizeof g->label_kind, "%s", kinds[k]);
            for (int i = 0; i < g->n_runs; i++)
                run_field(&rp->runs[g->runs[i]], kinds[k], rp->runs[g->runs[i]].label,
                          sizeof rp->runs[0].label);
            return;
        }
    }
    str_fmt(g->label_kind, sizeof g->label_kind, "run");
    for (int i = 0; i < g->n_runs; i++)
        str_fmt(rp->runs[g->runs[i]].label, sizeof rp->runs[0].label, "run %d", i + 1);
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

static int build_group(struct report *rp, struct rep_group *g)
{
    /* axes: the union, in order */
    for (int k = 0; k < g->n_runs; k++) {
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(rp->runs[g->runs[k]].header, "axes"), i, a) {
            const char *name = json_string_value(json_object_get(a, "name"));
            if (!name || axis_index(g, name) >= 0)
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
            g->rows[g->n_rows++] = (struct rep_row){ g->runs[k], c, json_object_get(c, "axes") };
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
                str_fmt(col->name, sizeof col->name, "%s", name);
                const char *u = json_string_value(json_object_get(m, "unit"));
                const char *s = json_string_value(json_object_get(m, "source"));
                str_fmt(col->unit, sizeof col->unit, "%s", u ? u : "");
                str_fmt(col->source, sizeof col->source, "%s", s ? s : "");
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
        report_scale(col->unit, maxabs, col->disp_unit, sizeof col->disp_unit, &col->div);
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
            col->constant = metric_ok(m) && json_number_value(json_object_get(m, "mad")) == 0;
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
    str_fmt(buf, sizeof buf, "%s", spec);
    char *keys[16], *vals[16];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || n == 16)
            return fail(err, err_len, REPORT_EUSAGE, "--baseline: '%s' is not AXIS=VALUE (e.g. load=mmap,cache=warm)",
                        tok);
        *eq = '\0';
        keys[n] = tok;
        vals[n++] = eq + 1;
    }
    if (n == 0)
        return fail(err, err_len, REPORT_EUSAGE, "--baseline: empty (expected AXIS=VALUE,...)");
    bool any_applies = false, any_matched = false;
    for (int gi = 0; gi < rp->n_groups; gi++) {
        struct rep_group *g = &rp->groups[gi];
        bool applies = false;
        for (int k = 0; k < n; k++)
            applies = applies || axis_index(g, keys[k]) >= 0 ||
                      (g->label_kind[0] && (strcmp(keys[k], g->label_kind) == 0 || strcmp(keys[k], "run") == 0));
        if (!applies)
            continue;
        any_applies = true;
        int found = -1;
        for (int i = 0; i < g->n_rows && found < 0; i++) {
            bool all = true;
            for (int k = 0; k < n && all; k++) {
                if (axis_index(g, keys[k]) >= 0)
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
                    str_fmt(axes + strlen(axes), sizeof axes - strlen(axes), "%s%s", axes[0] ? ", " : "",
                             rp->groups[gi].axes[a]);
        return fail(err, err_len, REPORT_EUSAGE, "--baseline %s: no such axis in the results (axes: %s)", spec,
                    axes[0] ? axes : "none");
    }
    if (!any_matched)
        return fail(err, err_len, REPORT_EUSAGE, "--baseline %s matches no configuration", spec);
    return REPORT_OK;
}

int report_open(struct report **out, const char *const *paths, int n, const char *baseline, char *err,
                size_t err_len)
{
    *out = NULL;
    if (n <= 0)
        return fail(err, err_len, REPORT_EUSAGE, "report: no results files");
    struct report *rp = calloc(1, sizeof *rp);
    if (!rp || !(rp->runs = calloc((size_t)n, sizeof *rp->runs)) ||
        !(rp->groups = calloc((size_t)n, sizeof *rp->groups))) {
        report_free(rp);
        return fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
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
            str_fmt(g->workload, sizeof g->workload, "%s", rp->runs[i].workload);
            const char *d =
                json_string_value(json_object_get(json_object_get(rp->runs[i].header, "workload"), "description"));
            str_fmt(g->description, sizeof g->description, "%s", d ? d : "");
            if (!(g->runs = calloc((size_t)n, sizeof *g->runs))) {
                rc = fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
                goto fail;
            }
        }
        g->runs[g->n_runs++] = i;
    }
    for (int gi = 0; gi < rp->n_groups; gi++) {
        choose_labels(rp, &rp->groups[gi]);
        if (build_group(rp, &rp->groups[gi]) != 0) {
            rc = fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
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

/* ---- cells and tables ------------------------------------------------------------------ */

struct notes {
    int n;
    char text[MAX_NOTES][320];
    int noisy;                   /* cells marked ~ */
    int n_warn;
    char warn[8][200];           /* distinct noisy warnings */
    int warn_count[8];
};

static int note_add(struct notes *nt, const char *text)
{
    for (int i = 0; i < nt->n; i++)
        if (strcmp(nt->text[i], text) == 0)
            return i + 1;
    if (nt->n == MAX_NOTES)
        return 0;
    str_fmt(nt->text[nt->n], sizeof nt->text[0], "%s", text);
    return ++nt->n;
}

static void note_noisy(struct notes *nt, const char *warning)
{
    nt->noisy++;
    const char *w = warning && *warning ? warning : "spread too wide";
    for (int i = 0; i < nt->n_warn; i++)
        if (strcmp(nt->warn[i], w) == 0) {
            nt->warn_count[i]++;
            return;
        }
    if (nt->n_warn < 8) {
        str_fmt(nt->warn[nt->n_warn], sizeof nt->warn[0], "%s", w);
        nt->warn_count[nt->n_warn++] = 1;
    }
}

/* Decimals that show three significant digits of v (none above 100). */
static int decimals(double v)
{
    double a = fabs(v);
    if (a == 0 || a >= 100)
        return 0;
    if (a >= 10)
        return 1;
    if (a >= 1)
        return 2;
    int d = 2 - (int)floor(log10(a));
    return d > 9 ? 9 : d;
}

static void cell_text(const struct report *rp, const struct rep_group *g, const struct rep_row *row,
                      const struct rep_col *col, struct notes *nt, char *buf, size_t len)
{
    const json_t *m = report_metric(row->cs, col->name);
    json_int_t n_ok = json_integer_value(json_object_get(row->cs, "n_ok"));
    if (!m) {
        str_fmt(buf, len, "%s", n_ok == 0 ? "failed" : "–");
        return;
    }
    const char *st = json_string_value(json_object_get(m, "status"));
    if (metric_ok(m)) {
        double med = json_number_value(json_object_get(m, "median")) / col->div;
        double mad = json_number_value(json_object_get(m, "mad")) / col->div;
        bool noisy = json_is_true(json_object_get(m, "noisy"));
        if (noisy)
            note_noisy(nt, json_string_value(json_object_get(m, "warning")));
        if (strcmp(col->unit, "bool") == 0) {
            str_fmt(buf, len, "%s%s", noisy ? "~" : "", med == 1 ? "yes" : med == 0 ? "no" : "mixed");
            return;
        }
        char unit[20] = "";
        if (col->per_cell) {
            /* this cell's own unit: the column spans too many magnitudes */
            double raw = med * col->div, div = 1;
            if (col->per_cell == 1) {
                char u[16];
                report_scale(col->unit, fabs(raw), u, sizeof u, &div);
                str_fmt(unit, sizeof unit, " %s", u);
            } else {
                static const struct { double f; const char *p; } si[] = { { 1e12, "T" }, { 1e9, "G" },
                                                                          { 1e6, "M" }, { 1e3, "k" } };
                for (size_t k = 0; k < sizeof si / sizeof si[0]; k++)
                    if (fabs(raw) >= si[k].f) {
                        div = si[k].f;
                        str_fmt(unit, sizeof unit, "%s", si[k].p);
                        break;
                    }
            }
            mad = mad * col->div / div;
            med = raw / div;
        }
        int d = decimals(med != 0 ? med : mad);
        if (!isfinite(mad) || mad == 0) {
            str_fmt(buf, len, "%s%.*f%s ± 0", noisy ? "~" : "", d, med, unit);
            return;
        }
        /* the spread with one significant digit, at most two decimals more
         * than the median shows */
        int dm = mad >= 1 ? 0 : (int)-floor(log10(fabs(mad)));
        dm = dm < d ? d : dm > d + 2 ? d + 2 : dm;
        str_fmt(buf, len, "%s%.*f%s ± %.*f%s", noisy ? "~" : "", d, med, unit, dm, mad, unit);
        return;
    }
    bool notc = st && strcmp(st, "not counted") == 0;
    const char *reason = json_string_value(json_object_get(m, "reason"));
    char text[320];
    str_fmt(text, sizeof text, "%s: %s: %s", col->name, notc ? "not counted" : "not supported",
             reason && *reason ? reason : "no reason recorded");
    int k = note_add(nt, text);
    str_fmt(buf, len, "%s [%d]", notc ? "n/c" : "n/s", k);
    (void)rp;
    (void)g;
}

static void reps_text(const struct report *rp, const struct rep_group *g, const struct rep_row *row,
                      struct notes *nt, char *buf, size_t len)
{
    json_int_t n_ok = json_integer_value(json_object_get(row->cs, "n_ok"));
    json_int_t n_reps = json_integer_value(json_object_get(row->cs, "n_reps"));
    if (n_ok == n_reps) {
        str_fmt(buf, len, "%" JSON_INTEGER_FORMAT, n_reps);
        return;
    }
    char label[256], text[320];
    report_row_label(rp, g, row, NULL, true, label, sizeof label);
    const char *e = json_string_value(json_array_get(json_object_get(row->cs, "errors"), 0));
    str_fmt(text, sizeof text, "%s: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " repetitions failed: %s",
             label[0] ? label : "this configuration", n_reps - n_ok, n_reps, e ? e : "no message");
    str_fmt(buf, len, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " [%d]", n_ok, n_reps, note_add(nt, text));
}

static void ratio_text(const struct rep_group *g, const struct rep_row *row, char *buf, size_t len)
{
    double v, b;
    if (g->headline < 0 || g->base_row < 0 || !report_median(row, g->cols[g->headline].name, &v, NULL, NULL) ||
        !report_median(&g->rows[g->base_row], g->cols[g->headline].name, &b, NULL, NULL) || b == 0) {
        str_fmt(buf, len, "–");
        return;
    }
    double q = v / b;
    if (fabs(q) >= 1000)
        str_fmt(buf, len, "%.3g×", q);
    else if (fabs(q) >= 10)
        str_fmt(buf, len, "%.1f×", q);
    else if (fabs(q) >= 0.1)
        str_fmt(buf, len, "%.2f×", q);
    else
        str_fmt(buf, len, "%.2g×", q);
}

/* One table: a header row and rows of cells; right[i] aligns column i. */
struct table {
    int n_cols, n_rows;
    char (*head)[160];
    bool *right;
    char (*cell)[CELL_MAX];      /* [n_rows][n_cols] */
    int base;                    /* row index of the baseline, -1 */
};

static void table_free(struct table *t)
{
    free(t->head);
    free(t->right);
    free(t->cell);
    memset(t, 0, sizeof *t);
}

static int visible_axes(const struct rep_group *g, int *idx)
{
    int n = 0;
    for (int a = 0; a < g->n_axes; a++)
        if (g->axis_varies[a])
            idx[n++] = a;
    if (n == 0) /* a single configuration: show what it was */
        for (int a = 0; a < g->n_axes; a++)
            idx[n++] = a;
    return n;
}

/* Table `chunk` of group g: the label and varying axes, reps, then its
 * metric columns (the first chunk has the headline and the ratio). */
static int build_table(const struct report *rp, const struct rep_group *g, int chunk, struct notes *nt,
                       struct table *t)
{
    int axes_idx[64];
    int na = visible_axes(g, axes_idx);
    if (na > 64)
        na = 64;
    int c0 = chunk == 0 ? 0 : 1 + (chunk - 1) * METRICS_PER_TABLE + (METRICS_PER_TABLE - 1);
    int c1 = chunk == 0 ? (g->n_shown < METRICS_PER_TABLE ? g->n_shown : METRICS_PER_TABLE) : c0 + METRICS_PER_TABLE;
    if (c1 > g->n_shown)
        c1 = g->n_shown;
    bool ratio = chunk == 0 && g->headline >= 0 && g->n_rows > 1;
    bool label = g->n_runs > 1;
    t->n_cols = (label ? 1 : 0) + na + 1 + (c1 - c0) + (ratio ? 1 : 0);
    t->n_rows = g->n_rows;
    t->head = calloc((size_t)t->n_cols, sizeof *t->head);
    t->right = calloc((size_t)t->n_cols, sizeof *t->right);
    t->cell = calloc((size_t)t->n_cols * (size_t)(t->n_rows + 1), sizeof *t->cell);
    if (!t->head || !t->right || !t->cell)
        return REPORT_ENOMEM;
    t->base = ratio ? g->base_row : -1;
    int k = 0;
    if (label)
        str_fmt(t->head[k++], sizeof t->head[0], "%s", g->label_kind);
    for (int a = 0; a < na; a++)
        str_fmt(t->head[k++], sizeof t->head[0], "%s", g->axes[axes_idx[a]]);
    t->right[k] = true;
    str_fmt(t->head[k++], sizeof t->head[0], "reps");
    int ratio_at = -1;
    for (int c = c0; c < c1; c++) {
        const struct rep_col *col = &g->cols[c];
        t->right[k] = true;
        if (col->per_cell == 1)
            str_fmt(t->head[k++], sizeof t->head[0], "%s (%s)", col->label, col->source);
        else if (col->per_cell == 2 && strcmp(col->unit, col->label) != 0)
            str_fmt(t->head[k++], sizeof t->head[0], "%s (%s, %s)", col->label, col->unit, col->source);
        else if (col->unit[0] && strcmp(col->unit, col->label) != 0)
            str_fmt(t->head[k++], sizeof t->head[0], "%s (%s, %s)", col->label, col->disp_unit, col->source);
        else
            str_fmt(t->head[k++], sizeof t->head[0], "%s (%s)", col->label, col->source);
        if (ratio && c == g->headline) {
            ratio_at = k;
            t->right[k] = true;
            str_fmt(t->head[k++], sizeof t->head[0], "÷ base");
        }
    }
    for (int i = 0; i < g->n_rows; i++) {
        const struct rep_row *row = &g->rows[i];
        char(*cells)[CELL_MAX] = &t->cell[(size_t)i * (size_t)t->n_cols];
        k = 0;
        if (label)
            str_fmt(cells[k++], CELL_MAX, "%s", rp->runs[row->run].label);
        for (int a = 0; a < na; a++) {
            const char *v = report_axis(row, g->axes[axes_idx[a]]);
            str_fmt(cells[k++], CELL_MAX, "%s", *v ? v : "–");
        }
        reps_text(rp, g, row, nt, cells[k++], CELL_MAX);
        for (int c = c0; c < c1; c++) {
            cell_text(rp, g, row, &g->cols[c], nt, cells[k++], CELL_MAX);
            if (k == ratio_at)
                ratio_text(g, row, cells[k++], CELL_MAX);
        }
    }
    return REPORT_OK;
}

static int n_chunks(const struct rep_group *g)
{
    if (g->n_shown <= METRICS_PER_TABLE)
        return 1;
    return 1 + (g->n_shown - METRICS_PER_TABLE + METRICS_PER_TABLE - 1) / METRICS_PER_TABLE;
}

/* "file 137 MiB (sw), bytes per token 136 MiB (derived)": the constant columns. */
static void constants_text(const struct rep_group *g, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int c = g->n_shown; c < g->n_cols; c++) {
        const struct rep_col *col = &g->cols[c];
        double v;
        if (!report_median(&g->rows[0], col->name, &v, NULL, NULL))
            continue;
        char num[64];
        v /= col->div;
        if (strcmp(col->unit, "bool") == 0)
            str_fmt(num, sizeof num, "%s", v == 1 ? "yes" : v == 0 ? "no" : "mixed");
        else if (strcmp(col->disp_unit, col->label) == 0 || !col->disp_unit[0] ||
                 strcmp(col->disp_unit, "count") == 0 || strcmp(col->disp_unit, "level") == 0 ||
                 strcmp(col->disp_unit, "value") == 0)
            str_fmt(num, sizeof num, "%.*f", decimals(v), v);
        else
            str_fmt(num, sizeof num, "%.*f %s", decimals(v), v, col->disp_unit);
        size_t used = strlen(buf);
        str_fmt(buf + used, len - used, "%s%s %s (%s)", used ? ", " : "", col->label, num, col->source);
    }
}

static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void md_table(FILE *f, const struct table *t)
{
    fputs("|", f);
    for (int c = 0; c < t->n_cols; c++) {
        fputc(' ', f);
        md_cell(f, t->head[c]);
        fputs(" |", f);
    }
    fputs("\n|", f);
    for (int c = 0; c < t->n_cols; c++)
        fputs(t->right[c] ? "--:|" : ":--|", f);
    fputc('\n', f);
    for (int r = 0; r < t->n_rows; r++) {
        fputs("|", f);
        for (int c = 0; c < t->n_cols; c++) {
            fputc(' ', f);
            const char *s = t->cell[(size_t)r * (size_t)t->n_cols + (size_t)c];
            if (r == t->base && c == 0)
                fputs("**", f);
            md_cell(f, s);
            if (r == t->base && c == 0)
                fputs("**", f);
            fputs(" |", f);
        }
        fputc('\n', f);
    }
}

static void html_table(FILE *f, const struct table *t)
{
    fputs("<div class=\"tw\"><table>\n<tr>", f);
    for (int c = 0; c < t->n_cols; c++) {
        fputs("<th>", f);
        html_escape(f, t->head[c]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (int r = 0; r < t->n_rows; r++) {
        fputs(r == t->base ? "<tr class=\"base\">" : "<tr>", f);
        for (int c = 0; c < t->n_cols; c++) {
            fputs(t->right[c] ? "<td class=\"r\">" : "<td>", f);
            html_escape(f, t->cell[(size_t)r * (size_t)t->n_cols + (size_t)c]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
}

/* ---- the text around the tables ------------------------------------------------------------- */

static void fmt_bytes(double b, char *buf, size_t len)
{
    char unit[16];
    double div;
    report_scale("bytes", b, unit, sizeof unit, &div);
    str_fmt(buf, len, "%.*f %s", decimals(b / div), b / div, unit);
}

/* "model synth.gguf (llama, 134 M parameters, 137 MiB) · Intel Xeon, 2 CPUs · host vm · commit abc". */
static void run_meta(const struct rep_run *run, char *buf, size_t len)
{
    const json_t *h = run->header, *m = json_object_get(h, "model"), *env = json_object_get(h, "environment");
    size_t used = 0;
    buf[0] = '\0';
#define PUT(...)                                                                 \
    do {                                                                         \
        int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                  \
        used = w_ < 0 ? used : (size_t)w_ >= len - used ? len - 1 : used + (size_t)w_; \
    } while (0)
    char name[256];
    model_name(h, name, sizeof name);
    if (name[0]) {
        PUT("model %s", name);
        const char *arch = json_string_value(json_object_get(m, "architecture"));
        const char *type = json_string_value(json_object_get(m, "type"));
        json_t *np = json_object_get(m, "n_params"), *sz = json_object_get(m, "size_bytes");
        char extra[160] = "";
#define EXTRA(...) str_fmt(extra + strlen(extra), sizeof extra - strlen(extra), __VA_ARGS__)
        if (arch && *arch)
            EXTRA("%s", arch);
        else if (type && *type && strcmp(type, name) != 0)
            EXTRA("%s", type);
        if (json_is_number(np) && json_number_value(np) > 0)
            EXTRA("%s%.*f M parameters", extra[0] ? ", " : "", json_number_value(np) >= 1e8 ? 0 : 1,
                  json_number_value(np) / 1e6);
        if (json_is_number(sz) && json_number_value(sz) > 0) {
            char b[32];
            fmt_bytes(json_number_value(sz), b, sizeof b);
            EXTRA("%s%s", extra[0] ? ", " : "", b);
        }
#undef EXTRA
        if (extra[0])
            PUT(" (%s)", extra);
    }
    const char *cpu = cpu_name(h);
    json_t *online = json_object_get(json_object_get(env, "cpu"), "online");
    if (cpu) {
        PUT("%s%s", used ? " · " : "", cpu);
        if (json_is_integer(online))
            PUT(", %" JSON_INTEGER_FORMAT " CPUs", json_integer_value(online));
    }
    const char *host = json_string_value(json_object_get(env, "hostname"));
    if (host && *host && strcmp(host, "unreadable") != 0)
        PUT("%shost %s", used ? " · " : "", host);
    const char *engine = json_string_value(json_object_get(env, "engine"));
    const char *commit = json_string_value(json_object_get(json_object_get(env, "build"), "commit"));
    if (engine || commit)
        PUT("%s%s%s%s", used ? " · " : "", engine ? engine : "ggperf", commit ? " " : "", commit ? commit : "");
    const char *kern = json_string_value(json_object_get(env, "kernels"));
    if (kern)
        PUT(" (kernels %s)", kern);
    json_t *reps = json_object_get(json_object_get(h, "plan"), "repetitions");
    if (json_is_integer(reps) && json_integer_value(reps) > 0)
        PUT("%s%" JSON_INTEGER_FORMAT " repetitions", used ? " · " : "", json_integer_value(reps));
    if (!run->complete)
        PUT("%sincomplete (no end record: the sweep was cut short)", used ? " · " : "");
#undef PUT
}

static void fixed_axes(const struct rep_group *g, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (g->n_rows < 2)
        return;
    for (int a = 0; a < g->n_axes; a++) {
        if (g->axis_varies[a])
            continue;
        int w = snprintf(buf + used, len - used, "%s%s=%s", used ? ", " : "", g->axes[a],
                         report_axis(&g->rows[0], g->axes[a]));
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

static void base_text(const struct report *rp, const struct rep_group *g, char *buf, size_t len)
{
    if (g->base_row < 0) {
        buf[0] = '\0';
        return;
    }
    report_row_label(rp, g, &g->rows[g->base_row], NULL, true, buf, len);
    if (g->n_runs > 1) {
        /* the run label came first without a name */
        char tmp[512];
        str_fmt(tmp, sizeof tmp, "%s=%s", g->label_kind, buf);
        str_fmt(buf, len, "%s", tmp);
    }
}

/* Writes one group's tables and notes, as Markdown (html NULL) or HTML. */
static int write_group_tables(const struct report *rp, const struct rep_group *g, FILE *md, FILE *html)
{
    struct notes *nt = calloc(1, sizeof *nt);
    if (!nt)
        return REPORT_ENOMEM;
    int rc = REPORT_OK;
    FILE *f = md ? md : html;
    if (g->n_rows == 0) {
        if (md)
            fputs("No configuration has repetitions.\n\n", f);
        else
            fputs("<p>No configuration has repetitions.</p>\n", f);
        free(nt);
        return REPORT_OK;
    }
    int nc = n_chunks(g);
    for (int k = 0; k < nc; k++) {
        struct table t = { 0 };
        if ((rc = build_table(rp, g, k, nt, &t)) != 0) {
            table_free(&t);
            break;
        }
        if (md) {
            md_table(f, &t);
            fputc('\n', f);
        } else {
            html_table(f, &t);
        }
        table_free(&t);
    }
    char base[512];
    base_text(rp, g, base, sizeof base);
    const char *hl = g->headline >= 0 ? g->cols[g->headline].label : NULL;
    char same[2048];
    constants_text(g, same, sizeof same);
    if (md) {
        if (same[0])
            fprintf(f, "Same in every row: %s.\n\n", same);
        fputs("Cells: median ± MAD over the successful repetitions", f);
        if (hl && g->n_rows > 1)
            fprintf(f, "; ÷ base: %s as a ratio to the baseline row (**%s**)", hl, base);
        fputs(".\n", f);
        if (nt->noisy) {
            fprintf(f, "\n~ spread too wide to trust (%d cell%s):\n", nt->noisy, nt->noisy == 1 ? "" : "s");
            for (int i = 0; i < nt->n_warn; i++)
                fprintf(f, "- %s (%d cell%s)\n", nt->warn[i], nt->warn_count[i], nt->warn_count[i] == 1 ? "" : "s");
        }
        if (nt->n) {
            fputc('\n', f);
            for (int i = 0; i < nt->n; i++)
                fprintf(f, "[%d] %s  \n", i + 1, nt->text[i]);
        }
        if (g->n_empty)
            fprintf(f, "\n%d configurations without repetitions are not shown.\n", g->n_empty);
        fputc('\n', f);
    } else {
        fputs("<div class=\"notes\">", f);
        if (same[0]) {
            fputs("<p>Same in every row: ", f);
            html_escape(f, same);
            fputs(".</p>\n", f);
        }
        fputs("<p>Cells: median ± MAD over the successful repetitions", f);
        if (hl && g->n_rows > 1) {
            fputs("; ÷ base: ", f);
            html_escape(f, hl);
            fputs(" as a ratio to the baseline row (<b>", f);
            html_escape(f, base);
            fputs("</b>)", f);
        }
        fputs(".</p>\n", f);
        if (nt->noisy) {
            fprintf(f, "<p>~ spread too wide to trust (%d cell%s):</p><ul>\n", nt->noisy, nt->noisy == 1 ? "" : "s");
            for (int i = 0; i < nt->n_warn; i++) {
                fputs("<li>", f);
                html_escape(f, nt->warn[i]);
                fprintf(f, " (%d cell%s)</li>\n", nt->warn_count[i], nt->warn_count[i] == 1 ? "" : "s");
            }
            fputs("</ul>\n", f);
        }
        if (nt->n) {
            fputs("<ol>\n", f);
            for (int i = 0; i < nt->n; i++) {
                fputs("<li>", f);
                html_escape(f, nt->text[i]);
                fputs("</li>\n", f);
            }
            fputs("</ol>\n", f);
        }
        if (g->n_empty)
            fprintf(f, "<p>%d configurations without repetitions are not shown.</p>\n", g->n_empty);
        fputs("</div>\n", f);
    }
    free(nt);
    return rc;
}

static void group_heading_md(const struct report *rp, const struct rep_group *g, FILE *f)
{
    fprintf(f, "## %s", g->workload);
    if (g->description[0])
        fprintf(f, " — %s", g->description);
    fputs("\n\n", f);
    char meta[1024];
    for (int k = 0; k < g->n_runs; k++) {
        const struct rep_run *run = &rp->runs[g->runs[k]];
        run_meta(run, meta, sizeof meta);
        if (g->n_runs > 1)
            fprintf(f, "- **%s** (%s): %s\n", run->label, run->base, meta);
        else
            fprintf(f, "%s\n", meta[0] ? meta : run->base);
    }
    char fixed[512];
    fixed_axes(g, fixed, sizeof fixed);
    if (fixed[0])
        fprintf(f, "%sfixed: %s\n", g->n_runs > 1 ? "\n" : "\n", fixed);
    fputc('\n', f);
}

static void group_heading_html(const struct report *rp, const struct rep_group *g, FILE *f)
{
    fputs("<h2>", f);
    html_escape(f, g->workload);
    if (g->description[0]) {
        fputs(" — ", f);
        html_escape(f, g->description);
    }
    fputs("</h2>\n", f);
    char meta[1024];
    fputs("<ul class=\"meta\">\n", f);
    for (int k = 0; k < g->n_runs; k++) {
        const struct rep_run *run = &rp->runs[g->runs[k]];
        run_meta(run, meta, sizeof meta);
        fputs("<li>", f);
        if (g->n_runs > 1) {
            fputs("<b>", f);
            html_escape(f, run->label);
            fputs("</b> (", f);
            html_escape(f, run->base);
            fputs("): ", f);
        }
        html_escape(f, meta[0] ? meta : run->base);
        fputs("</li>\n", f);
    }
    char fixed[512];
    fixed_axes(g, fixed, sizeof fixed);
    if (fixed[0]) {
        fputs("<li>fixed: ", f);
        html_escape(f, fixed);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

int report_write_tables_md(const struct report *r, FILE *f)
{
    for (int gi = 0; gi < r->n_groups; gi++) {
        group_heading_md(r, &r->groups[gi], f);
        if (write_group_tables(r, &r->groups[gi], f, NULL) != 0)
            return REPORT_ENOMEM;
    }
    return ferror(f) ? REPORT_EOUTPUT : REPORT_OK;
}

/* ---- the whole report ------------------------------------------------------------------- */

struct made_plot {
    struct plot *p;
    int group;
    bool rendered;
    char msg[400];
};

static void inputs_md(const struct report *rp, FILE *f)
{
    fputs("| file | workload | configurations | samples | complete |\n|:--|:--|--:|--:|:--|\n", f);
    for (int i = 0; i < rp->n_runs; i++) {
        const struct rep_run *run = &rp->runs[i];
        fputs("| ", f);
        md_cell(f, run->base);
        fputs(" | ", f);
        md_cell(f, run->workload);
        fprintf(f, " | %d | %zu | %s |\n", results_header_n_configs(run->header), run->n_samples,
                run->complete ? "yes" : "no (cut short)");
    }
    fputc('\n', f);
}

static void inputs_html(const struct report *rp, FILE *f)
{
    fputs("<table>\n<tr><th>file</th><th>workload</th><th>configurations</th><th>samples</th><th>complete</th></tr>\n",
          f);
    for (int i = 0; i < rp->n_runs; i++) {
        const struct rep_run *run = &rp->runs[i];
        fputs("<tr><td>", f);
        html_escape(f, run->base);
        fputs("</td><td>", f);
        html_escape(f, run->workload);
        fprintf(f, "</td><td class=\"r\">%d</td><td class=\"r\">%zu</td><td>%s</td></tr>\n",
                results_header_n_configs(run->header), run->n_samples, run->complete ? "yes" : "no (cut short)");
    }
    fputs("</table>\n", f);
}

static void plots_md(const struct made_plot *mp, int n, int group, FILE *f)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (mp[i].group != group)
            continue;
        if (!any)
            fputs("### Plots\n\n", f);
        any = true;
        const struct plot *p = mp[i].p;
        if (mp[i].rendered)
            fprintf(f, "![%s](%s.png)\n\n", p->title, p->name);
        else
            fprintf(f, "**%s** — not drawn: %s\n\n", p->title, mp[i].msg);
        fprintf(f, "[SVG](%s.svg) · [gnuplot script](%s.gp) · [data](%s.dat)", p->name, p->name, p->name);
        if (p->note[0])
            fprintf(f, " — %s", p->note);
        fputs("\n\n", f);
    }
}

static int plots_html(const struct outdir *od, const struct made_plot *mp, int n, int group, FILE *f)
{
    for (int i = 0; i < n; i++) {
        if (mp[i].group != group)
            continue;
        const struct plot *p = mp[i].p;
        fputs("<figure>\n", f);
        if (mp[i].rendered) {
            char png[PLOT_NAME_MAX + 8];
            str_fmt(png, sizeof png, "%s.png", p->name);
            int fd = openat(outdir_fd(od), png, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            struct stat st;
            unsigned char *data = NULL;
            if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (64 << 20) &&
                (data = malloc((size_t)st.st_size))) {
                size_t got = 0;
                while (got < (size_t)st.st_size) {
                    ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
                    if (r <= 0)
                        break;
                    got += (size_t)r;
                }
                fputs("<img alt=\"", f);
                html_escape(f, p->title);
                fputs("\" src=\"", f);
                html_data_uri(f, "image/png", data, got);
                fputs("\">\n", f);
            } else {
                fputs("<p class=\"warn\">the PNG could not be read back</p>\n", f);
            }
            free(data);
            if (fd >= 0)
                close(fd);
        } else {
            fputs("<p class=\"warn\"><b>", f);
            html_escape(f, p->title);
            fputs("</b> — not drawn: ", f);
            html_escape(f, mp[i].msg);
            fputs("</p>\n", f);
        }
        fputs("<figcaption>", f);
        html_escape(f, p->title);
        fprintf(f, " — <a href=\"%s.svg\">SVG</a> · <a href=\"%s.gp\">gnuplot script</a> · <a href=\"%s.dat\">data</a>",
                p->name, p->name, p->name);
        if (p->note[0]) {
            fputs("<br>", f);
            html_escape(f, p->note);
        }
        fputs("</figcaption>\n</figure>\n", f);
    }
    return ferror(f) ? REPORT_EOUTPUT : REPORT_OK;
}

static int write_file(struct outdir *od, const char *name, const struct plot *p, int which, char *err, size_t len)
{
    FILE *f = outdir_create(od, name, err, len);
    if (!f)
        return REPORT_EOUTPUT;
    int rc = which == 0 ? plot_write_data(p, f) : plot_write_script(p, f);
    if (rc != 0) {
        outdir_discard(od, f, name);
        return fail(err, len, REPORT_EOUTPUT, "%s/%s: write failed", outdir_path(od), name);
    }
    return outdir_commit(od, f, name, err, len) == 0 ? REPORT_OK : REPORT_EOUTPUT;
}

/* True when path names a PNG with a non-empty IHDR. */
static bool png_ok(int dir_fd, const char *name)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char h[24];
    bool ok = read(fd, h, sizeof h) == (ssize_t)sizeof h && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0 &&
              memcmp(h + 12, "IHDR", 4) == 0 && (h[16] | h[17] | h[18] | h[19]) && (h[20] | h[21] | h[22] | h[23]);
    close(fd);
    return ok;
}

int report_write(const char *const *paths, int n, const struct report_opts *o, struct report_summary *sum,
                 char *err, size_t err_len)
{
    struct report_opts def = { 0 };
    if (!o)
        o = &def;
    const char *dir = o->out_dir && *o->out_dir ? o->out_dir : "report";
    if (sum)
        memset(sum, 0, sizeof *sum);
    struct report *rp = NULL;
    struct outdir *od = NULL;
    struct made_plot *mp = NULL;
    struct plot **plots = NULL;
    int n_plots = 0;
    const char **names = NULL, **stems = NULL;
    bool *ok = NULL;
    char *msgs = NULL;
    FILE *md = NULL, *html = NULL;
    int *plot_group = NULL;
    char(*fn)[PLOT_NAME_MAX + 8] = NULL;
    int rc = report_open(&rp, paths, n, o->baseline, err, err_len);
    if (rc != 0)
        return rc;
    if (o->probe_path) {
        json_error_t je;
        rp->probe_file = json_load_file(o->probe_path, 0, &je);
        if (!json_is_object(rp->probe_file)) {
            rc = fail(err, err_len, REPORT_EINPUT, "%s: not a probe JSON file (line %d: %s)", o->probe_path,
                      je.line, je.text);
            goto done;
        }
    }
    /* choose every plot first: the full list of file names is known before
     * anything is written */
    if (!o->no_plots) {
        for (int gi = 0; gi < rp->n_groups; gi++) {
            int before = n_plots;
            if ((rc = chart_group(rp, gi, &plots, &n_plots, err, err_len)) != 0)
                goto done;
            int *pg = realloc(plot_group, (size_t)(n_plots + 1) * sizeof *pg);
            if (!pg) {
                rc = fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
                goto done;
            }
            plot_group = pg;
            for (int i = before; i < n_plots; i++)
                plot_group[i] = gi;
        }
    }
    mp = calloc((size_t)n_plots + 1, sizeof *mp);
    names = calloc((size_t)n_plots * 4 + 2, sizeof *names);
    stems = calloc((size_t)n_plots + 1, sizeof *stems);
    ok = calloc((size_t)n_plots + 1, sizeof *ok);
    msgs = calloc((size_t)n_plots + 1, sizeof mp[0].msg);
    fn = calloc((size_t)n_plots * 4 + 1, sizeof *fn);
    if (!mp || !names || !stems || !ok || !msgs || !fn) {
        rc = fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
        goto done;
    }
    size_t nn = 0;
    names[nn++] = "report.md";
    names[nn++] = "report.html";
    static const char *const ext[] = { "dat", "gp", "png", "svg" };
    for (int i = 0; i < n_plots; i++) {
        mp[i].p = plots[i];
        mp[i].group = plot_group[i];
        stems[i] = plots[i]->name;
        for (int e = 0; e < 4; e++) {
            str_fmt(fn[i * 4 + e], sizeof fn[0], "%s.%s", plots[i]->name, ext[e]);
            names[nn++] = fn[i * 4 + e];
        }
    }
    if ((rc = outdir_open(&od, dir, o->force, err, err_len)) != 0 ||
        (rc = outdir_plan(od, names, nn, err, err_len)) != 0) {
        rc = REPORT_EOUTPUT;
        goto done;
    }
    for (int i = 0; i < n_plots; i++)
        if ((rc = write_file(od, fn[i * 4], plots[i], 0, err, err_len)) != 0 ||
            (rc = write_file(od, fn[i * 4 + 1], plots[i], 1, err, err_len)) != 0)
            goto done;
    if (n_plots) {
        char perr[256] = "";
        int good = plot_render(outdir_fd(od), stems, n_plots, o->gnuplot, ok, msgs, sizeof mp[0].msg, perr,
                               sizeof perr);
        if (good < 0)
            report_warn(rp, "%s", perr);
        for (int i = 0; i < n_plots; i++) {
            mp[i].rendered = good >= 0 && ok[i] && png_ok(outdir_fd(od), fn[i * 4 + 2]);
            if (mp[i].rendered)
                continue;
            str_fmt(mp[i].msg, sizeof mp[i].msg, "%s",
                     good < 0 ? perr : msgs[(size_t)i * sizeof mp[0].msg] ? &msgs[(size_t)i * sizeof mp[0].msg]
                                                                          : "gnuplot wrote no PNG");
            if (good >= 0)
                report_warn(rp, "plot %s: %s", plots[i]->name, mp[i].msg);
        }
    }

    /* report.md */
    if (!(md = outdir_create(od, "report.md", err, err_len))) {
        rc = REPORT_EOUTPUT;
        goto done;
    }
    fputs("# ggperf report\n\n", md);
    inputs_md(rp, md);
    for (int gi = 0; gi < rp->n_groups; gi++) {
        group_heading_md(rp, &rp->groups[gi], md);
        if ((rc = write_group_tables(rp, &rp->groups[gi], md, NULL)) != 0)
            goto done;
        plots_md(mp, n_plots, gi, md);
    }
    rc = outdir_commit(od, md, "report.md", err, err_len);
    md = NULL;
    if (rc != 0) {
        rc = REPORT_EOUTPUT;
        goto done;
    }

    /* report.html */
    if (!(html = outdir_create(od, "report.html", err, err_len))) {
        rc = REPORT_EOUTPUT;
        goto done;
    }
    html_begin(html, "ggperf report");
    fputs("<h1>ggperf report</h1>\n", html);
    inputs_html(rp, html);
    for (int gi = 0; gi < rp->n_groups; gi++) {
        group_heading_html(rp, &rp->groups[gi], html);
        if ((rc = write_group_tables(rp, &rp->groups[gi], NULL, html)) != 0 ||
            (rc = plots_html(od, mp, n_plots, gi, html)) != 0)
            goto done;
    }
    html_end(html);
    rc = outdir_commit(od, html, "report.html", err, err_len);
    html = NULL;
    if (rc != 0) {
        rc = REPORT_EOUTPUT;
        goto done;
    }
    if (sum) {
        str_fmt(sum->md_path, sizeof sum->md_path, "%s/report.md", dir);
        str_fmt(sum->html_path, sizeof sum->html_path, "%s/report.html", dir);
        sum->n_groups = rp->n_groups;
        for (int gi = 0; gi < rp->n_groups; gi++)
            sum->n_rows += rp->groups[gi].n_rows;
        sum->n_plots = n_plots;
        for (int i = 0; i < n_plots; i++)
            sum->n_rendered += mp[i].rendered;
        sum->n_warnings = rp->n_warnings;
        for (int i = 0; i < rp->n_warnings; i++)
            str_fmt(sum->warnings[i], sizeof sum->warnings[i], "%s", rp->warnings[i]);
    }
    rc = REPORT_OK;
done:
    if (md)
        outdir_discard(od, md, "report.md");
    if (html)
        outdir_discard(od, html, "report.html");
    if (od) {
        char cerr[256];
        if (outdir_close(od, cerr, sizeof cerr) != 0 && rc == 0)
            rc = fail(err, err_len, REPORT_EOUTPUT, "%s", cerr);
    }
    for (int i = 0; i < n_plots; i++)
        plot_free(plots[i]);
    free(plots);
    free(mp);
    free(plot_group);
    free(fn);
    free(names);
    free(stems);
    free(ok);
    free(msgs);
    report_free(rp);
    return rc;
}
