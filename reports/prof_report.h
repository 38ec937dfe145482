/* prof_report — a profile (results/profile.h) as conclusions, tables, a
 * comparison with a baseline profile, and a self-contained HTML page with
 * the roofline (prof_roofline.h) and the flame graph (prof_flame.h).
 *
 * Library code: nothing here prints or exits (text goes to the FILE the
 * caller gives).
 */
#ifndef GGPERF_REPORTS_PROF_REPORT_H
#define GGPERF_REPORTS_PROF_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "results/profile.h"

/* Share of all threads' time in the step spent waiting at barriers:
 * sum of thread_wait_ns / (n_threads x step_ns). */
double prof_report_wait_share(const struct profile *p);

/* The conclusions in prose, a few sentences, into buf. */
void prof_report_conclusions(const struct profile *p, char *buf, size_t len);

/* Conclusions, the op-kind table, the per-layer table, the threads table,
 * the overhead statement and notes, as text; with base, the per-op
 * comparison after them. Returns 0 or -1 on a write error. */
int prof_report_text(FILE *f, const struct profile *p, const struct profile *base);

/* The per-op comparison of p against base (time per step, share, GB/s),
 * largest changes first. Returns 0 or -1. */
int prof_report_compare(FILE *f, const struct profile *p, const struct profile *base);

/* Write into dir (which must exist): profile.folded, profile.speedscope.json,
 * flame.svg, roofline.{dat,gp,png,svg} and report.html embedding the
 * roofline PNG and the flame SVG. A missing gnuplot is not fatal: the page
 * says so in place of the plot. Returns 0 or -1 with err. */
int prof_report_write_dir(const char *dir, const struct profile *p, const struct profile *base, char *err,
                          size_t err_len);

#endif
