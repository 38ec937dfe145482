/* chart — which plots a workload's results get, decided from the data.
 *
 * Rules, tried in order for each workload group of a report; each looks
 * only at axis and metric names, units and sources, so workloads written
 * later get sensible plots without a change here:
 *
 *   throughput   a "threads" axis and a tok/s metric: tokens/s vs threads,
 *                one line per combination of the other varying axes (one
 *                plot per "test" value: pp512, tg128), with the bandwidth
 *                roofline for generation: peak GB/s ÷ bytes per token (the
 *                per-configuration peak_triad_gbps metric, else the probe's
 *                STREAM peak; bytes from a *bytes_per_token metric);
 *                omitted with a note when either is unknown
 *   phases       load phases (open, map/read, parse, touch, engine setup,
 *                first token): stacked bars per configuration (strategy ×
 *                cold/warm cache)
 *   vs-axis      every other numeric axis with 3+ values (alignment, size,
 *                context position): up to 3 metrics (rates, times, PMU or
 *                simulated counts) vs that axis, a line per combination of
 *                the other axes (time and L1d misses vs alignment, GFLOP/s
 *                per variant and size)
 *   percentiles  metrics PREFIX_pNN_ns (+ PREFIX_max_ns): a CDF per
 *                configuration for wake-up latencies, grouped bars of the
 *                percentiles per configuration otherwise (per-token latency
 *                by allocation strategy)
 *   fallback     a bar chart per remaining metric that varies, a bar per
 *                configuration (a series per input file when several):
 *                the headline metric, times, rates, counts, bytes, in that
 *                order; at most CHART_MAX_FALLBACK_EXTRA beside the plots
 *                of the rules above
 *
 * At most CHART_MAX_PER_GROUP plots a group. Titles say what was measured,
 * on which model and machine; axes carry units.
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_CHART_H
#define GGPERF_REPORTS_CHART_H

#include <stddef.h>

#include "reports/plot.h"
#include "reports/report_impl.h"

#define CHART_MAX_PER_GROUP 10
#define CHART_MAX_FALLBACK_EXTRA 4   /* fallback bar charts beside a workload's own plots */

#define CHART_PALETTE_MAX 64

/* The report's series titles in order of first appearance: a title's
 * index is its colour in every plot (zero it before the first group). */
struct chart_palette {
    int n;
    char titles[CHART_PALETTE_MAX][128];
};

/* The palette index of title (added when new), -1 when full or pal NULL. */
int chart_palette_color(struct chart_palette *pal, const char *title);

/* Append the plots for group gi of rp to (*plots)[*n] (a realloc'ed array
 * the caller frees with plot_free on each, then free). Names are unique
 * over the array. Returns 0 or REPORT_ENOMEM. */
int chart_group(const struct report *rp, int gi, struct chart_palette *pal, struct plot ***plots, int *n, char *err,
                size_t err_len);

#endif
