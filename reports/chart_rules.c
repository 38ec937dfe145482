/* chart_rules — the rules that pick a workload's plots (see chart.h for
 * the order and what each draws): throughput vs threads with the roofline,
 * load phases, percentiles, metrics vs a numeric axis, the per-metric
 * fallback, and the A-vs-B ratios of two results files. */
#include "reports/chart_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
static bool run_bytes_per_token(const struct chart_ctx *cx, int run, double *bpt, bool *approx)
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

static void roofline(struct chart_ctx *cx, struct plot *p, const char *test)
{
    const struct rep_group *g = cx->g;
    int bc = bytes_per_token_col(g);
    int pc = chart_col_idx(g, "peak_triad_gbps");
    if (!chart_col_usable(g, pc))
        pc = chart_col_idx(g, "peak_copy_gbps");
    /* one roofline for every plot of a report: the probe's measured peak
     * (reports/report.h: --probe first), not per-configuration peaks */
    bool per_config = false, drew = false, approx = false, no_bytes = true;
    (void)pc;
    for (int k = 0; k < g->n_runs; k++) {
        int run = g->runs[k];
        const char *lab = g->n_runs > 1 ? cx->rp->runs[run].label : "";
        double peak, bpt = NAN;
        char what[96];
        if (!run_bytes_per_token(cx, run, &bpt, &approx))
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

int chart_rule_throughput(struct chart_ctx *cx)
{
    const struct rep_group *g = cx->g;
    if (!chart_axis_varies(g, "threads") || !report_axis_numeric(g, "threads"))
        return REPORT_OK;
    int done = 0;
    for (int c = 0; c < g->n_cols && done < 2 && chart_room(cx); c++) {
        const struct rep_col *col = &g->cols[c];
        if (!col->any_ok || strcmp(col->unit, "tok/s") != 0)
            continue;
        done++;
        cx->used[c] = true;
        bool split = chart_axis_varies(g, "test");
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
        for (int k = 0; k < nt && chart_room(cx); k++) {
            const char *test = tests[k];
            char what[160], name[PLOT_NAME_MAX];
            report_str_fmt(what, sizeof what, "%s-vs-threads%s%s", col->name, test ? "-" : "", test ? test : "");
            chart_make_name(name, sizeof name, g->workload, what);
            struct plot *p = plot_new(PLOT_LINES, name);
            if (!p)
                return REPORT_ENOMEM;
            report_str_fmt(p->title, sizeof p->title, "%s vs threads%s%s%s", col->label, test ? " (" : "",
                     test ? test : "", test ? ")" : "");
            report_str_fmt(p->xlabel, sizeof p->xlabel, "threads");
            char ci[96];
            chart_ci_label(g, col->name, ci, sizeof ci);
            report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s; %s)", col->label, col->unit, ci);
            p->x_integer_tics = true;
            static const char *const skip[] = { "threads", "test", NULL };
            int dropped = 0;
            for (int i = 0; i < g->n_rows; i++) {
                const struct rep_row *r = &g->rows[i];
                double med, lo, hi, x = chart_num(report_axis(r, "threads"));
                if ((test && strcmp(report_axis(r, "test"), test) != 0) ||
                    !report_median(r, col->name, &med, &lo, &hi))
                    continue;
                char label[128];
                report_row_label(cx->rp, g, r, skip, true, label, sizeof label);
                int s = p->n_series < MAX_LINES ? chart_series_for(p, label) : -1;
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
            chart_note_more(p, dropped);
            chart_sort_points(p);
            chart_x_scale(p);
            int rc = chart_finish(cx, p);
            if (rc != 0)
                return rc;
        }
    }
    return REPORT_OK;
}

/* ---- load phases, stacked ------------------------------------------------------------------ */

int chart_rule_phases(struct chart_ctx *cx)
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
        int c = chart_col_idx(g, phases[k][0]);
        if (chart_col_usable(g, c))
            idx[n++] = (int)k;
    }
    if (!chart_col_usable(g, chart_col_idx(g, "touch_ns")) || n < 2 || !chart_room(cx) || g->n_rows < 1 || g->n_rows > MAX_BARS)
        return REPORT_OK;
    char name[PLOT_NAME_MAX];
    chart_make_name(name, sizeof name, g->workload, "phases");
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
        chart_cat_label(g, r, cat, sizeof cat);
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
        cx->used[chart_col_idx(g, phases[idx[k]][0])] = true;
    report_str_fmt(p->title, sizeof p->title, "load time by phase");
    chart_config_axes_label(g, p->xlabel, sizeof p->xlabel);
    report_str_fmt(p->ylabel, sizeof p->ylabel, "time (%s, median per phase)", unit);
    if (missing[0])
        report_str_fmt(p->note, sizeof p->note, "Phases not measured in some configurations (no segment drawn): %s; the "
                 "tables give the reason.", missing);
    return chart_finish(cx, p);
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

static int pct_plot(struct chart_ctx *cx, const char *prefix, const int *cols, const double *pcts, int n)
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
        chart_make_name(name, sizeof name, g->workload, what);
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
                chart_cat_label(g, r, cat, sizeof cat);
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
        chart_config_axes_label(g, p->xlabel, sizeof p->xlabel);
        report_str_fmt(p->title, sizeof p->title, "%s latency percentiles by %s", plabel, p->xlabel);
        report_str_fmt(p->ylabel, sizeof p->ylabel, "%s latency (%s, median over repetitions)", plabel, unit);
        return chart_finish(cx, p);
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
    for (int sv = split ? first : 0; sv < (split ? nv : 1) && chart_room(cx); sv++) {
        report_str_fmt(what, sizeof what, "%s-cdf%s%s%s", prefix, split ? "-" : "", split ? split : "",
                 split ? vals[sv] : "");
        chart_make_name(name, sizeof name, g->workload, what);
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
        chart_sort_points(p);
        chart_x_scale(p);
        if (split)
            report_str_fmt(p->title, sizeof p->title, "%s CDF at %s=%s", plabel, split, vals[sv]);
        else
            report_str_fmt(p->title, sizeof p->title, "%s CDF", plabel);
        report_str_fmt(p->xlabel, sizeof p->xlabel, "%s (%s)", plabel, unit);
        report_str_fmt(p->ylabel, sizeof p->ylabel, "percentile (%%; median of each percentile over repetitions)");
        chart_note_more(p, dropped);
        if (split && first > 0)
            report_str_fmt(p->note + strlen(p->note), sizeof p->note - strlen(p->note),
                     "%sOnly the three largest %s values are plotted.", p->note[0] ? " " : "", split);
        int rc = chart_finish(cx, p);
        if (rc != 0)
            return rc;
    }
    return REPORT_OK;
}

int chart_rule_percentiles(struct chart_ctx *cx)
{
    const struct rep_group *g = cx->g;
    bool *seen = calloc((size_t)g->n_cols + 1, sizeof *seen);
    if (!seen)
        return REPORT_ENOMEM;
    int rc = REPORT_OK;
    for (int c = 0; c < g->n_cols && rc == 0 && chart_room(cx); c++) {
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

int chart_rule_vs_axis(struct chart_ctx *cx, bool threads_done)
{
    const struct rep_group *g = cx->g;
    for (int a = 0; a < g->n_axes && chart_room(cx); a++) {
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
        for (int k = 0; k < nc && chart_room(cx); k++) {
            const struct rep_col *col = &g->cols[chosen[k]];
            char what[160], name[PLOT_NAME_MAX];
            report_str_fmt(what, sizeof what, "%s-vs-%s", col->name, ax);
            chart_make_name(name, sizeof name, g->workload, what);
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
                plot_add_point(p, s, chart_num(report_axis(r, ax)), med / col->div, lo / col->div, hi / col->div);
            }
            cx->used[chosen[k]] = true;
            chart_sort_points(p);
            chart_x_scale(p);
            chart_y_scale(p);
            p->x_integer_tics = true;
            report_str_fmt(p->title, sizeof p->title, "%s vs %s", col->label, ax);
            report_str_fmt(p->xlabel, sizeof p->xlabel, "%s", ax);
            char ci[96];
            chart_ci_label(g, col->name, ci, sizeof ci);
            report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s%s%s; %s)", col->label, col->disp_unit,
                           col->disp_unit[0] ? ", " : "", col->source, ci);
            chart_note_more(p, dropped);
            int rc = chart_finish(cx, p);
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

int chart_rule_fallback(struct chart_ctx *cx)
{
    const struct rep_group *g = cx->g;
    /* beside plots made for the workload, only a few more */
    int budget = cx->made > 0 ? CHART_MAX_FALLBACK_EXTRA : CHART_MAX_PER_GROUP;
    if (g->n_rows > MAX_BARS)
        return REPORT_OK;
    for (int rank = 0; rank <= 5; rank++)
        for (int c = 0; c < g->n_cols && chart_room(cx) && budget > 0; c++) {
            const struct rep_col *col = &g->cols[c];
            if (cx->used[c] || !col->any_ok || !col->varies || col->unresolved || col_is_runner(col->name) ||
                strcmp(col->unit, "bool") == 0 || fallback_rank(g, c) != rank)
                continue;
            char name[PLOT_NAME_MAX];
            chart_make_name(name, sizeof name, g->workload, col->name);
            struct plot *p = plot_new(PLOT_BARS, name);
            if (!p)
                return REPORT_ENOMEM;
            for (int k = 0; k < g->n_runs; k++)
                plot_add_series(p, g->n_runs > 1 ? cx->rp->runs[g->runs[k]].label : "");
            for (int i = 0; i < g->n_rows; i++) {
                const struct rep_row *r = &g->rows[i];
                char cat[160];
                chart_cat_label(g, r, cat, sizeof cat);
                int ci = plot_cat(p, cat), s = 0;
                while (s < g->n_runs && g->runs[s] != r->run)
                    s++;
                double med, lo, hi;
                if (ci >= 0 && report_median(r, col->name, &med, &lo, &hi))
                    plot_set(p, s, ci, med / col->div, lo / col->div, hi / col->div);
            }
            cx->used[c] = true;
            budget--;
            chart_y_scale(p);
            chart_config_axes_label(g, p->xlabel, sizeof p->xlabel);
            report_str_fmt(p->title, sizeof p->title, "%s by %s", col->label, p->xlabel);
            char ci[96];
            chart_ci_label(g, col->name, ci, sizeof ci);
            if (col->disp_unit[0] && strcmp(col->disp_unit, col->label) != 0)
                report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s, %s; %s)", col->label, col->disp_unit,
                               col->source, ci);
            else
                report_str_fmt(p->ylabel, sizeof p->ylabel, "%s (%s; %s)", col->label, col->source, ci);
            int rc = chart_finish(cx, p);
            if (rc != 0)
                return rc;
        }
    return REPORT_OK;
}

/* ---- two results files: the second against the first ----------------------------------------- */

int chart_rule_a_vs_b(struct chart_ctx *cx)
{
    const struct rep_group *g = cx->g;
    if (g->n_ab == 0 || g->headline < 0 || !chart_room(cx) || g->n_ab > MAX_BARS)
        return REPORT_OK;
    const struct rep_col *col = &g->cols[g->headline];
    const char *a = cx->rp->runs[g->runs[1]].label, *b = cx->rp->runs[g->runs[0]].label;
    char what[160], name[PLOT_NAME_MAX];
    report_str_fmt(what, sizeof what, "%s-ratio", col->name);
    chart_make_name(name, sizeof name, g->workload, what);
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
        chart_cat_label(g, &g->rows[g->ab[k].row], cat, sizeof cat);
        int ci = plot_cat(p, cat);
        if (ci >= 0 && isfinite(g->ab[k].ratio))
            plot_set(p, s, ci, g->ab[k].ratio, g->ab[k].lo, g->ab[k].hi);
    }
    plot_add_hline(p, 1, "no change");
    chart_config_axes_label(g, p->xlabel, sizeof p->xlabel);
    report_str_fmt(p->title, sizeof p->title, "%s: %s vs %s per configuration", col->label, a, b);
    report_str_fmt(p->ylabel, sizeof p->ylabel, "ratio of %s (Hodges-Lehmann; bars: CI, >= %.1f%% coverage)",
                   col->label, cov * 100);
    report_str_fmt(p->note, sizeof p->note,
                   "Each bar: %s's repetitions against %s's of the same configuration; a bar whose interval "
                   "holds 1 is no detected change.", a, b);
    return chart_finish(cx, p);
}

