/* chart — plots chosen from the axes and metrics present (see chart.h):
 * the helpers every rule uses and the order the rules are tried in; the
 * rules themselves are in chart_rules.c. */
#include "reports/chart_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int chart_axis_idx(const struct rep_group *g, const char *name)
{
    for (int a = 0; a < g->n_axes; a++)
        if (strcmp(g->axes[a], name) == 0)
            return a;
    return -1;
}

bool chart_axis_varies(const struct rep_group *g, const char *name)
{
    int a = chart_axis_idx(g, name);
    return a >= 0 && g->axis_varies[a];
}

int chart_col_idx(const struct rep_group *g, const char *name)
{
    for (int c = 0; c < g->n_cols; c++)
        if (strcmp(g->cols[c].name, name) == 0)
            return c;
    return -1;
}

bool chart_col_usable(const struct rep_group *g, int c)
{
    return c >= 0 && g->cols[c].any_ok;
}

/* Stem of a plot file: workload-what, [a-z0-9-] only. */
void chart_make_name(char *buf, size_t len, const char *workload, const char *what)
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

static int chart_push_plot(struct chart_ctx *cx, struct plot *p)
{
    report_str_fmt(p->subtitle, sizeof p->subtitle, "%s", cx->subject);
    /* a configuration (axis=value...) keeps its colour over every plot of
     * the report; phases and percentiles are coloured by position */
    for (int s = 0; s < p->n_series; s++)
        if (!p->series[s].dashed && strchr(p->series[s].title, '='))  /* "pin=on wait=spin", not "p99" */
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
int chart_finish(struct chart_ctx *cx, struct plot *p)
{
    if (!plot_has_data(p)) {
        plot_free(p);
        return REPORT_OK;
    }
    return chart_push_plot(cx, p);
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
void chart_ci_label(const struct rep_group *g, const char *name, char *buf, size_t len)
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

bool chart_room(const struct chart_ctx *cx)
{
    return cx->made < CHART_MAX_PER_GROUP;
}

int chart_series_for(struct plot *p, const char *title)
{
    for (int s = 0; s < p->n_series; s++)
        if (strcmp(p->series[s].title, title) == 0)
            return s;
    return plot_add_series(p, title);
}

/* Order each line series by x. */
void chart_sort_points(struct plot *p)
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

double chart_num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return *s && !*end ? v : NAN;
}

void chart_x_scale(struct plot *p)
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
void chart_y_scale(struct plot *p)
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
void chart_config_axes_label(const struct rep_group *g, char *buf, size_t len)
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
void chart_cat_label(const struct rep_group *g, const struct rep_row *r, char *buf, size_t len)
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

void chart_note_more(struct plot *p, int dropped)
{
    if (dropped > 0)
        report_str_fmt(p->note + strlen(p->note), sizeof p->note - strlen(p->note),
                 "%s%d more series not drawn (the tables have every configuration).", p->note[0] ? " " : "",
                 dropped);
}


int chart_group(const struct report *rp, int gi, struct chart_palette *pal, struct plot ***plots, int *n, char *err,
                size_t err_len)
{
    const struct rep_group *g = &rp->groups[gi];
    struct chart_ctx cx = { rp, g, gi, plots, n, pal, 0, NULL, "" };
    if (g->n_rows == 0)
        return REPORT_OK;
    if (!(cx.used = calloc((size_t)g->n_cols + 1, sizeof *cx.used))) {
        report_str_fmt(err, err_len, "report: out of memory");
        return REPORT_ENOMEM;
    }
    report_subject(rp, g, cx.subject, sizeof cx.subject);
    int rc = chart_rule_a_vs_b(&cx);
    if (rc == 0)
        rc = chart_rule_throughput(&cx);
    bool threads_done = cx.made > (g->n_ab > 0);
    if (rc == 0)
        rc = chart_rule_phases(&cx);
    /* curves against a numeric axis (tokens/s vs offered load, time vs
     * alignment) before the percentile families: those can fill the
     * group's quota on their own (serve has five, with a CDF per load) */
    if (rc == 0)
        rc = chart_rule_vs_axis(&cx, threads_done);
    if (rc == 0)
        rc = chart_rule_percentiles(&cx);
    if (rc == 0)
        rc = chart_rule_fallback(&cx);
    free(cx.used);
    if (rc != 0)
        report_str_fmt(err, err_len, "report: out of memory while choosing plots");
    return rc;
}

