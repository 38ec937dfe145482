/* report_util — the small helpers every part of a report uses: text
 * formatting into buffers, errors, warnings, and reading figures, axes,
 * labels and the machine out of the loaded results (report_impl.h). */
#include "reports/report_impl.h"

#include "results/fmt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_str_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

int report_fail(char *err, size_t err_len, int code, const char *fmt, ...)
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

bool report_metric_ok(const json_t *m)
{
    const char *st = json_string_value(json_object_get(m, "status"));
    return m && st && strcmp(st, "ok") == 0 && json_is_number(json_object_get(m, "median"));
}

bool report_median(const struct rep_row *r, const char *name, double *med, double *lo, double *hi)
{
    const json_t *m = report_metric(r->cs, name);
    if (!report_metric_ok(m))
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
    struct fmt_scale sc = fmt_scale_for(unit, max_abs);
    *div = sc.div;
    report_str_fmt(disp, disp_len, "%s", sc.unit);
}

int report_axis_index(const struct rep_group *g, const char *name)
{
    for (int a = 0; a < g->n_axes; a++)
        if (strcmp(g->axes[a], name) == 0)
            return a;
    return -1;
}

bool report_axis_numeric(const struct rep_group *g, const char *name)
{
    if (report_axis_index(g, name) < 0 || g->n_rows == 0)
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

const char *report_base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

const char *report_cpu_name(const json_t *h, char *buf, size_t len)
{
    const json_t *cpu = json_object_get(json_object_get(h, "environment"), "cpu");
    const char *s = json_string_value(json_object_get(cpu, "brand"));
    if (!s || !*s || strcmp(s, "unreadable") == 0)
        s = json_string_value(json_object_get(cpu, "model_name"));
    if (!s || !*s || strcmp(s, "unreadable") == 0)
        s = json_string_value(json_object_get(json_object_get(h, "probe"), "cpu_model"));
    if (!s || !len)
        return NULL;
    /* CPUID brand strings come padded with spaces and carry (R)/(TM)
     * marks: one space between words, no marks */
    size_t o = 0;
    for (const char *p = s; *p && o + 1 < len;) {
        if (strncmp(p, "(R)", 3) == 0 || strncmp(p, "(TM)", 4) == 0 || strncmp(p, "(tm)", 4) == 0) {
            p += p[1] == 'R' ? 3 : 4;
            continue;
        }
        if (*p == ' ' && (o == 0 || buf[o - 1] == ' ')) {
            p++;
            continue;
        }
        buf[o++] = *p++;
    }
    while (o > 0 && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
    return o ? buf : NULL;
}

void report_model_name(const json_t *h, char *buf, size_t len)
{
    const json_t *m = json_object_get(h, "model");
    const char *path = json_string_value(json_object_get(m, "path"));
    const char *type = json_string_value(json_object_get(m, "type"));
    if (path && *path)
        report_str_fmt(buf, len, "%s", report_base_name(path));
    else if (type && *type)
        report_str_fmt(buf, len, "%s", type);
    else
        buf[0] = '\0';
}

void report_subject(const struct report *rp, const struct rep_group *g, char *buf, size_t len)
{
    const json_t *h = rp->runs[g->runs[0]].header;
    char model[256];
    report_model_name(h, model, sizeof model);
    char cpu_buf[128], ck_buf[128];
    const char *cpu = report_cpu_name(h, cpu_buf, sizeof cpu_buf);
    bool many_cpus = false, many_models = false;
    for (int k = 1; k < g->n_runs; k++) {
        const json_t *hk = rp->runs[g->runs[k]].header;
        const char *c = report_cpu_name(hk, ck_buf, sizeof ck_buf);
        char mk[256];
        report_model_name(hk, mk, sizeof mk);
        many_cpus = many_cpus || (c && cpu && strcmp(c, cpu) != 0) || (!c != !cpu);
        many_models = many_models || strcmp(mk, model) != 0;
    }
    const char *cpu_text = many_cpus ? "several machines" : cpu ? cpu : "an unrecorded CPU";
    if (many_models)
        report_str_fmt(buf, len, "several models on %s", cpu_text);
    else if (model[0])
        report_str_fmt(buf, len, "%s on %s", model, cpu_text);
    else
        report_str_fmt(buf, len, "%s", cpu_text);
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
            report_str_fmt(what, len, "STREAM %s peak (%s)", k == 0 ? "triad" : "copy", whence);
            return true;
        }
    }
    return false;
}

bool report_probe_peak(const struct report *rp, const struct rep_run *run, double *gbps, char *what, size_t len)
{
    /* the probe given with --probe is the one measurement every plot uses */
    return (rp->probe_file && peak_from(rp->probe_file, gbps, what, len, "`ggperf probe`, --probe")) ||
           peak_from(json_object_get(run->header, "probe"), gbps, what, len, "the results' probe");
}

