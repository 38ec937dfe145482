/* conclude — declared comparisons turned into conclusion lines (see conclude.h). */
#include "reports/conclude.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/html.h"
#include "results/fmt.h"

#define LEVEL 0.95
#define ALPHA 0.05
#define MAX_CONCL 48
#define MAX_AB_LINES 6     /* A-vs-B lines beyond the declared ones: the most changed */

struct spec {
    char metric[METRIC_NAME_MAX];
    char axis[64], a[64], b[64];     /* AXIS=A vs B */
    int n_at;
    char at_k[8][64], at_v[8][64];
    char per[64];
};

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    size_t k = strspn(s, " \t");
    memmove(s, s + k, strlen(s + k) + 1);
}

/* "METRIC: AXIS=A vs B [at K=V,...] [per AXIS]" */
static int parse_spec(const char *text, struct spec *sp, char *err, size_t err_len)
{
    memset(sp, 0, sizeof *sp);
    char buf[512];
    report_str_fmt(buf, sizeof buf, "%s", text);
    char *colon = strchr(buf, ':');
    if (!colon)
        return report_fail(err, err_len, REPORT_EUSAGE,
                           "comparison '%s': expected METRIC: AXIS=A vs B [at AXIS=V,...] [per AXIS]", text);
    *colon = '\0';
    trim(buf);
    report_str_fmt(sp->metric, sizeof sp->metric, "%s", buf);
    char *words[16];
    int nw = 0;
    for (char *save = NULL, *w = strtok_r(colon + 1, " \t", &save); w && nw < 16; w = strtok_r(NULL, " \t", &save))
        words[nw++] = w;
    char *eq = nw >= 3 ? strchr(words[0], '=') : NULL;
    if (!sp->metric[0] || !eq || strcmp(words[1], "vs") != 0)
        return report_fail(err, err_len, REPORT_EUSAGE,
                           "comparison '%s': expected METRIC: AXIS=A vs B [at AXIS=V,...] [per AXIS]", text);
    *eq = '\0';
    report_str_fmt(sp->axis, sizeof sp->axis, "%s", words[0]);
    report_str_fmt(sp->a, sizeof sp->a, "%s", eq + 1);
    report_str_fmt(sp->b, sizeof sp->b, "%s", words[2]);
    for (int i = 3; i < nw; i += 2) {
        if (i + 1 >= nw)
            return report_fail(err, err_len, REPORT_EUSAGE, "comparison '%s': '%s' needs a value", text, words[i]);
        if (strcmp(words[i], "per") == 0) {
            report_str_fmt(sp->per, sizeof sp->per, "%s", words[i + 1]);
        } else if (strcmp(words[i], "at") == 0) {
            for (char *save = NULL, *kv = strtok_r(words[i + 1], ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                char *e = strchr(kv, '=');
                if (!e || e == kv || sp->n_at == 8)
                    return report_fail(err, err_len, REPORT_EUSAGE, "comparison '%s': '%s' is not AXIS=VALUE", text,
                                       kv);
                *e = '\0';
                report_str_fmt(sp->at_k[sp->n_at], sizeof sp->at_k[0], "%s", kv);
                report_str_fmt(sp->at_v[sp->n_at++], sizeof sp->at_v[0], "%s", e + 1);
            }
        } else {
            return report_fail(err, err_len, REPORT_EUSAGE, "comparison '%s': unknown word '%s' (at, per)", text,
                               words[i]);
        }
    }
    return REPORT_OK;
}

/* ---- samples ---------------------------------------------------------------------------- */

int report_row_samples(struct report *rp, const struct rep_row *r, const char *name, double **v, size_t *n)
{
    struct rep_run *run = &rp->runs[r->run];
    json_int_t cfg = json_integer_value(json_object_get(r->cs, "config"));
    char e[256];
    size_t cap = 16;
    *n = 0;
    if (!(*v = malloc(cap * sizeof **v)))
        return REPORT_ENOMEM;
    if (results_reader_rewind(run->rd, e, sizeof e) != 0)
        return REPORT_EINPUT;
    json_t *s;
    int got;
    while ((got = results_reader_next(run->rd, &s, e, sizeof e)) > 0) {
        if (json_integer_value(json_object_get(s, "config")) == cfg && json_is_true(json_object_get(s, "ok"))) {
            size_t i;
            json_t *m;
            json_array_foreach(json_object_get(s, "metrics"), i, m) {
                const char *mn = json_string_value(json_object_get(m, "name"));
                const char *st = json_string_value(json_object_get(m, "status"));
                json_t *val = json_object_get(m, "value");
                if (!mn || strcmp(mn, name) != 0 || !st || strcmp(st, "ok") != 0 || !json_is_number(val))
                    continue;
                if (*n == cap) {
                    double *p = realloc(*v, 2 * cap * sizeof *p);
                    if (!p) {
                        json_decref(s);
                        return REPORT_ENOMEM;
                    }
                    *v = p;
                    cap *= 2;
                }
                (*v)[(*n)++] = json_number_value(val);
            }
        }
        json_decref(s);
    }
    return got < 0 ? REPORT_EINPUT : REPORT_OK;
}

/* ---- wording ------------------------------------------------------------------------------ */

/* +1: larger is better (rates), -1: smaller is better (times), 0: neither. */
static int direction(const struct rep_col *col)
{
    size_t n = strlen(col->unit);
    if (strcmp(col->unit, "ns") == 0)
        return -1;
    if (n > 2 && strcmp(col->unit + n - 2, "/s") == 0)
        return 1;
    return 0;
}

/* "46× less" / "12% more" for a ratio q = A / B. */
static void ratio_words(double q, char *buf, size_t len)
{
    char r[32];
    if (q >= 1.5) {
        fmt_ratio(r, sizeof r, q);
        report_str_fmt(buf, len, "%s more", r);
    } else if (q <= 1 / 1.5) {
        fmt_ratio(r, sizeof r, 1 / q);
        report_str_fmt(buf, len, "%s less", r);
    } else {
        double pct = (q - 1) * 100;
        report_str_fmt(buf, len, "%.*f%% %s", fabs(pct) < 10 ? 1 : 0, fabs(pct), pct >= 0 ? "more" : "less");
    }
}

/* The CI in the same words as the estimate: "41–50×" or "8.1–15%". */
static void ci_words(double q, double lo, double hi, char *buf, size_t len)
{
    char a[32], b[32];
    if (q >= 1.5) {
        fmt_ratio(a, sizeof a, lo);
        fmt_ratio(b, sizeof b, hi);
    } else if (q <= 1 / 1.5) {
        fmt_ratio(a, sizeof a, 1 / hi);
        fmt_ratio(b, sizeof b, 1 / lo);
    } else {
        report_str_fmt(a, sizeof a, "%+.1f%%", (lo - 1) * 100);
        report_str_fmt(b, sizeof b, "%+.1f%%", (hi - 1) * 100);
    }
    report_str_fmt(buf, len, "%s to %s", a, b);
}

static void value_text(const struct rep_col *col, double v, char *buf, size_t len)
{
    if (strcmp(col->unit, "fraction") == 0)
        report_str_fmt(buf, len, "%.1f%%", v * 100);
    else
        fmt_value(buf, len, v, col->unit);
}

/* Fill c's text from the effect of samples of row_a against row_b. */
static void word_line(const struct report *rp, const struct rep_group *g, const struct rep_col *col, const char *what_a,
                      const char *what_b, const struct effect *e, struct rep_conclusion *c)
{
    char ma[48], mb[48], main[200], tail[240];
    value_text(col, e->median_b, ma, sizeof ma);  /* b is the subject (A) */
    value_text(col, e->median_a, mb, sizeof mb);
    int dir = direction(col);
    if (e->too_few) {
        report_str_fmt(main, sizeof main, "too few repetitions to tell");
        report_str_fmt(tail, sizeof tail, "n = %zu vs %zu: the smallest possible p is %.2g", e->n2, e->n1, e->p_min);
    } else if (!e->significant) {
        char det[32] = "unknown";
        if (isfinite(e->detectable))
            report_str_fmt(det, sizeof det, "%.*f%%", e->detectable < 0.1 ? 1 : 0, e->detectable * 100);
        char p[24];
        fmt_p(p, sizeof p, e->p);
        report_str_fmt(main, sizeof main, "no difference detected (smallest detectable %s)", det);
        report_str_fmt(tail, sizeof tail, "%s; n = %zu vs %zu", p, e->n2, e->n1);
    } else if (e->ratio) {
        char w[48], ci[64], p[24];
        ratio_words(e->est, w, sizeof w);
        ci_words(e->est, e->lo, e->hi, ci, sizeof ci);
        fmt_p(p, sizeof p, e->p);
        const char *better = dir == 0 ? "" : (e->est > 1) == (dir > 0) ? " (better)" : " (worse)";
        report_str_fmt(main, sizeof main, "%s%s", w, better);
        report_str_fmt(tail, sizeof tail, "%.1f%% CI %s; %s; n = %zu vs %zu", e->coverage * 100, ci, p, e->n2, e->n1);
    } else {
        char d[48], lo[48], hi[48], p[24];
        value_text(col, e->est, d, sizeof d);
        value_text(col, e->lo, lo, sizeof lo);
        value_text(col, e->hi, hi, sizeof hi);
        fmt_p(p, sizeof p, e->p);
        report_str_fmt(main, sizeof main, "%s%s", e->est > 0 ? "+" : "", d);
        report_str_fmt(tail, sizeof tail, "%.1f%% CI %s to %s; %s; n = %zu vs %zu", e->coverage * 100, lo, hi, p,
                       e->n2, e->n1);
    }
    report_str_fmt(c->lead, sizeof c->lead, "%s%s%s — %s: %s %s vs %s %s", g->workload, c->context[0] ? ", " : "",
                   c->context, col->label, what_a, ma, what_b, mb);
    report_str_fmt(c->text, sizeof c->text, "%s: %s (%s)", c->lead, main, tail);
    c->significant = e->significant;
    c->too_few = e->too_few;
    c->no_difference = !e->significant && !e->too_few;
    c->ratio = e->ratio ? e->est : NAN;
    c->lo = e->ratio ? e->lo : NAN;
    c->hi = e->ratio ? e->hi : NAN;
    c->coverage = e->coverage;
    (void)rp;
}

static bool cell_noisy(const struct rep_row *r, const char *metric)
{
    return json_is_true(json_object_get(report_metric(r->cs, metric), "noisy"));
}

static struct rep_conclusion *new_concl(struct report *rp)
{
    if (rp->n_concl == MAX_CONCL)
        return NULL;
    if (!rp->concl && !(rp->concl = calloc(MAX_CONCL, sizeof *rp->concl)))
        return NULL;
    struct rep_conclusion *c = &rp->concl[rp->n_concl];
    memset(c, 0, sizeof *c);
    return c;
}

/* Compare rows ia (subject) and ib (reference) of group gi on col. */
static int compare_rows(struct report *rp, int gi, int ia, int ib, const struct rep_col *col, const char *spec,
                        const char *context, const char *what_a, const char *what_b)
{
    struct rep_group *g = &rp->groups[gi];
    for (int i = 0; i < rp->n_concl; i++)
        if (rp->concl[i].group == gi && rp->concl[i].row_a == ia && rp->concl[i].row_b == ib &&
            strcmp(rp->concl[i].metric, col->name) == 0)
            return REPORT_OK; /* declared twice (the study and --compare) */
    struct rep_conclusion *c = new_concl(rp);
    if (!c)
        return rp->concl ? REPORT_OK : REPORT_ENOMEM;
    double *va = NULL, *vb = NULL;
    size_t na = 0, nb = 0;
    int rc = report_row_samples(rp, &g->rows[ia], col->name, &va, &na);
    if (rc == 0)
        rc = report_row_samples(rp, &g->rows[ib], col->name, &vb, &nb);
    if (rc != 0) {
        free(va);
        free(vb);
        return rc;
    }
    c->group = gi;
    report_str_fmt(c->metric, sizeof c->metric, "%s", col->name);
    c->row_a = ia;
    c->row_b = ib;
    report_str_fmt(c->spec, sizeof c->spec, "%s", spec);
    report_str_fmt(c->context, sizeof c->context, "%s", context);
    struct effect e;
    if (na == 0 || nb == 0 || effect_compare(vb, nb, va, na, LEVEL, ALPHA, &e) != EFFECT_OK) {
        report_str_fmt(c->lead, sizeof c->lead, "%s%s%s — %s: %s vs %s", g->workload, context[0] ? ", " : "", context,
                       col->label, what_a, what_b);
        report_str_fmt(c->text, sizeof c->text, "%s: not measured in %s", c->lead,
                       na == 0 && nb == 0 ? "either" : na == 0 ? what_a : what_b);
        c->ratio = c->lo = c->hi = NAN;
    } else {
        word_line(rp, g, col, what_a, what_b, &e, c);
        c->flagged = cell_noisy(&g->rows[ia], col->name) || cell_noisy(&g->rows[ib], col->name);
        const struct rep_row *nr = cell_noisy(&g->rows[ia], col->name) ? &g->rows[ia] : &g->rows[ib];
        const char *w = json_string_value(json_object_get(report_metric(nr->cs, col->name), "warning"));
        if (c->flagged)
            report_str_fmt(c->why, sizeof c->why, "%s", w ? w : "spread too wide to trust");
    }
    rp->n_concl++;
    free(va);
    free(vb);
    return REPORT_OK;
}

static int col_of(const struct rep_group *g, const char *name)
{
    for (int c = 0; c < g->n_cols; c++)
        if (strcmp(g->cols[c].name, name) == 0)
            return c;
    return -1;
}

/* The first row of run `run` whose axes match every (k, v) pair. */
static int find_row(const struct rep_group *g, int run, const char *const *k, const char *const *v, int n)
{
    for (int i = 0; i < g->n_rows; i++) {
        if (run >= 0 && g->rows[i].run != run)
            continue;
        bool all = true;
        for (int j = 0; j < n && all; j++)
            all = strcmp(report_axis(&g->rows[i], k[j]), v[j]) == 0;
        if (all)
            return i;
    }
    return -1;
}

/* One spec on group gi (only for the runs that declared it: decl_run, or
 * every run with -1). */
static int apply_spec(struct report *rp, int gi, const struct spec *sp, const char *text, int decl_run, int *matched)
{
    struct rep_group *g = &rp->groups[gi];
    int ci = col_of(g, sp->metric);
    if (ci < 0 || report_axis_index(g, sp->axis) < 0)
        return REPORT_OK;
    /* the contexts: each value of the per axis (or one) */
    const char *per_vals[32];
    int n_per = 0;
    if (sp->per[0]) {
        if (report_axis_index(g, sp->per) < 0)
            return REPORT_OK;
        for (int i = 0; i < g->n_rows && n_per < 32; i++) {
            const char *v = report_axis(&g->rows[i], sp->per);
            bool seen = false;
            for (int k = 0; k < n_per; k++)
                seen = seen || strcmp(per_vals[k], v) == 0;
            if (!seen)
                per_vals[n_per++] = v;
        }
    } else {
        per_vals[n_per++] = NULL;
    }
    for (int k = 0; k < g->n_runs; k++) {
        int run = g->runs[k];
        if (decl_run >= 0 && run != decl_run)
            continue;
        for (int pv = 0; pv < n_per; pv++) {
            const char *keys[12], *vals[12];
            int n = 0;
            for (int j = 0; j < sp->n_at; j++) {
                keys[n] = sp->at_k[j];
                vals[n++] = sp->at_v[j];
            }
            if (per_vals[pv]) {
                keys[n] = sp->per;
                vals[n++] = per_vals[pv];
            }
            keys[n] = sp->axis;
            vals[n] = sp->a;
            int ia = find_row(g, run, keys, vals, n + 1);
            vals[n] = sp->b;
            int ib = find_row(g, run, keys, vals, n + 1);
            if (ia < 0 || ib < 0)
                continue;
            ++*matched;
            /* the context: the fixed axes, then other varying axes at the
             * subject row's values (the sweep's first, unless named) */
            char ctx[200] = "";
            if (g->n_runs > 1)
                report_str_fmt(ctx, sizeof ctx, "%s", rp->runs[run].label);
            for (int a = 0; a < g->n_axes; a++) {
                if (!g->axis_varies[a] || strcmp(g->axes[a], sp->axis) == 0)
                    continue;
                const char *va = report_axis(&g->rows[ia], g->axes[a]);
                if (strcmp(va, report_axis(&g->rows[ib], g->axes[a])) != 0)
                    continue;
                size_t used = strlen(ctx);
                report_str_fmt(ctx + used, sizeof ctx - used, "%s%s=%s", used ? ", " : "", g->axes[a], va);
            }
            /* "threads=2 vs threads=1" reads on its own; "2 vs 1" does not */
            char wa[160], wb[160];
            report_str_fmt(wa, sizeof wa, "%s=%s", sp->axis, sp->a);
            report_str_fmt(wb, sizeof wb, "%s=%s", sp->axis, sp->b);
            int rc = compare_rows(rp, gi, ia, ib, &g->cols[ci], text, ctx, wa, wb);
            if (rc != 0)
                return rc;
        }
    }
    return REPORT_OK;
}

/* Two runs of one workload: the second against the first, per configuration. */
static int a_vs_b(struct report *rp, int gi)
{
    struct rep_group *g = &rp->groups[gi];
    if (g->n_runs != 2 || g->headline < 0)
        return REPORT_OK;
    const struct rep_col *col = &g->cols[g->headline];
    int ra = g->runs[1], rb = g->runs[0];
    int first = rp->n_concl;
    for (int i = 0; i < g->n_rows; i++) {
        if (g->rows[i].run != ra)
            continue;
        /* the same configuration in the first run */
        int j;
        for (j = 0; j < g->n_rows; j++) {
            if (g->rows[j].run != rb)
                continue;
            bool same = true;
            for (int a = 0; a < g->n_axes && same; a++)
                same = strcmp(report_axis(&g->rows[i], g->axes[a]), report_axis(&g->rows[j], g->axes[a])) == 0;
            if (same)
                break;
        }
        if (j == g->n_rows)
            continue;
        char ctx[200] = "";
        for (int a = 0; a < g->n_axes; a++) {
            if (!g->axis_varies[a])
                continue;
            size_t used = strlen(ctx);
            report_str_fmt(ctx + used, sizeof ctx - used, "%s%s=%s", used ? ", " : "", g->axes[a],
                           report_axis(&g->rows[i], g->axes[a]));
        }
        int rc = compare_rows(rp, gi, i, j, col, "A vs B", ctx, rp->runs[ra].label, rp->runs[rb].label);
        if (rc != 0)
            return rc;
        /* every configuration's ratio, for the A-vs-B plot (the lines keep the most changed) */
        const struct rep_conclusion *c = &rp->concl[rp->n_concl - 1];
        struct rep_ab *ab = realloc(g->ab, (size_t)(g->n_ab + 1) * sizeof *ab);
        if (!ab)
            return REPORT_ENOMEM;
        g->ab = ab;
        g->ab[g->n_ab++] = (struct rep_ab){ i, c->ratio, c->lo, c->hi, c->coverage, c->significant };
    }
    /* keep the significant and the most changed first, at most MAX_AB_LINES */
    int n = rp->n_concl - first;
    for (int x = first + 1; x < rp->n_concl; x++)
        for (int y = x; y > first; y--) {
            struct rep_conclusion *p = &rp->concl[y - 1], *q = &rp->concl[y];
            double dp = isfinite(p->ratio) ? fabs(log(p->ratio)) : 0, dq = isfinite(q->ratio) ? fabs(log(q->ratio)) : 0;
            bool swap = (q->significant && !p->significant) || (q->significant == p->significant && dq > dp);
            if (!swap)
                break;
            struct rep_conclusion t = *p;
            *p = *q;
            *q = t;
        }
    if (n > MAX_AB_LINES)
        rp->n_concl = first + MAX_AB_LINES;
    return REPORT_OK;
}

/* Every row's headline against the baseline row's, for the ÷ base column. */
static int test_vs_base(struct report *rp, int gi)
{
    struct rep_group *g = &rp->groups[gi];
    if (g->headline < 0 || g->base_row < 0 || g->n_rows < 2)
        return REPORT_OK;
    const char *name = g->cols[g->headline].name;
    double *vb = NULL;
    size_t nb = 0;
    int rc = report_row_samples(rp, &g->rows[g->base_row], name, &vb, &nb);
    for (int i = 0; i < g->n_rows && rc == 0; i++) {
        double *v = NULL;
        size_t n = 0;
        struct effect e;
        rc = report_row_samples(rp, &g->rows[i], name, &v, &n);
        if (rc == 0 && n && nb && effect_compare(vb, nb, v, n, LEVEL, ALPHA, &e) == EFFECT_OK)
            g->rows[i].vs_base = e.significant ? 1 : 0;
        free(v);
    }
    free(vb);
    return rc == REPORT_ENOMEM ? REPORT_ENOMEM : REPORT_OK;
}

int conclude(struct report *rp, const char *extra, char *err, size_t err_len)
{
    for (int gi = 0; gi < rp->n_groups; gi++) {
        struct rep_group *g = &rp->groups[gi];
        for (int k = 0; k < g->n_runs; k++) {
            int run = g->runs[k];
            size_t i;
            json_t *t;
            json_array_foreach(json_object_get(json_object_get(rp->runs[run].header, "study"), "compare"), i, t) {
                struct spec sp;
                const char *text = json_string_value(t);
                if (!text || parse_spec(text, &sp, err, err_len) != 0) {
                    /* a header written by another version: say so, go on */
                    report_warn(rp, "%s: a declared comparison does not parse: %s", rp->runs[run].base,
                                text ? text : "(not a string)");
                    continue;
                }
                int matched = 0;
                int rc = apply_spec(rp, gi, &sp, text, run, &matched);
                if (rc != 0)
                    return report_fail(err, err_len, rc, "report: %s while concluding",
                                       rc == REPORT_ENOMEM ? "out of memory" : "a corrupt results file");
            }
        }
    }
    if (extra && *extra) {
        char buf[2048];
        report_str_fmt(buf, sizeof buf, "%s", extra);
        for (char *save = NULL, *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
            struct spec sp;
            trim(t);
            if (!*t)
                continue;
            int rc = parse_spec(t, &sp, err, err_len);
            if (rc != 0)
                return rc;
            int matched = 0;
            for (int gi = 0; gi < rp->n_groups && rc == 0; gi++)
                rc = apply_spec(rp, gi, &sp, t, -1, &matched);
            if (rc != 0)
                return report_fail(err, err_len, rc, "report: out of memory while concluding");
            if (matched == 0)
                return report_fail(err, err_len, REPORT_EUSAGE,
                                   "--compare '%s': no workload has metric %s, axis %s and rows with %s=%s and %s=%s",
                                   t, sp.metric, sp.axis, sp.axis, sp.a, sp.axis, sp.b);
        }
    }
    for (int gi = 0; gi < rp->n_groups; gi++) {
        int rc = a_vs_b(rp, gi);
        if (rc == 0)
            rc = test_vs_base(rp, gi);
        if (rc != 0)
            return report_fail(err, err_len, rc, "report: out of memory while concluding");
    }
    return REPORT_OK;
}

/* ---- writing ----------------------------------------------------------------------------------- */

static const char *question_of(const struct report *rp, int gi)
{
    const struct rep_group *g = &rp->groups[gi];
    for (int k = 0; k < g->n_runs; k++) {
        const char *q = json_string_value(
            json_object_get(json_object_get(rp->runs[g->runs[k]].header, "study"), "question"));
        if (q && *q)
            return q;
    }
    return NULL;
}

static const char how_to_read[] =
    "Each line: the medians of the two configurations, then the effect (a Hodges-Lehmann ratio of the "
    "repetitions) with its confidence interval at its exact coverage and the two-sided Mann-Whitney p. "
    "No difference detected: the interval holds 1, and a change beyond the smallest detectable size would "
    "have fallen outside it.";

void conclude_write_md(const struct report *rp, FILE *f)
{
    if (rp->n_concl == 0)
        return;
    fputs("## Conclusions\n\n", f);
    int last = -1;
    for (int i = 0; i < rp->n_concl; i++) {
        const struct rep_conclusion *c = &rp->concl[i];
        if (c->group != last) {
            const char *q = question_of(rp, c->group);
            if (q)
                fprintf(f, "%s*%s*\n\n", last >= 0 ? "\n" : "", q);
            last = c->group;
        }
        fprintf(f, "- **%s**%s", c->lead, c->text + strlen(c->lead));
        if (c->flagged)
            fprintf(f, " — ~ rests on a cell flagged as noisy: %s", c->why);
        fputc('\n', f);
    }
    fprintf(f, "\n%s\n\n", how_to_read);
}

void conclude_write_html(const struct report *rp, FILE *f)
{
    if (rp->n_concl == 0)
        return;
    fputs("<section id=\"conclusions\"><h2>Conclusions</h2>\n", f);
    int last = -1;
    for (int i = 0; i < rp->n_concl; i++) {
        const struct rep_conclusion *c = &rp->concl[i];
        if (c->group != last) {
            if (last >= 0)
                fputs("</ul>\n", f);
            const char *q = question_of(rp, c->group);
            if (q) {
                fputs("<p class=\"q\">", f);
                html_escape(f, q);
                fputs("</p>\n", f);
            }
            fputs("<ul class=\"concl\">\n", f);
            last = c->group;
        }
        fprintf(f, "<li class=\"%s\"><b>", c->significant ? "sig" : "ns");
        html_escape(f, c->lead);
        fputs("</b>", f);
        html_escape(f, c->text + strlen(c->lead));
        if (c->flagged) {
            fputs(" <span class=\"warn\">— ~ rests on a cell flagged as noisy: ", f);
            html_escape(f, c->why);
            fputs("</span>", f);
        }
        fputs("</li>\n", f);
    }
    fputs("</ul>\n<p class=\"notes\">", f);
    html_escape(f, how_to_read);
    fputs("</p>\n</section>\n", f);
}
