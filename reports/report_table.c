/* report_table — the comparison tables of a report: cells (median ± spread,
 * not-supported and not-counted marks with their footnotes), the ratio
 * column, and the Markdown and HTML renderings with their notes. */
#include "reports/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/html.h"
#include "results/fmt.h"

#define METRICS_PER_TABLE 6
#define MAX_NOTES 64
#define CELL_MAX 96

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
    report_str_fmt(nt->text[nt->n], sizeof nt->text[0], "%s", text);
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
        report_str_fmt(nt->warn[nt->n_warn], sizeof nt->warn[0], "%s", w);
        nt->warn_count[nt->n_warn++] = 1;
    }
}

static void cell_text(const struct report *rp, const struct rep_group *g, const struct rep_row *row,
                      const struct rep_col *col, struct notes *nt, char *buf, size_t len)
{
    const json_t *m = report_metric(row->cs, col->name);
    json_int_t n_ok = json_integer_value(json_object_get(row->cs, "n_ok"));
    if (!m) {
        report_str_fmt(buf, len, "%s", n_ok == 0 ? "failed" : "–");
        return;
    }
    const char *st = json_string_value(json_object_get(m, "status"));
    if (report_metric_ok(m)) {
        double med = json_number_value(json_object_get(m, "median")) / col->div;
        double mad = json_number_value(json_object_get(m, "mad")) / col->div;
        bool noisy = json_is_true(json_object_get(m, "noisy"));
        if (noisy)
            note_noisy(nt, json_string_value(json_object_get(m, "warning")));
        if (strcmp(col->unit, "bool") == 0) {
            report_str_fmt(buf, len, "%s%s", noisy ? "~" : "", med == 1 ? "yes" : med == 0 ? "no" : "mixed");
            return;
        }
        const char *mark = noisy ? "~" : "";
        if (col->per_cell) {
            /* this cell's own unit: the column spans too many magnitudes */
            double raw = med * col->div, rawmad = mad * col->div;
            char v[48];
            if (col->per_cell == 1) {
                struct fmt_scale sc = fmt_scale_for(col->unit, raw);
                fmt_estimate(v, sizeof v, raw / sc.div, rawmad / sc.div);
                report_str_fmt(buf, len, "%s%s %s", mark, v, sc.unit);
            } else {
                static const struct { double f; const char *p; } si[] = { { 1e12, "T" }, { 1e9, "G" },
                                                                          { 1e6, "M" }, { 1e3, "k" } };
                double div = 1;
                const char *pre = "";
                for (size_t k = 0; k < sizeof si / sizeof si[0]; k++)
                    if (fabs(raw) >= si[k].f) {
                        div = si[k].f;
                        pre = si[k].p;
                        break;
                    }
                fmt_estimate(v, sizeof v, raw / div, rawmad / div);
                report_str_fmt(buf, len, "%s%s%s", mark, v, pre);
            }
            return;
        }
        char v[48];
        fmt_estimate(v, sizeof v, med, mad);
        report_str_fmt(buf, len, "%s%s", mark, v);
        return;
    }
    bool notc = st && strcmp(st, "not counted") == 0;
    const char *reason = json_string_value(json_object_get(m, "reason"));
    char text[320];
    report_str_fmt(text, sizeof text, "%s: %s: %s", col->name, notc ? "not counted" : "not supported",
             reason && *reason ? reason : "no reason recorded");
    int k = note_add(nt, text);
    report_str_fmt(buf, len, "%s [%d]", notc ? "n/c" : "n/s", k);
    (void)rp;
    (void)g;
}

static void reps_text(const struct report *rp, const struct rep_group *g, const struct rep_row *row,
                      struct notes *nt, char *buf, size_t len)
{
    json_int_t n_ok = json_integer_value(json_object_get(row->cs, "n_ok"));
    json_int_t n_reps = json_integer_value(json_object_get(row->cs, "n_reps"));
    if (n_ok == n_reps) {
        report_str_fmt(buf, len, "%" JSON_INTEGER_FORMAT, n_reps);
        return;
    }
    char label[256], text[320];
    report_row_label(rp, g, row, NULL, true, label, sizeof label);
    const char *e = json_string_value(json_array_get(json_object_get(row->cs, "errors"), 0));
    report_str_fmt(text, sizeof text, "%s: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " repetitions failed: %s",
             label[0] ? label : "this configuration", n_reps - n_ok, n_reps, e ? e : "no message");
    report_str_fmt(buf, len, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " [%d]", n_ok, n_reps, note_add(nt, text));
}

static void ratio_text(const struct rep_group *g, const struct rep_row *row, char *buf, size_t len)
{
    double v, b;
    if (g->headline < 0 || g->base_row < 0 || !report_median(row, g->cols[g->headline].name, &v, NULL, NULL) ||
        !report_median(&g->rows[g->base_row], g->cols[g->headline].name, &b, NULL, NULL) || b == 0) {
        report_str_fmt(buf, len, "–");
        return;
    }
    char r[32];
    fmt_ratio(r, sizeof r, v / b);
    /* a ratio the repetitions do not support is marked, not shown as an effect */
    report_str_fmt(buf, len, "%s%s", r, row != &g->rows[g->base_row] && row->vs_base == 0 ? " n.s." : "");
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
        report_str_fmt(t->head[k++], sizeof t->head[0], "%s", g->label_kind);
    for (int a = 0; a < na; a++)
        report_str_fmt(t->head[k++], sizeof t->head[0], "%s", g->axes[axes_idx[a]]);
    t->right[k] = true;
    report_str_fmt(t->head[k++], sizeof t->head[0], "reps");
    int ratio_at = -1;
    for (int c = c0; c < c1; c++) {
        const struct rep_col *col = &g->cols[c];
        t->right[k] = true;
        /* one unit per column, named once; the counter source after it */
        const char *u = col->per_cell == 1 ? "" : col->per_cell == 2 ? report_unit_shown(col->unit) : col->disp_unit;
        if (u[0] && strcmp(u, col->label) != 0)
            report_str_fmt(t->head[k++], sizeof t->head[0], "%s (%s) · %s", col->label, u, col->source);
        else
            report_str_fmt(t->head[k++], sizeof t->head[0], "%s · %s", col->label, col->source);
        if (ratio && c == g->headline) {
            ratio_at = k;
            t->right[k] = true;
            report_str_fmt(t->head[k++], sizeof t->head[0], "÷ base");
        }
    }
    for (int i = 0; i < g->n_rows; i++) {
        const struct rep_row *row = &g->rows[i];
        char(*cells)[CELL_MAX] = &t->cell[(size_t)i * (size_t)t->n_cols];
        k = 0;
        if (label)
            report_str_fmt(cells[k++], CELL_MAX, "%s", rp->runs[row->run].label);
        for (int a = 0; a < na; a++) {
            const char *v = report_axis(row, g->axes[axes_idx[a]]);
            report_str_fmt(cells[k++], CELL_MAX, "%s", *v ? v : "–");
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
        if (col->unresolved || !report_median(&g->rows[0], col->name, &v, NULL, NULL))
            continue;
        char num[64];
        v /= col->div;
        if (strcmp(col->unit, "bool") == 0)
            report_str_fmt(num, sizeof num, "%s", v == 1 ? "yes" : v == 0 ? "no" : "mixed");
        else if (!col->disp_unit[0] || strcmp(col->disp_unit, col->label) == 0)
            fmt_sig(num, sizeof num, v, v == floor(v) ? 1 : 3);
        else {
            char n3[48];
            fmt_sig(n3, sizeof n3, v, v == floor(v) ? 1 : 3);
            report_str_fmt(num, sizeof num, "%s%s%s", n3, strcmp(col->disp_unit, "%") == 0 ? "" : " ", col->disp_unit);
        }
        size_t used = strlen(buf);
        report_str_fmt(buf + used, len - used, "%s%s %s (%s)", used ? ", " : "", col->label, num, col->source);
    }
}

void report_md_cell(FILE *f, const char *s)
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
        report_md_cell(f, t->head[c]);
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
            report_md_cell(f, s);
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


int report_group_tables(const struct report *rp, const struct rep_group *g, FILE *md, FILE *html)
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
    report_base_text(rp, g, base, sizeof base);
    const char *hl = g->headline >= 0 ? g->cols[g->headline].label : NULL;
    bool tested = false;
    for (int i = 0; i < g->n_rows; i++)
        tested = tested || g->rows[i].vs_base >= 0;
    char same[2048];
    constants_text(g, same, sizeof same);
    if (md) {
        if (same[0])
            fprintf(f, "Same in every row: %s.\n\n", same);
        if (g->unresolved[0])
            fprintf(f, "Not shown: %s — equal to the maximum in every row (too few values per repetition to "
                       "resolve them).\n\n", g->unresolved);
        fputs("Cells: median ± MAD over the successful repetitions", f);
        if (hl && g->n_rows > 1)
            fprintf(f, "; ÷ base: %s as a ratio to the baseline row (**%s**)%s", hl, base,
                    tested ? ", n.s. where the difference is not significant (Mann-Whitney p ≥ 0.05)" : "");
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
        if (g->unresolved[0]) {
            fputs("<p>Not shown: ", f);
            html_escape(f, g->unresolved);
            fputs(" — equal to the maximum in every row (too few values per repetition to resolve them).</p>\n", f);
        }
        fputs("<p>Cells: median ± MAD over the successful repetitions", f);
        if (hl && g->n_rows > 1) {
            fputs("; ÷ base: ", f);
            html_escape(f, hl);
            fputs(" as a ratio to the baseline row (<b>", f);
            html_escape(f, base);
            fputs("</b>)", f);
            if (tested)
                fputs(", n.s. where the difference is not significant (Mann-Whitney p ≥ 0.05)", f);
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


int report_write_tables_md(const struct report *r, FILE *f)
{
    for (int gi = 0; gi < r->n_groups; gi++) {
        report_heading_md(r, &r->groups[gi], f);
        if (report_group_tables(r, &r->groups[gi], f, NULL) != 0)
            return REPORT_ENOMEM;
    }
    return ferror(f) ? REPORT_EOUTPUT : REPORT_OK;
}

