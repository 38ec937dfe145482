/* report_text — the prose around a report's tables: what was measured on
 * which model and machine, the axes held fixed, the baseline row, and the
 * workload headings in Markdown and HTML. */
#include "reports/report_impl.h"

#include <stdio.h>
#include <string.h>

#include "reports/html.h"
#include "results/fmt.h"

/* ---- the text around the tables ------------------------------------------------------------- */

/* "model synth.gguf (llama, 134 M parameters, 137 MiB) · Intel Xeon, 2 CPUs · host vm · commit abc". */
void report_run_meta(const struct rep_run *run, char *buf, size_t len)
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
    report_model_name(h, name, sizeof name);
    if (name[0]) {
        PUT("model %s", name);
        const char *arch = json_string_value(json_object_get(m, "architecture"));
        const char *type = json_string_value(json_object_get(m, "type"));
        json_t *np = json_object_get(m, "n_params"), *sz = json_object_get(m, "size_bytes");
        char extra[160] = "";
#define EXTRA(...) report_str_fmt(extra + strlen(extra), sizeof extra - strlen(extra), __VA_ARGS__)
        if (arch && *arch)
            EXTRA("%s", arch);
        else if (type && *type && strcmp(type, name) != 0)
            EXTRA("%s", type);
        if (json_is_number(np) && json_number_value(np) > 0)
            EXTRA("%s%.*f M parameters", extra[0] ? ", " : "", json_number_value(np) >= 1e8 ? 0 : 1,
                  json_number_value(np) / 1e6);
        if (json_is_number(sz) && json_number_value(sz) > 0) {
            char b[32];
            fmt_bytes(b, sizeof b, json_number_value(sz));
            EXTRA("%s%s", extra[0] ? ", " : "", b);
        }
#undef EXTRA
        if (extra[0])
            PUT(" (%s)", extra);
    }
    char cpu_buf[128];
    const char *cpu = report_cpu_name(h, cpu_buf, sizeof cpu_buf);
    json_t *online = json_object_get(json_object_get(env, "cpu"), "online");
    if (cpu) {
        PUT("%s%s", used ? " · " : "", cpu);
        if (json_is_integer(online))
            PUT(", %" JSON_INTEGER_FORMAT " CPUs", json_integer_value(online));
    }
    /* settings that explain memory-bound figures (huge-page copies, loads) */
    const char *thp = json_string_value(json_object_get(json_object_get(env, "thp"), "enabled"));
    const char *defrag = json_string_value(json_object_get(json_object_get(env, "thp"), "defrag"));
    if (thp && strcmp(thp, "unreadable") != 0)
        PUT("%sTHP %s%s%s%s", used ? " · " : "", thp, defrag ? " (defrag " : "", defrag ? defrag : "",
            defrag ? ")" : "");
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

void report_fixed_axes(const struct rep_group *g, char *buf, size_t len)
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

void report_base_text(const struct report *rp, const struct rep_group *g, char *buf, size_t len)
{
    if (g->base_row < 0) {
        buf[0] = '\0';
        return;
    }
    report_row_label(rp, g, &g->rows[g->base_row], NULL, true, buf, len);
    if (g->n_runs > 1) {
        /* the run label came first without a name */
        char tmp[512];
        report_str_fmt(tmp, sizeof tmp, "%s=%s", g->label_kind, buf);
        report_str_fmt(buf, len, "%s", tmp);
    }
}

/* Writes one group's tables and notes, as Markdown (html NULL) or HTML. */

void report_heading_md(const struct report *rp, const struct rep_group *g, FILE *f)
{
    fprintf(f, "## %s", g->workload);
    if (g->description[0])
        fprintf(f, " — %s", g->description);
    fputs("\n\n", f);
    char meta[1024];
    for (int k = 0; k < g->n_runs; k++) {
        const struct rep_run *run = &rp->runs[g->runs[k]];
        report_run_meta(run, meta, sizeof meta);
        if (g->n_runs > 1)
            fprintf(f, "- **%s** (%s): %s\n", run->label, run->base, meta);
        else
            fprintf(f, "%s\n", meta[0] ? meta : run->base);
    }
    char fixed[512];
    report_fixed_axes(g, fixed, sizeof fixed);
    if (fixed[0])
        fprintf(f, "%sfixed: %s\n", g->n_runs > 1 ? "\n" : "\n", fixed);
    fputc('\n', f);
}

void report_heading_html(const struct report *rp, const struct rep_group *g, FILE *f)
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
        report_run_meta(run, meta, sizeof meta);
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
    report_fixed_axes(g, fixed, sizeof fixed);
    if (fixed[0]) {
        fputs("<li>fixed: ", f);
        html_escape(f, fixed);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

