/* plot — one figure as data plus a gnuplot script, and drawing it.
 *
 * A struct plot holds what is drawn, not how: series of points (lines,
 * CDFs) or categories × series (grouped bars, stacked bars), error bars,
 * horizontal reference lines (a roofline), axis labels with units. For
 * plot NAME, plot_write_data writes NAME.dat (gnuplot's format: line
 * series as data blocks selected with `index`, bars as one row per
 * category) and plot_write_script writes NAME.gp, which reads NAME.dat and
 * writes NAME.png (pngcairo) and NAME.svg: a person restyles a plot by
 * editing NAME.gp and running `gnuplot NAME.gp` in that directory.
 * plot_render runs gnuplot on scripts inside a directory.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_PLOT_H
#define GGPERF_REPORTS_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum plot_kind {
    PLOT_LINES = 0,   /* y vs numeric x, one line per series, error bars */
    PLOT_BARS,        /* categories on x, one bar per series, error bars */
    PLOT_STACKED,     /* categories on x, series stacked (phases of a total) */
    PLOT_CDF,         /* x a value, y the fraction of samples at or below it */
};

#define PLOT_MAX_SERIES 24
#define PLOT_MAX_HLINES 4
#define PLOT_NAME_MAX 64

struct plot_series {
    char title[128];
    bool dashed;               /* a reference curve (a roofline), not a measurement */
    int color;                 /* palette index (the same configuration keeps its colour over a
                                  report's plots, chart.c); -1: by position */
    int n, cap;
    double *x, *y, *lo, *hi;   /* LINES/CDF: points; BARS/STACKED: y per category (x unused) */
};

struct plot {
    char name[PLOT_NAME_MAX];   /* file stem: [a-z0-9_-] */
    char title[256];            /* what is shown, short enough to fit one line */
    char subtitle[256];         /* on which model and machine: a smaller second line */
    char xlabel[128], ylabel[128];
    enum plot_kind kind;
    bool logx, logy;
    bool x_integer_tics;        /* LINES: a tic at every x value (threads, sizes) */
    int n_cats;
    char **cats;                /* BARS/STACKED: category labels */
    int n_series;
    struct plot_series series[PLOT_MAX_SERIES];
    int n_hlines;
    struct { double y; char label[128]; } hline[PLOT_MAX_HLINES];
    char note[512];             /* said under the plot in the report */
};

/* A new empty plot (NULL when out of memory); name is copied as given
 * (callers keep it to [a-z0-9_-]). */
struct plot *plot_new(enum plot_kind kind, const char *name);
void plot_free(struct plot *p);

/* Add a series; returns its index, or -1 when full (PLOT_MAX_SERIES) or
 * out of memory. */
int plot_add_series(struct plot *p, const char *title);

/* LINES/CDF: append a point (lo/hi NaN: no error bar). Returns 0 or -1. */
int plot_add_point(struct plot *p, int series, double x, double y, double lo, double hi);

/* BARS/STACKED: the index of category label, added when new (every
 * series gets NaN there); -1 when out of memory. */
int plot_cat(struct plot *p, const char *label);

/* BARS/STACKED: set series s at category c. */
void plot_set(struct plot *p, int s, int c, double y, double lo, double hi);

/* True when the plot has something to draw (a finite y). */
bool plot_has_data(const struct plot *p);

/* Add a horizontal reference line; ignored beyond PLOT_MAX_HLINES. */
void plot_add_hline(struct plot *p, double y, const char *label);

/* NAME.dat and NAME.gp contents, to f. Return 0 or -1 on a write error. */
int plot_write_data(const struct plot *p, FILE *f);
int plot_write_script(const struct plot *p, FILE *f);

/* Run `gnuplot NAME.gp` in directory dir_fd for every name (a few at a
 * time). ok[i] tells which succeeded; msg[i] (each msg_len bytes) says why
 * not. prog NULL: $GGPERF_GNUPLOT, else "gnuplot". Returns the number that
 * succeeded, or -1 when gnuplot cannot be run at all (err says why: not
 * installed). */
int plot_render(int dir_fd, const char *const *names, int n, const char *prog, bool *ok, char *msg, size_t msg_len,
                char *err, size_t err_len);

#endif
