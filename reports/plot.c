/* plot — figures as NAME.dat + NAME.gp, drawn by gnuplot (see plot.h). */
#include "reports/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLOT_W 1000
#define PLOT_H 560
#define RENDER_AT_ONCE 2
#define MAX_XTICS 24

struct plot *plot_new(enum plot_kind kind, const char *name)
{
    struct plot *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->kind = kind;
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

void plot_free(struct plot *p)
{
    if (!p)
        return;
    for (int s = 0; s < p->n_series; s++) {
        free(p->series[s].x);
        free(p->series[s].y);
        free(p->series[s].lo);
        free(p->series[s].hi);
    }
    for (int c = 0; c < p->n_cats; c++)
        free(p->cats[c]);
    free(p->cats);
    free(p);
}

static int series_reserve(struct plot_series *s, int n)
{
    if (n <= s->cap)
        return 0;
    int cap = s->cap ? s->cap : 8;
    while (cap < n)
        cap *= 2;
    double *x = realloc(s->x, (size_t)cap * sizeof *x);
    if (x)
        s->x = x;
    double *y = realloc(s->y, (size_t)cap * sizeof *y);
    if (y)
        s->y = y;
    double *lo = realloc(s->lo, (size_t)cap * sizeof *lo);
    if (lo)
        s->lo = lo;
    double *hi = realloc(s->hi, (size_t)cap * sizeof *hi);
    if (hi)
        s->hi = hi;
    if (!x || !y || !lo || !hi)
        return -1;
    s->cap = cap;
    return 0;
}

int plot_add_series(struct plot *p, const char *title)
{
    if (p->n_series >= PLOT_MAX_SERIES)
        return -1;
    struct plot_series *s = &p->series[p->n_series];
    memset(s, 0, sizeof *s);
    snprintf(s->title, sizeof s->title, "%s", title ? title : "");
    s->color = -1;
    if (p->kind == PLOT_BARS || p->kind == PLOT_STACKED) {
        if (series_reserve(s, p->n_cats > 0 ? p->n_cats : 1) != 0)
            return -1;
        for (int c = 0; c < p->n_cats; c++)
            s->x[c] = c, s->y[c] = s->lo[c] = s->hi[c] = NAN;
        s->n = p->n_cats;
    }
    return p->n_series++;
}

int plot_add_point(struct plot *p, int series, double x, double y, double lo, double hi)
{
    if (series < 0 || series >= p->n_series)
        return -1;
    struct plot_series *s = &p->series[series];
    if (series_reserve(s, s->n + 1) != 0)
        return -1;
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->lo[s->n] = lo;
    s->hi[s->n] = hi;
    s->n++;
    return 0;
}

int plot_cat(struct plot *p, const char *label)
{
    for (int c = 0; c < p->n_cats; c++)
        if (strcmp(p->cats[c], label) == 0)
            return c;
    char **cats = realloc(p->cats, (size_t)(p->n_cats + 1) * sizeof *cats);
    if (!cats)
        return -1;
    p->cats = cats;
    if (!(cats[p->n_cats] = strdup(label)))
        return -1;
    int c = p->n_cats++;
    for (int s = 0; s < p->n_series; s++) {
        struct plot_series *ps = &p->series[s];
        if (series_reserve(ps, p->n_cats) != 0)
            return -1;
        ps->x[c] = c;
        ps->y[c] = ps->lo[c] = ps->hi[c] = NAN;
        ps->n = p->n_cats;
    }
    return c;
}

void plot_set(struct plot *p, int s, int c, double y, double lo, double hi)
{
    if (s < 0 || s >= p->n_series || c < 0 || c >= p->series[s].n)
        return;
    p->series[s].y[c] = y;
    p->series[s].lo[c] = lo;
    p->series[s].hi[c] = hi;
}

void plot_add_hline(struct plot *p, double y, const char *label)
{
    if (p->n_hlines >= PLOT_MAX_HLINES || !isfinite(y))
        return;
    p->hline[p->n_hlines].y = y;
    snprintf(p->hline[p->n_hlines].label, sizeof p->hline[p->n_hlines].label, "%s", label);
    p->n_hlines++;
}

static bool series_has_data(const struct plot *p, const struct plot_series *s)
{
    for (int i = 0; i < s->n; i++)
        if (isfinite(s->y[i]) && (p->kind == PLOT_BARS || p->kind == PLOT_STACKED || isfinite(s->x[i])) &&
            (!p->logx || p->kind == PLOT_BARS || p->kind == PLOT_STACKED || s->x[i] > 0))
            return true;
    return false;
}

bool plot_has_data(const struct plot *p)
{
    for (int s = 0; s < p->n_series; s++)
        if (!p->series[s].dashed && series_has_data(p, &p->series[s]))
            return true;
    return false;
}

/* Text inside gnuplot double quotes (script) or a data file label: no
 * quotes, backslashes or line breaks survive. */
static void put_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        char c = *s;
        fputc(c == '"' ? '\'' : c == '\\' ? '/' : (c == '\n' || c == '\r' || c == '\t') ? ' ' : c, f);
    }
}

static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("?", f);
}

int plot_write_data(const struct plot *p, FILE *f)
{
    fprintf(f, "# %s.dat: data of a `ggperf report` plot, read by %s.gp\n# ", p->name, p->name);
    put_text(f, p->title);
    fputc('\n', f);
    if (p->kind == PLOT_LINES || p->kind == PLOT_CDF) {
        int block = 0;
        for (int s = 0; s < p->n_series; s++) {
            const struct plot_series *ps = &p->series[s];
            if (!series_has_data(p, ps))
                continue;
            fprintf(f, "%s# index %d: ", block ? "\n\n" : "", block);
            put_text(f, ps->title);
            fprintf(f, "\n# x y y_low y_high\n");
            for (int i = 0; i < ps->n; i++) {
                if (!isfinite(ps->x[i]) || !isfinite(ps->y[i]) || (p->logx && ps->x[i] <= 0))
                    continue;
                put_num(f, ps->x[i]);
                fputc(' ', f);
                put_num(f, ps->y[i]);
                fputc(' ', f);
                put_num(f, isfinite(ps->lo[i]) ? ps->lo[i] : ps->y[i]);
                fputc(' ', f);
                put_num(f, isfinite(ps->hi[i]) ? ps->hi[i] : ps->y[i]);
                fputc('\n', f);
            }
            block++;
        }
    } else {
        fputs("# category", f);
        for (int s = 0; s < p->n_series; s++) {
            fputs(p->kind == PLOT_BARS ? " | " : " | ", f);
            put_text(f, p->series[s].title);
            if (p->kind == PLOT_BARS)
                fputs(" (y y_low y_high)", f);
        }
        fputc('\n', f);
        for (int c = 0; c < p->n_cats; c++) {
            fputc('"', f);
            put_text(f, p->cats[c]);
            fputc('"', f);
            for (int s = 0; s < p->n_series; s++) {
                const struct plot_series *ps = &p->series[s];
                double y = c < ps->n ? ps->y[c] : NAN;
                fputc(' ', f);
                if (p->kind == PLOT_STACKED) {
                    /* a missing phase is no segment, not a gap in the stack */
                    put_num(f, isfinite(y) ? y : 0);
                    continue;
                }
                put_num(f, y);
                fputc(' ', f);
                put_num(f, isfinite(y) ? (isfinite(ps->lo[c]) ? ps->lo[c] : y) : NAN);
                fputc(' ', f);
                put_num(f, isfinite(y) ? (isfinite(ps->hi[c]) ? ps->hi[c] : y) : NAN);
            }
            fputc('\n', f);
        }
    }
    return ferror(f) ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Palette with enough contrast for a dozen series on white (Okabe-Ito first,
 * without its yellow). */
static const char *const colors[] = { "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
                                      "#000000", "#8c564b", "#7f7f7f", "#17becf", "#999933", "#882255" };
#define N_COLORS (sizeof colors / sizeof colors[0])

/* The gnuplot line type (1-based palette entry) of series s. */
static int lt_of(const struct plot_series *ps, int s)
{
    return (ps->color >= 0 ? ps->color : s) % (int)N_COLORS + 1;
}

static void line_kind_setup(const struct plot *p, FILE *f)
{
    if (p->logx && p->x_integer_tics)
        fputs("set logscale x 2\n", f);
    else if (p->logx)
        fputs("set logscale x 10\nset format x \"%g\"\n", f);
    if (p->logy)
        fputs("set logscale y 10\nset format y \"%g\"\n", f);
    if (p->x_integer_tics) {
        double xs[MAX_XTICS];
        int n = 0;
        bool too_many = false;
        for (int s = 0; s < p->n_series && !too_many; s++)
            for (int i = 0; i < p->series[s].n; i++) {
                double x = p->series[s].x[i];
                if (!isfinite(x))
                    continue;
                bool seen = false;
                for (int k = 0; k < n; k++)
                    seen = seen || xs[k] == x;
                if (seen)
                    continue;
                if (n == MAX_XTICS) {
                    too_many = true;
                    break;
                }
                xs[n++] = x;
            }
        if (!too_many && n > 0) {
            qsort(xs, (size_t)n, sizeof xs[0], cmp_double);
            fputs("set xtics (", f);
            for (int k = 0; k < n; k++)
                fprintf(f, "%s%.9g", k ? ", " : "", xs[k]);
            fputs(")\n", f);
        }
    }
    fputs("set offsets graph 0.04, graph 0.04, graph 0.05, 0\n", f);
}

static bool any_negative(const struct plot *p)
{
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++)
            if (isfinite(p->series[s].y[i]) && (p->series[s].y[i] < 0 || p->series[s].lo[i] < 0))
                return true;
    return false;
}

/* From 0 up; with a reference line, high enough to show it clear of the
 * frame (autoscaling looks at the data only). */
static void yrange_from_zero(const struct plot *p, FILE *f)
{
    double top = 0;
    for (int h = 0; h < p->n_hlines; h++)
        top = fmax(top, p->hline[h].y);
    if (top <= 0) {
        fputs("set yrange [0:*]\n", f);
        return;
    }
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            const struct plot_series *ps = &p->series[s];
            if (isfinite(ps->y[i]))
                top = fmax(top, isfinite(ps->hi[i]) ? fmax(ps->hi[i], ps->y[i]) : ps->y[i]);
        }
    fprintf(f, "set yrange [0:%.9g]\n", top * 1.12);
}

static size_t longest_cat(const struct plot *p)
{
    size_t m = 0;
    for (int c = 0; c < p->n_cats; c++)
        if (strlen(p->cats[c]) > m)
            m = strlen(p->cats[c]);
    return m;
}

static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    put_text(f, s);
    fputc('"', f);
}

int plot_write_script(const struct plot *p, FILE *f)
{
    fprintf(f, "# %s.gp: a plot of `ggperf report`. Edit it and run `gnuplot %s.gp` in this\n"
               "# directory to redraw %s.png and %s.svg from %s.dat.\n",
            p->name, p->name, p->name, p->name, p->name);
    fputs("reset\nset encoding utf8\nset datafile missing \"?\"\n", f);
    /* the title on one line, the subject smaller below it: a long "X on MODEL
     * on CPU" title no longer runs off the left edge */
    fputs("set title ", f);
    quoted(f, p->title);
    if (p->subtitle[0]) {
        fputs(" . \"\\n\" . ", f);
        quoted(f, p->subtitle);
    }
    fputs(" font \",12\"\nset xlabel ", f);
    quoted(f, p->xlabel);
    fputs("\nset ylabel ", f);
    quoted(f, p->ylabel);
    fputs("\nset grid ytics lc rgb \"#d8d8d8\"\nset border 3 lc rgb \"#404040\"\nset tics nomirror\n", f);
    int shown = 0;
    for (int s = 0; s < p->n_series; s++)
        shown += series_has_data(p, &p->series[s]) && p->series[s].title[0];
    /* a few entries fit inside; more go below the plot in columns, so the
     * legend never takes the plot's width */
    int entries = shown + p->n_hlines;
    if (entries == 0)
        fputs("unset key\n", f);
    else if (entries <= 3 && p->kind == PLOT_LINES)
        fputs("set key top left box opaque Left reverse\n", f);
    else
        fputs("set key below center horizontal Left reverse maxcols 3 samplen 2 spacing 1.1 height 1\n"
              "set xlabel offset 0,0.6\n", f);
    for (size_t c = 0; c < N_COLORS; c++)
        fprintf(f, "set linetype %zu lc rgb \"%s\" lw 2 pt 7 ps 0.9\n", c + 1, colors[c]);
    fprintf(f, "set linetype cycle %zu\n", N_COLORS);

    if (p->kind == PLOT_LINES || p->kind == PLOT_CDF) {
        line_kind_setup(p, f);
        if (p->kind == PLOT_CDF)
            fputs("set yrange [0:100]\nset ytics 10\n", f);
        else if (!p->logy && !any_negative(p))
            yrange_from_zero(p, f);
    } else {
        fputs("set style data histogram\n", f);
        if (p->kind == PLOT_BARS)
            fputs("set style histogram errorbars gap 1 lw 1\nset boxwidth 0.9\n", f);
        else
            fputs("set style histogram rowstacked\nset boxwidth 0.7\n", f);
        fputs("set style fill solid 0.85 border rgb \"#404040\"\n", f);
        if (p->logy)
            fputs("set logscale y 10\nset format y \"%g\"\n", f);
        else if (!any_negative(p))
            yrange_from_zero(p, f);
        if (p->n_cats > 6 || longest_cat(p) * (size_t)p->n_cats > 90)
            fputs("set xtics rotate by -35 left\n", f);
        fputs("set xtics scale 0\n", f);
    }

    /* rows of a legend below the plot add height instead of taking it */
    int height = PLOT_H + (entries > 3 || p->kind != PLOT_LINES ? 18 * ((entries + 2) / 3) : 0);
    bool errorbars = false;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++)
            errorbars = errorbars || (isfinite(p->series[s].lo[i]) && p->series[s].lo[i] != p->series[s].y[i]);

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            fprintf(f, "set terminal pngcairo noenhanced size %d,%d font \"DejaVu Sans,10\"\nset output \"%s.png\"\n",
                    PLOT_W, height, p->name);
        else {
            fprintf(f, "set terminal svg noenhanced size %d,%d font \"DejaVu Sans,10\" background rgb \"white\"\n"
                       "set output \"%s.svg\"\nreplot\nset output\n",
                    PLOT_W, height, p->name);
            break;
        }
        fputs("plot ", f);
        int n = 0, block = 0;
        for (int s = 0; s < p->n_series; s++) {
            const struct plot_series *ps = &p->series[s];
            bool has = series_has_data(p, ps);
            if (p->kind == PLOT_LINES || p->kind == PLOT_CDF) {
                if (!has)
                    continue;
                fprintf(f, "%s\"%s.dat\" index %d ", n++ ? ", \\\n     " : "", p->name, block++);
                if (ps->dashed)
                    fputs("using 1:2 with lines dt 2 lw 2 lc rgb \"#b22222\"", f);
                else if (errorbars && p->kind == PLOT_LINES)
                    fprintf(f, "using 1:2:3:4 with yerrorlines lt %d", lt_of(ps, s));
                else
                    fprintf(f, "using 1:2 with linespoints lt %d", lt_of(ps, s));
            } else if (p->kind == PLOT_BARS) {
                fprintf(f, "%s\"%s.dat\" using %d:%d:%d%s lt %d", n++ ? ", \\\n     " : "", p->name, 2 + 3 * s,
                        3 + 3 * s, 4 + 3 * s, s == 0 ? ":xtic(1)" : "", lt_of(ps, s));
            } else {
                fprintf(f, "%s\"%s.dat\" using %d%s lt %d", n++ ? ", \\\n     " : "", p->name, 2 + s,
                        s == 0 ? ":xtic(1)" : "", lt_of(ps, s));
            }
            if (ps->title[0]) {
                fputs(" title ", f);
                quoted(f, ps->title);
            } else {
                fputs(" notitle", f);
            }
        }
        for (int h = 0; h < p->n_hlines; h++) {
            fprintf(f, "%s%.9g with lines dt 2 lw 2 lc rgb \"#b22222\" title ", n++ ? ", \\\n     " : "",
                    p->hline[h].y);
            quoted(f, p->hline[h].label);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- running gnuplot ---------------------------------------------------------- */

struct child {
    pid_t pid;
    int fd;        /* its stderr */
};

static int spawn(int dir_fd, const char *prog, const char *name, struct child *c)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    char script[PLOT_NAME_MAX + 8];
    snprintf(script, sizeof script, "%s.gp", name);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fchdir(dir_fd) != 0)
            _exit(126);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        dup2(pfd[1], 2);
        execlp(prog, prog, script, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    c->pid = pid;
    c->fd = pfd[0];
    return 0;
}

/* Drain c's stderr (the first len-1 bytes kept) and reap it; the wait status. */
static int finish(struct child *c, char *buf, size_t len)
{
    size_t used = 0;
    char tmp[512];
    for (;;) {
        ssize_t r = read(c->fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r && used + 1 < len; i++)
            buf[used++] = tmp[i] == '\n' ? ' ' : tmp[i];
    }
    if (len)
        buf[used] = '\0';
    close(c->fd);
    int st = 0;
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

int plot_render(int dir_fd, const char *const *names, int n, const char *prog, bool *ok, char *msg, size_t msg_len,
                char *err, size_t err_len)
{
    if (!prog)
        prog = getenv("GGPERF_GNUPLOT");
    if (!prog || !*prog)
        prog = "gnuplot";
    int good = 0;
    for (int i = 0; i < n; i++) {
        ok[i] = false;
        if (msg_len)
            msg[(size_t)i * msg_len] = '\0';
    }
    for (int i0 = 0; i0 < n; i0 += RENDER_AT_ONCE) {
        struct child kids[RENDER_AT_ONCE];
        int nk = 0;
        for (int i = i0; i < n && i < i0 + RENDER_AT_ONCE; i++, nk++) {
            if (spawn(dir_fd, prog, names[i], &kids[nk]) != 0) {
                kids[nk].pid = -1;
                snprintf(msg + (size_t)i * msg_len, msg_len, "cannot start %s: %s", prog, strerror(errno));
            }
        }
        bool missing = false;
        for (int k = 0; k < nk; k++) {
            int i = i0 + k;
            if (kids[k].pid < 0)
                continue;
            char *m = msg + (size_t)i * msg_len;
            char text[sizeof(((struct plot *)0)->note)];
            int st = finish(&kids[k], text, sizeof text);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
                snprintf(err, err_len, "%s not found: plots left as .gp and .dat (install gnuplot-nox)", prog);
                missing = true;
                continue;
            }
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                ok[i] = true;
                good++;
            } else {
                snprintf(m, msg_len, "%s %s.gp failed (%s %d): %.300s", prog, names[i],
                         WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), text);
            }
        }
        if (missing)
            return -1;
    }
    return good;
}
