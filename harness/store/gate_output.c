/* gate_output.c — the gate report for people and programs: the verdict and
 * evidence names, the Markdown summary (a PR comment) and the JSON
 * document. Separate from gate.c and gate_stats.c because it only reads a
 * finished gate_report and decides nothing. */
#include "harness/store/gate.h"

#include <math.h>

#include "results/fmt.h"

const char *gate_verdict_name(enum gate_verdict v)
{
    static const char *const names[GATE_VERDICT_COUNT] = { "regressed", "undecided", "improved", "not gated",
                                                           "unchanged" };
    return (unsigned)v < GATE_VERDICT_COUNT ? names[v] : "unknown";
}

const char *gate_kind_name(enum gate_kind k)
{
    return k == GATE_KIND_DETERMINISTIC ? "deterministic" : "statistical (U test, Holm)";
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
    case GATE_UNDECIDED: return "❔ undecided";
    case GATE_IMPROVED: return "✅ improved";
    case GATE_NOT_GATED: return "⚪ not gated";
    case GATE_UNCHANGED: return "➖ unchanged";
    default: return "?";
    }
}

static void fmt_pct(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "—");
    else if (isinf(v))
        snprintf(buf, len, "%s∞", v > 0 ? "+" : "−");
    else
        snprintf(buf, len, "%+.2f%%", v * 100);
}

static void md_row(FILE *f, const struct gate_row *row)
{
    char b[64], c[64], ch[48], p[48], lo[24], hi[24], mde[32];
    fmt_value(b, sizeof b, row->base_median, row->unit);
    fmt_value(c, sizeof c, row->cur_median, row->unit);
    fmt_change(ch, sizeof ch, row);
    if (isnan(row->p))
        snprintf(p, sizeof p, "—");
    else if (isnan(row->p_adj))
        snprintf(p, sizeof p, "%.2g", row->p);
    else
        snprintf(p, sizeof p, "%.2g (Holm %.2g)", row->p, row->p_adj);
    fmt_pct(lo, sizeof lo, row->ci_lo);
    fmt_pct(hi, sizeof hi, row->ci_hi);
    if (isnan(row->mde))
        snprintf(mde, sizeof mde, "—");
    else
        snprintf(mde, sizeof mde, "%.2g%%", row->mde * 100);
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
    fprintf(f, " | %s | %s | %s | ", b, c, ch);
    if (isnan(row->ci_lo))
        fputs("—", f);
    else
        fprintf(f, "%s … %s", lo, hi);
    fprintf(f, " | %s | %s | %zu / %zu | ", p, mde, row->n_base, row->n_cur);
    if (row->metric[0] == '(')
        fputs("—", f);
    else if (!row->sem.kind)
        fputs("undeclared", f);
    else
        fprintf(f, "%s, %s is better%s", metric_kind_name(row->sem.kind), metric_better_name(row->sem.better),
                row->gated ? "" : "");
    if (row->gated)
        fprintf(f, ", %s, %g%%", row->paired ? "paired (signed-rank, Holm)" : gate_kind_name(row->kind),
                row->threshold * 100);
    fputs(" | ", f);
    md_text(f, row->note);
    fputs(" |\n", f);
}

static void md_table_head(FILE *f)
{
    fputs("| verdict | configuration | metric | baseline | current | change | CI of change | p | MDE | n base / cur "
          "| semantics, evidence | note |\n"
          "|:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|:--|:--|\n", f);
}

/* Rows of one group: the gated ones that are not unchanged, the unchanged
 * ones, or the ones not gated. */
enum md_group { MD_SHOWN, MD_UNCHANGED, MD_NOT_GATED };

static bool in_group(const struct gate_row *row, enum md_group g)
{
    if (row->verdict == GATE_NOT_GATED)
        return g == MD_NOT_GATED;
    return row->verdict == GATE_UNCHANGED ? g == MD_UNCHANGED : g == MD_SHOWN;
}

static void md_group(FILE *f, const struct gate_report *r, enum md_group g, const char *summary)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        n += in_group(&r->rows[i], g);
    if (!n)
        return;
    if (summary)
        fprintf(f, "<details><summary>%zu %s</summary>\n\n", n, summary);
    md_table_head(f);
    for (size_t i = 0; i < r->n_rows; i++)
        if (in_group(&r->rows[i], g) && k++ < GATE_MD_MAX_ROWS)
            md_row(f, &r->rows[i]);
    if (n > GATE_MD_MAX_ROWS)
        fprintf(f, "\n… and %zu more rows (`-o json` lists every one)\n", n - GATE_MD_MAX_ROWS);
    fputs(summary ? "\n</details>\n\n" : "\n", f);
}

int gate_write_md(FILE *f, const struct gate_report *r)
{
    const struct gate_opts *o = &r->opts;
    bool failed = gate_failed(r) != 0;
    fprintf(f, "## ggperf gate: ");
    md_text(f, r->workload);
    if (!failed)
        fprintf(f, " — ✅ PASS%s\n\n", r->counts[GATE_UNDECIDED] ? " (some undecided: see the notes)" : "");
    else if (r->counts[GATE_REGRESSED])
        fprintf(f, " — ❌ FAIL: %zu regressed\n\n", r->counts[GATE_REGRESSED]);
    else
        fprintf(f, " — ❌ FAIL: %zu undecided (--undecided=fail)\n\n", r->counts[GATE_UNDECIDED]);
    fprintf(f, "**Summary:** %zu regressed, %zu undecided, %zu improved, %zu unchanged; %zu not gated "
               "(%zu comparisons over %zu configurations in common, %zu in the statistical family)\n\n",
            r->counts[GATE_REGRESSED], r->counts[GATE_UNDECIDED], r->counts[GATE_IMPROVED], r->counts[GATE_UNCHANGED],
            r->counts[GATE_NOT_GATED], r->n_rows, r->n_configs_common, r->n_family);
    fputs("Baseline `", f);
    md_text(f, r->base_label);
    fputs("`, current `", f);
    md_text(f, r->cur_label);
    fprintf(f, "`. Gated: %s. Sample metrics regress when the %s, Holm-adjusted over the %zu "
               "gated comparisons (family-wise alpha %g%s), says worse **and** the median is worse by more than "
               "%g%%; they are unchanged when the %g%% confidence interval rules out a change that large, else "
               "undecided (%s). Deterministic counts regress when worse by more than %g%%. MDE: the change this "
               "n and noise detect with power 0.8.",
            o->metrics ? "the metrics named with --metrics" : o->all_metrics ? "every comparable metric (--all-metrics)"
                                                                             : "each workload's declared primary set",
            o->paired ? "Wilcoxon signed-rank test of the pairs' log ratios" : "Mann-Whitney U test", r->n_family, o->alpha, o->looks > 1 ? ", split over the looks" : "", o->threshold * 100,
            100 * (1 - o->alpha / (o->looks > 1 ? o->looks : 1)),
            o->undecided_pass ? "passes; --undecided=fail fails it" : "fails: --undecided=fail", o->det_threshold * 100);
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
    md_group(f, r, MD_SHOWN, NULL);
    md_group(f, r, MD_UNCHANGED, "unchanged");
    md_group(f, r, MD_NOT_GATED, "not gated (shown for context)");
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
        json_object_set_new(row, "gated", json_boolean(w->gated));
        json_object_set_new(row, "paired", json_boolean(w->paired));
        json_object_set_new(row, "better", json_string(metric_better_name(w->sem.better)));
        json_object_set_new(row, "kind", json_string(metric_kind_name(w->sem.kind)));
        json_object_set_new(row, "p_holm", jnum(w->p_adj));
        json_object_set_new(row, "ci_lo", jnum(w->ci_lo));
        json_object_set_new(row, "ci_hi", jnum(w->ci_hi));
        json_object_set_new(row, "noise", jnum(w->noise));
        json_object_set_new(row, "mde", jnum(w->mde));
    }
    int failed = gate_failed(r);
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:{s:f, s:f, s:f, s:s, s:b}, s:I, s:o, s:o, s:o}",
                            "schema", "ggperf-gate", "result", failed ? "fail" : "pass", "exit", failed,
                            "workload", r->workload, "baseline", r->base_label, "current", r->cur_label,
                            "options", "threshold", o->threshold, "det_threshold", o->det_threshold, "alpha", o->alpha,
                            "undecided", o->undecided_pass ? "pass" : "fail", "gate_across_cpus",
                            o->gate_across_cpus, "configs_in_common", (json_int_t)r->n_configs_common, "counts",
                            counts, "warnings", warnings, "comparisons", rows);
    if (doc) {
        json_object_set_new(json_object_get(doc, "options"), "paired", json_boolean(o->paired));
        json_object_set_new(doc, "family_size", json_integer((json_int_t)r->n_family));
        json_object_set_new(json_object_get(doc, "options"), "looks", json_integer(o->looks));
        json_object_set_new(json_object_get(doc, "options"), "all_metrics", json_boolean(o->all_metrics));
    }
    return doc;
nomem:
    json_decref(rows);
    json_decref(warnings);
    json_decref(counts);
    return NULL;
}
