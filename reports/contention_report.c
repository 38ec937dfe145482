/* contention_report — conclusions, table and figure of the contention
 * study (see contention_report.h). */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/contention_report.h"
#include "reports/plot.h"
#include "results/effect.h"
#include "results/results.h"

#define CR_LEVEL 0.95
#define CR_POWER 0.8

struct cr_config {
    char op[16], type[16], layout[16], kernels[16], store[16];
    int align, threads;
    bool present;
    struct results_cacc acc;
};

struct cr_file {
    int n;
    struct cr_config *c;         /* [n], by config id */
    char workload[64];
};

static void cr_file_free(struct cr_file *f)
{
    for (int i = 0; f->c && i < f->n; i++)
        results_cacc_free(&f->c[i].acc);
    free(f->c);
    memset(f, 0, sizeof *f);
}

static void axis_text(const json_t *axes, const char *name, char *buf, size_t len)
{
    const char *v = json_string_value(json_object_get(axes, name));
    snprintf(buf, len, "%s", v ? v : "");
}

static int axis_int(const json_t *axes, const char *name)
{
    const char *v = json_string_value(json_object_get(axes, name));
    return v ? atoi(v) : -1;
}

/* Read every sample of path into per-configuration accumulators. */
static int cr_read(const char *path, const char *want, struct cr_file *f, char *err, size_t err_len)
{
    memset(f, 0, sizeof *f);
    struct results_reader *r = NULL;
    char e[512];
    if (results_reader_open(&r, path, e, sizeof e) != 0) {
        snprintf(err, err_len, "%s", e);
        return CONTENTION_REPORT_EINPUT;
    }
    const json_t *h = results_reader_header(r);
    const char *wl = json_string_value(json_object_get(json_object_get(h, "workload"), "name"));
    if (!wl || strcmp(wl, want) != 0) {
        snprintf(err, err_len, "%s: results of workload '%s', not '%s'", path, wl ? wl : "?", want);
        results_reader_close(r);
        return CONTENTION_REPORT_EINPUT;
    }
    snprintf(f->workload, sizeof f->workload, "%s", wl);
    const json_t *configs = json_object_get(h, "configs");
    f->n = (int)json_array_size(configs);
    f->c = calloc(f->n > 0 ? (size_t)f->n : 1, sizeof *f->c);
    if (!f->c) {
        results_reader_close(r);
        snprintf(err, err_len, "out of memory");
        return CONTENTION_REPORT_ENOMEM;
    }
    for (int i = 0; i < f->n; i++) {
        const json_t *cj = json_array_get(configs, (size_t)i);
        int id = (int)json_integer_value(json_object_get(cj, "id"));
        if (id < 0 || id >= f->n)
            continue;
        const json_t *ax = json_object_get(cj, "axes");
        struct cr_config *c = &f->c[id];
        axis_text(ax, "op", c->op, sizeof c->op);
        axis_text(ax, "type", c->type, sizeof c->type);
        axis_text(ax, "layout", c->layout, sizeof c->layout);
        axis_text(ax, "kernels", c->kernels, sizeof c->kernels);
        axis_text(ax, "store", c->store, sizeof c->store);
        c->align = axis_int(ax, "align");
        c->threads = axis_int(ax, "threads");
        c->present = true;
    }
    json_t *s;
    int rc;
    while ((rc = results_reader_next(r, &s, e, sizeof e)) == 1) {
        int id = (int)json_integer_value(json_object_get(s, "config"));
        if (id >= 0 && id < f->n && results_cacc_add(&f->c[id].acc, s) != 0) {
            json_decref(s);
            results_reader_close(r);
            snprintf(err, err_len, "out of memory");
            return CONTENTION_REPORT_ENOMEM;
        }
        json_decref(s);
    }
    results_reader_close(r);
    if (rc < 0) {
        snprintf(err, err_len, "%s", e);
        return CONTENTION_REPORT_EINPUT;
    }
    return CONTENTION_REPORT_OK;
}

static const struct results_macc *cr_metric(const struct cr_config *c, const char *name)
{
    for (size_t i = 0; i < c->acc.nm; i++)
        if (strcmp(c->acc.m[i].name, name) == 0)
            return &c->acc.m[i];
    return NULL;
}

#define CR_MIN_UNDISTURBED 4   /* repetitions with an undisturbed pass needed to compare those */

/* The samples to compare of a and b (b may be NULL): BASE_undisturbed when
 * each has at least CR_MIN_UNDISTURBED of them, else BASE over all passes;
 * *und says which. */
static void cr_pair(const struct cr_config *a, const struct cr_config *b, const char *base,
                    const struct results_macc **ma, const struct results_macc **mb, bool *und)
{
    char name[64];
    snprintf(name, sizeof name, "%s_undisturbed", base);
    const struct results_macc *ua = cr_metric(a, name), *ub = b ? cr_metric(b, name) : NULL;
    *und = ua && ua->n >= CR_MIN_UNDISTURBED && (!b || (ub && ub->n >= CR_MIN_UNDISTURBED));
    *ma = *und ? ua : cr_metric(a, base);
    if (mb)
        *mb = b ? (*und ? ub : cr_metric(b, base)) : NULL;
}

static double cr_median(const struct results_macc *m)
{
    if (!m || m->n == 0)
        return NAN;
    double *t = malloc(m->n * sizeof *t);
    if (!t)
        return NAN;
    memcpy(t, m->v, m->n * sizeof *t);
    struct stats_summary s;
    double v = stats_summarize(t, m->n, NULL, &s) == STATS_OK ? s.median : NAN;
    free(t);
    return v;
}

void contention_report_fmt_ns(double ns, char *buf, size_t len)
{
    static const char *const units[] = { "ns", "µs", "ms", "s" };
    if (!isfinite(ns)) {
        snprintf(buf, len, "n/a");
        return;
    }
    int u = 0;
    while (u < 3 && fabs(ns) >= 1000) {
        ns /= 1000;
        u++;
    }
    int prec = fabs(ns) >= 100 ? 0 : fabs(ns) >= 10 ? 1 : 2;
    snprintf(buf, len, "%.*f %s", prec, ns, units[u]);
}

void contention_report_fmt_p(double p, char *buf, size_t len)
{
    if (p < 0.001)
        snprintf(buf, len, "p < 0.001");
    else
        snprintf(buf, len, "p = %.2g", p);
}

/* One comparison of a against b (positive samples: times). */
struct cr_cmp {
    bool ok;
    size_t n1, n2;
    double p;
    double ratio, ratio_lo, ratio_hi;   /* a / b, Hodges-Lehmann on logs */
    double detectable;                  /* smallest detectable ratio - 1 (relative), INFINITY: none */
};

/* a against b through the one effect statistic every report uses
 * (results/effect.h: Hodges-Lehmann on logs with the exact-coverage
 * interval and the Mann-Whitney p): ratio = a / b. Not ok unless every
 * value is positive, so that the shift reads as a ratio. */
static struct cr_cmp cr_compare(const struct results_macc *a, const struct results_macc *b)
{
    struct cr_cmp c = { 0 };
    if (!a || !b || a->n < 2 || b->n < 2)
        return c;
    struct effect e;
    if (effect_compare(b->v, b->n, a->v, a->n, CR_LEVEL, 0.05, &e) != EFFECT_OK || !e.ratio)
        return c;
    c.ok = true;
    c.n1 = a->n;
    c.n2 = b->n;
    c.p = e.p;
    c.ratio = e.est;
    c.ratio_lo = e.lo;
    c.ratio_hi = e.hi;
    c.detectable = 0;   /* filled by the caller's alpha */
    return c;
}

static double cr_detectable(const struct results_macc *a, const struct results_macc *b, double alpha)
{
    if (!a || !b || a->n == 0 || b->n == 0)
        return NAN;
    double *la = malloc(a->n * sizeof *la), *lb = malloc(b->n * sizeof *lb);
    double d = NAN;
    if (la && lb) {
        for (size_t i = 0; i < a->n; i++)
            la[i] = log(a->v[i]);
        for (size_t j = 0; j < b->n; j++)
            lb[j] = log(b->v[j]);
        d = stats_min_detectable_shift(la, a->n, lb, b->n, alpha, CR_POWER);
        d = isfinite(d) ? exp(d) - 1 : d;
    }
    free(la);
    free(lb);
    return d;
}

/* "2.9× slower than padded (p < 0.001; 95% CI 2.7–3.1×)" or "no difference
 * detected (p = 0.4; smallest detectable 3%)". */
static void cr_verdict(const struct cr_cmp *c, double detectable, const char *what, const char *ref, double alpha,
                       double min_effect, char *buf, size_t len)
{
    char p[32];
    if (!c->ok) {
        snprintf(buf, len, "%s vs %s: too few repetitions to compare", what, ref);
        return;
    }
    contention_report_fmt_p(c->p, p, sizeof p);
    if (c->p < alpha) {
        bool slower = c->ratio >= 1;
        double r = slower ? c->ratio : 1 / c->ratio;
        double lo = slower ? c->ratio_lo : 1 / c->ratio_hi, hi = slower ? c->ratio_hi : 1 / c->ratio_lo;
        /* significant, but the whole interval is inside the smallest effect
         * of interest: a real difference too small to matter (or a property
         * of the configuration, not of the layout) */
        if (lo >= 1 / (1 + min_effect) && hi <= 1 + min_effect)
            snprintf(buf, len, "%s vs %s: no difference beyond %.0f%% (%.2f× %s, %s; 95%% CI %.2f–%.2f×)", what, ref,
                     min_effect * 100, r, slower ? "slower" : "faster", p, lo, hi);
        else
            snprintf(buf, len, "%s %.2f× %s than %s (%s; 95%% CI %.2f–%.2f×)", what, r, slower ? "slower" : "faster",
                     ref, p, lo, hi);
        return;
    }
    char det[48];
    if (isinf(detectable))
        snprintf(det, sizeof det, "too few repetitions to detect any");
    else if (isfinite(detectable))
        snprintf(det, sizeof det, "smallest detectable %.0f%%", detectable * 100 < 1 ? 1 : detectable * 100);
    else
        snprintf(det, sizeof det, "spread unknown");
    snprintf(buf, len, "%s vs %s: no difference detected (%s; %s)", what, ref, p, det);
}

/* The configuration of f matching the fields of k with the given threads and layout / store. */
static const struct cr_config *cr_find(const struct cr_file *f, const struct cr_config *k, int threads,
                                       const char *layout, int align)
{
    for (int i = 0; i < f->n; i++) {
        const struct cr_config *c = &f->c[i];
        if (c->present && c->threads == threads && c->align == align && strcmp(c->op, k->op) == 0 &&
            strcmp(c->type, k->type) == 0 && strcmp(c->kernels, k->kernels) == 0 && strcmp(c->layout, layout) == 0 &&
            strcmp(c->store, k->store) == 0)
            return c;
    }
    return NULL;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Distinct values of an int field over f, ascending, into out[0..max). */
static int cr_distinct(const struct cr_file *f, bool threads, int *out, int max)
{
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        if (!f->c[i].present)
            continue;
        int v = threads ? f->c[i].threads : f->c[i].align;
        bool seen = false;
        for (int k = 0; k < n; k++)
            seen = seen || out[k] == v;
        if (!seen && n < max)
            out[n++] = v;
    }
    qsort(out, (size_t)n, sizeof *out, cmp_int);
    return n;
}

/* A column's cell: the median with its source, or n/a (the reason goes
 * to the notes, once per distinct reason). */
static void cr_cell_counted(const struct results_macc *m, char *buf, size_t len, char notes[][256], int *n_notes,
                            const char *label)
{
    if (m && m->n > 0) {
        snprintf(buf, len, "%.3g (%s)", cr_median(m), m->source);
        return;
    }
    snprintf(buf, len, "n/a");
    if (!m || *n_notes >= 4)
        return;
    char note[256];
    snprintf(note, sizeof note, "%s: source %s, %s (%s)", label, m->source[0] ? m->source : "hw",
             m->status[0] ? m->status : "unsupported", m->reason[0] ? m->reason : "no reason recorded");
    for (int i = 0; i < *n_notes; i++)
        if (strcmp(notes[i], note) == 0)
            return;
    snprintf(notes[(*n_notes)++], 256, "%s", note);
}

static void cr_calibration(const struct cr_file *cal, FILE *f, double alpha, double min_effect, int *n_concl)
{
    int th[64];
    int nt = cr_distinct(cal, true, th, 64);
    fprintf(f, "## Calibration: this machine's false-sharing penalty (contention_calib)\n\n");
    fprintf(f, "Each thread increments its own counter; packed: counters 8 bytes apart in one line, padded: a line each.\n\n");
    fprintf(f, "| store | threads | packed, per increment | padded, per increment | packed / padded | CPU time packed / "
               "padded | passes | dispatch |\n");
    fprintf(f, "|:--|--:|--:|--:|--:|--:|:--|--:|\n");
    static const char *const stores[] = { "plain", "atomic" };
    char lines[2 * 64][320];
    int nl = 0;
    for (int s = 0; s < 2; s++) {
        struct cr_config key = { 0 };
        snprintf(key.store, sizeof key.store, "%s", stores[s]);
        for (int i = 0; i < nt; i++) {
            const struct cr_config *pk = cr_find(cal, &key, th[i], "packed", -1);
            const struct cr_config *pd = cr_find(cal, &key, th[i], "padded", -1);
            if (!pk || !pd)
                continue;
            const struct results_macc *a, *b;
            bool und;
            cr_pair(pk, pd, "ns_per_increment", &a, &b, &und);
            struct cr_cmp c = cr_compare(a, b);
            char ta[32], tb[32], p[32], ratio[64] = "n/a";
            contention_report_fmt_ns(cr_median(a), ta, sizeof ta);
            contention_report_fmt_ns(cr_median(b), tb, sizeof tb);
            contention_report_fmt_p(c.p, p, sizeof p);
            if (c.ok)
                snprintf(ratio, sizeof ratio, "%.2f× (%s)", c.ratio, p);
            double cpu = cr_median(cr_metric(pk, "cpu_ns_per_increment")) /
                         cr_median(cr_metric(pd, "cpu_ns_per_increment"));
            const char *dn = und ? "dispatch_share_undisturbed" : "dispatch_share";
            double ds = fmax(cr_median(cr_metric(pk, dn)), cr_median(cr_metric(pd, dn)));
            if (!isfinite(ds))
                ds = fmax(cr_median(cr_metric(pk, "dispatch_share")), cr_median(cr_metric(pd, "dispatch_share")));
            fprintf(f, "| %s | %d | %s | %s | %s | %.2f× | %s | %.1f%% |\n", stores[s], th[i], ta, tb, ratio, cpu,
                    und ? "undisturbed" : "all †", ds * 100);
            char what[96], v[256];
            snprintf(what, sizeof what, "counters in one line%s", und ? "" : " †");
            cr_verdict(&c, cr_detectable(a, b, alpha), what, "a line each", alpha, min_effect, v, sizeof v);
            if (nl < 2 * 64)
                snprintf(lines[nl++], sizeof lines[0], "calibration, %s stores, %d thread%s: %s", stores[s], th[i],
                         th[i] == 1 ? "" : "s", v);
        }
    }
    fprintf(f, "\nper increment: the time in which every thread makes one (median over repetitions). passes: "
               "undisturbed = only the passes in which the pool's threads ran side by side (each on a CPU for 90%% "
               "of its work, all started together), timed from the first start to the last end; all † = too few "
               "such passes (a busy machine): every pass counted, and threads that took turns on a CPU could not "
               "contend.\n\n");
    for (int i = 0; i < nl; i++)
        fprintf(f, "- %s\n", lines[i]);
    *n_concl += nl;
    fprintf(f, "\n");
}

static const char *const cr_layouts[] = { "blocked", "interleaved", "padded" };

/* The (op, type, kernels) groups, and aligns, of the study, in first-seen order. */
static int cr_groups(const struct cr_file *st, int *first, int max)
{
    int n = 0;
    for (int i = 0; i < st->n; i++) {
        const struct cr_config *c = &st->c[i];
        if (!c->present)
            continue;
        bool seen = false;
        for (int k = 0; k < n; k++) {
            const struct cr_config *g = &st->c[first[k]];
            seen = seen || (strcmp(g->op, c->op) == 0 && strcmp(g->type, c->type) == 0 &&
                            strcmp(g->kernels, c->kernels) == 0);
        }
        if (!seen && n < max)
            first[n++] = i;
    }
    return n;
}

static int cr_plot(const struct cr_file *st, const struct contention_report_opts *o, const int *groups, int ng,
                   int align, struct contention_report_summary *sum, char *err, size_t err_len)
{
    const char *name = o->plot_name ? o->plot_name : "contention-time";
    struct plot *p = plot_new(PLOT_BARS, name);
    if (!p) {
        snprintf(err, err_len, "out of memory");
        return CONTENTION_REPORT_ENOMEM;
    }
    snprintf(p->title, sizeof p->title, "time per 1024 rows by layout and threads (weights %d bytes past a line)",
             align);
    snprintf(p->xlabel, sizeof p->xlabel, "op, type, threads");
    snprintf(p->ylabel, sizeof p->ylabel, "time per 1024 rows (µs, median, 95%% CI)");
    p->logy = true;
    int s_idx[3];
    for (int l = 0; l < 3; l++)
        s_idx[l] = plot_add_series(p, cr_layouts[l]);
    int th[64];
    int nt = cr_distinct(st, true, th, 64);
    for (int g = 0; g < ng; g++) {
        const struct cr_config *k = &st->c[groups[g]];
        for (int i = 0; i < nt; i++) {
            /* one kind of sample for the three bars of a category: undisturbed
             * passes when every layout has enough of them */
            bool all_und = true;
            for (int l = 0; l < 3; l++) {
                const struct cr_config *c = cr_find(st, k, th[i], cr_layouts[l], align);
                const struct results_macc *u = c ? cr_metric(c, "ns_per_1024_rows_undisturbed") : NULL;
                all_und = all_und && (!c || (u && u->n >= CR_MIN_UNDISTURBED));
            }
            char cat[64];
            snprintf(cat, sizeof cat, "%s %s, %dT%s", k->op, k->type, th[i], all_und ? "" : " †");
            int ci = -1;
            for (int l = 0; l < 3; l++) {
                const struct cr_config *c = cr_find(st, k, th[i], cr_layouts[l], align);
                const struct results_macc *m =
                    c ? cr_metric(c, all_und ? "ns_per_1024_rows_undisturbed" : "ns_per_1024_rows") : NULL;
                if (!m || m->n == 0)
                    continue;
                double *t = malloc(m->n * sizeof *t);
                if (!t)
                    continue;
                memcpy(t, m->v, m->n * sizeof *t);
                struct stats_summary s;
                if (stats_summarize(t, m->n, NULL, &s) == STATS_OK) {
                    if (ci < 0)
                        ci = plot_cat(p, cat);
                    if (ci >= 0 && s_idx[l] >= 0)
                        plot_set(p, s_idx[l], ci, s.median / 1e3, s.ci_lo / 1e3, s.ci_hi / 1e3);
                }
                free(t);
            }
        }
    }
    snprintf(p->note, sizeof p->note, "bars: median of the repetitions (undisturbed passes; † all passes, too few "
                                      "undisturbed ones); error bars: 95%% CI of the median");
    int rc = CONTENTION_REPORT_OK;
    int dfd = open(o->plot_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, err_len, "%s: cannot open the plot directory", o->plot_dir);
        plot_free(p);
        return CONTENTION_REPORT_EOUTPUT;
    }
    for (int which = 0; which < 2 && rc == 0; which++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.%s", o->plot_dir, name, which ? "gp" : "dat");
        FILE *f = fopen(path, "w");
        if (!f || (which ? plot_write_script(p, f) : plot_write_data(p, f)) != 0 || fclose(f) != 0) {
            snprintf(err, err_len, "%s: write failed", path);
            rc = CONTENTION_REPORT_EOUTPUT;
        }
        if (which)
            snprintf(sum->plot_gp, sizeof sum->plot_gp, "%.4000s", path);
    }
    if (rc == 0) {
        bool ok = false;
        char msg[256] = "", perr[256] = "";
        const char *names[1] = { name };
        int good = plot_render(dfd, names, 1, o->gnuplot, &ok, msg, sizeof msg, perr, sizeof perr);
        if (good == 1 && ok)
            snprintf(sum->plot_png, sizeof sum->plot_png, "%s/%s.png", o->plot_dir, name);
        else
            snprintf(sum->plot_msg, sizeof sum->plot_msg, "%.250s", good < 0 ? perr : msg);
    }
    close(dfd);
    plot_free(p);
    return rc;
}

int contention_report_write(const struct contention_report_opts *o, FILE *f, struct contention_report_summary *sum,
                            char *err, size_t err_len)
{
    memset(sum, 0, sizeof *sum);
    double alpha = o->alpha > 0 ? o->alpha : 0.01;
    double min_effect = o->min_effect > 0 ? o->min_effect : 0.05;
    struct cr_file st = { 0 }, cal = { 0 };
    int rc = cr_read(o->study_path, "contention", &st, err, err_len);
    if (rc == 0 && o->calib_path)
        rc = cr_read(o->calib_path, "contention_calib", &cal, err, err_len);
    if (rc != 0)
        goto out;

    if (o->calib_path)
        cr_calibration(&cal, f, alpha, min_effect, &sum->n_conclusions);
    else
        fprintf(f, "(no calibration results: the machine's false-sharing penalty is unknown here)\n\n");

    int groups[64];
    int ng = cr_groups(&st, groups, 64);
    int th[64], al[65];
    int nt = cr_distinct(&st, true, th, 64), na = cr_distinct(&st, false, al, 65);
    char notes[4][256];
    int n_notes = 0;
    double worst_share = -1;
    char worst_cfg[96] = "";

    fprintf(f, "## Study: time per 1024 rows by output layout (contention)\n\n");
    fprintf(f, "| op | type | align | threads | layout | time / 1024 rows (95%% CI) | vs padded | CPU time / 1024 rows | "
               "shared lines / op | dispatch | L1d misses / 1024 rows | coherence loads / 1024 rows |\n");
    fprintf(f, "|:--|:--|--:|--:|:--|--:|:--|--:|--:|--:|--:|--:|\n");
    for (int g = 0; g < ng; g++) {
        const struct cr_config *k = &st.c[groups[g]];
        for (int a = 0; a < na; a++)
            for (int i = 0; i < nt; i++)
                for (int l = 0; l < 3; l++) {
                    const struct cr_config *c = cr_find(&st, k, th[i], cr_layouts[l], al[a]);
                    if (!c)
                        continue;
                    const struct cr_config *pd = cr_find(&st, k, th[i], "padded", al[a]);
                    const struct results_macc *m, *mp;
                    bool und;
                    cr_pair(c, pd, "ns_per_1024_rows", &m, &mp, &und);
                    char t[32] = "n/a", lo[32] = "", hi[32] = "", vs[96] = "", l1[48], co[48], cpu[32];
                    if (m && m->n) {
                        double *x = malloc(m->n * sizeof *x);
                        struct stats_summary s;
                        if (x) {
                            memcpy(x, m->v, m->n * sizeof *x);
                            if (stats_summarize(x, m->n, NULL, &s) == STATS_OK) {
                                contention_report_fmt_ns(s.median, t, sizeof t);
                                contention_report_fmt_ns(s.ci_lo, lo, sizeof lo);
                                contention_report_fmt_ns(s.ci_hi, hi, sizeof hi);
                            }
                            free(x);
                        }
                    }
                    if (!und)
                        snprintf(t + strlen(t), sizeof t - strlen(t), " †");
                    if (pd && pd != c) {
                        struct cr_cmp cm = cr_compare(m, mp);
                        char p[32];
                        contention_report_fmt_p(cm.p, p, sizeof p);
                        if (cm.ok)
                            snprintf(vs, sizeof vs, "%.2f× (%s)", cm.ratio, p);
                    } else if (pd) {
                        snprintf(vs, sizeof vs, "1");
                    }
                    contention_report_fmt_ns(cr_median(cr_metric(c, "cpu_ns_per_1024_rows")), cpu, sizeof cpu);
                    double ds = cr_median(cr_metric(c, und ? "dispatch_share_undisturbed" : "dispatch_share"));
                    if (!isfinite(ds))
                        ds = cr_median(cr_metric(c, "dispatch_share"));
                    if (isfinite(ds) && ds > worst_share) {
                        worst_share = ds;
                        snprintf(worst_cfg, sizeof worst_cfg, "%s %s align %d, %d thread%s, %s%s", c->op, c->type,
                                 c->align, c->threads, c->threads == 1 ? "" : "s", c->layout,
                                 und ? "" : ", all passes");
                    }
                    cr_cell_counted(cr_metric(c, "l1d_misses_per_1024_rows"), l1, sizeof l1, notes, &n_notes,
                                    "L1d misses");
                    cr_cell_counted(cr_metric(c, "coherence_loads_per_1024_rows"), co, sizeof co, notes, &n_notes,
                                    "coherence loads");
                    double sl = cr_median(cr_metric(c, "shared_lines_per_op"));
                    double sf = cr_median(cr_metric(c, "shared_line_fraction"));
                    char ds_s[16] = "n/a";
                    if (isfinite(ds))
                        snprintf(ds_s, sizeof ds_s, "%.1f%%", ds * 100);
                    fprintf(f, "| %s | %s | %d | %d | %s | %s (%s–%s) | %s | %s | %.0f (%.0f%%) | %s | %s | %s |\n",
                            c->op, c->type, c->align, c->threads, c->layout, t, lo, hi, vs, cpu, sl, sf * 100, ds_s,
                            l1, co);
                }
    }
    fprintf(f, "\ntime: median over repetitions of each repetition's median pass, from the undisturbed passes "
               "(the pool's threads side by side on their CPUs, timed from the first start to the last end); † = too "
               "few of those on this busy machine, all passes (wall time of the dispatch). CPU time: the threads' summed CPU time. shared lines / op: output lines written by more "
               "than one thread in one sweep over the rows (derived from the engine's split; %% of the lines "
               "written). dispatch: the median share of a pass outside the threads' work (waking and joining the "
               "pool).\n");
    for (int i = 0; i < n_notes; i++)
        fprintf(f, "%s\n", notes[i]);
    fprintf(f, "\n## Conclusions (Mann-Whitney U over repetitions, alpha %.2g; ratios are Hodges-Lehmann shifts of "
               "log time with 95%% CI; a significant difference whose CI lies within %.0f%% is reported as none beyond "
               "it)\n\n", alpha, min_effect * 100);
    for (int g = 0; g < ng; g++) {
        const struct cr_config *k = &st.c[groups[g]];
        for (int a = 0; a < na; a++)
            for (int i = 0; i < nt; i++) {
                const struct cr_config *pd = cr_find(&st, k, th[i], "padded", al[a]);
                if (!pd)
                    continue;
                char line[1024];
                int w = snprintf(line, sizeof line, "%s %s, weights %d bytes past a line, %d thread%s: ", k->op,
                                 k->type, al[a], th[i], th[i] == 1 ? "" : "s");
                bool any = false;
                for (int l = 0; l < 2; l++) {
                    const struct cr_config *c = cr_find(&st, k, th[i], cr_layouts[l], al[a]);
                    if (!c)
                        continue;
                    const struct results_macc *m, *mp;
                    bool und;
                    cr_pair(c, pd, "ns_per_1024_rows", &m, &mp, &und);
                    struct cr_cmp cm = cr_compare(m, mp);
                    char what[64], v[320];
                    snprintf(what, sizeof what, "%s outputs%s", cr_layouts[l], und ? "" : " †");
                    cr_verdict(&cm, cr_detectable(m, mp, alpha), what, "padded", alpha, min_effect, v, sizeof v);
                    if (w > 0 && (size_t)w < sizeof line)
                        w += snprintf(line + w, sizeof line - (size_t)w, "%s%s", any ? "; " : "", v);
                    any = true;
                }
                if (any) {
                    fprintf(f, "- %s\n", line);
                    sum->n_conclusions++;
                }
            }
        /* alignment: padded, the fewest threads, against the first align */
        for (int a = 1; a < na; a++) {
            const struct cr_config *ref = cr_find(&st, k, th[0], "padded", al[0]);
            const struct cr_config *c = cr_find(&st, k, th[0], "padded", al[a]);
            if (!ref || !c)
                continue;
            const struct results_macc *m, *mr;
            bool und;
            cr_pair(c, ref, "ns_per_1024_rows", &m, &mr, &und);
            struct cr_cmp cm = cr_compare(m, mr);
            char what[96], refs[64], v[320];
            snprintf(what, sizeof what, "weights %d bytes past a line%s", al[a], und ? "" : " †");
            snprintf(refs, sizeof refs, "%d bytes", al[0]);
            cr_verdict(&cm, cr_detectable(m, mr, alpha), what, refs, alpha, min_effect, v, sizeof v);
            fprintf(f, "- %s %s, padded, %d thread%s: %s\n", k->op, k->type, th[0], th[0] == 1 ? "" : "s", v);
            sum->n_conclusions++;
        }
    }
    if (worst_share >= 0)
        fprintf(f, "- dispatch: at most %.1f%% of a pass (%s)%s\n", worst_share * 100, worst_cfg,
                worst_share < 0.05 ? ", under the 5% that would blur layout differences"
                                   : "; above 5%: the pool's wake-up and join weigh on these times");
    if (o->plot_dir && ng > 0 && na > 0) {
        rc = cr_plot(&st, o, groups, ng, al[0], sum, err, err_len);
        if (rc == 0) {
            if (sum->plot_png[0])
                fprintf(f, "\nplot: %s (script %s)\n", sum->plot_png, sum->plot_gp);
            else
                fprintf(f, "\nplot: %s written, not rendered: %s\n", sum->plot_gp, sum->plot_msg);
        }
    }
out:
    cr_file_free(&st);
    cr_file_free(&cal);
    return rc;
}
