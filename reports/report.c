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
#include "reports/conclude.h"
#include "reports/html.h"
#include "reports/outdir.h"
#include "reports/plot.h"
#include "reports/report_impl.h"

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
        report_md_cell(f, run->base);
        fputs(" | ", f);
        report_md_cell(f, run->workload);
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

static void plots_md(const struct report *rp, const struct made_plot *mp, int n, int group, FILE *f)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (mp[i].group != group)
            continue;
        if (!any)
            fprintf(f, "## Plots: %s\n\n", rp->groups[group].workload);
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
            report_str_fmt(png, sizeof png, "%s.png", p->name);
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
        return report_fail(err, len, REPORT_EOUTPUT, "%s/%s: write failed", outdir_path(od), name);
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
    struct chart_palette *pal = NULL;
    int rc = report_open(&rp, paths, n, o->baseline, err, err_len);
    if (rc != 0)
        return rc;
    if (o->probe_path) {
        json_error_t je;
        rp->probe_file = json_load_file(o->probe_path, 0, &je);
        if (!json_is_object(rp->probe_file)) {
            rc = report_fail(err, err_len, REPORT_EINPUT, "%s: not a probe JSON file (line %d: %s)", o->probe_path,
                      je.line, je.text);
            goto done;
        }
    }
    if ((rc = conclude(rp, o->compare, err, err_len)) != 0)
        goto done;
    /* choose every plot first: the full list of file names is known before
     * anything is written */
    if (!o->no_plots) {
        if (!(pal = calloc(1, sizeof *pal))) {
            rc = report_fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
            goto done;
        }
        for (int gi = 0; gi < rp->n_groups; gi++) {
            int before = n_plots;
            if ((rc = chart_group(rp, gi, pal, &plots, &n_plots, err, err_len)) != 0)
                goto done;
            int *pg = realloc(plot_group, (size_t)(n_plots + 1) * sizeof *pg);
            if (!pg) {
                rc = report_fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
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
        rc = report_fail(err, err_len, REPORT_ENOMEM, "report: out of memory");
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
            report_str_fmt(fn[i * 4 + e], sizeof fn[0], "%s.%s", plots[i]->name, ext[e]);
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
            report_str_fmt(mp[i].msg, sizeof mp[i].msg, "%s",
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
    /* the answers first, then the pictures, then the numbers behind them */
    fputs("# ggperf report\n\n", md);
    conclude_write_md(rp, md);
    for (int gi = 0; gi < rp->n_groups; gi++)
        plots_md(rp, mp, n_plots, gi, md);
    for (int gi = 0; gi < rp->n_groups; gi++) {
        report_heading_md(rp, &rp->groups[gi], md);
        if ((rc = report_group_tables(rp, &rp->groups[gi], md, NULL)) != 0)
            goto done;
    }
    fputs("## Inputs\n\n", md);
    inputs_md(rp, md);
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
    conclude_write_html(rp, html);
    if (n_plots)
        fputs("<section id=\"plots\"><h2>Plots</h2>\n", html);
    for (int gi = 0; gi < rp->n_groups; gi++)
        if ((rc = plots_html(od, mp, n_plots, gi, html)) != 0)
            goto done;
    if (n_plots)
        fputs("</section>\n", html);
    fputs("<section id=\"tables\">\n", html);
    for (int gi = 0; gi < rp->n_groups; gi++) {
        report_heading_html(rp, &rp->groups[gi], html);
        if ((rc = report_group_tables(rp, &rp->groups[gi], NULL, html)) != 0)
            goto done;
    }
    fputs("<h2>Inputs</h2>\n", html);
    inputs_html(rp, html);
    fputs("</section>\n", html);
    html_end(html);
    rc = outdir_commit(od, html, "report.html", err, err_len);
    html = NULL;
    if (rc != 0) {
        rc = REPORT_EOUTPUT;
        goto done;
    }
    if (sum) {
        report_str_fmt(sum->md_path, sizeof sum->md_path, "%s/report.md", dir);
        report_str_fmt(sum->html_path, sizeof sum->html_path, "%s/report.html", dir);
        sum->n_groups = rp->n_groups;
        for (int gi = 0; gi < rp->n_groups; gi++)
            sum->n_rows += rp->groups[gi].n_rows;
        sum->n_plots = n_plots;
        for (int i = 0; i < n_plots; i++)
            sum->n_rendered += mp[i].rendered;
        sum->n_warnings = rp->n_warnings;
        for (int i = 0; i < rp->n_warnings; i++)
            report_str_fmt(sum->warnings[i], sizeof sum->warnings[i], "%s", rp->warnings[i]);
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
            rc = report_fail(err, err_len, REPORT_EOUTPUT, "%s", cerr);
    }
    for (int i = 0; i < n_plots; i++)
        plot_free(plots[i]);
    free(plots);
    free(mp);
    free(plot_group);
    free(pal);
    free(fn);
    free(names);
    free(stems);
    free(ok);
    free(msgs);
    report_free(rp);
    return rc;
}
