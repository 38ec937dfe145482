/* chart — plots chosen from the axes and metrics present (see chart.h). */
#include "reports/chart.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 12        /* series a line plot draws before saying "more not drawn" */
#define MAX_VS_METRICS 3
#define MAX_PCT 8
#define MAX_BARS 48         /* categories a bar chart can show legibly; more: the tables only */

struct ctx {
    const struct report *rp;
    const struct rep_group *g;
    int gi;
    struct plot ***plots;
    int *n;
    struct chart_palette *pal;
    int made;               /* plots of this group so far */
    bool *used;             /* [n_cols]: already plotted */
    char subject[320];
};

static int axis_idx(const struct rep_group *g, const char *name)
{
    for (int a = 0; a < g->n_axes; a++)
        if (strcmp(g->axes[a], name) == 0)
            return a;
    return -1;
}

static bool axis_varies(const struct rep_group *g, const char *name)
{
    int a = axis_idx(g, name);
    return a >= 0 && g->axis_varies[a];
}

static int col_idx(const struct rep_group *g, const char *name)
{
    for (int c = 0; c < g->n_cols; c++)
        if (strcmp(g->cols[c].name, name) == 0)
            return c;
    return -1;
}

static bool col_usable(const struct rep_group *g, int c)
{
    return c >= 0 && g->cols[c].any_ok;
}

/* Stem of a plot file: workload-what, [a-z0-9-] only. */
static void make_name(char *buf, size_t len, const char *workload, const char *what)
{
    char tmp[PLOT_NAME_MAX * 2];
    report_str_fmt(tmp, sizeof tmp, "%s-%s", workload, what);
    size_t o = 0;
    bool dash = false;
    for (const char *p = tmp; *p && o + 1 < len && o < 56; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            buf[o++] = c;
            dash = false;
        } else if (!dash && o > 0) {
            buf[o++] = '-';
            dash = true;
        }
    }
    while (o > 0 && buf[o - 1] == '-')
        o--;
    if (o == 0)
        buf[o++] = 'p';
    buf[o] = '\0';
}

static int push_plot(struct ctx *cx, struct plot *p)
{
    report_str_fmt(p->subtitle, sizeof p->subtitle, "%s", cx->subject);
    /* a configuration keeps its colour over every plot of the report */
    for (int s = 0; s < p->n_series; s++)
        if (!p->series[s].dashed && p->series[s].title[0])
            p->series[s].color = chart_palette_color(cx->pal, p->series[s].title);
    /* unique names over the whole report */
    char base[PLOT_NAME_MAX];
    report_str_fmt(base, sizeof base, "%s", p->name);
    for (int k = 2;; k++) {
        bool clash = false;
        for (int i = 0; i < *cx->n && !clash; i++)
            clash = strcmp((*cx->plots)[i]->name, p->name) == 0;
        if (!clash)
            break;
        report_str_fmt(p->name, sizeof p->name, "%.56s-%d", base, k);
    }
    struct plot **arr = realloc(*cx->plots, (size_t)(*cx->n + 1) * sizeof *arr);
    if (!arr) {
        plot_free(p);
        return REPORT_ENOMEM;
    }
    *cx->plots = arr;
    arr[(*cx->n)++] = p;
    cx->made++;
    return REPORT_OK;
}

/* Keep p when it has data; free it otherwise. */
static int finish(struct ctx *cx, struct plot *p)
{
    if (!plot_has_data(p)) {
        plot_free(p);
        return REPORT_OK;
    }
    return push_plot(cx, p);
}

int chart_palette_color(struct chart_palette *pal, const char *title)
{
    if (!pal)
        return -1;
    for (int i = 0; i < pal->n; i++)
        if (strcmp(pal->titles[i], title) == 0)
            return i;
    if (pal->n == CHART_PALETTE_MAX)
        return -1;
    report_str_fmt(pal->titles[pal->n], sizeof pal->titles[0], "%s", title);
    return pal->n++;
}

/* "median; bars: 96.9% CI of the median (n = 8)", with the smallest
 * coverage over the rows: with n = 3 the interval is min..max and covers
 * 75%, and the label says so rather than "95% CI". */
static void ci_label(const struct rep_group *g, const char *name, char *buf, size_t len)
{
    double cov = INFINITY;
    json_int_t nmin = 0, nmax = 0;
    bool minmax = false;
    for (int i = 0; i < g->n_rows; i++) {
        const json_t *m = report_metric(g->rows[i].cs, name);
        json_t *c = json_object_get(m, "ci_coverage");
        json_int_t n = json_integer_value(json_object_get(m, "n"));
        if (!json_is_number(c) || n <= 0)
            continue;
        cov = fmin(cov, json_number_value(c));
        nmin = nmin == 0 || n < nmin ? n : nmin;
        nmax = n > nmax ? n : nmax;
        minmax = minmax || n < 6;
    }
    char n_text[48];
    if (nmin == nmax)
        report_str_fmt(n_text, sizeof n_text, "n = %lld", (long long)nmin);
    else
        report_str_fmt(n_text, sizeof n_text, "n = %lld..%lld", (long long)nmin, (long long)nmax);
    if (!isfinite(cov))
        report_str_fmt(buf, len, "median");
    else if (minmax)
        report_str_fmt(buf, len, "median; bars: min..max, %.0f%% coverage, %s", cov * 100, n_text);
    else
        report_str_fmt(buf, len, "median; bars: %.1f%% CI, %s", cov * 100, n_text);
}

static bool room(const struct ctx *cx)
{
    return cx->made < CHART_MAX_PER_GROUP;
}

static int series_for(struct plot *p, const char *title)
{
    for (int s = 0; s < p->n_series; s++)
        if (strcmp(p->series[s].title, title) == 0)
            return s;
    return plot_add_series(p, title);
}

/* Order each line series by x. */
static void sort_points(struct plot *p)
{
    for (int s = 0; s < p->n_series; s++) {
        struct plot_series *ps = &p->series[s];
        for (int i = 1; i < ps->n; i++)
            for (int j = i; j > 0 && ps->x[j - 1] > ps->x[j]; j--) {
                double t;
#define SWAP(a)                \
    t = ps->a[j];              \
    ps->a[j] = ps->a[j - 1];   \
    ps->a[j - 1] = t;
                SWAP(x) SWAP(y) SWAP(lo) SWAP(hi)
#undef SWAP
            }
    }
}

static double num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return *s && !*end ? v : NAN;
}

static void x_scale(struct plot *p)
{
    double lo = INFINITY, hi = 0;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i];
            if (!isfinite(x))
                continue;
            if (x <= 0) {
                p->logx = false;
                return;
            }
            lo = fmin(lo, x);
            hi = fmax(hi, x);
        }
    p->logx = isfinite(lo) && hi / lo >= 16;
}

/* Log y when the values span more than three decades (and are positive). */
static void y_scale(struct plot *p)
{
    double lo = INFINITY, hi = 0;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double y = p->series[s].y[i];
            if (!isfinite(y))
                continue;
            if (y <= 0)
                return;
            lo = fmin(lo, y);
            hi = fmax(hi, y);
        }
    p->logy = isfinite(lo) && hi / lo > 1000;
}

/* The varying axes' names joined for an x label of per-configuration bars. */
static void config_axes_label(const struct rep_group *g, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int a = 0; a < g->n_axes; a++) {
        if (!g->axis_varies[a])
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? " / " : "", g->axes[a]);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (!buf[0])
        report_str_fmt(buf, len, "configuration");
}

/* A bar's category: the varying axes' values (not the run label). */
static void cat_label(const struct rep_group *g, const struct rep_row *r, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int a = 0; a < g->n_axes; a++) {
        if (!g->axis_varies[a])
            continue;
        const char *v = report_axis(r, g->axes[a]);
        int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", *v ? v : "-");
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (!buf[0])
        report_str_fmt(buf, len, "all");
}

static void note_more(struct plot *p, int dropped)
{
    if (dropped > 0)
        report_str_fmt(p->note + strlen(p->note), sizeof p->note - strlen(p->note),
                 "%s%d more series not drawn (the tables have every configuration).", p->note[0] ? " " : "",
                 dropped);
}

/* ---- throughput vs threads, with the roofline ------------------------------------------- */

static int bytes_per_token_col(const struct rep_group *g)
{
    for (int c = 0; c < g->n_cols; c++) {
        size_t n = strlen(g->cols[c].name), sl = strlen("bytes_per_token");
        if (g->cols[c].any_ok && n >= sl && strcmp(g->cols[c].name + n - sl, "bytes_per_token") == 0)
            return c;
    }
    return -1;
}

/* Bytes one generated token reads on run's model: a *bytes_per_token
 * metric measured on the same model by any workload of the report (so the
 * threads and decode plots draw the same line), else the model file's size
 * (*approx). */
static bool report_bytes_per_token(const struct ctx *cx, int run, double *bpt, bool *approx)
{
    char model[256], other[256];
    report_model_name(cx->rp->runs[run].header, model, sizeof model);
    for (int gi = 0; gi < cx->rp->n_groups; gi++) {
        const struct rep_group *g = &cx->rp->groups[gi];
        int bc = bytes_per_token_col(g);
        for (int i = 0; bc >= 0 && i < g->n_rows; i++) {
            report_model_name(cx->rp->runs[g->rows[i].run].header, other, sizeof other);
            if (strcmp(model, other) == 0 && report_median(&g->rows[i], g->cols[bc].name, bpt, NULL, NULL) &&
                *bpt > 0)
                return true;
        }
    }
    json_t *sz = json_object_get(json_object_get(cx->rp->runs[run].header, "model"), "size_bytes");
    if (!json_is_number(sz) || json_number_value(sz) <= 0)
        return false;
    *bpt = json_number_value(sz);
    *approx = true;
    return true;
}

static void roofline(struct ctx *cx, struct plot *p, const char *test)
{
    const struct rep_group *g = cx->g;
    int bc = bytes_per_token_col(g);
    int pc = col_idx(g, "peak_triad_gbps");
    if (!col_usable(g, pc))
        pc = col_idx(g, "peak_copy_gbps");
    /* one roofline for every plot of a report: the probe's measured peak
     * (reports/report.h: --probe first), not per-configuration peaks */
    bool per_config = false, drew = false, approx = false, no_bytes = true;
    (void)pc;
    for (int k = 0; k < g->n_runs; k++) {
        int run = g->runs[k];
        const char *lab = g->n_runs > 1 ? cx->rp->runs[run].label : "";
        double peak, bpt = NAN;
        char what[96];
        if (!report_bytes_per_token(cx, run, &bpt, &approx))
            bpt = NAN;
        (void)bc;
        if (!isfinite(bpt))
            continue;
        no_bytes = false;
        if (!report_probe_peak(cx->rp, &cx->rp->runs[run], &peak, what, sizeof what))
            continue;
        char label[128], bytes[32], unit[16];
        double div;
        report_scale("bytes", bpt, unit, sizeof unit, &div);
        report_str_fmt(bytes, sizeof bytes, "%.0f %s", bpt / div, unit);
        report_str_fmt(label, sizeof label, "roofline%s%s: %.1f GB/s ÷ %s per token = %.1f tok/s", lab[0] ? " " : "", lab,
                peak, bytes, peak * 1e9 / bpt);
        plot_add_hline(p, peak * 1e9 / bpt, label);
        report_str_fmt(p->note + strlen(p->note), sizeof p->note - strlen(p->note), "%sRoofline%s%s from the %s.",
                p->note[0] ? " " : "", lab[0] ? " of " : "", lab, what);
        drew = true;
    }
    if (drew) {
        /* inputs of the roofline, not findings of their own */
        if (bc >= 0)
            cx->used[bc] = true;
        if (per_config)
            cx->used[pc] = true;
        if (per_config)
            report_str_fmt(p->note, sizeof p->note,
                    "Roofline: the STREAM peak measured at each thread count ÷ the bytes one token reads.");
        if (approx)
            report_str_fmt(p->note + strlen(p->note), sizeof p->note - strlen(p->note),
                    " Bytes per token taken as the model file's size (the results record none): every weight "
                    "read once per token, KV cache not counted.");
    } else if (no_bytes) {
        report_str_fmt(p->note, sizeof p->note,
                "No bandwidth roofline: the results record neither bytes per token nor the model's size.");
    } else {
        report_str_fmt(p->note, sizeof p->note,
                "No bandwidth roofline: no peak bandwidth was measured (pass --probe FILE from `ggperf probe "
                "--json`).");
    }
}

static int rule_throughput(struct ctx *cx)
{
    const struct rep_group *g = cx->g;
    if (!axis_varies(g, "threads") || !report_axis_numeric(g, "threads"))
        return REPORT_OK;
    int done = 0;
    for (int c = 0; c < g->n_cols && done < 2 && room(cx); c++) {
        const struct rep_col *col = &g->cols[c];
        if (!col->any_ok || strcmp(col->unit, "tok/s") != 0)
            continue;
        done++;
        cx->used[c] = true;
        bool split = axis_varies(g, "test");
        const char *tests[16];
        int nt = 0;
        if (split) {
            for (int i = 0; i < g->n_rows && nt < 16; i++) {
                const char *t = report_axis(&g->rows[i], "test");
                bool seen = false;
                for (int k = 0; k < nt; k++)
                    seen = seen || strcmp(tests[k], t) == 0;
                if (!seen)
                    tests[nt++] = t;
            }
        } else {
            tests[nt++] = NULL;
        }
        for (int k = 0; k < nt && room(cx); k++) {
            const char *test = tests[k];
            char what[160], name[PLOT_NAME_MAX];
            report_str_fmt(what, sizeof what, "%s-vs-threads%s%s", col->name, test ? "-" : "", test ? test : "");
            make_name(name, sizeof name, g->workload, what);
            struct plot *p = plot_new(PLOT_LINES, name);
            if (!p)
                return REPORT_ENOMEM;
            report_str_fmt(p->title, sizeof p->title, "%s vs threads%s%s%s", col->label, test ? " (" : "",
                     test ? test : "", test ? ")" : "");
            report_str_fmt(p->xlabel, sizeof p->xlabel, "threads");
            char ci[96];
            ci_label(g, col->name, ci, sizeof ci);
            report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s; %s)", col->label, col->unit, ci);
            p->x_integer_tics = true;
            static const char *const skip[] = { "threads", "test", NULL };
            int dropped = 0;
            for (int i = 0; i < g->n_rows; i++) {
                const struct rep_row *r = &g->rows[i];
                double med, lo, hi, x = num(report_axis(r, "threads"));
                if ((test && strcmp(report_axis(r, "test"), test) != 0) ||
                    !report_median(r, col->name, &med, &lo, &hi))
                    continue;
                char label[128];
                report_row_label(cx->rp, g, r, skip, true, label, sizeof label);
                int s = p->n_series < MAX_LINES ? series_for(p, label) : -1;
                if (s < 0) {
                    for (s = 0; s < p->n_series && strcmp(p->series[s].title, label); s++)
                        ;
                    if (s == p->n_series) {
                        dropped++;
                        continue;
                    }
                }
                plot_add_point(p, s, x, med, lo, hi);
            }
            bool generation = !(test && strncmp(test, "pp", 2) == 0) && !strstr(col->name, "prefill");
            if (generation)
                roofline(cx, p, test);
            /* beside a keyed roofline, the lone measured line needs a name too */
            for (int s = 0; s < p->n_series; s++)
                if (!p->series[s].title[0] && (p->n_hlines || p->n_series > 1))
                    report_str_fmt(p->series[s].title, sizeof p->series[s].title, "%s (measured)", col->label);
            note_more(p, dropped);
            sort_points(p);
            x_scale(p);
            int rc = finish(cx, p);
            if (rc != 0)
                return rc;
        }
    }
    return REPORT_OK;
}

/* ---- load phases, stacked ------------------------------------------------------------------ */

static int rule_phases(struct ctx *cx)
{
    static const char *const phases[][2] = {
        { "open_parse_ns", "open+parse" }, { "open_ns", "open" },   { "map_read_ns", "map/read" },
        { "map_ns", "map" },               { "read_ns", "read" },   { "parse_ns", "parse" },
        { "touch_ns", "touch" },           { "engine_setup_ns", "engine setup" },
        { "first_token_ns", "first token" },
    };
    const size_t np = sizeof phases / sizeof phases[0];
    const struct rep_group *g = cx->g;
    int idx[16], n = 0;
    for (size_t k = 0; k < np; k++) {
        int c = col_idx(g, phases[k][0]);
        if (col_usable(g, c))
            idx[n++] = (int)k;
    }
    if (!col_usable(g, col_idx(g, "touch_ns")) || n < 2 || !room(cx) || g->n_rows < 1 || g->n_rows > MAX_BARS)
        return REPORT_OK;
    char name[PLOT_NAME_MAX];
    make_name(name, sizeof name, g->workload, "phases");
    struct plot *p = plot_new(PLOT_STACKED, name);
    if (!p)
        return REPORT_ENOMEM;
    double max_total = 0;
    for (int i = 0; i < g->n_rows; i++) {
        double t = 0, v;
        for (int k = 0; k < n; k++)
            if (report_median(&g->rows[i], phases[idx[k]][0], &v, NULL, NULL) && v > 0)
                t += v;
        max_total = fmax(max_total, t);
    }
    char unit[16];
    double div;
    report_scale("ns", max_total, unit, sizeof unit, &div);
    for (int k = 0; k < n; k++)
        plot_add_series(p, phases[idx[k]][1]);
    char missing[256] = "";
    for (int i = 0; i < g->n_rows; i++) {
        const struct rep_row *r = &g->rows[i];
        char label[128], cat[160];
        cat_label(g, r, cat, sizeof cat);
        if (g->n_runs > 1) {
            report_str_fmt(label, sizeof label, "%s", cat);
            report_str_fmt(cat, sizeof cat, "%s %s", cx->rp->runs[r->run].label, label);
        }
        int ci = plot_cat(p, cat);
        if (ci < 0) {
            plot_free(p);
            return REPORT_ENOMEM;
        }
        for (int k = 0; k < n; k++) {
            double v;
            if (report_median(r, phases[idx[k]][0], &v, NULL, NULL))
                plot_set(p, k, ci, v / div, NAN, NAN);
            else if (!strstr(missing, phases[idx[k]][1]) && strlen(missing) + 40 < sizeof missing)
                report_str_fmt(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "",
                         phases[idx[k]][1]);
        }
    }
    for (int k = 0; k < n; k++)
        cx->used[col_idx(g, phases[idx[k]][0])] = true;
    report_str_fmt(p->title, sizeof p->title, "load time by phase");
    config_axes_label(g, p->xlabel, sizeof p->xlabel);
    report_str_fmt(p->ylabel, sizeof p->ylabel, "time (%s, median per phase)", unit);
    if (missing[0])
        report_str_fmt(p->note, sizeof p->note, "Phases not measured in some configurations (no segment drawn): %s; the "
                 "tables give the reason.", missing);
    return finish(cx, p);
}

/* ---- percentiles ---------------------------------------------------------------------------- */

/* PREFIX_pNN_ns / PREFIX_pNN / PREFIX_max_ns: true with the prefix and the
 * percentile (100 for max). */
static bool pct_name(const char *name, char *prefix, size_t len, double *pct)
{
    const char *end = name + strlen(name);
    if (end - name > 3 && strcmp(end - 3, "_ns") == 0)
        end -= 3;
    const char *u = end;
    while (u > name && u[-1] != '_')
        u--;
    if (u == name)
        return false;
    size_t tl = (size_t)(end - u);
    if (tl == 3 && strncmp(u, "max", 3) == 0) {
        *pct = 100;
    } else if (tl >= 2 && u[0] == 'p' && u[1] >= '0' && u[1] <= '9') {
        char buf[16];
        if (tl >= sizeof buf)
            return false;
        memcpy(buf, u + 1, tl - 1);
        buf[tl - 1] = '\0';
        char *e;
        *pct = strtod(buf, &e);
        if (*e || *pct <= 0 || *pct > 100)
            return false;
        /* p999 reads as 99.9 */
        while (*pct > 100)
            *pct /= 10;
    } else {
        return false;
    }
    size_t pl = (size_t)(u - 1 - name);
    if (pl == 0 || pl >= len)
        return false;
    memcpy(prefix, name, pl);
    prefix[pl] = '\0';
    return true;
}

static int pct_plot(struct ctx *cx, const char *prefix, const int *cols, const double *pcts, int n)
{
    const struct rep_group *g = cx->g;
    bool cdf = strstr(prefix, "wake") != NULL;
    char plabel[96];
    report_metric_label(prefix, plabel, sizeof plabel);
    double maxv = 0, v;
    for (int i = 0; i < g->n_rows; i++)
        for (int k = 0; k < n; k++)
            if ((cdf || pcts[k] < 100) && report_median(&g->rows[i], g->cols[cols[k]].name, &v, NULL, NULL))
                maxv = fmax(maxv, fabs(v));
    char unit[16];
    double div;
    report_scale("ns", maxv, unit, sizeof unit, &div);
    char what[96], name[PLOT_NAME_MAX];
    if (!cdf && g->n_rows > MAX_BARS)
        return REPORT_OK;
    if (!cdf) {
        report_str_fmt(what, sizeof what, "%s-percentiles", prefix);
        make_name(name, sizeof name, g->workload, what);
        struct plot *p = plot_new(PLOT_BARS, name);
        if (!p)
            return REPORT_ENOMEM;
        for (int k = 0; k < n; k++) {
            if (pcts[k] >= 100)
                continue;
            char t[32];
            report_str_fmt(t, sizeof t, "p%g", pcts[k]);
            int s = plot_add_series(p, t);
            for (int i = 0; i < g->n_rows && s >= 0; i++) {
                const struct rep_row *r = &g->rows[i];
                char cat[160], lab[200];
                cat_label(g, r, cat, sizeof cat);
                if (g->n_runs > 1) {
                    report_str_fmt(lab, sizeof lab, "%s %s", cx->rp->runs[r->run].label, cat);
                    report_str_fmt(cat, sizeof cat, "%s", lab);
                }
                int ci = plot_cat(p, cat);
                double med, lo, hi;
                if (ci >= 0 && report_median(r, g->cols[cols[k]].name, &med, &lo, &hi))
                    plot_set(p, s, ci, med / div, lo / div, hi / div);
            }
        }
        config_axes_label(g, p->xlabel, sizeof p->xlabel);
        report_str_fmt(p->title, sizeof p->title, "%s latency percentiles by %s", plabel, p->xlabel);
        report_str_fmt(p->ylabel, sizeof p->ylabel, "%s latency (%s, median over repetitions)", plabel, unit);
        return finish(cx, p);
    }
    /* CDF, one line per configuration; when that is too many lines, one
     * plot per value of a numeric axis (threads), at most three */
    const char *split = NULL;
    if (g->n_rows > 8)
        for (int a = 0; a < g->n_axes && !split; a++)
            if (g->axis_varies[a] && report_axis_numeric(g, g->axes[a]))
                split = g->axes[a];
    const char *vals[64];
    int nv = 0;
    for (int i = 0; split && i < g->n_rows && nv < 64; i++) {
        const char *x = report_axis(&g->rows[i], split);
        bool seen = false;
        for (int k = 0; k < nv; k++)
            seen = seen || strcmp(vals[k], x) == 0;
        if (!seen)
            vals[nv++] = x;
    }
    int first = nv > 3 ? nv - 3 : 0;
    for (int sv = split ? first : 0; sv < (split ? nv : 1) && room(cx); sv++) {
        report_str_fmt(what, sizeof what, "%s-cdf%s%s%s", prefix, split ? "-" : "", split ? split : "",
                 split ? vals[sv] : "");
        make_name(name, sizeof name, g->workload, what);
        struct plot *p = plot_new(PLOT_CDF, name);
        if (!p)
            return REPORT_ENOMEM;
        const char *skip[] = { split, NULL };
        int dropped = 0;
        for (int i = 0; i < g->n_rows; i++) {
            const struct rep_row *r = &g->rows[i];
            if (split && strcmp(report_axis(r, split), vals[sv]) != 0)
                continue;
            char label[160];
            report_row_label(cx->rp, g, r, split ? skip : NULL, true, label, sizeof label);
            if (p->n_series >= MAX_LINES) {
                dropped++;
                continue;
            }
            int s = plot_add_series(p, label);
            for (int k = 0; k < n && s >= 0; k++) {
                double med;
                if (report_median(r, g->cols[cols[k]].name, &med, NULL, NULL))
                    plot_add_point(p, s, med / div, pcts[k], NAN, NAN);
            }
        }
        sort_points(p);
        x_scale(p);
        if (split)
            report_str_fmt(p->title, sizeof p->title, "%s CDF at %s=%s", plabel, split, vals[sv]);
        else
            report_str_fmt(p->title, sizeof p->title, "%s CDF", plabel);
        report_str_fmt(p->xlabel, sizeof p->xlabel, "%s (%s)", plabel, unit);
        report_str_fmt(p->ylabel, sizeof p->ylabel, "percentile (%%; median of each percentile over repetitions)");
        note_more(p, dropped);
        if (split && first > 0)
            report_str_fmt(p->note + strlen(p->note), sizeof p->note - strlen(p->note),
                     "%sOnly the three largest %s values are plotted.", p->note[0] ? " " : "", split);
        int rc = finish(cx, p);
        if (rc != 0)
            return rc;
    }
    return REPORT_OK;
}

static int rule_percentiles(struct ctx *cx)
{
    const struct rep_group *g = cx->g;
    bool *seen = calloc((size_t)g->n_cols + 1, sizeof *seen);
    if (!seen)
        return REPORT_ENOMEM;
    int rc = REPORT_OK;
    for (int c = 0; c < g->n_cols && rc == 0 && room(cx); c++) {
        char prefix[METRIC_NAME_MAX];
        double pct;
        if (seen[c] || strcmp(g->cols[c].unit, "ns") != 0 || !pct_name(g->cols[c].name, prefix, sizeof prefix, &pct))
            continue;
        int cols[MAX_PCT], n = 0, n_real = 0;
        double pcts[MAX_PCT];
        for (int d = c; d < g->n_cols && n < MAX_PCT; d++) {
            char p2[METRIC_NAME_MAX];
            double q;
            if (strcmp(g->cols[d].unit, "ns") != 0 || !pct_name(g->cols[d].name, p2, sizeof p2, &q) ||
                strcmp(p2, prefix) != 0)
                continue;
            seen[d] = true;
            if (!g->cols[d].any_ok || g->cols[d].unresolved)
                continue;
            /* keep them in percentile order */
            int at = n;
            while (at > 0 && pcts[at - 1] > q) {
                pcts[at] = pcts[at - 1];
                cols[at] = cols[at - 1];
                at--;
            }
            pcts[at] = q;
            cols[at] = d;
            n++;
            n_real += q < 100;
        }
        if (n_real < 2)
            continue;
        for (int k = 0; k < n; k++)
            cx->used[cols[k]] = true;
        rc = pct_plot(cx, prefix, cols, pcts, n);
    }
    free(seen);
    return rc;
}

/* ---- metrics vs a numeric axis ------------------------------------------------------------- */

static bool col_is_runner(const char *name)
{
    return strcmp(name, "run_ns") == 0 || strcmp(name, "runner_overhead_ns") == 0;
}

/* 0 rates, 1 times, 2 PMU or simulated counts, 3 not for this rule. */
static int vs_rank(const struct rep_col *col)
{
    if (!col->any_ok || !col->varies || col_is_runner(col->name))
        return 3;
    size_t n = strlen(col->unit);
    if (strcmp(col->unit, "GFLOP/s") == 0 || strcmp(col->unit, "GB/s") == 0 || strcmp(col->unit, "tok/s") == 0 ||
        (n > 2 && strcmp(col->unit + n - 2, "/s") == 0))
        return 0;
    if (strcmp(col->unit, "ns") == 0 && strcmp(col->source, "time") == 0)
        return 1;
    if (strcmp(col->source, "hw") == 0 || strcmp(col->source, "sim") == 0)
        return 2;
    return 3;
}

static int rule_vs_axis(struct ctx *cx, bool threads_done)
{
    const struct rep_group *g = cx->g;
    for (int a = 0; a < g->n_axes && room(cx); a++) {
        const char *ax = g->axes[a];
        if (!g->axis_varies[a] || !report_axis_numeric(g, ax) || (threads_done && strcmp(ax, "threads") == 0))
            continue;
        json_t *values = json_object();
        if (!values)
            return REPORT_ENOMEM;
        for (int i = 0; i < g->n_rows && json_object_size(values) < 3; i++)
            json_object_set_new(values, report_axis(&g->rows[i], ax), json_true());
        size_t distinct = json_object_size(values);
        json_decref(values);
        if (distinct < 3)
            continue;
        /* one rate, one time, one count (GFLOP/s, time per pass, L1d
         * misses), then more of them in that order */
        int chosen[MAX_VS_METRICS], nc = 0;
        for (int pass = 0; pass < 2 && nc < MAX_VS_METRICS; pass++)
            for (int rank = 0; rank < 3 && nc < MAX_VS_METRICS; rank++) {
                int taken = 0;
                for (int c = 0; c < g->n_cols && nc < MAX_VS_METRICS && (pass == 1 || taken == 0); c++) {
                    bool dup = false;
                    for (int k = 0; k < nc; k++)
                        dup = dup || chosen[k] == c;
                    if (!dup && !cx->used[c] && vs_rank(&g->cols[c]) == rank) {
                        chosen[nc++] = c;
                        taken++;
                    }
                }
            }
        for (int k = 0; k < nc && room(cx); k++) {
            const struct rep_col *col = &g->cols[chosen[k]];
            char what[160], name[PLOT_NAME_MAX];
            report_str_fmt(what, sizeof what, "%s-vs-%s", col->name, ax);
            make_name(name, sizeof name, g->workload, what);
            struct plot *p = plot_new(PLOT_LINES, name);
            if (!p)
                return REPORT_ENOMEM;
            const char *skip[] = { ax, NULL };
            int dropped = 0;
            for (int i = 0; i < g->n_rows; i++) {
                const struct rep_row *r = &g->rows[i];
                double med, lo, hi;
                if (!report_median(r, col->name, &med, &lo, &hi))
                    continue;
                char label[160];
                report_row_label(cx->rp, g, r, skip, true, label, sizeof label);
                const char *t = label;
                int s;
                for (s = 0; s < p->n_series && strcmp(p->series[s].title, t) != 0; s++)
                    ;
                if (s == p->n_series) {
                    if (p->n_series >= MAX_LINES) {
                        dropped++;
                        continue;
                    }
                    s = plot_add_series(p, t);
                }
                plot_add_point(p, s, num(report_axis(r, ax)), med / col->div, lo / col->div, hi / col->div);
            }
            cx->used[chosen[k]] = true;
            sort_points(p);
            x_scale(p);
            y_scale(p);
            p->x_integer_tics = true;
            report_str_fmt(p->title, sizeof p->title, "%s vs %s", col->label, ax);
            report_str_fmt(p->xlabel, sizeof p->xlabel, "%s", ax);
            char ci[96];
            ci_label(g, col->name, ci, sizeof ci);
            report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s%s%s; %s)", col->label, col->disp_unit,
                           col->disp_unit[0] ? ", " : "", col->source, ci);
            note_more(p, dropped);
            int rc = finish(cx, p);
            if (rc != 0)
                return rc;
        }
    }
    return REPORT_OK;
}

/* ---- fallback: a bar chart per metric ------------------------------------------------------------ */

/* Fallback order: the headline, times, rates, PMU/scheduler/simulated
 * counts, bytes, the rest. */
static int fallback_rank(const struct rep_group *g, int c)
{
    const struct rep_col *col = &g->cols[c];
    size_t n = strlen(col->unit);
    if (c == g->headline)
        return 0;
    if (strcmp(col->unit, "ns") == 0)
        return 1;
    if (n > 2 && strcmp(col->unit + n - 2, "/s") == 0)
        return 2;
    if (strcmp(col->source, "hw") == 0 || strcmp(col->source, "sim") == 0 || strcmp(col->source, "sched") == 0)
        return 3;
    if (strcmp(col->unit, "bytes") == 0)
        return 4;
    return 5;
}

static int rule_fallback(struct ctx *cx)
{
    const struct rep_group *g = cx->g;
    /* beside plots made for the workload, only a few more */
    int budget = cx->made > 0 ? CHART_MAX_FALLBACK_EXTRA : CHART_MAX_PER_GROUP;
    if (g->n_rows > MAX_BARS)
        return REPORT_OK;
    for (int rank = 0; rank <= 5; rank++)
        for (int c = 0; c < g->n_cols && room(cx) && budget > 0; c++) {
            const struct rep_col *col = &g->cols[c];
            if (cx->used[c] || !col->any_ok || !col->varies || col_is_runner(col->name) ||
                strcmp(col->unit, "bool") == 0 || fallback_rank(g, c) != rank)
                continue;
            char name[PLOT_NAME_MAX];
            make_name(name, sizeof name, g->workload, col->name);
            struct plot *p = plot_new(PLOT_BARS, name);
            if (!p)
                return REPORT_ENOMEM;
            for (int k = 0; k < g->n_runs; k++)
                plot_add_series(p, g->n_runs > 1 ? cx->rp->runs[g->runs[k]].label : "");
            for (int i = 0; i < g->n_rows; i++) {
                const struct rep_row *r = &g->rows[i];
                char cat[160];
                cat_label(g, r, cat, sizeof cat);
                int ci = plot_cat(p, cat), s = 0;
                while (s < g->n_runs && g->runs[s] != r->run)
                    s++;
                double med, lo, hi;
                if (ci >= 0 && report_median(r, col->name, &med, &lo, &hi))
                    plot_set(p, s, ci, med / col->div, lo / col->div, hi / col->div);
            }
            cx->used[c] = true;
            budget--;
            y_scale(p);
            config_axes_label(g, p->xlabel, sizeof p->xlabel);
            report_str_fmt(p->title, sizeof p->title, "%s by %s", col->label, p->xlabel);
            char ci[96];
            ci_label(g, col->name, ci, sizeof ci);
            if (col->disp_unit[0] && strcmp(col->disp_unit, col->label) != 0)
                report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s, %s; %s)", col->label, col->disp_unit,
                               col->source, ci);
            else
                report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s; %s)", col->label, col->source, ci);
            int rc = finish(cx, p);
            if (rc != 0)
                return rc;
        }
    return REPORT_OK;
}

/* ---- two results files: the second against the first ----------------------------------------- */

static int rule_a_vs_b(struct ctx *cx)
{
    const struct rep_group *g = cx->g;
    if (g->n_ab == 0 || g->headline < 0 || !room(cx) || g->n_ab > MAX_BARS)
        return REPORT_OK;
    const struct rep_col *col = &g->cols[g->headline];
    const char *a = cx->rp->runs[g->runs[1]].label, *b = cx->rp->runs[g->runs[0]].label;
    char what[160], name[PLOT_NAME_MAX];
    report_str_fmt(what, sizeof what, "%s-ratio", col->name);
    make_name(name, sizeof name, g->workload, what);
    struct plot *p = plot_new(PLOT_BARS, name);
    if (!p)
        return REPORT_ENOMEM;
    char title[128];
    report_str_fmt(title, sizeof title, "%s ÷ %s", a, b);
    int s = plot_add_series(p, title);
    double cov = 1;
    for (int k = 0; k < g->n_ab; k++)
        if (isfinite(g->ab[k].ratio))
            cov = fmin(cov, g->ab[k].coverage);
    for (int k = 0; k < g->n_ab && s >= 0; k++) {
        char cat[160];
        cat_label(g, &g->rows[g->ab[k].row], cat, sizeof cat);
        int ci = plot_cat(p, cat);
        if (ci >= 0 && isfinite(g->ab[k].ratio))
            plot_set(p, s, ci, g->ab[k].ratio, g->ab[k].lo, g->ab[k].hi);
    }
    plot_add_hline(p, 1, "no change");
    config_axes_label(g, p->xlabel, sizeof p->xlabel);
    report_str_fmt(p->title, sizeof p->title, "%s: %s vs %s per configuration", col->label, a, b);
    report_str_fmt(p->ylabel, sizeof p->ylabel, "ratio of %s (Hodges-Lehmann; bars: CI, >= %.1f%% coverage)",
                   col->label, cov * 100);
    report_str_fmt(p->note, sizeof p->note,
                   "Each bar: %s's repetitions against %s's of the same configuration; a bar whose interval "
                   "holds 1 is no detected change.", a, b);
    return finish(cx, p);
}

int chart_group(const struct report *rp, int gi, struct chart_palette *pal, struct plot ***plots, int *n, char *err,
                size_t err_len)
{
    const struct rep_group *g = &rp->groups[gi];
    struct ctx cx = { rp, g, gi, plots, n, pal, 0, NULL, "" };
    if (g->n_rows == 0)
        return REPORT_OK;
    if (!(cx.used = calloc((size_t)g->n_cols + 1, sizeof *cx.used))) {
        report_str_fmt(err, err_len, "report: out of memory");
        return REPORT_ENOMEM;
    }
    report_subject(rp, g, cx.subject, sizeof cx.subject);
    int rc = rule_a_vs_b(&cx);
    if (rc == 0)
        rc = rule_throughput(&cx);
    bool threads_done = cx.made > (g->n_ab > 0);
    if (rc == 0)
        rc = rule_phases(&cx);
    if (rc == 0)
        rc = rule_percentiles(&cx);
    if (rc == 0)
        rc = rule_vs_axis(&cx, threads_done);
    if (rc == 0)
        rc = rule_fallback(&cx);
    free(cx.used);
    if (rc != 0)
        report_str_fmt(err, err_len, "report: out of memory while choosing plots");
    return rc;
}
