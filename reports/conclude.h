/* conclude — the answers a report opens with.
 *
 * A study declares its question and its comparisons (`ggperf study` writes
 * them into the results header as "study": {"question", "compare": [...]};
 * `ggperf report --compare` adds more). Each comparison is
 *
 *     METRIC: AXIS=A vs B [at AXIS=V,AXIS=V...] [per AXIS]
 *
 * e.g. "ready_ns: load=mmap vs read per cache" (for each cache state, the
 * rows with load=mmap against those with load=read) or "tokens_per_s:
 * pin=on vs off at threads=1,wait=spin". Axes that vary but are not named
 * take the row's first value in the sweep's order, and the line says so.
 *
 * Each comparison becomes one line per context: both medians, then the
 * effect of A against B (results/effect.h: a Hodges-Lehmann ratio with its
 * CI of exact coverage and the Mann-Whitney p), or "no difference detected
 * (smallest detectable x%)", or "too few repetitions to tell". A difference
 * is never stated without the test behind it, so noise is not presented as
 * an effect. A line whose cells are flagged noisy says so.
 *
 * Two results files of the same workload (before/after a change) get the
 * A-vs-B comparison without any declaration: the second file against the
 * first on the headline metric, one line per configuration (the most
 * changed first) and a plot of the ratios (chart.c).
 *
 * Library code: nothing here prints or exits.
 */
#ifndef GGPERF_REPORTS_CONCLUDE_H
#define GGPERF_REPORTS_CONCLUDE_H

#include <stdio.h>

#include "reports/report_impl.h"

/* Evaluate every group's declared comparisons and extra (';'-separated
 * specs for every group that has their axes; may be NULL) into
 * rp->concl. Returns 0, REPORT_EUSAGE for a spec that does not parse or
 * names nothing in the results (err says which), or REPORT_ENOMEM. */
int conclude(struct report *rp, const char *extra, char *err, size_t err_len);

/* The conclusions section (question, lines, how to read them), as Markdown
 * or HTML; nothing when there are none. */
void conclude_write_md(const struct report *rp, FILE *f);
void conclude_write_html(const struct report *rp, FILE *f);

#endif
