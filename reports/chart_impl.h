/* chart_impl — what chart.c (helpers, the order of the rules) and
 * chart_rules.c (the rules) share. Not a public interface. */
#ifndef GGPERF_REPORTS_CHART_IMPL_H
#define GGPERF_REPORTS_CHART_IMPL_H

#include "reports/chart.h"

#define MAX_LINES 12        /* series a line plot draws before saying "more not drawn" */
#define MAX_VS_METRICS 3
#define MAX_PCT 8
#define MAX_BARS 48         /* categories a bar chart can show legibly; more: the tables only */

/* The state of choosing one group's plots. */
struct chart_ctx {
    const struct report *rp;
    const struct rep_group *g;
    int gi;
    struct plot ***plots;
    int *n;
    struct chart_palette *pal;
    int made;               /* plots of this group so far */
    bool *used;             /* [n_cols]: already plotted */
    char subject[320];
};


int chart_axis_idx(const struct rep_group *g, const char *name);
bool chart_axis_varies(const struct rep_group *g, const char *name);
int chart_col_idx(const struct rep_group *g, const char *name);
bool chart_col_usable(const struct rep_group *g, int c);
/* Stem of a plot file: workload-what, [a-z0-9-] only. */
void chart_make_name(char *buf, size_t len, const char *workload, const char *what);
/* Keep p when it has data (subtitle and colours set), free it otherwise; 0 or REPORT_ENOMEM. */
int chart_finish(struct chart_ctx *cx, struct plot *p);
/* The y label part that says what the bars are, with their true coverage. */
void chart_ci_label(const struct rep_group *g, const char *name, char *buf, size_t len);
/* Room for another plot in this group. */
bool chart_room(const struct chart_ctx *cx);
int chart_series_for(struct plot *p, const char *title);
void chart_sort_points(struct plot *p);
double chart_num(const char *s);
void chart_x_scale(struct plot *p);
void chart_y_scale(struct plot *p);
void chart_config_axes_label(const struct rep_group *g, char *buf, size_t len);
void chart_cat_label(const struct rep_group *g, const struct rep_row *r, char *buf, size_t len);
void chart_note_more(struct plot *p, int dropped);

/* The rules, in the order chart_group tries them (chart_rules.c). */
int chart_rule_a_vs_b(struct chart_ctx *cx);
int chart_rule_throughput(struct chart_ctx *cx);
int chart_rule_phases(struct chart_ctx *cx);
int chart_rule_percentiles(struct chart_ctx *cx);
int chart_rule_vs_axis(struct chart_ctx *cx, bool threads_done);
int chart_rule_fallback(struct chart_ctx *cx);

#endif
