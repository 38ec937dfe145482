/* prof_roofline — the roofline plot of a profile (see prof_roofline.h). */
#include "reports/prof_roofline.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "reports/plot.h"

const struct profile_ceiling *prof_roofline_bw(const struct profile *p)
{
    const struct profile_ceiling *c = profile_ceiling_find(p, "read bandwidth");
    if (!c || !isfinite(c->value))
        c = profile_ceiling_find(p, "triad bandwidth");
    return c && isfinite(c->value) ? c : NULL;
}

static bool float_type(const char *t)
{
    return strcmp(t, "F32") == 0 || strcmp(t, "F16") == 0 || strcmp(t, "BF16") == 0;
}

const struct profile_ceiling *prof_roofline_peak(const struct profile *p, const char *op)
{
    bool avx512 = strcmp(p->isa, "avx512") == 0;
    const char *name;
    if (strncmp(op, "mm_", 3) == 0 && !float_type(p->model_type))
        name = avx512 ? "int8 dot avx512-vnni" : "int8 dot avx2";
    else
        name = avx512 ? "f32 FMA avx512" : "f32 FMA avx2";
    const struct profile_ceiling *c = profile_ceiling_find(p, name);
    return c && isfinite(c->value) ? c : NULL;
}

double prof_roofline_attainable(const struct profile *p, const struct profile_op *o, const char **what)
{
    const struct profile_ceiling *bw = prof_roofline_bw(p), *pk = prof_roofline_peak(p, o->op);
    double ai = profile_op_intensity(o);
    if (what)
        *what = "bw";
    if (!isfinite(ai))
        return bw ? bw->value : NAN;
    double mem = bw ? bw->value * ai : INFINITY, comp = pk ? pk->value : INFINITY;
    if (!isfinite(mem) && !isfinite(comp))
        return NAN;
    if (what)
        *what = comp < mem ? "compute" : "bw";
    return fmin(mem, comp);
}

double prof_roofline_fraction(const struct profile *p, const struct profile_op *o)
{
    double att = prof_roofline_attainable(p, o, NULL);
    if (!isfinite(att) || att <= 0)
        return NAN;
    double ai = profile_op_intensity(o);
    return isfinite(ai) ? profile_op_gflops(o) / att : profile_op_gbps(o) / att;
}

static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

int prof_roofline_write(int dir_fd, const struct profile *p, char *err, size_t err_len)
{
    int fd = openat(dir_fd, "roofline.dat", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return err_fail(err, err_len, -1, "roofline.dat: %s", strerror(errno));
    }
    /* One point per op kind (all layers together). */
    const char *kinds[64];
    int nk = profile_kinds(p, kinds, 64);
    double xmin = INFINITY, xmax = 0, ymin = INFINITY, ymax = 0;
    fprintf(f, "# op intensity_flop_per_byte attained_gflops gbps\n");
    int npts = 0;
    for (int i = 0; i < nk; i++) {
        struct profile_op t;
        profile_kind_total(p, kinds[i], &t);
        double ai = profile_op_intensity(&t), gf = profile_op_gflops(&t);
        if (!isfinite(ai) || !isfinite(gf) || gf <= 0)
            continue;
        fprintf(f, "%s %.6g %.6g %.6g\n", kinds[i], ai, gf, profile_op_gbps(&t));
        xmin = fmin(xmin, ai);
        xmax = fmax(xmax, ai);
        ymin = fmin(ymin, gf);
        ymax = fmax(ymax, gf);
        npts++;
    }
    if (fclose(f) != 0)
        return err_fail(err, err_len, -1, "roofline.dat: write failed");
    double bwmax = 0, pkmax = 0;
    for (int i = 0; i < p->n_ceilings; i++) {
        const struct profile_ceiling *c = &p->ceilings[i];
        if (!isfinite(c->value))
            continue;
        if (strcmp(c->kind, "bw") == 0)
            bwmax = fmax(bwmax, c->value);
        else
            pkmax = fmax(pkmax, c->value);
    }
    if (!npts) {
        xmin = 0.1;
        xmax = 10;
        ymin = 1;
        ymax = 10;
    }
    xmin = fmin(xmin / 4, 0.05);
    xmax = fmax(xmax * 4, pkmax > 0 && bwmax > 0 ? 4 * pkmax / bwmax : 100);
    ymin = ymin / 4;
    ymax = fmax(ymax, pkmax) * 3;

    fd = openat(dir_fd, "roofline.gp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return err_fail(err, err_len, -1, "roofline.gp: %s", strerror(errno));
    }
    fprintf(f, "# Roofline of a ggperf profile: run `gnuplot roofline.gp` here to redraw.\n");
    fprintf(f, "set terminal pngcairo noenhanced size 1100,760 font 'DejaVu Sans,10'\nset output 'roofline.png'\n");
    fprintf(f, "set logscale xy\nset grid\nset xrange [%g:%g]\nset yrange [%g:%g]\n", xmin, xmax, ymin, ymax);
    fprintf(f, "set xlabel 'arithmetic intensity (FLOP per byte moved)'\nset ylabel 'attained GFLOP/s'\n");
    fprintf(f, "set title ");
    char title[256];
    snprintf(title, sizeof title, "%s, %s, %d thread%s (%s): one point per operation", p->mode, p->model_desc,
             p->n_threads, p->n_threads == 1 ? "" : "s", p->isa);
    gp_str(f, title);
    fprintf(f, "\nset key outside bottom center horizontal maxrows 4 font ',9'\n");
    fprintf(f, "bwmax = %g\npkmax = %g\n", bwmax > 0 ? bwmax : 1e9, pkmax > 0 ? pkmax : 1e12);
    fprintf(f, "plot \\\n");
    int style = 1;
    for (int i = 0; i < p->n_ceilings; i++) {
        const struct profile_ceiling *c = &p->ceilings[i];
        if (!isfinite(c->value))
            continue;
        char label[400];
        snprintf(label, sizeof label, "%s %.1f %s (%s)", c->name, c->value,
                 strcmp(c->kind, "bw") == 0 ? "GB/s" : "GFLOP/s", c->source);
        if (strcmp(c->kind, "bw") == 0)
            fprintf(f, "  (x*%g < pkmax ? x*%g : pkmax) with lines dt 2 lw 2 lc %d title ", c->value, c->value, style);
        else
            fprintf(f, "  (x*bwmax < %g ? x*bwmax : %g) with lines dt 3 lw 2 lc %d title ", c->value, c->value, style);
        gp_str(f, label);
        fprintf(f, ", \\\n");
        style++;
    }
    if (npts)
        fprintf(f, "  'roofline.dat' using 2:3 with points pt 7 ps 1.4 lc rgb '#c0392b' title 'operations (measured)', \\\n"
                   "  'roofline.dat' using 2:3:1 with labels offset char 1,0.6 left font ',9' notitle\n");
    else
        fprintf(f, "  1/0 notitle\n");
    fprintf(f, "set terminal svg noenhanced size 1100,760 font 'DejaVu Sans,10'\nset output 'roofline.svg'\nreplot\n");
    if (fclose(f) != 0)
        return err_fail(err, err_len, -1, "roofline.gp: write failed");
    const char *names[1] = { "roofline" };
    bool ok = false;
    char msg[512] = "";
    int n = plot_render(dir_fd, names, 1, NULL, &ok, msg, sizeof msg, err, err_len);
    if (n < 0)
        return -1;
    if (!ok)
        return err_fail(err, err_len, -1, "gnuplot roofline.gp failed: %s", msg);
    return 0;
}
